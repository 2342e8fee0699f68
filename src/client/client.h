/*
 * client: the chatroom client's session: the connection to the server
 * (binary protocol, see wire.h and docs/protocol.md) and its two
 * concurrent tasks, the user's input and the server's messages, on one
 * libuv loop.
 *
 * main() makes one struct client_app. The session is introduce.c (the
 * pseudo, the room and the hello, before anything runs concurrently),
 * client.c (the user-input side: the full-screen interface on a terminal,
 * see ui.h, or a plain line reader on a pipe, a file or a terminal curses
 * cannot drive; the lines held while not in a room; the signal handles and
 * the log), commands.c and incoming.c (the server's frames made into
 * lines). The connection is a struct link (link.h) the session holds and
 * hears from through its callbacks; link.c never calls the session.
 * Everything is closed when the session ends and the loop runs dry.
 */
#ifndef CHATROOM_CLIENT_H
#define CHATROOM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "chatline.h"
#include "complete.h"
#include "link.h"
#include "outbox.h"
#include "ui.h"
#include "linereader.h"
#include "seen.h"
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
	bool mouse;           /* the wheel scrolls the full-screen pane */
	bool bell;            /* a mention or a private message rings the terminal */
	bool tls;             /* --tls: TLS, the certificate checked (trust.h) */
	const char *ca_file;  /* --ca: the authorities trusted; NULL: the system's */
	const char *tls_pin;  /* --tls-pin SHA256:…: that key only */
};

#define CLIENT_DEFAULT_PORT 8888
#define CLIENT_MAX_ROOMS 64
/* Lines kept until the full-screen UI starts: a room's history fits. */
#define CLIENT_EARLY_LINES 256
/* Maximum length of a typed message (bytes). */
#define CLIENT_MAX_INPUT INPUTLINE_MAX
/* Lines typed while not in a room (a reconnection under way), sent once
 * back in; past these the line is refused, visibly. */
#define CLIENT_PENDING_LINES 20
#define CLIENT_PENDING_BYTES (64u * 1024)

struct client_app {
	uv_loop_t *loop;
	struct client_config cfg;
	bool interactive; /* a terminal: the prompts, then the full-screen UI */
	bool fullscreen;  /* the full-screen UI (not TERM=dumb, not --plain) */
	bool colour;
	bool stdout_tty;  /* plain mode: pictures drawn in colour, this wide */
	int stdout_cols;

	struct link link;        /* the connection (link.h) */
	int connect_status;      /* how the first connection went */

	/* What the server told us. */
	bool hello_refused;      /* a refused pseudo, room or token: ask again */
	uint16_t refusal_code;   /* its WIRE_ERR_* */
	char refusal[256];
	bool probing;            /* the hello only checks the pseudo (introduce.c) */
	bool rejoining;          /* a fresh hello after a refused token */
	bool rooms_known;
	size_t room_count;
	char rooms[CLIENT_MAX_ROOMS][TEXT_MAX_ROOM + 1];
	unsigned room_members[CLIENT_MAX_ROOMS];
	uint64_t user_id;        /* ours, from the welcome */
	bool join_asked;         /* a /join typed: its room's window is shown */
	char room[TEXT_MAX_ROOM + 1];
	char pseudo[TEXT_MAX_PSEUDO + 1];
	char clean[3 * WIRE_MAX_TEXT + 64];
	char shown[4 * WIRE_MAX_TEXT];

	/* User input: exactly one of these is in use. */
	struct ui ui;
	bool ui_started;
	/* Lines typed while not in a room, oldest first (malloc'd). */
	char *pending[CLIENT_PENDING_LINES];
	size_t pending_count, pending_bytes;
	/* Said, not yet acknowledged (numbered.h); whether the server acks. */
	struct outbox outbox;
	bool server_acks;
	/* Who spoke, came and went, for Tab (complete.h). */
	struct complete_names names;
	/* What was shown, so that no history shows it twice (seen.h). */
	struct seen seen;
	/* A resume's whole history may follow: ids are then that server's. */
	bool ids_from_history;
	/* The resume tokens kept between runs (sessions.h); "" for none. */
	char sessions_path[4096];
	bool sessions_warned;    /* the file could not be written: said once */
	/* Lines held behind pictures being decoded (chatpicture.c). */
	struct picture_order *pictures;
	/* Lines that came before the UI was up (the history, the welcome). */
	struct chat_line early[CLIENT_EARLY_LINES];
	size_t early_count;
	int users;               /* in our room, for the status line (-1: unknown) */
	unsigned quiet_who;      /* WHO answers that only feed the status line */
	int lag_ms;
	/* stdin_*, from_user, input_open: plaininput.c's (plain mode). */
	uv_pipe_t stdin_pipe;
	bool stdin_pipe_open;
	uv_tty_t stdin_tty;      /* plain mode on a terminal (TERM=dumb) */
	bool stdin_tty_open;
	uv_fs_t stdin_read;
	char stdin_buf[4096];
	char server_name[300];
	char known_path[4096];   /* TLS: known_servers (trust.h); "" for none */
	struct linereader from_user;
	bool input_open;
	bool stdin_is_file;

