/*
 * inputline: the text being typed, its cursor (always on a grapheme
 * cluster boundary) and the history of what was sent (Up/Down). Pure: the
 * UI draws it and feeds it keys.
 */
#ifndef CHATROOM_INPUTLINE_H
#define CHATROOM_INPUTLINE_H

#include <stdbool.h>
#include <stddef.h>

#include "wire.h"

/* As much as one message carries (a pasted page, say); more is refused. */
#define INPUTLINE_MAX WIRE_MAX_TEXT
#define INPUTLINE_HISTORY 100

struct inputline {
	char buf[INPUTLINE_MAX];
	size_t len;
	size_t cursor; /* byte offset */
	char *history[INPUTLINE_HISTORY]; /* oldest first */
	size_t history_count;
	size_t browsing;                  /* == history_count: not browsing */
	char *draft;                      /* what was typed before browsing */
};

void il_init(struct inputline *il);
void il_free(struct inputline *il);

/* Inserts UTF-8 bytes at the cursor; false when it would not fit. */
bool il_insert(struct inputline *il, const char *text, size_t len);
void il_backspace(struct inputline *il);  /* the cluster before the cursor */
void il_delete(struct inputline *il);     /* the cluster under the cursor */
void il_left(struct inputline *il);
void il_right(struct inputline *il);
void il_home(struct inputline *il);
void il_end(struct inputline *il);
void il_kill_line(struct inputline *il);  /* Ctrl+U: everything */
void il_kill_word(struct inputline *il);  /* Ctrl+W: the word before the cursor */
void il_history_prev(struct inputline *il);
void il_history_next(struct inputline *il);

/* Replaces bytes [from, to) with text and puts the cursor after it;
 * false (nothing changed) when it would not fit. */
bool il_replace(struct inputline *il, size_t from, size_t to, const char *text, size_t len);
/* The whole line becomes text (cut at INPUTLINE_MAX), the cursor at its end. */
void il_set(struct inputline *il, const char *text);

/* Ctrl+R: the newest history entry older than entry `before` (pass
 * history_count to start) that holds query (bytes, case as typed); its
 * index, or -1. */
long il_search(const struct inputline *il, const char *query, size_t len, size_t before);

/* Takes the line out (into out, cap bytes, terminated) and keeps it in the
 * history; returns its length. */
size_t il_take(struct inputline *il, char *out, size_t cap);

/* Cells between the start of the text and the cursor. */
int il_cursor_cells(const struct inputline *il);

#endif
