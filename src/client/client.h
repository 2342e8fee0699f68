/*
 * client: the chatroom client's connection and its two concurrent tasks,
 * the user's input and the server's messages, on one libuv loop.
 *
 * main() makes one struct client_app; client.c owns its TCP handle, the
 * user-input side (a raw-mode line editor on a terminal, a plain line
 * reader on a pipe or file) and the signal handles, and closes them all
 * when the session ends.
 */
#ifndef CHATROOM_CLIENT_H
#define CHATROOM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "lineedit.h"
#include "textlog.h"
#include "linereader.h"
#include "textproto.h"

struct client_config {
	const char *address;
	int port;
	const char *nick; /* NULL: ask (terminal) or first input line (plain) */
	bool plain;       /* force the plain line mode */
	const char *log_path; /* the conversation log; NULL for none */
};

#define CLIENT_DEFAULT_PORT 8888

struct client_app {
	uv_loop_t *loop;
	struct client_config cfg;
	bool interactive; /* a terminal: line editor; else plain lines */

	uv_tcp_t tcp;
	uv_connect_t connect_req;
	uv_getaddrinfo_t resolve_req;
	uv_shutdown_t shutdown_req;
	bool tcp_open;
	int connect_status;
	struct linereader from_server;
	char read_buf[64 * 1024];
	char clean[3 * 8192];

	/* User input: exactly one of these is in use. */
	struct lineedit editor;
	uv_pipe_t stdin_pipe;
	uv_fs_t stdin_read;
	char stdin_buf[4096];
	int64_t stdin_offset;
	struct linereader from_user;
	bool input_open;
	bool stdin_is_file;

	uv_signal_t sigint, sigterm;
	struct textlog convlog;
	char pseudo[TEXT_MAX_PSEUDO + 1];
	bool ending;
	int exit_code;
};

/* Connects (running the loop until done). 0, or a UV_E* code with a
 * message already printed. */
int client_connect(struct client_app *app, uv_loop_t *loop,
		   const struct client_config *cfg);

/* Asks for the pseudo, synchronously, before any concurrent task starts.
 * 0, or -1 with a message printed. */
int client_choose_pseudo(struct client_app *app);

/* Says hello, starts both tasks and runs the loop until the session ends.
 * Returns the process exit status. */
int client_run(struct client_app *app);

/* Once the loop has run dry: closes the conversation log. */
void client_free(struct client_app *app);

#endif
