/*
 * conn: one client connection of the server.
 *
 * conn.c owns struct conn: it creates it on accept, reads the socket into
 * the server's loop-wide buffer, splits lines, keeps the bounded output
 * queue and frees the conn when its last libuv handle has closed. What a
 * line means is the hub's business (hub.h); the conn only moves bytes.
 *
 * A conn is never freed inside a read, write or broadcast path:
 * conn_close() only marks it closing and starts closing its handles; the
 * memory goes away in the close callbacks, in a later loop phase.
 */
#ifndef CHATROOM_CONN_H
#define CHATROOM_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

#include "frame.h"
#include "linereader.h"
#include "names.h"
#include "outq.h"
#include "ratelimit.h"
#include "textproto.h"
#include "wire.h"

struct picture_queue;
struct room;
struct server;

/* Which protocol a peer speaks: told by its first byte (conn.c). Until
 * then it is sent nothing, only queued, in case it turns out binary. */
enum conn_proto { CONN_UNKNOWN, CONN_TEXT, CONN_BINARY };

/* Why a conn must go at the next flush (see conn_send). */
enum conn_doom { CONN_FINE, CONN_SLOW_READER, CONN_OUT_OF_MEMORY };

LIST_HEAD(conn_list, conn);

struct conn {
	uv_tcp_t tcp;
	/* Delivers a newline-less message after a quiet spell; later the
	 * deadline for draining the queue before a close. */
	uv_timer_t timer;
	unsigned open_handles;

	struct server *server;
	/* The server's list of every conn. */
	LIST_ENTRY(conn) link;
	/* The server's list of conns with output to flush this loop turn. */
	LIST_ENTRY(conn) pending_link;
	bool pending;

	uint64_t id; /* unique for the server's life, never reused */
	/* Events after this one reached it live in its room (it is there
	 * from the start, even before it has a pseudo). */
	uint64_t live_since_event;

	/* The room's member list (room.c owns these links). */
	struct room *room;
	LIST_ENTRY(conn) member_link;

	char ip[46];     /* INET6_ADDRSTRLEN */
	unsigned port;
	char addr[56];   /* "{IP}:{Port}", the label of an anonymous peer */
	/* Its address as the per-address limits count it: the IP, or for
	 * IPv6 its /64 ("2001:db8:1:2::/64"), one subscriber's prefix. */
	char addr_key[56];
	char pseudo[TEXT_MAX_PSEUDO + 1];
	bool has_pseudo;
	uint64_t user_id; /* 0 until it has a pseudo */
	int colour;       /* xterm-256 index, -1 until it has a pseudo */

	int64_t connected_ms;
	bool seen_line;           /* a first line arrived (binary: its welcome) */
	bool heard_bytes;         /* anything at all arrived */
	int64_t last_heard_ms;    /* its last line or frame */
	int64_t soft_since_ms;    /* over the soft queue limit since (0: not) */
	bool counted_address;     /* in the server's per-address counts */
	unsigned address_count;   /* connections from its address, itself included */
	struct token_bucket flood_messages;
	struct token_bucket flood_bytes;
	struct token_bucket flood_pictures; /* picture.c: bytes of pictures */
	unsigned flood_strikes;   /* refused messages in a row */
	struct token_bucket room_creations; /* rooms it may make (hub.c) */

	enum conn_proto proto;
	size_t magic_seen;        /* bytes of the binary hello read so far */
	struct linereader lines;  /* text peers */
	struct wire_decoder frames; /* binary peers */
	unsigned char token[WIRE_TOKEN_LEN]; /* a binary peer's resume token */
	struct outq out;
	uv_write_t *write_req; /* made for the first write the socket refused */
	bool writing;
	size_t inflight_bytes; /* bytes handed to the in-flight uv_write */

	/* Closing: no more input; once `draining` the queue is flushed first. */
	bool closing;
	bool draining;
	enum conn_doom doom;
	unsigned jobs; /* work off the loop thread that will come back to it */
	struct picture_queue *pictures; /* picture.c: what waits behind a picture */
	/* A picture-sized frame on its way: the bytes its stash holds (counted
	 * in server.stashed_bytes) and since when. */
	size_t stashed;
	int64_t frame_since_ms;
};

/* Accepts a pending connection from the listener. Returns 0 or a UV_E* code. */
int conn_accept(struct server *server, uv_stream_t *listener);

/* Queues a frame for the peer (taking a reference); flushed this loop turn.
 * A peer too far behind is disconnected as a slow reader, at the flush:
 * conn_send itself never closes a conn, so it is safe inside a broadcast. */
void conn_send(struct conn *c, struct frame *f);

/* Writes the queued output; called by the server once per loop turn. */
void conn_flush(struct conn *c);
/* Housekeeping: gives back the memory an emptied output queue kept. */
void conn_trim(struct conn *c);

/* From its welcome on, a binary peer may send IMAGE frames as large as a
 * picture may be; before, every frame is held to CONN_MAX_FRAME, so an
 * unknown peer cannot make the server buffer megabytes. */
void conn_allow_pictures(struct conn *c);

/* Work off the loop thread (a picture being checked) keeps the conn's
 * memory until it ends, even if the peer has gone: check c->closing. */
void conn_job_begin(struct conn *c);
void conn_job_end(struct conn *c);

/* Disconnects now, dropping queued output. `reason` is logged. */
void conn_close(struct conn *c, const char *reason);

/* Stops reading, sends what is queued (within a deadline), then closes. */
void conn_close_after_flush(struct conn *c, const char *reason);

/* What others see this peer as: its pseudo, else "{IP}:{Port}". */
const char *conn_label(const struct conn *c);

#endif
