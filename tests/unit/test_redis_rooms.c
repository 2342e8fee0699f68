/* A room's Redis keys and channel messages (redis_rooms.c, the parts
 * without I/O). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "redis_rooms.h"

static void keys_are_hash_tagged_and_escaped(void **state)
{
	(void)state;
	char k[REDIS_ROOMS_KEY_MAX];
	assert_int_equal(redis_rooms_key(k, sizeof(k), "general", ":meta"), 14);
	assert_string_equal(k, "{general}:meta");
	/* Braces would end the tag early; ':' and '%' would make two rooms
	 * meet; spaces and controls are unreadable. UTF-8 stays as it is. */
	redis_rooms_key(k, sizeof(k), "a}b{c:d%e f\x01", ":log");
	assert_string_equal(k, "{a%7Db%7Bc%3Ad%25e%20f%01}:log");
	redis_rooms_key(k, sizeof(k), "caf\xc3\xa9", ":events");
	assert_string_equal(k, "{caf\xc3\xa9}:events");
	redis_rooms_pseudo_key(k, sizeof(k), "al}ce");
	assert_string_equal(k, "pseudo:{al%7Dce}");
	/* The longest skeleton, every byte escaped, fits. */
	char room[161];
	memset(room, '{', 160);
	room[160] = '\0';
	assert_true(redis_rooms_key(k, sizeof(k), room, ":events") > 0);
	assert_true(redis_rooms_pseudo_key(k, sizeof(k), room) > 0);
	assert_int_equal(redis_rooms_key(k, 10, "general", ":meta"), -ENAMETOOLONG);
}

static void channel_back_to_room(void **state)
{
	(void)state;
	char k[REDIS_ROOMS_KEY_MAX], room[200];
	static const char *const rooms[] = { "general", "a}b{c:d%e f\x01", "caf\xc3\xa9", "x" };
	for (size_t i = 0; i < sizeof(rooms) / sizeof(rooms[0]); i++) {
		int n = redis_rooms_key(k, sizeof(k), rooms[i], ":events");
		assert_int_equal(redis_rooms_from_channel(k, (size_t)n, room, sizeof(room)),
				 (int)strlen(rooms[i]));
		assert_string_equal(room, rooms[i]);
	}
	static const char *const bad[] = { "general:events", "{general}:log", "{}:events",
					   "{a%4}:events", "{a%zz}:events", "{a%61}:events",
					   "{a}b}:events", "{a b}:events", "{a%00}:events", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(redis_rooms_from_channel(bad[i], strlen(bad[i]), room,
							  sizeof(room)), -EINVAL);
	assert_int_equal(redis_rooms_from_channel("{abcdef}:events", 15, room, 4), -EINVAL);
}

static void channel_messages(void **state)
{
	(void)state;
	uint64_t epoch, seq;
	const char *ev;
	size_t len;
	static const char m[] = "1700000000123456:42|{\"a\":1}";
	assert_int_equal(redis_rooms_parse_message(m, sizeof(m) - 1, &epoch, &seq, &ev, &len), 0);
	assert_true(epoch == 1700000000123456ull);
	assert_int_equal(seq, 42);
	assert_int_equal(len, 7);
	assert_memory_equal(ev, "{\"a\":1}", 7);
	assert_int_equal(redis_rooms_parse_message("9:7|", 4, &epoch, &seq, &ev, &len), 0);
	assert_int_equal(len, 0);
	static const char big[] = "18446744073709551615:18446744073709551615|x|y";
	assert_int_equal(redis_rooms_parse_message(big, sizeof(big) - 1, &epoch, &seq, &ev, &len),
			 0);
	assert_true(epoch == UINT64_MAX && seq == UINT64_MAX);
	assert_int_equal(len, 3); /* '|' in the event is the event's */
	static const char *const bad[] = { "|x", "1:|x", ":1|x", "0:1|x", "1:0|x", "1:007|x",
					   "01:7|x", "-1:1|x", "1:1x|y", "1:12", "12|x", "1;2|x",
					   "1:18446744073709551616|x", "18446744073709551616:1|x",
					   "1:123456789012345678901|x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (redis_rooms_parse_message(bad[i], strlen(bad[i]), &epoch, &seq, &ev, &len) !=
		    -EINVAL)
			fail_msg("accepted: %s", bad[i]);
}

static void script_is_embedded(void **state)
{
	(void)state;
	/* The build put redis_publish.lua in the program, whole. */
	assert_true(redis_publish_lua_len > 500);
	assert_int_equal(strlen(redis_publish_lua), redis_publish_lua_len);
	assert_non_null(strstr(redis_publish_lua, "HINCRBY"));
	assert_non_null(strstr(redis_publish_lua, "return {seq, 0, epoch}"));
	struct redis_script s;
	redis_script_init(&s, "return 1", 8);
	/* SHA-1 of "return 1", as SCRIPT LOAD gives it. */
	assert_string_equal(s.sha, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keys_are_hash_tagged_and_escaped),
		cmocka_unit_test(channel_back_to_room),
		cmocka_unit_test(channel_messages),
		cmocka_unit_test(script_is_embedded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
