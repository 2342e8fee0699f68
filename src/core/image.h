/*
 * image: the pictures users send (/image), checked and drawn as text.
 *
 * Client and server check an image the same way before anything else is
 * done with it (the server never trusts the client): at most max_bytes,
 * a PNG or JPEG signature, declared dimensions within IMAGE_MAX_SIDE and
 * IMAGE_MAX_PIXELS (so a small file cannot claim gigabytes of pixels),
 * and then a full decode (stb_image). Drawing is libchafa's: a canvas of
 * character cells fitted to a width, read cell by cell by the caller or
 * turned into plain ASCII lines here.
 */
#ifndef CHATROOM_IMAGE_H
#define CHATROOM_IMAGE_H

#include <stddef.h>

#include <chafa.h>

#define IMAGE_DEFAULT_MAX_BYTES (5u * 1024 * 1024)
#define IMAGE_MAX_SIDE 8192
#define IMAGE_MAX_PIXELS (32u * 1024 * 1024)
/* A picture is never drawn taller than this many rows. */
#define IMAGE_MAX_ROWS 48

struct image_info {
	const char *mime; /* "image/png" or "image/jpeg" */
	int width, height;
};

/* What can be told without decoding. 0, or -EINVAL with *cause (French,
 * as said to the user). */
int image_check(const void *data, size_t len, size_t max_bytes, struct image_info *info,
		const char **cause);

/* RGBA pixels (free with image_free_pixels); NULL with *cause. Call
 * image_check first: it bounds what this may allocate. */
unsigned char *image_decode(const void *data, size_t len, const struct image_info *info,
			    const char **cause);
void image_free_pixels(unsigned char *pixels);

/* A chafa canvas of the picture fitted to max_cols (cells are about twice
 * as tall as wide; never more than IMAGE_MAX_ROWS rows), its size in *cols
 * and *rows: with colours 0, plain
 * ASCII symbols without colours; else block symbols in that many indexed
 * colours (8, 16 or 256: what the terminal has). Free with
 * chafa_canvas_unref; NULL when out of memory. */
ChafaCanvas *image_canvas(const unsigned char *rgba, int width, int height, int max_cols,
			  int colours, int *cols, int *rows);

/* The picture as plain ASCII rows joined by '\n' (no final one), at most
 * max_cols wide; malloc'd, NULL when out of memory. */
char *image_ascii(const unsigned char *rgba, int width, int height, int max_cols, size_t *len);

#endif
