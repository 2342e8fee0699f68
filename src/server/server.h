/*
 * server: chatroom-server put together. It makes the pieces and wires them:
 * the TCP transport (tcp.h) accepting into the set of conns (conn.h), the
 * sniffer and its table of protocols (textpeer, binpeer), the hub and its
 * bus, the history and the conversation log, the picture threads; then the
 * once-per-loop-turn flush, the ticker, the signals and the graceful stop.
 *
 * main() makes one struct server and one loop; every handle's .data leads
 * back to its owner. server.c owns the signal, flush and ticker handles,
 * the per-address counts and everything embedded in struct server; each
 * conn frees itself (conn.h).
 */
#ifndef CHATROOM_SERVER_H
#define CHATROOM_SERVER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "bus_local.h"
#include "conn.h"
#include "history.h"
#include "hub.h"
#include "picture.h"
#include "sanitize.h"
#include "server_config.h"
#include "sniff.h"
#include "tcp.h"
#include "textlog.h"
#include "tls.h"
#include "wire.h"

struct server {
	uv_loop_t *loop;
	struct server_config cfg;

	struct tcp_server tcp;
	struct tls_server tls;       /* the TLS port, when tls_on */
	bool tls_on;
	char tls_cause[512];         /* why the certificate did not load */
	struct conns conns;
	struct sniffer sniffer;

	uv_signal_t sigint;
	uv_signal_t sigterm;
	uv_prepare_t flusher;
	/* --coalesce-us: a timerfd brings the held flush (libuv timers count
	 * whole milliseconds). */
	uv_poll_t coalesce_poll;
	int coalesce_fd;             /* -1: not coalescing */
	bool coalesce_armed;
	uint64_t last_flush_ns;
	uv_signal_t sighup;          /* reopens the log file, reloads the TLS certificate */
	uv_timer_t ticker;           /* once a second: housekeeping */
	unsigned ticks;

	struct hub hub;
	struct bus_local bus;
	struct bus *cluster;         /* --redis: bus_redis.h, used instead of bus */
	struct history_log history;
	bool history_open;
	struct textlog chatlog;
	struct picture_pool pictures; /* picture.c: its decoding threads */
	struct web *web;              /* web.c: the page and WebSockets; NULL: none */

	/* Room for one sanitised message (see sanitize.h). */
	char clean_buf[SANITIZE_BOUND(WIRE_MAX_TEXT)];

	bool stopping;
	/* Why the start failed, a whole sentence naming what (see server_start). */
	char start_error[PATH_MAX + 128];
};

/* Opens the files, binds and listens; on failure returns a UV_E* code and
 * sets *cause to a sentence that names the file or the address. */
int server_start(struct server *s, uv_loop_t *loop,
		 const struct server_config *cfg, const char **cause);

/* Once the port and the files are open: becomes `user` (NULL: stays,
 * with a warning when that is root). 0, or a negative errno with why. */
int server_drop_privileges(struct server *s, const char *user, char *why, size_t why_len);

/* Begins a graceful stop: no new peers, everyone told, queues drained,
 * history written and synced. */
void server_stop(struct server *s);

/* Frees what the server still holds once uv_run has returned. */
void server_free(struct server *s);

#endif
