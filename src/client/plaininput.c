/*
 * plaininput: the session's input in plain mode (--plain, TERM=dumb, or
 * stdin not a terminal): stdin read as a pipe, a terminal or a file, cut
 * into lines, each one the user's (client_user_line). End of input ends
 * the session once what was typed has reached the server.
 *
 * It owns client_app's stdin_pipe, stdin_tty, stdin_read, stdin_buf,
 * from_user, input_open and stdin_is_file: plain_input_close closes the
 * handles (from client_end too), plain_input_free frees the line reader.
 */
#include "client.h"

#include <stdio.h>
#include <unistd.h>

#include "i18n.h"

/* Closes a handle of the session's once, if it was opened. */
static void close_handle(uv_handle_t *h, bool *open)
{
	if (!*open)
		return;
	*open = false;
	uv_close(h, NULL);
}

/* Plain mode: stdin is a pipe, a file or a terminal; every line is a
 * message and end of input ends the session once what was typed has
 * reached the server. */
static void plain_input_ended(struct client_app *app)
{
	const char *line;
	size_t len;
	if (linereader_take_partial(&app->from_user, &line, &len) == 1)
		client_user_line(app, line, len);
	if (app->ending)
		return;
	plain_input_close(app);
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
			char msg[160];
			snprintf(msg, sizeof(msg), _("chatroom: ligne lue trop longue (plus de %u octets)"),
				 (unsigned)INPUTLINE_MAX);
			client_end(app, 1, msg);
			return;
		}
		client_user_line(app, line, n);
	}
}

static void on_stdin_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct client_app *app = handle->data;
	*buf = uv_buf_init(app->stdin_buf, sizeof(app->stdin_buf));
}

static void on_stdin_stream(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
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

int plain_input_start(struct client_app *app)
{
	linereader_init(&app->from_user, INPUTLINE_MAX);
	app->input_open = true;
	if (uv_guess_handle(STDIN_FILENO) == UV_NAMED_PIPE) {
		uv_pipe_init(app->loop, &app->stdin_pipe, 0);
		app->stdin_pipe.data = app;
		app->stdin_pipe_open = true;
		int rc = uv_pipe_open(&app->stdin_pipe, STDIN_FILENO);
		if (rc == 0)
			rc = uv_read_start((uv_stream_t *)&app->stdin_pipe,
					   on_stdin_alloc, on_stdin_stream);
		return rc;
	}
	if (uv_guess_handle(STDIN_FILENO) == UV_TTY) {
		/* Plain lines on a terminal (--plain, TERM=dumb): read as a
		 * stream, which closes when the session ends. */
		int rc = uv_tty_init(app->loop, &app->stdin_tty, STDIN_FILENO, 1);
		if (rc < 0)
			return rc;
		app->stdin_tty.data = app;
		app->stdin_tty_open = true;
		return uv_read_start((uv_stream_t *)&app->stdin_tty, on_stdin_alloc,
				     on_stdin_stream);
	}
	app->stdin_is_file = true;
	read_stdin_file(app);
	return 0;
}

void plain_input_close(struct client_app *app)
{
	close_handle((uv_handle_t *)&app->stdin_pipe, &app->stdin_pipe_open);
	close_handle((uv_handle_t *)&app->stdin_tty, &app->stdin_tty_open);
	app->input_open = false;
}

void plain_input_free(struct client_app *app)
{
	linereader_free(&app->from_user);
}
