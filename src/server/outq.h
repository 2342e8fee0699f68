/*
 * outq: one connection's queue of frames waiting to be written.
 *
 * A ring of frame references; the first frame may be partly written
 * (head_off). The queue counts its bytes so the owner can enforce a limit.
 * Each queued frame holds one reference, dropped once fully written or when
 * the queue is cleared.
 */
#ifndef CHATROOM_OUTQ_H
#define CHATROOM_OUTQ_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "frame.h"

struct outq {
	struct frame **items;
	/* 32-bit: frames are far fewer, and far smaller, than 4 G (a ring in
	 * every conn, idle peers' memory counts: docs/benchmarks.md). */
	uint32_t cap;
	uint32_t head;
	uint32_t count;
	uint32_t head_off; /* bytes of items[head] already written */
	size_t bytes;    /* unwritten bytes in the whole queue */
	size_t bulk;     /* of which in pictures (frames over OUTQ_BULK_FRAME) */
};

/* A frame this large is a picture, judged apart from chat (conn.c): one
 * is far over the queue limit made for lines of text. */
#define OUTQ_BULK_FRAME (64u * 1024)

void outq_init(struct outq *q);
/* Drops every reference and the ring itself. */
void outq_clear(struct outq *q);
/* Takes a new reference to f. Returns 0 or -ENOMEM. */
int outq_push(struct outq *q, struct frame *f);
/* Fills up to max buffers with the unwritten bytes, oldest first. */
unsigned outq_peek(const struct outq *q, uv_buf_t *bufs, unsigned max);
/* Copies every unwritten byte, oldest first, to dst (q->bytes of room). */
void outq_copy(const struct outq *q, char *dst);
/* Forgets n written bytes, releasing every frame they complete. */
void outq_consume(struct outq *q, size_t n);
/* Drops the frames not yet begun: keeps a partly written head and those
 * the in_flight bytes of a pending write cover. */
void outq_drop_unsent(struct outq *q, size_t in_flight);
/* Frees the ring of an empty queue. Kept between flushes so a busy
 * connection does not allocate it each loop turn; trimmed by the owner's
 * housekeeping so an idle one keeps none. */
void outq_trim(struct outq *q);

#endif
