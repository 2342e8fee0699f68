#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "chatpicture.h"
#include "display.h"
#include "identity.h"
#include "numbered.h"
#include "i18n.h"
#include "sanitize.h"
#include "sessions.h"
#include "trust.h"

/* ---- ending the session ------------------------------------------------ */

void client_end(struct client_app *app, int exit_code, const char *message)
{
	if (app->ending)
		return;
	app->ending = true;
	app->exit_code = exit_code;
	if (app->ui_started)
		ui_close(&app->ui); /* the terminal back, before any message */
	plain_input_close(app);
	app->ui_started = false;
	if (message != NULL)
		fprintf(stderr, "%s\n", message);
	/* What never left is said, not lost in silence. */
	for (size_t i = 0; i < app->pending_count; i++) {
		fprintf(stderr, _("chatroom: pas envoyé : %s\n"), app->pending[i]);
		free(app->pending[i]);
	}
	app->pending_count = app->pending_bytes = 0;
	if (exit_code != 0)
		numbered_end(app);
	link_close(&app->link);
	picture_queue_close(app);
	if (app->signals_open) {
		app->signals_open = false;
		uv_close((uv_handle_t *)&app->sigint, NULL);
		uv_close((uv_handle_t *)&app->sigterm, NULL);
	}
}

static void on_signal(uv_signal_t *sig, int signum)
{
	(void)signum;
	client_end(sig->data, 0, NULL);
}

/* ---- showing ------------------------------------------------------------- */

void client_show(struct client_app *app, const struct chat_line *line)
{
	size_t n = display_format(line, app->colour, app->shown, sizeof(app->shown));
	if (app->convlog.open) {
		/* The log gets the words, never the colours. */
		char plain[4 * WIRE_MAX_TEXT];
		size_t m = display_format(line, false, plain, sizeof(plain));
		textlog_line(&app->convlog, 0, "", plain, m);
		textlog_tick(&app->convlog); /* a retry, if the disk was full */
		textlog_kick(&app->convlog);
	}
	if (app->ui_started) {
		ui_show(&app->ui, line);
	} else if (app->fullscreen && !app->ending) {
		/* The UI is not up yet: keep a copy to show once it is. */
		if (app->early_count < CLIENT_EARLY_LINES) {
			struct chat_line *copy = &app->early[app->early_count++];
			*copy = *line;
			copy->pseudo = line->pseudo ? strndup(line->pseudo, line->pseudo_len) : NULL;
			copy->text = strndup(line->text, line->text_len);
			struct chat_picture *picture = NULL;
			if (line->picture != NULL && (picture = malloc(sizeof(*picture))) != NULL &&
			    !picture_copy(picture, line->picture)) {
				free(picture);
				picture = NULL;
			}
			copy->picture = picture;
		}
	} else {
		fwrite(app->shown, 1, n, stdout);
		fputc('\n', stdout);
		if (line->picture != NULL) {
			/* Fitted to the terminal; plain ASCII in a pipe or a file. */
			bool ascii = app->cfg.ascii || !app->stdout_tty;
			int cols = app->stdout_tty ? app->stdout_cols - 4 : PICTURE_PLAIN_COLS;
			picture_print(stdout, line->picture, ascii, cols > 8 ? cols : 8);
		}
		fflush(stdout);
	}
}

void client_status(struct client_app *app)
{
	if (!app->ui_started)
		return;
	/* "connecté" only in a room: a connection the server has not
	 * welcomed (yet) is a reconnection under way. */
	struct ui_status st = {
		.server = app->server_name,
		.room = app->room,
		.pseudo = app->pseudo,
		.users = link_in_room(&app->link) ? app->users : -1,
		.state = link_in_room(&app->link) ? _("connecté")
			 : link_reconnecting(&app->link) ? _("reconnexion…") : _("déconnecté"),
		.lag_ms = link_in_room(&app->link) ? app->lag_ms : -1,
	};
	ui_set_status(&app->ui, &st);
}

void client_info(struct client_app *app, enum chat_kind kind, const char *text)
{
	struct chat_line line = {.kind = kind, .colour = -1, .text = text,
				 .text_len = strlen(text)};
	client_show(app, &line);
}

/* ---- the link's news ----------------------------------------------------- */

void client_run_until(struct client_app *app, bool (*done)(const struct client_app *app))
{
	while (!done(app) && !app->ending)
		if (uv_run(app->loop, UV_RUN_ONCE) == 0)
			break;
}

void client_hello(struct client_app *app)
{
	link_hello(&app->link, app->pseudo, app->room);
}

static void on_link_connected(struct link *link, int status)
{
	struct client_app *app = link->data;
	if (status < 0) {
		app->connect_status = status;
	} else if (link_reconnecting(link)) {
		/* With the token: the server takes us back; without (it was
		 * refused), as ourselves into our room again. */
		client_hello(app);
		client_status(app);
	}
}

