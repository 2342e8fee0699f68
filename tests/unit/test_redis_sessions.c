/* A session's value in Redis (redis_sessions.c): what is written reads
 * back the same; anything else a Redis (or whoever wrote there) hands
 * back is refused whole: missing, extra, long or empty fields, numbers out
 * of range or not decimal, bad holders and identities, names a peer could
 * not have, bytes past the bound. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "redis_sessions.h"

static struct redis_session sample(void)
{
	struct redis_session s = {.user_id = 4503599627370497ull, .colour = 208};
	snprintf(s.holder, sizeof(s.holder), "0123456789abcdef:42");
	snprintf(s.pseudo, sizeof(s.pseudo), "revenant");
	snprintf(s.room, sizeof(s.room), "général");
	return s;
}

static void test_round_trip(void **state)
{
	(void)state;
	struct redis_session s = sample(), back;
	char v[REDIS_SESSION_MAX_BYTES];
	size_t n = redis_session_format(&s, v, sizeof(v));
	assert_true(n > 0);
	assert_int_equal(redis_session_parse(v, n, &back), 0);
	assert_int_equal(back.user_id, s.user_id);
	assert_int_equal(back.colour, 208);
	assert_string_equal(back.holder, s.holder);
	assert_string_equal(back.pseudo, "revenant");
	assert_string_equal(back.room, "général");
	assert_false(back.has_identity);
	/* With an identity, and no colour. */
	s.has_identity = true;
	for (size_t i = 0; i < sizeof(s.identity); i++)
		s.identity[i] = (unsigned char)(i * 7 + 1);
	s.colour = -1;
	n = redis_session_format(&s, v, sizeof(v));
	assert_int_equal(redis_session_parse(v, n, &back), 0);
	assert_true(back.has_identity);
	assert_memory_equal(back.identity, s.identity, sizeof(s.identity));
	assert_int_equal(back.colour, -1);
	/* Too small a buffer: nothing. */
	assert_int_equal(redis_session_format(&s, v, 20), 0);
}

static void expect_refused(const char *v)
{
	struct redis_session back;
	assert_int_equal(redis_session_parse(v, strlen(v), &back), -EINVAL);
}

static void test_hostile_values(void **state)
{
	(void)state;
	const char *id = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
	char v[1024];
	/* The good one, to be sure the others fail for their own fault. */
	snprintf(v, sizeof(v), "s1\n7\n3\nab:1\n%s\ngeneral\nbob", id);
	struct redis_session back;
	assert_int_equal(redis_session_parse(v, strlen(v), &back), 0);

	expect_refused("");
	expect_refused("s1");
	expect_refused("s2\n7\n3\nab:1\n\ngeneral\nbob");        /* unknown version */
	expect_refused("s1\n7\n3\nab:1\n\ngeneral");             /* a field short */
	expect_refused("s1\n7\n3\nab:1\n\ngeneral\nbob\nx");     /* a field too many */
	expect_refused("s1\n7\n3\nab:1\n\ngeneral\nbob\n");      /* an empty last one */
	expect_refused("s1\n0\n3\nab:1\n\ngeneral\nbob");        /* no user 0 */
	expect_refused("s1\n9007199254740992\n3\nab:1\n\ngeneral\nbob"); /* past 2^53 - 1 */
	expect_refused("s1\n99999999999999999999999\n3\nab:1\n\ngeneral\nbob");
	expect_refused("s1\n-7\n3\nab:1\n\ngeneral\nbob");
	expect_refused("s1\n7x\n3\nab:1\n\ngeneral\nbob");
	expect_refused("s1\n\n3\nab:1\n\ngeneral\nbob");
	expect_refused("s1\n7\n256\nab:1\n\ngeneral\nbob");      /* colour out of the palette */
	expect_refused("s1\n7\n-2\nab:1\n\ngeneral\nbob");
	expect_refused("s1\n7\n+3\nab:1\n\ngeneral\nbob");
	expect_refused("s1\n7\n3\nab\n\ngeneral\nbob");          /* holders: node:conn */
	expect_refused("s1\n7\n3\n:1\n\ngeneral\nbob");
	expect_refused("s1\n7\n3\nzz:1\n\ngeneral\nbob");
	expect_refused("s1\n7\n3\nab:\n\ngeneral\nbob");
	expect_refused("s1\n7\n3\nab:1:2\n\ngeneral\nbob");
	expect_refused("s1\n7\n3\nab:1\nabc\ngeneral\nbob");     /* identities: 64 hex */
	snprintf(v, sizeof(v), "s1\n7\n3\nab:1\n%.63sg\ngeneral\nbob", id);
	expect_refused(v);
	snprintf(v, sizeof(v), "s1\n7\n3\nab:1\n%s00\ngeneral\nbob", id);
	expect_refused(v);
	expect_refused("s1\n7\n3\nab:1\n\n\nbob");               /* no room */
	expect_refused("s1\n7\n3\nab:1\n\ngeneral\n");           /* no pseudo */
	expect_refused("s1\n7\n3\nab:1\n\ngeneral\nb\tob");      /* a control byte */
	expect_refused("s1\n7\n3\nab:1\n\ngeneral\nb\x1b[2Job");
	expect_refused("s1\n7\n3\nab:1\n\ngeneral\n\xff\xfe");   /* not UTF-8 */
	expect_refused("s1\n7\n3\nab:1\n\ngeneral\nabcdefghijklmnopqrstuvwxyz0123456"); /* 33 */
	expect_refused("s1\n7\n3\nab:1\n\nabcdefghijklmnopqrstuvwxyz0123456\nbob");
	/* A NUL inside: the length rules, and the name is refused. */
	static const char nul[] = "s1\n7\n3\nab:1\n\ngeneral\nb\0b";
	assert_int_equal(redis_session_parse(nul, sizeof(nul) - 1, &back), -EINVAL);
	/* Past the bound, whatever it holds. */
	char big[REDIS_SESSION_MAX_BYTES + 64];
	memset(big, 'a', sizeof(big));
	memcpy(big, "s1\n7\n3\nab:1\n\ngeneral\n", 21);
	assert_int_equal(redis_session_parse(big, sizeof(big), &back), -EINVAL);
	/* A holder longer than its field. */
	char holder[300];
	memset(holder, 'a', sizeof(holder));
	holder[200] = '\0';
	snprintf(v, sizeof(v), "s1\n7\n3\n%s:1\n\ngeneral\nbob", holder);
	expect_refused(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_hostile_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
