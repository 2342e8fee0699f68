/* Redis URL parsing and the reconnection backoff (redis_url.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "redis.h"

static struct redis_url parse_ok(const char *text)
{
	struct redis_url u;
	const char *cause = NULL;
	int rc = redis_url_parse(text, &u, &cause);
	if (rc != 0)
		fail_msg("%s: %s", text, cause);
	return u;
}

static void host_port_db(void **state)
{
	(void)state;
	struct redis_url u = parse_ok("redis://127.0.0.1:6380/2");
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 6380);
	assert_int_equal(u.db, 2);
	assert_string_equal(u.user, "");
	assert_string_equal(u.password, "");

	u = parse_ok("redis://cache.example");
	assert_string_equal(u.host, "cache.example");
	assert_int_equal(u.port, REDIS_DEFAULT_PORT);
	assert_int_equal(u.db, 0);

	u = parse_ok("REDIS://localhost/");
	assert_string_equal(u.host, "localhost");
	assert_int_equal(u.db, 0);

	u = parse_ok("redis://[::1]:7000/15");
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 7000);
	assert_int_equal(u.db, 15);

	u = parse_ok("redis://[fe80::1]");
	assert_string_equal(u.host, "fe80::1");
	assert_int_equal(u.port, REDIS_DEFAULT_PORT);
}

static void credentials(void **state)
{
	(void)state;
	struct redis_url u = parse_ok("redis://:s3cret@h:1");
	assert_string_equal(u.user, "");
	assert_string_equal(u.password, "s3cret");
	assert_string_equal(u.host, "h");

	u = parse_ok("redis://chat:p%40ss%3Aw%2Fd@h");
	assert_string_equal(u.user, "chat");
	assert_string_equal(u.password, "p@ss:w/d");

	/* The last '@' ends the credentials. */
	u = parse_ok("redis://:a@b@h");
	assert_string_equal(u.password, "a@b");
	assert_string_equal(u.host, "h");
}

static void refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "localhost:6379", "http://h", "redis://", "redis://:6379", "redis:///0",
		"redis://h:0", "redis://h:65536", "redis://h:99999999", "redis://h:-1",
		"redis://h:12ab", "redis://h:", "redis://h/x", "redis://h/-1", "redis://h/1/2",
		"redis://h/10000000", "redis://h?timeout=1", "redis://h#x", "redis://[::1",
		"redis://[::1]x", "redis://pass@h", "redis://:@h", "redis://:a%zz@h",
		"redis://:a%4@h", "redis://:a%00b@h", "redis://h o", "redis://h\x01",
		"redis://h%41", "rediss://h", "unix:/tmp/redis.sock", "redis+unix:///tmp/r",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct redis_url u;
		const char *cause = NULL;
		if (redis_url_parse(bad[i], &u, &cause) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(cause);
		assert_true(strlen(cause) > 5);
	}
	struct redis_url u;
	const char *cause;
	assert_int_equal(redis_url_parse("rediss://h", &u, &cause), -EINVAL);
	assert_non_null(strstr(cause, "TLS"));
	assert_int_equal(redis_url_parse("unix:/x", &u, &cause), -EINVAL);
	assert_non_null(strstr(cause, "unix"));
}

static void too_long(void **state)
{
	(void)state;
	char url[2048];
	struct redis_url u;
	const char *cause;
	memset(url, 0, sizeof(url));
	memcpy(url, "redis://", 8);
	memset(url + 8, 'h', 300); /* a host over 255 bytes */
	assert_int_equal(redis_url_parse(url, &u, &cause), -EINVAL);
	memcpy(url, "redis://:", 9);
	memset(url + 9, 'p', 600); /* a password over 511 bytes */
	memcpy(url + 609, "@h", 3);
	assert_int_equal(redis_url_parse(url, &u, &cause), -EINVAL);
	memset(url + 9, 'p', 511);
	memcpy(url + 520, "@h", 3);
	u = parse_ok(url);
	assert_int_equal(strlen(u.password), 511);
}

static void backoff_doubles_within_bounds(void **state)
{
	(void)state;
	/* random 0: the fixed half; UINT32_MAX: nearly the whole delay. */
	assert_int_equal(redis_backoff_ms(0, 100, 5000, 0), 50);
	assert_int_equal(redis_backoff_ms(1, 100, 5000, 0), 100);
	assert_int_equal(redis_backoff_ms(2, 100, 5000, 0), 200);
	assert_int_equal(redis_backoff_ms(5, 100, 5000, 0), 1600);
	assert_int_equal(redis_backoff_ms(6, 100, 5000, 0), 2500);
	assert_int_equal(redis_backoff_ms(1000, 100, 5000, 0), 2500);
	assert_int_equal(redis_backoff_ms(UINT32_MAX, 100, 5000, UINT32_MAX), 4999);
	for (unsigned a = 0; a < 80; a++) {
		for (uint32_t r = 0; r < 10; r++) {
			uint64_t d = redis_backoff_ms(a, 100, 5000, r * 429496729u);
			uint64_t full = a >= 6 ? 5000 : 100u << a;
			assert_true(d >= full / 2 && d <= full);
		}
	}
	/* Jitter spreads the delays of one attempt. */
	assert_true(redis_backoff_ms(3, 100, 5000, 0) < redis_backoff_ms(3, 100, 5000, 1u << 31));
	/* Odd settings neither overflow nor stop. */
	assert_true(redis_backoff_ms(70, 1, UINT64_MAX, UINT32_MAX) <= UINT32_MAX);
	assert_true(redis_backoff_ms(3, 0, 0, 5) <= 1);
	assert_int_equal(redis_backoff_ms(0, 900, 100, 0), 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(host_port_db),
		cmocka_unit_test(credentials),
		cmocka_unit_test(refused),
		cmocka_unit_test(too_long),
		cmocka_unit_test(backoff_doubles_within_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