static void on_link_welcome(struct link *link, const struct wire_msg *m, bool resumed)
{
	incoming_welcome(link->data, m, resumed);
}

static void on_link_frame(struct link *link, const struct wire_msg *m)
{
	if (!numbered_frame(link->data, m))
		incoming_frame(link->data, m);
}

static void on_link_lost(struct link *link, const char *why, bool retrying)
{
	struct client_app *app = link->data;
	app->lag_ms = -1;
	client_status(app);
	char msg[1100]; /* a refused TLS key: several lines */
	if (!retrying) {
		snprintf(msg, sizeof(msg), "chatroom: %s", why);
		client_end(app, 1, msg);
		return;
	}
	snprintf(msg, sizeof(msg), _("*** %s ; reconnexion…"), why);
	client_info(app, CHAT_INFO, msg);
}

/* TLS: whether to go on with this server (trust.h). Asked on the
 * terminal only before the interface is up (the first connection). */
static bool on_link_certificate(struct link *link, const struct tls_cert_check *check,
				char *why, size_t why_len)
{
	struct client_app *app = link->data;
	/* A key is pinned per node: one of a cluster's list is one server. */
	char node[sizeof(link->addresses[0].host) + 8];
	snprintf(node, sizeof(node), "%s:%d", link->addresses[link->current].host,
		 link->addresses[link->current].port);
	struct trust_request r = {
		.server = node,
		.pin = app->cfg.tls_pin,
		.known_path = app->known_path[0] != '\0' ? app->known_path : NULL,
		.can_ask = !app->ui_started && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO),
	};
	return trust_decide(&r, check, why, why_len);
}

/* Plain mode's end of input has reached the server. */
static void on_link_shut(struct link *link)
{
	client_end(link->data, 0, NULL);
}

/* ---- connecting and introducing ourselves ------------------------------- */

static bool connect_settled(const struct client_app *app)
{
	return link_connected(&app->link) || app->connect_status != 0;
}

int client_connect(struct client_app *app, uv_loop_t *loop,
		   const struct client_config *cfg)
{
	memset(app, 0, sizeof(*app));
	seen_init(&app->seen);
	app->loop = loop;
	app->cfg = *cfg;
	app->interactive = !cfg->plain && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	app->fullscreen = app->interactive && ui_terminal_usable();
	if (app->interactive && !app->fullscreen) {
		/* An emacs shell, say: lines it can show, not a screen to draw. */
		const char *term = getenv("TERM");
		fprintf(stderr, _("chatroom: ce terminal (TERM=%s) ne permet pas l'interface plein "
				  "écran : mode ligne, comme avec --plain\n"),
			term != NULL && term[0] != '\0' ? term : "?");
		app->cfg.ascii = true;
	}
	app->users = -1;
	app->lag_ms = -1;
	numbered_init(app);
	snprintf(app->server_name, sizeof(app->server_name), "%s:%d", cfg->address, cfg->port);
	app->colour = display_colour_wanted() && (app->fullscreen || !app->interactive);
	if (sessions_path(app->sessions_path, sizeof(app->sessions_path)) == NULL)
		app->sessions_path[0] = '\0';
	app->stdout_tty = isatty(STDOUT_FILENO);
	struct winsize ws;
	app->stdout_cols = app->stdout_tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0
		? ws.ws_col : 80;
	static const struct link_callbacks cb = {
		.on_connected = on_link_connected,
		.on_welcome = on_link_welcome,
		.on_frame = on_link_frame,
		.on_lost = on_link_lost,
		.on_shut = on_link_shut,
		.on_certificate = on_link_certificate,
	};
	if (cfg->tls && trust_known_path(app->known_path, sizeof(app->known_path)) == NULL)
		app->known_path[0] = '\0';
	struct link_options opt = {cfg->address, cfg->port, cfg->reconnect, cfg->tls,
				   cfg->ca_file};
	int rc = link_init(&app->link, loop, &opt, &cb, app);
	if (rc < 0) {
		fprintf(stderr, "chatroom: %s\n", app->link.error);
		return UV_EINVAL;
	}
	/* Without one (no state directory) the user is only its pseudo. */
	char identity_path[4200];
	int id_rc = identity_load(app->link.identity, identity_path, sizeof(identity_path));
	app->link.have_identity = id_rc == 0;
	if (id_rc < 0 && id_rc != -ENOENT)
		fprintf(stderr, _("chatroom: identité illisible (%s) : %s\n"), identity_path,
			i18n_strerror(id_rc));
	/* The full-screen client has a window a room: in several at once. */
	if (app->fullscreen)
		app->link.features = WIRE_FEATURE_ROOMS;

	/* Checked once the link is made: the caller's cleanup closes it. */
	struct link_address nodes[LINK_MAX_ADDRESSES];
	const char *cause;
	int count = link_parse_addresses(cfg->address, cfg->port, nodes, LINK_MAX_ADDRESSES,
					 &cause);
	if (count < 0) {
		fprintf(stderr, _("chatroom: adresse %s invalide : %s\n"), cfg->address, cause);
		return -EINVAL;
	}
	rc = link_connect(&app->link);
	if (rc == 0) {
		client_run_until(app, connect_settled);
		rc = app->connect_status;
	}
	if (rc < 0 && app->link.error[0] != '\0') {
		/* TLS says why: a handshake that failed, a certificate refused. */
		fprintf(stderr, "chatroom: %s\n", app->link.error);
		return rc;
	}
	if (rc < 0) {
		/* One node as "host:port"; a list as given. */
		if (count == 1)
			fprintf(stderr, _("chatroom: impossible de joindre %s:%d : %s\n"),
				nodes[0].host, nodes[0].port, i18n_strerror(rc));
		else
			fprintf(stderr, _("chatroom: impossible de joindre %s : %s\n"),
				cfg->address, i18n_strerror(rc));
		return rc;
	}
	return 0;
}

