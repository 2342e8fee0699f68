/*
 * binhistory: what the binary protocol sends of the records the history
 * keeps (docs/protocol.md): a room's history as one HISTORY frame (a
 * JSON array of the history file's records, pictures the newest first
 * within a budget), or the events since a resumed peer's last id; the
 * results of a search as a FOUND frame. A room's HISTORY frame is cached
 * in the room (room_keep_history) and shared by askers who may see the
 * same events.
 *
 * Apart from binpeer.c, which reads frames and keeps a peer's stream: this
 * changes with the history's records and the cache, not with the
 * frames a peer sends. No state of its own beyond the room's cached frame.
 */
#include "binhistory.h"

#include <string.h>

#include "clock.h"
#include "conn.h"
#include "event.h"
#include "history.h"
#include "hub.h"
#include "room.h"
#include "wire.h"

/* The records of the history file, in a JSON array (as HISTORY's). */
void binhistory_send_found(struct conn *c, const char *query,
			   const struct event *const *found, size_t count, bool cut)
{
	struct buffer json = {0};
	buffer_add(&json, "[", 1);
	for (size_t i = 0; i < count; i++) {
		history_serialise(&json, found[i], true);
		if (json.data != NULL)
			json.data[json.len - 1] = ','; /* each record ends in '\n' */
	}
	if (json.data != NULL && json.len > 1)
		json.len--;
	buffer_add(&json, "]", 1);
	if (json.data != NULL)
		conn_reply(c, wire_encode(&(struct wire_msg){
			.type = WIRE_FOUND, .cut = cut, .query = {query, strlen(query)},
			.text = {json.data, json.len}}));
	buffer_free(&json);
}

/* Base64 of pictures in one HISTORY frame: well inside WIRE_MAX_FRAME. */
#define BINHISTORY_IMAGE_BYTES (4u * 1024 * 1024)

/* The room's HISTORY frame of its events up to upto, built anew. */
static struct frame *history_frame(struct hub *h, struct room *room, uint64_t upto)
{
	/* The course asks for the history as JSON: the history file's own
	 * records, in an array. */
	/* Pictures travel in it too, the newest first while they fit. */
	size_t with_data_from = room->recent_count, budget = BINHISTORY_IMAGE_BYTES;
	for (size_t i = room->recent_count; i-- > 0;) {
		struct event read;
		room_recent_event(&h->rooms, room, i, &read);
		const struct event *ev = &read;
		if (ev->image == NULL || ev->id > upto)
			continue;
		if (ev->image_len / 3 * 4 > budget)
			break;
		budget -= ev->image_len / 3 * 4;
		with_data_from = i;
	}
	struct buffer json = {0};
	buffer_add(&json, "[", 1);
	for (size_t i = 0; i < room->recent_count; i++) {
		struct event read;
		room_recent_event(&h->rooms, room, i, &read);
		const struct event *ev = &read;
		if (ev->id > upto)
			continue;
		history_serialise(&json, ev, i < with_data_from);
		json.data[json.len - 1] = ','; /* each record ends in '\n' */
	}
	if (json.data == NULL)
		return NULL;
	if (json.len > 1)
		json.len--; /* the last ',' */
	buffer_add(&json, "]", 1);
	struct frame *f = NULL;
	if (json.data != NULL) {
		struct wire_msg m = {.type = WIRE_HISTORY, .room = {room->name, strlen(room->name)},
				     .text = {json.data, json.len}};
		f = wire_encode(&m);
	}
	buffer_free(&json);
	if (f != NULL)
		room_keep_history(&h->rooms, room, f, upto, clock_ms());
	return f;
}

/* Nothing but arrivals and departures after id `from` up to `upto`. */
static bool only_presence_since(const struct hub *h, const struct room *room, uint64_t from,
				uint64_t upto)
{
	for (size_t i = room->recent_count; i-- > 0;) {
		struct event read;
		room_recent_event(&h->rooms, room, i, &read);
		const struct event *ev = &read;
		if (ev->id <= from)
			return true;
		if (ev->id <= upto && event_has_text(ev))
			return false;
	}
	return true;
}

/* The room's history up to `visible` for c, as one HISTORY frame. Askers
 * who may see the same events share one frame. A frame built less than
 * ROOMS_FRAME_REUSE_MS ago also serves when only arrivals and departures
 * came since: a newcomer's history then lacks a few of those notices, and
 * a JOIN storm between big rooms costs no serialisation each. */
static void send_full_history(struct hub *h, struct conn *c, struct room *room,
			      uint64_t visible)
{
	uint64_t upto = 0; /* the newest event it may see (ids grow along the ring) */
	for (size_t i = room->recent_count; i-- > 0;) {
		uint64_t id = room_recent_id(&h->rooms, room, i);
		if (id <= visible) {
			upto = id;
			break;
		}
	}
	struct frame *kept = room->history_frame;
	bool fits = kept != NULL &&
		(room->history_upto == upto ||
		 (room->history_upto < upto &&
		  clock_ms() - room->history_built_ms < ROOMS_FRAME_REUSE_MS &&
		  only_presence_since(h, room, room->history_upto, upto)));
	conn_reply(c, fits ? frame_ref(kept) : history_frame(h, room, upto));
}

void binhistory_send(struct conn *c, struct room *room, uint64_t after_id)
{
	struct hub *h = c->set->hub;
	uint64_t visible = hub_visible_id(h, c, room);
	if (after_id > 0) {
		/* Its own messages it has shown already, as it sent them (the
		 * server never echoes them, so their ids are unknown to it). */
		for (size_t i = 0; i < room->recent_count; i++) {
			struct event read;
			room_recent_event(&h->rooms, room, i, &read);
			const struct event *ev = &read;
			bool own = event_has_text(ev) && ev->sender_id == c->user_id;
			if (ev->id > after_id && ev->id <= visible && !own)
				conn_reply(c, event_wire_frame(ev));
		}
		return;
	}
	send_full_history(h, c, room, visible);
}
