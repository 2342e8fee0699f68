#include "room.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "frame.h"

/* ---- making and dropping ------------------------------------------------ */

static void drop_history_frame(struct rooms *r, struct room *room)
{
	if (room->history_frame == NULL)
		return;
	r->frame_bytes -= room->history_frame->len;
	frame_unref(room->history_frame);
	room->history_frame = NULL;
}

static void room_free(struct rooms *r, struct room *room)
{
	for (size_t i = 0; i < room->recent_count; i++)
		event_copy_free(&room->recent[(room->recent_head + i) % r->history_cap]);
	free(room->recent);
	drop_history_frame(r, room);
	free(room);
}

/* Only empty rooms go: no conn ever points at a dropped room. */
static void drop_room(struct rooms *r, struct room *room)
{
	g_hash_table_remove(r->by_skeleton, room->skeleton);
	TAILQ_REMOVE(&r->by_activity, room, activity);
	r->count--;
	room_free(r, room);
}

static bool is_history(const struct room *room)
{
	return room->is_default || room->member_count > 0 || room->said > 0;
}

int rooms_init(struct rooms *r, size_t history_cap, size_t max)
{
	memset(r, 0, sizeof(*r));
	TAILQ_INIT(&r->by_activity);
	r->history_cap = history_cap;
	r->max = max > 0 ? max : 1;
	/* Keys are the rooms' own skeletons: the table frees nothing. */
	r->by_skeleton = g_hash_table_new(g_str_hash, g_str_equal);
	struct room *room;
	if (rooms_make(r, ROOM_DEFAULT_NAME, strlen(ROOM_DEFAULT_NAME), 0, 0, 0, &room) < 0)
		return -ENOMEM;
	room->is_default = true;
	r->default_room = room;
	return 0;
}

void rooms_free(struct rooms *r)
{
	struct room *room;
	while ((room = TAILQ_FIRST(&r->by_activity)) != NULL) {
		TAILQ_REMOVE(&r->by_activity, room, activity);
		room_free(r, room);
	}
	if (r->by_skeleton != NULL)
		g_hash_table_destroy(r->by_skeleton);
	r->by_skeleton = NULL;
	r->count = 0;
}

struct room *rooms_find(const struct rooms *r, const char *name, size_t len)
{
	char skeleton[NAMES_SKELETON_MAX];
	if (names_skeleton(name, len, skeleton, sizeof(skeleton)) < 0)
		return NULL;
	return g_hash_table_lookup(r->by_skeleton, skeleton);
}

size_t rooms_reap(struct rooms *r, int64_t now_ms, int64_t reap_ms)
{
	size_t dropped = 0;
	struct room *room = TAILQ_LAST(&r->by_activity, room_activity);
	while (room != NULL) {
		struct room *newer = TAILQ_PREV(room, room_activity, activity);
		if (!is_history(room) && now_ms - room->empty_since_ms >= reap_ms) {
			drop_room(r, room);
			dropped++;
		}
		room = newer;
	}
	return dropped;
}

/* The least recently active empty room, if it has been quiet that long. */
static bool evict_one(struct rooms *r, int64_t now_ms, int64_t evict_ms)
{
	struct room *room;
	TAILQ_FOREACH_REVERSE(room, &r->by_activity, room_activity, activity) {
		if (now_ms - room->active_ms < evict_ms)
			return false; /* the newer ones are newer still */
		if (!room->is_default && room->member_count == 0) {
			drop_room(r, room);
			return true;
		}
	}
	return false;
}

int rooms_make(struct rooms *r, const char *name, size_t len, int64_t now_ms,
	       int64_t reap_ms, int64_t evict_ms, struct room **out)
{
	char skeleton[NAMES_SKELETON_MAX];
	if (len > TEXT_MAX_ROOM || names_skeleton(name, len, skeleton, sizeof(skeleton)) < 0)
		return -EINVAL;
	if (g_hash_table_contains(r->by_skeleton, skeleton))
		return -EEXIST; /* a look-alike: the caller should have found it */
	if (r->count >= r->max && rooms_reap(r, now_ms, reap_ms) == 0 &&
	    !evict_one(r, now_ms, evict_ms))
		return -ENOSPC;
	struct room *room = calloc(1, sizeof(*room));
	if (room == NULL)
		return -ENOMEM;
	memcpy(room->skeleton, skeleton, sizeof(skeleton));
	memcpy(room->name, name, len);
	room->name[len] = '\0';
	room->empty_since_ms = now_ms;
	room->active_ms = now_ms;
	LIST_INIT(&room->members);
	g_hash_table_insert(r->by_skeleton, room->skeleton, room);
	TAILQ_INSERT_HEAD(&r->by_activity, room, activity);
	r->count++;
	*out = room;
	return 0;
}

