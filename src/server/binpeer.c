#include "binpeer.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

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

void binpeer_send_history(struct hub *h, struct conn *c, struct room *room,
			  uint64_t after_id)
{
	uint64_t visible = hub_visible_id(h, c, room);
	if (after_id > 0) {
		/* Its own messages it has shown already, as it sent them (the
		 * server never echoes them, so their ids are unknown to it). */
		for (size_t i = 0; i < room->recent_count; i++) {
			const struct event *ev = room_recent(&h->rooms, room, i);
			bool own = (ev->kind == EVENT_MESSAGE || ev->kind == EVENT_IMAGE) &&
				   ev->sender_id == c->user_id;
			if (ev->id > after_id && ev->id <= visible && !own)
				hub_reply(c, event_wire_frame(ev));
		}
		return;
	}
	/* The course asks for the history as JSON: the history file's own
	 * records, in an array. */
	/* Pictures travel in it too, the newest first while they fit. */
	size_t with_data_from = room->recent_count, budget = BINPEER_HISTORY_IMAGE_BYTES;
	for (size_t i = room->recent_count; i-- > 0;) {
		const struct event *ev = room_recent(&h->rooms, room, i);
		if (ev->image == NULL || ev->id > visible)
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
		if (ev->id > visible)
			continue;
		history_serialise(&json, ev, i < with_data_from);
		json.data[json.len - 1] = ','; /* each record ends in '\n' */
	}
	if (json.data == NULL)
		return;
	if (json.len > 1)
		json.len--; /* the last ',' */
	buffer_add(&json, "]", 1);
	if (json.data != NULL) {
		struct wire_msg m = {.type = WIRE_HISTORY, .room = str(room->name),
				     .text = {json.data, json.len}};
		send_msg(c, &m);
	}
	buffer_free(&json);
}

static void welcome(struct conn *c, bool returning)
{
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
			     .time_ms = (uint64_t)hub_now_ms(), .colour = -1,
			     .room = str(c->room->name), .text = str(text)};
	send_msg(c, &m);
}

/* A resume token brings back the pseudo, ID, colour and room it was given
 * with, and the events missed since the id the client saw last. */
static void resume(struct hub *h, struct conn *c, const struct wire_msg *m)
{
	struct session s;
	int rc = users_token_resume(&h->users, (const unsigned char *)m->token.ptr,
				    m->token.len, hub_now_ms(), &s);
	char skeleton[NAMES_SKELETON_MAX], why[96];
	if (rc == 0 && hub_check_pseudo(h, s.pseudo, strlen(s.pseudo), skeleton, why,
					sizeof(why)) < 0) {
		users_token_away(&h->users, s.token, s.room, hub_now_ms());
		rc = -EEXIST;
	}
	if (rc < 0) {
		hub_error(c, WIRE_ERR_TOKEN, rc == -EBUSY
			  ? "cette session est déjà ouverte ailleurs"
			  : "jeton de reprise inconnu ou expiré");
		return;
	}
	const char *cause;
	struct room *room = hub_room(h, s.room, strlen(s.room), &cause);
	if (room == NULL)
		room = h->rooms.default_room;
	memcpy(c->token, s.token, sizeof(c->token));
	hub_place(h, c, room);
	c->live_since_event = h->last_event_id;
	hub_name(h, c, s.pseudo, strlen(s.pseudo), skeleton, s.user_id, s.colour);
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
	char skeleton[NAMES_SKELETON_MAX], why[96];
	if (hub_check_pseudo(h, m->pseudo.ptr, m->pseudo.len, skeleton, why, sizeof(why)) < 0) {
		hub_error(c, WIRE_ERR_PSEUDO, why); /* it may try another */
		return;
	}
	const char *cause;
	struct room *room = hub_room(h, m->room.ptr, m->room.len, &cause);
	if (room == NULL) {
		hub_error(c, WIRE_ERR_ROOM, cause);
		return;
	}
	if (getrandom(c->token, sizeof(c->token), 0) != (ssize_t)sizeof(c->token)) {
		hub_refuse(c, WIRE_ERR_STATE, "pas de hasard disponible", "getrandom failed");
		return;
	}
	hub_place(h, c, room);
	/* Nothing reached it before its welcome: its history is everything. */
	c->live_since_event = h->last_event_id;
	hub_name(h, c, m->pseudo.ptr, m->pseudo.len, skeleton, 0, -1);
	if (users_session_open(&h->users, c->token, c->user_id, c->pseudo, c->colour,
			       room->name) < 0)
		log_warn("no session kept for %s: it cannot resume", c->pseudo);
	log_info("%s joined the chatroom as %s", c->addr, c->pseudo);
	welcome(c, false);
	binpeer_send_history(h, c, room, 0);
	hub_publish_presence(h, c, EVENT_JOIN);
}

static void say(struct hub *h, struct conn *c, const struct wire_msg *m)
{
	if (!hub_within_rate(h, c, m->text.len))
		return;
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

static void list_rooms(struct hub *h, struct conn *c)
{
	struct wire_entry entries[256];
	size_t n = 0;
	for (const struct room *r = h->rooms.list; r != NULL && n < 256; r = r->next)
		entries[n++] = (struct wire_entry){str(r->name), (uint32_t)hub_visible_members(r)};
	struct wire_msg m = {.type = WIRE_ROOMS, .entries = entries, .entry_count = n};
	send_msg(c, &m);
}

static void list_members(struct conn *c)
{
	struct wire_entry entries[512];
	size_t n = 0;
	for (const struct conn *p = c->room->members; p != NULL && n < 512; p = p->member_next)
		if (p->has_pseudo)
			entries[n++] = (struct wire_entry){str(p->pseudo), (uint32_t)(p->colour + 1)};
	struct wire_msg m = {.type = WIRE_WHO, .room = str(c->room->name), .entries = entries,
			     .entry_count = n};
	send_msg(c, &m);
}

static void join(struct hub *h, struct conn *c, const struct wire_msg *m)
{
	const char *cause;
	struct room *to = hub_room(h, m->room.ptr, m->room.len, &cause);
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

void binpeer_on_frame(struct hub *h, struct conn *c, const struct wire_msg *m)
{
	/* Before its welcome a peer may only say hello, ask the rooms (to
	 * choose one) or ping. */
	if (!c->has_pseudo && m->type != WIRE_HELLO && m->type != WIRE_ROOMS_ASK &&
	    m->type != WIRE_PING && m->type != WIRE_UNKNOWN) {
		hub_refuse(c, WIRE_ERR_STATE, "dites d'abord bonjour (HELLO)", "frame before hello");
		return;
	}
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
	case WIRE_HISTORY_ASK: {
		const char *cause;
		struct room *room = m->room.len ? hub_room(h, m->room.ptr, m->room.len, &cause) : c->room;
		if (room == NULL)
			hub_error(c, WIRE_ERR_ROOM, cause);
		else
			binpeer_send_history(h, c, room, m->id);
		break;
	}
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
