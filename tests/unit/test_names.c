/* Pseudo identity: look-alikes share a skeleton; invisible characters are seen. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "names.h"

static void same(const char *a, const char *b)
{
	char sa[NAMES_SKELETON_MAX], sb[NAMES_SKELETON_MAX];
	assert_int_equal(names_skeleton(a, strlen(a), sa, sizeof(sa)), 0);
	assert_int_equal(names_skeleton(b, strlen(b), sb, sizeof(sb)), 0);
	assert_string_equal(sa, sb);
}

static void differ(const char *a, const char *b)
{
	char sa[NAMES_SKELETON_MAX], sb[NAMES_SKELETON_MAX];
	assert_int_equal(names_skeleton(a, strlen(a), sa, sizeof(sa)), 0);
	assert_int_equal(names_skeleton(b, strlen(b), sb, sizeof(sb)), 0);
	assert_string_not_equal(sa, sb);
}

static void look_alikes_collide(void **state)
{
	(void)state;
	same("alice", "Alice");
	same("alice", "ALICE");
	same("alice", "\xef\xbd\x81lice");      /* fullwidth a */
	same("zoe", "Zo\xc3\xa9");              /* é */
	same("zoe", "zoe\xcc\x81");             /* e + combining acute */
	same("strasse", "Stra\xc3\x9f" "e");    /* ß folds to ss */
	same("bob", "b\xe2\x80\x8bob");         /* zero width space */
}

static void different_names_stay_different(void **state)
{
	(void)state;
	differ("alice", "alicia");
	differ("bob", "bob2");
	differ("\xe6\x97\xa5\xe6\x9c\xac", "\xe4\xb8\xad\xe5\x9b\xbd");
}

static void invisible_characters_are_seen(void **state)
{
	(void)state;
	assert_true(names_has_invisible("b\xe2\x80\x8bob", 6));     /* U+200B */
	assert_true(names_has_invisible("bob\xe2\x81\xa0", 6));     /* U+2060 */
	assert_true(names_has_invisible("\xef\xbb\xbf" "bob", 6));  /* U+FEFF */
	assert_true(names_has_invisible("bo\xc2\xad" "b", 5));      /* soft hyphen */
	assert_false(names_has_invisible("bob", 3));
	assert_false(names_has_invisible("Zo\xc3\xa9", 4));
	assert_false(names_has_invisible("\xe6\x97\xa5\xe6\x9c\xac", 6));
}

static void invalid_utf8_has_no_skeleton(void **state)
{
	(void)state;
	char out[NAMES_SKELETON_MAX];
	assert_int_not_equal(names_skeleton("\xff" "abc", 4, out, sizeof(out)), 0);
	assert_int_not_equal(names_skeleton("abc", 3, out, 2), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(look_alikes_collide),
		cmocka_unit_test(different_names_stay_different),
		cmocka_unit_test(invisible_characters_are_seen),
		cmocka_unit_test(invalid_utf8_has_no_skeleton),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
