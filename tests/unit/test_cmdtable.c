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

/* /image's argument (review client-ux #8): blanks, quotes, ~ and ~/. */
static void file_names_as_typed(void **state)
{
	(void)state;
	char out[256];
	const char *home = "/home/alice";
#define PATH_IS(typed, want)                                                        \
	do {                                                                        \
		assert_int_equal(cmdtable_path(typed, strlen(typed), home, out,     \
					       sizeof(out)), strlen(want));         \
		assert_string_equal(out, want);                                     \
	} while (0)
	PATH_IS("~/photo.jpg", "/home/alice/photo.jpg");
	PATH_IS("  ~/photo.jpg  ", "/home/alice/photo.jpg");
	PATH_IS("~", "/home/alice");
	PATH_IS("\"mon image.png\"", "mon image.png");
	PATH_IS("'~/mon image.png'", "/home/alice/mon image.png");
	PATH_IS("\"non fermé.png", "\"non fermé.png");
	PATH_IS("~bob/photo.jpg", "~bob/photo.jpg"); /* another's home: as typed */
	PATH_IS("img/a~b.png", "img/a~b.png");
	PATH_IS("/tmp/x.png", "/tmp/x.png");
	assert_int_equal(cmdtable_path("   ", 3, home, out, sizeof(out)), 0);
	assert_int_equal(cmdtable_path("\"\"", 2, home, out, sizeof(out)), 0);
	/* No home known: "~" stays. */
	assert_int_equal(cmdtable_path("~/x", 3, NULL, out, sizeof(out)), 3);
	assert_string_equal(out, "~/x");
	/* Too long for out: nothing, rather than a path cut short. */
	assert_int_equal(cmdtable_path("~/photo.jpg", 11, home, out, 12), 0);
}

static void keys_in_help(void **state)
{
	(void)state;
	static const struct key_help keys[] = {
		{"PgUp/PgDn", "scroll"},
		{"Tab", "complete"},
	};
	char buf[128];
	size_t n = cmdtable_keys_help(keys, 2, "Keys: ", buf, sizeof(buf));
	assert_string_equal(buf, "Keys: PgUp/PgDn (scroll), Tab (complete).");
	assert_int_equal(n, strlen(buf));
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
		cmocka_unit_test(file_names_as_typed),
		cmocka_unit_test(keys_in_help),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
