#include "jsonpeer.h"

#include <cJSON.h>
#include <errno.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "buffer.h"
#include "clock.h"
#include "commands.h"
#include "conn.h"
#include "hub.h"
#include "linereader.h"
#include "identities.h"
#include "jsonmsg.h"
#include "log.h"
#include "moderation.h"
#include "picture.h"
#include "sanitize.h"
#include "server_config.h"
#include "textproto.h"
#include "wire.h"

/* A message before the welcome: a hello is tiny. After it, a picture in
 * base64 (4/3 of its bytes) with room for the other fields. */
#define JSONPEER_MAX_HELLO (16u * 1024)
#define JSONPEER_HEADROOM 4096
/* The longest text it may say: the binary protocol's bound. */
#define JSONPEER_MAX_TEXT WIRE_MAX_TEXT
/* Events in a history reply, and the pictures' bytes travelling in it
 * (the newest first while they fit; the others come as their drawing). */
#define JSONPEER_HISTORY_PAGE 50
#define JSONPEER_HISTORY_IMAGE_BYTES (4u * 1024 * 1024)
/* Of a message, this much is shown in the console log. */
#define JSONPEER_LOGGED_BYTES 512
/* Unfinished messages (pictures on their way) server-wide, as the
 * binary protocol bounds its frames. */
#define JSONPEER_MAX_HELD (64u * 1024 * 1024)

static struct linereader *lines_of(struct conn *c)
{
	return c->proto_data;
}

/* ---- replies ------------------------------------------------------------ */

/* Sends the object and frees it. */
static void reply(struct conn *c, cJSON *o)
{
	char *text = o != NULL ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	if (text == NULL)
		return; /* out of memory: the peer misses one reply */
	size_t len = strlen(text);
	struct frame *f = frame_new(len + 1);
	if (f != NULL) {
		memcpy(f->data, text, len);
		f->data[len] = '\n';
	}
	free(text);
	conn_reply(c, f);
}

static cJSON *message(const char *type)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", type);
	return o;
}

/* Each error's code for the page, and the course's words. */
static const struct {
	const char *code;
	const char *words;
	bool detail;
} errors[CHAT_ERRORS] = {
	[CHAT_ERR_SERVER_FULL] = {"full", TEXT_ERR_SERVER_FULL, false},
	[CHAT_ERR_ADDRESS_FULL] = {"full", TEXT_ERR_ADDRESS_FULL, false},
	[CHAT_ERR_UNKNOWN_PROTOCOL] = {"protocol", TEXT_ERR_UNKNOWN_PROTOCOL, false},
	[CHAT_ERR_HANDSHAKE_TIMEOUT] = {"timeout", TEXT_ERR_HANDSHAKE_TIMEOUT, false},
	[CHAT_ERR_IDLE_TIMEOUT] = {"timeout", TEXT_ERR_IDLE_TIMEOUT, false},
	[CHAT_ERR_FLOODING] = {"flood", TEXT_ERR_FLOODING, false},
	[CHAT_ERR_FLOODED] = {"flood", TEXT_ERR_FLOODED, false},
	[CHAT_ERR_PSEUDO] = {"pseudo", "", true},
	[CHAT_ERR_ROOM] = {"room", "", true},
	[CHAT_ERR_ALREADY_HERE] = {"room", TEXT_ERR_ALREADY_IN_ROOM, true},
	[CHAT_ERR_IMAGE] = {"image", TEXT_ERR_IMAGE, true},
	[CHAT_ERR_IMAGE_FLOOD] = {"flood", TEXT_ERR_IMAGE_FLOOD, false},
	[CHAT_ERR_HELD_FULL] = {"flood", TEXT_ERR_HELD_FULL, false},
	[CHAT_ERR_REFUSED] = {"refused", "", true},
};

static void reply_error(struct conn *c, const char *code, const char *text)
{
	cJSON *o = message("error");
	cJSON_AddStringToObject(o, "code", code);
	cJSON_AddStringToObject(o, "text", text);
	reply(c, o);
}

/* An error, then c goes once it has read it. */
static void refuse(struct conn *c, const char *code, const char *text, const char *why)
{
	reply_error(c, code, text);
	conn_close_after_flush(c, why);
}

