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

/* A pasted page: as much as one message carries (WIRE_MAX_TEXT, 16 KiB),
 * no more (the interface says so; review client-ux #4). */
static void holds_one_message_and_no_more(void **state)
{
	(void)state;
	assert_int_equal(INPUTLINE_MAX, 16 * 1024);
	struct inputline il;
	il_init(&il);
	char page[10 * 1024];
	memset(page, 'm', sizeof(page));
	assert_true(il_insert(&il, page, sizeof(page)));
	assert_false(il_insert(&il, page, sizeof(page))); /* 20 KiB: refused whole */
	assert_int_equal(il.len, sizeof(page));
	il_free(&il);
}

/* Tab puts a pseudo in place of what was typed; Ctrl+R finds what was sent. */
static void replace_and_search(void **state)
{
	(void)state;
	struct inputline il;
	il_init(&il);
	char out[64];
	TYPE(&il, "salut bo");
	assert_true(il_replace(&il, 6, il.cursor, "bobette ", 8));
	assert_text(&il, "salut bobette ");
	assert_int_equal(il.cursor, il.len);
	assert_true(il_replace(&il, 6, il.cursor, "bob ", 4)); /* the next candidate */
	assert_text(&il, "salut bob ");
	il_take(&il, out, sizeof(out));
	TYPE(&il, "premier message");
	il_take(&il, out, sizeof(out));
	TYPE(&il, "autre chose");
	il_take(&il, out, sizeof(out));
	TYPE(&il, "dernier message");
	il_take(&il, out, sizeof(out));
	assert_int_equal(il.history_count, 4);
	long at = il_search(&il, "message", 7, il.history_count);
	assert_int_equal(at, 3); /* the newest first */
	at = il_search(&il, "message", 7, (size_t)at);
	assert_int_equal(at, 1); /* then further back */
	assert_int_equal(il_search(&il, "message", 7, (size_t)at), -1);
	assert_int_equal(il_search(&il, "MESSAGE", 7, il.history_count), -1); /* as typed */
	assert_int_equal(il_search(&il, "", 0, il.history_count), 3);
	il_set(&il, "autre chose");
	assert_text(&il, "autre chose");
	assert_int_equal(il.cursor, il.len);
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
		cmocka_unit_test(holds_one_message_and_no_more),
		cmocka_unit_test(replace_and_search),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
