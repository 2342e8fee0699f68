/* Line splitting: lines in one chunk or split anywhere, CR LF, limits, the
 * newline-less tail, and no buffer kept by an idle reader. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "linereader.h"

static void expect_line(struct linereader *lr, const char *want)
{
	const char *line;
	size_t len;
	assert_int_equal(linereader_next(lr, &line, &len), 1);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(line, want, len);
}

static void several_lines_in_one_chunk(void **state)
{
	(void)state;
	struct linereader lr;
	linereader_init(&lr, 100);
	const char data[] = "un\ndeux\r\n\ntrois\rquatre\n";
	linereader_feed(&lr, data, sizeof(data) - 1);
	expect_line(&lr, "un");
	expect_line(&lr, "deux");        /* CR before LF dropped */
	expect_line(&lr, "");            /* empty line */
	expect_line(&lr, "trois\rquatre"); /* a lone CR stays */
	const char *line;
	size_t len;
	assert_int_equal(linereader_next(&lr, &line, &len), 0);
	assert_null(lr.partial);
	linereader_free(&lr);
}

static void split_at_every_point(void **state)
{
	(void)state;
	const char data[] = "Hello|it4\r\nbonjour à tous\nfin\n";
	size_t n = sizeof(data) - 1;
	for (size_t cut = 0; cut <= n; cut++) {
		struct linereader lr;
		linereader_init(&lr, 100);
		const char *got[3];
		size_t got_len[3], count = 0;
		char copies[3][64];
		const char *parts[2] = {data, data + cut};
		size_t lens[2] = {cut, n - cut};
		for (int p = 0; p < 2; p++) {
			linereader_feed(&lr, parts[p], lens[p]);
			const char *line;
			size_t len;
			while (linereader_next(&lr, &line, &len) == 1) {
				memcpy(copies[count], line, len);
				got[count] = copies[count];
				got_len[count++] = len;
			}
		}
		assert_int_equal(count, 3);
		assert_int_equal(got_len[0], 9);
		assert_memory_equal(got[0], "Hello|it4", 9);
		assert_int_equal(got_len[1], strlen("bonjour à tous"));
		assert_memory_equal(got[1], "bonjour à tous", got_len[1]);
		assert_int_equal(got_len[2], 3);
		assert_null(lr.partial);
		linereader_free(&lr);
	}
}

static void max_line_accepted_one_more_refused(void **state)
{
	(void)state;
	char data[12];
	struct linereader lr;
	const char *line;
	size_t len;

	memset(data, 'x', 10);
	data[10] = '\n';
	linereader_init(&lr, 10);
	linereader_feed(&lr, data, 11);
	assert_int_equal(linereader_next(&lr, &line, &len), 1);
	assert_int_equal(len, 10);
	linereader_free(&lr);

	memset(data, 'x', 11);
	data[11] = '\n';
	linereader_init(&lr, 10);
	linereader_feed(&lr, data, 12);
	assert_int_equal(linereader_next(&lr, &line, &len), -E2BIG);
	linereader_free(&lr);

	/* The same split across chunks, and without any newline at all. */
	linereader_init(&lr, 10);
	linereader_feed(&lr, data, 6);
	assert_int_equal(linereader_next(&lr, &line, &len), 0);
	linereader_feed(&lr, data + 6, 6);
	assert_int_equal(linereader_next(&lr, &line, &len), -E2BIG);
	linereader_free(&lr);

	char many[64];
	memset(many, 'y', sizeof(many));
	linereader_init(&lr, 10);
	linereader_feed(&lr, many, sizeof(many));
	assert_int_equal(linereader_next(&lr, &line, &len), -E2BIG);
	assert_null(lr.partial); /* refused before anything was kept */
	linereader_free(&lr);
}

static void partial_tail_handed_out(void **state)
{
	(void)state;
	struct linereader lr;
	linereader_init(&lr, 100);
	linereader_feed(&lr, "ligne\nsans fin", 14);
	expect_line(&lr, "ligne");
	const char *line;
	size_t len;
	assert_int_equal(linereader_next(&lr, &line, &len), 0);
	assert_true(linereader_has_partial(&lr));
	assert_int_equal(linereader_take_partial(&lr, &line, &len), 1);
	assert_int_equal(len, 8);
	assert_memory_equal(line, "sans fin", 8);
	assert_false(linereader_has_partial(&lr));
	assert_int_equal(linereader_take_partial(&lr, &line, &len), 0);
	/* The next line starts afresh, and the stash is gone. */
	linereader_feed(&lr, "suite\n", 6);
	expect_line(&lr, "suite");
	assert_null(lr.partial);
	linereader_free(&lr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(several_lines_in_one_chunk),
		cmocka_unit_test(split_at_every_point),
		cmocka_unit_test(max_line_accepted_one_more_refused),
		cmocka_unit_test(partial_tail_handed_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
