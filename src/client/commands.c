/*
 * commands: the client's slash commands, a row each in the table below
 * (name, aliases, argument shape, handler, one line of help); cmdtable.c
 * finds the row a line names and writes /help from the rows. Adding a
 * command is a row and its handler.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "chatpicture.h"
#include "client.h"
#include "cmdtable.h"
#include "i18n.h"
#include "names.h"
#include "sanitize.h"

/* An unknown command is shown back this far, so the user sees which. */
#define UNKNOWN_SHOWN_BYTES 32

bool commands_online(struct client_app *app, const char *what)
{
	if (link_in_room(&app->link))
		return true;
	char text[200];
	snprintf(text, sizeof(text),
		 _("%s : pas de connexion au serveur pour l'instant ; réessayez une fois "
		   "reconnecté."), what);
	client_info(app, CHAT_ERROR, text);
	return false;
}

static void run_rooms(struct client_app *app, const char *arg, size_t len)
{
	(void)arg, (void)len;
	if (commands_online(app, "/rooms"))
		link_send(&app->link, &(struct wire_msg){.type = WIRE_ROOMS_ASK});
}

/* The window of a room we are in, by the name as typed (a '#', blanks,
 * look-alikes: as the server folds it); -1 when there is none. */
static int room_window(struct client_app *app, const char *typed, size_t len)
{
	char name[TEXT_MAX_ROOM + 1], asked[NAMES_SKELETON_MAX], here[NAMES_SKELETON_MAX];
	size_t n;
	const char *cause;
	if (!app->ui_started ||
	    textproto_normalise_room(typed, len, name, sizeof(name), &n, &cause) < 0 ||
	    names_skeleton(name, n, asked, sizeof(asked)) < 0)
		return -1;
	const struct windows *ws = &app->ui.wins;
	for (size_t i = 0; i < ws->count; i++) {
		const struct window *w = ws->list[i];
		if (w->kind == WINDOW_ROOM &&
		    names_skeleton(w->name, strlen(w->name), here, sizeof(here)) == 0 &&
		    strcmp(asked, here) == 0)
			return (int)i;
	}
	return -1;
}

static void run_join(struct client_app *app, const char *room, size_t len)
{
	/* With a window a room, /join of one we are in shows its window. */
	int shown = room_window(app, room, len);
	if (shown >= 0) {
		ui_focus(&app->ui, WINDOW_ROOM, app->ui.wins.list[shown]->name);
		return;
	}
	/* As typed: the server trims it, drops a '#', folds look-alikes, and
	 * says what is wrong. */
	if (commands_online(app, "/join")) {
		app->join_asked = true;
		link_send(&app->link, &(struct wire_msg){.type = WIRE_JOIN, .room = {room, len}});
	}
}

static void run_who(struct client_app *app, const char *arg, size_t len)
{
	(void)arg, (void)len;
	/* Of the room shown, with several rooms. */
	struct wire_str room = {app->room, app->link.features ? strlen(app->room) : 0};
	if (commands_online(app, "/who"))
		link_send(&app->link, &(struct wire_msg){.type = WIRE_WHO_ASK, .room = room});
}

/* The room named, or the one shown; the server says what is wrong. */
static void run_part(struct client_app *app, const char *arg, size_t len)
{
	struct wire_str room = {arg, len};
	if (len == 0)
		room = (struct wire_str){app->room, app->link.features ? strlen(app->room) : 0};
	if (commands_online(app, "/part"))
		link_send(&app->link, &(struct wire_msg){.type = WIRE_PART, .room = room});
}

/* Answered by the server from the history (FOUND, incoming.c). */
static void run_search(struct client_app *app, const char *arg, size_t len)
{
	if (len > WIRE_MAX_QUERY) {
		client_info(app, CHAT_ERROR, _("Recherche trop longue (512 octets au plus)."));
		return;
	}
	if (commands_online(app, "/search"))
		link_send(&app->link, &(struct wire_msg){.type = WIRE_SEARCH, .query = {arg, len}});
}

/* "6,4 Mo", "512 Ko", "900 octets": a size as the user reads it. */
static void size_text(size_t bytes, char *buf, size_t cap)
{
	if (bytes >= 1024 * 1024) {
		size_t tenths = (bytes * 10 + 512 * 1024) / (1024 * 1024);
		snprintf(buf, cap, _("%zu,%zu Mo"), tenths / 10, tenths % 10);
	} else if (bytes >= 1024) {
		snprintf(buf, cap, _("%zu Ko"), (bytes + 512) / 1024);
	} else {
		snprintf(buf, cap, ngettext("%zu octet", "%zu octets", bytes), bytes);
	}
}

/* The file whole, if it is no larger than max (else *too_large, and its
 * size in *len). */
