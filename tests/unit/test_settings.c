/* Settings tables: option > environment > file > default, each origin named
 * in errors, the types' bounds, getopt's tables and --help made from the rows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "settings.h"

struct target {
	char host[32];
	int port;
	size_t queue;
	size_t events;
	unsigned grace_ms;
	unsigned coalesce;
	double rate;
	bool reconnect;
	bool plain;
	int level;
	char only_file[16];
	const struct setting *seen; /* the row the recording type was given */
	char seen_value[32];
};

#define FIELD(f) offsetof(struct target, f)

/* -v and -q set one field: the last given wins. */
static int parse_level(const struct setting *row, void *target, const char *value,
		       const char **cause)
{
	(void)cause;
	*(int *)settings_field(row, target) = strcmp(value, "debug") == 0 ? 2 : 1;
	return 0;
}

static const struct setting_type level_type = {parse_level, NULL};

static const struct setting rows[] = {
	{"HOST", "address", 'a', "ADDR", &settings_text, FIELD(host), .max = sizeof(((struct target *)0)->host),
	 .help = "where"},
	{"PORT", "port", 'p', "PORT", &settings_port, FIELD(port), .min = 1, .help = "which port"},
	{NULL, "config", 'c', "FILE", NULL, 0, .role = SETTING_CONFIG_FILE,
	 .default_text = "/etc/test.conf", .help = "settings file"},
	{"QUEUE", "queue", 0, "BYTES", &settings_bytes, FIELD(queue), .min = 1024, .max = 1 << 20,
	 .cause = "at most 1 MiB"},
	{"EVENTS", "events", 'e', "N", &settings_count, FIELD(events), .max = 100,
	 .cause = "invalid number of events (0-100)", .help = "a queue and its events"},
	{"GRACE", "grace", 0, "SECONDS", &settings_seconds, FIELD(grace_ms), .help = "grace"},
	{"COALESCE", "coalesce", 0, "US", &settings_uint, FIELD(coalesce), .max = 1000,
	 .cause = "at most 1000 microseconds", .help = "coalesce"},
	{"RATE", "rate", 'r', "N", &settings_number, FIELD(rate), .help = "rate"},
	{"RECONNECT", "reconnect", 0, NULL, &settings_yes_no, FIELD(reconnect),
	 .help = "come back after a drop"},
	{NULL, "plain", 'P', NULL, &settings_yes_no, FIELD(plain), .help = "plain lines"},
	{NULL, "verbose", 'v', NULL, &level_type, FIELD(level), .flag_value = "debug",
	 .help = "more"},
	{NULL, "quiet", 'q', NULL, &level_type, FIELD(level), .flag_value = "notice",
	 .help = "less"},
	{NULL, "lang", 0, "fr|en", &settings_ignore, 0, .help = "read by main itself"},
	{"ONLY_FILE", NULL, 0, "WORD", &settings_text, FIELD(only_file),
	 .max = sizeof(((struct target *)0)->only_file), .help = "no option for this one"},
	{NULL, "help", 'h', NULL, NULL, 0, .role = SETTING_HELP, .help = "this help"},
	{NULL, "version", 0, NULL, NULL, 0, .role = SETTING_VERSION, .help = "the version"},
};

static const struct settings_program program = {
	.name = "test", .synopsis = "test [options]", .epilogue = "The end.\n",
	.rows = rows, .count = sizeof(rows) / sizeof(rows[0]),
};

static const struct target defaults = {
	.host = "localhost", .port = 8888, .queue = 1 << 16, .events = 10, .grace_ms = 300000,
	.coalesce = 0, .rate = 10.0,
};

