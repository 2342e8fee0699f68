#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "chatpicture.h"
#include "display.h"
#include "i18n.h"
#include "sanitize.h"

/* ---- ending the session ------------------------------------------------ */

/* Closes a handle of the session's once, if it was opened. */
static void close_handle(uv_handle_t *h, bool *open)
{
	if (!*open)
		return;
	*open = false;
	uv_close(h, NULL);
}

void client_end(struct client_app *app, int exit_code, const char *message)
{
	if (app->ending)
		return;
	app->ending = true;
	app->exit_code = exit_code;
	if (app->ui_started)
		ui_close(&app->ui); /* the terminal back, before any message */
	close_handle((uv_handle_t *)&app->stdin_pipe, &app->stdin_pipe_open);
	app->ui_started = false;
	app->input_open = false;
	if (message != NULL)
		fprintf(stderr, "%s\n", message);
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
	} else if (app->interactive && !app->ending) {
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
	struct ui_status st = {
		.server = app->server_name,
		.room = app->room,
		.pseudo = app->pseudo,
		.users = app->users,
		.connected = link_connected(&app->link) && link_welcomed(&app->link),
		.lag_ms = app->lag_ms,
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

/* Runs the loop until done(app) or the end of the session. */
static void run_until(struct client_app *app, bool (*done)(const struct client_app *app))
{
	while (!done(app) && !app->ending)
		if (uv_run(app->loop, UV_RUN_ONCE) == 0)
			break;
}

static void say_hello(struct client_app *app)
{
	link_hello(&app->link, app->pseudo, app->room);
}

static void on_link_connected(struct link *link, int status)
{
	struct client_app *app = link->data;
	if (status < 0)
		app->connect_status = status;
	else if (link_reconnecting(link))
		say_hello(app); /* with the token: the server takes us back */
}

static void on_link_welcome(struct link *link, const struct wire_msg *m, bool resumed)
{
	incoming_welcome(link->data, m, resumed);
}

static void on_link_frame(struct link *link, const struct wire_msg *m)
{
	incoming_frame(link->data, m);
}

static void on_link_lost(struct link *link, const char *why, bool retrying)
{
	struct client_app *app = link->data;
	app->lag_ms = -1;
	client_status(app);
	char msg[240];
	if (!retrying) {
		snprintf(msg, sizeof(msg), "chatroom: %s", why);
		client_end(app, 1, msg);
		return;
	}
	snprintf(msg, sizeof(msg), _("*** %s ; reconnexion…"), why);
	client_info(app, CHAT_INFO, msg);
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
	app->loop = loop;
	app->cfg = *cfg;
	app->interactive = !cfg->plain && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	app->users = -1;
	app->lag_ms = -1;
	snprintf(app->server_name, sizeof(app->server_name), "%s:%d", cfg->address, cfg->port);
	app->colour = display_colour_wanted();
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
	};
	link_init(&app->link, loop,
		  &(struct link_options){cfg->address, cfg->port, cfg->reconnect}, &cb, app);

	int rc = link_connect(&app->link);
	if (rc == 0) {
		run_until(app, connect_settled);
		rc = app->connect_status;
	}
	if (rc < 0) {
		fprintf(stderr, "chatroom: cannot connect to %s:%d: %s\n",
			cfg->address, cfg->port, uv_strerror(rc));
		return rc;
	}
	return 0;
}

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

static int accept_pseudo(struct client_app *app, const char *pseudo, size_t len)
{
	const char *cause;
	if (textproto_check_pseudo(pseudo, len, &cause) < 0) {
		fprintf(stderr, "chatroom: invalid pseudo: %s\n", cause);
		return -1;
	}
	memcpy(app->pseudo, pseudo, len);
	app->pseudo[len] = '\0';
	return 0;
}

static int choose_pseudo(struct client_app *app)
{
	if (app->cfg.nick != NULL && app->pseudo[0] == '\0')
		return accept_pseudo(app, app->cfg.nick, strlen(app->cfg.nick));
	char line[256];
	size_t len = 0;
	if (!app->interactive) {
		if (read_line_raw(line, sizeof(line), &len) < 0) {
			fprintf(stderr, "chatroom: no pseudo: give --nick or a first input line\n");
			return -1;
		}
		return accept_pseudo(app, line, len);
	}
	for (;;) {
		fputs(_("Pseudo : "), stdout);
		fflush(stdout);
		if (read_line_raw(line, sizeof(line), &len) < 0)
			return -1;
		if (accept_pseudo(app, line, len) == 0)
			return 0;
	}
}

static bool rooms_known(const struct client_app *app)
{
	return app->rooms_known;
}

/* On a terminal: the rooms and their people, then the user's choice
 * (Enter for the default, or a new name to create one). */
static int choose_room(struct client_app *app)
{
	if (app->cfg.room != NULL) {
		snprintf(app->room, sizeof(app->room), "%s", app->cfg.room);
		return 0;
	}
	if (!app->interactive)
		return 0;
	if (!app->rooms_known) {
		link_send(&app->link, &(struct wire_msg){.type = WIRE_ROOMS_ASK});
		run_until(app, rooms_known);
	}
	if (app->ending)
		return -1;
	printf("%s", _("Salons :"));
	for (size_t i = 0; i < app->room_count; i++)
		printf("%s %s (%u)", i ? "," : "", app->rooms[i], app->room_members[i]);
	printf(_("\nSalon à rejoindre ou à créer (Entrée : %s) : "),
	       app->room_count ? app->rooms[0] : ROOM_DEFAULT_NAME);
	fflush(stdout);
	char line[256];
	size_t len = 0;
	if (read_line_raw(line, sizeof(line), &len) < 0)
		return -1;
	snprintf(app->room, sizeof(app->room), "%.*s", (int)(len > TEXT_MAX_ROOM ? TEXT_MAX_ROOM : len), line);
	return 0;
}

static bool hello_answered(const struct client_app *app)
{
	return link_welcomed(&app->link) || app->hello_refused;
}

int client_introduce(struct client_app *app)
{
	for (;;) {
		if (choose_pseudo(app) < 0 || choose_room(app) < 0)
			return -1;
		app->hello_refused = false;
		say_hello(app);
		run_until(app, hello_answered);
		if (app->ending) /* the welcome's frames may have ended it too */
			return -1;
		if (link_welcomed(&app->link))
			return 0;
		fprintf(stderr, "chatroom: %s\n", app->refusal[0] ? app->refusal : "refused");
		if (!app->interactive || app->cfg.nick != NULL)
			return -1;
		app->pseudo[0] = '\0';
		app->room[0] = '\0';
	}
}

/* ---- the user's lines ---------------------------------------------------- */

static void on_user_line(struct client_app *app, const char *line, size_t len)
{
	if (len > 0 && line[0] == '/') {
		commands_run(app, line, len);
		return;
	}
	if (len == 0)
		return;
	link_send(&app->link, &(struct wire_msg){.type = WIRE_SAY, .text = {line, len}});
	/* Shown and logged in every mode: the log is the whole conversation. */
	size_t n = sanitize_text(line, len, app->clean, sizeof(app->clean), SANITIZE_KEEP_NEWLINES);
	struct chat_line own = {.kind = CHAT_OWN, .colour = -1, .text = app->clean, .text_len = n};
	client_show(app, &own);
}

static void on_ui_line(struct ui *ui, const char *line, size_t len)
{
	on_user_line(ui->data, line, len);
}

static void on_ui_quit(struct ui *ui)
{
	client_end(ui->data, 0, NULL);
}

/* Plain mode: stdin is a pipe or a file; every line is a message and end
 * of input ends the session once what was typed has reached the server. */
static void plain_input_ended(struct client_app *app)
{
	const char *line;
	size_t len;
	if (linereader_take_partial(&app->from_user, &line, &len) == 1)
		on_user_line(app, line, len);
	if (app->ending)
		return;
	close_handle((uv_handle_t *)&app->stdin_pipe, &app->stdin_pipe_open);
	app->input_open = false;
	/* What was typed reaches the server first (on_link_shut). */
	if (link_shutdown(&app->link) < 0)
		client_end(app, 0, NULL);
}

static void plain_input(struct client_app *app, const char *data, size_t len)
{
	linereader_feed(&app->from_user, data, len);
	for (;;) {
		const char *line;
		size_t n;
		int rc = linereader_next(&app->from_user, &line, &n);
		if (rc == 0 || app->ending)
			return;
		if (rc < 0) {
			client_end(app, 1, "chatroom: input line too long");
			return;
		}
		on_user_line(app, line, n);
	}
}

static void on_stdin_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct client_app *app = handle->data;
	*buf = uv_buf_init(app->stdin_buf, sizeof(app->stdin_buf));
}

