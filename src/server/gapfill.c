/*
 * gapfill: in-order, once-only delivery per room (see gapfill.h).
 */
#include "gapfill.h"

#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

struct held {
	uint64_t seq;
	size_t len;
	char payload[];
};

/* Epochs a room left, so that their late events are not taken for a new
 * one: a restart is rare, two in flight at once rarer still. */
#define GAPFILL_RETIRED 4

struct gap_room {
	char *name;
	uint64_t epoch;     /* 0: not known yet */
	uint64_t retired[GAPFILL_RETIRED];
	uint64_t last;      /* delivered up to */
	bool fetching;      /* a read is out, for token */
	bool failed;        /* the last read failed: waits for retry/resync */
	bool to_head;       /* read on to the newest when the current read is done */
	uint64_t token;
	uint64_t fetch_to;  /* the read's end (0: the newest) */
	GQueue held;        /* struct held, increasing seq, no repeats */
	size_t held_bytes;
};

struct gapfill {
	struct gapfill_callbacks cb;
	void *data;
	GHashTable *rooms; /* name -> struct gap_room */
	size_t max_held, max_held_bytes;
	uint64_t tokens;   /* the last token given */
};

static void clear_held(struct gap_room *room);

static void free_room(gpointer p)
{
	struct gap_room *room = p;
	clear_held(room);
	free(room->name);
	free(room);
}

struct gapfill *gapfill_new(const struct gapfill_callbacks *cb, void *data, size_t max_held,
			    size_t max_held_bytes)
{
	struct gapfill *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return NULL;
	g->cb = *cb;
	g->data = data;
	g->max_held = max_held;
	g->max_held_bytes = max_held_bytes;
	g->rooms = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free_room);
	return g;
}

void gapfill_free(struct gapfill *g)
{
	if (g == NULL)
		return;
	g_hash_table_destroy(g->rooms);
	free(g);
}

int gapfill_follow(struct gapfill *g, const char *name, uint64_t epoch, uint64_t last)
{
	if (g_hash_table_contains(g->rooms, name))
		return -EEXIST;
	struct gap_room *room = calloc(1, sizeof(*room));
	if (room == NULL || (room->name = strdup(name)) == NULL) {
		free(room);
		return -ENOMEM;
	}
	room->epoch = epoch;
	room->last = last;
	g_queue_init(&room->held);
	g_hash_table_insert(g->rooms, room->name, room);
	return 0;
}

void gapfill_unfollow(struct gapfill *g, const char *name)
{
	g_hash_table_remove(g->rooms, name);
}

bool gapfill_last(const struct gapfill *g, const char *name, uint64_t *last)
{
	const struct gap_room *room = g_hash_table_lookup(g->rooms, name);
	if (room == NULL)
		return false;
	*last = room->last;
	return true;
}

size_t gapfill_held(const struct gapfill *g, const char *name)
{
	const struct gap_room *room = g_hash_table_lookup(g->rooms, name);
	return room != NULL ? room->held.length : 0;
}

static void start_fetch(struct gapfill *g, struct gap_room *room, uint64_t to)
{
	room->token = ++g->tokens;
	room->fetching = true;
	room->fetch_to = to;
	if (g->cb.fetch(g->data, room->name, room->last + 1, to, room->token) < 0) {
		room->fetching = false;
		room->failed = true;
		room->to_head = true; /* what was missed is not known any more */
	}
}

static void deliver(struct gapfill *g, struct gap_room *room, uint64_t seq, const char *payload,
		    size_t len)
{
	if (seq > room->last + 1)
		g->cb.truncated(g->data, room->name, room->last + 1, seq - 1);
	room->last = seq;
	g->cb.deliver(g->data, room->name, seq, payload, len);
}

/* Delivers the held events that follow on; at the next hole, reads it. */
static void drain(struct gapfill *g, struct gap_room *room)
{
	struct held *h;
	while ((h = g_queue_peek_head(&room->held)) != NULL) {
		if (h->seq > room->last + 1) {
			start_fetch(g, room, h->seq - 1);
			return;
		}
		g_queue_pop_head(&room->held);
		room->held_bytes -= h->len;
		if (h->seq == room->last + 1)
			deliver(g, room, h->seq, h->payload, h->len);
		free(h);
	}
	if (room->to_head) {
		room->to_head = false;
		start_fetch(g, room, 0);
	}
}

/* Keeps an event for later, in seq order; repeats and events past the
 * bounds are dropped (the latter read again from the stream). */
static int hold(struct gapfill *g, struct gap_room *room, uint64_t seq, const char *payload,
		size_t len)
{
	GList *at = room->held.tail;
	while (at != NULL && ((struct held *)at->data)->seq > seq)
		at = at->prev;
	if (at != NULL && ((struct held *)at->data)->seq == seq)
		return 0;
	if (room->held.length >= g->max_held || len > g->max_held_bytes ||
	    room->held_bytes > g->max_held_bytes - len) {
		room->to_head = true;
		return 0;
	}
	struct held *h = malloc(sizeof(*h) + len);
	if (h == NULL)
		return -ENOMEM;
	h->seq = seq;
	h->len = len;
	memcpy(h->payload, payload, len);
	room->held_bytes += len;
	if (at == NULL)
		g_queue_push_head(&room->held, h);
	else
		g_queue_insert_after(&room->held, at, h);
	return 0;
}

