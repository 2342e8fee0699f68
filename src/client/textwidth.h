/*
 * textwidth: how many terminal cells text takes, counted by grapheme
 * cluster (libutf8proc), and wrapping at word boundaries. An emoji with
 * VS16, a ZWJ family or a flag is one cluster of two cells; combining
 * accents take none. Pure: no I/O.
 */
#ifndef CHATROOM_TEXTWIDTH_H
#define CHATROOM_TEXTWIDTH_H

#include <stddef.h>

/* The cluster starting at s[0..len): returns its length in bytes (at least
 * 1 when len > 0) and puts its width in cells in *cells. */
size_t tw_cluster(const char *s, size_t len, int *cells);

/* Cells taken by s[0..len). */
int tw_width(const char *s, size_t len);

struct tw_row {
	size_t start; /* byte offset in the text */
	size_t len;   /* bytes, trailing break space excluded */
	int cells;
};

/* Cuts text into rows: the first at most `first` cells wide, the others at
 * most `rest` cells (the caller indents them). Breaks after spaces where it
 * can, inside a word only when the word is wider than a row, always at
 * '\n'. Returns the number of rows (at most max). */
size_t tw_wrap(const char *s, size_t len, int first, int rest,
	       struct tw_row *rows, size_t max);

#endif
