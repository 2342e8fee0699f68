/*
 * conn: one peer of the server, as the chat sees it, whatever carries its
 * bytes and whatever they mean.
 *
 * conn.c owns struct conn and the set of them (struct conns): the peer's
 * identity (address, pseudo, colour, room), its budgets, its bounded
 * output queue and its lifetime. Two seams hang off it:
 *   - c->transport moves the bytes (tcp.c: a socket; next a WebSocket, a
 *     TLS session). It makes the conn (conn_new, with room for its own
 *     state), hands it what arrives (conn_received, conn_eof) and writes
 *     c->out when kicked; it never interprets a byte.
 *   - c->proto says what the bytes mean (proto.h), given once the first
 *     bytes are sniffed (sniff.h): textpeer.c, binpeer.c.
 * What the peer's arrival and departure mean for the chat is the owner's
 * (struct conn_hooks, server.c): conn.c knows no hub and no protocol.
 *
 * A conn is never freed inside a read, write or broadcast path: conn_send
 * only queues (a peer too far behind is marked, and closed at the flush),
 * conn_close() only starts closing the handles, and the memory goes in the
 * last close callback, once no job off the loop thread points to it.
 */
#ifndef CHATROOM_CONN_H
#define CHATROOM_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <uv.h>

#include "frame.h"
#include "outq.h"
#include "proto.h"
#include "ratelimit.h"
#include "seat.h"
#include "slab.h"
#include "sniff.h"
#include "wheel.h"

struct conn;
struct hub;
struct picture_queue;
struct room;
struct server_config;
struct session_entry;
struct social;

/* Bytes of a pseudo (TEXT_MAX_PSEUDO) and of a resume token
 * (WIRE_TOKEN_LEN, USERS_TOKEN_LEN); hub.c checks they agree. */
#define CONN_MAX_PSEUDO 32
#define CONN_TOKEN_LEN 32
/* The longest address key ("{IPv6 /64 prefix}/64"); and what an IPv4
 * peer's "{IP}\0{IP}:{Port}\0" takes (15 + 1 + 21 + 1 bytes). */
#define CONN_ADDR_KEY_MAX 56
#define CONN_ADDR_INLINE 40

/* What a request costs in flood tokens (--flood-burst at once, then
 * --flood-rate a second), in proportion to the server's work. Commands
 * carry theirs in their row (commands.c); frames without one cost: */
#define CONN_COST_LINE 1     /* a message, a hello, a ping */
#define CONN_COST_LIST 2     /* who is here, the rooms */
#define CONN_COST_GAP 5      /* the events after an id, one frame each */
#define CONN_COST_JOIN 5     /* two notices, a room's history, file writes */
#define CONN_COST_HISTORY 20 /* a room's history as JSON: megabytes; every 2 s */
#define CONN_COST_SEARCH 20  /* up to a MiB of history folded (search.h) */

/* How a transport moves a conn's bytes (tcp.c). It keeps its own state in
 * the room conn_new made for it (conn_transport). */
struct transport_ops {
	const char *name;
	/* Output waits in c->out: write what the peer takes now (consuming it
	 * from c->out) and start writing the rest, setting c->in_flight to the
	 * bytes a write holds until it reports them with conn_wrote. Called
	 * by the flush, once a loop turn (again if more was queued since). On
	 * a write error: conn_close. */
	void (*kick)(struct conn *c);
	/* Reads (on) or stops reading. 0 or a UV_E* code. */
	int (*set_reading)(struct conn *c, bool on);
	/* Lets go: what is unwritten is dropped, and once every handle is
	 * closed the transport calls conn_transport_closed. */
	void (*close)(struct conn *c);
	/* Optional (NULL: close): as close, once a peer closed with
	 * conn_close_after_flush has been written all it was owed, so the
	 * transport may end gently, if not at once (tcp.c lingers). */
	void (*close_flushed)(struct conn *c);
	/* An idle peer's housekeeping: give back what writing kept. */
	void (*trim)(struct conn *c);
	/* True when bytes have arrived that were not read yet. */
	bool (*input_waiting)(struct conn *c);
	/* Stops reading and returns a descriptor of the caller's own for the
	 * same socket (or a negative errno); the conn is then closed as
	 * usual, without closing the socket. NULL: it has no socket to give
	 * (web.c hands an HTTP peer to the web server this way). */
	int (*give_socket)(struct conn *c);
};

/* What the owner (server.c) makes of a peer's arrival and departure. */
struct conn_hooks {
	/* A new peer, its address known: counted, seated in the chat, or
	 * refused (conn_refuse). */
	void (*opened)(struct conn *c);
	/* It leaves the chat: closed, or closing once its queue is read.
	 * Called once, while it is still in its room. */
	void (*left)(struct conn *c);
	/* It no longer counts among the peers (its memory goes later). */
	void (*closed)(struct conn *c);
};

