/*
 * ui: the full-screen terminal interface (ncursesw), like irssi or
 * weechat: a message pane with scrollback, a status line, and an input line
 * with editing and history, on the libuv loop.
 *
 * ui.c owns the screen (curses), the stdin poll handle, the SIGWINCH
 * handle and the pane's lines; ui_close gives the terminal back as it was
 * and leaves the last lines of the conversation on it.
 */
#ifndef CHATROOM_UI_H
#define CHATROOM_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "chatline.h"
#include "inputline.h"

struct ui;

struct ui_callbacks {
	/* Enter, or a confirmed multi-line paste (text then holds '\n'). */
	void (*on_line)(struct ui *ui, const char *line, size_t len);
	/* Ctrl+C, or Ctrl+D on an empty line. */
	void (*on_quit)(struct ui *ui);
};

struct ui_status {
	const char *server;
	const char *room;
	const char *pseudo;
	int users;     /* -1: unknown */
	bool connected;
	int lag_ms;    /* -1: unknown */
};

struct pane_entry;

struct ui {
	uv_loop_t *loop;
	uv_poll_t keys;
	uv_signal_t winch;
	unsigned open_handles;
	bool started;
	bool closing;
	struct ui_callbacks cb;
	void *data;
	bool colour;
	bool ascii_pictures;        /* --ascii: pictures without colours */

	struct pane_entry *entries; /* a ring of the last UI_SCROLLBACK lines */
	size_t first, count;
	int scroll;                 /* rows up from the bottom */
	unsigned unread;            /* lines come in while scrolled up */
	int last_day;               /* for the day-change separators */

	struct inputline input;
	bool pasting;
	char *paste;
	size_t paste_len;
	char *pending_paste;        /* waiting for the user's yes */

	char status_text[512];
	char pseudo[64];
	short pairs[256];           /* xterm colour -> curses pair */
	short next_pair;
};

#define UI_SCROLLBACK 2000

int ui_start(struct ui *ui, uv_loop_t *loop, const struct ui_callbacks *cb, void *data);
void ui_show(struct ui *ui, const struct chat_line *line);
void ui_set_status(struct ui *ui, const struct ui_status *status);
/* Restores the terminal; the last few lines of the pane stay printed. */
void ui_close(struct ui *ui);

#endif