static char *read_file(const char *path, size_t max, size_t *len, bool *too_large)
{
	*too_large = false;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size > max) {
		fclose(f);
		*too_large = true;
		*len = (size_t)st.st_size;
		return NULL;
	}
	char *data = malloc(max + 1);
	size_t n = data != NULL ? fread(data, 1, max + 1, f) : 0;
	bool failed = data == NULL || ferror(f);
	int err = errno;
	fclose(f);
	if (failed || n > max) {
		*too_large = !failed;
		*len = n;
		free(data);
		errno = err;
		return NULL;
	}
	*len = n;
	return data;
}

static void say_usage(struct client_app *app, const char *line, size_t len);

/* /image PATH: checked here first, as the server will check it again;
 * nothing is sent unless it is a sane PNG or JPEG. */
static void run_image(struct client_app *app, const char *arg, size_t arg_len)
{
	char path[4096];
	char why[5000];
	if (cmdtable_path(arg, arg_len, getenv("HOME"), path, sizeof(path)) == 0) {
		say_usage(app, "/image", 6);
		return;
	}
	if (!commands_online(app, "/image"))
		return;
	size_t len = 0;
	bool too_large;
	char *data = read_file(path, app->cfg.image_max, &len, &too_large);
	const char *cause = NULL;
	struct chat_picture picture;
	if (data == NULL && too_large) {
		/* How heavy, the limit, and how to change it. */
		char size[64], max[64];
		size_text(len, size, sizeof(size));
		size_text(app->cfg.image_max, max, sizeof(max));
		snprintf(why, sizeof(why), _("Image refusée : %s : image trop lourde (%s%s, au plus "
					     "%s ; --image-max)"),
			 path, size, len > app->cfg.image_max + 1 ? "" : _(" ou plus"), max);
		client_info(app, CHAT_ERROR, why);
		return;
	}
	if (data == NULL) {
		snprintf(why, sizeof(why), _("Image refusée : %s : %s"), path, strerror(errno));
		client_info(app, CHAT_ERROR, why);
		return;
	}
	/* Only the image leaves: no EXIF position, no comments (image.h). */
	if (data != NULL)
		len = image_strip((unsigned char *)data, len);
	if (data != NULL && picture_load(data, len, app->cfg.image_max, &picture, &cause) == 0) {
		const struct image_info info = picture.source;
		link_send(&app->link, &(struct wire_msg){
			.type = WIRE_IMAGE, .mime = {info.mime, strlen(info.mime)},
			.width = (uint32_t)info.width, .height = (uint32_t)info.height,
			.data = {data, len}});
		char head[160];
		snprintf(head, sizeof(head), _("Vous avez envoyé une image (%d×%d) :"), info.width,
			 info.height);
		client_show(app, &(struct chat_line){.kind = CHAT_IMAGE, .colour = -1,
						     .text = head, .text_len = strlen(head),
						     .picture = &picture});
		picture_free(&picture);
		free(data);
		return;
	}
	free(data);
	snprintf(why, sizeof(why), _("Image refusée : %s : %s"), path, _(cause));
	client_info(app, CHAT_ERROR, why);
}

static void run_help(struct client_app *app, const char *arg, size_t len);

static void run_quit(struct client_app *app, const char *arg, size_t len)
{
	(void)arg, (void)len;
	client_end(app, 0, NULL);
}

/* In /help's order. */
static const struct command commands[] = {
	{"rooms", {NULL}, COMMAND_NO_ARGS, NULL, run_rooms, N_("les salons")},
	{"join", {NULL}, COMMAND_REST, N_("SALON"), run_join, N_("y aller ou le créer")},
	{"who", {NULL}, COMMAND_NO_ARGS, NULL, run_who, N_("qui est là")},
	{"part", {NULL}, COMMAND_REST_OPTIONAL, N_("[SALON]"), run_part,
	 N_("quitter ce salon ou celui nommé")},
	{"search", {NULL}, COMMAND_REST, N_("[from:PSEUDO] [in:SALON] MOTS"), run_search,
	 N_("chercher dans l'historique de vos salons")},
	{"image", {NULL}, COMMAND_REST, N_("FICHIER"), run_image,
	 N_("envoyer une image PNG ou JPEG")},
	{"help", {NULL}, COMMAND_NO_ARGS, NULL, run_help, N_("cette liste")},
	{"quit", {"exit"}, COMMAND_NO_ARGS, NULL, run_quit, N_("partir ; aussi Ctrl+C, Ctrl+D")},
};
#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

/* The full-screen interface's keys (ui.c), in /help's order. */
static const struct key_help keys[] = {
	{N_("PgUp/PgDn, molette"), N_("défiler")},
	{N_("Fin deux fois, Alt+Fin, Ctrl+Fin ou Entrée sur une ligne vide"), N_("retour en bas")},
	{N_("Alt+1…9, Alt+←/→, Ctrl+N/P"), N_("changer de fenêtre (un salon chacune)")},
	{N_("Tab"), N_("compléter un pseudo ou une commande")},
	{N_("Ctrl+R"), N_("chercher dans ce que vous avez envoyé")},
	{N_("Haut/Bas"), N_("ce que vous avez envoyé")},
	{N_("Ctrl+U, Ctrl+W"), N_("effacer la ligne, un mot")},
	{N_("Maj+glisser"), N_("sélectionner du texte")},
};