/* ---- the user's lines ---------------------------------------------------- */

/* A message sent, and shown as the course says ("Vous avez dit : …"). */
static void say(struct client_app *app, const char *line, size_t len)
{
	if (app->ui_started && ui_window(&app->ui)->kind == WINDOW_PRIVATE) {
		/* A private window's words go to its person; the server's echo
		 * ("Vous avez dit en privé à …") shows them there. */
		static char msg[sizeof("/msg ") + CHAT_ROOM_MAX + INPUTLINE_MAX];
		int n = snprintf(msg, sizeof(msg), "/msg %s %.*s", ui_window(&app->ui)->name,
				 (int)len, line);
		if (n > 0 && (size_t)n < sizeof(msg))
			commands_run(app, msg, (size_t)n);
		return;
	}
	if (app->ui_started && ui_window(&app->ui)->kind != WINDOW_ROOM) {
		client_info(app, CHAT_ERROR, _("Pas un salon : rien n'est envoyé d'ici (Alt+1 pour "
					       "le premier salon)."));
		return;
	}
	/* To the room of the window shown (several rooms at once). */
	struct wire_str room = {app->room, app->link.features ? strlen(app->room) : 0};
	link_send(&app->link, &(struct wire_msg){.type = WIRE_SAY, .text = {line, len},
						 .room = room,
						 .msg_id = numbered_id(app, room, line, len)});
	seen_own(&app->seen, app->room, app->pseudo, line, len); /* not shown again (seen.h) */
	/* Shown and logged in every mode: the log is the whole conversation. */
	size_t n = sanitize_text(line, len, app->clean, sizeof(app->clean), SANITIZE_KEEP_NEWLINES);
	struct chat_line own = {.kind = CHAT_OWN, .colour = -1, .text = app->clean, .text_len = n};
	client_show(app, &own);
}

/* Not in a room (a reconnection under way): the line waits, and says so;
 * it is never shown as said before it is. */
static void hold_line(struct client_app *app, const char *line, size_t len)
{
	char text[300];
	size_t shown = sanitize_text(line, len > 120 ? 120 : len, app->clean, sizeof(app->clean), 0);
	if (app->pending_count == CLIENT_PENDING_LINES ||
	    app->pending_bytes + len > CLIENT_PENDING_BYTES) {
		snprintf(text, sizeof(text),
			 _("Pas envoyé (pas de connexion, et déjà %zu lignes en attente) : %.*s"),
			 app->pending_count, (int)shown, app->clean);
		client_info(app, CHAT_ERROR, text);
		return;
	}
	char *copy = strndup(line, len);
	if (copy == NULL)
		return;
	app->pending[app->pending_count++] = copy;
	app->pending_bytes += len;
	snprintf(text, sizeof(text), _("En attente de la reconnexion, pas encore envoyé : %.*s"),
		 (int)shown, app->clean);
	client_info(app, CHAT_INFO, text);
}

void client_user_line(struct client_app *app, const char *line, size_t len)
{
	/* "//tmp est plein" says "/tmp est plein" (irssi's escape). */
	if (len > 1 && line[0] == '/' && line[1] == '/')
		line++, len--;
	else if (len > 0 && line[0] == '/') {
		commands_run(app, line, len);
		return;
	}
	if (len == 0)
		return;
	if (!link_in_room(&app->link)) {
		hold_line(app, line, len);
		return;
	}
	say(app, line, len);
}

