/* The gap filler (gapfill.c): in order, once, holes read from the stream,
 * bounded, every answer checked against its read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gapfill.h"

/* What the filler did, as words: "d5" delivered 5, "t2-4" truncated,
 * "f2-9" a read of 2..9 (0: to the newest). */
struct record {
	char log[4096];
	size_t len;
	uint64_t token;   /* the last read's */
	int fetch_rc;     /* what fetch answers */
	unsigned fetches;
};

static void add(struct record *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct record *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (r->len > 0 && r->len < sizeof(r->log) - 1)
		r->log[r->len++] = ' ';
	int n = vsnprintf(r->log + r->len, sizeof(r->log) - r->len, fmt, ap);
	va_end(ap);
	r->len += (size_t)n;
}

static void on_deliver(void *data, const char *room, uint64_t seq, const char *p, size_t len)
{
	char expect[32];
	snprintf(expect, sizeof(expect), "e%llu", (unsigned long long)seq);
	/* Each event's payload is its own: "e<seq>". */
	assert_int_equal(len, strlen(expect));
	assert_memory_equal(p, expect, len);
	assert_true(strcmp(room, "r") == 0 || strcmp(room, "q") == 0);
	add(data, "d%llu", (unsigned long long)seq);
}

static void on_truncated(void *data, const char *room, uint64_t first, uint64_t last)
{
	(void)room;
	add(data, "t%llu-%llu", (unsigned long long)first, (unsigned long long)last);
}

static int on_fetch(void *data, const char *room, uint64_t from, uint64_t to, uint64_t token)
{
	struct record *r = data;
	(void)room;
	r->token = token;
	r->fetches++;
	add(r, "f%llu-%llu", (unsigned long long)from, (unsigned long long)to);
	return r->fetch_rc;
}

static void on_restarted(void *data, const char *room, uint64_t old_last)
{
	(void)room;
	add(data, "r%llu", (unsigned long long)old_last);
}

static const struct gapfill_callbacks callbacks = { on_deliver, on_truncated, on_restarted,
						    on_fetch };

static struct gapfill *make(struct record *r, size_t max_held, size_t max_bytes)
{
	memset(r, 0, sizeof(*r));
	struct gapfill *g = gapfill_new(&callbacks, r, max_held, max_bytes);
	assert_non_null(g);
	assert_int_equal(gapfill_follow(g, "r", 0, 0), 0);
	return g;
}

/* The epoch events are published in (tests switch it). */
static uint64_t epoch = 1000;

static void publish(struct gapfill *g, uint64_t seq)
{
	char p[32];
	snprintf(p, sizeof(p), "e%llu", (unsigned long long)seq);
	assert_int_equal(gapfill_published(g, "r", epoch, seq, p, strlen(p)), 0);
}

/* Answers the last read with entries first..last (none when first > last). */
static void answer(struct gapfill *g, struct record *r, uint64_t first, uint64_t last, bool full)
{
	struct gapfill_entry e[64];
	char p[64][32];
	size_t n = 0;
	for (uint64_t s = first; s <= last && n < 64; s++, n++) {
		snprintf(p[n], sizeof(p[n]), "e%llu", (unsigned long long)s);
		e[n] = (struct gapfill_entry){ epoch, s, p[n], strlen(p[n]) };
	}
	gapfill_fetched(g, "r", r->token, e, n, full);
}

static void expect_log(struct record *r, const char *want)
{
	assert_string_equal(r->log, want);
	r->len = 0;
	r->log[0] = '\0';
}

static void in_order_and_once(void **state)
{
	(void)state;
	struct record r;
	struct gapfill *g = make(&r, 100, 1 << 20);
	publish(g, 1);
	publish(g, 2);
	publish(g, 2);
	publish(g, 1);
	publish(g, 3);
	expect_log(&r, "d1 d2 d3");
	uint64_t last;
	assert_true(gapfill_last(g, "r", &last));
	assert_int_equal(last, 3);
	assert_int_equal(gapfill_follow(g, "r", 0, 0), -EEXIST);
	assert_int_equal(gapfill_published(g, "nope", epoch, 1, "x", 1), -ENOENT);
	assert_false(gapfill_last(g, "nope", &last));
	gapfill_free(g);
}

static void hole_read_then_held_events(void **state)
{
	(void)state;
	struct record r;
	struct gapfill *g = make(&r, 100, 1 << 20);
	publish(g, 1);
	publish(g, 4);
	expect_log(&r, "d1 f2-3");
	/* Held while the read is out, in order, once. */
	publish(g, 6);
	publish(g, 5);
	publish(g, 6);
	publish(g, 3);
	assert_int_equal(gapfill_held(g, "r"), 4);
	expect_log(&r, "");
	answer(g, &r, 2, 3, false);
	expect_log(&r, "d2 d3 d4 d5 d6");
	assert_int_equal(gapfill_held(g, "r"), 0);
	publish(g, 7);
	expect_log(&r, "d7");
	gapfill_free(g);
}

