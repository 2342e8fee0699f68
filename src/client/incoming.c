/*
 * incoming: what the server says, made into lines for the display
 * (chatline.h). The server is not trusted: every string it sends is
 * sanitised before it is shown, stored or logged, and every number is
 * brought within its range before a cast (security review M2, L5).
 */
#include <cJSON.h>
#include <glib.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatpicture.h"
#include "client.h"
#include "i18n.h"
#include "sanitize.h"

/* The server's default room: its arrivals use the course's wording. */
#define DEFAULT_ROOM "general"

/* Sanitises a network string into app->clean at `at`; returns its length. */
static size_t clean(struct client_app *app, size_t at, struct wire_str s, unsigned flags)
{
	return sanitize_text(s.ptr, s.len, app->clean + at, sizeof(app->clean) - at, flags);
}

/* Event ids and times (ms) are below 2^53, exact in JSON (docs/protocol.md). */
#define MAX_EXACT 9007199254740992.0

/* A server's time, 0 (now) past any sensible date; a colour, -1 (none)
 * outside the xterm-256 palette. */
static int64_t sane_time(uint64_t ms)
{
	return ms <= (uint64_t)MAX_EXACT ? (int64_t)ms : 0;
}

static int sane_colour(int colour)
{
	return colour >= -1 && colour <= 255 ? colour : -1;
}

void incoming_event(struct client_app *app, enum wire_type type, uint8_t kind,
		    uint64_t id, uint64_t time_ms, int colour, struct wire_str pseudo,
		    struct wire_str room, struct wire_str text, bool history)
{
	if (id > app->last_event_id)
		app->last_event_id = id;
	size_t p = clean(app, 0, pseudo, 0);
	size_t r = clean(app, p, room, 0);
	char *who = app->clean, *where = app->clean + p;
	struct chat_line line = {.time_ms = sane_time(time_ms), .colour = sane_colour(colour),
				 .history = history};
	char notice[200];
	if (type == WIRE_MESSAGE) {
		size_t t = clean(app, p + r, text, SANITIZE_KEEP_NEWLINES);
		line.kind = CHAT_MESSAGE;
		line.pseudo = who;
		line.pseudo_len = p;
		line.text = app->clean + p + r;
		line.text_len = t;
		client_show(app, &line);
		return;
	}
	bool in_default = r == strlen(DEFAULT_ROOM) && memcmp(where, DEFAULT_ROOM, r) == 0;
	int n;
	switch (kind) {
	case WIRE_NOTICE_JOIN:
		n = in_default ? snprintf(notice, sizeof(notice), _("Annonce : %.*s a rejoint la chatroom"), (int)p, who)
			       : snprintf(notice, sizeof(notice), _("Annonce : %.*s a rejoint le salon %.*s"), (int)p, who, (int)r, where);
		break;
	case WIRE_NOTICE_LEAVE:
		n = in_default ? snprintf(notice, sizeof(notice), _("Annonce : %.*s a quitté la chatroom"), (int)p, who)
			       : snprintf(notice, sizeof(notice), _("Annonce : %.*s a quitté le salon %.*s"), (int)p, who, (int)r, where);
		break;
	case WIRE_NOTICE_RETURN:
		n = snprintf(notice, sizeof(notice), _("%.*s est de retour !"), (int)p, who);
		break;
	default:
		n = (int)sanitize_text(text.ptr, text.len, notice, sizeof(notice) - 1, 0);
		break;
	}
	line.kind = CHAT_NOTICE;
	line.text = notice;
	line.text_len = n < 0 ? 0 : (size_t)n < sizeof(notice) ? (size_t)n : sizeof(notice) - 1;
	client_show(app, &line);
}

/* Someone's picture: checked and decoded like one we send; when it
 * cannot be (or came without its bytes) what the server drew instead. */
void incoming_picture(struct client_app *app, uint64_t id, uint64_t time_ms, int colour,
		      struct wire_str pseudo, const void *data, size_t len, int width,
		      int height, struct wire_str drawing, bool history)
{
	if (id > app->last_event_id)
		app->last_event_id = id;
	size_t p = clean(app, 0, pseudo, 0);
	char head[160];
	snprintf(head, sizeof(head), _(" a envoyé une image (%d×%d) :"), width, height);
	struct chat_line line = {.kind = CHAT_IMAGE, .time_ms = sane_time(time_ms),
				 .colour = sane_colour(colour), .pseudo = app->clean, .pseudo_len = p,
				 .text = head, .text_len = strlen(head), .history = history};
	struct chat_picture picture;
	const char *cause = "";
	if (len > 0 && picture_load(data, len, app->cfg.image_max, &picture, &cause) == 0) {
		line.picture = &picture;
		client_show(app, &line);
		picture_free(&picture);
		return;
	}
	/* The server's drawing, as a multi-line text under the header. */
	char text[8192];
	size_t n = 0;
	if (len > 0)
		n = (size_t)snprintf(text, sizeof(text), _("(image illisible : %s)"), _(cause));
	if (drawing.len > 0 && n + 1 < sizeof(text)) {
		if (n > 0)
			text[n++] = '\n';
		n += sanitize_text(drawing.ptr, drawing.len, text + n, sizeof(text) - n,
				   SANITIZE_KEEP_NEWLINES);
	}
	size_t h = strlen(head);
	if (h + 1 + n < sizeof(head) + sizeof(text)) {
		char all[sizeof(head) + sizeof(text)];
		memcpy(all, head, h);
		all[h] = '\n';
		memcpy(all + h + 1, text, n);
		line.text = all;
		line.text_len = h + 1 + n;
		client_show(app, &line);
	}
}

