#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sanitize.h"

/* ---- ending the session ------------------------------------------------ */

static void close_if_open(uv_handle_t *h)
{
	if (h->type != UV_UNKNOWN_HANDLE && !uv_is_closing(h))
		uv_close(h, NULL);
}

/* Closes every handle; the loop then runs dry and client_run returns.
 * `message` (may be NULL) is printed once the terminal is restored. */
static void end_session(struct client_app *app, int exit_code, const char *message)
{
	if (app->ending)
		return;
	app->ending = true;
	app->exit_code = exit_code;
	if (app->interactive)
		lineedit_close(&app->editor, NULL);
	else if (app->input_open && !app->stdin_is_file)
		close_if_open((uv_handle_t *)&app->stdin_pipe);
	app->input_open = false;
	if (message != NULL)
		fprintf(stderr, "%s\n", message);
	if (app->tcp_open)
		close_if_open((uv_handle_t *)&app->tcp);
	close_if_open((uv_handle_t *)&app->sigint);
	close_if_open((uv_handle_t *)&app->sigterm);
}

static void on_signal(uv_signal_t *sig, int signum)
{
	(void)signum;
	end_session(sig->data, 0, NULL);
}

/* ---- connecting ---------------------------------------------------------- */

static void on_connected(uv_connect_t *req, int status)
{
	struct client_app *app = req->data;
	app->connect_status = status;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct client_app *app = req->data;
	if (status < 0) {
		app->connect_status = status;
		return;
	}
	int rc = uv_tcp_connect(&app->connect_req, &app->tcp, res->ai_addr,
				on_connected);
	uv_freeaddrinfo(res);
	if (rc < 0)
		app->connect_status = rc;
}

int client_connect(struct client_app *app, uv_loop_t *loop,
		   const struct client_config *cfg)
{
	memset(app, 0, sizeof(*app));
	app->loop = loop;
	app->cfg = *cfg;
	app->interactive = !cfg->plain && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);

	uv_tcp_init(loop, &app->tcp);
	app->tcp.data = app;
	app->tcp_open = true;
	app->connect_req.data = app;
	app->resolve_req.data = app;

	char port[16];
	snprintf(port, sizeof(port), "%d", cfg->port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	int rc = uv_getaddrinfo(loop, &app->resolve_req, on_resolved, cfg->address,
				port, &hints);
	if (rc == 0) {
		uv_run(loop, UV_RUN_DEFAULT);
		rc = app->connect_status;
	}
	if (rc < 0) {
		fprintf(stderr, "chatroom: cannot connect to %s:%d: %s\n",
			cfg->address, cfg->port, uv_strerror(rc));
		return rc;
	}
	/* Chat lines are small and must not wait for Nagle's delay. */
	uv_tcp_nodelay(&app->tcp, 1);
	return 0;
}

/* ---- the pseudo, asked before the concurrent tasks start -------------- */

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

int client_choose_pseudo(struct client_app *app)
{
	if (app->cfg.nick != NULL)
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
		fputs("Pseudo : ", stdout);
		fflush(stdout);
		if (read_line_raw(line, sizeof(line), &len) < 0)
			return -1;
		if (accept_pseudo(app, line, len) == 0)
			return 0;
	}
}

/* ---- sending ------------------------------------------------------------- */

struct outgoing {
	uv_write_t req;
	size_t len;
	char data[];
};

static void on_sent(uv_write_t *req, int status)
{
	struct outgoing *out = (struct outgoing *)req;
	struct client_app *app = req->data;
	free(out);
	if (status < 0 && status != UV_ECANCELED) {
		char msg[128];
		snprintf(msg, sizeof(msg), "chatroom: lost the server: %s",
			 uv_strerror(status));
		end_session(app, 1, msg);
	}
}

/* Sends one line; the '\n' is added here. */
static void send_line(struct client_app *app, const char *text, size_t len)
{
	if (app->ending)
		return;
	struct outgoing *out = malloc(sizeof(*out) + len + 1);
	if (out == NULL) {
		end_session(app, 1, "chatroom: out of memory");
		return;
	}
	memcpy(out->data, text, len);
	out->data[len] = '\n';
	out->len = len + 1;
	out->req.data = app;
	uv_buf_t buf = uv_buf_init(out->data, (unsigned)out->len);
	int rc = uv_write(&out->req, (uv_stream_t *)&app->tcp, &buf, 1, on_sent);
	if (rc < 0) {
		free(out);
		end_session(app, 1, "chatroom: cannot write to the server");
	}
}

/* ---- showing ------------------------------------------------------------- */

/* Shows one line of text; nothing from the network reaches the terminal
 * unsanitised, even from our own server. */
