/*
 * chatpicture: a picture as the client keeps and draws it, and the order
 * of the lines shown around pictures that are still being decoded.
 *
 * A picture is decoded within image.h's limits into a small bitmap (at
 * most IMAGE_KEEP_WIDTH x IMAGE_KEEP_HEIGHT: more would never show in a
 * terminal), drawn by libchafa at whatever width the terminal has when it
 * is shown or redrawn.
 *
 * Pictures from the server (live or in a room's history) are decoded on a
 * thread of the client's own, never on the loop thread: the interface
 * keeps answering whatever a hostile server sends. The lines that come
 * after such a picture wait for it, so the conversation reads in order;
 * each picture has PICTURE_DECODE_MS from its arrival, after which the
 * server's drawing (or a placeholder) is shown instead and the lines
 * behind it go on. So a room's history shows within that time, however
 * many bombs it holds. The queue's state (chatpicture.c) hangs off
 * client_app.pictures, made at the first picture, freed by
 * picture_queue_close.
 */
#ifndef CHATROOM_CHATPICTURE_H
#define CHATROOM_CHATPICTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "chatline.h"
#include "image.h"

/* Plain output that is not a terminal gets drawings this wide. */
#define PICTURE_PLAIN_COLS 60
/* How long a picture may take to decode, from its arrival. */
#define PICTURE_DECODE_MS 2000
/* Pictures waiting for the decoding thread; more are not decoded. */
#define PICTURE_MAX_PENDING 32
#define PICTURE_MAX_PENDING_BYTES (32u * 1024 * 1024)
/* Lines held behind a picture being decoded; past that the picture gives
 * way. */
#define PICTURE_MAX_HELD_LINES 2048

struct client_app;

struct chat_picture {
	unsigned char *rgba;
	int width, height;        /* of rgba */
	struct image_info source; /* the file's type and size */
};

/* Checks (image_check with max_bytes) and decodes, on this thread, within
 * PICTURE_DECODE_MS: for the user's own file. 0, or -1 with *cause
 * (French, as image.h says it). */
int picture_load(const void *data, size_t len, size_t max_bytes, struct chat_picture *out,
		 const char **cause);
/* A deep copy; false when out of memory. */
bool picture_copy(struct chat_picture *to, const struct chat_picture *from);
void picture_free(struct chat_picture *p);

/* The drawing, each row indented by four spaces: ANSI colours unless
 * ascii (then plain ASCII symbols). */
void picture_print(FILE *out, const struct chat_picture *p, bool ascii, int cols);

/* ---- in order ---------------------------------------------------------- */

/* Shows a line (client_show) once every picture received before it is. */
void picture_show_in_order(struct client_app *app, const struct chat_line *line);
void picture_info_in_order(struct client_app *app, enum chat_kind kind, const char *text);

/* A picture received: `header` is its CHAT_IMAGE line without a picture;
 * data (may be empty) is the file, drawing (may be empty) what the server
 * drew. Shown in order, decoded off the loop thread. */
void picture_show_received(struct client_app *app, const struct chat_line *header,
			   const void *data, size_t len, const char *drawing,
			   size_t drawing_len);

/* The session ends: decodes are abandoned, the thread joined, what waits
 * dropped, the handles closed. */
void picture_queue_close(struct client_app *app);

#endif