static void holes_among_held_events(void **state)
{
	(void)state;
	struct record r;
	struct gapfill *g = make(&r, 100, 1 << 20);
	publish(g, 3);
	publish(g, 6);
	expect_log(&r, "f1-2");
	answer(g, &r, 1, 2, false);
	/* 3 follows on; 4..5 are a second hole. */
	expect_log(&r, "d1 d2 d3 f4-5");
	answer(g, &r, 4, 5, false);
	expect_log(&r, "d4 d5 d6");
	gapfill_free(g);
}

static void trimmed_stream_is_reported_once(void **state)
{
	(void)state;
	struct record r;
	struct gapfill *g = make(&r, 100, 1 << 20);
	publish(g, 1);
	publish(g, 10);
	expect_log(&r, "d1 f2-9");
	answer(g, &r, 6, 9, false); /* 2..5 trimmed */
	expect_log(&r, "t2-5 d6 d7 d8 d9 d10");
	publish(g, 13);
	expect_log(&r, "f11-12");
	answer(g, &r, 1, 0, false); /* nothing left of 11..12 */
	expect_log(&r, "t11-12 d13");
	gapfill_free(g);
}

static void long_hole_read_in_pages(void **state)
{
	(void)state;
	struct record r;
	struct gapfill *g = make(&r, 100, 1 << 20);
	publish(g, 9);
	expect_log(&r, "f1-8");
	answer(g, &r, 1, 3, true);
	expect_log(&r, "d1 d2 d3 f4-8");
	answer(g, &r, 4, 8, true); /* full, but the range is read */
	expect_log(&r, "d4 d5 d6 d7 d8 d9");
	gapfill_free(g);
}

static void held_events_bounded_then_read_to_the_newest(void **state)
{
	(void)state;
	struct record r;
	struct gapfill *g = make(&r, 3, 1 << 20);
	publish(g, 2);
	expect_log(&r, "f1-1");
	for (uint64_t s = 3; s <= 20; s++)
		publish(g, s);
	assert_int_equal(gapfill_held(g, "r"), 3); /* 2, 3, 4 */
	answer(g, &r, 1, 1, false);
	expect_log(&r, "d1 d2 d3 d4 f5-0");
	answer(g, &r, 5, 20, false);
	expect_log(&r, "d5 d6 d7 d8 d9 d10 d11 d12 d13 d14 d15 d16 d17 d18 d19 d20");
	assert_int_equal(gapfill_held(g, "r"), 0);
	gapfill_free(g);

	/* The bound in bytes: "eN" is 2 or 3 bytes; 7 bytes hold 3 events. */
	g = make(&r, 100, 7);
	publish(g, 2);
	publish(g, 3);
	publish(g, 4);
	publish(g, 5);
	assert_int_equal(gapfill_held(g, "r"), 3);
	expect_log(&r, "f1-1");
	answer(g, &r, 1, 1, false);
	expect_log(&r, "d1 d2 d3 d4 f5-0");
	gapfill_free(g);
}

static void failed_reads_wait_for_retry(void **state)
{
	(void)state;
	struct record r;
	struct gapfill *g = make(&r, 100, 1 << 20);
	r.fetch_rc = -ENOTCONN;
	publish(g, 3);
	expect_log(&r, "f1-2");
	publish(g, 4); /* held; no read while failed */
	expect_log(&r, "");
	r.fetch_rc = 0;
	gapfill_retry(g);
	expect_log(&r, "f1-2");
	uint64_t token = r.token;
	gapfill_fetch_failed(g, "r", token + 1); /* not this read's: ignored */
	gapfill_fetch_failed(g, "r", token);
	publish(g, 5);
	expect_log(&r, "");
	gapfill_retry(g);
	expect_log(&r, "f1-2");
	answer(g, &r, 1, 2, false);
	/* After a failure the room also reads on to the newest. */
	expect_log(&r, "d1 d2 d3 d4 d5 f6-0");
	answer(g, &r, 6, 6, false);
	expect_log(&r, "d6");
	gapfill_free(g);
}

static void late_answers_ignored(void **state)
{
	(void)state;
	struct record r;
	struct gapfill *g = make(&r, 100, 1 << 20);
	publish(g, 3);
	uint64_t old = r.token;
	expect_log(&r, "f1-2");
	/* Unfollowed and followed again: the old read's answer is not the new
	 * room's. */
	gapfill_unfollow(g, "r");
	assert_int_equal(gapfill_follow(g, "r", epoch, 10), 0);
	struct gapfill_entry e = { epoch, 1, "e1", 2 };
	gapfill_fetched(g, "r", old, &e, 1, false);
	publish(g, 11);
	expect_log(&r, "d11");
	gapfill_fetched(g, "gone", old, &e, 1, false);
	gapfill_free(g);
}

