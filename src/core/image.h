/*
 * image: the pictures users send (/image), checked, stripped, decoded
 * within a budget and drawn as text.
 *
 * Client and server treat a picture the same way (the server never trusts
 * the client, a client never trusts the server):
 *   1. image_strip drops what is not the image (EXIF, comments, text
 *      chunks, anything after the end marker): nobody's GPS position is
 *      relayed or kept.
 *   2. image_check reads the file's structure without decoding: at most
 *      max_bytes, a PNG or JPEG signature, declared dimensions within the
 *      limits below, no more bytes than the pixels justify, and for a JPEG
 *      its scans counted (a progressive "scan bomb" costs a decoder one
 *      pass over every block per scan).
 *   3. image_decode (libspng, libjpeg-turbo) streams rows into a bitmap
 *      already fitted to a small box: a 32-megapixel photo costs a few
 *      MiB, never its full size; libspng never inflates more than the
 *      declared rows, so a zlib bomb behind a 1x1 header costs nothing.
 *      It checks a deadline and a cancel flag as it goes.
 * Drawing is libchafa's: a canvas of character cells fitted to a width.
 */
#ifndef CHATROOM_IMAGE_H
#define CHATROOM_IMAGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <chafa.h>

#define IMAGE_DEFAULT_MAX_BYTES (5u * 1024 * 1024)
#define IMAGE_MAX_SIDE 8192
#define IMAGE_MAX_PIXELS (32u * 1024 * 1024)
/* A progressive JPEG (or one in several scans) and an interlaced PNG are
 * held whole while they decode: a 12-megapixel photo at most, and for a
 * JPEG at most 64 MiB of DCT coefficients (2 bytes a sample: a 12 MP
 * photo in 4:2:0 takes 36 MiB, in 4:4:4 72 MiB, refused). */
#define IMAGE_MAX_LAYERED_PIXELS (12u * 1024 * 1024)
#define IMAGE_MAX_COEFFICIENT_BYTES (64u * 1024 * 1024)
/* A progressive JPEG has about ten scans; each costs a pass over the
 * picture, so scans times pixels is bounded too. */
#define IMAGE_MAX_SCANS 64
#define IMAGE_MAX_SCAN_WORK (24ull * IMAGE_MAX_LAYERED_PIXELS)
/* A file may be as heavy as its raw pixels (16-bit RGBA: 8 bytes each)
 * plus this much: more is padding (or a zlib bomb). */
#define IMAGE_SLACK_BYTES (64u * 1024)
/* What libjpeg-turbo may hold for one decode: the coefficients above and
 * its row buffers; past it, it fails rather than allocates. */
#define IMAGE_DECODE_MEMORY (80u * 1024 * 1024)
/* The bitmap a decode returns fits this box: a terminal never shows more,
 * and the server draws 60 columns. */
#define IMAGE_KEEP_WIDTH 320
#define IMAGE_KEEP_HEIGHT 640
/* A picture is never drawn taller than this many rows. */
#define IMAGE_MAX_ROWS 48

struct image_info {
	const char *mime; /* "image/png" or "image/jpeg" */
	int width, height;
	bool layered;     /* decoded whole: progressive, several scans, interlaced */
	unsigned scans;   /* a JPEG's */
};

/* What one decode may still spend; checked between rows and scans. */
struct image_budget {
	uint64_t deadline_ns;      /* image_clock_ns() time; 0: none */
	const atomic_bool *cancel; /* set from another thread to give up; may be NULL */
};

/* Drops in place what is not the image (see above); returns the new
 * length. Call before image_check, which judges what is left; a file it
 * cannot walk is left as it is (image_check refuses it). */
size_t image_strip(unsigned char *data, size_t len);

/* What can be told without decoding. 0, or -EINVAL with *cause (French,
 * as said to the user). */
int image_check(const void *data, size_t len, size_t max_bytes, struct image_info *info,
		const char **cause);

/* A monotonic clock for budgets, in nanoseconds. */
uint64_t image_clock_ns(void);

/* The checked picture as RGBA pixels fitted within max_width x
 * max_height (its shape kept), the size in *width and *height; free with
 * image_free_pixels. NULL with *cause when it does not decode, when the
 * budget (may be NULL) runs out ("trop longue à décoder") or is
 * cancelled ("abandonnée"). Safe on any thread. */
unsigned char *image_decode(const void *data, size_t len, const struct image_info *info,
			    int max_width, int max_height, const struct image_budget *budget,
			    int *width, int *height, const char **cause);
void image_free_pixels(unsigned char *pixels);

/* A chafa canvas of the picture fitted to max_cols (cells are about twice
 * as tall as wide; never more than IMAGE_MAX_ROWS rows), its size in *cols
 * and *rows: with colours 0, plain
 * ASCII symbols without colours; else block symbols in that many indexed
 * colours (8, 16 or 256: what the terminal has). Free with
 * chafa_canvas_unref; NULL when out of memory. */
ChafaCanvas *image_canvas(const unsigned char *rgba, int width, int height, int max_cols,
			  int colours, int *cols, int *rows);
/* The same within max_rows rows too (a pane shorter than IMAGE_MAX_ROWS). */
ChafaCanvas *image_canvas_fit(const unsigned char *rgba, int width, int height, int max_cols,
			      int max_rows, int colours, int *cols, int *rows);

/* The picture as plain ASCII rows joined by '\n' (no final one), at most
 * max_cols wide; malloc'd, NULL when out of memory. */
char *image_ascii(const unsigned char *rgba, int width, int height, int max_cols, size_t *len);

#endif
