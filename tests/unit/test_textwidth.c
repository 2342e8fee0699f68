/* Cells by grapheme cluster, and word wrapping. */
#include <locale.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "textwidth.h"

#define W(lit) tw_width((lit), sizeof(lit) - 1)

static void widths(void **state)
{
	(void)state;
	assert_int_equal(W("abc"), 3);
	assert_int_equal(W("Zoé"), 3);
	assert_int_equal(W("Zoe\xcc\x81"), 3);                     /* e + combining acute */
	assert_int_equal(W("日本語"), 6);
	assert_int_equal(W("😀"), 2);
	/* Emoji sequences count as drawn: without their joiners, which
	 * terminals disagree on (textwidth.h). */
	assert_int_equal(W("\xe2\x9d\xa4\xef\xb8\x8f"), 1);        /* ❤ + VS16 */
	assert_int_equal(W("👨\xe2\x80\x8d👩\xe2\x80\x8d👧"), 6);  /* ZWJ family */
	assert_int_equal(W("🇫🇷"), 2);                            /* a flag */
	assert_int_equal(W("👍🏽"), 2);                            /* skin tone */
	int cells;
	assert_int_equal(tw_cluster("👨\xe2\x80\x8d👩\xe2\x80\x8d👧x", 19, &cells), 18);
	assert_int_equal(cells, 6);
}

/* The drawn form of one cluster, as a string, and its cells. */
static int drawn(const char *s, char *out)
{
	size_t n;
	int cells;
	size_t used = tw_cluster_drawn(s, strlen(s), out, &n, &cells);
	out[n] = '\0';
	return used == strlen(s) ? cells : -1;
}

static void drawn_forms(void **state)
{
	(void)state;
	char out[TW_DRAWN_MAX + 1];
	assert_int_equal(drawn("👨\xe2\x80\x8d👩\xe2\x80\x8d👧", out), 6);
	assert_string_equal(out, "👨👩👧");
	assert_int_equal(drawn("👍🏽", out), 2);
	assert_string_equal(out, "👍");
	assert_int_equal(drawn("🏽", out), 2); /* a skin tone alone: its swatch */
	assert_string_equal(out, "🏽");
	assert_int_equal(drawn("\xe2\x9d\xa4\xef\xb8\x8f", out), 1);
	assert_string_equal(out, "\xe2\x9d\xa4");
	assert_int_equal(drawn("e\xcc\x81", out), 1); /* an accent stays */
	assert_string_equal(out, "e\xcc\x81");
	assert_int_equal(drawn("\xef\xbf\xbf", out), 1); /* U+FFFF: no width known */
	assert_string_equal(out, "\xef\xbf\xbd");
	assert_int_equal(drawn("\xff", out), 1); /* a stray byte */
	assert_string_equal(out, "\xef\xbf\xbd");
	/* A thousand accents: one cluster, drawn within its bound. */
	char zalgo[1 + 2 * 1000 + 1] = "a";
	for (int i = 0; i < 1000; i++)
		memcpy(zalgo + 1 + 2 * i, "\xcc\x81", 2);
	zalgo[sizeof(zalgo) - 1] = '\0';
	assert_int_equal(drawn(zalgo, out), 1);
	assert_true(strlen(out) <= TW_DRAWN_MAX);
}

static void wraps_at_words(void **state)
{
	(void)state;
	const char text[] = "un deux trois quatre cinq";
	struct tw_row rows[8];
	size_t n = tw_wrap(text, sizeof(text) - 1, 11, 11, rows, 8);
	assert_int_equal(n, 3);
	assert_int_equal(rows[0].len, 7);
	assert_memory_equal(text + rows[0].start, "un deux", 7);
	assert_int_equal(rows[1].len, 5);
	assert_memory_equal(text + rows[1].start, "trois", 5);
	assert_int_equal(rows[2].len, 11);
	assert_memory_equal(text + rows[2].start, "quatre cinq", 11);
	for (size_t i = 0; i < n; i++)
		assert_true(rows[i].cells <= 11);
}