static void send_error(struct conn *c, enum chat_error e, const char *detail)
{
	char words[256];
	snprintf(words, sizeof(words), "%s%s", errors[e].words,
		 errors[e].detail && detail != NULL ? detail : "");
	reply_error(c, errors[e].code, words);
}

/* A notice from the server; room NULL: of no room. */
static void notice(struct conn *c, const char *kind, const char *room, const char *text)
{
	cJSON *o = message("info");
	cJSON_AddStringToObject(o, "kind", kind);
	if (room != NULL)
		cJSON_AddStringToObject(o, "room", room);
	cJSON_AddStringToObject(o, "text", text);
	reply(c, o);
}

static void send_info(struct conn *c, enum chat_info what, const char *detail)
{
	char text[160];
	switch (what) {
	case CHAT_INFO_IN_ROOM:
		snprintf(text, sizeof(text), TEXT_IN_ROOM, detail);
		notice(c, "room", detail, text);
		break;
	case CHAT_INFO_STOPPING:
		notice(c, "stopping", NULL, TEXT_SERVER_STOP);
		break;
	case CHAT_INFO_HELP:
		notice(c, "help", NULL, detail);
		break;
	case CHAT_INFO_LINE:
		notice(c, "line", NULL, detail);
		break;
	case CHAT_INFO_LEFT:
		snprintf(text, sizeof(text), TEXT_YOU_LEFT_ROOM, detail);
		notice(c, "left", detail, text);
		break;
	case CHAT_INFO_NOTICE:
		notice(c, "notice", NULL, detail);
		break;
	}
}

/* A private message: the text protocol's whole line, and the other end. */
static void send_private(struct conn *c, const struct chat_private *pm)
{
	char line[TEXT_MAX_PSEUDO + WIRE_MAX_TEXT + 64];
	snprintf(line, sizeof(line), pm->sent ? TEXT_PRIVATE_TO : TEXT_PRIVATE_FROM, pm->pseudo,
		 (int)pm->len, pm->text);
	cJSON *o = message("info");
	cJSON_AddStringToObject(o, "kind", "private");
	cJSON_AddStringToObject(o, "pseudo", pm->pseudo);
	cJSON_AddNumberToObject(o, "colour", pm->colour);
	cJSON_AddBoolToObject(o, "sent", pm->sent);
	cJSON_AddNumberToObject(o, "time", (double)pm->time_ms);
	cJSON_AddStringToObject(o, "text", line);
	reply(c, o);
}

/* What a /search found: the events as live ones are sent, newest first. */
static void send_found(struct conn *c, const char *query, const struct event *const *found,
		       size_t count, bool cut)
{
#define ADD_LITERAL(b, s) buffer_add((b), (s), sizeof(s) - 1)
	struct buffer json = {0};
	ADD_LITERAL(&json, "{\"type\":\"found\",\"cut\":");
	if (cut)
		ADD_LITERAL(&json, "true");
	else
		ADD_LITERAL(&json, "false");
	ADD_LITERAL(&json, ",\"events\":[");
	for (size_t i = 0; i < count; i++) {
		event_json(&json, found[i], 0);
		if (json.data != NULL)
			json.data[json.len - 1] = ','; /* each record ends in '\n' */
	}
	if (json.data != NULL && count > 0)
		json.len--;
	ADD_LITERAL(&json, "],\"query\":");
	cJSON *q = cJSON_CreateString(query);
	char *quoted = q != NULL ? cJSON_PrintUnformatted(q) : NULL;
	cJSON_Delete(q);
	if (quoted != NULL)
		buffer_add(&json, quoted, strlen(quoted));
	else
		ADD_LITERAL(&json, "\"\"");
	free(quoted);
	ADD_LITERAL(&json, "}\n");
#undef ADD_LITERAL
	conn_reply(c, json.data != NULL ? frame_copy(json.data, json.len) : NULL);
	buffer_free(&json);
}