static void on_stdin_pipe(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct client_app *app = stream->data;
	if (nread < 0)
		plain_input_ended(app);
	else if (nread > 0)
		plain_input(app, buf->base, (size_t)nread);
}

static void read_stdin_file(struct client_app *app);

static void on_stdin_file(uv_fs_t *req)
{
	struct client_app *app = req->data;
	ssize_t n = req->result;
	uv_fs_req_cleanup(req);
	if (app->ending)
		return;
	if (n <= 0) {
		plain_input_ended(app);
		return;
	}
	plain_input(app, app->stdin_buf, (size_t)n);
	if (!app->ending && app->input_open)
		read_stdin_file(app);
}

static void read_stdin_file(struct client_app *app)
{
	uv_buf_t buf = uv_buf_init(app->stdin_buf, sizeof(app->stdin_buf));
	app->stdin_read.data = app;
	/* -1: the file's current position, which the pseudo line advanced. */
	if (uv_fs_read(app->loop, &app->stdin_read, STDIN_FILENO, &buf, 1, -1,
		       on_stdin_file) < 0)
		plain_input_ended(app);
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
	if (app->interactive) {
		static const struct ui_callbacks cb = {
			.on_line = on_ui_line,
			.on_quit = on_ui_quit,
		};
		int rc = ui_start(&app->ui, app->loop, &cb, app);
		app->ui_started = rc == 0;
		app->ui.ascii_pictures = app->cfg.ascii;
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
	linereader_init(&app->from_user, INPUTLINE_MAX);
	app->input_open = true;
	if (uv_guess_handle(STDIN_FILENO) == UV_NAMED_PIPE) {
		uv_pipe_init(app->loop, &app->stdin_pipe, 0);
		app->stdin_pipe.data = app;
		app->stdin_pipe_open = true;
		int rc = uv_pipe_open(&app->stdin_pipe, STDIN_FILENO);
		if (rc == 0)
			rc = uv_read_start((uv_stream_t *)&app->stdin_pipe,
					   on_stdin_alloc, on_stdin_pipe);
		return rc;
	}
	app->stdin_is_file = true;
	read_stdin_file(app);
	return 0;
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
		snprintf(msg, sizeof(msg), "chatroom: cannot start: %s", uv_strerror(rc));
		client_end(app, 1, msg);
	}
	uv_run(app->loop, UV_RUN_DEFAULT);
	linereader_free(&app->from_user);
	return app->exit_code;
}

void client_open_log(struct client_app *app)
{
	if (app->cfg.log_path == NULL)
		return;
	int rc = textlog_open(&app->convlog, app->loop, app->cfg.log_path);
	if (rc < 0)
		fprintf(stderr, "chatroom: cannot open the log %s: %s\n", app->cfg.log_path,
			uv_strerror(rc));
}

void client_free(struct client_app *app)
{
	for (size_t i = 0; i < app->early_count; i++)
		free_early(&app->early[i]);
	app->early_count = 0;
	link_free(&app->link);
	textlog_close(&app->convlog);
}