static void show(struct client_app *app, const char *text, size_t len)
{
	size_t n = sanitize_text(text, len, app->clean, sizeof(app->clean), 0);
	if (app->convlog.open) {
		textlog_line(&app->convlog, 0, "", app->clean, n);
		textlog_tick(&app->convlog); /* a retry, if the disk was full */
		textlog_kick(&app->convlog);
	}
	if (app->interactive) {
		lineedit_print(&app->editor, app->clean, n);
	} else {
		fwrite(app->clean, 1, n, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	}
}

/* ---- the user's lines ---------------------------------------------------- */

static const char help_text[] =
	"Commands: /quit (or Ctrl+C, Ctrl+D) leaves; /help shows this.";

static void on_user_line(struct client_app *app, const char *line, size_t len)
{
	if (len > 0 && line[0] == '/') {
		if ((len == 5 && memcmp(line, "/quit", 5) == 0) ||
		    (len == 5 && memcmp(line, "/exit", 5) == 0)) {
			end_session(app, 0, NULL);
			return;
		}
		if (len == 5 && memcmp(line, "/help", 5) == 0) {
			show(app, help_text, sizeof(help_text) - 1);
			return;
		}
		if (app->interactive) {
			char hint[96];
			int n = snprintf(hint, sizeof(hint),
				"Unknown command %.*s. /help lists the commands.",
				(int)(len > 32 ? 32 : len), line);
			show(app, hint, (size_t)n);
			return;
		}
	}
	if (len == 0)
		return;
	send_line(app, line, len);
	if (app->interactive) {
		char echo[LINEEDIT_MAX + 32];
		int n = snprintf(echo, sizeof(echo), "Vous avez dit : %.*s",
				 (int)len, line);
		show(app, echo, (size_t)n);
	}
}

static void on_editor_line(struct lineedit *le, const char *line, size_t len)
{
	on_user_line(le->data, line, len);
}

static void on_editor_quit(struct lineedit *le)
{
	end_session(le->data, 0, NULL);
}

/* Plain mode: stdin is a pipe or a file; every line is a message and end
 * of input ends the session once what was typed has reached the server. */
static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	end_session(req->data, 0, NULL);
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
	if (uv_shutdown(&app->shutdown_req, (uv_stream_t *)&app->tcp, on_shutdown) < 0)
		end_session(app, 0, NULL);
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
			end_session(app, 1, "chatroom: input line too long");
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
	app->stdin_offset += n;
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

static int start_input(struct client_app *app)
{
	if (app->interactive) {
		static const struct lineedit_callbacks cb = {
			.on_line = on_editor_line,
			.on_quit = on_editor_quit,
		};
		return lineedit_start(&app->editor, app->loop, "> ", &cb, app);
	}
	linereader_init(&app->from_user, LINEEDIT_MAX);
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

/* ---- the server's lines -------------------------------------------------- */

static void on_server_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct client_app *app = handle->data;
	*buf = uv_buf_init(app->read_buf, sizeof(app->read_buf));
}

static void on_server_data(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct client_app *app = stream->data;
	if (nread < 0) {
		/* A last line may come without its '\n'. */
		const char *line;
		size_t len;
		if (linereader_take_partial(&app->from_server, &line, &len) == 1)
			show(app, line, len);
		char msg[160];
		snprintf(msg, sizeof(msg), nread == UV_EOF
			 ? "chatroom: the server at %s:%d closed the connection"
			 : "chatroom: lost the server at %s:%d: %s",
			 app->cfg.address, app->cfg.port, uv_strerror((int)nread));
		end_session(app, 1, msg);
		return;
	}
	linereader_feed(&app->from_server, buf->base, (size_t)nread);
	for (;;) {
		const char *line;
		size_t len;
		int rc = linereader_next(&app->from_server, &line, &len);
		if (rc == 0 || app->ending)
			return;
		if (rc < 0) {
			end_session(app, 1, "chatroom: the server sent a line too long");
			return;
		}
		show(app, line, len);
	}
}

int client_run(struct client_app *app)
{
	uv_signal_init(app->loop, &app->sigint);
	app->sigint.data = app;
	uv_signal_start(&app->sigint, on_signal, SIGINT);
	uv_signal_init(app->loop, &app->sigterm);
	app->sigterm.data = app;
	uv_signal_start(&app->sigterm, on_signal, SIGTERM);

	if (app->cfg.log_path != NULL) {
		int rc = textlog_open(&app->convlog, app->loop, app->cfg.log_path);
		if (rc < 0)
			fprintf(stderr, "chatroom: cannot open the log %s: %s\n",
				app->cfg.log_path, uv_strerror(rc));
	}
	linereader_init(&app->from_server, 8192);
	char hello[TEXT_MAX_PSEUDO + 8];
	int n = snprintf(hello, sizeof(hello), "Hello|%s", app->pseudo);
	send_line(app, hello, (size_t)n);

	int rc = uv_read_start((uv_stream_t *)&app->tcp, on_server_alloc, on_server_data);
	if (rc == 0)
		rc = start_input(app);
	if (rc < 0) {
		char msg[128];
		snprintf(msg, sizeof(msg), "chatroom: cannot start: %s", uv_strerror(rc));
		end_session(app, 1, msg);
	}
	uv_run(app->loop, UV_RUN_DEFAULT);
	linereader_free(&app->from_server);
	linereader_free(&app->from_user);
	return app->exit_code;
}

void client_free(struct client_app *app)
{
	textlog_close(&app->convlog);
}