static void send_list(struct conn *c, enum chat_list kind, const char *room,
		      const struct chat_entry *entries, size_t count)
{
	cJSON *o = message("list");
	cJSON_AddStringToObject(o, "kind", kind == CHAT_LIST_ROOMS ? "rooms" : "who");
	if (room != NULL)
		cJSON_AddStringToObject(o, "room", room);
	cJSON *list = cJSON_AddArrayToObject(o, "entries");
	for (size_t i = 0; i < count && list != NULL; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", entries[i].name);
		if (kind == CHAT_LIST_ROOMS)
			cJSON_AddNumberToObject(e, "count", (double)entries[i].count);
		else
			cJSON_AddNumberToObject(e, "colour", entries[i].colour);
		cJSON_AddItemToArray(list, e);
	}
	reply(c, o);
}

/* ---- history ------------------------------------------------------------ */

/* The room's events for c, as one "history" message:
 *  - after > 0: every event after that id (but its own, which its page
 *    showed as it sent them), and `truncated` when the room may have
 *    forgotten some of them;
 *  - before > 0: the last JSONPEER_HISTORY_PAGE before that id;
 *  - neither: the last JSONPEER_HISTORY_PAGE. `more`: older ones remain. */
static void send_events(struct conn *c, struct room *room, uint64_t after, uint64_t before)
{
	struct hub *h = c->set->hub;
	uint64_t visible = hub_visible_id(h, c, room);
	size_t first = room->recent_count, last = 0, picked = 0;
	for (size_t i = room->recent_count; i-- > 0;) {
		struct event read;
		room_recent_event(&h->rooms, room, i, &read);
		const struct event *ev = &read;
		if (ev->id > visible || (before > 0 && ev->id >= before))
			continue;
		if (after > 0 ? ev->id <= after : picked == JSONPEER_HISTORY_PAGE)
			break;
		if (picked++ == 0)
			last = i;
		first = i;
	}
	bool more = after == 0 && first < room->recent_count && first > 0;
	bool truncated = false;
	if (after > 0 && room->recent_count > 0) {
		/* The ring forgets its oldest first: full, and starting past
		 * the id asked for, it may have forgotten what followed it. */
		uint64_t oldest = room_recent_id(&h->rooms, room, 0);
		truncated = room->recent_count >= h->rooms.history_cap && oldest > after + 1;
	}
	struct buffer json = {0};
	char head[160];
	snprintf(head, sizeof(head), "{\"type\":\"history\",\"more\":%s,\"truncated\":%s,"
		 "\"after\":%llu,\"before\":%llu,\"room\":", more ? "true" : "false",
		 truncated ? "true" : "false", (unsigned long long)after,
		 (unsigned long long)before);
	buffer_add(&json, head, strlen(head));
	cJSON *name = cJSON_CreateString(room->name);
	char *quoted = name != NULL ? cJSON_PrintUnformatted(name) : NULL;
	cJSON_Delete(name);
	if (quoted != NULL)
		buffer_add(&json, quoted, strlen(quoted));
	free(quoted);
	buffer_add(&json, ",\"events\":[", 11);
	size_t budget = JSONPEER_HISTORY_IMAGE_BYTES;
	bool any = false;
	for (size_t i = first; picked > 0 && i <= last; i++) {
		struct event read;
		room_recent_event(&h->rooms, room, i, &read);
		const struct event *ev = &read;
		if (ev->id > visible || (before > 0 && ev->id >= before))
			continue;
		if (after > 0 && event_has_text(ev) && ev->sender_id == c->user_id)
			continue;
		size_t image = ev->image != NULL ? ev->image_len : 0;
		bool with_data = image <= budget;
		if (with_data)
			budget -= image;
		if (any)
			buffer_add(&json, ",", 1);
		event_json(&json, ev, with_data ? EVENT_IMAGE_KEEP_BYTES : 0);
		json.len--; /* its '\n' */
		any = true;
	}
	buffer_add(&json, "]}\n", 3);
	conn_reply(c, json.data != NULL ? frame_copy(json.data, json.len) : NULL);
	buffer_free(&json);
}

static void send_history(struct conn *c, struct room *room, uint64_t after_id)
{
	send_events(c, room, after_id, 0);
}

/* ---- what a message means ----------------------------------------------- */

