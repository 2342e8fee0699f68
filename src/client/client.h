/*
 * client: the chatroom client's session: the connection to the server
 * (binary protocol, see wire.h and docs/protocol.md) and its two
 * concurrent tasks, the user's input and the server's messages, on one
 * libuv loop.
 *
 * main() makes one struct client_app; client.c owns the user-input side
 * (the full-screen interface on a terminal, see ui.h; a plain line reader
 * on a pipe or file), the signal handles and the log; link.c owns the TCP handle, the
 * frame decoder and reconnection. Everything is closed when the session
 * ends and the loop runs dry.
 */
#ifndef CHATROOM_CLIENT_H
#define CHATROOM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "chatline.h"
#include "ui.h"
#include "linereader.h"
#include "textlog.h"
#include "textproto.h"
#include "wire.h"

struct client_config {
	const char *address;
	int port;
	const char *nick;     /* NULL: ask (terminal) or first input line (plain) */
	const char *room;     /* NULL: ask (terminal) or the default room (plain) */
	bool plain;           /* force the plain line mode */
	bool reconnect;       /* on a dropped connection, resume with backoff */
	const char *log_path; /* the conversation log; NULL for none */
	bool ascii;           /* pictures in plain ASCII even on a terminal */
	size_t image_max;     /* the largest picture sent or shown */
};

#define CLIENT_DEFAULT_PORT 8888
#define CLIENT_MAX_ROOMS 64
/* Lines kept until the full-screen UI starts: a room's history fits. */
#define CLIENT_EARLY_LINES 256
/* Maximum length of a typed message (bytes). */
#define CLIENT_MAX_INPUT INPUTLINE_MAX

struct client_app {
	uv_loop_t *loop;
	struct client_config cfg;
	bool interactive; /* a terminal: the full-screen UI; else plain lines */
	bool colour;
	bool stdout_tty;  /* plain mode: pictures drawn in colour, this wide */
	int stdout_cols;

	/* The link to the server (link.c). */
	uv_tcp_t tcp;
	bool tcp_open;
	uv_connect_t connect_req;
	uv_getaddrinfo_t resolve_req;
	uv_shutdown_t shutdown_req;
	int connect_status;
	bool connected;
	struct wire_decoder from_server;
	char read_buf[64 * 1024];
	uv_timer_t retry_timer;
	unsigned retries;
	bool reconnecting;

	/* What the server told us. */
	bool welcomed;
	bool hello_refused;      /* a refused pseudo or room: ask again */
	char refusal[256];
	bool rooms_known;
	size_t room_count;
	char rooms[CLIENT_MAX_ROOMS][TEXT_MAX_ROOM + 1];
	unsigned room_members[CLIENT_MAX_ROOMS];
	unsigned char token[WIRE_TOKEN_LEN];
	bool have_token;
	uint64_t user_id;        /* ours, from the welcome */
	uint64_t last_event_id;  /* the newest event we showed */
	char room[TEXT_MAX_ROOM + 1];
	char pseudo[TEXT_MAX_PSEUDO + 1];
	char clean[3 * WIRE_MAX_TEXT + 64];
	char shown[4 * WIRE_MAX_TEXT];

	/* User input: exactly one of these is in use. */
	struct ui ui;
	bool ui_started;
	/* Lines that came before the UI was up (the history, the welcome). */
	struct chat_line early[CLIENT_EARLY_LINES];
	size_t early_count;
	int users;               /* in our room, for the status line (-1: unknown) */
	unsigned quiet_who;      /* WHO answers that only feed the status line */
	int lag_ms;
	uv_timer_t ping_timer;
	bool pong_outstanding;   /* a PONG of ours waits to be written */
	uv_pipe_t stdin_pipe;
	uv_fs_t stdin_read;
	char stdin_buf[4096];
	char server_name[300];
	struct linereader from_user;
	bool input_open;
	bool stdin_is_file;

	uv_signal_t sigint, sigterm;
	bool catching_signals;
	struct textlog convlog;
	bool ending;
	int exit_code;
};

/* Connects and says the binary hello (running the loop until done). 0, or
 * a UV_E* code with a message already printed. */
int client_connect(struct client_app *app, uv_loop_t *loop,
		   const struct client_config *cfg);

/* Asks for the pseudo and the room, synchronously, before any concurrent
 * task starts, until the server welcomes us. 0, or -1 with a message
 * printed. */
int client_introduce(struct client_app *app);

/* Starts both tasks and runs the loop until the session ends. Returns the
 * process exit status. */
int client_run(struct client_app *app);

/* Opens the conversation log (before anything is shown). */
void client_open_log(struct client_app *app);

/* Once the loop has run dry: closes the conversation log. */
void client_free(struct client_app *app);

/* ---- between client.c and link.c ---------------------------------------- */

/* Shows one line (already sanitised) in the current mode, and logs it. */
void client_show(struct client_app *app, const struct chat_line *line);
/* Tells the status line what changed (room, people, connection, lag). */
void client_status(struct client_app *app);
/* Shows a line of the client's own. */
void client_info(struct client_app *app, enum chat_kind kind, const char *text);
/* From the welcome on, Ctrl+C and SIGTERM leave cleanly (status 0);
 * before it, at the pseudo prompt, they end the process as usual. */
void client_catch_signals(struct client_app *app);
/* Ends the session: closes every handle; message printed after the
 * terminal is restored. */
void client_end(struct client_app *app, int exit_code, const char *message);

/* incoming.c: the server's frames made into lines, every string sanitised
 * and every number within its range (the server is not trusted). */
void incoming_event(struct client_app *app, enum wire_type type, uint8_t kind,
		    uint64_t id, uint64_t time_ms, int colour, struct wire_str pseudo,
		    struct wire_str room, struct wire_str text, bool history);
void incoming_picture(struct client_app *app, uint64_t id, uint64_t time_ms, int colour,
		      struct wire_str pseudo, const void *data, size_t len, int width,
		      int height, struct wire_str drawing, bool history);
void incoming_history(struct client_app *app, const struct wire_msg *m);
/* ROOMS or WHO, as a line. */
void incoming_list(struct client_app *app, const struct wire_msg *m);
/* ROOMS before the hello: kept for the choice of a room. */
void incoming_rooms(struct client_app *app, const struct wire_msg *m);

int link_connect(struct client_app *app);
void link_send(struct client_app *app, const struct wire_msg *m);
void link_hello(struct client_app *app);
/* Runs the loop until *flag is set or the session ends. */
void link_wait(struct client_app *app, const bool *flag);
/* The connection is gone: reconnect if asked, else end the session. */
void link_lost(struct client_app *app, const char *why);
void link_close(struct client_app *app);
/* The status line's lag, measured every few seconds. */
void link_start_pings(struct client_app *app);

#endif
