/* One connection's output queue (src/server/outq.c): a ring of shared
 * frames, partly written heads, picture bytes counted apart, unsent frames
 * dropped when a peer turns out to speak another protocol. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "outq.h"

static struct frame *text(const char *s)
{
	return frame_copy(s, strlen(s));
}

/* The unwritten bytes, as one string, through outq_peek. */
static size_t unwritten(const struct outq *q, char *out, size_t cap)
{
	uv_buf_t bufs[64];
	unsigned n = outq_peek(q, bufs, 64);
	size_t len = 0;
	for (unsigned i = 0; i < n; i++) {
		assert_true(len + bufs[i].len < cap);
		memcpy(out + len, bufs[i].base, bufs[i].len);
		len += bufs[i].len;
	}
	out[len] = '\0';
	return len;
}

static void frames_are_shared_not_copied(void **state)
{
	(void)state;
	struct outq a, b;
	outq_init(&a);
	outq_init(&b);
	struct frame *f = text("bonjour\n");
	assert_int_equal(outq_push(&a, f), 0);
	assert_int_equal(outq_push(&b, f), 0);
	assert_int_equal(f->refs, 3);
	uv_buf_t buf;
	assert_int_equal(outq_peek(&a, &buf, 1), 1);
	assert_ptr_equal(buf.base, f->data);
	outq_consume(&a, f->len);
	assert_int_equal(f->refs, 2);
	outq_clear(&b);
	assert_int_equal(f->refs, 1);
	frame_unref(f);
	outq_clear(&a);
}

static void a_partial_write_keeps_the_rest_in_order(void **state)
{
	(void)state;
	struct outq q;
	outq_init(&q);
	const char *words[] = {"un\n", "deux\n", "trois\n"};
	for (int i = 0; i < 3; i++) {
		struct frame *f = text(words[i]);
		outq_push(&q, f);
		frame_unref(f);
	}
	char seen[64];
	assert_int_equal(q.bytes, 14);
	outq_consume(&q, 5); /* "un\n" and "de" */
	assert_int_equal(q.count, 2);
	assert_int_equal(q.bytes, 9);
	unwritten(&q, seen, sizeof(seen));
	assert_string_equal(seen, "ux\ntrois\n");
	outq_consume(&q, 9);
	assert_int_equal(q.count, 0);
	assert_int_equal(q.bytes, 0);
	assert_int_equal(unwritten(&q, seen, sizeof(seen)), 0);
	outq_clear(&q);
}

static void the_ring_grows_across_its_wrap(void **state)
{
	(void)state;
	struct outq q;
	outq_init(&q);
	char expected[512] = "", seen[512];
	size_t len = 0;
	/* Half consumed, then past the first capacity: the ring wraps, then grows. */
	for (int i = 0; i < 6; i++) {
		struct frame *f = frame_printf("%d,", i);
		outq_push(&q, f);
		frame_unref(f);
	}
	outq_consume(&q, 6); /* "0,1,2," */
	for (int i = 6; i < 40; i++) {
		struct frame *f = frame_printf("%d,", i);
		outq_push(&q, f);
		frame_unref(f);
	}
	for (int i = 3; i < 40; i++)
		len += (size_t)snprintf(expected + len, sizeof(expected) - len, "%d,", i);
	assert_true(q.cap >= 37);
	assert_int_equal(unwritten(&q, seen, sizeof(seen)), len);
	/* outq_peek fills at most the buffers it is given (one writev). */
	uv_buf_t bufs[4];
	assert_int_equal(outq_peek(&q, bufs, 4), 4);
	assert_string_equal(seen, expected);
	outq_clear(&q);
}

/* outq_copy (one buffer for a ring send) gives the bytes outq_peek's
 * buffers hold: from a partly written head, across the ring's wrap. */
static void a_copy_holds_what_peek_would_send(void **state)
{
	(void)state;
	struct outq q;
	outq_init(&q);
	for (int i = 0; i < 6; i++) {
		struct frame *f = frame_printf("%d,", i * 11);
		outq_push(&q, f);
		frame_unref(f);
	}
	outq_consume(&q, 7); /* "0,11,22" of "0,11,22,33,44,55,": the head is partly written */
	for (int i = 6; i < 10; i++) { /* past the first capacity, 8: wraps */
		struct frame *f = frame_printf("%d,", i * 11);
		outq_push(&q, f);
		frame_unref(f);
	}
	char peeked[128], copied[128];
	size_t len = unwritten(&q, peeked, sizeof(peeked));
	assert_string_equal(peeked, ",33,44,55,66,77,88,99,");
	assert_int_equal(q.bytes, len);
	memset(copied, '#', sizeof(copied));
	outq_copy(&q, copied);
	assert_memory_equal(copied, peeked, len);
	assert_int_equal(copied[len], '#'); /* not a byte more */
	outq_clear(&q);
}

