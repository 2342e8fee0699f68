/*
 * seat: one conn's place in one room. A binary peer that asked for
 * several rooms (docs/protocol.md, HELLO's features) has a seat in each;
 * every other peer has one. hub.c makes and drops seats (a conn's first
 * is the one embedded in it); room.c links them into room->members.
 */
#ifndef CHATROOM_SEAT_H
#define CHATROOM_SEAT_H

#include <stdint.h>
#include <sys/queue.h>

struct conn;
struct room;

struct seat {
	LIST_ENTRY(seat) in_room; /* room->members */
	LIST_ENTRY(seat) of_conn; /* conn->seats */
	struct conn *conn;
	struct room *room;
	/* Events after this one reached it live in this room. */
	uint64_t live_since_event;
};

LIST_HEAD(seat_list, seat);

#endif