static struct wire_str json_str(const cJSON *o, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!cJSON_IsString(f))
		return (struct wire_str){"", 0};
	return (struct wire_str){f->valuestring, strlen(f->valuestring)};
}

/* A number of the history JSON within [lo, hi] (NaN to lo), ready for a
 * cast: one out of the target type's range is undefined behaviour, and a
 * hostile server may write 1e300 (security review L5). */
static double json_num(const cJSON *o, const char *name, double lo, double hi)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
	double v = cJSON_IsNumber(f) ? f->valuedouble : lo;
	return v >= lo ? (v <= hi ? v : hi) : lo;
}

static uint64_t json_u53(const cJSON *o, const char *name)
{
	return (uint64_t)json_num(o, name, 0, MAX_EXACT);
}

static int json_int(const cJSON *o, const char *name)
{
	return (int)json_num(o, name, 0, INT_MAX);
}

/* Out of the palette (-2, 256) becomes no colour in sane_colour. */
static int json_colour(const cJSON *o)
{
	return (int)json_num(o, "colour", -2, 256);
}

/* The room's history, as the course asks: JSON, shown before live lines. */
void incoming_history(struct client_app *app, const struct wire_msg *m)
{
	cJSON *events = cJSON_ParseWithLength(m->text.ptr, m->text.len);
	if (!cJSON_IsArray(events) || cJSON_GetArraySize(events) == 0) {
		cJSON_Delete(events);
		return;
	}
	char room[3 * 32 + 1], head[160];
	size_t n = sanitize_text(m->room.ptr, m->room.len > 32 ? 32 : m->room.len, room,
				 sizeof(room) - 1, 0);
	snprintf(head, sizeof(head), _("── historique du salon %.*s ──"), (int)n, room);
	client_info(app, CHAT_INFO, head);
	const cJSON *ev;
	cJSON_ArrayForEach(ev, events) {
		struct wire_str kind = json_str(ev, "kind");
		enum wire_type type = WIRE_NOTICE;
		uint8_t notice = WIRE_NOTICE_INFO;
		if (kind.len == 7 && memcmp(kind.ptr, "message", 7) == 0)
			type = WIRE_MESSAGE;
		else if (kind.len == 4 && memcmp(kind.ptr, "join", 4) == 0)
			notice = WIRE_NOTICE_JOIN;
		else if (kind.len == 5 && memcmp(kind.ptr, "leave", 5) == 0)
			notice = WIRE_NOTICE_LEAVE;
		else if (kind.len == 6 && memcmp(kind.ptr, "return", 6) == 0)
			notice = WIRE_NOTICE_RETURN;
		else if (kind.len == 5 && memcmp(kind.ptr, "image", 5) == 0) {
			struct wire_str data = json_str(ev, "data");
			gsize len = 0;
			guchar *bytes = data.len > 0 ? g_base64_decode(data.ptr, &len) : NULL;
			incoming_picture(app, json_u53(ev, "id"), json_u53(ev, "time"),
					 json_colour(ev), json_str(ev, "pseudo"), bytes, len,
					 json_int(ev, "width"), json_int(ev, "height"),
					 json_str(ev, "text"), true);
			g_free(bytes);
			continue;
		} else
			continue;
		incoming_event(app, type, notice, json_u53(ev, "id"), json_u53(ev, "time"),
			       json_colour(ev), json_str(ev, "pseudo"), json_str(ev, "room"),
			       json_str(ev, "text"), true);
	}
	cJSON_Delete(events);
	client_info(app, CHAT_INFO, _("── fin de l'historique ──"));
}

void incoming_list(struct client_app *app, const struct wire_msg *m)
{
	struct wire_entry entries[256];
	size_t count = wire_entries(m, entries, 256);
	char list[4096], room[3 * TEXT_MAX_ROOM];
	size_t used = 0;
	size_t r = sanitize_text(m->room.ptr, m->room.len > TEXT_MAX_ROOM ? TEXT_MAX_ROOM : m->room.len,
				 room, sizeof(room), 0);
	int n = m->type == WIRE_ROOMS ? snprintf(list, sizeof(list), _("Salons : "))
				      : snprintf(list, sizeof(list), _("Présents dans %.*s : "),
						 (int)r, room);
	used = (size_t)n;
	for (size_t i = 0; i < count && used < sizeof(list) - 64; i++) {
		char name[3 * 64];
		size_t len = sanitize_text(entries[i].name.ptr, entries[i].name.len, name,
					   sizeof(name), 0);
		n = m->type == WIRE_ROOMS
			? snprintf(list + used, sizeof(list) - used, "%s%.*s (%u)", i ? ", " : "",
				   (int)len, name, entries[i].count)
			: snprintf(list + used, sizeof(list) - used, "%s%.*s", i ? ", " : "",
				   (int)len, name);
		if (n < 0 || (size_t)n >= sizeof(list) - used)
			break;
		used += (size_t)n;
	}
	client_info(app, CHAT_INFO, list);
}

void incoming_rooms(struct client_app *app, const struct wire_msg *m)
{
	struct wire_entry entries[CLIENT_MAX_ROOMS];
	app->room_count = wire_entries(m, entries, CLIENT_MAX_ROOMS);
	for (size_t i = 0; i < app->room_count; i++) {
		size_t len = entries[i].name.len > TEXT_MAX_ROOM ? TEXT_MAX_ROOM : entries[i].name.len;
		size_t n = sanitize_text(entries[i].name.ptr, len, app->rooms[i], TEXT_MAX_ROOM, 0);
		app->rooms[i][n] = '\0';
		app->room_members[i] = entries[i].count;
	}
	app->rooms_known = true;
}
