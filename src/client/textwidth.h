/*
 * textwidth: how the full-screen interface draws text, and how many
 * terminal cells it takes, counted by grapheme cluster (libutf8proc finds
 * the clusters), and wrapping at word boundaries. Pure: no I/O.
 *
 * Terminals disagree on the width of emoji sequences: tmux 3.3 draws a ZWJ
 * sequence (👩‍💻) in 2 cells but a skin tone (👍🏽) in 4 and ❤️ in 1; kitty
 * draws all three in 2; ncurses, which places every cell, counts each code
 * point on its own (4, 4 and 1). A count that differs from the terminal's
 * moves the cursor and tears the line. So each cluster is drawn in a form
 * every terminal agrees on: its code points one after the other, without
 * the ones that join them (ZWJ, variation selectors VS15 and VS16, skin
 * tone modifiers after a base), which is how Unicode says a sequence looks
 * where it is not supported (👩💻, 👍); a code point the C library does not
 * know is drawn as U+FFFD. Its width is what ncurses counts: wcwidth() of
 * each code point drawn (so LC_CTYPE must be a UTF-8 locale). Only the
 * drawing changes: what is typed, sent and logged keeps every code point.
 */
#ifndef CHATROOM_TEXTWIDTH_H
#define CHATROOM_TEXTWIDTH_H

#include <stdbool.h>
#include <stddef.h>

/* The most bytes a cluster is drawn with; past it, further combining
 * marks are not drawn (a cluster of a thousand accents stays one cell). */
#define TW_DRAWN_MAX 64

/* The cluster starting at s[0..len): returns its length in bytes (at least
 * 1 when len > 0); its drawn form goes to drawn (TW_DRAWN_MAX bytes), its
 * length to *drawn_len and its width in cells to *cells. */
size_t tw_cluster_drawn(const char *s, size_t len, char *drawn, size_t *drawn_len,
			int *cells);

/* The same, for its length and width only. */
size_t tw_cluster(const char *s, size_t len, int *cells);

/* Cells taken by s[0..len) as drawn. */
int tw_width(const char *s, size_t len);

struct tw_row {
	size_t start; /* byte offset in the text */
	size_t len;   /* bytes, trailing break space excluded */
	int cells;
	bool bare;    /* a row of a URL: drawn from the first column, not indented */
};

/* Cuts text into rows: the first at most `first` cells wide, the others at
 * most `rest` cells (the caller indents them). Breaks after spaces where it
 * can, inside a word only when the word is wider than a row, always at
 * '\n'. Returns the number of rows (at most max).
 *
 * A URL (a word that starts with "scheme://", maybe after an opening
 * bracket or quote) that does not fit where it is starts a row of its own,
 * `first` cells wide and marked bare: the caller draws it unindented, so a
 * URL that fits a row is whole on one row, where terminals find it, and
 * one longer than a row continues from the first column, its pieces
 * copied with no indent inside. */
size_t tw_wrap(const char *s, size_t len, int first, int rest,
	       struct tw_row *rows, size_t max);

#endif