void client_welcomed(struct client_app *app, const struct wire_msg *m)
{
	app->rejoining = false;
	numbered_welcomed(app, m); /* before what was typed meanwhile */
	unsigned char token[WIRE_TOKEN_LEN];
	if (app->sessions_path[0] != '\0' && link_token(&app->link, token)) {
		int rc = sessions_store(app->sessions_path, app->server_name, app->pseudo, token);
		if (rc < 0 && !app->sessions_warned) {
			app->sessions_warned = true;
			char text[600];
			snprintf(text, sizeof(text),
				 _("Impossible de garder la session dans %s : %s (pas de retour après "
				   "un redémarrage du client)"), app->sessions_path, i18n_strerror(rc));
			client_info(app, CHAT_ERROR, text);
		}
	}
	/* What was typed meanwhile goes now, in order. */
	size_t count = app->pending_count;
	app->pending_count = 0;
	app->pending_bytes = 0;
	for (size_t i = 0; i < count; i++) {
		say(app, app->pending[i], strlen(app->pending[i]));
		free(app->pending[i]);
	}
}

/* Another window shown: a room's is where we speak, and whose people the
 * status line counts. */
static void on_ui_switch(struct ui *ui)
{
	struct client_app *app = ui->data;
	const struct window *w = ui_window(ui);
	if (w->kind == WINDOW_ROOM && w->name[0] != '\0' && strcmp(w->name, app->room) != 0) {
		size_t n = strnlen(w->name, sizeof(app->room) - 1);
		memcpy(app->room, w->name, n);
		app->room[n] = '\0';
		app->users = -1;
		if (link_in_room(&app->link))
			incoming_count_people(app);
	}
	client_status(app);
}

static void on_ui_line(struct ui *ui, const char *line, size_t len)
{
	client_user_line(ui->data, line, len);
}

static void on_ui_quit(struct ui *ui)
{
	client_end(ui->data, 0, NULL);
}

static void free_early(struct chat_line *l)
{
	free((char *)l->pseudo);
	free((char *)l->text);
	if (l->picture != NULL) {
		picture_free((struct chat_picture *)l->picture);
		free((void *)l->picture);
	}
}

static int start_input(struct client_app *app)
{
	if (app->fullscreen) {
		static const struct ui_callbacks cb = {
			.on_line = on_ui_line,
			.on_switch = on_ui_switch,
			.on_quit = on_ui_quit,
		};
		struct ui_options opt = {.ascii_pictures = app->cfg.ascii, .mouse = app->cfg.mouse,
					 .ring = app->cfg.bell,
					 .names = &app->names, .room = app->room};
		opt.commands = commands_names(&opt.command_count);
		int rc = ui_start(&app->ui, app->loop, &cb, &opt, app);
		app->ui_started = rc == 0;
		for (size_t i = 0; i < app->early_count; i++) {
			struct chat_line *l = &app->early[i];
			if (app->ui_started && l->text != NULL)
				ui_show(&app->ui, l);
			free_early(l);
		}
		app->early_count = 0;
		client_status(app);
		link_start_pings(&app->link);
		return rc;
	}
	return plain_input_start(app);
}

/* ---- running --------------------------------------------------------------- */

void client_catch_signals(struct client_app *app)
{
	if (app->signals_open || app->ending)
		return;
	app->signals_open = true;
	uv_signal_init(app->loop, &app->sigint);
	app->sigint.data = app;
	uv_signal_start(&app->sigint, on_signal, SIGINT);
	uv_signal_init(app->loop, &app->sigterm);
	app->sigterm.data = app;
	uv_signal_start(&app->sigterm, on_signal, SIGTERM);
}

int client_run(struct client_app *app)
{
	client_catch_signals(app);

	int rc = start_input(app);
	if (rc < 0) {
		char msg[128];
		snprintf(msg, sizeof(msg), _("chatroom: démarrage impossible : %s"), i18n_strerror(rc));
		client_end(app, 1, msg);
	}
	uv_run(app->loop, UV_RUN_DEFAULT);
	plain_input_free(app);
	return app->exit_code;
}

void client_open_log(struct client_app *app)
{
	if (app->cfg.log_path == NULL)
		return;
	int rc = textlog_open(&app->convlog, app->loop, app->cfg.log_path);
	if (rc < 0)
		fprintf(stderr, _("chatroom: impossible d'ouvrir le journal %s : %s\n"),
			app->cfg.log_path, i18n_strerror(rc));
}

void client_free(struct client_app *app)
{
	for (size_t i = 0; i < app->early_count; i++)
		free_early(&app->early[i]);
	app->early_count = 0;
	for (size_t i = 0; i < app->pending_count; i++)
		free(app->pending[i]);
	app->pending_count = 0;
	outbox_free(&app->outbox);
	link_free(&app->link);
	textlog_close(&app->convlog);
	seen_free(&app->seen);
}
