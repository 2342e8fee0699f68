/*
 * frame: an immutable, reference-counted run of bytes ready for the wire.
 *
 * A broadcast is encoded once into one frame; every recipient's output queue
 * holds a reference to the same bytes. frame_new() hands the caller one
 * reference; whoever drops the last one (frame_unref) frees the frame.
 */
#ifndef CHATROOM_FRAME_H
#define CHATROOM_FRAME_H

#include <stddef.h>
#include <stdint.h>

struct frame {
	uint32_t refs;
	uint32_t len;
	char data[];
};

/* Largest frame we ever build: far above any message, far below uint32_t. */
#define FRAME_MAX_LEN (16u * 1024 * 1024)

/* Returns NULL when out of memory or when len exceeds FRAME_MAX_LEN. */
struct frame *frame_new(size_t len);
struct frame *frame_copy(const void *data, size_t len);
/* A text frame built like snprintf; NULL on error. */
struct frame *frame_printf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

struct frame *frame_ref(struct frame *f);
void frame_unref(struct frame *f);

#endif
