/*
 * room: a named room, its members and its recent history in memory.
 *
 * struct rooms (held by the hub) owns every struct room; a room owns the
 * copies of its last `history_cap` events. Members are conns linked through
 * their member_* fields; a room never frees a conn.
 */
#ifndef CHATROOM_ROOM_H
#define CHATROOM_ROOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "textproto.h"

struct conn;

struct room {
	char name[TEXT_MAX_ROOM + 1];
	bool is_default;
	struct conn *members;
	size_t member_count;
	/* A ring of the last events, oldest at `recent_head`. */
	struct event_copy *recent;
	size_t recent_head;
	size_t recent_count;
	int64_t empty_since_ms; /* when it last became empty */
	struct room *next;
};

struct rooms {
	struct room *list;
	size_t count;
	size_t history_cap;
	struct room *default_room;
};

#define ROOM_DEFAULT_NAME "general"

/* Makes the registry with its default room. 0 or -ENOMEM. */
int rooms_init(struct rooms *r, size_t history_cap);
void rooms_free(struct rooms *r);

struct room *rooms_find(const struct rooms *r, const char *name, size_t len);
/* Finds or creates; NULL when out of memory. The name must be checked. */
struct room *rooms_get(struct rooms *r, const char *name, size_t len,
		       int64_t now_ms);
/* Drops rooms that have had no members and no history for idle_ms. */
void rooms_reap_idle(struct rooms *r, int64_t now_ms, int64_t idle_ms);

void room_add_member(struct room *room, struct conn *c);
void room_remove_member(struct room *room, struct conn *c, int64_t now_ms);

/* Keeps a copy of ev among the last history_cap events. 0 or -ENOMEM. */
int room_remember(struct rooms *r, struct room *room, const struct event *ev);
/* The i-th remembered event, oldest first (i < recent_count). */
const struct event *room_recent(const struct rooms *r, const struct room *room,
				size_t i);

#endif