size_t rooms_listing(const struct rooms *r, const struct room **out, size_t max)
{
	size_t n = 0;
	if (max > 0)
		out[n++] = r->default_room;
	for (int pass = 0; pass < 2; pass++)
		for (const struct room *room = TAILQ_FIRST(&r->by_activity); room != NULL && n < max;
		     room = TAILQ_NEXT(room, activity))
			if (!room->is_default && (room->member_count > 0) == (pass == 0))
				out[n++] = room;
	return n;
}

/* ---- members ------------------------------------------------------------ */

void room_add_member(struct room *room, struct seat *s)
{
	s->room = room;
	LIST_INSERT_HEAD(&room->members, s, in_room);
	room->member_count++;
}

void room_remove_member(struct room *room, struct seat *s, int64_t now_ms)
{
	LIST_REMOVE(s, in_room);
	s->room = NULL;
	if (--room->member_count == 0)
		room->empty_since_ms = now_ms;
}

/* ---- a conn's seats (seat.h) ------------------------------------------- */

struct seat *room_sit(struct conn *c, uint64_t live_since, struct room *room)
{
	struct seat *s = &c->home;
	if (s->taken) {
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return NULL;
	}
	s->taken = true;
	s->conn = c;
	s->live_since_event = live_since;
	LIST_INSERT_HEAD(&c->seats, s, of_conn);
	c->seat_count++;
	room_add_member(room, s);
	return s;
}

void room_stand(struct conn *c, struct seat *s, int64_t now_ms)
{
	room_remove_member(s->room, s, now_ms);
	LIST_REMOVE(s, of_conn);
	c->seat_count--;
	if (s == &c->home)
		s->taken = false;
	else
		free(s);
}

void room_stand_all(struct conn *c, int64_t now_ms)
{
	struct seat *s;
	while ((s = LIST_FIRST(&c->seats)) != NULL)
		room_stand(c, s, now_ms);
	c->room = NULL;
}

/* ---- history ------------------------------------------------------------ */

int room_remember(struct rooms *r, struct room *room, const struct event *ev,
		  int64_t active_ms)
{
	room->active_ms = active_ms;
	if (TAILQ_FIRST(&r->by_activity) != room) {
		TAILQ_REMOVE(&r->by_activity, room, activity);
		TAILQ_INSERT_HEAD(&r->by_activity, room, activity);
	}
	if (r->history_cap == 0)
		return 0;
	if (room->recent == NULL) {
		room->recent = calloc(r->history_cap, sizeof(*room->recent));
		if (room->recent == NULL)
			return -ENOMEM;
	}
	struct event_copy copy;
	int rc = event_copy_init(&copy, ev);
	if (rc < 0)
		return rc;
	room->said += event_has_text(ev);
	if (room->recent_count == r->history_cap) {
		struct event_copy *oldest = &room->recent[room->recent_head];
		room->said -= event_has_text(&oldest->ev);
		event_copy_free(oldest);
		*oldest = copy;
		room->recent_head = (room->recent_head + 1) % r->history_cap;
	} else {
		room->recent[(room->recent_head + room->recent_count) % r->history_cap] = copy;
		room->recent_count++;
	}
	return 0;
}

const struct event *room_recent(const struct rooms *r, const struct room *room,
				size_t i)
{
	return &room->recent[(room->recent_head + i) % r->history_cap].ev;
}

void room_keep_history(struct rooms *r, struct room *room, struct frame *f, uint64_t upto,
			int64_t now_ms)
{
	drop_history_frame(r, room);
	if (r->frame_bytes + f->len > ROOMS_FRAME_BYTES)
		return;
	r->frame_bytes += f->len;
	room->history_frame = frame_ref(f);
	room->history_upto = upto;
	room->history_built_ms = now_ms;
}