static void welcome(struct conn *c, bool returning, const unsigned char *bytes)
{
	c->seen_line = true;
	c->hears = true;
	lines_of(c)->max_line = c->set->cfg->image_max_bytes / 3 * 4 + JSONPEER_HEADROOM;
	char token[2 * CONN_TOKEN_LEN + 1];
	for (size_t i = 0; i < CONN_TOKEN_LEN; i++)
		snprintf(token + 2 * i, 3, "%02x", bytes[i]);
	cJSON *o = message("welcome");
	cJSON_AddStringToObject(o, "pseudo", c->pseudo);
	cJSON_AddNumberToObject(o, "user", (double)c->user_id);
	cJSON_AddNumberToObject(o, "colour", c->colour);
	cJSON_AddStringToObject(o, "room", c->room->name);
	cJSON_AddStringToObject(o, "token", token);
	cJSON_AddBoolToObject(o, "returning", returning);
	reply(c, o);
}

/* A resume token (hex) brings back the pseudo, ID, colour and room, and
 * the events after `after`; it is spent, the welcome carries a new one. */
static void resume(struct hub *h, struct conn *c, const char *hex, size_t len, uint64_t after)
{
	unsigned char token[CONN_TOKEN_LEN];
	bool valid = len == 2 * CONN_TOKEN_LEN;
	for (size_t i = 0; valid && i < CONN_TOKEN_LEN; i++) {
		unsigned hi, lo;
		valid = sscanf(hex + 2 * i, "%1x%1x", &hi, &lo) == 2;
		token[i] = (unsigned char)(hi << 4 | lo);
	}
	struct session *s = valid ? users_token_find(&h->users, token, sizeof(token), clock_ms())
				  : NULL;
	if (s == NULL || hub_pseudo_taken(h, s->skeleton)) {
		reply_error(c, "token", TEXT_ERR_TOKEN);
		return;
	}
	const char *banned = moderation_banned(c, NULL);
	if (banned != NULL) {
		char why[160];
		snprintf(why, sizeof(why), TEXT_ERR_BANNED, banned);
		refuse(c, "refused", why, "banned");
		return;
	}
	unsigned char fresh[CONN_TOKEN_LEN];
	if (getrandom(fresh, sizeof(fresh), 0) != (ssize_t)sizeof(fresh)) {
		refuse(c, "state", TEXT_ERR_NO_RANDOM, "getrandom failed");
		return;
	}
	struct session was;
	c->session = users_token_resume(&h->users, s, fresh, &was);
	s = &was;
	const char *cause;
	struct room *room = hub_room(h, c, s->room, strlen(s->room), &cause);
	if (room == NULL)
		room = h->rooms.default_room;
	hub_place(h, c, room);
	hub_name(h, c, s->pseudo, strlen(s->pseudo), s->skeleton, s->user_id, s->colour);
	log_info("%s is back as %s", conn_addr(c), c->pseudo);
	welcome(c, true, fresh);
	send_events(c, room, after, 0);
	hub_publish(h, c->room, &(struct event){
		.kind = EVENT_RETURN, .sender_id = c->user_id,
		.pseudo = c->pseudo, .colour = c->colour}, c->id);
}