/* The server's commands (issue 16): the line goes as typed in a COMMAND
 * frame, and the server checks it and answers. */
static const char *const server_commands[] = {
	"msg", "query", "reply", "me", "nick", "away", "topic", "ignore", "unignore",
	"ignore-list", "whois", "names", "list", "j", "kick", "mute", "ban", "unban", "bans",
};
#define SERVER_COMMAND_COUNT (sizeof(server_commands) / sizeof(server_commands[0]))

static bool forwarded(const char *line, size_t len)
{
	size_t n = 1;
	while (n < len && line[n] != ' ')
		n++;
	for (size_t i = 0; i < SERVER_COMMAND_COUNT; i++)
		if (strlen(server_commands[i]) == n - 1 &&
		    strncasecmp(server_commands[i], line + 1, n - 1) == 0)
			return true;
	return false;
}

static void forward(struct client_app *app, const char *line, size_t len)
{
	char what[40];
	size_t n = 0;
	while (n < len && n < sizeof(what) - 1 && line[n] != ' ')
		n++;
	snprintf(what, sizeof(what), "%.*s", (int)n, line);
	if (!commands_online(app, what))
		return;
	link_send(&app->link, &(struct wire_msg){.type = WIRE_COMMAND, .text = {line, len}});
	/* The server tells the room of a /me, not its author: shown here. */
	if (n == 3 && strncasecmp(line, "/me", 3) == 0 && len > 4) {
		char action[SANITIZE_BOUND(512)];
		size_t t = sanitize_text(line + 4, len - 4 > 512 ? 512 : len - 4, action,
					 sizeof(action), 0);
		char text[sizeof(action) + 64];
		int k = snprintf(text, sizeof(text), "* %s %.*s", app->pseudo, (int)t, action);
		client_show(app, &(struct chat_line){
			.kind = CHAT_ACTION, .colour = -1, .text = text,
			.text_len = k < 0 ? 0 : (size_t)k < sizeof(text) ? (size_t)k : sizeof(text) - 1});
	}
}

static void run_help(struct client_app *app, const char *arg, size_t len)
{
	(void)arg, (void)len;
	char text[1024];
	cmdtable_help(commands, COMMAND_COUNT, _("Commandes : "), text, sizeof(text));
	client_info(app, CHAT_INFO, text);
	client_info(app, CHAT_INFO,
		    _("Au serveur : /msg PSEUDO TEXTE (en privé), /reply TEXTE, /me ACTION, "
		      "/nick PSEUDO, /away [TEXTE], /topic [SUJET], /ignore [PSEUDO], "
		      "/unignore PSEUDO, /whois PSEUDO ; //texte envoie « /texte »."));
	if (app->fullscreen) {
		cmdtable_keys_help(keys, sizeof(keys) / sizeof(keys[0]), _("Touches : "), text,
				   sizeof(text));
		client_info(app, CHAT_INFO, text);
	}
}

/* "Usage : /join SALON" for the command the line names. */
static void say_usage(struct client_app *app, const char *line, size_t len)
{
	const struct command *cmd;
	const char *arg;
	size_t arg_len;
	char usage[160], text[200];
	cmdtable_find(commands, COMMAND_COUNT, line, len, &cmd, &arg, &arg_len);
	if (cmd == NULL)
		return;
	cmdtable_usage(cmd, usage, sizeof(usage));
	snprintf(text, sizeof(text), _("Usage : %s"), usage);
	client_info(app, CHAT_ERROR, text);
}

const char *const *commands_names(size_t *count)
{
	static const char *names[COMMAND_COUNT + SERVER_COMMAND_COUNT + 4];
	size_t n = 0;
	for (size_t i = 0; i < COMMAND_COUNT; i++)
		names[n++] = commands[i].name;
	for (size_t i = 0; i < SERVER_COMMAND_COUNT; i++)
		names[n++] = server_commands[i];
	*count = n;
	return names;
}

void commands_run(struct client_app *app, const char *line, size_t len)
{
	const struct command *cmd;
	const char *arg;
	size_t arg_len;
	switch (cmdtable_find(commands, COMMAND_COUNT, line, len, &cmd, &arg, &arg_len)) {
	case COMMAND_FOUND:
		cmd->run(app, arg, arg_len);
		return;
	case COMMAND_BAD_ARGS:
		say_usage(app, line, len);
		return;
	case COMMAND_UNKNOWN:
		break;
	}
	if (forwarded(line, len)) {
		forward(app, line, len);
		return;
	}
	char shown[SANITIZE_BOUND(UNKNOWN_SHOWN_BYTES)];
	char hint[sizeof(shown) + 64];
	size_t n = sanitize_text(line, len > UNKNOWN_SHOWN_BYTES ? UNKNOWN_SHOWN_BYTES : len, shown,
				 sizeof(shown), 0);
	snprintf(hint, sizeof(hint), _("Commande inconnue %.*s. /help les liste."), (int)n, shown);
	client_info(app, CHAT_ERROR, hint);
}
