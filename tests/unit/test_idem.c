/* Recently published numbered messages (src/server/idem.c, issue 19): a
 * retry is found within the window, never after; the table stays within
 * its bound whatever comes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "idem.h"

static void a_retry_is_found_within_the_window(void **state)
{
	(void)state;
	struct idem *d = idem_new(16, 60000);
	assert_non_null(d);
	uint64_t id = 0;
	assert_false(idem_find(d, "pabc", 7, 1000, &id));
	assert_int_equal(idem_add(d, "pabc", 7, 41, 1000), 0);
	assert_true(idem_find(d, "pabc", 7, 1000 + 59999, &id));
	assert_true(id == 41);
	/* Another sender's same id, the same sender's other id: not found. */
	assert_false(idem_find(d, "pabd", 7, 2000, &id));
	assert_false(idem_find(d, "pabc", 8, 2000, &id));
	/* Recorded twice: kept once, with its first id. */
	assert_int_equal(idem_add(d, "pabc", 7, 99, 2000), 0);
	assert_int_equal(idem_count(d), 1);
	assert_true(idem_find(d, "pabc", 7, 3000, &id) && id == 41);
	/* Past the window it is forgotten (and freed). */
	assert_false(idem_find(d, "pabc", 7, 1000 + 60000, &id));
	assert_int_equal(idem_count(d), 0);
	idem_free(d);
}

static void the_table_stays_within_its_bound(void **state)
{
	(void)state;
	struct idem *d = idem_new(100, 60000);
	uint64_t id;
	for (uint64_t i = 1; i <= 10000; i++) {
		assert_int_equal(idem_add(d, "pflood", i, i, 5), 0);
		assert_true(idem_count(d) <= 100);
	}
	assert_int_equal(idem_count(d), 100);
	/* The oldest went first; the newest are there. */
	assert_false(idem_find(d, "pflood", 1, 5, &id));
	assert_false(idem_find(d, "pflood", 9900, 5, &id));
	assert_true(idem_find(d, "pflood", 9901, 5, &id) && id == 9901);
	assert_true(idem_find(d, "pflood", 10000, 5, &id));
	idem_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_retry_is_found_within_the_window),
		cmocka_unit_test(the_table_stays_within_its_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
