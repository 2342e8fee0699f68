/* What the client has shown: an event is known again by its time, room,
 * author and words (not its id, which is per node); our own messages by
 * room, author and words; fields do not run into each other; the set is
 * bounded and forgets the oldest first. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "seen.h"

static struct seen_str s(const char *p)
{
	return (struct seen_str){p, strlen(p)};
}

static void test_same_event_is_known(void **state)
{
	(void)state;
	struct seen set;
	seen_init(&set);
	uint64_t fp = seen_fingerprint(SEEN_MESSAGE, 1700000000123, s("general"), s("alice"),
				       s("bonjour"));
	assert_false(seen_has(&set, fp));
	seen_add(&set, fp);
	assert_true(seen_has(&set, fp));
	assert_true(seen_shown(&set, SEEN_MESSAGE, 1700000000123, s("general"), s("alice"),
			       s("bonjour"), s("bob")));
	/* Another time, room, author, words or kind: another event. */
	assert_false(seen_shown(&set, SEEN_MESSAGE, 1700000000124, s("general"), s("alice"),
				s("bonjour"), s("bob")));
	assert_false(seen_shown(&set, SEEN_MESSAGE, 1700000000123, s("autre"), s("alice"),
				s("bonjour"), s("bob")));
	assert_false(seen_shown(&set, SEEN_MESSAGE, 1700000000123, s("general"), s("alicE"),
				s("bonjour"), s("bob")));
	assert_false(seen_shown(&set, SEEN_MESSAGE, 1700000000123, s("general"), s("alice"),
				s("bonjour!"), s("bob")));
	assert_false(seen_shown(&set, SEEN_ACTION, 1700000000123, s("general"), s("alice"),
				s("bonjour"), s("bob")));
	seen_add(&set, fp); /* twice: kept once */
	assert_int_equal(set.count, 1);
	seen_free(&set);
}

static void test_fields_do_not_run_together(void **state)
{
	(void)state;
	assert_true(seen_fingerprint(SEEN_MESSAGE, 1, s("ab"), s("c"), s("d")) !=
		    seen_fingerprint(SEEN_MESSAGE, 1, s("a"), s("bc"), s("d")));
	assert_true(seen_fingerprint(SEEN_MESSAGE, 1, s("a"), s("b"), s("cd")) !=
		    seen_fingerprint(SEEN_MESSAGE, 1, s("a"), s("bc"), s("d")));
}

static void test_own_message_known_by_words(void **state)
{
	(void)state;
	struct seen set;
	seen_init(&set);
	seen_own(&set, "general", "alice", "salut", 5);
	/* Whatever time the server gave it, a message of ours with these words. */
	assert_true(seen_shown(&set, SEEN_MESSAGE, 1234, s("general"), s("alice"), s("salut"),
			       s("alice")));
	/* Not somebody else's with the same words, nor ours elsewhere. */
	assert_false(seen_shown(&set, SEEN_MESSAGE, 1234, s("general"), s("bob"), s("salut"),
				s("alice")));
	assert_false(seen_shown(&set, SEEN_MESSAGE, 1234, s("autre"), s("alice"), s("salut"),
				s("alice")));
	/* Not when we are somebody else now. */
	assert_false(seen_shown(&set, SEEN_MESSAGE, 1234, s("general"), s("alice"), s("salut"),
				s("carol")));
	seen_free(&set);
}

static void test_bounded_oldest_forgotten(void **state)
{
	(void)state;
	struct seen set;
	seen_init(&set);
	char text[32];
	for (unsigned i = 0; i < SEEN_MAX + 100; i++) {
		snprintf(text, sizeof(text), "line %u", i);
		seen_add(&set, seen_fingerprint(SEEN_MESSAGE, i, s("general"), s("a"), s(text)));
	}
	assert_int_equal(set.count, SEEN_MAX);
	assert_int_equal(g_hash_table_size(set.set), SEEN_MAX);
	snprintf(text, sizeof(text), "line %u", 99);
	assert_false(seen_has(&set, seen_fingerprint(SEEN_MESSAGE, 99, s("general"), s("a"),
						      s(text))));
	snprintf(text, sizeof(text), "line %u", 100);
	assert_true(seen_has(&set, seen_fingerprint(SEEN_MESSAGE, 100, s("general"), s("a"),
						     s(text))));
	snprintf(text, sizeof(text), "line %u", SEEN_MAX + 99);
	assert_true(seen_has(&set, seen_fingerprint(SEEN_MESSAGE, SEEN_MAX + 99, s("general"),
						     s("a"), s(text))));
	seen_free(&set);
}

static void test_history_kinds(void **state)
{
	(void)state;
	enum wire_type type;
	uint8_t notice;
	assert_true(seen_history_kind("message", 7, &type, &notice));
	assert_int_equal(type, WIRE_MESSAGE);
	assert_true(seen_history_kind("return", 6, &type, &notice));
	assert_int_equal(notice, WIRE_NOTICE_RETURN);
	assert_true(seen_history_kind("image", 5, &type, &notice));
	assert_int_equal(type, WIRE_IMAGE);
	assert_int_equal(seen_kind_of_wire(WIRE_IMAGE, 0), SEEN_IMAGE);
	assert_false(seen_history_kind("topic", 5, &type, &notice));
	assert_false(seen_history_kind("messag", 6, &type, &notice));
	assert_false(seen_history_kind("", 0, &type, &notice));
	assert_int_equal(seen_kind_of_wire(WIRE_NOTICE, WIRE_NOTICE_PRIVATE), SEEN_NONE);
	assert_int_equal(seen_kind_of_wire(WIRE_NOTICE, WIRE_NOTICE_JOIN), SEEN_JOIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_event_is_known),
		cmocka_unit_test(test_fields_do_not_run_together),
		cmocka_unit_test(test_own_message_known_by_words),
		cmocka_unit_test(test_bounded_oldest_forgotten),
		cmocka_unit_test(test_history_kinds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