static void resync_reads_what_was_missed(void **state)
{
	(void)state;
	struct record r;
	struct gapfill *g = make(&r, 100, 1 << 20);
	publish(g, 1);
	gapfill_resync(g);
	expect_log(&r, "d1 f2-0");
	publish(g, 4); /* the channel again, while the read is out */
	answer(g, &r, 2, 4, false);
	expect_log(&r, "d2 d3 d4");
	publish(g, 5);
	expect_log(&r, "d5");
	/* Resync while a hole's read is out: to the newest once it is in. */
	publish(g, 8);
	expect_log(&r, "f6-7");
	gapfill_resync(g);
	expect_log(&r, "");
	answer(g, &r, 6, 7, false);
	expect_log(&r, "d6 d7 d8 f9-0");
	answer(g, &r, 9, 10, false);
	expect_log(&r, "d9 d10");
	gapfill_free(g);
}

static void new_epoch_starts_the_room_over(void **state)
{
	(void)state;
	struct record r;
	struct gapfill *g = make(&r, 100, 1 << 20);
	epoch = 1000;
	publish(g, 1);
	publish(g, 2);
	publish(g, 5);
	expect_log(&r, "d1 d2 f3-4");
	/* Redis lost the room: 1, 2, 3 again, in another numbering. The read
	 * out is of the old one; its answer is not taken. */
	uint64_t old_token = r.token;
	epoch = 2000;
	publish(g, 2);
	expect_log(&r, "r2 f1-1");
	struct gapfill_entry stale[2] = { { 1000, 3, "e3", 2 }, { 1000, 4, "e4", 2 } };
	gapfill_fetched(g, "r", old_token, stale, 2, false);
	expect_log(&r, "");
	answer(g, &r, 1, 1, false);
	expect_log(&r, "d1 d2");
	/* The old numbering's late events are dropped. */
	epoch = 1000;
	publish(g, 6);
	expect_log(&r, "");
	epoch = 2000;
	publish(g, 3);
	expect_log(&r, "d3");
	/* A new epoch seen first in a read's answer (a resync after Redis came
	 * back empty): the answer waits while the start is read. */
	gapfill_resync(g);
	expect_log(&r, "f4-0");
	struct gapfill_entry fresh[2] = { { 3000, 4, "e4", 2 }, { 3000, 5, "e5", 2 } };
	gapfill_fetched(g, "r", r.token, fresh, 2, false);
	expect_log(&r, "r3 f1-3");
	epoch = 3000;
	answer(g, &r, 2, 3, false); /* 1 trimmed already */
	expect_log(&r, "t1-1 d2 d3 d4 d5");
	/* A room followed with no epoch known takes the first it sees. */
	assert_int_equal(gapfill_follow(g, "q", 0, 7), 0);
	assert_int_equal(gapfill_published(g, "q", 4000, 8, "e8", 2), 0);
	expect_log(&r, "d8");
	gapfill_free(g);
}

/* After a loss, Redis restarted empty has numbered the room anew up to 2
 * while the room had reached 6 (read on from 7, the resync would find
 * nothing): told the head, the room starts over and reads from 1. The
 * same numbering, or one it left, changes nothing. */
static void count_room(void *data, const char *room)
{
	assert_string_equal(room, "r");
	(*(uint64_t *)data)++;
}

static void head_of_a_new_numbering_is_read_from_one(void **state)
{
	(void)state;
	struct record r;
	struct gapfill *g = make(&r, 100, 1 << 20);
	for (uint64_t s = 1; s <= 6; s++)
		publish(g, s);
	expect_log(&r, "d1 d2 d3 d4 d5 d6");
	uint64_t old = epoch;
	gapfill_head(g, "r", old, 9); /* same numbering: the resync's business */
	expect_log(&r, "");
	epoch = old + 1;
	gapfill_head(g, "r", epoch, 2);
	expect_log(&r, "r6 f1-0");
	answer(g, &r, 1, 2, false);
	expect_log(&r, "d1 d2");
	gapfill_head(g, "r", old, 6); /* a numbering it left */
	gapfill_head(g, "nope", epoch, 6);
	expect_log(&r, "");
	uint64_t rooms = 0;
	gapfill_foreach(g, count_room, &rooms);
	assert_int_equal(rooms, 1);
	epoch = old;
	gapfill_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(in_order_and_once),
		cmocka_unit_test(hole_read_then_held_events),
		cmocka_unit_test(holes_among_held_events),
		cmocka_unit_test(trimmed_stream_is_reported_once),
		cmocka_unit_test(long_hole_read_in_pages),
		cmocka_unit_test(held_events_bounded_then_read_to_the_newest),
		cmocka_unit_test(failed_reads_wait_for_retry),
		cmocka_unit_test(late_answers_ignored),
		cmocka_unit_test(resync_reads_what_was_missed),
		cmocka_unit_test(new_epoch_starts_the_room_over),
		cmocka_unit_test(head_of_a_new_numbering_is_read_from_one),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
