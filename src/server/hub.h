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
#include "users.h"

struct textlog;
struct conn;
struct frame;

/* A broadcast waiting for its event to reach the disk. */
struct held_broadcast {
	struct held_broadcast *next;
	uint64_t event_id;
	uint64_t except_conn_id;
	struct frame *frame;
	char room[TEXT_MAX_ROOM + 1];
};

struct hub {
	struct rooms rooms;
	struct users users;
	struct history_log *history; /* NULL: nothing written to disk */
	struct textlog *chatlog;     /* NULL: no conversation log file */
	uint64_t last_event_id;
	struct held_broadcast *held, **held_tail;
	unsigned flood_strikes; /* refused messages in a row before a disconnect */
	/* Set while the server stops: departures are no longer announced. */
	bool quiet;
	/* Scratch space for one sanitised line. */
	char *clean;
	size_t clean_cap;
};

int hub_init(struct hub *h, size_t history_cap, int64_t return_grace_ms,
	     char *clean_buf, size_t clean_cap);
void hub_free(struct hub *h);

/* Loads the history file into the rooms (start-up, blocking). */
int hub_load_history(struct hub *h, const char *path);
/* From now on events are appended to `log` (already open). */
void hub_attach_history(struct hub *h, struct history_log *log);

/* A new connection lands in the default room. */
void hub_add(struct hub *h, struct conn *c);
/* Takes c out of its room and tells the room if it had a pseudo. */
void hub_remove(struct hub *h, struct conn *c);

/* A complete line (no '\n') from a text peer, exactly as received. */
void hub_on_line(struct hub *h, struct conn *c, const char *line, size_t len);

/* Once a second: forget rooms empty of people and of history, and
 * departures past their grace period. */
void hub_tick(struct hub *h);

#endif
