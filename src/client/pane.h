/*
 * pane: the full-screen interface's message pane (curses): the last
 * PANE_SCROLLBACK lines, how they wrap at the pane's width, their
 * pictures, and the scrollback.
 *
 * The scrollback is an offset in rows up from the bottom, always within
 * [0, rows of content - pane height], so PgUp never shows an empty pane;
 * while it is above 0 each new line raises it by the rows the line takes,
 * so the view stays where the reader left it (pane.c owns the offset; ui.c
 * only asks to move it). pane.c owns the entries and their pictures; ui.c
 * owns the screen.
 */
#ifndef CHATROOM_PANE_H
#define CHATROOM_PANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "chatline.h"

#define PANE_SCROLLBACK 2000

struct pane_entry;

struct pane {
	struct pane_entry *entries; /* a ring of the last PANE_SCROLLBACK lines */
	size_t first, count;
	int scroll;                 /* rows up from the bottom */
	unsigned unread;            /* lines come in while scrolled up */
	int last_day;               /* for the day-change separators */
	int height, cols;           /* as last drawn (0: not yet) */
	bool colour;
	bool ascii_pictures;        /* --ascii: pictures without colours */
	short pairs[256];           /* xterm colour -> curses pair */
	short next_pair;
};

/* 0, or UV_ENOMEM. */
int pane_init(struct pane *p, bool colour, bool ascii_pictures);
/* Frees the lines; prints the last `keep` of them (made safe) to out
 * first, when out is not NULL (the terminal given back). */
void pane_free(struct pane *p, FILE *out, size_t keep);

/* A line; pseudo is ours, to highlight the lines that name us. True when
 * the line should ring the bell and mark its window: it names us, or
 * somebody wrote to us in private (live lines only). */
bool pane_add(struct pane *p, const struct chat_line *line, const char *pseudo);
/* A line of the interface's own (a refusal, say). */
void pane_add_text(struct pane *p, enum chat_kind kind, const char *text);

/* Draws the pane on rows [0, height) of the screen. */
void pane_draw(struct pane *p, int height, int cols);

/* Scrolls by rows (positive: back, up), clamped to the content. */
void pane_scroll(struct pane *p, int rows);
/* Back to the newest line. */
void pane_bottom(struct pane *p);

/* Text at the cursor, each cluster in its drawn form (textwidth.h). */
void pane_draw_text(const char *s, size_t len);

#endif
