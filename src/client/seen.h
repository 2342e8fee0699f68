/*
 * seen: what this client has shown already, so that a room's history
 * sent again after a reconnection shows only what is new.
 *
 * Event ids are per server: after a node of a cluster is lost, the next
 * node's ids mean nothing to us, and it sends the room's whole history.
 * What is the same on every node is an event's time (the publishing
 * node's clock, in ms), its room, its author and its words: their SHA-256
 * (its first 8 bytes) is the event's fingerprint. Our own messages are
 * shown as we type them (the server never echoes them): they are kept by
 * room, pseudo and words only, and a history line of ours with those is
 * skipped.
 *
 * Bounded: the newest SEEN_MAX fingerprints; the oldest are forgotten
 * (a history block holds far fewer). seen.c owns everything.
 */
#ifndef CHATROOM_SEEN_H
#define CHATROOM_SEEN_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define SEEN_MAX 4096

/* What an event is: a message, a /me, an arrival, a departure, a return,
 * a message of ours, a picture (known by its time, room and author). */
enum seen_kind { SEEN_NONE, SEEN_MESSAGE, SEEN_ACTION, SEEN_JOIN, SEEN_LEAVE, SEEN_RETURN, SEEN_OWN,
		 SEEN_IMAGE };

struct seen_str {
	const char *ptr;
	size_t len;
};

struct seen {
	GHashTable *set;         /* fingerprint (in ring) -> itself */
	uint64_t ring[SEEN_MAX]; /* the fingerprints kept, oldest at `next` once full */
	size_t next, count;
};

void seen_init(struct seen *s);
void seen_free(struct seen *s);

/* The fingerprint of an event (time_ms is ignored for SEEN_OWN). */
uint64_t seen_fingerprint(enum seen_kind kind, uint64_t time_ms, struct seen_str room,
			  struct seen_str pseudo, struct seen_str text);

/* Remembers it (once); the oldest goes past SEEN_MAX. */
void seen_add(struct seen *s, uint64_t fingerprint);
bool seen_has(const struct seen *s, uint64_t fingerprint);

/* A message we typed, shown as typed. */
void seen_own(struct seen *s, const char *room, const char *pseudo, const char *text,
	      size_t len);

/* A history event: true when it was shown already, as an event or (a
 * message of `own_pseudo`) as typed here. */
bool seen_shown(const struct seen *s, enum seen_kind kind, uint64_t time_ms,
		struct seen_str room, struct seen_str pseudo, struct seen_str text,
		struct seen_str own_pseudo);

/* A wire event's kind (0: not one it keeps: private lines, the server's
 * words). */
enum seen_kind seen_kind_of_wire(enum wire_type type, uint8_t notice);
/* A history record's "kind" as the frame it would have come in; false for
 * a kind the client does not show. */
bool seen_history_kind(const char *kind, size_t len, enum wire_type *type, uint8_t *notice);

#endif