LIST_HEAD(conn_list, conn);

#define CONN_SLABS 4
/* The functions conn_timer_start is given (five today: the silence, the
 * drain, a partial line, a stalled frame, a web peer's hand-over). */
#define CONN_DEADLINE_FNS 16

/* Every conn of a server, and those with output to flush this turn. */
struct conns {
	uv_loop_t *loop;
	const struct server_config *cfg;
	const struct sniffer *sniffer;
	struct hub *hub;           /* the chat: for the protocols, never read here */
	struct web *web;           /* the web server (web.h), NULL for none */
	struct conn_hooks hooks;
	void *data;                /* the owner's */
	struct conn_list all;
	struct conn_list pending;
	size_t count;
	uint64_t last_id;
	size_t held_input;         /* of unfinished messages, all conns (conn_hold_input) */
	/* Every conn's deadline (struct conn's `deadline`) on one timer:
	 * armed for wheel_wake_ms (-1: not armed), on the loop's clock. */
	struct wheel wheel;
	uv_timer_t wheel_timer;
	int64_t wheel_wake_ms;
	/* What a due deadline calls, named by a byte in the conn (timer_fn). */
	void (*deadline_fns[CONN_DEADLINE_FNS])(struct conn *c);
	unsigned char deadline_fn_count;
	/* Conns come from blocks of their own (slab.h), one slab for each
	 * size a transport asks (tcp.c, tls.c, web.c); any other size: malloc. */
	struct slab slabs[CONN_SLABS];
};

/* Why a conn must go at the next flush (see conn_send). */
enum conn_doom { CONN_FINE, CONN_SLOW_READER, CONN_OUT_OF_MEMORY };

/* A peer's budgets; their rates and bursts are settings or constants,
 * given where they are taken. Made full at its first request and let go
 * by the sweep once full again (server.c): most peers are idle. */
struct conn_budgets {
	struct token_level messages;        /* --flood-rate, --flood-burst */
	struct token_level bytes;           /* --flood-bytes-rate, -burst */
	struct token_level pictures;        /* picture.c: PICTURE_BYTES_* */
	struct token_level room_creations;  /* hub.c: HUB_ROOMS_PER_CONN */
	unsigned strikes;                   /* refused requests in a row */
};

/* What a peer holds only while it uses it (conn_extras.c): budgets
 * between requests, pictures being checked, away and ignores. Made at the
 * first need, freed once all three are gone: an idle peer has none. */
struct conn_extras {
	struct conn_budgets *budgets;   /* (struct conn_budgets), full when NULL */
	struct picture_queue *pictures; /* picture.c: what waits behind a picture */
	struct social *social;          /* social.c: away, ignores */
};

struct conn {
	/* What every delivery reads (hub_events.c's fan-out, conn_send), together
	 * at the start: a broadcast to thousands touches one or two cache
	 * lines of each. */
	uint64_t id;                  /* unique for the server's life, never reused */
	/* Its protocol: until its first bytes tell (or a silence), the
	 * sniffer's fallback, not started: queued output waits. */
	const struct proto_ops *proto;
	bool hears;    /* is sent its room's events: a text peer from the
			  start, a binary one from its welcome */
	/* Closing: no more input; once `draining` the queue is flushed first. */
	bool closing;
	bool draining;
	bool pending;  /* in set->pending */
	unsigned char doom; /* enum conn_doom, in a byte */
	/* Small fields where they fill holes: an idle peer is mostly this
	 * struct, so its padding counts (see docs/benchmarks.md). */
	bool proto_started;
	bool sniffed;         /* its first bytes named the protocol */
	unsigned char slab;   /* 1 + its slab in set->slabs; 0: from malloc */
	struct outq out;
	struct conns *set;
	LIST_ENTRY(conn) pending_link;
	struct conn_extras *extras; /* NULL until used (the fan-out reads its ignores) */
	LIST_ENTRY(conn) link;        /* in set->all */

