/* Tab's candidates: pseudos, the most recent speaker first, and commands. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "complete.h"

#define HEARD(c, name, spoke) complete_heard((c), (name), strlen(name), (spoke))

static size_t candidates(const struct complete_names *c, const char *prefix, const char **out)
{
	return complete_candidates(c, NULL, 0, prefix, strlen(prefix), false, out, 16);
}

static void most_recent_speaker_first(void **state)
{
	(void)state;
	static struct complete_names c;
	memset(&c, 0, sizeof(c));
	HEARD(&c, "bob", false);     /* came */
	HEARD(&c, "bobette", false); /* came later */
	HEARD(&c, "alice", true);
	const char *out[16];
	/* Nobody of them spoke: the one seen last first. */
	assert_int_equal(candidates(&c, "bo", out), 2);
	assert_string_equal(out[0], "bobette");
	assert_string_equal(out[1], "bob");
	HEARD(&c, "bob", true); /* bob speaks: first now */
	assert_int_equal(candidates(&c, "BO", out), 2); /* any case */
	assert_string_equal(out[0], "bob");
	assert_string_equal(out[1], "bobette");
	HEARD(&c, "bobette", true);
	candidates(&c, "b", out);
	assert_string_equal(out[0], "bobette");
	/* A speaker beats one merely seen since. */
	HEARD(&c, "bob", false);
	candidates(&c, "b", out);
	assert_string_equal(out[0], "bobette");
	assert_int_equal(candidates(&c, "", out), 0); /* nothing typed, nothing offered */
	assert_int_equal(candidates(&c, "z", out), 0);
	complete_forget(&c, "bobette", 7); /* left */
	assert_int_equal(candidates(&c, "bo", out), 1);
	complete_clear(&c);
	assert_int_equal(candidates(&c, "a", out), 0);
}

static void full_list_forgets_the_least_recent(void **state)
{
	(void)state;
	static struct complete_names c;
	memset(&c, 0, sizeof(c));
	char name[16];
	for (int i = 0; i < COMPLETE_NAMES + 10; i++) {
		snprintf(name, sizeof(name), "n%03d", i);
		HEARD(&c, name, false);
	}
	assert_int_equal(c.count, COMPLETE_NAMES);
	const char *out[16];
	assert_int_equal(candidates(&c, "n000", out), 0);
	assert_int_equal(candidates(&c, "n137", out), 1);
}

static void commands_and_the_text_put_in(void **state)
{
	(void)state;
	static const char *const commands[] = {"rooms", "join", "who", "image", "help", "quit"};
	const char *out[16];
	struct complete_word w;
	complete_word_at("/jo", 3, &w);
	assert_true(w.command && w.line_start);
	assert_int_equal(complete_candidates(NULL, commands, 6, "/jo", 3, true, out, 16), 1);
	char text[64];
	complete_text(out[0], &w, text, sizeof(text));
	assert_string_equal(text, "/join ");
	assert_int_equal(complete_candidates(NULL, commands, 6, "/", 1, true, out, 16), 6);
	assert_int_equal(complete_candidates(NULL, commands, 6, "/H", 2, true, out, 16), 1);

	complete_word_at("bo", 2, &w);
	assert_true(w.line_start && !w.command);
	complete_text("bob", &w, text, sizeof(text));
	assert_string_equal(text, "bob: ");
	complete_word_at("salut bo", 8, &w);
	assert_int_equal(w.start, 6);
	assert_int_equal(w.len, 2);
	assert_false(w.line_start);
	complete_text("bob", &w, text, sizeof(text));
	assert_string_equal(text, "bob ");
	complete_word_at("  bo", 4, &w); /* blanks first: still the line's start */
	assert_true(w.line_start);
	complete_word_at("dis /jo", 7, &w); /* a slash later on is no command */
	assert_false(w.command);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(most_recent_speaker_first),
		cmocka_unit_test(full_list_forgets_the_least_recent),
		cmocka_unit_test(commands_and_the_text_put_in),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
