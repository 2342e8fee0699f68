/*
 * chatpicture: a picture as the client keeps and draws it. Decoded once
 * (image.h checks it first), kept at most PICTURE_KEEP_WIDTH pixels wide
 * (more would never show in a terminal), drawn by libchafa at whatever
 * width the terminal has when it is shown or redrawn.
 */
#ifndef CHATROOM_CHATPICTURE_H
#define CHATROOM_CHATPICTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "image.h"

#define PICTURE_KEEP_WIDTH 320
/* Plain output that is not a terminal gets drawings this wide. */
#define PICTURE_PLAIN_COLS 60

struct chat_picture {
	unsigned char *rgba;
	int width, height;       /* of rgba */
	struct image_info source; /* the file's type and size */
};

/* Checks (image_check with max_bytes), decodes and keeps a small copy.
 * 0, or -1 with *cause (French, as image.h says it). */
int picture_load(const void *data, size_t len, size_t max_bytes, struct chat_picture *out,
		 const char **cause);
/* A deep copy; false when out of memory. */
bool picture_copy(struct chat_picture *to, const struct chat_picture *from);
void picture_free(struct chat_picture *p);

/* The drawing, each row indented by four spaces: ANSI colours unless
 * ascii (then plain ASCII symbols). */
void picture_print(FILE *out, const struct chat_picture *p, bool ascii, int cols);

#endif
