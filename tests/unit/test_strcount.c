/* Counted strings (src/server/strcount.c): what each conn has under way
 * in the cluster. An entry lives while its count is above 0. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include "strcount.h"

static void counts_go_up_and_down(void **state)
{
	(void)state;
	struct strcount t;
	assert_int_equal(strcount_init(&t), 0);
	assert_int_equal(strcount_get(&t, "10.0.0.1"), 0);
	assert_int_equal(strcount_add(&t, "10.0.0.1"), 1);
	assert_int_equal(strcount_add(&t, "10.0.0.1"), 2);
	assert_int_equal(strcount_add(&t, "10.0.0.2"), 1);
	assert_int_equal(strcount_get(&t, "10.0.0.1"), 2);
	strcount_remove(&t, "10.0.0.1");
	assert_int_equal(strcount_get(&t, "10.0.0.1"), 1);
	strcount_remove(&t, "10.0.0.1");
	assert_int_equal(strcount_get(&t, "10.0.0.1"), 0);
	assert_int_equal(strcount_get(&t, "10.0.0.2"), 1);
	strcount_free(&t);
}

static void removing_what_is_not_there_changes_nothing(void **state)
{
	(void)state;
	struct strcount t;
	strcount_init(&t);
	strcount_add(&t, "a");
	strcount_remove(&t, "b");
	strcount_remove(&t, "");
	assert_int_equal(strcount_get(&t, "a"), 1);
	strcount_remove(&t, "a");
	strcount_remove(&t, "a"); /* gone already */
	assert_int_equal(strcount_get(&t, "a"), 0);
	assert_int_equal(strcount_add(&t, "a"), 1);
	strcount_free(&t);
}

/* Far more keys than buckets: chains share buckets and stay apart. */
static void many_keys_share_buckets(void **state)
{
	(void)state;
	struct strcount t;
	strcount_init(&t);
	char key[32];
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "2001:db8:%x::/64", i);
		assert_int_equal(strcount_add(&t, key), 1);
		if (i % 3 == 0)
			assert_int_equal(strcount_add(&t, key), 2);
	}
	for (int i = 0; i < 20000; i += 2) {
		snprintf(key, sizeof(key), "2001:db8:%x::/64", i);
		strcount_remove(&t, key);
	}
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "2001:db8:%x::/64", i);
		unsigned want = (i % 3 == 0 ? 2u : 1u) - (i % 2 == 0 ? 1u : 0u);
		assert_int_equal(strcount_get(&t, key), want);
	}
	strcount_free(&t); /* what is left is freed: the ASan build checks */
}

static void a_share_is_full_by_conn_or_by_address(void **state)
{
	(void)state;
	struct shares s;
	assert_int_equal(shares_init(&s, 2, 3), 0);
	shares_take(&s, 1, "10.0.0.1");
	assert_false(shares_full(&s, 1, "10.0.0.1"));
	shares_take(&s, 1, "10.0.0.1");
	assert_true(shares_full(&s, 1, "10.0.0.1")); /* conn 1's two */
	assert_false(shares_full(&s, 2, "10.0.0.1"));
	shares_take(&s, 2, "10.0.0.1");
	assert_true(shares_full(&s, 3, "10.0.0.1")); /* the address's three */
	assert_false(shares_full(&s, 3, "10.0.0.2"));
	shares_give_back(&s, 1, "10.0.0.1");
	assert_false(shares_full(&s, 1, "10.0.0.1"));
	assert_false(shares_full(&s, 3, "10.0.0.1"));
	shares_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_share_is_full_by_conn_or_by_address),
		cmocka_unit_test(counts_go_up_and_down),
		cmocka_unit_test(removing_what_is_not_there_changes_nothing),
		cmocka_unit_test(many_keys_share_buckets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