/* A directory of this test's files, and no CHATROOM_* of the table set. */
struct fixture {
	char dir[64];
	char path[128];    /* dir/settings.conf */
	char missing[128]; /* dir/missing.conf */
	struct target t;
	struct settings_error err;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_settings.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/settings.conf", f->dir);
	snprintf(f->missing, sizeof(f->missing), "%s/missing.conf", f->dir);
	f->t = defaults;
	for (size_t i = 0; i < program.count; i++) {
		char var[64];
		if (rows[i].key != NULL) {
			snprintf(var, sizeof(var), "CHATROOM_%s", rows[i].key);
			unsetenv(var);
		}
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	for (size_t i = 0; i < program.count; i++) {
		char var[64];
		if (rows[i].key != NULL) {
			snprintf(var, sizeof(var), "CHATROOM_%s", rows[i].key);
			unsetenv(var);
		}
	}
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *out = fopen(path, "w");
	assert_non_null(out);
	fputs(text, out);
	fclose(out);
}

/* settings_read with the arguments after the program's name (NULL-ended). */
static enum settings_outcome run(struct fixture *f, const char *default_path, ...)
{
	char *argv[32] = {"test"};
	int argc = 1;
	va_list ap;
	va_start(ap, default_path);
	const char *arg;
	while ((arg = va_arg(ap, const char *)) != NULL && argc < 31)
		argv[argc++] = (char *)arg;
	va_end(ap);
	argv[argc] = NULL;
	return settings_read(&program, argc, argv, &f->t, default_path, &f->err);
}

/* ---- precedence ------------------------------------------------------------ */

static void assert_defaults(const struct target *t)
{
	assert_string_equal(t->host, defaults.host);
	assert_int_equal(t->port, defaults.port);
	assert_int_equal(t->queue, defaults.queue);
	assert_int_equal(t->events, defaults.events);
	assert_int_equal(t->grace_ms, defaults.grace_ms);
	assert_int_equal(t->coalesce, defaults.coalesce);
	assert_true(t->rate == defaults.rate);
	assert_false(t->reconnect);
	assert_false(t->plain);
	assert_int_equal(t->level, 0);
	assert_string_equal(t->only_file, "");
}

static void default_only(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(run(f, f->missing, NULL), SETTINGS_READY);
	assert_defaults(&f->t);
	/* No default file at all (no HOME) is the same. */
	assert_int_equal(run(f, NULL, NULL), SETTINGS_READY);
	assert_defaults(&f->t);
}

static void file_over_default(void **state)
{
	struct fixture *f = *state;
	write_file(f->path, "# a comment\n\nPORT=2000\nHOST=from-file\n");
	assert_int_equal(run(f, f->path, NULL), SETTINGS_READY);
	assert_int_equal(f->t.port, 2000);
	assert_string_equal(f->t.host, "from-file");
	assert_int_equal(f->t.queue, defaults.queue); /* untouched */
}

static void environment_over_file(void **state)
{
	struct fixture *f = *state;
	write_file(f->path, "PORT=2000\nHOST=from-file\n");
	setenv("CHATROOM_PORT", "3000", 1);
	assert_int_equal(run(f, f->path, NULL), SETTINGS_READY);
	assert_int_equal(f->t.port, 3000);
	assert_string_equal(f->t.host, "from-file");
}

static void option_over_environment_and_file(void **state)
{
	struct fixture *f = *state;
	write_file(f->path, "PORT=2000\nHOST=from-file\nEVENTS=5\n");
	setenv("CHATROOM_PORT", "3000", 1);
	setenv("CHATROOM_HOST", "from-env", 1);
	assert_int_equal(run(f, f->path, "-p", "4000", "--address=from-option", NULL), SETTINGS_READY);
	assert_int_equal(f->t.port, 4000);
	assert_string_equal(f->t.host, "from-option");
	assert_int_equal(f->t.events, 5);
	/* The long form, the short one, and the last of several. */
	assert_int_equal(run(f, f->path, "--port", "5000", "-p6000", NULL), SETTINGS_READY);
	assert_int_equal(f->t.port, 6000);
	/* Only the last value of an option counts, as it always did. */
	assert_int_equal(run(f, f->path, "-p", "soixante", "-p", "7000", NULL), SETTINGS_READY);
	assert_int_equal(f->t.port, 7000);
}

static void config_option_replaces_the_default_file(void **state)
{
	struct fixture *f = *state;
	char other[160];
	snprintf(other, sizeof(other), "%s/default.conf", f->dir);
	write_file(other, "NOT_A_KEY=1\n"); /* never read */
	write_file(f->path, "PORT=2000\n");
	assert_int_equal(run(f, other, "-c", f->path, NULL), SETTINGS_READY);
	assert_int_equal(f->t.port, 2000);
	unlink(other);
}

static void missing_default_file_is_fine_missing_given_file_is_not(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(run(f, f->missing, NULL), SETTINGS_READY);
	assert_int_equal(run(f, NULL, "--config", f->missing, NULL), SETTINGS_FAILED);
	char want[256];
	snprintf(want, sizeof(want), "cannot read %s: %s", f->missing, strerror(ENOENT));
	assert_string_equal(f->err.text, want);
}

/* ---- errors name their origin ---------------------------------------------- */

static void file_error_names_file_line_key(void **state)
{
	struct fixture *f = *state;
	write_file(f->path, "HOST=h\nPORT=70000\n");
	assert_int_equal(run(f, f->path, NULL), SETTINGS_FAILED);
	char want[256];
	snprintf(want, sizeof(want), "%s:2: PORT '70000': invalid port (1-65535)", f->path);
	assert_string_equal(f->err.text, want);
}

static void environment_error_names_the_variable(void **state)
{
	struct fixture *f = *state;
	setenv("CHATROOM_PORT", "soixante", 1);
	assert_int_equal(run(f, f->missing, NULL), SETTINGS_FAILED);
	assert_string_equal(f->err.text, "CHATROOM_PORT 'soixante': invalid port (1-65535)");
}

static void option_error_names_the_long_option(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(run(f, f->missing, "--port", "70000", NULL), SETTINGS_FAILED);
	assert_string_equal(f->err.text, "--port '70000': invalid port (1-65535)");
	/* Given short, it is still named by its long name. */
	assert_int_equal(run(f, f->missing, "-p", "x", NULL), SETTINGS_FAILED);
	assert_string_equal(f->err.text, "--port 'x': invalid port (1-65535)");
}

static void unknown_key_and_malformed_files(void **state)
{
	struct fixture *f = *state;
	char want[256];
	write_file(f->path, "# comment\n\nPORTE=9999\n");
	assert_int_equal(run(f, f->path, NULL), SETTINGS_FAILED);
	snprintf(want, sizeof(want), "%s:3: unknown key 'PORTE'", f->path);
	assert_string_equal(f->err.text, want);

	write_file(f->path, "just words\n");
	assert_int_equal(run(f, f->path, NULL), SETTINGS_FAILED);
	snprintf(want, sizeof(want), "%s:1: not a KEY=VALUE line", f->path);
	assert_string_equal(f->err.text, want);

	write_file(f->path, "[section]\nPORT=1\n");
	assert_int_equal(run(f, f->path, NULL), SETTINGS_FAILED);
	snprintf(want, sizeof(want), "%s:2: sections are not used (found [section])", f->path);
	assert_string_equal(f->err.text, want);

	/* A command-line-only setting is no key of the file. */
	write_file(f->path, "PLAIN=yes\n");
	assert_int_equal(run(f, f->path, NULL), SETTINGS_FAILED);
	snprintf(want, sizeof(want), "%s:1: unknown key 'PLAIN'", f->path);
	assert_string_equal(f->err.text, want);
}

static void first_error_wins_and_nothing_after_it_applies(void **state)
{
	struct fixture *f = *state;
	write_file(f->path, "PORT=x\n");
	setenv("CHATROOM_HOST", "from-env", 1);
	assert_int_equal(run(f, f->path, "-p", "2", NULL), SETTINGS_FAILED);
	assert_string_equal(f->t.host, "localhost");
	assert_int_equal(f->t.port, 8888);
}

/* ---- the types' bounds ----------------------------------------------------- */

static void expect_refused(struct fixture *f, const char *option, const char *value,
			   const char *reason)
{
	f->t = defaults;
	assert_int_equal(run(f, f->missing, option, value, NULL), SETTINGS_FAILED);
	char want[256];
	snprintf(want, sizeof(want), "%s '%s': %s", option, value, reason);
	assert_string_equal(f->err.text, want);
}

static void types_check_their_bounds(void **state)
{
	struct fixture *f = *state;
	expect_refused(f, "--address", "", "empty or too long");
	expect_refused(f, "--address", "0123456789012345678901234567890123", "empty or too long");
	expect_refused(f, "--queue", "1023", "invalid size in bytes");
	expect_refused(f, "--queue", "-5", "invalid size in bytes");
	expect_refused(f, "--queue", "2000000", "at most 1 MiB");
	expect_refused(f, "--events", "101", "invalid number of events (0-100)");
	expect_refused(f, "--events", "beaucoup", "invalid number of events (0-100)");
	expect_refused(f, "--grace", "4000001", "invalid number");
	expect_refused(f, "--coalesce", "1001", "at most 1000 microseconds");
	expect_refused(f, "--coalesce", "x", "invalid number");
	expect_refused(f, "--rate", "inf", "invalid number (a finite one is needed)");
	expect_refused(f, "--rate", "nan", "invalid number (a finite one is needed)");

	f->t = defaults;
	assert_int_equal(run(f, f->missing, "--queue", "1048576", "--events", "0", "--grace", "7",
			     "--coalesce", "1000", "--rate", "0.5", NULL), SETTINGS_READY);
	assert_int_equal(f->t.queue, 1048576);
	assert_int_equal(f->t.events, 0);
	assert_int_equal(f->t.grace_ms, 7000); /* seconds given, milliseconds kept */
	assert_int_equal(f->t.coalesce, 1000);
	assert_true(f->t.rate == 0.5);
}

static void flags(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(run(f, f->missing, "--plain", NULL), SETTINGS_READY);
	assert_true(f->t.plain);
	f->t = defaults;
	assert_int_equal(run(f, f->missing, "-P", NULL), SETTINGS_READY);
	assert_true(f->t.plain);

	/* A flag with a key: the file and environment say yes or no, the flag yes. */
	f->t = defaults;
	write_file(f->path, "RECONNECT=yes\n");
	setenv("CHATROOM_RECONNECT", "no", 1);
	assert_int_equal(run(f, f->path, NULL), SETTINGS_READY);
	assert_false(f->t.reconnect);
	assert_int_equal(run(f, f->path, "--reconnect", NULL), SETTINGS_READY);
	assert_true(f->t.reconnect);
	setenv("CHATROOM_RECONNECT", "peut-être", 1);
	assert_int_equal(run(f, f->path, NULL), SETTINGS_FAILED);
	assert_string_equal(f->err.text, "CHATROOM_RECONNECT 'peut-être': not yes or no");

	/* Two flags on one field: the one given last. */
	unsetenv("CHATROOM_RECONNECT");
	assert_int_equal(run(f, f->missing, "-v", "-q", NULL), SETTINGS_READY);
	assert_int_equal(f->t.level, 1);
	assert_int_equal(run(f, f->missing, "-q", "--verbose", NULL), SETTINGS_READY);
	assert_int_equal(f->t.level, 2);
}

static void file_only_key(void **state)
{
	struct fixture *f = *state;
	write_file(f->path, "ONLY_FILE=mot\n");
	assert_int_equal(run(f, f->path, NULL), SETTINGS_READY);
	assert_string_equal(f->t.only_file, "mot");
	setenv("CHATROOM_ONLY_FILE", "autre", 1);
	assert_int_equal(run(f, f->path, NULL), SETTINGS_READY);
	assert_string_equal(f->t.only_file, "autre");
	assert_int_equal(run(f, f->path, "--only-file", "x", NULL), SETTINGS_BAD_USAGE);
}

static void help_version_and_bad_usage(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(run(f, f->missing, "--help", NULL), SETTINGS_HELP);
	assert_int_equal(run(f, f->missing, "-p", "1", "-h", "--bogus", NULL), SETTINGS_HELP);
	assert_int_equal(run(f, f->missing, "--version", NULL), SETTINGS_VERSION);
	assert_int_equal(run(f, f->missing, "--bogus", NULL), SETTINGS_BAD_USAGE);
	assert_string_equal(f->err.text, ""); /* getopt said it */
	assert_int_equal(run(f, f->missing, "--port", NULL), SETTINGS_BAD_USAGE);
	assert_int_equal(run(f, f->missing, "stray", NULL), SETTINGS_BAD_USAGE);
	assert_string_equal(f->err.text, "unexpected argument 'stray'");
	/* --lang is the program's own business. */
	assert_int_equal(run(f, f->missing, "--lang", "en", NULL), SETTINGS_READY);
}

/* ---- getopt's tables come from the rows ------------------------------------ */

static int parse_record(const struct setting *row, void *target, const char *value,
			const char **cause)
{
	(void)cause;
	struct target *t = target;
	t->seen = row;
	snprintf(t->seen_value, sizeof(t->seen_value), "%s", value);
	return 0;
}

static const struct setting_type record_type = {parse_record, NULL};

/* Every shape of row: keyed or not, short or not, value or flag. */
static const struct setting reach_rows[] = {
	{"ALPHA", "alpha", 'a', "A", &record_type, 0, .help = "1"},
	{"BETA", "beta", 0, "B", &record_type, 0, .help = "2"},
	{NULL, "gamma", 'g', NULL, &record_type, 0, .help = "3"},
	{NULL, "delta", 0, NULL, &record_type, 0, .flag_value = "on", .help = "4"},
	{"EPSILON", "epsilon", 'E', NULL, &record_type, 0, .help = "5"},
	{NULL, "zeta", 'z', "Z", &record_type, 0, .help = "6"},
	{"ETA", "eta-with-dashes", '9', "H", &record_type, 0, .help = "7"},
};

static void every_row_reachable_by_its_long_and_short_name(void **state)
{
	struct fixture *f = *state;
	const struct settings_program reach = {.name = "reach", .synopsis = "reach",
					       .rows = reach_rows,
					       .count = sizeof(reach_rows) / sizeof(reach_rows[0])};
	for (size_t i = 0; i < reach.count; i++) {
		const struct setting *row = &reach_rows[i];
		const char *expect = row->metavar ? "v" : row->flag_value ? row->flag_value : "yes";
		char long_name[64], short_name[3] = {'-', row->short_opt, '\0'};
		snprintf(long_name, sizeof(long_name), "--%s", row->long_opt);
		for (int form = 0; form < 2; form++) {
			if (form == 1 && row->short_opt == 0)
				continue;
			char *argv[] = {"reach", form == 0 ? long_name : short_name, "v", NULL};
			int argc = row->metavar ? 3 : 2;
			memset(&f->t, 0, sizeof(f->t));
			assert_int_equal(settings_read(&reach, argc, argv, &f->t, NULL, &f->err),
					 SETTINGS_READY);
			assert_ptr_equal(f->t.seen, row);
			assert_string_equal(f->t.seen_value, expect);
		}
	}
}

/* ---- --help comes from the rows -------------------------------------------- */

static char *usage_text(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	settings_usage(&program, &defaults, out);
	fclose(out);
	return text;
}

static void usage_lists_every_row_with_its_key_and_default(void **state)
{
	(void)state;
	char *text = usage_text();
	assert_non_null(strstr(text, "usage: test [options]\n\n"));
	assert_non_null(strstr(text, "\n  -a, --address ADDR      where (HOST=, default localhost)\n"));
	assert_non_null(strstr(text, "\n  -p, --port PORT         which port (PORT=, default 8888)\n"));
	assert_non_null(strstr(text, "  -c, --config FILE       settings file (default /etc/test.conf)\n"));
	/* Two rows, one entry: both names, then the help with both keys and defaults. */
	assert_non_null(strstr(text, "\n      --queue BYTES, -e, --events N\n"
				     "                          a queue and its events (QUEUE=, EVENTS=; default\n"
				     "                          64 KiB, 10)\n"));
	assert_non_null(strstr(text, "grace (GRACE=, default 300 s)"));
	assert_non_null(strstr(text, "come back after a drop (RECONNECT=yes)"));
	assert_non_null(strstr(text, "\n  -P, --plain             plain lines\n"));
	assert_non_null(strstr(text, "\n      ONLY_FILE=WORD      no option for this one\n"));
	assert_non_null(strstr(text, "\n      --version           the version\n"));
	assert_non_null(strstr(text, "CHATROOM_KEY environment variable"));
	size_t n = strlen(text);
	assert_true(n > 10 && strcmp(text + n - 10, "\nThe end.\n") == 0);
	for (size_t i = 0; i < program.count; i++) {
		char name[64];
		if (rows[i].long_opt != NULL) {
			snprintf(name, sizeof(name), "--%s", rows[i].long_opt);
			assert_non_null(strstr(text, name));
		}
		if (rows[i].key != NULL) {
			snprintf(name, sizeof(name), "%s=", rows[i].key);
			assert_non_null(strstr(text, name));
		}
	}
	/* Lines fit 80 columns, and only an option's line starts with a dash
	 * after its indent. */
	for (char *line = text, *end; *line != '\0'; line = end + 1) {
		end = strchr(line, '\n');
		assert_non_null(end);
		assert_true(end - line < 80);
		if (line[0] == ' ' && line[strspn(line, " ")] == '-')
			assert_true(strspn(line, " ") <= 6);
	}
	free(text);
}

static void a_long_help_wraps_under_the_description_column(void **state)
{
	(void)state;
	static const struct setting long_rows[] = {
		{"LONG", "a-rather-long-option-name", 0, "VALUE", &settings_port, 0,
		 .help = "words words words words words words words words words words words "
			 "words words --not-at-a-line-start words words words words --nor-here"},
	};
	const struct settings_program p = {.name = "w", .synopsis = "w", .rows = long_rows,
					   .count = 1};
	int port = 1;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	settings_usage(&p, &port, out);
	fclose(out);
	assert_non_null(strstr(text, "\n      --a-rather-long-option-name VALUE\n"
				     "                          words"));
	for (char *line = strchr(text, '\n') + 1; *line != '\0'; line = strchr(line, '\n') + 1) {
		size_t indent = strspn(line, " ");
		if (indent == 26)
			assert_true(line[indent] != '-');
	}
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(default_only, setup, teardown),
		cmocka_unit_test_setup_teardown(file_over_default, setup, teardown),
		cmocka_unit_test_setup_teardown(environment_over_file, setup, teardown),
		cmocka_unit_test_setup_teardown(option_over_environment_and_file, setup, teardown),
		cmocka_unit_test_setup_teardown(config_option_replaces_the_default_file, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_default_file_is_fine_missing_given_file_is_not,
						setup, teardown),
		cmocka_unit_test_setup_teardown(file_error_names_file_line_key, setup, teardown),
		cmocka_unit_test_setup_teardown(environment_error_names_the_variable, setup, teardown),
		cmocka_unit_test_setup_teardown(option_error_names_the_long_option, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_key_and_malformed_files, setup, teardown),
		cmocka_unit_test_setup_teardown(first_error_wins_and_nothing_after_it_applies, setup,
						teardown),
		cmocka_unit_test_setup_teardown(types_check_their_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(flags, setup, teardown),
		cmocka_unit_test_setup_teardown(file_only_key, setup, teardown),
		cmocka_unit_test_setup_teardown(help_version_and_bad_usage, setup, teardown),
		cmocka_unit_test_setup_teardown(every_row_reachable_by_its_long_and_short_name, setup,
						teardown),
		cmocka_unit_test(usage_lists_every_row_with_its_key_and_default),
		cmocka_unit_test(a_long_help_wraps_under_the_description_column),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
