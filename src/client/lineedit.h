/*
 * lineedit: the interactive input line of the terminal client.
 *
 * It owns the terminal: stdin as a raw-mode uv_tty_t and the bytes typed
 * so far. Incoming messages are printed *above* the input line
 * (lineedit_print), which is then drawn again, so typing is never broken
 * up by what others say. lineedit_close() gives the terminal back as it
 * was. The caller owns struct lineedit; it is done with it once
 * lineedit_close's handle has closed (on_closed).
 */
#ifndef CHATROOM_LINEEDIT_H
#define CHATROOM_LINEEDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

/* One message typed by the user, in bytes (UTF-8). */
#define LINEEDIT_MAX 4000

struct lineedit;

struct lineedit_callbacks {
	/* Enter pressed: the line, without its newline. */
	void (*on_line)(struct lineedit *le, const char *line, size_t len);
	/* Ctrl+C, or Ctrl+D on an empty line. */
	void (*on_quit)(struct lineedit *le);
};

struct lineedit {
	uv_tty_t tty;
	bool raw;
	bool closing;
	struct lineedit_callbacks cb;
	void *data; /* for the owner */
	const char *prompt;
	char buf[LINEEDIT_MAX];
	size_t len;
	/* Bytes of an escape sequence being skipped (arrow keys and the like). */
	unsigned escape_state;
	char keys[256]; /* where the tty's reads land */
};

/* Puts stdin in raw mode and starts reading keys. Returns 0 or UV_E*. */
int lineedit_start(struct lineedit *le, uv_loop_t *loop, const char *prompt,
		   const struct lineedit_callbacks *cb, void *data);

/* Prints one line of text above the input line. The text must already be
 * safe for a terminal (see sanitize.h). */
void lineedit_print(struct lineedit *le, const char *text, size_t len);

/* Restores the terminal and closes the tty handle. */
void lineedit_close(struct lineedit *le, uv_close_cb on_closed);

#endif
