/* Untrusted text made safe for a terminal: exact outputs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sanitize.h"

static void check(const char *in, size_t len, unsigned flags, const char *want)
{
	char out[256];
	size_t n = sanitize_text(in, len, out, sizeof(out), flags);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, n);
}

#define CHECK(lit, want) check((lit), sizeof(lit) - 1, 0, (want))

static void exact_outputs(void **state)
{
	(void)state;
	CHECK("plain ascii", "plain ascii");
	CHECK("Zoé 日本 😀", "Zoé 日本 😀");
	CHECK("\x1b[31mred", "^[[31mred");
	CHECK("a\x07" "b", "a^Gb");
	CHECK("nul\0x", "nul^@x");
	CHECK("del\x7f", "del^?");
	CHECK("tab\there", "tab here");
	CHECK("c1 \xc2\x9b" "x", "c1 \xef\xbf\xbd" "x");
	CHECK("\xff", "\xef\xbf\xbd");
	CHECK("\x80", "\xef\xbf\xbd");
	CHECK("\xc0\x80", "\xef\xbf\xbd\xef\xbf\xbd");           /* overlong */
	CHECK("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* surrogate */
	CHECK("\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	CHECK("\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd");           /* truncated */
	CHECK("\xe2\x80\xae" "txt.exe\xe2\x80\xac", "txt.exe");  /* bidi dropped */
	CHECK("l1\nl2", "l1^Jl2");
	check("l1\nl2", 5, SANITIZE_KEEP_NEWLINES, "l1\nl2");
}

static void cut_at_a_character_boundary(void **state)
{
	(void)state;
	char out[5];
	size_t n = sanitize_text("aé日", 6, out, sizeof(out), 0);
	assert_int_equal(n, 3); /* "aé": 日 (3 bytes) does not fit */
	assert_memory_equal(out, "a\xc3\xa9", 3);
	n = sanitize_text("\x1b", 1, out, 1, 0);
	assert_int_equal(n, 0); /* "^[" is two bytes */
}

static void bound_is_always_enough(void **state)
{
	(void)state;
	unsigned seed = 12345;
	for (int round = 0; round < 2000; round++) {
		char in[64];
		size_t len = (size_t)(rand_r(&seed) % 64);
		for (size_t i = 0; i < len; i++)
			in[i] = (char)(rand_r(&seed) & 0xff);
		char out[SANITIZE_BOUND(64)];
		size_t n = sanitize_text(in, len, out, SANITIZE_BOUND(len), 0);
		assert_true(n <= SANITIZE_BOUND(len));
		assert_true(utf8_is_valid(out, n));
		assert_true(sanitize_is_clean(out, n));
		/* Nothing is lost: at least one output character per input byte
		 * that is not a dropped bidi mark. */
		assert_true(n > 0 || len == 0 || memchr(in, 0xe2, len) != NULL);
	}
}

static void utf8_validity(void **state)
{
	(void)state;
	assert_true(utf8_is_valid("", 0));
	assert_true(utf8_is_valid("é😀", 6));
	assert_false(utf8_is_valid("\xc3", 1));
	assert_false(utf8_is_valid("\xc0\xaf", 2));
	assert_false(utf8_is_valid("\xed\xbf\xbf", 3));
	/* Bad bytes anywhere around the eight-byte ASCII steps are seen. */
	char text[40];
	for (size_t at = 0; at < 32; at++) {
		memset(text, 'a', sizeof(text));
		assert_true(utf8_is_valid(text, sizeof(text)));
		text[at] = (char)0xff;
		assert_false(utf8_is_valid(text, sizeof(text)));
		memcpy(text + at, "\xc3\xa9", 2); /* é, split across a step or not */
		assert_true(utf8_is_valid(text, sizeof(text)));
		assert_false(utf8_is_valid(text, at + 1)); /* cut in the middle */
	}
	unsigned cp;
	assert_int_equal(utf8_decode((const unsigned char *)"\xf0\x9f\x98\x80", 4, &cp), 4);
	assert_int_equal(cp, 0x1f600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exact_outputs),
		cmocka_unit_test(cut_at_a_character_boundary),
		cmocka_unit_test(bound_is_always_enough),
		cmocka_unit_test(utf8_validity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
