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

static void close_if_open(uv_handle_t *h)
{
	if (h->type != UV_UNKNOWN_HANDLE && !uv_is_closing(h))
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
	else if (app->input_open && !app->stdin_is_file)
		close_if_open((uv_handle_t *)&app->stdin_pipe);
	app->ui_started = false;
	app->input_open = false;
	if (message != NULL)
		fprintf(stderr, "%s\n", message);
	link_close(app);
	close_if_open((uv_handle_t *)&app->sigint);
	close_if_open((uv_handle_t *)&app->sigterm);
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
		.connected = app->connected && app->welcomed,
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

/* ---- connecting and introducing ourselves ------------------------------- */

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
	uv_timer_init(loop, &app->retry_timer);
	app->retry_timer.data = app;
	uv_timer_init(loop, &app->ping_timer);
	app->ping_timer.data = app;

	int rc = link_connect(app);
	if (rc == 0) {
		while (!app->connected && app->connect_status == 0)
			if (uv_run(loop, UV_RUN_ONCE) == 0)
				break;
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
		link_send(app, &(struct wire_msg){.type = WIRE_ROOMS_ASK});
		link_wait(app, &app->rooms_known);
	}
	if (app->ending)
		return -1;
	printf("%s", _("Salons :"));
	for (size_t i = 0; i < app->room_count; i++)
		printf("%s %s (%u)", i ? "," : "", app->rooms[i], app->room_members[i]);
	printf(_("\nSalon à rejoindre ou à créer (Entrée : %s) : "),
	       app->room_count ? app->rooms[0] : "general");
	fflush(stdout);
	char line[256];
	size_t len = 0;
	if (read_line_raw(line, sizeof(line), &len) < 0)
		return -1;
	snprintf(app->room, sizeof(app->room), "%.*s", (int)(len > TEXT_MAX_ROOM ? TEXT_MAX_ROOM : len), line);
	return 0;
}

int client_introduce(struct client_app *app)
{
	for (;;) {
		if (choose_pseudo(app) < 0 || choose_room(app) < 0)
			return -1;
		app->hello_refused = false;
		link_hello(app);
		while (!app->welcomed && !app->hello_refused && !app->ending)
			if (uv_run(app->loop, UV_RUN_ONCE) == 0)
				break;
		if (app->ending) /* the welcome's frames may have ended it too */
			return -1;
		if (app->welcomed)
			return 0;
		fprintf(stderr, "chatroom: %s\n", app->refusal[0] ? app->refusal : "refused");
		if (!app->interactive || app->cfg.nick != NULL)
			return -1;
		app->pseudo[0] = '\0';
		app->room[0] = '\0';
	}
}

/* ---- the user's lines ---------------------------------------------------- */

static const char help_text[] = N_(
	"Commandes : /rooms (les salons), /join SALON (y aller ou le créer), "
	"/who (qui est là), /image FICHIER (envoyer une image PNG ou JPEG), "
	"/quit (ou Ctrl+C, Ctrl+D) pour partir.");

/* The file whole, if it is no larger than max (else *too_large). */
static char *read_file(const char *path, size_t max, size_t *len, bool *too_large)
{
	*too_large = false;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *data = malloc(max + 1);
	size_t n = data != NULL ? fread(data, 1, max + 1, f) : 0;
	bool failed = data == NULL || ferror(f);
	fclose(f);
	if (failed || n > max) {
		*too_large = !failed;
		free(data);
		return NULL;
	}
	*len = n;
	return data;
}

/* /image PATH: checked here first, as the server will check it again;
 * nothing is sent unless it is a sane PNG or JPEG. */
static void send_picture(struct client_app *app, const char *path)
{
	char why[512];
	size_t len = 0;
	bool too_large;
	char *data = read_file(path, app->cfg.image_max, &len, &too_large);
	const char *cause = NULL;
	struct chat_picture picture;
	if (data == NULL)
		cause = too_large ? "image trop lourde" : NULL;
	if (data == NULL && cause == NULL) {
		snprintf(why, sizeof(why), _("Image refusée : %s : %s"), path, strerror(errno));
		client_info(app, CHAT_ERROR, why);
		return;
	}
	if (data != NULL && picture_load(data, len, app->cfg.image_max, &picture, &cause) == 0) {
		const struct image_info info = picture.source;
		link_send(app, &(struct wire_msg){
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

static bool is_command(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);
	return len >= n && memcmp(line, name, n) == 0 && (len == n || line[n] == ' ');
}

static void on_user_line(struct client_app *app, const char *line, size_t len)
{
	if (len > 0 && line[0] == '/') {
		if (is_command(line, len, "/quit") || is_command(line, len, "/exit")) {
			client_end(app, 0, NULL);
		} else if (is_command(line, len, "/help")) {
			client_info(app, CHAT_INFO, _(help_text));
		} else if (is_command(line, len, "/rooms")) {
			link_send(app, &(struct wire_msg){.type = WIRE_ROOMS_ASK});
		} else if (is_command(line, len, "/who")) {
			link_send(app, &(struct wire_msg){.type = WIRE_WHO_ASK});
		} else if (len > 7 && is_command(line, len, "/image")) {
			char path[4096];
			snprintf(path, sizeof(path), "%.*s", (int)(len - 7), line + 7);
			send_picture(app, path);
		} else if (len > 6 && is_command(line, len, "/join")) {
			link_send(app, &(struct wire_msg){.type = WIRE_JOIN,
							  .room = {line + 6, len - 6}});
		} else {
			char hint[128];
			size_t n = sanitize_text(line, len > 32 ? 32 : len, app->clean, 100, 0);
			snprintf(hint, sizeof(hint), _("Commande inconnue %.*s. /help les liste."),
				 (int)n, app->clean);
			client_info(app, CHAT_ERROR, hint);
		}
		return;
	}
	if (len == 0)
		return;
	link_send(app, &(struct wire_msg){.type = WIRE_SAY, .text = {line, len}});
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
static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	client_end(req->data, 0, NULL);
}

static void plain_input_ended(struct client_app *app)
{
	const char *line;
	size_t len;
	if (linereader_take_partial(&app->from_user, &line, &len) == 1)
		on_user_line(app, line, len);
	if (app->ending)
		return;
	if (!app->stdin_is_file)
		close_if_open((uv_handle_t *)&app->stdin_pipe);
	app->input_open = false;
	app->shutdown_req.data = app;
	if (!app->connected ||
	    uv_shutdown(&app->shutdown_req, (uv_stream_t *)&app->tcp, on_shutdown) < 0)
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
		link_start_pings(app);
		return rc;
	}
	linereader_init(&app->from_user, INPUTLINE_MAX);
	app->input_open = true;
	if (uv_guess_handle(STDIN_FILENO) == UV_NAMED_PIPE) {
		uv_pipe_init(app->loop, &app->stdin_pipe, 0);
		app->stdin_pipe.data = app;
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
	if (app->catching_signals || app->ending)
		return;
	app->catching_signals = true;
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
	wire_decoder_free(&app->from_server);
	textlog_close(&app->convlog);
}
