/*
 * outbox: the messages this client said that the server has not yet
 * acknowledged (issue 19). Each SAY gets the next message id; the server's
 * ACK of that id takes it out; after a reconnection (to the same server or
 * another node of a cluster) what is left is sent again, with the same ids,
 * and the server does not publish twice what it already had. Nothing is
 * shown again: the user saw it when it was typed.
 *
 * Bounded: OUTBOX_MAX messages and OUTBOX_BYTES of text. Past that a
 * message gets no id (sent as before, not kept): the caller tells the user.
 * The struct is its owner's (client.c); no I/O.
 */
#ifndef CHATROOM_OUTBOX_H
#define CHATROOM_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OUTBOX_MAX 256
#define OUTBOX_BYTES (1u << 20)

struct outbox_msg {
	uint64_t id;
	char *room; /* "" for the current room (one room at a time) */
	char *text;
	size_t text_len;
};

struct outbox {
	struct outbox_msg msgs[OUTBOX_MAX]; /* oldest first */
	size_t count, bytes;
	uint64_t next_id;
};

/* Ids go on from first_id (never 0): a random start, so that ids of two
 * runs under the same pseudo do not meet within the server's window. */
void outbox_init(struct outbox *o, uint64_t first_id);
void outbox_free(struct outbox *o);
/* Keeps a message about to be said: its id, or 0 when the outbox is full
 * (or out of memory). */
uint64_t outbox_add(struct outbox *o, const char *room, size_t room_len, const char *text,
		    size_t len);
/* The server has message id: true when it was waiting here. */
bool outbox_ack(struct outbox *o, uint64_t id);
static inline size_t outbox_count(const struct outbox *o)
{
	return o->count;
}
/* The i-th message waiting, oldest first. */
static inline const struct outbox_msg *outbox_at(const struct outbox *o, size_t i)
{
	return i < o->count ? &o->msgs[i] : NULL;
}

#endif
