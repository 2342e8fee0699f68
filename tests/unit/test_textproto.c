/* The text protocol's first line, and pseudo and room rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "textproto.h"

static struct text_msg parse(const char *line)
{
	struct text_msg m;
	textproto_parse_first(line, strlen(line), &m);
	return m;
}

static void first_lines(void **state)
{
	(void)state;
	assert_int_equal(parse("Hello").kind, TEXT_HELLO);
	struct text_msg m = parse("Hello|it4");
	assert_int_equal(m.kind, TEXT_HELLO_PSEUDO);
	assert_int_equal(m.len, 3);
	assert_memory_equal(m.text, "it4", 3);
	m = parse("Hello|");
	assert_int_equal(m.kind, TEXT_HELLO_PSEUDO);
	assert_int_equal(m.len, 0);
	const char *messages[] = {"Hellox", "hello", "Hello ", "salut", "", "Hell"};
	for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
		m = parse(messages[i]);
		assert_int_equal(m.kind, TEXT_MESSAGE);
		assert_int_equal(m.len, strlen(messages[i]));
	}
}

static void pseudos(void **state)
{
	(void)state;
	const char *cause;
	const char *good[] = {"it4", "Zoé", "日本", "a", "x-y_z.1"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(textproto_check_pseudo(good[i], strlen(good[i]), &cause), 0);
	char long_one[34];
	memset(long_one, 'p', 33);
	long_one[33] = '\0';
	const char *bad[] = {"", long_one, "\xff\xfe", " lead", "trail ", "a|b", "a:b",
			     "bel\x07", "esc\x1b[31m", "\xe2\x80\xae" "evil", "bo\xe2\x80\x8b" "b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cause = NULL;
		assert_int_not_equal(textproto_check_pseudo(bad[i], strlen(bad[i]), &cause), 0);
		assert_non_null(cause);
	}
	assert_int_equal(textproto_check_pseudo(long_one, 32, &cause), 0);
}

static void rooms(void **state)
{
	(void)state;
	const char *cause;
	assert_int_equal(textproto_check_room("general", 7, &cause), 0);
	assert_int_equal(textproto_check_room("salle-2_b.c", 11, &cause), 0);
	assert_int_equal(textproto_check_room("café", 5, &cause), 0);
	const char *bad[] = {"", "a b", "../x", "a/b", "\xe2\x80\xae", "x\x1b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(textproto_check_room(bad[i], strlen(bad[i]), &cause), 0);
	char long_one[33];
	memset(long_one, 'r', 33);
	assert_int_not_equal(textproto_check_room(long_one, 33, &cause), 0);
	assert_int_equal(textproto_check_room(long_one, 32, &cause), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_lines),
		cmocka_unit_test(pseudos),
		cmocka_unit_test(rooms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