	uv_signal_t sigint, sigterm;
	bool signals_open;
	struct textlog convlog;
	bool ending;
	int exit_code;
};

/* Connects and says the binary hello (running the loop until done). 0, or
 * a UV_E* code with a message already printed. */
int client_connect(struct client_app *app, uv_loop_t *loop,
		   const struct client_config *cfg);

/* introduce.c: asks for the pseudo and the room (or takes them from the
 * settings, or resumes a kept session), synchronously, before any
 * concurrent task starts, until the server welcomes us. 0, or -1 with a
 * message printed. */
int client_introduce(struct client_app *app);

/* Runs the loop until done(app) or the end of the session. */
void client_run_until(struct client_app *app, bool (*done)(const struct client_app *app));

/* Starts both tasks and runs the loop until the session ends. Returns the
 * process exit status. */
int client_run(struct client_app *app);

/* Opens the conversation log (before anything is shown). */
void client_open_log(struct client_app *app);

/* Once the loop has run dry: closes the conversation log. */
void client_free(struct client_app *app);

/* ---- between client.c and incoming.c --------------------------------------- */

/* Shows one line (already sanitised) in the current mode, and logs it. */
void client_show(struct client_app *app, const struct chat_line *line);
/* Tells the status line what changed (room, people, connection, lag). */
void client_status(struct client_app *app);
/* Shows a line of the client's own. */
void client_info(struct client_app *app, enum chat_kind kind, const char *text);
/* Welcomed (again): the lines typed meanwhile go, the token is kept. */
void client_welcomed(struct client_app *app, const struct wire_msg *m);
/* Says the hello again (a fresh one after a refused token). */
void client_hello(struct client_app *app);
/* From the welcome on, Ctrl+C and SIGTERM leave cleanly (status 0);
 * before it, at the pseudo prompt, they end the process as usual. */
void client_catch_signals(struct client_app *app);
/* Ends the session: closes every handle; message printed after the
 * terminal is restored. */
void client_end(struct client_app *app, int exit_code, const char *message);
/* A line the user typed or piped: a command, a message, or held while
 * not in a room. */
void client_user_line(struct client_app *app, const char *line, size_t len);

/* plaininput.c: stdin's lines in plain mode (not full screen). */
int plain_input_start(struct client_app *app);
/* Closes stdin's handles; no more lines come. */
void plain_input_close(struct client_app *app);
void plain_input_free(struct client_app *app);

/* commands.c: a line that starts with '/', run as the command it names. */
void commands_run(struct client_app *app, const char *line, size_t len);
/* The commands' names (for Tab), in the table's order. */
const char *const *commands_names(size_t *count);
/* True when in a room; else says that the command waits for it. */
bool commands_online(struct client_app *app, const char *what);

/* incoming.c: the server's frames made into lines, every string sanitised
 * and every number within its range (the server is not trusted). */
void incoming_welcome(struct client_app *app, const struct wire_msg *m, bool resumed);
/* Every other frame the link hands on (all but PING). */
void incoming_frame(struct client_app *app, const struct wire_msg *m);
/* Asks who is in our room, for the status line only. */
void incoming_count_people(struct client_app *app);
/* eventlines.c, for incoming.c: a network string sanitised into
 * app->clean at `at` (its length); an event, a picture, a history or
 * /search's results shown (history: from a HISTORY, shown once). */
size_t incoming_clean(struct client_app *app, size_t at, struct wire_str s, unsigned flags);
void incoming_event(struct client_app *app, enum wire_type type, uint8_t kind, uint64_t id,
		    uint64_t time_ms, int colour, struct wire_str pseudo, struct wire_str room,
		    struct wire_str text, bool history);
void incoming_picture(struct client_app *app, uint64_t id, uint64_t time_ms, int colour,
		      struct wire_str pseudo, struct wire_str room, const void *data, size_t len,
		      int width, int height, struct wire_str drawing, bool history);
void incoming_history(struct client_app *app, const struct wire_msg *m);
void incoming_found(struct client_app *app, const struct wire_msg *m);

#endif
