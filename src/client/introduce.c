/*
 * introduce: who we are and where we go, settled before anything runs
 * concurrently (as the course asks): the pseudo, then the room, then the
 * hello, on the terminal's prompts or from the settings.
 *
 * The flow, each step asked again alone when it is refused:
 *  1. the pseudo (--nick, the prompt, or plain mode's first input line),
 *     checked here as the server checks it;
 *  2. a resume token kept for this server and pseudo (sessions.h): a hello
 *     with it brings us back as we were, with no further question; a
 *     refused one is forgotten;
 *  3. at the prompt, the pseudo is checked with the server before the room
 *     is asked: a hello naming a room no server can accept (a control
 *     character), which the server answers with the pseudo's refusal
 *     (taken, held) or, the pseudo being fine, with the room's; the room
 *     prompt then comes only for a pseudo the server takes;
 *  4. the room (--room, or the prompt: the rooms and how many people are in
 *     each, Enter for general), checked here as the server checks it;
 *  5. the hello. A pseudo taken meanwhile asks for the pseudo only, a room
 *     refused for the room only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "i18n.h"
#include "names.h"
#include "sessions.h"

/* The probe's room: a control character, which no room name may hold. */
static const char probe_room[] = "\x01";

/* Reads one line from stdin a byte at a time, so nothing after it is taken
 * from the pipe or file that the input task reads next. */
