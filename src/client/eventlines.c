/*
 * eventlines: incoming.c's other half, the server's events made into
 * lines: a message or a notice (worded in the user's language), a picture,
 * a room's history (JSON) and what /search found. Each is shown once
 * (seen.h), and nothing the server sends is trusted: every string is
 * sanitised and every number brought within its range before a cast
 * (security review M2, L5). It keeps no state of its own: it writes
 * app->clean and app->seen, and the link's newest event id.
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
#include "seen.h"

/* Sanitises a network string into app->clean at `at`; returns its length. */
size_t incoming_clean(struct client_app *app, size_t at, struct wire_str s, unsigned flags)
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

/* Whether an event was shown already (seen.h); remember: keep it as shown. */
static bool event_seen(struct client_app *app, enum wire_type type, uint8_t kind,
		       uint64_t time_ms, struct wire_str room, struct wire_str pseudo,
		       struct wire_str text, bool remember)
{
	enum seen_kind sk = seen_kind_of_wire(type, kind);
	if (sk == SEEN_NONE)
		return false;
	/* Presence notices are the same event whatever words carry them. */
	struct seen_str r = {room.ptr, room.len}, p = {pseudo.ptr, pseudo.len},
			t = sk <= SEEN_ACTION ? (struct seen_str){text.ptr, text.len}
					      : (struct seen_str){"", 0};
	bool shown = seen_shown(&app->seen, sk, time_ms, r, p, t,
				(struct seen_str){app->pseudo, strlen(app->pseudo)});
	if (remember)
		seen_add(&app->seen, seen_fingerprint(sk, time_ms, r, p, t));
	return shown;
}

void incoming_event(struct client_app *app, enum wire_type type, uint8_t kind,
			   uint64_t id, uint64_t time_ms, int colour, struct wire_str pseudo,
			   struct wire_str room, struct wire_str text, bool history)
{
	link_saw_event(&app->link, id);
	if (!history)
		app->ids_from_history = false;
	/* A history sent again by another node: what we showed stays once. */
	if (event_seen(app, type, kind, time_ms, room, pseudo, text, true) && history)
		return;
	size_t p = incoming_clean(app, 0, pseudo, 0);
	size_t r = incoming_clean(app, p, room, 0);
	char *who = app->clean, *where = app->clean + p;
	struct chat_line line = {.time_ms = sane_time(time_ms), .colour = sane_colour(colour),
				 .history = history};
	snprintf(line.room, sizeof(line.room), "%.*s", (int)r, where);
	char notice[200];
	if (type == WIRE_MESSAGE) {
		size_t t = incoming_clean(app, p + r, text, SANITIZE_KEEP_NEWLINES);
		if (strcmp(who, app->pseudo) != 0 || p != strlen(app->pseudo))
			complete_heard(&app->names, who, p, true);
		line.kind = CHAT_MESSAGE;
		line.pseudo = who;
		line.pseudo_len = p;
		line.text = app->clean + p + r;
		line.text_len = t;
		picture_show_in_order(app, &line);
		return;
	}
	if (kind == WIRE_NOTICE_ACTION || kind == WIRE_NOTICE_PRIVATE) {
		/* The server's whole line, as long as a message may be; shown
		 * apart from the others' words (a private one rings, ui.c). */
		size_t t = incoming_clean(app, p + r, text, SANITIZE_KEEP_NEWLINES);
		line.kind = kind == WIRE_NOTICE_ACTION ? CHAT_ACTION : CHAT_PRIVATE;
		line.pseudo = who;
		line.pseudo_len = p;
		line.text = app->clean + p + r;
		line.text_len = t;
		picture_show_in_order(app, &line);
		return;
	}
	/* The default room's arrivals use the course's wording. */
	bool in_default = r == strlen(ROOM_DEFAULT_NAME) && memcmp(where, ROOM_DEFAULT_NAME, r) == 0;
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
	default: {
		/* The server's words (French), in the user's language. */
		char raw[sizeof(notice)], tr[sizeof(notice)];
		size_t k = sanitize_text(text.ptr, text.len, raw, sizeof(raw) - 1, 0);
		raw[k] = '\0';
		n = snprintf(notice, sizeof(notice), "%s", i18n_server(raw, tr, sizeof(tr)));
		break;
	}
	}
	line.kind = CHAT_NOTICE;
	line.text = notice;
	line.text_len = n < 0 ? 0 : (size_t)n < sizeof(notice) ? (size_t)n : sizeof(notice) - 1;
	picture_show_in_order(app, &line);
}