static void long_words_and_wide_characters(void **state)
{
	(void)state;
	struct tw_row rows[8];
	size_t n = tw_wrap("abcdefghij", 10, 4, 4, rows, 8);
	assert_int_equal(n, 3);
	assert_int_equal(rows[0].len, 4);
	assert_int_equal(rows[2].len, 2);
	/* Never half a wide character in a row. */
	n = tw_wrap("日本語日本語", 18, 5, 5, rows, 8);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(rows[i].cells, 4);
}

static void newlines_and_first_row_width(void **state)
{
	(void)state;
	const char text[] = "ligne un\nligne deux longue";
	struct tw_row rows[8];
	size_t n = tw_wrap(text, sizeof(text) - 1, 20, 8, rows, 8);
	assert_int_equal(n, 4);
	assert_memory_equal(text + rows[0].start, "ligne un", 8);
	assert_memory_equal(text + rows[1].start, "ligne", 5);
	assert_memory_equal(text + rows[2].start, "deux", 4);
	assert_memory_equal(text + rows[3].start, "longue", 6);
	n = tw_wrap("", 0, 10, 10, rows, 8);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].len, 0);
}

/* A URL is never cut by the hanging indent (review client-ux): one that
 * does not fit where it is starts a bare row (drawn from the first
 * column), whole when it fits a row; a longer one goes on in bare rows. */
static void urls_start_bare_rows(void **state)
{
	(void)state;
	struct tw_row rows[16];
	const char text[] = "[12:00] bob a dit : regarde https://example.com/un/chemin et puis encore";
	size_t n = tw_wrap(text, sizeof(text) - 1, 40, 32, rows, 16);
	assert_int_equal(n, 3);
	assert_memory_equal(text + rows[0].start, "[12:00] bob a dit : regarde", rows[0].len);
	assert_false(rows[0].bare);
	/* Whole on one row, at the first column, in the full width (40, not
	 * the indented 32). */
	assert_int_equal(rows[1].len, strlen("https://example.com/un/chemin et puis"));
	assert_memory_equal(text + rows[1].start, "https://example.com/un/chemin et puis",
			    rows[1].len);
	assert_true(rows[1].bare);
	assert_memory_equal(text + rows[2].start, "encore", rows[2].len);
	assert_false(rows[2].bare); /* the words after it are indented again */

	/* Longer than a row: cut at the full width, every piece bare. */
	const char long_url[] = "[12:00] bob a dit : (https://example.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa) et puis";
	n = tw_wrap(long_url, sizeof(long_url) - 1, 30, 22, rows, 16);
	assert_true(n >= 4);
	assert_memory_equal(long_url + rows[1].start, "(https://", 9);
	size_t url_rows = 0;
	for (size_t i = 1; i < n; i++) {
		if (rows[i].bare) {
			url_rows++;
			assert_true(rows[i].cells <= 30);
		}
	}
	assert_true(url_rows >= 3);
	/* The pieces, put end to end, are the URL: nothing lost at a cut. */
	char joined[128] = "";
	for (size_t i = 1; i < n && rows[i].bare; i++)
		strncat(joined, long_url + rows[i].start, rows[i].len);
	assert_non_null(strstr(joined, "(https://example.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa)"));
	/* Not a URL: "http" alone, "://" without a scheme. */
	const char words[] = "[12:00] bob a dit : http et ://rien et https:// vide";
	n = tw_wrap(words, sizeof(words) - 1, 24, 16, rows, 16);
	for (size_t i = 0; i < n; i++)
		assert_false(rows[i].bare);
}

int main(void)
{
	/* Widths are the C library's, as ncurses counts them (textwidth.h). */
	if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(widths),
		cmocka_unit_test(drawn_forms),
		cmocka_unit_test(wraps_at_words),
		cmocka_unit_test(long_words_and_wide_characters),
		cmocka_unit_test(newlines_and_first_row_width),
		cmocka_unit_test(urls_start_bare_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
