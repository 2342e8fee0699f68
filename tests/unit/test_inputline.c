/* The input line: editing by grapheme cluster, and history. */
#include <locale.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "inputline.h"

static void assert_text(const struct inputline *il, const char *want)
{
	assert_int_equal(il->len, strlen(want));
	assert_memory_equal(il->buf, want, il->len);
}

#define TYPE(il, lit) il_insert((il), (lit), sizeof(lit) - 1)

static void editing(void **state)
{
	(void)state;
	struct inputline il;
	il_init(&il);
	TYPE(&il, "bonjour tout le monde");
	il_kill_word(&il);
	assert_text(&il, "bonjour tout le ");
	il_home(&il);
	TYPE(&il, "> ");
	il_end(&il);
	TYPE(&il, "café");
	assert_text(&il, "> bonjour tout le café");
	il_backspace(&il); /* é is one cluster: two bytes go */
	assert_text(&il, "> bonjour tout le caf");
	il_left(&il);
	il_left(&il);
	il_delete(&il);
	assert_text(&il, "> bonjour tout le cf");
	assert_int_equal(il_cursor_cells(&il), 19);
	il_kill_line(&il);
	assert_text(&il, "");
	il_free(&il);
}

static void clusters_move_whole(void **state)
{
	(void)state;
	struct inputline il;
	il_init(&il);
	TYPE(&il, "a👨\xe2\x80\x8d👩\xe2\x80\x8d👧b日");
	il_left(&il);
	il_left(&il);
	assert_int_equal(il_cursor_cells(&il), 7); /* a + family, drawn 👨👩👧 */
	il_backspace(&il);                          /* the whole family */
	assert_text(&il, "ab日");
	il_right(&il);
	il_right(&il);
	assert_int_equal(il_cursor_cells(&il), 4);
	il_right(&il); /* at the end already */
	assert_int_equal(il.cursor, il.len);
	il_free(&il);
}

static void history(void **state)
{
	(void)state;
	struct inputline il;
	il_init(&il);
	char out[64];
	TYPE(&il, "premier");
	il_take(&il, out, sizeof(out));
	TYPE(&il, "second");
	assert_int_equal(il_take(&il, out, sizeof(out)), 6);
	assert_string_equal(out, "second");
	TYPE(&il, "brouillon");
	il_history_prev(&il);
	assert_text(&il, "second");
	il_history_prev(&il);
	assert_text(&il, "premier");
	il_history_prev(&il); /* no older one */
	assert_text(&il, "premier");
	il_history_next(&il);
	il_history_next(&il);
	assert_text(&il, "brouillon"); /* the draft comes back */
	il_free(&il);
}

static void full_buffer_refuses(void **state)
{
	(void)state;
	struct inputline il;
	il_init(&il);
	char big[INPUTLINE_MAX];
	memset(big, 'x', sizeof(big));
	assert_true(il_insert(&il, big, sizeof(big)));
	assert_false(il_insert(&il, "y", 1));
	il_free(&il);
}

int main(void)
{
	if (setlocale(LC_CTYPE, "C.UTF-8") == NULL) /* widths: textwidth.h */
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(editing),
		cmocka_unit_test(clusters_move_whole),
		cmocka_unit_test(history),
		cmocka_unit_test(full_buffer_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
