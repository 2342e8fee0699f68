/*
 * hub: the chat itself, whatever the protocols. It knows the rooms and who
 * is in each, the pseudos and colours worn, who may come back; it
 * publishes events through the bus (bus.h) and, on delivery, has each
 * remembered (room ring, history file, conversation log) and relayed to
 * the room, encoded once per format (event_encode) for its members'
 * protocols. It reaches a peer only through the peer's protocol (proto.h):
 * a room's history is c->proto->send_history.
 *
 * hub.c owns struct rooms, struct users and the table of room makers; it
 * links conns into rooms but never frees one. Two files share the rest
 * of struct hub, each for its own reason to change: hub_events.c (the
 * publish, the delivery and fan-out, the broadcasts held until the
 * history is durable under fsync=always) and hub_names.c (the pseudos and
 * colours worn, the named conns).
 */
#ifndef CHATROOM_HUB_H
#define CHATROOM_HUB_H

#include <errno.h>
#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "event.h"
#include "history.h"
#include "identities.h"
#include "proto.h"
#include "room.h"
#include "textproto.h"
#include "users.h"

struct bus;
struct conn;
struct frame;
struct picture_pool;
struct textlog;

/* A broadcast waiting for its event to reach the disk: the event in each
 * format, encoded when it was published (its strings do not outlive that). */
struct held_broadcast {
	STAILQ_ENTRY(held_broadcast) link;
	uint64_t event_id;
	uint64_t except_conn_id;
	uint64_t msg_id;                /* its sender's, acknowledged once durable (0: none) */
	uint64_t sender_id;             /* for the members who ignore it */
	char sender[64];                /* its label */
	struct frame *frames[EVENT_FORMATS];
	char room[TEXT_MAX_ROOM + 1];
};

/* Colours handed to newcomers (hub_names.c). */
#define HUB_PALETTE_SIZE 12

/* Rooms one connection, and one address, may make: this many at once,
 * then as many a minute. A class sets up its rooms; a flood of new names
 * is refused. */
#define HUB_ROOMS_PER_CONN 10
/* ... given back at that many a minute (hub.c takes, server.c's sweep
 * checks it is full again). */
#define HUB_ROOM_CREATIONS_PER_S (HUB_ROOMS_PER_CONN / 60.0)
#define HUB_ROOMS_PER_ADDRESS 30
/* A room of arrivals and departures only goes once empty this long (a
 * picture still being decoded for it may come in meanwhile). */
#define HUB_ROOM_REAP_MS 5000
/* At the cap, a new room replaces the least recently active empty room
 * when nothing was said there for this long. */
#define HUB_ROOM_EVICT_MS (60 * 60 * 1000)
/* Rooms a peer may be in at once, unless the settings say otherwise. */
#define HUB_DEFAULT_SEATS 16
/* The most entries a listing of rooms or members holds: what one answer
 * may carry (a text line holds fewer; see textpeer.c). */
#define HUB_LIST_MAX 512

