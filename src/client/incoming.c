/*
 * incoming: what the server says, made into lines for the display
 * (chatline.h): the frames dispatched, the welcome, errors, the lists of
 * people and rooms, who is in our room; the events themselves are made
 * into lines in eventlines.c. The server is not trusted: every string it sends is
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

/* A lag past an hour is a lying server's. */
#define LAG_PLAUSIBLE_MS (3600u * 1000)

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
		size_t p = incoming_clean(app, 0, m->pseudo, 0);
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
