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
#include <uv.h>

#include "textlog.h"
#include "hub.h"

struct conn;

struct server_config {
	const char *address;
	int port;               /* 0 picks a free port (printed at start) */
	size_t max_queue_bytes; /* a peer this far behind is dropped */
	unsigned partial_delay_ms; /* quiet time before a newline-less message counts */
	unsigned drain_timeout_ms; /* how long a closing peer may take to read */
	const char *history_path;  /* NULL: no history on disk */
	const char *log_path;      /* NULL: no conversation log file */
	size_t history_size;       /* events remembered per room */
	enum history_fsync fsync;
	size_t history_max_bytes;  /* compact the file past this size */
};

#define SERVER_DEFAULT_PORT 8888
/* 1 MiB: thousands of chat lines, far more than a live reader lags. */
#define SERVER_DEFAULT_MAX_QUEUE (1024u * 1024u)
/* The course's clients send no '\n'; a typist never pauses this little
 * inside one write, and loopback or LAN segments arrive far faster. */
#define SERVER_DEFAULT_PARTIAL_DELAY_MS 150
#define SERVER_DEFAULT_DRAIN_TIMEOUT_MS 2000
#define SERVER_DEFAULT_HISTORY_SIZE 100
/* 64 MiB: months of a busy room, compacted in well under a second. */
#define SERVER_DEFAULT_HISTORY_MAX_BYTES (64u * 1024 * 1024)

/* One read lands here; the conns keep only the bytes of unfinished lines. */
#define SERVER_READ_BUF_SIZE (64 * 1024)

struct server {
	uv_loop_t *loop;
	struct server_config cfg;

	uv_tcp_t listener;
	uv_signal_t sigint;
	uv_signal_t sigterm;
	uv_prepare_t flusher;
	uv_signal_t sighup;          /* reopens the log file */
	uv_timer_t ticker;           /* once a second: housekeeping */
	unsigned ticks;
	bool listening;

	struct hub hub;
	struct history_log history;
	bool history_open;
	struct textlog chatlog;
	uint64_t last_conn_id;

	struct conn *conns;          /* every live conn */
	size_t conn_count;
	struct conn *pending;        /* conns with output to flush */

	char read_buf[SERVER_READ_BUF_SIZE];
	bool read_buf_lent;
	/* Room for one sanitised line (see sanitize.h). */
	char clean_buf[3 * 4096 + 16];

	bool stopping;
};

/* Binds and listens; on failure returns a UV_E* code and sets *cause. */
int server_start(struct server *s, uv_loop_t *loop,
		 const struct server_config *cfg, const char **cause);

/* Begins a graceful stop: no new peers, everyone told, queues drained,
 * history written and synced. */
void server_stop(struct server *s);

/* Frees what the server still holds once uv_run has returned. */
void server_free(struct server *s);

/* Called by conn.c. */
void server_add_conn(struct server *s, struct conn *c);
void server_remove_conn(struct server *s, struct conn *c);
void server_mark_pending(struct server *s, struct conn *c);
void server_unmark_pending(struct server *s, struct conn *c);

#endif
