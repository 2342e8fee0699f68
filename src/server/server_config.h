/*
 * server_config: chatroom-server's settings, as main.c's settings table
 * fills them (src/server/main.c) and every module reads them: one struct,
 * copied once into struct server and read through pointers to that copy
 * (the conns' set, the protocols through it).
 */
#ifndef CHATROOM_SERVER_CONFIG_H
#define CHATROOM_SERVER_CONFIG_H

#include <stddef.h>

#include "history.h"

struct server_config {
	const char *address;
	int port;               /* 0 picks a free port (printed at start) */
	size_t max_queue_bytes; /* a peer this far behind is dropped */
	unsigned partial_delay_ms; /* quiet time before a newline-less message counts */
	unsigned drain_timeout_ms; /* how long a closing peer may take to read */
	const char *history_path;  /* NULL: no history on disk */
	const char *log_path;      /* NULL: no conversation log file */
	const char *redis_url;     /* NULL: standalone (bus_local); else bus_redis */
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
	size_t max_rooms_per_peer; /* rooms one peer may be in at once */
	unsigned return_grace_ms;  /* a text peer back this soon is welcomed back */
	/* A flush sooner than this after the last one waits (0: every loop
	 * turn). A busy room's messages then share fewer, larger writes. */
	unsigned coalesce_us;
	/* A flush's TCP sends go to the kernel together, through io_uring
	 * (tcp_send_turn), instead of one writev each. */
	bool io_uring;
	size_t image_max_bytes;    /* the largest picture relayed */
	/* Private messages go into the conversation log too (off: they are
	 * between two people). */
	bool log_private;
	const char *operators_path; /* NULL: nobody is an operator */

	/* TLS (tls.h): on when both files are given. */
	const char *tls_cert;      /* PEM certificate chain; NULL: no TLS port */
	const char *tls_key;       /* PEM private key */
	const char *tls_address;   /* the TLS listener's (the plain one's) */
	int tls_port;
	unsigned tls_handshake_ms; /* a TLS handshake's deadline */
	unsigned tls_max_handshakes; /* TLS handshakes in progress at most */
	unsigned tls_max_handshakes_per_address; /* of them from one address */

	const char *web_root;      /* the browser client's files; NULL: no web client */
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
/* A flush this soon after the last one waits for it: 1 ms, unseen by a
 * person, during which a busy loop's reads gather more messages for each
 * member's send (docs/benchmarks.md: 8 in flight, 108 -> 91 ns a
 * delivery; 1 in flight, 1.7 -> 2.4 M deliveries/s). A quiet server is
 * not held: its last flush is long past. */
#define SERVER_DEFAULT_COALESCE_US 1000
/* 64 MiB: months of a busy room, compacted in well under a second. */
#define SERVER_DEFAULT_HISTORY_MAX_BYTES (64u * 1024 * 1024)

#endif
