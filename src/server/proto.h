/*
 * proto: what a protocol handler is; the seam between the bytes a
 * connection moves (conn.c and its transport) and what they mean.
 *
 * A protocol is a static const struct proto_ops. server.c registers each
 * with the sniffer (sniff.h), which names the one a new peer speaks from
 * its first bytes; the conn then gives it every byte it receives
 * (on_data). The chat (hub.c, commands.c) reaches a peer only through its
 * protocol: an event in the peer's format, a room's history, an error, a
 * notice, a list. Each protocol words and encodes these its own way; the
 * generic layers pass codes (enum chat_error, chat_info) and plain data.
 *
 * Ownership: what a protocol keeps per peer hangs off c->proto_data, made
 * by on_start and freed by on_stop; the conn calls on_stop before it frees
 * itself or hands the peer to another protocol. The send_* functions only
 * queue frames (conn_send); they work before on_start too (a peer not yet
 * sniffed is provisionally the sniffer's fallback protocol, and what it is
 * sent waits, unflushed, until its protocol is known).
 */
#ifndef CHATROOM_PROTO_H
#define CHATROOM_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct conn;
struct room;

/* What the generic layers (conn, hub, commands, server) tell a peer went
 * wrong. A protocol words each (the course's protocols: core/textproto.h);
 * `detail`, when the code takes one, is the room, or a cause already in
 * the course's words (a name check's). */
enum chat_error {
	CHAT_ERR_SERVER_FULL,       /* refused at the door: too many peers */
	CHAT_ERR_ADDRESS_FULL,      /* ... too many from its address */
	CHAT_ERR_UNKNOWN_PROTOCOL,  /* its first bytes start no protocol of ours */
	CHAT_ERR_HANDSHAKE_TIMEOUT, /* no first line (no welcome) in time */
	CHAT_ERR_IDLE_TIMEOUT,      /* quiet too long without a pseudo */
	CHAT_ERR_FLOODING,          /* a request dropped: slow down */
	CHAT_ERR_FLOODED,           /* disconnected for flooding */
	CHAT_ERR_PSEUDO,            /* detail: why the pseudo is refused */
	CHAT_ERR_ROOM,              /* detail: why the room is refused */
	CHAT_ERR_ALREADY_HERE,      /* detail: the room it is in already */
	CHAT_ERR_IMAGE,             /* detail: why the picture is refused */
	CHAT_ERR_IMAGE_FLOOD,       /* pictures too fast: one dropped */
	CHAT_ERR_HELD_FULL,         /* too much waiting behind a picture */
	CHAT_ERR_REFUSED,           /* detail: why a command is refused */
	CHAT_ERRORS
};

/* What the generic layers tell a peer that is not an event. */
enum chat_info {
	CHAT_INFO_IN_ROOM,  /* detail: the room it moved to, without a pseudo */
	CHAT_INFO_STOPPING, /* the server stops */
	CHAT_INFO_HELP,     /* detail: the help text (commands.c) */
	CHAT_INFO_LINE,     /* detail: a whole line in the course's words */
	CHAT_INFO_LEFT,     /* detail: the room it left (/part) */
	CHAT_INFO_NOTICE,   /* detail: a notice of the server's, worded (bus.h) */
};

/* A private message (/msg), to its receiver or echoed to its sender. */
struct chat_private {
	const char *pseudo; /* the other end: who sent it, or whom it was sent to */
	int colour;         /* the other end's */
	uint64_t user_id;   /* the other end's */
	const char *text;
	size_t len;
	bool sent;          /* the echo to its sender */
	int64_t time_ms;
};

enum chat_list {
	CHAT_LIST_ROOMS, /* entries: a room each, count = its visible members */
	CHAT_LIST_WHO,   /* entries: a member each by its label, with its colour */
};

struct chat_entry {
	const char *name;
	size_t count;
	int colour; /* xterm-256 index, -1 for none */
	const char *away; /* WHO: the member's away text, or NULL */
};

struct proto_ops {
	const char *name;          /* "text", "binary": for the logs */
	enum event_format format;  /* which encoding of events it reads */

	/* Its protocol is known: 0, or -ENOMEM (the conn is then closed). */
	int (*on_start)(struct conn *c);
	/* It lets go of the peer: free c->proto_data. */
	void (*on_stop)(struct conn *c);
	/* Bytes from the peer, in order; valid only during the call. */
	void (*on_data)(struct conn *c, const char *data, size_t len);
	/* The peer closed its side (what is left half-said may count); the
	 * conn closes right after. NULL: nothing to do. */
	void (*on_eof)(struct conn *c);

	/* The room's history for c: the events it may see (hub_visible_id),
	 * or with after_id > 0 only those after that id. */
	void (*send_history)(struct conn *c, struct room *room, uint64_t after_id);
	void (*send_error)(struct conn *c, enum chat_error error, const char *detail);
	void (*send_info)(struct conn *c, enum chat_info info, const char *detail);
	/* room: the room a CHAT_LIST_WHO is of (NULL for CHAT_LIST_ROOMS). */
	void (*send_list)(struct conn *c, enum chat_list kind, const char *room,
			  const struct chat_entry *entries, size_t count);
	void (*send_private)(struct conn *c, const struct chat_private *pm);
	/* What a /search found (search.h), newest first; cut: more matched
	 * than it holds. NULL: the protocol has no way to show it. */
	void (*send_found)(struct conn *c, const char *query, const struct event *const *found,
			   size_t count, bool cut);
};

#endif
