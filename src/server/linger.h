/*
 * linger: closing a TCP peer gently once it has been sent all it was owed
 * (a refusal's error line, the shutdown announcement), as Apache's and
 * nginx's lingering_close do. Closing a socket that still holds unread
 * input (a client's PING, the rest of a line too long) makes the kernel
 * answer with a reset instead of a FIN: the peer reads ECONNRESET rather
 * than the end, and may lose what it had not read yet. So the write side
 * is shut first (a FIN after what was sent), and the peer's input is read
 * and dropped until it closes too, LINGER_MS at the most.
 *
 * Bounds: a lingering socket holds its descriptor LINGER_MS at most, what
 * it sends meanwhile is not kept, LINGER_MAX_BYTES of it at most, and
 * at most LINGER_MAX of them linger at once (past it the oldest is cut:
 * the newest has most of its time left). Its owner counts them against
 * its own limits with linger_count and cuts the oldest when it needs the
 * descriptors (linger_cut_oldest).
 *
 * struct lingers is its owner's (tcp.h's struct tcp_server); linger.c
 * owns its ring and timer. A socket given to it is its own until it is
 * closed: then its .data is its owner's again and the close callback given
 * at init runs, as for any close.
 */
#ifndef CHATROOM_LINGER_H
#define CHATROOM_LINGER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* Apache's lingering close waits 2 s for the peer's end as well. */
#define LINGER_MS 2000
/* A peer that was told goodbye sends a PING or the rest of a line, not
 * this much: past it, it is cut. */
#define LINGER_MAX_BYTES (256 * 1024)
/* Each holds a descriptor and its conn (about 1 KiB) for LINGER_MS. */
#define LINGER_MAX 1024

struct lingers;

/* Not `struct linger`: <sys/socket.h> has one (SO_LINGER). */
struct linger_slot {
	uv_tcp_t *socket;     /* NULL: a free slot */
	void *owner;          /* the socket's .data before it lingered */
	struct lingers *set;
	uint64_t due_ms;      /* on the loop's clock */
	size_t dropped;       /* bytes read and dropped */
};

struct lingers {
	/* A ring, oldest first: all wait as long, so it is their deadlines'
	 * order too, and one timer serves them all. Slots between head and
	 * tail whose peer has closed are free (socket NULL); head is always
	 * a lingering one (or tail). */
	struct linger_slot ring[LINGER_MAX];
	unsigned head, tail; /* counting up; the slot is the count % LINGER_MAX */
	unsigned count;      /* lingering now */
	uv_timer_t timer;    /* the oldest's deadline */
	uv_close_cb on_closed;
	bool open;
	bool stopping;  /* lingers_stop was called */
	bool finishing; /* lingers_finish was called */
};

/* Sockets given to it are closed with on_closed. */
void lingers_init(struct lingers *l, uv_loop_t *loop, uv_close_cb on_closed);
/* The server stops: from now on only a socket whose output its peer has
 * not all acknowledged lingers (it could lose it to a reset once the
 * server is gone), to its peer's end or its deadline; the others close at
 * once, those lingering now included. */
void lingers_stop(struct lingers *l);
/* No more closes will come: the timer closes with the last lingering
 * socket (now if none). */
void lingers_finish(struct lingers *l);
static inline unsigned linger_count(const struct lingers *l)
{
	return l->count;
}

/* Closes a connected socket whose output is all written: lingers when
 * `may_linger` (see lingers_stop too), else at once, its waiting input
 * dropped first; either way its FIN goes now. */
void linger_close(struct lingers *l, uv_tcp_t *socket, bool may_linger);
/* Closes the oldest lingering socket; false when none lingers. */
bool linger_cut_oldest(struct lingers *l);

#endif
