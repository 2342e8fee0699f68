/* What each address holds (src/server/addresses.c): its connections and
 * its sessions on one entry, which lives while either is counted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include "addresses.h"

static void connections_go_up_and_down(void **state)
{
	(void)state;
	struct addresses t;
	assert_int_equal(addresses_init(&t), 0);
	assert_null(addresses_find(&t, "10.0.0.1"));
	assert_int_equal(addresses_conn_add(&t, "10.0.0.1"), 1);
	assert_int_equal(addresses_conn_add(&t, "10.0.0.1"), 2);
	assert_int_equal(addresses_conn_add(&t, "10.0.0.2"), 1);
	assert_int_equal(t.count, 2);
	addresses_conn_remove(&t, "10.0.0.1");
	assert_int_equal(addresses_find(&t, "10.0.0.1")->conns, 1);
	addresses_conn_remove(&t, "10.0.0.1");
	assert_null(addresses_find(&t, "10.0.0.1"));
	addresses_conn_remove(&t, "10.0.0.1"); /* gone already: nothing */
	addresses_conn_remove(&t, "10.0.0.9"); /* never there */
	assert_int_equal(addresses_find(&t, "10.0.0.2")->conns, 1);
	assert_int_equal(t.count, 1);
	addresses_free(&t);
}

/* Either count keeps the entry; it goes with the last of both. */
static void an_entry_lives_while_either_counts(void **state)
{
	(void)state;
	struct addresses t;
	addresses_init(&t);
	struct address *a = addresses_get(&t, "2001:db8::/64");
	assert_non_null(a);
	assert_ptr_equal(addresses_get(&t, "2001:db8::/64"), a);
	a->sessions++;
	assert_int_equal(addresses_conn_add(&t, "2001:db8::/64"), 1);
	addresses_conn_remove(&t, "2001:db8::/64");
	assert_ptr_equal(addresses_find(&t, "2001:db8::/64"), a); /* its session's */
	assert_int_equal(a->conns, 0);
	a->sessions--;
	addresses_release(&t, a);
	assert_null(addresses_find(&t, "2001:db8::/64"));
	assert_int_equal(t.count, 0);
	/* Got but never counted: released at once. */
	a = addresses_get(&t, "x");
	addresses_release(&t, a);
	assert_int_equal(t.count, 0);
	addresses_free(&t);
}

/* Far more keys than buckets: chains share buckets and stay apart. */
static void many_keys_share_buckets(void **state)
{
	(void)state;
	struct addresses t;
	addresses_init(&t);
	char key[32];
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "127.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		assert_int_equal(addresses_conn_add(&t, key), 1);
	}
	assert_int_equal(t.count, 20000);
	for (int i = 0; i < 20000; i += 2) {
		snprintf(key, sizeof(key), "127.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		addresses_conn_remove(&t, key);
	}
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "127.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		struct address *a = addresses_find(&t, key);
		if (i % 2 == 0)
			assert_null(a);
		else
			assert_true(a != NULL && a->conns == 1);
	}
	assert_int_equal(t.count, 10000);
	addresses_free(&t); /* frees the rest (ASan: nothing leaks) */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(connections_go_up_and_down),
		cmocka_unit_test(an_entry_lives_while_either_counts),
		cmocka_unit_test(many_keys_share_buckets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
