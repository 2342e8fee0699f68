/*
 * gapfill: each followed room's events delivered once and in sequence
 * order, whatever order, gaps and repeats pub/sub and stream reads bring
 * them in. No I/O: the owner feeds what arrives and runs the stream reads
 * it is asked for.
 *
 * Per room it keeps the last seq delivered. A published event:
 *  - seq <= last: a repeat, dropped;
 *  - seq == last + 1 and nothing waiting: delivered at once;
 *  - otherwise held (in order, bounded), and the missing range
 *    last+1 .. first held - 1 is asked for (fetch); the entries that come
 *    back are delivered, then the held events that follow on.
 * Whatever the stream no longer has (trimmed by MAXLEN, or the key lost)
 * is reported once as a truncation (first..last skipped) and skipped.
 * When the held events would pass their bound, the newest are dropped and
 * the room reads on to the stream's newest once the current read is done:
 * memory stays bounded and nothing the stream keeps is lost. After the
 * subscription was lost (gapfill_resync) every room reads what it missed,
 * from its last seq to the newest.
 *
 * Seqs count within an epoch (redis_rooms.h): an event of an epoch the
 * room has not seen means Redis lost the room's keys and numbers it
 * again from 1. The room then starts over (reported once by `restarted`;
 * what was not delivered of the old numbering is gone), and events still
 * coming in the epochs it left are dropped. Epochs are told apart, not
 * ordered: a clock set back between two Redis runs changes nothing.
 *
 * At most one read per room is out at a time; its token tells a late
 * answer (after unfollow, a restart, or a newer read) from the current
 * one.
 *
 * Callbacks must not call gapfill functions (fetch says whether its read
 * was sent by its return value). gapfill.c owns the rooms and held events.
 */
#ifndef CHATROOM_GAPFILL_H
#define CHATROOM_GAPFILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gapfill_callbacks {
	/* The room's next event; payload valid during the call. */
	void (*deliver)(void *data, const char *room, uint64_t seq, const char *payload,
			size_t len);
	/* Events first..last of the room are gone: skipped. */
	void (*truncated)(void *data, const char *room, uint64_t first, uint64_t last);
	/* Redis numbers the room again from 1 (a new epoch); the old numbering
	 * had been delivered up to old_last. */
	void (*restarted)(void *data, const char *room, uint64_t old_last);
	/* Read the room's stream from `from` to `to` (0: the newest) and answer
	 * with gapfill_fetched or gapfill_fetch_failed and this token. 0 when
	 * sent; an error marks the room as failed (see gapfill_retry). */
	int (*fetch)(void *data, const char *room, uint64_t from, uint64_t to, uint64_t token);
};

struct gapfill_entry {
	uint64_t epoch;
	uint64_t seq;
	const char *payload;
	size_t len;
};

struct gapfill;

/* Rooms hold at most max_held events of at most max_held_bytes together
 * (payloads) while they wait for a read. NULL when out of memory. */
struct gapfill *gapfill_new(const struct gapfill_callbacks *cb, void *data, size_t max_held,
			    size_t max_held_bytes);
void gapfill_free(struct gapfill *g);

/* Starts following a room, delivered up to `last` of `epoch` (its numbering
 * when this server started following it; epoch 0: the first event's). 0,
 * -EEXIST or -ENOMEM. */
int gapfill_follow(struct gapfill *g, const char *room, uint64_t epoch, uint64_t last);
void gapfill_unfollow(struct gapfill *g, const char *room);
/* False for a room not followed. */
bool gapfill_last(const struct gapfill *g, const char *room, uint64_t *last);
size_t gapfill_held(const struct gapfill *g, const char *room);

/* An event from the room's channel. 0 (delivered, held or dropped as a
 * repeat), -ENOENT (room not followed: dropped), -ENOMEM. */
int gapfill_published(struct gapfill *g, const char *room, uint64_t epoch, uint64_t seq,
		      const char *payload, size_t len);

/* The answer to a fetch: entries in increasing seq order (of one epoch);
 * full when the read stopped at its count (more may follow). */
void gapfill_fetched(struct gapfill *g, const char *room, uint64_t token,
		     const struct gapfill_entry *e, size_t n, bool full);
/* The read failed: the room waits for gapfill_retry or gapfill_resync. */
void gapfill_fetch_failed(struct gapfill *g, const char *room, uint64_t token);

/* Redis says the room is numbered in `epoch` up to `seq` (redis_rooms_last),
 * as read after a loss: a numbering the room has not seen (Redis lost the
 * room and numbered it anew, maybe fewer events than the room had
 * reached) starts it over and reads it from 1; anything else changes
 * nothing. */
void gapfill_head(struct gapfill *g, const char *room, uint64_t epoch, uint64_t seq);

/* Calls cb with each followed room's name (cb must not call gapfill). */
void gapfill_foreach(const struct gapfill *g, void (*cb)(void *data, const char *room),
		     void *data);

/* The subscription is back after a loss: every room reads what it missed. */
void gapfill_resync(struct gapfill *g);
/* Rooms whose read failed read again. */
void gapfill_retry(struct gapfill *g);

#endif
