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

#include "strcount.h"
#include "sanitize.h"
#include "wire.h"
#include "textlog.h"
#include "hub.h"
#include "picture.h"
#include "conn.h"


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

	/* Hostile or broken peers (see docs/architecture.md, "Bounds"). */
	size_t soft_queue_bytes;   /* a peer this far behind ... */
	unsigned soft_queue_ms;    /* ... for this long is dropped */
	double flood_rate;         /* messages a second a peer may keep up (0: no limit) */
	double flood_burst;        /* messages it may send at once */
	double flood_bytes_rate;   /* the same in bytes */
	double flood_bytes_burst;
	unsigned flood_strikes;    /* refused messages in a row before a disconnect */
	size_t max_connections;
	unsigned max_per_address;
	unsigned handshake_ms;     /* time to send a first line */
	unsigned idle_ms;          /* a peer without a pseudo quiet this long goes (0: never) */
	size_t max_rooms;          /* rooms at most, the default one included */
	unsigned return_grace_ms;  /* a text peer back this soon is welcomed back */
	/* Flushes at most this often (0: every loop turn). A busy room's
	 * messages then share fewer, larger writes. */
	unsigned coalesce_us;
	size_t image_max_bytes;    /* the largest picture relayed */
};

#define SERVER_DEFAULT_PORT 8888
/* 1 MiB: thousands of chat lines, far more than a live reader lags. */
#define SERVER_DEFAULT_MAX_QUEUE (1024u * 1024u)
/* The course's clients send no '\n'; a typist never pauses this little
 * inside one write, and loopback or LAN segments arrive far faster. */
#define SERVER_DEFAULT_PARTIAL_DELAY_MS 150
#define SERVER_DEFAULT_DRAIN_TIMEOUT_MS 2000
#define SERVER_DEFAULT_HISTORY_SIZE 100
/* 256 KiB behind for 10 s: a live client on a bad link catches up sooner. */
#define SERVER_DEFAULT_SOFT_QUEUE (256u * 1024)
#define SERVER_DEFAULT_SOFT_QUEUE_MS 10000
/* Far above what a person types, even pasting: 100 at once, then 10 a second. */
#define SERVER_DEFAULT_FLOOD_RATE 10.0
#define SERVER_DEFAULT_FLOOD_BURST 100.0
#define SERVER_DEFAULT_FLOOD_BYTES_RATE (16.0 * 1024)
#define SERVER_DEFAULT_FLOOD_BYTES_BURST (256.0 * 1024)
#define SERVER_DEFAULT_FLOOD_STRIKES 50
/* Below the 20 000 open files a process may have here, with room for
 * the listener, the logs and the history. */
#define SERVER_DEFAULT_MAX_CONNECTIONS 19500
/* Many people may share one address behind a NAT. */
#define SERVER_DEFAULT_MAX_PER_ADDRESS 256
#define SERVER_DEFAULT_HANDSHAKE_MS 60000
/* An anonymous reader holds a slot; five quiet minutes is long for one
 * that means to talk (one with a pseudo may stay quiet). */
#define SERVER_DEFAULT_IDLE_MS (5 * 60 * 1000)
/* Long enough for a reconnect after a network change or a laptop lid. */
#define SERVER_DEFAULT_RETURN_GRACE_MS (5 * 60 * 1000)
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