/* Someone's picture: checked and decoded like one we send, off the loop
 * thread and in order (chatpicture.h); when it cannot be (or came without
 * its bytes), what the server drew instead. */
void incoming_picture(struct client_app *app, uint64_t id, uint64_t time_ms,
			     int colour, struct wire_str pseudo, struct wire_str room,
			     const void *data, size_t len, int width, int height,
			     struct wire_str drawing, bool history)
{
	link_saw_event(&app->link, id);
	if (event_seen(app, WIRE_IMAGE, 0, time_ms, room, pseudo, drawing, true) && history)
		return;
	char where[CHAT_ROOM_MAX];
	size_t r = sanitize_text(room.ptr, room.len > TEXT_MAX_ROOM ? TEXT_MAX_ROOM : room.len, where,
				 sizeof(where) - 1, 0);
	where[r] = '\0';
	size_t p = incoming_clean(app, 0, pseudo, 0);
	char head[160];
	snprintf(head, sizeof(head), _(" a envoyé une image (%d×%d) :"), width, height);
	struct chat_line line = {.kind = CHAT_IMAGE, .time_ms = sane_time(time_ms),
				 .colour = sane_colour(colour), .pseudo = app->clean, .pseudo_len = p,
				 .text = head, .text_len = strlen(head), .history = history};
	memcpy(line.room, where, r + 1);
	picture_show_received(app, &line, data, len, drawing.ptr, drawing.len);
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

/* A line of the client's in a room's window. */
static void info_in_room(struct client_app *app, const char *text, const char *room)
{
	struct chat_line line = {.kind = CHAT_INFO, .colour = -1, .text = text,
				 .text_len = strlen(text)};
	snprintf(line.room, sizeof(line.room), "%s", room);
	picture_show_in_order(app, &line);
}

/* Whether a history record would show something not shown yet. */
static bool history_news(struct client_app *app, const cJSON *ev)
{
	enum wire_type type;
	uint8_t notice;
	struct wire_str kind = json_str(ev, "kind");
	return seen_history_kind(kind.ptr, kind.len, &type, &notice) &&
	       !event_seen(app, type, notice, json_u53(ev, "time"), json_str(ev, "room"),
			   json_str(ev, "pseudo"), json_str(ev, "text"), false);
}

/* The room's history, as the course asks: JSON, shown before live lines.
 * What was shown already (another node's history after a reconnection)
 * is skipped; a block of nothing new is not shown at all. */
void incoming_history(struct client_app *app, const struct wire_msg *m)
{
	/* A resume answered with the whole history (another node of a
	 * cluster): the ids we saw are another numbering's. */
	if (app->ids_from_history)
		app->link.last_event_id = 0;
	app->ids_from_history = false;
	cJSON *events = cJSON_ParseWithLength(m->text.ptr, m->text.len);
	if (!cJSON_IsArray(events) || cJSON_GetArraySize(events) == 0) {
		cJSON_Delete(events);
		return;
	}
	const cJSON *ev;
	bool news = false;
	cJSON_ArrayForEach(ev, events) {
		if (history_news(app, ev)) {
			news = true;
			break;
		}
	}
	if (!news) {
		cJSON_Delete(events);
		return;
	}
	char room[3 * 32 + 1], head[160];
	size_t n = sanitize_text(m->room.ptr, m->room.len > 32 ? 32 : m->room.len, room,
				 sizeof(room) - 1, 0);
	room[n] = '\0';
	snprintf(head, sizeof(head), _("── historique du salon %.*s ──"), (int)n, room);
	info_in_room(app, head, room);
	cJSON_ArrayForEach(ev, events) {
		struct wire_str kind = json_str(ev, "kind");
		enum wire_type type;
		uint8_t notice;
		if (kind.len == 5 && memcmp(kind.ptr, "image", 5) == 0) {
			struct wire_str data = json_str(ev, "data");
			gsize len = 0;
			guchar *bytes = data.len > 0 ? g_base64_decode(data.ptr, &len) : NULL;
			incoming_picture(app, json_u53(ev, "id"), json_u53(ev, "time"),
					 json_colour(ev), json_str(ev, "pseudo"), m->room, bytes, len,
					 json_int(ev, "width"), json_int(ev, "height"),
					 json_str(ev, "text"), true);
			g_free(bytes);
			continue;
		}
		if (!seen_history_kind(kind.ptr, kind.len, &type, &notice))
			continue;
		incoming_event(app, type, notice, json_u53(ev, "id"), json_u53(ev, "time"),
			       json_colour(ev), json_str(ev, "pseudo"), json_str(ev, "room"),
			       json_str(ev, "text"), true);
	}
	cJSON_Delete(events);
	info_in_room(app, _("── fin de l'historique ──"), room);
}

/* What /search found: in its own window on the full screen, as lines
 * otherwise; each result says its room. */
void incoming_found(struct client_app *app, const struct wire_msg *m)
{
	char query[3 * 128 + 1], head[600];
	size_t q = sanitize_text(m->query.ptr, m->query.len > 128 ? 128 : m->query.len, query,
				 sizeof(query) - 1, 0);
	query[q] = '\0';
	cJSON *found = cJSON_ParseWithLength(m->text.ptr, m->text.len);
	int count = cJSON_IsArray(found) ? cJSON_GetArraySize(found) : 0;
	if (app->ui_started)
		ui_reset_window(&app->ui, WINDOW_SEARCH, "");
	snprintf(head, sizeof(head),
		 ngettext("── recherche « %s » : %d résultat ──", "── recherche « %s » : %d résultats ──",
			  (unsigned long)count), query, count);
	client_info(app, CHAT_INFO, head);
	const cJSON *ev;
	cJSON_ArrayForEach(ev, found) {
		/* "#jeux alice a dit : …": the room before the speaker. */
		struct wire_str room = json_str(ev, "room"), pseudo = json_str(ev, "pseudo");
		char who[CHAT_ROOM_MAX + 3 * TEXT_MAX_PSEUDO + 4];
		size_t r = sanitize_text(room.ptr, room.len > TEXT_MAX_ROOM ? TEXT_MAX_ROOM : room.len,
					 who + 1, CHAT_ROOM_MAX, 0);
		who[0] = '#';
		who[r + 1] = ' ';
		size_t p = sanitize_text(pseudo.ptr, pseudo.len > TEXT_MAX_PSEUDO ? TEXT_MAX_PSEUDO
										  : pseudo.len,
					 who + r + 2, sizeof(who) - r - 2, 0);
		size_t t = incoming_clean(app, 0, json_str(ev, "text"), SANITIZE_KEEP_NEWLINES);
		struct chat_line line = {.kind = CHAT_MESSAGE,
					 .time_ms = sane_time(json_u53(ev, "time")),
					 .colour = sane_colour(json_colour(ev)), .pseudo = who,
					 .pseudo_len = r + 2 + p, .text = app->clean, .text_len = t};
		client_show(app, &line);
	}
	cJSON_Delete(found);
	client_info(app, CHAT_INFO, m->cut ? _("── fin de la recherche (il y en a d'autres : "
					       "précisez-la) ──")
					   : _("── fin de la recherche ──"));
}
