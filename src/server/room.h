/*
 * room: a named room, its members and its recent history in memory.
 *
 * struct rooms (held by the hub) owns every struct room; a room owns the
 * copies of its last `history_cap` events and the HISTORY frame built from
 * them. Members are seats (seat.h) linked through their in_room link
 * (sys/queue.h lists); a room never frees a seat nor a conn.
 *
 * Rooms are bounded: at most `max` of them, found in O(1) by the skeleton
 * of their name (names.h), so look-alike names are one room. A room whose
 * remembered events are only arrivals and departures is not history: once
 * nobody has been in it for a while it goes, its ring with it.
 */
#ifndef CHATROOM_ROOM_H
#define CHATROOM_ROOM_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "event.h"
#include "names.h"
#include "seat.h"
#include "textproto.h"

struct conn;
struct frame;
struct kept_event;

/* The longest topic, in bytes: a line of a terminal, twice. */
#define ROOM_TOPIC_MAX 300

struct room {
	char name[TEXT_MAX_ROOM + 1];     /* as its maker spelt it */
	char skeleton[NAMES_SKELETON_MAX]; /* its identity (the hash key) */
	bool is_default;
	struct seat_list members; /* through seat.in_room */
	size_t member_count;
	/* A ring of the last events (room.c's compact records), oldest at
	 * `recent_head`; it grows to history_cap as events come. */
	struct kept_event **recent;
	size_t recent_alloc;
	size_t recent_head;
	size_t recent_count;
	size_t said;            /* of which messages and pictures */
	int64_t empty_since_ms; /* when it last became empty */
	int64_t active_ms;      /* its last event, or its making */
	/* In struct rooms' activity list, most recently active first. */
	TAILQ_ENTRY(room) activity;
	/* A HISTORY frame of its events up to history_upto, built at
	 * history_built_ms: a burst of requests costs one serialisation. It
	 * outlives the room's next events; binpeer.c judges when it serves. */
	struct frame *history_frame;
	uint64_t history_upto;
	int64_t history_built_ms;
	/* Its topic (/topic), "" for none: bounded, kept while the room is. */
	char topic[ROOM_TOPIC_MAX + 1];
};

TAILQ_HEAD(room_activity, room);

struct rooms {
	GHashTable *by_skeleton; /* skeleton -> struct room */
	struct room_activity by_activity; /* most recently active first */
	size_t count;
	size_t max;              /* rooms at most, the default one included */
	size_t history_cap;
	size_t frame_bytes;      /* held in the rooms' HISTORY frames */
	struct room *default_room;
};

#define ROOM_DEFAULT_NAME "general"
/* A thousand rooms of a hundred events: about 13 MiB of rings at most,
 * far more rooms than one server's people use at once. */
#define ROOMS_DEFAULT_MAX 1000
/* HISTORY frames kept at once, in all: a few dozen busy rooms' worth. Past
 * it a frame is built for each request, which its asker pays for. */
#define ROOMS_FRAME_BYTES (64u * 1024 * 1024)
/* For this long after it was built, a room's HISTORY frame still serves
 * when only arrivals and departures came since: a JOIN storm between big
 * rooms then costs no serialisation per JOIN (binpeer.c). */
#define ROOMS_FRAME_REUSE_MS 2000

/* Makes the registry with its default room. 0 or -ENOMEM. */
int rooms_init(struct rooms *r, size_t history_cap, size_t max);
void rooms_free(struct rooms *r);

/* The room of that name or of a look-alike; NULL when there is none. */
struct room *rooms_find(const struct rooms *r, const char *name, size_t len);
/*
 * Makes a room (the name checked, and not found). At the cap, first drops
 * rooms that are not history and empty for reap_ms, then the least
 * recently active empty room quiet for evict_ms. 0 with *out, -ENOSPC when
 * at the cap still, -EEXIST (a look-alike is there), -EINVAL or -ENOMEM.
 */
int rooms_make(struct rooms *r, const char *name, size_t len, int64_t now_ms,
	       int64_t reap_ms, int64_t evict_ms, struct room **out);
/* Drops every room that is not history and has been empty for reap_ms;
 * returns how many went. */
size_t rooms_reap(struct rooms *r, int64_t now_ms, int64_t reap_ms);
/* Up to max rooms for a listing: the default one, then those with people,
 * then the others, each most recently active first. Returns how many. */
size_t rooms_listing(const struct rooms *r, const struct room **out, size_t max);

void room_add_member(struct room *room, struct seat *s);
void room_remove_member(struct room *room, struct seat *s, int64_t now_ms);

/* c takes a seat in room, silently (hub.c decides when); it hears the
 * room's events after live_since. NULL when out of memory (its first seat
 * never is: embedded in the conn). */
struct seat *room_sit(struct conn *c, uint64_t live_since, struct room *room);
/* c gives up seat s; room_stand_all: every seat, c->room NULL. */
void room_stand(struct conn *c, struct seat *s, int64_t now_ms);
void room_stand_all(struct conn *c, int64_t now_ms);

/* Keeps a copy of ev among the last history_cap events; the room was
 * active at active_ms (clock.h's clock_ms). 0 or -ENOMEM. */
int room_remember(struct rooms *r, struct room *room, const struct event *ev,
		  int64_t active_ms);
/* The id of the i-th remembered event, oldest first (i < recent_count). */
uint64_t room_recent_id(const struct rooms *r, const struct room *room, size_t i);
/* Fills *out with the i-th remembered event, oldest first (i < recent_count).
 * Its strings and picture point into the room's record: valid until the
 * room's next event (room_remember) or its end, so use them before. Not
 * kept: msg_id and sender_key (publishing only), 0 and NULL. */
void room_recent_event(const struct rooms *r, const struct room *room, size_t i,
		       struct event *out);
/* Keeps f (a reference is taken) as the room's HISTORY frame of the
 * events up to upto, built at now_ms, when the budget allows. */
void room_keep_history(struct rooms *r, struct room *room, struct frame *f, uint64_t upto,
		       int64_t now_ms);

#endif