static void empty_frames_are_not_queued(void **state)
{
	(void)state;
	struct outq q;
	outq_init(&q);
	struct frame *f = frame_new(0);
	assert_int_equal(outq_push(&q, f), 0);
	assert_int_equal(q.count, 0);
	assert_int_equal(f->refs, 1);
	frame_unref(f);
	outq_clear(&q);
}

static void pictures_are_counted_apart(void **state)
{
	(void)state;
	struct outq q;
	outq_init(&q);
	struct frame *line = text("salut\n");
	struct frame *picture = frame_new(OUTQ_BULK_FRAME + 1);
	memset(picture->data, 'p', picture->len);
	outq_push(&q, line);
	outq_push(&q, picture);
	assert_int_equal(q.bulk, OUTQ_BULK_FRAME + 1);
	assert_int_equal(q.bytes, 6 + OUTQ_BULK_FRAME + 1);
	outq_consume(&q, 6 + 1000); /* the line and part of the picture */
	assert_int_equal(q.bulk, OUTQ_BULK_FRAME + 1 - 1000);
	outq_consume(&q, OUTQ_BULK_FRAME + 1 - 1000);
	assert_int_equal(q.bulk, 0);
	assert_int_equal(q.count, 0);
	frame_unref(line);
	frame_unref(picture);
	outq_clear(&q);
}

static void unsent_frames_are_dropped_but_not_one_begun(void **state)
{
	(void)state;
	struct outq q;
	outq_init(&q);
	const char *words[] = {"aaaa\n", "bbbb\n", "cccc\n", "dddd\n"};
	struct frame *frames[4];
	for (int i = 0; i < 4; i++) {
		frames[i] = text(words[i]);
		outq_push(&q, frames[i]);
	}
	char seen[64];
	/* Nothing begun: everything goes. */
	struct outq copy;
	outq_init(&copy);
	for (int i = 0; i < 4; i++)
		outq_push(&copy, frames[i]);
	outq_drop_unsent(&copy, 0);
	assert_int_equal(copy.count, 0);
	assert_int_equal(copy.bytes, 0);
	outq_clear(&copy);

	/* A head partly written, and a write in flight over the next frame
	 * and part of the third: those stay, the fourth goes. */
	outq_consume(&q, 2);
	outq_drop_unsent(&q, 3 + 5 + 1);
	assert_int_equal(q.count, 3);
	unwritten(&q, seen, sizeof(seen));
	assert_string_equal(seen, "aa\nbbbb\ncccc\n");
	assert_int_equal(q.bytes, 13);
	assert_int_equal(frames[3]->refs, 1);
	for (int i = 0; i < 4; i++)
		frame_unref(frames[i]);
	outq_clear(&q);
}

static void an_idle_queue_gives_its_ring_back(void **state)
{
	(void)state;
	struct outq q;
	outq_init(&q);
	struct frame *f = text("x\n");
	outq_push(&q, f);
	outq_trim(&q); /* not empty: kept */
	assert_non_null(q.items);
	outq_consume(&q, f->len);
	assert_non_null(q.items); /* kept between flushes */
	outq_trim(&q);
	assert_null(q.items);
	assert_int_equal(q.cap, 0);
	assert_int_equal(outq_push(&q, f), 0); /* and usable again */
	frame_unref(f);
	outq_clear(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(frames_are_shared_not_copied),
		cmocka_unit_test(a_partial_write_keeps_the_rest_in_order),
		cmocka_unit_test(the_ring_grows_across_its_wrap),
		cmocka_unit_test(a_copy_holds_what_peek_would_send),
		cmocka_unit_test(empty_frames_are_not_queued),
		cmocka_unit_test(pictures_are_counted_apart),
		cmocka_unit_test(unsent_frames_are_dropped_but_not_one_begun),
		cmocka_unit_test(an_idle_queue_gives_its_ring_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