static void hello(struct hub *h, struct conn *c, const struct jsonmsg *m)
{
	size_t len = 0, room_len = 0;
	const char *token = jsonmsg_text(m, "token", &len);
	if (token != NULL) {
		resume(h, c, token, len, jsonmsg_id(m, "after"));
		return;
	}
	const char *pseudo = jsonmsg_text(m, "pseudo", &len);
	const char *typed = jsonmsg_text(m, "room", &room_len);
	char skeleton[NAMES_SKELETON_MAX], why[160];
	if (pseudo == NULL) {
		send_error(c, CHAT_ERR_PSEUDO, "pseudo manquant");
		return;
	}
	if (hub_check_pseudo(h, c, pseudo, len, skeleton, why, sizeof(why)) < 0) {
		send_error(c, CHAT_ERR_PSEUDO, why);
		return;
	}
	const char *banned = moderation_banned(c, NULL);
	if (banned != NULL) {
		snprintf(why, sizeof(why), TEXT_ERR_BANNED, banned);
		refuse(c, "refused", why, "banned");
		return;
	}
	/* A page proves no identity (yet): an owned pseudo is not for it. */
	if (identities_owner(&h->identities, skeleton) != NULL) {
		snprintf(why, sizeof(why), TEXT_ERR_PSEUDO_OWNED, (int)len, pseudo);
		send_error(c, CHAT_ERR_PSEUDO, why);
		return;
	}
	const char *cause;
	struct room *room = typed != NULL && room_len > 0
		? hub_room(h, c, typed, room_len, &cause) : h->rooms.default_room;
	if (room == NULL) {
		send_error(c, CHAT_ERR_ROOM, cause);
		return;
	}
	unsigned char fresh[CONN_TOKEN_LEN];
	if (getrandom(fresh, sizeof(fresh), 0) != (ssize_t)sizeof(fresh)) {
		refuse(c, "state", TEXT_ERR_NO_RANDOM, "getrandom failed");
		return;
	}
	/* A session is kept for every page: it resumes after a drop. */
	uint64_t user_id = hub_new_user_id();
	int colour = hub_pick_colour(h, -1);
	if (users_session_open(&h->users, fresh, conn_addr_key(c), &c->session) < 0) {
		reply_error(c, "full", TEXT_ERR_NO_SESSION);
		return;
	}
	hub_place(h, c, room);
	hub_name(h, c, pseudo, len, skeleton, user_id, colour);
	log_info("%s joined the chatroom as %s (web)", conn_addr(c), c->pseudo);
	welcome(c, false, fresh);
	send_events(c, room, 0, 0);
	hub_publish_presence(h, c, EVENT_JOIN);
	hub_tell_topic(c, room);
}

static void say(struct hub *h, struct conn *c, const char *text, size_t len)
{
	size_t n = sanitize_text(text, len, h->clean, h->clean_cap, SANITIZE_KEEP_NEWLINES);
	char shown[JSONPEER_LOGGED_BYTES];
	size_t shown_len = sanitize_text(text, len, shown, sizeof(shown), 0);
	log_info(TEXT_RECEIVED, conn_ip(c), c->port, (int)shown_len, shown);
	if (n > 0 && !moderation_muted(c) && !picture_hold_message(c, h->clean, n, 0))
		hub_say(h, c, c->room, h->clean, n);
}

/* A command line of the server's table ("/who", "/join x"), as a text
 * peer types it. */
static void command(struct hub *h, struct conn *c, const struct jsonmsg *m)
{
	size_t len = 0;
	const char *line = jsonmsg_text(m, "line", &len);
	const struct command *cmd = NULL;
	const char *arg = NULL;
	size_t arg_len = 0;
	if (line != NULL && len > 0 && line[0] == '/' &&
	    commands_find(line, len, &cmd, &arg, &arg_len) == COMMANDS_FOUND) {
		cmd->run(h, c, arg, arg_len);
		return;
	}
	char help[1024];
	commands_help(TEXT_COMMANDS, help, sizeof(help));
	reply_error(c, "command", help);
}

/* A room's events only for who is in it. */
static void history_ask(struct hub *h, struct conn *c, const struct jsonmsg *m)
{
	size_t len = 0;
	const char *typed = jsonmsg_text(m, "room", &len);
	struct room *room = typed != NULL ? hub_find_room(h, typed, len) : c->room;
	if (room != c->room) {
		reply_error(c, "room", TEXT_ERR_NOT_IN_ROOM);
		return;
	}
	send_events(c, room, jsonmsg_id(m, "after"), jsonmsg_id(m, "before"));
}

static void picture(struct hub *h, struct conn *c, const struct jsonmsg *m)
{
	size_t len = 0;
	const char *b64 = jsonmsg_text(m, "data", &len);
	if (b64 == NULL || len == 0) {
		send_error(c, CHAT_ERR_IMAGE, "pas de données");
		return;
	}
	gsize n = 0;
	guchar *bytes = g_base64_decode(b64, &n);
	picture_receive(h, c, (const char *)bytes, n);
	g_free(bytes);
}

/* What a message costs (conn.h); a command its row's cost. Pictures are
 * charged apart, with their bytes (picture.c). */
