/* The bounded RESP reader (resp.c): replies whole however the bytes are
 * split, and each bound refused for good. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

/* Feeds text in pieces of `step` bytes; returns the first reply or error. */
static int feed_split(struct resp_reader *rd, const char *text, size_t len, size_t step,
		      redisReply **out, const char **cause)
{
	int rc = 0;
	for (size_t at = 0; at < len; at += step) {
		size_t n = len - at < step ? len - at : step;
		if ((rc = resp_feed(rd, text + at, n)) < 0)
			return rc;
		if ((rc = resp_next(rd, out, cause)) != 0)
			return rc;
	}
	return rc;
}

static void whole_replies_however_split(void **state)
{
	(void)state;
	static const char text[] = "*3\r\n$5\r\nhello\r\n:42\r\n*2\r\n+OK\r\n$-1\r\n";
	for (size_t step = 1; step <= sizeof(text); step++) {
		struct resp_reader *rd = resp_reader_new(1 << 20);
		redisReply *x = NULL;
		const char *cause = NULL;
		assert_int_equal(feed_split(rd, text, sizeof(text) - 1, step, &x, &cause), 1);
		assert_int_equal(x->type, REDIS_REPLY_ARRAY);
		assert_int_equal(x->elements, 3);
		assert_int_equal(x->element[0]->len, 5);
		assert_memory_equal(x->element[0]->str, "hello", 5);
		assert_int_equal(x->element[1]->integer, 42);
		assert_int_equal(x->element[2]->element[0]->type, REDIS_REPLY_STATUS);
		assert_int_equal(x->element[2]->element[1]->type, REDIS_REPLY_NIL);
		freeReplyObject(x);
		assert_int_equal(resp_next(rd, &x, &cause), 0);
		assert_int_equal(resp_held(rd), 0);
		resp_reader_free(rd);
	}
}

static void several_replies_in_one_feed(void **state)
{
	(void)state;
	struct resp_reader *rd = resp_reader_new(4096);
	static const char text[] = "+OK\r\n-ERR no\r\n:7\r\n$3\r\na\0b\r\n$0\r\n\r\n*0\r\n:";
	redisReply *x;
	const char *cause;
	assert_int_equal(resp_feed(rd, text, sizeof(text) - 1), 0);
	int types[] = { REDIS_REPLY_STATUS, REDIS_REPLY_ERROR, REDIS_REPLY_INTEGER,
			REDIS_REPLY_STRING, REDIS_REPLY_STRING, REDIS_REPLY_ARRAY };
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(resp_next(rd, &x, &cause), 1);
		assert_int_equal(x->type, types[i]);
		if (i == 3)
			assert_memory_equal(x->str, "a\0b", 3); /* binary-safe */
		freeReplyObject(x);
	}
	assert_int_equal(resp_next(rd, &x, &cause), 0); /* ":" waits for more */
	assert_int_equal(resp_feed(rd, "-3\r\n", 4), 0);
	assert_int_equal(resp_next(rd, &x, &cause), 1);
	assert_int_equal(x->integer, -3);
	freeReplyObject(x);
	resp_reader_free(rd);
}

/* The cause lives with its reader: kept here for the caller. */
static char kept_cause[200];

static int first_error(size_t max, const char *text, size_t len, size_t step, const char **cause)
{
	struct resp_reader *rd = resp_reader_new(max);
	redisReply *x = NULL;
	int rc = feed_split(rd, text, len, step, &x, cause);
	if (rc == 1)
		freeReplyObject(x);
	/* Failed for good: further bytes and asks fail the same. */
	if (rc < 0) {
		assert_int_equal(resp_feed(rd, "+OK\r\n", 5), rc);
		assert_int_equal(resp_next(rd, &x, cause), rc);
		assert_null(x);
		snprintf(kept_cause, sizeof(kept_cause), "%s", *cause);
		*cause = kept_cause;
	}
	resp_reader_free(rd);
	return rc;
}

static void bulk_over_the_bound(void **state)
{
	(void)state;
	const char *cause;
	/* A length far beyond: refused once the bytes held pass the bound
	 * (hiredis waits for the whole bulk before making it). */
	size_t len = 20000;
	char *text = malloc(len);
	memcpy(text, "$9999999999\r\n", 13);
	memset(text + 13, 'x', len - 13);
	assert_int_equal(first_error(4096, text, len, 1000, &cause), -EMSGSIZE);
	assert_string_equal(cause, "reply over its size bound");
	/* A bulk just over the bound, arriving whole in one feed. */
	memcpy(text, "$5000\r\n", 7);
	memset(text + 7, 'y', 5000);
	memcpy(text + 5007, "\r\n", 2);
	assert_int_equal(first_error(4096, text, 5009, 5009, &cause), -EMSGSIZE);
	/* Within the bound, the same arrives. */
	assert_int_equal(first_error(8192, text, 5009, 100, &cause), 1);
	free(text);
}

