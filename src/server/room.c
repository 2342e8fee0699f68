#include "room.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "frame.h"
#include "lasting.h"

/* ---- making and dropping ------------------------------------------------ */

static void drop_history_frame(struct rooms *r, struct room *room)
{
	if (room->history_frame == NULL)
		return;
	r->frame_bytes -= room->history_frame->len;
	frame_unref(room->history_frame);
	room->history_frame = NULL;
}

static void kept_free(struct kept_event *k);

static void room_free(struct rooms *r, struct room *room)
{
	for (size_t i = 0; i < room->recent_count; i++)
		kept_free(room->recent[i]);
	lasting_free(room->recent, room->recent_alloc * sizeof(*room->recent));
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
	if (s->room != NULL) { /* the embedded seat is in use */
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return NULL;
	}
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
	if (s != &c->home) /* the embedded one is free again (s->room is NULL) */
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

/*
 * A remembered event, one allocation: what event_copy kept, without the
 * publishing-only fields (msg_id, sender_key) and, when it is the room's
 * own name (it nearly always is), without the room. Then inline: pseudo
 * '\0', the room '\0' when kept, text '\0', and for a picture its
 * struct kept_picture and file bytes.
 */
struct kept_event {
	uint64_t id;
	int64_t time_ms;
	uint64_t sender_id;
	uint32_t text_len;
	uint32_t image_len;
	uint16_t pseudo_len;
	int16_t colour;    /* -1..255 */
	uint8_t room_len;  /* 0: the room's own name */
	uint8_t kind;
	bool default_room;
	char bytes[];
};

struct kept_picture {
	const char *mime; /* a static string */
	int32_t width, height;
};

static struct kept_event *kept_new(const struct room *room, const struct event *ev)
{
	size_t pseudo_len = strlen(ev->pseudo), room_len = strlen(ev->room);
	if (pseudo_len > UINT16_MAX || room_len > UINT8_MAX || ev->text_len > UINT32_MAX)
		return NULL;
	if (strcmp(ev->room, room->name) == 0)
		room_len = 0;
	bool picture = ev->kind == EVENT_IMAGE;
	size_t image_len = picture && ev->image != NULL &&
		ev->image_len <= EVENT_IMAGE_KEEP_BYTES ? ev->image_len : 0;
	size_t size = sizeof(struct kept_event) + pseudo_len + 1 +
		(room_len > 0 ? room_len + 1 : 0) + ev->text_len + 1 +
		(picture ? sizeof(struct kept_picture) : 0) + image_len;
	struct kept_event *k = lasting_alloc(size);
	if (k == NULL)
		return NULL;
	*k = (struct kept_event){
		.id = ev->id, .time_ms = ev->time_ms, .sender_id = ev->sender_id,
		.text_len = (uint32_t)ev->text_len, .image_len = (uint32_t)image_len,
		.pseudo_len = (uint16_t)pseudo_len, .colour = (int16_t)ev->colour,
		.room_len = (uint8_t)room_len, .kind = (uint8_t)ev->kind,
		.default_room = ev->default_room,
	};
	char *s = k->bytes;
	memcpy(s, ev->pseudo, pseudo_len + 1);
	s += pseudo_len + 1;
	if (room_len > 0) {
		memcpy(s, ev->room, room_len + 1);
		s += room_len + 1;
	}
	if (ev->text_len > 0)
		memcpy(s, ev->text, ev->text_len);
	s[ev->text_len] = '\0';
	s += ev->text_len + 1;
	if (picture) {
		struct kept_picture pic = {ev->mime, ev->width, ev->height};
		memcpy(s, &pic, sizeof(pic)); /* s is not aligned */
		s += sizeof(pic);
		if (image_len > 0)
			memcpy(s, ev->image, image_len);
	}
	return k;
}

/* What kept_new allocated for k. */
static size_t kept_size(const struct kept_event *k)
{
	return sizeof(struct kept_event) + k->pseudo_len + 1 +
	       (k->room_len > 0 ? k->room_len + 1u : 0) + k->text_len + 1 +
	       (k->kind == EVENT_IMAGE ? sizeof(struct kept_picture) : 0) + k->image_len;
}

static void kept_free(struct kept_event *k)
{
	lasting_free(k, kept_size(k));
}

static const struct kept_event *kept_at(const struct rooms *r, const struct room *room,
					size_t i)
{
	return room->recent[(room->recent_head + i) % r->history_cap];
}

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
	/* The ring grows as events come; until it is full its head is 0. */
	if (room->recent_count == room->recent_alloc && room->recent_alloc < r->history_cap) {
		size_t alloc = room->recent_alloc == 0 ? 4 : room->recent_alloc * 2;
		if (alloc > r->history_cap)
			alloc = r->history_cap;
		struct kept_event **grown = lasting_alloc(alloc * sizeof(*grown));
		if (grown == NULL)
			return -ENOMEM;
		if (room->recent_count > 0)
			memcpy(grown, room->recent, room->recent_count * sizeof(*grown));
		lasting_free(room->recent, room->recent_alloc * sizeof(*grown));
		room->recent = grown;
		room->recent_alloc = alloc;
	}
	struct kept_event *k = kept_new(room, ev);
	if (k == NULL)
		return -ENOMEM;
	room->said += event_has_text(ev);
	if (room->recent_count == r->history_cap) {
		struct kept_event **oldest = &room->recent[room->recent_head];
		room->said -= event_has_text(&(struct event){.kind = (*oldest)->kind});
		kept_free(*oldest);
		*oldest = k;
		room->recent_head = (room->recent_head + 1) % r->history_cap;
	} else {
		room->recent[room->recent_count++] = k;
	}
	return 0;
}

uint64_t room_recent_id(const struct rooms *r, const struct room *room, size_t i)
{
	return kept_at(r, room, i)->id;
}

void room_recent_event(const struct rooms *r, const struct room *room, size_t i,
		       struct event *out)
{
	const struct kept_event *k = kept_at(r, room, i);
	const char *s = k->bytes;
	*out = (struct event){
		.kind = (enum event_kind)k->kind, .id = k->id, .time_ms = k->time_ms,
		.sender_id = k->sender_id, .colour = k->colour, .default_room = k->default_room,
		.text_len = k->text_len, .pseudo = s, .room = room->name,
	};
	s += k->pseudo_len + 1;
	if (k->room_len > 0) {
		out->room = s;
		s += k->room_len + 1;
	}
	out->text = s;
	s += k->text_len + 1;
	if (k->kind == EVENT_IMAGE) {
		struct kept_picture pic;
		memcpy(&pic, s, sizeof(pic));
		out->mime = pic.mime;
		out->width = pic.width;
		out->height = pic.height;
		s += sizeof(pic);
		if (k->image_len > 0) {
			out->image = (const unsigned char *)s;
			out->image_len = k->image_len;
		}
	}
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