struct hub {
	struct rooms rooms;
	struct users users;
	/* Connections (server.c's count) and sessions (users.c's) by address. */
	struct addresses addresses;
	struct bus *bus;             /* events go out and come back through it */
	struct history_log *history; /* NULL: nothing written to disk */
	struct textlog *chatlog;     /* NULL: no conversation log file */
	uint64_t last_event_id;      /* the newest delivered (or loaded) */
	STAILQ_HEAD(, held_broadcast) held;
	/* Who is present, kept as they come and go so that a join costs the
	 * same in a room of ten or of ten thousand. */
	/* Skeletons of the named conns: each one's count (normally 1) and
	 * its conn (for /msg), in one entry (hub_names.c). */
	GHashTable *named;
	struct identities identities; /* owned pseudos (identities.h) */
	unsigned colour_wearers[HUB_PALETTE_SIZE]; /* named conns by colour */
	/* Rooms each address may still make (address key -> bucket); an
	 * entry goes once its bucket is full again. */
	GHashTable *creators;
	/* Where pictures are decoded (picture.h), for the protocols that
	 * receive them: the server's. */
	struct picture_pool *pictures;
	/* Rooms one peer may be in at once (--max-rooms-per-peer). */
	size_t max_seats;
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
/* Events are published through `bus` and delivered back by it. */
void hub_attach_bus(struct hub *h, struct bus *bus);

/* A new connection lands in the default room. */
void hub_add(struct hub *h, struct conn *c);
/* Takes c out of its rooms and tells each if it had a pseudo; a named
 * peer is remembered so that it may come back as itself (users.h). */
void hub_remove(struct hub *h, struct conn *c);

/* Once a second: forget rooms empty of people and of history, and
 * departures and sessions past their grace period. */
void hub_tick(struct hub *h);

/* ---- between hub.c, hub_events.c and hub_names.c only -------------------- */

/* Frees the broadcasts still held for the disk (hub_free). */
void hub_drop_held(struct hub *h);
/* c (named) is gone: its pseudo (skeleton, NULL when it had none) and its
 * colour are free again (hub_remove). */
void hub_forget_name(struct hub *h, struct conn *c, const char *skeleton);
/* The table of names (h->named), made and freed by hub.c. */
GHashTable *hub_names_new(void);

/* ---- for the protocols and the commands --------------------------------- */

uint64_t hub_random_u64(void);

/* Stamps ev (time, room) and publishes it through the bus, which gives it
 * its id; delivered, it is remembered and relayed to the room (all but
 * except_conn_id) in each member's format, encoded once per format.
 * 0, or the bus's negative errno (logged; nothing delivered). */
int hub_publish(struct hub *h, struct room *room, struct event *ev,
		 uint64_t except_conn_id);
/* c's arrival (told to all, c too) or departure (to the others). */
void hub_publish_presence(struct hub *h, struct conn *c, enum event_kind kind);
/* The same in one of c's rooms. */
void hub_publish_presence_in(struct hub *h, struct conn *c, struct room *room,
			     enum event_kind kind);
/* A message of c's (checked and cleaned already) to room, for the others;
 * c is told when the bus refused it. */
void hub_say(struct hub *h, struct conn *c, struct room *room, const char *text, size_t len);
/* The same for a numbered message (msg_id and the sender's key, as
 * msgack.c makes them; 0 and NULL: not numbered). Returns the bus's
 * answer: below 0, refused and c told why. */
int hub_say_numbered(struct hub *h, struct conn *c, struct room *room, const char *text,
		     size_t len, uint64_t msg_id, const char *sender_key);
/* What the sender of words hub_publish refused with rc is told. */
static inline const char *hub_unpublished_why(int rc)
{
	return rc == -ENOBUFS ? TEXT_ERR_NOT_SENT_BACKLOG : TEXT_ERR_NOT_SENT;
}

/* Checks a new pseudo for c: well formed, nobody present with a look-alike,
 * not held for an away user (users.h). 0, or -EINVAL/-EEXIST with the
 * reason in why. The pseudo's identity goes to skeleton
 * (NAMES_SKELETON_MAX bytes). */
int hub_check_pseudo(const struct hub *h, const struct conn *c, const char *pseudo,
		     size_t len, char *skeleton, char *why, size_t why_len);
/* The named conn present under that pseudo (or a look-alike); NULL. */
struct conn *hub_find_named(const struct hub *h, const char *pseudo, size_t len);
/* The same by skeleton. */
struct conn *hub_named_conn(const struct hub *h, const char *skeleton);
/* c (named) goes by another pseudo, checked already (hub_check_pseudo);
 * the room is told, c too. */
void hub_rename(struct hub *h, struct conn *c, const char *pseudo, size_t len,
		const char *skeleton);
/* "Sujet de <room> : …" to c, when room has a topic. */
void hub_tell_topic(struct conn *c, const struct room *room);
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
/* Moves c: departure notice, history of the new room (in c's protocol),
 * then c is in it (the caller announces the arrival). */
void hub_move(struct hub *h, struct conn *c, struct room *to);
/* c's seat in room (seat.h); NULL when it is not in it. */
struct seat *hub_seat(const struct conn *c, const struct room *room);
/* A peer of several rooms goes into `to` as well: its history, then c is
 * in it and it is c's current room (the caller announces the arrival).
 * 0, -EEXIST (in it already), -ENOSPC (in max_seats rooms already) or
 * -ENOMEM. */
int hub_enter(struct hub *h, struct conn *c, struct room *to);
/* c leaves room, its departure told to the others; its current room, if
 * that was it, becomes another of its rooms. The caller keeps c in one. */
void hub_leave(struct hub *h, struct conn *c, struct room *room);
/* Puts c in room `to` alone, without a word to anybody (first placement). */
void hub_place(struct hub *h, struct conn *c, struct room *to);
/* The newest event c may be sent as history of room (see hub_events.c). */
uint64_t hub_visible_id(const struct hub *h, const struct conn *c, const struct room *room);
/* The newest event any member may have heard of (a search's horizon):
 * under fsync=always, the newest on disk. */
uint64_t hub_heard_id(const struct hub *h);
/* Members who hear the room (a WHO lists them, events reach them): all
 * but binary peers not yet welcomed, which are parked in the default room
 * only to be sent its history. What /rooms and ROOMS count. */
size_t hub_visible_members(const struct room *room);
/* Up to max rooms for a listing (rooms_listing), with their visible
 * members; returns how many. */
size_t hub_list_rooms(const struct hub *h, struct chat_entry *out, size_t max);
/* Up to max visible members of room, by their label and colour. */
size_t hub_list_members(const struct room *room, struct chat_entry *out, size_t max);

#endif
