/*
 * hub: the chat itself. It knows the rooms and who is in each, what a line
 * from a text peer means (greeting, pseudo, command, message), stamps each
 * event with an id and the time, has it remembered (room ring and history
 * file) and relays it, encoded once, to the room.
 *
 * hub.c owns struct rooms and the queue of broadcasts held until the
 * history is durable (fsync=always); it links conns but never frees one.
 */
#ifndef CHATROOM_HUB_H
#define CHATROOM_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "history.h"
#include "room.h"
#include "strcount.h"
#include "users.h"

struct textlog;
struct conn;
struct frame;

/* A broadcast waiting for its event to reach the disk. */
struct held_broadcast {
	struct held_broadcast *next;
	uint64_t event_id;
	uint64_t except_conn_id;
	struct frame *text;   /* the event in each wire format */
	struct frame *binary;
	char room[TEXT_MAX_ROOM + 1];
};

/* Colours handed to newcomers (hub.c). */
#define HUB_PALETTE_SIZE 12

/* What a request costs in flood tokens (--flood-burst at once, then
 * --flood-rate a second), in proportion to the server's work. */
#define HUB_COST_LINE 1     /* a message, a hello, a ping */
#define HUB_COST_LIST 2     /* who is here, the rooms */
#define HUB_COST_GAP 5      /* the events after an id, one frame each */
#define HUB_COST_JOIN 5     /* two notices, a room's history, file writes */
#define HUB_COST_HISTORY 20 /* a room's history as JSON: megabytes; every 2 s */

/* Rooms one connection, and one address, may make: this many at once,
 * then as many a minute. A class sets up its rooms; a flood of new names
 * is refused. */
#define HUB_ROOMS_PER_CONN 10
#define HUB_ROOMS_PER_ADDRESS 30
/* A room of arrivals and departures only goes once empty this long (a
 * picture still being decoded for it may come in meanwhile). */
#define HUB_ROOM_REAP_MS 5000
/* At the cap, a new room replaces the least recently active empty room
 * when nothing was said there for this long. */
#define HUB_ROOM_EVICT_MS (60 * 60 * 1000)

struct hub {
	struct rooms rooms;
	struct users users;
	struct history_log *history; /* NULL: nothing written to disk */
	struct textlog *chatlog;     /* NULL: no conversation log file */
	uint64_t last_event_id;
	struct held_broadcast *held, **held_tail;
	unsigned flood_strikes; /* refused messages in a row before a disconnect */
	/* Who is present, kept as they come and go so that a join costs the
	 * same in a room of ten or of ten thousand. */
	struct strcount pseudos;      /* skeletons of the named conns */
	unsigned colour_wearers[HUB_PALETTE_SIZE]; /* named conns by colour */
	/* Rooms each address may still make (address key -> bucket); an
	 * entry goes once its bucket is full again. */
	GHashTable *creators;
	/* Set while the server stops: departures are no longer announced. */
	bool quiet;
	/* Scratch space for one sanitised line, and for a refusal's words. */
	char *clean;
	size_t clean_cap;
	char cause[96];
};

/* max_rooms counts the default room; per_address is how many sessions
 * (and departures) one address may keep (users.h). */
int hub_init(struct hub *h, size_t history_cap, size_t max_rooms, int64_t return_grace_ms,
	     unsigned per_address, char *clean_buf, size_t clean_cap);
void hub_free(struct hub *h);

/* Loads the history file into the rooms (start-up, blocking). */
int hub_load_history(struct hub *h, const char *path);
/* From now on events are appended to `log` (already open). */
void hub_attach_history(struct hub *h, struct history_log *log);

/* A new connection lands in the default room. */
void hub_add(struct hub *h, struct conn *c);
/* Takes c out of its room and tells the room if it had a pseudo. */
void hub_remove(struct hub *h, struct conn *c);

/* Once a second: forget rooms empty of people and of history, and
 * departures and sessions past their grace period. */
void hub_tick(struct hub *h);

/* ---- for the protocol modules (textpeer.c, binpeer.c) ------------------- */

uint64_t hub_random_u64(void);

/* Stamps ev (id, time, room), remembers it and relays it to the room in
 * each peer's wire format, encoded once per format. */
void hub_publish(struct hub *h, struct room *room, struct event *ev,
		 uint64_t except_conn_id);
/* c's arrival (told to all, c too) or departure (to the others). */
void hub_publish_presence(struct hub *h, struct conn *c, enum event_kind kind);

/* Checks a new pseudo for c: well formed, nobody present with a look-alike,
 * not held for an away user (users.h). 0, or -EINVAL/-EEXIST with the
 * reason in why. The pseudo's identity goes to skeleton
 * (NAMES_SKELETON_MAX bytes). */
int hub_check_pseudo(const struct hub *h, const struct conn *c, const char *pseudo,
		     size_t len, char *skeleton, char *why, size_t why_len);
/* Somebody present goes by that skeleton. */
bool hub_pseudo_taken(const struct hub *h, const char *skeleton);
/* A new user ID, and a colour nobody present wears (other than `avoid`
 * when it can). */
uint64_t hub_new_user_id(void);
int hub_pick_colour(const struct hub *h, int avoid);
/* Gives c its pseudo; user_id 0 and colour -1 pick new ones. */
void hub_name(struct hub *h, struct conn *c, const char *pseudo, size_t len,
	      const char *skeleton, uint64_t user_id, int colour);
/* The room of that name (as a user typed it: textproto_normalise_room) or
 * of a look-alike, made for c if missing (len 0: the default room). NULL
 * with *cause for a bad name, or when c (NULL: nobody in particular) may
 * not make a room now or there are too many. */
struct room *hub_room(struct hub *h, struct conn *c, const char *typed, size_t typed_len,
		      const char **cause);
/* The same, never made: NULL when there is none. */
struct room *hub_find_room(const struct hub *h, const char *typed, size_t typed_len);
/* Moves c: departure notice, history of the new room, then c is in it
 * (the caller announces the arrival). */
void hub_move(struct hub *h, struct conn *c, struct room *to);
/* Puts c in room `to` without a word to anybody (first placement). */
void hub_place(struct hub *h, struct conn *c, struct room *to);
/* The newest event c may be sent as history of room (see hub.c). */
uint64_t hub_visible_id(const struct hub *h, const struct conn *c, const struct room *room);
void hub_send_history(struct hub *h, struct conn *c, struct room *room);
/* Members the others can see (a WHO lists them, events reach them): all
 * but binary peers not yet welcomed, which are parked in the default room
 * only to be sent its history. What /rooms and ROOMS count. */
size_t hub_visible_members(const struct room *room);

/* Flood control: takes cost tokens and len bytes from c's budget; false
 * (and the peer told, or dropped) when over. */
bool hub_charge(struct hub *h, struct conn *c, unsigned cost, size_t len);
/* The same for one message of len bytes. */
bool hub_within_rate(struct hub *h, struct conn *c, size_t len);

/* Sends f to c and drops the caller's reference (f may be NULL). */
void hub_reply(struct conn *c, struct frame *f);
/* An error in c's protocol: an ERROR frame, or an "Erreur : " line. */
void hub_error(struct conn *c, uint16_t code, const char *text);
/* The same, then c is disconnected once it has read it. */
void hub_refuse(struct conn *c, uint16_t code, const char *text, const char *why);

#endif
