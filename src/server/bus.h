/*
 * bus: how an event published in a room reaches the room's members,
 * wherever they are connected. The hub publishes through it and receives
 * through it; it never delivers by itself.
 *
 * A bus gives each event its id (increasing along a room), then calls
 * bus->deliver on every server that has the room, this one included, with
 * the event as published: the hub's deliver remembers it, writes it down
 * and fans it out to the members connected here. The first bus is
 * bus_local.c, one server alone: the id is the next of one counter and
 * deliver is called at once. A bus across servers (Redis pub/sub, say) is
 * another file with the same two operations; nothing else changes.
 *
 * Ownership: the bus is its maker's (server.c); the hub sets deliver and
 * data (hub_attach_bus). An event and its strings are the publisher's and
 * live only during publish (and deliver).
 */
#ifndef CHATROOM_BUS_H
#define CHATROOM_BUS_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct bus;
struct conn;
struct event;
struct room;

/* An event published in a room: `room` is this server's room of that name
 * (NULL when the bus knows only ev->room: another server's event), and
 * except_conn_id the one peer it is not for (0: none). */
typedef void (*bus_deliver_cb)(void *data, struct room *room, struct event *ev,
			       uint64_t except_conn_id);

/* Something every user here should know about the bus itself (the link to
 * the other servers lost, or back), worded for them. */
typedef void (*bus_notice_cb)(void *data, const char *text);
/* The message msg_id of the peer conn_id is safe (issue 19): event_id is
 * its id here, or 0 when it was a retry of one published already (or its
 * id here is not known yet). The peer may be gone. */
typedef void (*bus_acked_cb)(void *data, uint64_t conn_id, uint64_t msg_id,
			     uint64_t event_id);
/* c's pseudo is somebody else's on another server: c must give it up. */
typedef void (*bus_refused_cb)(void *data, struct conn *c);

struct session;
struct redis_session;
/* A session taken (bus_ops.session_take): status 0 and s, the session;
 * 0 and NULL, none; < 0, the bus could not say. c may be closing. */
typedef void (*bus_session_cb)(struct conn *c, int status, const struct redis_session *s,
			       void *data);

#define BUS_TO_PRIVATE 'p'
#define BUS_TO_KICK 'k'
#define BUS_TO_MUTE 'm'
#define BUS_TO_BAN 'b'

/* How long a numbered message is remembered against its retries. */
#define BUS_IDEM_MS (60 * 1000)

struct bus_ops {
	/* Gives ev its id (ev->id), then has it delivered. With ev->msg_id,
	 * bus->acked is called once it is safe (one server: at delivery, or,
	 * when deliver set ev->msg_id to 0, by the hub once it is on disk), and
	 * not published again when it was already (within BUS_IDEM_MS). 0, or a negative
	 * errno when it could not be (nothing was delivered). A bus across
	 * servers may deliver later (once the others have it): ev's id is then
	 * given at delivery, and ev is copied as needed. */
	int (*publish)(struct bus *b, struct room *room, struct event *ev,
		       uint64_t except_conn_id);
	/* Optional (NULL: pseudos are this server's alone). c wears the pseudo
	 * of that skeleton from now on, until release; when another server's
	 * user has it, bus->refused is called for c (before release only). */
	void (*claim)(struct bus *b, const char *skeleton, struct conn *c);
	void (*release)(struct bus *b, const char *skeleton, struct conn *c);
	/* Optional (NULL: this server's lists are the whole). 0: c gets the
	 * list of kind (room: a WHO's) across the servers later, by its
	 * protocol's send_list; negative: the caller lists this server's. */
	int (*ask_list)(struct bus *b, struct conn *c, enum chat_list kind,
			const struct room *room);
	/* Optional (NULL: nobody is elsewhere). What c sends to the user
	 * named pseudo, who is not on this server (kind BUS_TO_*): a private
	 * message (text cleaned), an operator's kick (text: the reason) or
	 * mute (text: "<ms> <duration as typed>"). 0: c is answered (an echo,
	 * or why not); negative: c must be told nobody has that name. */
	int (*send_to)(struct bus *b, struct conn *c, char kind, const char *pseudo, size_t len,
		       const char *text, size_t text_len);
	/* Optional: NULL when all is well, else what a user arriving now must
	 * be told (the notice of bus->notice, still true). */
	const char *(*trouble)(const struct bus *b);
	/* Optional (NULL: resume sessions are this server's alone,
	 * redis_sessions.h): c's session s kept for every server while c is
	 * here, away from its departure; a token spent; a session taken for c
	 * by its token's digest (cb once, later: 0; else a negative errno and
	 * no call). */
	void (*session_keep)(struct bus *b, struct conn *c, const unsigned char *digest);
	void (*session_away)(struct bus *b, struct conn *c, const char *room);
	void (*session_spend)(struct bus *b, const unsigned char *digest);
	int (*session_take)(struct bus *b, struct conn *c, const unsigned char *digest,
			    bus_session_cb cb, void *data);
	/* No more deliveries; what it holds is freed. */
	void (*close)(struct bus *b);
};

struct bus {
	const struct bus_ops *ops;
	bus_deliver_cb deliver;
	bus_notice_cb notice; /* NULL: nobody told */
	bus_refused_cb refused;
	bus_acked_cb acked; /* NULL: nobody told */
	void *data;
};

static inline int bus_publish(struct bus *b, struct room *room, struct event *ev,
			      uint64_t except_conn_id)
{
	return b->ops->publish(b, room, ev, except_conn_id);
}

#endif
