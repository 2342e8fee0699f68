/*
 * ui: the full-screen terminal interface (ncursesw), like irssi or
 * weechat: a message pane with scrollback (pane.h), a status line, and an
 * input line with editing, history, Tab completion and a reverse search of
 * what was sent (Ctrl+R), on the libuv loop; the mouse wheel scrolls.
 *
 * ui.c owns the screen (curses), the stdin poll handle, the SIGWINCH
 * handle, the windows with their panes, the input line and the status
 * row: what is drawn, and when; ui_close gives the terminal back as it was
 * and leaves the last lines of the conversation on it. uikeys.c owns what
 * the keys do (bindings, paste, Tab, Ctrl+R) and the fields marked so.
 */
#ifndef CHATROOM_UI_H
#define CHATROOM_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "chatline.h"
#include "complete.h"
#include "inputline.h"
#include "pane.h"
#include "windows.h"

struct ui;

struct ui_callbacks {
	/* Enter, or a confirmed multi-line paste (text then holds '\n'). */
	void (*on_line)(struct ui *ui, const char *line, size_t len);
	/* Ctrl+C, or Ctrl+D on an empty line. */
	void (*on_quit)(struct ui *ui);
	/* Another window is shown (ui_window tells which). NULL: nothing. */
	void (*on_switch)(struct ui *ui);
};

struct ui_options {
	bool ascii_pictures; /* --ascii: pictures without colours */
	bool mouse;          /* the wheel scrolls (mouse reporting on) */
	bool ring;           /* a mention or a private message rings (beep) */
	/* Tab completes these: the session's names, and the commands. */
	const struct complete_names *names;
	const char *const *commands;
	size_t command_count;
	const char *room; /* window 1's room */
};

struct ui_status {
	const char *server;
	const char *room;
	const char *pseudo;
	int users;         /* -1: unknown */
	const char *state; /* "connecté", "reconnexion…", already translated */
	int lag_ms;        /* -1: unknown */
};

struct ui {
	uv_loop_t *loop;
	uv_poll_t keys;
	uv_signal_t winch;
	bool started;
	bool closing;
	struct ui_callbacks cb;
	void *data;
	struct ui_options opt;

	struct windows wins; /* each with its pane; the current one is drawn */
	struct inputline input;
	/* From here to status_text: uikeys.c's (ui.c only draws them). */
	bool pasting;
	char *paste;
	size_t paste_len, paste_cap;
	bool paste_too_long;        /* bytes past the input's limit were dropped */
	size_t paste_bytes;         /* as pasted, for the refusal */
	char *pending_paste;        /* waiting for the user's yes */
	bool said_full;             /* a key past the limit was refused */
	bool escape;                /* ESC just came: Alt+ the next key */

	/* Tab: the word being completed and the candidate shown. */
	bool completing;
	struct complete_word complete_word; /* where it starts, what kind */
	char complete_prefix[64];   /* what was typed before the first Tab */
	size_t complete_index;

	/* Ctrl+R: the query and the history entry it found. */
	bool searching;
	char search[128];
	size_t search_len;
	long search_match;          /* history index, or -1 */
	char *search_saved;         /* the line before the search */

	char status_text[512];
	char pseudo[64];
};

/* Wheel rows a notch scrolls. */
#define UI_WHEEL_ROWS 3

/* True when this terminal can be driven full-screen: terminfo knows it
 * and can move the cursor (not TERM=dumb, say). */
bool ui_terminal_usable(void);

int ui_start(struct ui *ui, uv_loop_t *loop, const struct ui_callbacks *cb,
	     const struct ui_options *opt, void *data);
void ui_show(struct ui *ui, const struct chat_line *line);
/* A line of the interface's own, at once (no server time). */
void ui_note(struct ui *ui, enum chat_kind kind, const char *text);
void ui_set_status(struct ui *ui, const struct ui_status *status);
/* The window shown. */
const struct window *ui_window(const struct ui *ui);
/* Shows that window, opened if missing. */
void ui_focus(struct ui *ui, enum window_kind kind, const char *name);
/* Closes that window, if it is there and not the last one. */
void ui_close_window(struct ui *ui, enum window_kind kind, const char *name);
/* Empties that window (opened if missing) and shows it. */
void ui_reset_window(struct ui *ui, enum window_kind kind, const char *name);

/* Restores the terminal; the last few lines of the pane stay printed. */
void ui_close(struct ui *ui);

/* Between ui.c (the screen) and uikeys.c (the keys) only. */
/* Draws the current window, the status and the input rows. */
void ui_redraw(struct ui *ui);
/* A line of the interface's own into the current window, not drawn yet. */
void ui_note_quiet(struct ui *ui, enum chat_kind kind, const char *text);
/* Shows window i (no-op if it is shown or missing) and says so. */
void ui_switch_to(struct ui *ui, size_t i);
/* The terminal's new size, taken and redrawn whole at the next refresh. */
void ui_resize(void);
/* Binds our keys (and the wheel, if opted) once curses is up. */
void ui_keys_define(struct ui *ui);
/* uv_poll callback on stdin: every key waiting, then one redraw. */
void ui_keys_read(uv_poll_t *handle, int status, int events);
/* Frees the key state (paste, Ctrl+R's saved line). */
void ui_keys_free(struct ui *ui);

#endif