static void array_counts_over_the_bound(void **state)
{
	(void)state;
	const char *cause;
	static const char huge[] = "*2147483647\r\n";
	assert_int_equal(first_error(1 << 20, huge, sizeof(huge) - 1, 100, &cause), -EMSGSIZE);
	/* Many small elements cost their objects, not only their bytes. */
	size_t n = 5000, len = 0;
	char *text = malloc(16 + n * 4);
	len += (size_t)snprintf(text, 16, "*%zu\r\n", n);
	for (size_t i = 0; i < n; i++) {
		memcpy(text + len, ":1\r\n", 4);
		len += 4;
	}
	assert_int_equal(first_error(64 * 1024, text, len, len, &cause), -EMSGSIZE);
	assert_int_equal(first_error(1 << 20, text, len, 1000, &cause), 1);
	free(text);
}

/* levels arrays of one, each in the next, around ":1" (levels <= 40). */
static size_t nested(char *out, int levels)
{
	size_t n = 0;
	for (int i = 0; i < levels; i++, n += 4)
		memcpy(out + n, "*1\r\n", 4);
	memcpy(out + n, ":1\r\n", 4);
	return n + 4;
}

static void nesting_and_garbage(void **state)
{
	(void)state;
	const char *cause;
	char text[200];
	size_t len = nested(text, 20);
	assert_int_equal(first_error(1 << 20, text, len, 3, &cause), -EPROTO);
	assert_non_null(strstr(cause, "malformed reply"));
	/* Seven levels are hiredis's limit, and fine. */
	len = nested(text, 7);
	assert_int_equal(first_error(1 << 20, text, len, 3, &cause), 1);
	static const char *const bad[] = { "?x\r\n", "$-5\r\n", "$abc\r\n", "*-2\r\n",
					   ":12x\r\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(first_error(1 << 20, bad[i], strlen(bad[i]), 1, &cause),
				 -EPROTO);
}

static void endless_line(void **state)
{
	(void)state;
	const char *cause;
	/* No "\r\n" within RESP_MAX_LINE: refused long before the reply bound. */
	size_t len = RESP_MAX_LINE + 10000;
	char *text = malloc(len);
	text[0] = '+';
	memset(text + 1, 'a', len - 1);
	assert_int_equal(first_error(64u << 20, text, len, 4096, &cause), -EMSGSIZE);
	assert_string_equal(cause, "reply line over its bound");
	/* A bulk's header is a line too. */
	text[0] = '$';
	memset(text + 1, '1', len - 1);
	assert_int_equal(first_error(64u << 20, text, len, 4096, &cause), -EMSGSIZE);
	free(text);
}

static void large_reply_within_bounds_then_small(void **state)
{
	(void)state;
	/* A long bulk fed in small pieces: no line error (its header ended). */
	size_t body = 3 * RESP_MAX_LINE, len = 0;
	char *text = malloc(body + 64);
	len += (size_t)snprintf(text, 32, "$%zu\r\n", body);
	memset(text + len, 'z', body);
	len += body;
	memcpy(text + len, "\r\n+OK\r\n", 7);
	len += 7;
	struct resp_reader *rd = resp_reader_new(1 << 20);
	redisReply *x = NULL;
	const char *cause;
	assert_int_equal(feed_split(rd, text, len, 1500, &x, &cause), 1);
	assert_int_equal(x->len, body);
	freeReplyObject(x);
	assert_int_equal(resp_next(rd, &x, &cause), 1);
	assert_int_equal(x->type, REDIS_REPLY_STATUS);
	freeReplyObject(x);
	resp_reader_free(rd);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(whole_replies_however_split),
		cmocka_unit_test(several_replies_in_one_feed),
		cmocka_unit_test(bulk_over_the_bound),
		cmocka_unit_test(array_counts_over_the_bound),
		cmocka_unit_test(nesting_and_garbage),
		cmocka_unit_test(endless_line),
		cmocka_unit_test(large_reply_within_bounds_then_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
