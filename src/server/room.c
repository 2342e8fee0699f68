#include "room.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"

static struct room *room_new(const char *name, size_t len, int64_t now_ms)
{
	struct room *room = calloc(1, sizeof(*room));
	if (room == NULL)
		return NULL;
	memcpy(room->name, name, len);
	room->name[len] = '\0';
	room->empty_since_ms = now_ms;
	return room;
}

static void room_free(struct rooms *r, struct room *room)
{
	for (size_t i = 0; i < room->recent_count; i++)
		event_copy_free(&room->recent[(room->recent_head + i) % r->history_cap]);
	free(room->recent);
	free(room);
}

int rooms_init(struct rooms *r, size_t history_cap)
{
	memset(r, 0, sizeof(*r));
	r->history_cap = history_cap;
	struct room *room = rooms_get(r, ROOM_DEFAULT_NAME, strlen(ROOM_DEFAULT_NAME), 0);
	if (room == NULL)
		return -ENOMEM;
	room->is_default = true;
	r->default_room = room;
	return 0;
}

void rooms_free(struct rooms *r)
{
	struct room *room = r->list;
	while (room != NULL) {
		struct room *next = room->next;
		room_free(r, room);
		room = next;
	}
	r->list = NULL;
	r->count = 0;
}

struct room *rooms_find(const struct rooms *r, const char *name, size_t len)
{
	for (struct room *room = r->list; room != NULL; room = room->next)
		if (strlen(room->name) == len && memcmp(room->name, name, len) == 0)
			return room;
	return NULL;
}

struct room *rooms_get(struct rooms *r, const char *name, size_t len,
		       int64_t now_ms)
{
	struct room *room = rooms_find(r, name, len);
	if (room != NULL || len > TEXT_MAX_ROOM)
		return room;
	room = room_new(name, len, now_ms);
	if (room == NULL)
		return NULL;
	room->next = r->list;
	r->list = room;
	r->count++;
	return room;
}

void rooms_reap_idle(struct rooms *r, int64_t now_ms, int64_t idle_ms)
{
	struct room **link = &r->list;
	while (*link != NULL) {
		struct room *room = *link;
		if (!room->is_default && room->member_count == 0 &&
		    room->recent_count == 0 && now_ms - room->empty_since_ms >= idle_ms) {
			*link = room->next;
			r->count--;
			room_free(r, room);
		} else {
			link = &room->next;
		}
	}
}

void room_add_member(struct room *room, struct conn *c)
{
	c->room = room;
	c->member_prev = NULL;
	c->member_next = room->members;
	if (room->members != NULL)
		room->members->member_prev = c;
	room->members = c;
	room->member_count++;
}

void room_remove_member(struct room *room, struct conn *c, int64_t now_ms)
{
	if (c->member_prev != NULL)
		c->member_prev->member_next = c->member_next;
	else
		room->members = c->member_next;
	if (c->member_next != NULL)
		c->member_next->member_prev = c->member_prev;
	c->member_prev = c->member_next = NULL;
	c->room = NULL;
	if (--room->member_count == 0)
		room->empty_since_ms = now_ms;
}

int room_remember(struct rooms *r, struct room *room, const struct event *ev)
{
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
	if (room->recent_count == r->history_cap) {
		event_copy_free(&room->recent[room->recent_head]);
		room->recent[room->recent_head] = copy;
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