static void clear_held(struct gap_room *room)
{
	struct held *h;
	while ((h = g_queue_pop_head(&room->held)) != NULL)
		free(h);
	room->held_bytes = 0;
}

/* Whether an event of `epoch` counts: the room's numbering, or a new one
 * (the room starts over); false for one the room left. */
static bool take_epoch(struct gapfill *g, struct gap_room *room, uint64_t epoch)
{
	if (epoch == room->epoch)
		return true;
	if (room->epoch == 0) {
		room->epoch = epoch;
		return true;
	}
	for (size_t i = 0; i < GAPFILL_RETIRED; i++)
		if (room->retired[i] == epoch)
			return false;
	memmove(room->retired + 1, room->retired, sizeof(room->retired) - sizeof(uint64_t));
	room->retired[0] = room->epoch;
	room->epoch = epoch;
	uint64_t old_last = room->last;
	room->last = 0;
	clear_held(room);
	room->fetching = false;
	room->token = ++g->tokens; /* the read out was of the old numbering */
	room->failed = false;
	room->to_head = false;
	g->cb.restarted(g->data, room->name, old_last);
	return true;
}

int gapfill_published(struct gapfill *g, const char *name, uint64_t epoch, uint64_t seq,
		      const char *payload, size_t len)
{
	struct gap_room *room = g_hash_table_lookup(g->rooms, name);
	if (room == NULL)
		return -ENOENT;
	if (!take_epoch(g, room, epoch))
		return 0;
	if (seq <= room->last)
		return 0;
	bool waiting = room->fetching || room->failed;
	if (!waiting && seq == room->last + 1 && room->held.length == 0) {
		deliver(g, room, seq, payload, len);
		return 0;
	}
	int rc = hold(g, room, seq, payload, len);
	if (!waiting)
		drain(g, room); /* reads the hole before the first held */
	return rc;
}

void gapfill_fetched(struct gapfill *g, const char *name, uint64_t token,
		     const struct gapfill_entry *e, size_t n, bool full)
{
	struct gap_room *room = g_hash_table_lookup(g->rooms, name);
	if (room == NULL || !room->fetching || room->token != token)
		return; /* a late answer */
	room->fetching = false;
	for (size_t i = 0; i < n; i++) {
		if (e[i].epoch != room->epoch) {
			uint64_t before = room->epoch;
			if (!take_epoch(g, room, e[i].epoch))
				continue;
			if (room->epoch != before) {
				/* Started over: the rest of this answer waits while
				 * the new numbering's start is read. */
				for (size_t j = i; j < n; j++)
					if (e[j].epoch == room->epoch)
						(void)hold(g, room, e[j].seq, e[j].payload, e[j].len);
				drain(g, room);
				return;
			}
		}
		if (e[i].seq <= room->last)
			continue;
		deliver(g, room, e[i].seq, e[i].payload, e[i].len);
	}
	uint64_t to = room->fetch_to;
	if (full && n > 0 && (to == 0 || room->last < to)) {
		start_fetch(g, room, to); /* the rest of the range */
		return;
	}
	/* The whole range is read: what it lacks is gone from the stream. */
	if (to != 0 && room->last < to) {
		g->cb.truncated(g->data, room->name, room->last + 1, to);
		room->last = to;
	}
	drain(g, room);
}

void gapfill_fetch_failed(struct gapfill *g, const char *name, uint64_t token)
{
	struct gap_room *room = g_hash_table_lookup(g->rooms, name);
	if (room == NULL || !room->fetching || room->token != token)
		return;
	room->fetching = false;
	room->failed = true;
	room->to_head = true;
}

static void retry_room(struct gapfill *g, struct gap_room *room)
{
	room->failed = false;
	drain(g, room);
}

void gapfill_head(struct gapfill *g, const char *name, uint64_t epoch, uint64_t seq)
{
	struct gap_room *room = g_hash_table_lookup(g->rooms, name);
	if (room == NULL || epoch == 0 || epoch == room->epoch || !take_epoch(g, room, epoch))
		return;
	if (seq > room->last) {
		room->to_head = true;
		if (!room->fetching)
			drain(g, room);
	}
}

void gapfill_foreach(const struct gapfill *g, void (*cb)(void *data, const char *room),
		     void *data)
{
	GHashTableIter it;
	gpointer key;
	g_hash_table_iter_init(&it, g->rooms);
	while (g_hash_table_iter_next(&it, &key, NULL))
		cb(data, key);
}

void gapfill_resync(struct gapfill *g)
{
	GHashTableIter it;
	gpointer value;
	g_hash_table_iter_init(&it, g->rooms);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct gap_room *room = value;
		room->to_head = true;
		if (!room->fetching)
			retry_room(g, room);
	}
}

void gapfill_retry(struct gapfill *g)
{
	GHashTableIter it;
	gpointer value;
	g_hash_table_iter_init(&it, g->rooms);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct gap_room *room = value;
		if (room->failed && !room->fetching)
			retry_room(g, room);
	}
}
