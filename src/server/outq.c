#include "outq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void outq_init(struct outq *q)
{
	memset(q, 0, sizeof(*q));
}

void outq_clear(struct outq *q)
{
	for (size_t i = 0; i < q->count; i++)
		frame_unref(q->items[(q->head + i) & (q->cap - 1)]);
	free(q->items);
	outq_init(q);
}

static int grow(struct outq *q)
{
	uint32_t cap = q->cap ? q->cap * 2 : 8; /* a power of two: indexes wrap by mask */
	if (cap == 0)
		return -ENOMEM; /* 2^32 frames: never, but not a wrap either */
	struct frame **items = malloc((size_t)cap * sizeof(*items));
	if (items == NULL)
		return -ENOMEM;
	/* Unroll the ring so the new one starts at index 0. */
	for (size_t i = 0; i < q->count; i++)
		items[i] = q->items[(q->head + i) & (q->cap - 1)];
	free(q->items);
	q->items = items;
	q->cap = cap;
	q->head = 0;
	return 0;
}

int outq_push(struct outq *q, struct frame *f)
{
	if (f->len == 0)
		return 0; /* nothing to write, and it would never be consumed */
	if (q->count == q->cap) {
		int rc = grow(q);
		if (rc < 0)
			return rc;
	}
	q->items[(q->head + q->count) & (q->cap - 1)] = frame_ref(f);
	q->count++;
	q->bytes += f->len;
	if (f->len > OUTQ_BULK_FRAME)
		q->bulk += f->len;
	return 0;
}

unsigned outq_peek(const struct outq *q, uv_buf_t *bufs, unsigned max)
{
	unsigned n = 0;
	for (size_t i = 0; i < q->count && n < max; i++) {
		struct frame *f = q->items[(q->head + i) & (q->cap - 1)];
		size_t off = i == 0 ? q->head_off : 0;
		bufs[n++] = uv_buf_init(f->data + off, (unsigned)(f->len - off));
	}
	return n;
}

void outq_copy(const struct outq *q, char *dst)
{
	for (size_t i = 0; i < q->count; i++) {
		const struct frame *f = q->items[(q->head + i) & (q->cap - 1)];
		size_t off = i == 0 ? q->head_off : 0;
		memcpy(dst, f->data + off, f->len - off);
		dst += f->len - off;
	}
}

void outq_consume(struct outq *q, size_t n)
{
	q->bytes -= n;
	while (n > 0 && q->count > 0) {
		struct frame *f = q->items[q->head];
		size_t left = f->len - q->head_off;
		if (f->len > OUTQ_BULK_FRAME)
			q->bulk -= n < left ? n : left;
		if (n < left) {
			q->head_off += (uint32_t)n;
			return;
		}
		n -= left;
		frame_unref(f);
		q->head = (q->head + 1) & (q->cap - 1);
		q->count--;
		q->head_off = 0;
	}
	if (q->count == 0)
		q->head = q->head_off = 0;
}

void outq_drop_unsent(struct outq *q, size_t in_flight)
{
	size_t keep = 0, covered = 0;
	while (keep < q->count) {
		struct frame *f = q->items[(q->head + keep) & (q->cap - 1)];
		size_t off = keep == 0 ? q->head_off : 0;
		if (off == 0 && covered >= in_flight)
			break;
		covered += f->len - off;
		keep++;
	}
	for (size_t i = keep; i < q->count; i++) {
		struct frame *f = q->items[(q->head + i) & (q->cap - 1)];
		q->bytes -= f->len;
		if (f->len > OUTQ_BULK_FRAME)
			q->bulk -= f->len;
		frame_unref(f);
	}
	q->count = (uint32_t)keep;
}

void outq_trim(struct outq *q)
{
	if (q->count == 0 && q->items != NULL) {
		free(q->items);
		outq_init(q);
	}
}
