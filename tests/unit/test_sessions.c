/* The resume tokens kept between runs: found by server and pseudo,
 * replaced, forgotten, bounded; the file 0600 in a 0700 directory,
 * replaced whole (never written in place), junk lines ignored. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "sessions.h"

static char dir[256], path[512];

static int make_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/chatroom-sessions-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	/* Directories to make on the way, as under a fresh $XDG_STATE_HOME. */
	snprintf(path, sizeof(path), "%s/state/chatroom/sessions", dir);
	return 0;
}

static int remove_dir(void **state)
{
	(void)state;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void fill(unsigned char *token, unsigned char v)
{
	memset(token, v, WIRE_TOKEN_LEN);
}

static void kept_found_replaced_forgotten(void **state)
{
	(void)state;
	unsigned char a[WIRE_TOKEN_LEN], b[WIRE_TOKEN_LEN], got[WIRE_TOKEN_LEN];
	fill(a, 0xa1);
	fill(b, 0xb2);
	assert_false(sessions_find(path, "127.0.0.1:8888", "alice", got)); /* no file yet */
	assert_int_equal(sessions_store(path, "127.0.0.1:8888", "alice", a), 0);
	assert_int_equal(sessions_store(path, "127.0.0.1:9999", "alice", b), 0);
	assert_true(sessions_find(path, "127.0.0.1:8888", "alice", got));
	assert_memory_equal(got, a, WIRE_TOKEN_LEN);
	assert_true(sessions_find(path, "127.0.0.1:9999", "alice", got));
	assert_memory_equal(got, b, WIRE_TOKEN_LEN);
	assert_false(sessions_find(path, "127.0.0.1:8888", "bob", got));
	/* A new token replaces the old one. */
	assert_int_equal(sessions_store(path, "127.0.0.1:8888", "alice", b), 0);
	assert_true(sessions_find(path, "127.0.0.1:8888", "alice", got));
	assert_memory_equal(got, b, WIRE_TOKEN_LEN);
	/* Forgotten; the other stays. */
	assert_int_equal(sessions_store(path, "127.0.0.1:8888", "alice", NULL), 0);
	assert_false(sessions_find(path, "127.0.0.1:8888", "alice", got));
	assert_true(sessions_find(path, "127.0.0.1:9999", "alice", got));
	/* Modes: a secret. */
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char parent[600];
	snprintf(parent, sizeof(parent), "%s/state/chatroom", dir);
	assert_int_equal(stat(parent, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* Fields that would break a line are refused. */
	assert_int_equal(sessions_store(path, "a\tb", "alice", a), -EINVAL);
	assert_int_equal(sessions_store(path, "h:1", "al\nice", a), -EINVAL);
}

static void bounded_and_junk_ignored(void **state)
{
	(void)state;
	unsigned char t[WIRE_TOKEN_LEN], got[WIRE_TOKEN_LEN];
	char pseudo[16];
	for (int i = 0; i < SESSIONS_MAX + 5; i++) {
		fill(t, (unsigned char)i);
		snprintf(pseudo, sizeof(pseudo), "p%d", i);
		assert_int_equal(sessions_store(path, "h:1", pseudo, t), 0);
	}
	assert_false(sessions_find(path, "h:1", "p0", got)); /* the oldest went */
	assert_true(sessions_find(path, "h:1", "p68", got));
	assert_int_equal(got[0], 68);
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs("junk\nh:1\tbad\tzz\nh:1\tshort\t00ff\n", f);
	fclose(f);
	assert_false(sessions_find(path, "h:1", "bad", got));
	assert_false(sessions_find(path, "h:1", "short", got));
	assert_true(sessions_find(path, "h:1", "p68", got));
	/* Written again: the junk does not survive, and nothing is left beside. */
	fill(t, 7);
	assert_int_equal(sessions_store(path, "h:1", "p7", t), 0);
	f = fopen(path, "r");
	char line[256];
	int lines = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		assert_null(strstr(line, "junk"));
		lines++;
	}
	fclose(f);
	assert_int_equal(lines, SESSIONS_MAX);
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "test $(ls -A '%s/state/chatroom' | wc -l) -eq 1", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kept_found_replaced_forgotten),
		cmocka_unit_test(bounded_and_junk_ignored),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
