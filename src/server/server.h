/*
 * server: the listening socket, the set of connections and the once-per-
 * loop-turn output flush of chatroom-server.
 *
 * main() makes one struct server and one loop; every handle's .data leads
 * back here. server.c owns the listener, the signal handles, the flush
 * check handle and the list of conns (each conn frees itself, see conn.h).
 */
#ifndef CHATROOM_SERVER_H
#define CHATROOM_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "server_config.h"
#include "strcount.h"
#include "sanitize.h"
#include "wire.h"
#include "textlog.h"
#include "hub.h"
#include "picture.h"
#include "conn.h"

/* One read lands here; the conns keep only the bytes of unfinished lines. */
#define SERVER_READ_BUF_SIZE (64 * 1024)

struct server {
	uv_loop_t *loop;
	struct server_config cfg;

	uv_tcp_t listener;
	uv_signal_t sigint;
	uv_signal_t sigterm;
	uv_prepare_t flusher;
	/* --coalesce-us: a timerfd brings the held flush (libuv timers count
	 * whole milliseconds). */
	uv_poll_t coalesce_poll;
	int coalesce_fd;             /* -1: not coalescing */
	bool coalesce_armed;
	uint64_t last_flush_ns;
	uv_signal_t sighup;          /* reopens the log file */
	uv_timer_t ticker;           /* once a second: housekeeping */
	unsigned ticks;
	bool listening;

	struct hub hub;
	struct history_log history;
	bool history_open;
	struct textlog chatlog;
	uint64_t last_conn_id;
	struct strcount per_address;

	struct conn_list conns;      /* every live conn */
	size_t conn_count;
	struct conn_list pending;    /* conns with output to flush */
	struct picture_pool pictures; /* picture.c: its decoding threads */
	size_t stashed_bytes;        /* of unfinished picture frames (conn.c) */

	char read_buf[SERVER_READ_BUF_SIZE];
	bool read_buf_lent;
	/* Room for one sanitised message (see sanitize.h). */
	char clean_buf[SANITIZE_BOUND(WIRE_MAX_TEXT)];

	bool stopping;
};

/* Binds and listens; on failure returns a UV_E* code and sets *cause. */
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

/* Called by conn.c. Returns NULL when the new conn may stay, else the
 * reason to refuse it. */
const char *server_admit(struct server *s, struct conn *c);
void server_add_conn(struct server *s, struct conn *c);
void server_remove_conn(struct server *s, struct conn *c);
void server_mark_pending(struct server *s, struct conn *c);
/* Work off the loop thread ended: a stopping server may now be done. */
void server_job_ended(struct server *s);
void server_unmark_pending(struct server *s, struct conn *c);

#endif
