/* The client's unacknowledged messages (src/client/outbox.c, issue 19):
 * numbered in order, taken out by their ACK in any order, kept within
 * their bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "outbox.h"

static struct outbox box; /* 8 KiB: not on the test's stack */

static void ids_follow_and_acks_take_out(void **state)
{
	(void)state;
	outbox_init(&box, 41);
	assert_true(outbox_add(&box, "", 0, "un", 2) == 41);
	assert_true(outbox_add(&box, "jeux", 4, "deux", 4) == 42);
	assert_true(outbox_add(&box, "", 0, "trois", 5) == 43);
	assert_int_equal(outbox_count(&box), 3);
	assert_false(outbox_ack(&box, 7)); /* not ours: nothing changes */
	assert_true(outbox_ack(&box, 42));
	assert_false(outbox_ack(&box, 42)); /* twice: once */
	assert_int_equal(outbox_count(&box), 2);
	/* What is left, oldest first, as it was said. */
	assert_true(outbox_at(&box, 0)->id == 41);
	assert_string_equal(outbox_at(&box, 0)->text, "un");
	assert_true(outbox_at(&box, 1)->id == 43);
	assert_string_equal(outbox_at(&box, 1)->text, "trois");
	assert_null(outbox_at(&box, 2));
	assert_true(outbox_ack(&box, 41) && outbox_ack(&box, 43));
	assert_int_equal(outbox_count(&box), 0);
	assert_int_equal(box.bytes, 0);
	outbox_free(&box);
}

static void the_ids_never_give_zero(void **state)
{
	(void)state;
	outbox_init(&box, UINT64_MAX);
	assert_true(outbox_add(&box, "", 0, "a", 1) == UINT64_MAX);
	assert_true(outbox_add(&box, "", 0, "b", 1) == 1);
	outbox_free(&box);
	outbox_init(&box, 0);
	assert_true(outbox_add(&box, "", 0, "c", 1) == 1);
	outbox_free(&box);
}

static void bounded_in_count_and_bytes(void **state)
{
	(void)state;
	outbox_init(&box, 1);
	for (int i = 0; i < OUTBOX_MAX; i++)
		assert_true(outbox_add(&box, "", 0, "x", 1) != 0);
	assert_true(outbox_add(&box, "", 0, "de trop", 7) == 0);
	assert_int_equal(outbox_count(&box), OUTBOX_MAX);
	/* One acknowledged: one more may wait. */
	assert_true(outbox_ack(&box, 1));
	assert_true(outbox_add(&box, "", 0, "y", 1) != 0);
	outbox_free(&box);
	/* Bytes: 16 KiB messages, up to 1 MiB. */
	static char big[16 * 1024];
	memset(big, 'z', sizeof(big));
	outbox_init(&box, 1);
	size_t kept = 0;
	while (outbox_add(&box, "", 0, big, sizeof(big)) != 0)
		kept++;
	assert_int_equal(kept, OUTBOX_BYTES / sizeof(big));
	assert_true(box.bytes <= OUTBOX_BYTES);
	outbox_free(&box);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ids_follow_and_acks_take_out),
		cmocka_unit_test(the_ids_never_give_zero),
		cmocka_unit_test(bounded_in_count_and_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