static unsigned cost_of(const char *type, const struct jsonmsg *m)
{
	if (strcmp(type, "history") == 0)
		return jsonmsg_id(m, "after") > 0 ? CONN_COST_GAP : CONN_COST_JOIN;
	if (strcmp(type, "command") == 0) {
		size_t len = 0;
		const char *line = jsonmsg_text(m, "line", &len);
		const struct command *cmd = NULL;
		const char *arg;
		size_t arg_len;
		if (line != NULL && commands_find(line, len, &cmd, &arg, &arg_len) == COMMANDS_FOUND)
			return cmd->cost;
	}
	return CONN_COST_LINE;
}

static void on_message(struct conn *c, const char *line, size_t len)
{
	struct hub *h = c->set->hub;
	c->last_heard_ms = clock_ms();
	struct jsonmsg msg;
	const struct jsonmsg *m = &msg;
	if (jsonmsg_parse(&msg, line, len) < 0) {
		/* Costs like any message, so a stream of junk is a flood. */
		if (conn_charge(c, CONN_COST_LINE, len))
			reply_error(c, "json", "message JSON invalide");
		return;
	}
	const char *type = msg.type;
	bool is_picture = strcmp(type, "image") == 0;
	size_t text_len = 0;
	const char *text = jsonmsg_text(m, "text", &text_len);
	if (!c->has_pseudo && strcmp(type, "hello") != 0 && strcmp(type, "ping") != 0) {
		refuse(c, "state", "dites d'abord bonjour (hello)", "message before hello");
	} else if (is_picture || conn_charge(c, cost_of(type, m), text != NULL ? text_len : 0)) {
		if (strcmp(type, "hello") == 0 && c->has_pseudo)
			refuse(c, "state", TEXT_ERR_SECOND_HELLO, "second hello");
		else if (strcmp(type, "hello") == 0)
			hello(h, c, m);
		else if (strcmp(type, "say") == 0 && text != NULL && text_len <= JSONPEER_MAX_TEXT)
			say(h, c, text, text_len);
		else if (strcmp(type, "say") == 0)
			reply_error(c, "text", "texte manquant ou trop long");
		else if (strcmp(type, "command") == 0)
			command(h, c, m);
		else if (strcmp(type, "history") == 0)
			history_ask(h, c, m);
		else if (is_picture)
			picture(h, c, m);
		else if (strcmp(type, "ping") == 0)
			reply(c, message("pong"));
		/* Any other type: a later version's, skipped. */
	}
	jsonmsg_free(&msg);
}

/* ---- bytes in: one message a line (web.c ends each with '\n') ----------- */

static void on_data(struct conn *c, const char *data, size_t len)
{
	struct linereader *lines = lines_of(c);
	linereader_feed(lines, data, len);
	while (!c->closing && c->doom == CONN_FINE) {
		const char *line;
		size_t n;
		int rc = linereader_next(lines, &line, &n);
		if (rc == 0)
			break;
		if (rc < 0) {
			char why[96];
			snprintf(why, sizeof(why), "message trop long (plus de %zu octets)",
				 lines->max_line);
			refuse(c, rc == -E2BIG ? "too_long" : "memory",
			       rc == -E2BIG ? why : TEXT_ERR_NO_MEMORY,
			       rc == -E2BIG ? "message too long" : "out of memory");
			return;
		}
		on_message(c, line, n);
	}
	if (!c->closing && conn_hold_input(c, lines->partial_cap) > JSONPEER_MAX_HELD)
		refuse(c, "full", TEXT_ERR_FRAMES_AT_ONCE, "too many pictures on their way");
}

static int on_start(struct conn *c)
{
	struct linereader *lines = malloc(sizeof(*lines));
	if (lines == NULL)
		return -ENOMEM;
	linereader_init(lines, JSONPEER_MAX_HELLO);
	c->proto_data = lines;
	c->hears = false; /* nothing before its welcome */
	conn_drop_unsent(c);
	return 0;
}

static void on_stop(struct conn *c)
{
	if (c->proto_data == NULL)
		return;
	linereader_free(lines_of(c));
	free(c->proto_data);
	c->proto_data = NULL;
}

const struct proto_ops jsonpeer_proto = {
	.name = "json",
	.format = EVENT_FORMAT_JSON,
	.on_start = on_start,
	.on_stop = on_stop,
	.on_data = on_data,
	.send_history = send_history,
	.send_error = send_error,
	.send_info = send_info,
	.send_list = send_list,
	.send_private = send_private,
	.send_found = send_found,
};