	void *proto_data;     /* the protocol's, from on_start to on_stop */
	const struct transport_ops *transport;
	size_t in_flight; /* bytes of `out` a transport write holds */
	/* Its small fields together, where no padding is lost: an idle peer
	 * is mostly this struct (see docs/benchmarks.md). */
	unsigned char first_len;           /* first bytes held while the */
	char first[SNIFF_PREFIX_MAX];      /* sniffer waits for more */
	/* Flags read seldom, in bits. */
	bool several_rooms : 1; /* JOIN adds a room (a binary peer that asked) */
	bool has_pseudo : 1;
	bool seen_line : 1;       /* its first line arrived (binary: its welcome) */
	bool counted_address : 1; /* in the server's per-address counts */
	bool addr_in_block : 1;   /* its address is in address.block (below) */
	bool transport_open : 1;  /* the transport's handles, as one, not closed */
	/* Where its label and key start in its address (below). */
	unsigned char addr_label_at;
	unsigned char addr_key_at;
	unsigned char timer_fn;   /* its deadline's: 1 + its place in set->deadline_fns, 0: none */
	char pseudo[CONN_MAX_PSEUDO + 1];
	uint16_t port;            /* of its address (below) */
	int16_t colour;   /* xterm-256 index, -1 until it has a pseudo */
	uint16_t seat_count;      /* its seats (below): at most SEARCH_MAX_ROOMS */
	uint32_t held_input;      /* unfinished input it holds (conn_hold_input): a frame, < 64 MiB */
	unsigned address_count;   /* connections from its address, itself included */
	unsigned jobs;            /* work off the loop thread that will come back */

	/* Who it is in the chat (hub.c and the protocols fill these). */
	struct room *room; /* its current room: where it speaks unless it names one */
	/* Its seats (seat.h), one a room it is in (from the start, even
	 * before it has a pseudo); the first one is `home`. */
	struct seat_list seats;
	struct seat home;
	/* Its address as three strings (conn_ip, conn_addr, conn_addr_key):
	 * the IP, then "{IP}:{Port}" and the per-address key at small offsets,
	 * all in address.text for an IPv4 peer (IPv6 ones, rarer and longer,
	 * in a block of their own): 40 bytes where three fixed arrays for the
	 * longest IPv6 took 160. */
	union {
		char text[CONN_ADDR_INLINE];
		char *block;
	} address;
	uint64_t user_id; /* 0 until it has a pseudo */
	/* Its resume session (users.h) while here, NULL for none: a binary or
	 * web peer's, whose token only its welcome carried. */
	struct session_entry *session;

	/* Times on clock_ms (clock.h). */
	int64_t connected_ms;
	int64_t last_heard_ms;    /* its last line or frame */
	int64_t soft_since_ms;    /* over the soft queue limit since (0: not) */

	/* One deadline, held by whoever has the peer's current phase: the
	 * sniffer (silence), its protocol (a partial line, a stalled frame),
	 * then the close (the drain deadline). An entry in the set's wheel
	 * (24 bytes) rather than a uv_timer_t of its own (152): an idle peer
	 * has none armed. */
	struct wheel_entry deadline;

	/* The transport's (conn_transport), aligned as a pointer rather than
	 * max_align_t (16): 8 bytes more for every peer otherwise. */
	void *transport_state[];
};

/* Its address (conn_set_address; "" before). */
static inline const char *conn_address_text(const struct conn *c)
{
	return c->addr_in_block ? c->address.block : c->address.text;
}
/* The IP alone. */
static inline const char *conn_ip(const struct conn *c)
{
	return conn_address_text(c);
}
/* "{IP}:{Port}", the label of an anonymous peer. */
static inline const char *conn_addr(const struct conn *c)
{
	return conn_address_text(c) + c->addr_label_at;
}
/* Its address as the per-address limits count it: the IP, or for IPv6
 * its /64 ("2001:db8:1:2::/64"), one subscriber's prefix. */
static inline const char *conn_addr_key(const struct conn *c)
{
	return conn_address_text(c) + c->addr_key_at;
}

/* ---- the set (server.c) ------------------------------------------------- */

/* The sniffer, hooks and settings must outlive the set. */
void conns_init(struct conns *set, uv_loop_t *loop, const struct server_config *cfg,
		const struct sniffer *sniffer, struct hub *hub, const struct conn_hooks *hooks,
		void *data);
/* Lets go of the set's own handle (the deadlines' timer) at the stop. */
void conns_close(struct conns *set);
/* Writes every queued output; once per loop turn. */
void conns_flush(struct conns *set);
bool conns_have_output(const struct conns *set);

/* ---- for a transport ---------------------------------------------------- */

/* A conn with transport_size bytes for the transport; NULL when out of
 * memory. It is in no list yet, and the transport's handle counts as open:
 * if it cannot be set up, the transport closes it (conn_transport_closed). */
struct conn *conn_new(struct conns *set, const struct transport_ops *transport,
		      size_t transport_size);
