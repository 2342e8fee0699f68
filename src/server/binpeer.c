#include "binpeer.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "clock.h"
#include "appender.h"
#include "conn.h"
#include "hub.h"
#include "log.h"
#include "picture.h"
#include "sanitize.h"
#include "wire.h"

static struct wire_str str(const char *s)
{
	return (struct wire_str){s, strlen(s)};
}

static void send_msg(struct conn *c, const struct wire_msg *m)
{
	hub_reply(c, wire_encode(m));
}

/* Base64 of pictures in one HISTORY frame: well inside WIRE_MAX_FRAME. */
#define BINPEER_HISTORY_IMAGE_BYTES (4u * 1024 * 1024)

/* The room's HISTORY frame of its events up to upto, built anew. */
static struct frame *history_frame(struct hub *h, struct room *room, uint64_t upto)
{
	/* The course asks for the history as JSON: the history file's own
	 * records, in an array. */
	/* Pictures travel in it too, the newest first while they fit. */
	size_t with_data_from = room->recent_count, budget = BINPEER_HISTORY_IMAGE_BYTES;
	for (size_t i = room->recent_count; i-- > 0;) {
		const struct event *ev = room_recent(&h->rooms, room, i);
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
		const struct event *ev = room_recent(&h->rooms, room, i);
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
		struct wire_msg m = {.type = WIRE_HISTORY, .room = str(room->name),
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
		const struct event *ev = room_recent(&h->rooms, room, i);
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
		uint64_t id = room_recent(&h->rooms, room, i)->id;
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
	hub_reply(c, fits ? frame_ref(kept) : history_frame(h, room, upto));
}

void binpeer_send_history(struct hub *h, struct conn *c, struct room *room,
			  uint64_t after_id)
{
	uint64_t visible = hub_visible_id(h, c, room);
	if (after_id > 0) {
		/* Its own messages it has shown already, as it sent them (the
		 * server never echoes them, so their ids are unknown to it). */
		for (size_t i = 0; i < room->recent_count; i++) {
			const struct event *ev = room_recent(&h->rooms, room, i);
			bool own = event_has_text(ev) &&
				   ev->sender_id == c->user_id;
			if (ev->id > after_id && ev->id <= visible && !own)
				hub_reply(c, event_wire_frame(ev));
		}
		return;
	}
	send_full_history(h, c, room, visible);
}

static void welcome(struct conn *c, bool returning)
{
	c->seen_line = true; /* its handshake is done */
	conn_allow_pictures(c);
	struct wire_msg m = {
		.type = WIRE_WELCOME,
		.version = WIRE_VERSION,
		.user_id = c->user_id,
		.colour = (int16_t)c->colour,
		.returning = returning,
		.token = {(const char *)c->token, sizeof(c->token)},
		.pseudo = str(c->pseudo),
		.room = str(c->room->name),
	};
	send_msg(c, &m);
}

static void info(struct conn *c, const char *text)
{
	struct wire_msg m = {.type = WIRE_NOTICE, .kind = WIRE_NOTICE_INFO,
			     .time_ms = (uint64_t)clock_wall_ms(), .colour = -1,
			     .room = str(c->room->name), .text = str(text)};
	send_msg(c, &m);
}

/* Every token failure reads the same: a token holder learns nothing of
 * its owner (online or not). */
static const char token_refused[] = "jeton de reprise inconnu ou expiré";

/* A resume token brings back the pseudo, ID, colour and room it was given
 * with, and the events missed since the id the client saw last. The token
 * is spent: the WELCOME carries a new one. A refusal changes nothing. */
static void resume(struct hub *h, struct conn *c, const struct wire_msg *m)
{
	struct session *s = users_token_find(&h->users, (const unsigned char *)m->token.ptr,
					     m->token.len, clock_ms());
	/* Its pseudo is held for it; somebody present with a look-alike could
	 * only come from a skeleton that changed meanwhile. */
	if (s == NULL || hub_pseudo_taken(h, s->skeleton)) {
		hub_error(c, WIRE_ERR_TOKEN, token_refused);
		return;
	}
	if (getrandom(c->token, sizeof(c->token), 0) != (ssize_t)sizeof(c->token)) {
		hub_refuse(c, WIRE_ERR_STATE, "pas de hasard disponible", "getrandom failed");
		return;
	}
	users_token_resume(&h->users, s, c->token);
	const char *cause;
	struct room *room = hub_room(h, c, s->room, strlen(s->room), &cause);
	if (room == NULL)
		room = h->rooms.default_room;
	hub_place(h, c, room);
	c->live_since_event = h->last_event_id;
	hub_name(h, c, s->pseudo, strlen(s->pseudo), s->skeleton, s->user_id, s->colour);
	log_info("%s is back as %s", c->addr, c->pseudo);
	welcome(c, true);
	binpeer_send_history(h, c, room, m->id);
	char back[80];
	snprintf(back, sizeof(back), "Welcome back %s !", c->pseudo);
	info(c, back);
	hub_publish(h, c->room, &(struct event){
		.kind = EVENT_RETURN, .sender_id = c->user_id,
		.pseudo = c->pseudo, .colour = c->colour}, c->id);
}

static void hello(struct hub *h, struct conn *c, const struct wire_msg *m)
{
	if (c->has_pseudo) {
		hub_refuse(c, WIRE_ERR_STATE, "déjà connecté", "second hello");
		return;
	}
	if (m->version != WIRE_VERSION) {
		hub_refuse(c, WIRE_ERR_VERSION, "version du protocole inconnue (ce serveur parle la 1)",
			   "wrong protocol version");
		return;
	}
	if (m->token.len > 0) {
		resume(h, c, m);
		return;
	}
	char skeleton[NAMES_SKELETON_MAX], why[160];
	if (hub_check_pseudo(h, c, m->pseudo.ptr, m->pseudo.len, skeleton, why,
			     sizeof(why)) < 0) {
		hub_error(c, WIRE_ERR_PSEUDO, why); /* it may try another */
		return;
	}
	const char *cause;
	struct room *room = hub_room(h, c, m->room.ptr, m->room.len, &cause);
	if (room == NULL) {
		hub_error(c, WIRE_ERR_ROOM, cause);
		return;
	}
	if (getrandom(c->token, sizeof(c->token), 0) != (ssize_t)sizeof(c->token)) {
		hub_refuse(c, WIRE_ERR_STATE, "pas de hasard disponible", "getrandom failed");
		return;
	}
	/* A session is kept for every binary user, or it is not let in: its
	 * client counts on resuming. */
	char pseudo[TEXT_MAX_PSEUDO + 1];
	snprintf(pseudo, sizeof(pseudo), "%.*s", (int)m->pseudo.len, m->pseudo.ptr);
	uint64_t user_id = hub_new_user_id();
	int colour = hub_pick_colour(h, -1);
	if (users_session_open(&h->users, c->token, user_id, pseudo, skeleton, colour,
			       room->name, c->addr_key) < 0) {
		log_warn("no session could be kept for %s (%s)", pseudo, c->addr);
		hub_error(c, WIRE_ERR_FULL, "plus de place pour une session, réessayez plus tard");
		return;
	}
	hub_place(h, c, room);
	/* Nothing reached it before its welcome: its history is everything. */
	c->live_since_event = h->last_event_id;
	hub_name(h, c, m->pseudo.ptr, m->pseudo.len, skeleton, user_id, colour);
	log_info("%s joined the chatroom as %s", c->addr, c->pseudo);
	welcome(c, false);
	binpeer_send_history(h, c, room, 0);
	hub_publish_presence(h, c, EVENT_JOIN);
}

/* Charged in binpeer_on_frame, with its bytes. */
static void say(struct hub *h, struct conn *c, const struct wire_msg *m)
{
	/* Several lines are one message; nothing else unsafe goes through. */
	size_t n = sanitize_text(m->text.ptr, m->text.len, h->clean, h->clean_cap,
				 SANITIZE_KEEP_NEWLINES);
	char shown[512];
	size_t shown_len = sanitize_text(m->text.ptr, m->text.len, shown, sizeof(shown), 0);
	log_info(TEXT_RECEIVED, c->ip, c->port, (int)shown_len, shown);
	if (!picture_hold_message(c, h->clean, n))
		binpeer_publish_message(h, c, c->room, h->clean, n);
}

void binpeer_publish_message(struct hub *h, struct conn *c, struct room *room,
			     const char *text, size_t len)
{
	struct event ev = {
		.kind = EVENT_MESSAGE,
		.sender_id = c->user_id,
		.pseudo = c->pseudo,
		.colour = c->colour,
		.text = text,
		.text_len = len,
	};
	hub_publish(h, room, &ev, c->id);
}

#define BINPEER_LIST_MAX 256

static void list_rooms(struct hub *h, struct conn *c)
{
	const struct room *rooms[BINPEER_LIST_MAX];
	struct wire_entry entries[BINPEER_LIST_MAX];
	size_t n = rooms_listing(&h->rooms, rooms, BINPEER_LIST_MAX);
	for (size_t i = 0; i < n; i++)
		entries[i] = (struct wire_entry){str(rooms[i]->name),
						   (uint32_t)hub_visible_members(rooms[i])};
	struct wire_msg m = {.type = WIRE_ROOMS, .entries = entries, .entry_count = n};
	send_msg(c, &m);
}

/* Everybody who reads the room: named peers with their colour, anonymous
 * text peers by their "{IP}:{Port}" label, without one (colour -1). A
 * binary peer before its welcome reads nothing. */
static void list_members(struct conn *c)
{
	struct wire_entry entries[512];
	size_t n = 0;
	const struct conn *p;
	LIST_FOREACH(p, &c->room->members, member_link) {
		if (n == 512)
			break;
		if (p->has_pseudo || p->proto != CONN_BINARY)
			entries[n++] = (struct wire_entry){str(conn_label(p)),
							   (uint32_t)(p->colour + 1)};
	}
	struct wire_msg m = {.type = WIRE_WHO, .room = str(c->room->name), .entries = entries,
			     .entry_count = n};
	send_msg(c, &m);
}

static void join(struct hub *h, struct conn *c, const struct wire_msg *m)
{
	const char *cause;
	struct room *to = hub_room(h, c, m->room.ptr, m->room.len, &cause);
	if (to == NULL) {
		hub_error(c, WIRE_ERR_ROOM, cause);
		return;
	}
	if (to == c->room) {
		hub_error(c, WIRE_ERR_ROOM, "vous êtes déjà dans ce salon");
		return;
	}
	hub_move(h, c, to);
	hub_publish_presence(h, c, EVENT_JOIN);
}

/* A room's history only for who is in it: nobody reads (or polls) a room
 * without being counted there, and asking makes no room. */
static void history_ask(struct hub *h, struct conn *c, const struct wire_msg *m)
{
	struct room *room = m->room.len ? hub_find_room(h, m->room.ptr, m->room.len) : c->room;
	if (room != c->room) {
		hub_error(c, WIRE_ERR_ROOM, "vous n'êtes pas dans ce salon");
		return;
	}
	binpeer_send_history(h, c, room, m->id);
}

/* What a frame costs its sender (hub.h): pictures are charged apart,
 * with their bytes (picture.c). */
static unsigned frame_cost(const struct wire_msg *m)
{
	switch (m->type) {
	case WIRE_ROOMS_ASK:
	case WIRE_WHO_ASK:
		return HUB_COST_LIST;
	case WIRE_JOIN:
		return HUB_COST_JOIN;
	case WIRE_HISTORY_ASK:
		return m->id == 0 ? HUB_COST_HISTORY : HUB_COST_GAP;
	default:
		return HUB_COST_LINE;
	}
}

void binpeer_on_frame(struct hub *h, struct conn *c, const struct wire_msg *m)
{
	/* Before its welcome a peer may only say hello, ask the rooms (to
	 * choose one) or ping. */
	if (!c->has_pseudo && m->type != WIRE_HELLO && m->type != WIRE_ROOMS_ASK &&
	    m->type != WIRE_PING && m->type != WIRE_UNKNOWN) {
		hub_refuse(c, WIRE_ERR_STATE, "dites d'abord bonjour (HELLO)", "frame before hello");
		return;
	}
	/* Every frame costs, whatever it is: refused ones too. */
	if (m->type != WIRE_IMAGE &&
	    !hub_charge(h, c, frame_cost(m), m->type == WIRE_SAY ? m->text.len : 0))
		return;
	switch (m->type) {
	case WIRE_HELLO:
		hello(h, c, m);
		break;
	case WIRE_SAY:
		say(h, c, m);
		break;
	case WIRE_ROOMS_ASK:
		list_rooms(h, c);
		break;
	case WIRE_WHO_ASK:
		list_members(c);
		break;
	case WIRE_JOIN:
		join(h, c, m);
		break;
	case WIRE_HISTORY_ASK:
		history_ask(h, c, m);
		break;
	case WIRE_PING: {
		struct wire_msg pong = {.type = WIRE_PONG, .nonce = m->nonce};
		send_msg(c, &pong);
		break;
	}
	case WIRE_PONG:
	case WIRE_UNKNOWN:
		break; /* a later version's frame: skipped */
	case WIRE_IMAGE:
		picture_receive(h, c, m);
		break;
	default:
		hub_refuse(c, WIRE_ERR_STATE, "trame réservée au serveur", "server-only frame");
		break;
	}
}
