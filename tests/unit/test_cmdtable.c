/* The client's command table: lookup by name and alias in any case,
 * argument shapes, usage and /help written from the rows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "cmdtable.h"

static void run_nothing(struct client_app *app, const char *arg, size_t len)
{
	(void)app, (void)arg, (void)len;
}

static const struct command table[] = {
	{"rooms", {NULL}, COMMAND_NO_ARGS, NULL, run_nothing, "the rooms"},
	{"join", {NULL}, COMMAND_REST, "ROOM", run_nothing, "go there"},
	{"nick", {"name", NULL}, COMMAND_WORD, "PSEUDO", run_nothing, "a new pseudo"},
	{"quit", {"exit", "bye"}, COMMAND_NO_ARGS, NULL, run_nothing, "leave"},
};
#define COUNT (sizeof(table) / sizeof(table[0]))

struct found {
	enum command_match match;
	const struct command *cmd;
	const char *arg;
	size_t len;
};

static struct found find(const char *line)
{
	struct found f;
	f.match = cmdtable_find(table, COUNT, line, strlen(line), &f.cmd, &f.arg, &f.len);
	return f;
}

static void assert_found(const char *line, const char *name, const char *arg)
{
	struct found f = find(line);
	assert_int_equal(f.match, COMMAND_FOUND);
	assert_string_equal(f.cmd->name, name);
	if (arg == NULL) {
		assert_null(f.arg);
		assert_int_equal(f.len, 0);
	} else {
		assert_int_equal(f.len, strlen(arg));
		assert_memory_equal(f.arg, arg, f.len);
	}
}

static void names_in_any_case_and_aliases(void **state)
{
	(void)state;
	assert_found("/rooms", "rooms", NULL);
	assert_found("/ROOMS", "rooms", NULL);
	assert_found("/Quit", "quit", NULL);
	assert_found("/exit", "quit", NULL);
	assert_found("/BYE", "quit", NULL);
	assert_found("/name bob", "nick", "bob");
}

static void unknown_names(void **state)
{
	(void)state;
	const char *unknown[] = {"/", "/dance", "/room", "/roomsx", "/jo", "/quit\tnow", "rooms",
				 "", "//rooms"};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		struct found f = find(unknown[i]);
		assert_int_equal(f.match, COMMAND_UNKNOWN);
		assert_null(f.cmd);
	}
}

static void no_argument_ignores_what_follows(void **state)
{
	(void)state;
	assert_found("/rooms please", "rooms", NULL);
	assert_found("/quit ", "quit", NULL);
}

static void rest_of_line_as_typed(void **state)
{
	(void)state;
	assert_found("/join jeux", "join", "jeux");
	assert_found("/join  #Jeux vidéo ", "join", " #Jeux vidéo ");
	assert_found("/JOIN a", "join", "a");
	struct found f = find("/join");
	assert_int_equal(f.match, COMMAND_BAD_ARGS);
	assert_string_equal(f.cmd->name, "join");
	assert_int_equal(find("/join ").match, COMMAND_BAD_ARGS);
}

static void one_word(void **state)
{
	(void)state;
	assert_found("/nick bob", "nick", "bob");
	assert_found("/nick   bob  ", "nick", "bob");
	assert_int_equal(find("/nick").match, COMMAND_BAD_ARGS);
	assert_int_equal(find("/nick   ").match, COMMAND_BAD_ARGS);
	struct found f = find("/nick bob smith");
	assert_int_equal(f.match, COMMAND_BAD_ARGS);
	assert_string_equal(f.cmd->name, "nick");
}

static void usage_and_help_come_from_the_rows(void **state)
{
	(void)state;
	char buf[512];
	assert_int_equal(cmdtable_usage(&table[1], buf, sizeof(buf)), strlen("/join ROOM"));
	assert_string_equal(buf, "/join ROOM");
	cmdtable_usage(&table[0], buf, sizeof(buf));
	assert_string_equal(buf, "/rooms");
	size_t n = cmdtable_help(table, COUNT, "Commands: ", buf, sizeof(buf));
	const char *want = "Commands: /rooms (the rooms), /join ROOM (go there), "
			   "/nick PSEUDO (a new pseudo), /quit (leave).";
	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
	/* Too small a buffer: cut, terminated, never past it. */
	char small[20];
	memset(small, 'x', sizeof(small));
	n = cmdtable_help(table, COUNT, "Commands: ", small, sizeof(small));
	assert_int_equal(n, sizeof(small) - 1);
	assert_int_equal(small[sizeof(small) - 1], '\0');
	assert_memory_equal(small, want, sizeof(small) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_in_any_case_and_aliases),
		cmocka_unit_test(unknown_names),
		cmocka_unit_test(no_argument_ignores_what_follows),
		cmocka_unit_test(rest_of_line_as_typed),
		cmocka_unit_test(one_word),
		cmocka_unit_test(usage_and_help_come_from_the_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