/* Its alignment must be no more than a pointer's. */
#define CONN_TRANSPORT_FITS(type) \
	_Static_assert(_Alignof(type) <= _Alignof(void *), #type " aligned as conn_transport")
static inline void *conn_transport(struct conn *c)
{
	return c->transport_state;
}
/* The conn whose transport state this is (conn_transport's). */
static inline struct conn *conn_of_transport(void *state)
{
	return (struct conn *)((char *)state - offsetof(struct conn, transport_state));
}
/* Its address: the label "{IP}:{Port}" and the per-address key (conn_addr.c). */
void conn_set_address(struct conn *c, const struct sockaddr *sa);
/* Set up and connected: it joins the set, the owner admits (or refuses)
 * it, and it starts reading. A transport that knows the peer's protocol
 * (a WebSocket's) sets c->proto and c->sniffed first: it is started at
 * once, without sniffing. */
void conn_open(struct conn *c);
/* Bytes from the peer, valid during the call only. */
void conn_received(struct conn *c, const char *data, size_t len);
/* The peer closed its side, or reading failed (why: NULL for an EOF). */
void conn_eof(struct conn *c, const char *why);
/* A write the transport started has taken n bytes of c->out. */
void conn_wrote(struct conn *c, size_t n);
/* The transport's handles are closed: the memory may go. */
void conn_transport_closed(struct conn *c);

/* ---- for the protocols and the chat ------------------------------------- */

/* Queues a frame for the peer (taking a reference); flushed this loop turn.
 * A peer too far behind is disconnected as a slow reader, at the flush:
 * conn_send itself never closes a conn, so it is safe inside a broadcast. */
void conn_send(struct conn *c, struct frame *f);
/* conn_send, then drops the caller's reference (f may be NULL). */
void conn_reply(struct conn *c, struct frame *f);
/* Its protocol from now on: the last one (if started) is stopped, this
 * one started, and what waited is flushed. */
void conn_set_proto(struct conn *c, const struct proto_ops *proto);
/* Drops what is queued and not yet begun (it was meant for another
 * protocol); what a write holds already goes out whole. */
void conn_drop_unsent(struct conn *c);
/* The conn's one timer (see struct conn). */
void conn_timer_start(struct conn *c, uint64_t ms, void (*fn)(struct conn *c));
void conn_timer_stop(struct conn *c);
/*
 * For a timer that waits for the peer to go quiet: true when it has not
 * (bytes wait unread, as after the loop was busy longer than the delay,
 * since timers run before reads), and the timer is started again.
 */
bool conn_timer_again_if_not_quiet(struct conn *c, uint64_t ms, void (*fn)(struct conn *c));
/* c now holds `bytes` of unfinished input (a large frame on its way);
 * returns what all conns hold. Let go at the close. */
size_t conn_hold_input(struct conn *c, size_t bytes);

/* c's extras (struct conn_extras, conn_extras.c), made on first use; NULL
 * when out of memory. conn_extras_trim lets them go once they hold none:
 * call it after clearing one. */
struct conn_extras *conn_extras(struct conn *c);
void conn_extras_trim(struct conn *c);
static inline struct social *conn_social(const struct conn *c)
{
	return c->extras != NULL ? c->extras->social : NULL;
}
static inline struct picture_queue *conn_pictures(const struct conn *c)
{
	return c->extras != NULL ? c->extras->pictures : NULL;
}
/* c's budgets, NULL while it has none (as good as full ones). */
static inline struct conn_budgets *conn_budgets_held(const struct conn *c)
{
	return c->extras != NULL ? c->extras->budgets : NULL;
}
/* c's budgets, made full on first use; NULL when out of memory (c is
 * then closed). conn_budgets_forget lets them go (full again). */
struct conn_budgets *conn_budgets(struct conn *c);
void conn_budgets_forget(struct conn *c);
/* Flood control: takes cost tokens and len bytes from c's budget; false
 * (and the peer told, or dropped after --flood-strikes) when over. */
bool conn_charge(struct conn *c, unsigned cost, size_t len);
/* An error, in c's protocol. */
void conn_error(struct conn *c, enum chat_error error, const char *detail);
/* The same, then c is disconnected once it has read it (`why` is logged). */
void conn_refuse(struct conn *c, enum chat_error error, const char *detail, const char *why);

/* Work off the loop thread (a picture being checked) keeps the conn's
 * memory until it ends, even if the peer has gone: check c->closing. */
void conn_job_begin(struct conn *c);
void conn_job_end(struct conn *c);

/* Disconnects now, dropping queued output. `reason` is logged. */
void conn_close(struct conn *c, const char *reason);
/* Stops reading, sends what is queued (within a deadline), then closes. */
void conn_close_after_flush(struct conn *c, const char *reason);
/* Housekeeping: gives back the memory an emptied output queue kept. */
void conn_trim(struct conn *c);

/* What others see this peer as: its pseudo, else "{IP}:{Port}". */
const char *conn_label(const struct conn *c);

#endif
