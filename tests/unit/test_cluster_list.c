/* The presence scripts' answers and the node channel's messages, read
 * into bounded entries (cluster_list.c); junk skipped, never more than
 * asked. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_list.h"

/* A reply built by hand: an array of bulk strings (NULL: an integer). */
static redisReply *array_of(const char *const *items, const long long *ints, size_t n)
{
	redisReply *r = calloc(1, sizeof(*r));
	r->type = REDIS_REPLY_ARRAY;
	r->elements = n;
	r->element = calloc(n, sizeof(*r->element));
	for (size_t i = 0; i < n; i++) {
		redisReply *e = calloc(1, sizeof(*e));
		if (items[i] != NULL) {
			e->type = REDIS_REPLY_STRING;
			e->str = strdup(items[i]);
			e->len = strlen(items[i]);
		} else {
			e->type = REDIS_REPLY_INTEGER;
			e->integer = ints[i];
		}
		r->element[i] = e;
	}
	return r;
}

static void free_array(redisReply *r)
{
	for (size_t i = 0; i < r->elements; i++) {
		free(r->element[i]->str);
		free(r->element[i]);
	}
	free(r->element);
	free(r);
}

static void members_read_and_junk_skipped(void **state)
{
	(void)state;
	char long_label[80];
	memset(long_label, 'x', sizeof(long_label));
	memcpy(long_label, "3|", 2);
	long_label[79] = '\0';
	const char *items[] = {"7|zed", "no bar", "999|big", long_label, "4|\x1b[31mred", "|",
			       "-1|anon", "12|", "-2|neg", "5|a|b"};
	redisReply *r = array_of(items, NULL, 10);
	struct cluster_member m[10];
	assert_int_equal(cluster_list_members(r, m, 10), 4);
	assert_string_equal(m[0].label, "zed");
	assert_int_equal(m[0].colour, 7);
	assert_string_equal(m[1].label, "^[[31mred"); /* made safe */
	assert_string_equal(m[2].label, "anon");
	assert_int_equal(m[2].colour, -1);
	assert_string_equal(m[3].label, "a|b");
	/* Never more than asked. */
	assert_int_equal(cluster_list_members(r, m, 2), 2);
	free_array(r);
	redisReply nil = {.type = REDIS_REPLY_NIL};
	assert_int_equal(cluster_list_members(&nil, m, 10), -EPROTO);
}

static void rooms_read_with_counts(void **state)
{
	(void)state;
	const char *items[] = {"general", "5", "loin", NULL, "bad", "x", NULL, "3", "odd"};
	const long long ints[] = {0, 0, 0, 2, 0, 0, 9, 0, 0};
	redisReply *r = array_of(items, ints, 9);
	struct cluster_room rooms[4];
	assert_int_equal(cluster_list_rooms(r, rooms, 4), 2);
	assert_string_equal(rooms[0].name, "general");
	assert_int_equal(rooms[0].count, 5);
	assert_string_equal(rooms[1].name, "loin");
	assert_int_equal(rooms[1].count, 2);
	assert_int_equal(cluster_list_rooms(r, rooms, 1), 1);
	free_array(r);
}

static void private_messages(void **state)
{
	(void)state;
	struct cluster_private pm;
	const char ok[] = "42\np\nbob\n7\n3\nana\nsalut\nà toi";
	assert_int_equal(cluster_list_private(ok, strlen(ok), &pm), 0);
	assert_int_equal(pm.to_conn_id, 42);
	assert_int_equal(pm.kind, 'p');
	assert_string_equal(pm.to, "bob");
	assert_int_equal(pm.from_user_id, 7);
	assert_int_equal(pm.colour, 3);
	assert_string_equal(pm.from, "ana");
	assert_int_equal(pm.len, strlen("salut\nà toi"));
	assert_memory_equal(pm.text, "salut\nà toi", pm.len);
	const char kick[] = "1\nk\nbob\n7\n-1\nmodo\n";
	assert_int_equal(cluster_list_private(kick, strlen(kick), &pm), 0);
	assert_int_equal(pm.colour, -1);
	assert_int_equal(pm.len, 0); /* a kick without a reason */
	const char ban[] = "1\nb\nbob\n7\n-1\nmodo\n0 ";
	assert_int_equal(cluster_list_private(ban, strlen(ban), &pm), 0);
	assert_int_equal(pm.kind, 'b');
	assert_int_equal(pm.len, 2); /* for ever, without a reason */
	static const char *const bad[] = {
		"", "42\np\nbob\n7\n3\nana\n",        /* a message without text */
		"42\nx\nbob\n7\n3\nana\nhi",           /* an unknown kind */
		"42\n\nbob\n7\n3\nana\nhi",
		"42\np\n\n7\n3\nana\nhi",              /* nobody */
		"42\np\nbob\n7\n256\nana\nhi",         /* a colour out of range */
		"18446744073709551616\np\nbob\n7\n3\nana\nhi", /* 2^64 */
		"4x\np\nbob\n7\n3\nana\nhi",
		"42\np\nbob\n7\n3\nana",               /* cut short */
		"42\nb\nbob\n7\n3\nana\n",            /* a ban without its duration */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cluster_list_private(bad[i], strlen(bad[i]), &pm), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(members_read_and_junk_skipped),
		cmocka_unit_test(rooms_read_with_counts),
		cmocka_unit_test(private_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
