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
#include "seen.h"
#include "sessions.h"

/* Sanitises a network string into app->clean at `at`; returns its length. */
static size_t clean(struct client_app *app, size_t at, struct wire_str s, unsigned flags)
{
	return sanitize_text(s.ptr, s.len, app->clean + at, sizeof(app->clean) - at, flags);
}

/* A lag past an hour is a lying server's. */
#define LAG_PLAUSIBLE_MS (3600u * 1000)

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

static void incoming_event(struct client_app *app, enum wire_type type, uint8_t kind,
			   uint64_t id, uint64_t time_ms, int colour, struct wire_str pseudo,
			   struct wire_str room, struct wire_str text, bool history)
{
	link_saw_event(&app->link, id);
	if (!history)
		app->ids_from_history = false;
	/* A history sent again by another node: what we showed stays once. */
	if (event_seen(app, type, kind, time_ms, room, pseudo, text, true) && history)
		return;
	size_t p = clean(app, 0, pseudo, 0);
	size_t r = clean(app, p, room, 0);
	char *who = app->clean, *where = app->clean + p;
	struct chat_line line = {.time_ms = sane_time(time_ms), .colour = sane_colour(colour),
				 .history = history};
	snprintf(line.room, sizeof(line.room), "%.*s", (int)r, where);
	char notice[200];
	if (type == WIRE_MESSAGE) {
		size_t t = clean(app, p + r, text, SANITIZE_KEEP_NEWLINES);
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
		size_t t = clean(app, p + r, text, SANITIZE_KEEP_NEWLINES);
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
static void incoming_picture(struct client_app *app, uint64_t id, uint64_t time_ms,
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
	size_t p = clean(app, 0, pseudo, 0);
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
static void incoming_history(struct client_app *app, const struct wire_msg *m)
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
static void incoming_found(struct client_app *app, const struct wire_msg *m)
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
		size_t t = clean(app, 0, json_str(ev, "text"), SANITIZE_KEEP_NEWLINES);
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

static void incoming_list(struct client_app *app, const struct wire_msg *m)
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
	picture_info_in_order(app, CHAT_INFO, list);
}

static void incoming_rooms(struct client_app *app, const struct wire_msg *m)
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

/* The room the server says we are in: shown in the status line and
 * compared with every notice's, so checked as the server checks a name; a
 * server that names another (escape sequences, say: security review M2)
 * is broken or hostile, and the session ends. False when it did. */
static bool take_room(struct client_app *app, struct wire_str room)
{
	const char *cause = "";
	if (textproto_check_room(room.ptr, room.len, &cause) < 0 || room.len > TEXT_MAX_ROOM) {
		char why[200];
		snprintf(why, sizeof(why), "chatroom: the server sent an invalid room name (%s)",
			 room.len > TEXT_MAX_ROOM ? "too long" : cause);
		client_end(app, 1, why);
		return false;
	}
	memcpy(app->room, room.ptr, room.len);
	app->room[room.len] = '\0';
	return true;
}

/* The people a WHO answer names, for Tab. */
static void remember_names(struct client_app *app, const struct wire_msg *m)
{
	struct wire_entry entries[256];
	size_t count = wire_entries(m, entries, 256);
	for (size_t i = 0; i < count; i++) {
		if (entries[i].count == 0)
			continue; /* an anonymous text peer ("{IP}:{Port}", no colour) */
		size_t n = sanitize_text(entries[i].name.ptr, entries[i].name.len, app->clean,
					 sizeof(app->clean), 0);
		if (n != strlen(app->pseudo) || memcmp(app->clean, app->pseudo, n) != 0)
			complete_heard(&app->names, app->clean, n, false);
	}
}

/* Who is in our room, for the status line only. */
void incoming_count_people(struct client_app *app)
{
	app->quiet_who++;
	/* Of the room shown (several rooms at once); an older server reads
	 * no room and answers for its idea of ours. */
	struct wire_str room = {app->room, app->link.features ? strlen(app->room) : 0};
	link_send(&app->link, &(struct wire_msg){.type = WIRE_WHO_ASK, .room = room});
}

#define count_people incoming_count_people

void incoming_welcome(struct client_app *app, const struct wire_msg *m, bool resumed)
{
	if (!take_room(app, m->room))
		return;
	/* A resume gives back the token's pseudo: ours from now on, if it is
	 * one (the server is not trusted). */
	const char *cause;
	if (m->pseudo.len > 0 && m->pseudo.len <= TEXT_MAX_PSEUDO &&
	    textproto_check_pseudo(m->pseudo.ptr, m->pseudo.len, &cause) == 0) {
		memcpy(app->pseudo, m->pseudo.ptr, m->pseudo.len);
		app->pseudo[m->pseudo.len] = '\0';
	}
	client_catch_signals(app);
	app->user_id = m->user_id;
	complete_clear(&app->names);
	if (resumed)
		client_info(app, CHAT_INFO, _("*** reconnecté"));
	app->ids_from_history = resumed;
	if (app->ui_started) {
		/* Welcomed again (a resume, or a fresh hello after a restart):
		 * the server gave back one room; the others' windows join again,
		 * and we speak in the one shown. */
		const struct windows *ws = &app->ui.wins;
		const struct window *shown = ui_window(&app->ui);
		char back[sizeof(app->room)];
		memcpy(back, app->room, sizeof(back));
		if (shown->kind == WINDOW_ROOM && shown->name[0] != '\0') {
			size_t n = strnlen(shown->name, sizeof(app->room) - 1);
			memcpy(app->room, shown->name, n);
			app->room[n] = '\0';
		}
		for (size_t i = 0; i < ws->count; i++) {
			const struct window *w = ws->list[i];
			if (w->kind == WINDOW_ROOM && w->name[0] != '\0' &&
			    strcmp(w->name, back) != 0)
				link_send(&app->link, &(struct wire_msg){
					.type = WIRE_JOIN, .room = {w->name, strlen(w->name)}});
		}
	}
	count_people(app);
	client_status(app);
	client_welcomed(app, m);
}

static bool in_our_room(const struct client_app *app, struct wire_str room)
{
	return room.len == strlen(app->room) && memcmp(room.ptr, app->room, room.len) == 0;
}

/* A notice about our room keeps the status line's count of people. */
static void track_people(struct client_app *app, const struct wire_msg *m)
{
	if (m->type != WIRE_NOTICE)
		return;
	if (m->kind == WIRE_NOTICE_LEAVE && m->user_id == app->user_id && m->id == 0) {
		/* We left a room (/part): its window goes. */
		char room[CHAT_ROOM_MAX], text[200];
		size_t n = sanitize_text(m->room.ptr, m->room.len > TEXT_MAX_ROOM ? TEXT_MAX_ROOM
										  : m->room.len,
					 room, sizeof(room) - 1, 0);
		room[n] = '\0';
		if (app->ui_started)
			ui_close_window(&app->ui, WINDOW_ROOM, room);
		snprintf(text, sizeof(text), _("Vous avez quitté le salon %s"), room);
		client_info(app, CHAT_INFO, text);
		return;
	}
	if (m->kind == WIRE_NOTICE_JOIN && m->user_id == app->user_id &&
	    link_welcomed(&app->link) && !in_our_room(app, m->room)) {
		/* Joined again after a reconnection: the window shown stays. */
		if (app->ui_started && app->link.features != 0 && !app->join_asked)
			return;
		app->join_asked = false;
		/* We moved (/join): a new room, and its people to count; with
		 * several rooms, its window is shown. */
		if (!take_room(app, m->room))
			return;
		if (app->ui_started)
			ui_focus(&app->ui, WINDOW_ROOM, app->room);
		app->users = -1;
		complete_clear(&app->names);
		count_people(app);
		client_status(app);
	} else if (in_our_room(app, m->room) && m->user_id != app->user_id) {
		size_t p = clean(app, 0, m->pseudo, 0);
		if (m->kind == WIRE_NOTICE_LEAVE)
			complete_forget(&app->names, app->clean, p);
		else if (m->kind == WIRE_NOTICE_JOIN || m->kind == WIRE_NOTICE_RETURN)
			complete_heard(&app->names, app->clean, p, false);
	}
	if (app->users >= 0 && in_our_room(app, m->room) &&
	    !(m->kind == WIRE_NOTICE_JOIN && m->user_id == app->user_id)) {
		if (m->kind == WIRE_NOTICE_JOIN || m->kind == WIRE_NOTICE_RETURN)
			app->users++;
		else if (m->kind == WIRE_NOTICE_LEAVE && app->users > 0)
			app->users--;
		client_status(app);
	}
}

/* Coming back after a drop, the server refused the hello: a token it no
 * longer knows (restarted, or too long away) gets a fresh hello as
 * ourselves into our room; a room it will not make, the default room; a
 * pseudo somebody else took meanwhile ends the session, said. */
static void rejoin_refused(struct client_app *app, uint16_t code)
{
	char text[400];
	if (code == WIRE_ERR_TOKEN && !app->rejoining) {
		app->rejoining = true;
		if (app->sessions_path[0] != '\0')
			sessions_store(app->sessions_path, app->server_name, app->pseudo, NULL);
		snprintf(text, sizeof(text),
			 _("*** le serveur ne reprend pas la session (redémarré ?) : retour sous le "
			   "pseudo %s dans #%s"), app->pseudo, app->room[0] ? app->room : ROOM_DEFAULT_NAME);
		client_info(app, CHAT_INFO, text);
		client_hello(app);
	} else if (code == WIRE_ERR_ROOM && app->room[0] != '\0') {
		snprintf(text, sizeof(text), _("*** salon %s refusé (%s) : retour dans #%s"), app->room,
			 app->refusal, ROOM_DEFAULT_NAME);
		client_info(app, CHAT_INFO, text);
		app->room[0] = '\0';
		client_hello(app);
	} else {
		snprintf(text, sizeof(text), _("chatroom: le serveur ne nous reprend pas : %s"),
			 app->refusal);
		client_end(app, 1, text);
	}
}

static void on_error(struct client_app *app, const struct wire_msg *m)
{
	char raw[sizeof(app->refusal)];
	size_t n = sanitize_text(m->text.ptr, m->text.len, raw, sizeof(raw) - 1, 0);
	raw[n] = '\0';
	snprintf(app->refusal, sizeof(app->refusal), "%s",
		 i18n_server(raw, app->clean, sizeof(app->clean)));
	if (!link_in_room(&app->link) && (m->code == WIRE_ERR_PSEUDO || m->code == WIRE_ERR_ROOM ||
					  m->code == WIRE_ERR_TOKEN)) {
		if (link_reconnecting(&app->link)) {
			rejoin_refused(app, m->code);
			return;
		}
		app->hello_refused = true;
		app->refusal_code = m->code;
		return;
	}
	char text[300];
	snprintf(text, sizeof(text), _("Erreur : %s"), app->refusal);
	picture_info_in_order(app, CHAT_ERROR, text);
}

void incoming_frame(struct client_app *app, const struct wire_msg *m)
{
	switch (m->type) {
	case WIRE_ERROR:
		on_error(app, m);
		break;
	case WIRE_MESSAGE:
	case WIRE_NOTICE:
		/* Our own rename: the new pseudo is ours from now on. */
		if (m->type == WIRE_NOTICE && m->kind == WIRE_NOTICE_NICK &&
		    m->user_id == app->user_id && m->pseudo.len > 0 &&
		    m->pseudo.len <= TEXT_MAX_PSEUDO)
			snprintf(app->pseudo, sizeof(app->pseudo), "%.*s", (int)m->pseudo.len,
				 m->pseudo.ptr);
		incoming_event(app, m->type, m->kind, m->id, m->time_ms, m->colour, m->pseudo,
			       m->room, m->text, false);
		track_people(app, m);
		break;
	case WIRE_HISTORY:
		incoming_history(app, m);
		break;
	case WIRE_IMAGE:
		incoming_picture(app, m->id, m->time_ms, m->colour, m->pseudo, m->room, m->data.ptr,
				 m->data.len, m->width > INT_MAX ? INT_MAX : (int)m->width,
				 m->height > INT_MAX ? INT_MAX : (int)m->height,
				 (struct wire_str){"", 0}, false);
		break;
	case WIRE_ROOMS:
		if (!link_welcomed(&app->link) && !app->rooms_known)
			incoming_rooms(app, m);
		else
			incoming_list(app, m);
		break;
	case WIRE_FOUND:
		incoming_found(app, m);
		break;
	case WIRE_WHO:
		if (in_our_room(app, m->room) || app->link.features == 0)
			app->users = (int)m->entry_count;
		remember_names(app, m);
		if (app->quiet_who > 0)
			app->quiet_who--;
		else
			incoming_list(app, m);
		client_status(app);
		break;
	case WIRE_PONG: {
		/* The nonce is our clock when we pinged, unless the server lies. */
		uint64_t now = uv_now(app->loop);
		app->lag_ms = m->nonce <= now && now - m->nonce < LAG_PLAUSIBLE_MS ? (int)(now - m->nonce) : -1;
		client_status(app);
		break;
	}
	default:
		break; /* what a later version may add */
	}
}