static int read_line_raw(char *out, size_t cap, size_t *len)
{
	size_t n = 0;
	for (;;) {
		char c;
		ssize_t r = read(STDIN_FILENO, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return n > 0 ? 0 : -1;
		if (c == '\n')
			break;
		if (n < cap)
			out[n++] = c;
	}
	if (n > 0 && out[n - 1] == '\r')
		n--;
	*len = n;
	return 0;
}

/* A prompt's answer; at the end of input, the prompt's line is ended. */
static int prompt(struct client_app *app, const char *question, char *out, size_t cap,
		  size_t *len)
{
	fputs(question, stdout);
	fflush(stdout);
	if (read_line_raw(out, cap, len) == 0)
		return 0;
	if (app->interactive)
		fputc('\n', stdout);
	return -1;
}

static int accept_pseudo(struct client_app *app, const char *pseudo, size_t len)
{
	const char *cause;
	if (textproto_check_pseudo(pseudo, len, &cause) < 0) {
		fprintf(stderr, _("chatroom: pseudo refusé : %s\n"), _(cause));
		return -1;
	}
	memcpy(app->pseudo, pseudo, len);
	app->pseudo[len] = '\0';
	return 0;
}

static int choose_pseudo(struct client_app *app)
{
	if (app->cfg.nick != NULL)
		return accept_pseudo(app, app->cfg.nick, strlen(app->cfg.nick));
	char line[256];
	size_t len = 0;
	if (!app->interactive) {
		if (read_line_raw(line, sizeof(line), &len) < 0) {
			fprintf(stderr, "%s", _("chatroom: pas de pseudo : donnez --nick ou une "
						"première ligne\n"));
			return -1;
		}
		return accept_pseudo(app, line, len);
	}
	for (;;) {
		if (prompt(app, _("Pseudo : "), line, sizeof(line), &len) < 0)
			return -1;
		if (accept_pseudo(app, line, len) == 0)
			return 0;
	}
}

/* A room name as the server will take it, into app->room; an empty one
 * is the default room. 0, or -1 with the reason printed. */
static int accept_room(struct client_app *app, const char *room, size_t len)
{
	const char *cause;
	size_t n;
	char name[TEXT_MAX_ROOM + 1];
	if (len == 0) {
		app->room[0] = '\0';
		return 0;
	}
	if (textproto_normalise_room(room, len, name, sizeof(name), &n, &cause) < 0 ||
	    textproto_check_room(name, n, &cause) < 0) {
		fprintf(stderr, _("chatroom: salon refusé : %s\n"), _(cause));
		return -1;
	}
	memcpy(app->room, name, n + 1);
	return 0;
}

static bool rooms_known(const struct client_app *app)
{
	return app->rooms_known;
}

/* The rooms and their people, then the user's choice (Enter for the
 * default room, or a new name to make one), until it is a name. */
static int choose_room(struct client_app *app)
{
	if (app->cfg.room != NULL)
		return accept_room(app, app->cfg.room, strlen(app->cfg.room));
	app->room[0] = '\0';
	if (!app->interactive)
		return 0;
	if (!app->rooms_known) {
		link_send(&app->link, &(struct wire_msg){.type = WIRE_ROOMS_ASK});
		client_run_until(app, rooms_known);
	}
	if (app->ending)
		return -1;
	printf("%s", _("Salons :"));
	for (size_t i = 0; i < app->room_count; i++)
		printf("%s %s (%u)", i ? "," : "", app->rooms[i], app->room_members[i]);
	fputc('\n', stdout);
	for (;;) {
		char question[200], line[256];
		size_t len = 0;
		/* Enter: the server's default room, whatever the list's order. */
		snprintf(question, sizeof(question), _("Salon à rejoindre ou à créer (Entrée : %s) : "),
			 ROOM_DEFAULT_NAME);
		if (prompt(app, question, line, sizeof(line), &len) < 0)
			return -1;
		if (accept_room(app, line, len) == 0)
			return 0;
	}
}

static bool hello_answered(const struct client_app *app)
{
	return link_welcomed(&app->link) || app->hello_refused;
}

/* Says the hello (to this room) and waits for the answer: 0 welcomed, a
 * WIRE_ERR_* code refused, -1 the session ended. */
static int hello(struct client_app *app, const char *room)
{
	app->hello_refused = false;
	app->refusal[0] = '\0';
	link_hello(&app->link, app->pseudo, room);
	client_run_until(app, hello_answered);
	if (app->ending) /* the welcome's frames may have ended it too */
		return -1;
	return link_welcomed(&app->link) ? 0 : app->refusal_code ? app->refusal_code : -1;
}

/* Step 2: true when a kept token brought us back (or the session ended). */
static bool resume_kept(struct client_app *app)
{
	unsigned char token[WIRE_TOKEN_LEN];
	if (app->sessions_path[0] == '\0' ||
	    !sessions_find(app->sessions_path, app->server_name, app->pseudo, token))
		return false;
	link_set_token(&app->link, token);
	int rc = hello(app, "");
	if (rc == 0 || rc < 0)
		return true;
	/* Unknown, expired or in use: spent either way. */
	sessions_store(app->sessions_path, app->server_name, app->pseudo, NULL);
	return false;
}

/* After a resume, the room asked for (--room) if it is not the one the
 * session was in. */
static void go_to_asked_room(struct client_app *app)
{
	char asked[NAMES_SKELETON_MAX], here[NAMES_SKELETON_MAX];
	if (app->cfg.room == NULL || app->room[0] == '\0')
		return;
	char name[TEXT_MAX_ROOM + 1];
	size_t n;
	const char *cause;
	if (textproto_normalise_room(app->cfg.room, strlen(app->cfg.room), name, sizeof(name), &n,
				     &cause) < 0)
		return;
	if (names_skeleton(name, n, asked, sizeof(asked)) == 0 &&
	    names_skeleton(app->room, strlen(app->room), here, sizeof(here)) == 0 &&
	    strcmp(asked, here) == 0)
		return;
	link_send(&app->link, &(struct wire_msg){.type = WIRE_JOIN, .room = {name, n}});
}

/* Step 3: 1 when the server refuses the pseudo (said), 0 when it does not
 * (or the server took the probe: welcomed), -1 when the session ended. */
static int probe_pseudo(struct client_app *app)
{
	app->probing = true;
	int rc = hello(app, probe_room);
	app->probing = false;
	if (rc < 0)
		return -1;
	if (rc == WIRE_ERR_PSEUDO) {
		fprintf(stderr, "chatroom: %s\n", app->refusal);
		return 1;
	}
	return 0;
}

int client_introduce(struct client_app *app)
{
	bool need_pseudo = true, need_room = true;
	for (;;) {
		if (need_pseudo) {
			if (choose_pseudo(app) < 0)
				return -1;
			need_pseudo = false;
			if (resume_kept(app)) {
				if (app->ending)
					return -1;
				go_to_asked_room(app);
				return 0;
			}
			if (need_room && app->interactive && app->cfg.room == NULL) {
				int rc = probe_pseudo(app);
				if (rc < 0)
					return -1;
				if (link_welcomed(&app->link))
					return 0;
				if (rc > 0) {
					need_pseudo = app->cfg.nick == NULL;
					if (!need_pseudo)
						return -1;
					continue;
				}
			}
		}
		if (need_room && choose_room(app) < 0)
			return -1;
		need_room = false;
		int rc = hello(app, app->room);
		if (rc <= 0)
			return rc;
		fprintf(stderr, "chatroom: %s\n", app->refusal[0] ? app->refusal : _("refusé"));
		/* Asked again, the part refused only; never what was given. */
		if (!app->interactive)
			return -1;
		if (rc == WIRE_ERR_PSEUDO && app->cfg.nick == NULL)
			need_pseudo = true;
		else if (rc == WIRE_ERR_ROOM && app->cfg.room == NULL)
			need_room = true;
		else
			return -1;
	}
}
