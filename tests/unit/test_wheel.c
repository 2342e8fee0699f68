/* The timer wheel (src/server/wheel.c): every conn's one deadline on one
 * timer. Entries fire once, never before they are due, across turns of the
 * wheel, and may be moved and removed at any time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "wheel.h"

/* Pops everything due at now; returns how many. */
static int pop_all(struct wheel *w, int64_t now, struct wheel_entry **got, int cap)
{
	int n = 0;
	struct wheel_entry *e;
	while ((e = wheel_pop_due(w, now)) != NULL) {
		assert_true(n < cap);
		assert_false(wheel_armed(e));
		assert_true(e->due_ms <= now);
		got[n++] = e;
	}
	return n;
}

static void fires_when_due_not_before(void **state)
{
	(void)state;
	struct wheel w;
	wheel_init(&w, 1000);
	struct wheel_entry a = {0}, b = {0};
	assert_int_equal(wheel_next_ms(&w), -1);
	wheel_add(&w, &a, 1050);
	wheel_add(&w, &b, 1010);
	assert_true(wheel_armed(&a));
	assert_int_equal(wheel_next_ms(&w), 1010);
	struct wheel_entry *got[4];
	assert_int_equal(pop_all(&w, 1009, got, 4), 0);
	assert_int_equal(pop_all(&w, 1010, got, 4), 1);
	assert_ptr_equal(got[0], &b);
	assert_int_equal(wheel_next_ms(&w), 1050);
	assert_int_equal(pop_all(&w, 1049, got, 4), 0);
	/* Late (a busy loop turn): it fires all the same, once. */
	assert_int_equal(pop_all(&w, 1070, got, 4), 1);
	assert_ptr_equal(got[0], &a);
	assert_int_equal(pop_all(&w, 1200, got, 4), 0);
	assert_int_equal(wheel_next_ms(&w), -1);
}

/* A deadline many turns away waits in its slot: the turns before do not
 * fire it, and the time it is looked at again never passes it. */
static void later_turns_wait(void **state)
{
	(void)state;
	struct wheel w;
	wheel_init(&w, 0);
	struct wheel_entry far = {0}, near = {0};
	wheel_add(&w, &far, 10 * WHEEL_SLOTS + 7);
	wheel_add(&w, &near, 7);
	struct wheel_entry *got[4];
	int64_t now = 0;
	int fired_far = 0, fired_near = 0, wakes = 0;
	/* Wake only when the wheel says, as its owner's timer does. */
	while (wheel_next_ms(&w) >= 0) {
		int64_t next = wheel_next_ms(&w);
		assert_true(next >= now);
		now = next;
		wakes++;
		int n = pop_all(&w, now, got, 4);
		for (int i = 0; i < n; i++) {
			if (got[i] == &far) {
				assert_int_equal(now, 10 * WHEEL_SLOTS + 7);
				fired_far++;
			} else {
				assert_int_equal(now, 7);
				fired_near++;
			}
		}
	}
	assert_int_equal(fired_far, 1);
	assert_int_equal(fired_near, 1);
	assert_true(wakes <= 12); /* about one a turn, not one a millisecond */
}

static void moved_and_removed(void **state)
{
	(void)state;
	struct wheel w;
	wheel_init(&w, 500);
	struct wheel_entry a = {0}, b = {0};
	wheel_add(&w, &a, 600);
	wheel_add(&w, &a, 520); /* moved, not twice */
	wheel_add(&w, &b, 510);
	assert_int_equal(w.count, 2);
	wheel_remove(&w, &b);
	wheel_remove(&w, &b); /* twice is harmless */
	assert_false(wheel_armed(&b));
	assert_int_equal(w.count, 1);
	struct wheel_entry *got[4];
	assert_int_equal(pop_all(&w, 519, got, 4), 0);
	assert_int_equal(pop_all(&w, 700, got, 4), 1);
	assert_ptr_equal(got[0], &a);
	assert_int_equal(w.count, 0);
}

/* A time already past fires at the next look; so do many entries due at
 * once, after a long pause (more than a turn). */
static void past_due_and_long_pauses(void **state)
{
	(void)state;
	struct wheel w;
	wheel_init(&w, 100);
	struct wheel_entry e[40];
	memset(e, 0, sizeof(e));
	struct wheel_entry *got[64];
	assert_int_equal(pop_all(&w, 5000, got, 64), 0); /* the cursor follows time */
	wheel_add(&w, &e[0], 4000);
	assert_int_equal(wheel_next_ms(&w), 5000);
	assert_int_equal(pop_all(&w, 5000, got, 64), 1);
	for (int i = 0; i < 40; i++)
		wheel_add(&w, &e[i], 5000 + 37 * i);
	assert_int_equal(pop_all(&w, 5000 + 37 * 20, got, 64), 21);
	assert_int_equal(pop_all(&w, 100000, got, 64), 19);
	assert_int_equal(w.count, 0);
}

/* What a callback does between pops (re-arming itself, removing another)
 * is taken into account. */
static void changes_between_pops(void **state)
{
	(void)state;
	struct wheel w;
	wheel_init(&w, 0);
	struct wheel_entry a = {0}, b = {0};
	wheel_add(&w, &a, 10);
	wheel_add(&w, &b, 10);
	struct wheel_entry *first = wheel_pop_due(&w, 10);
	struct wheel_entry *other = first == &a ? &b : &a;
	wheel_remove(&w, other);
	wheel_add(&w, first, 10); /* again, due now: fires again, not in a loop */
	assert_ptr_equal(wheel_pop_due(&w, 10), first);
	assert_null(wheel_pop_due(&w, 10));
	wheel_add(&w, first, 30);
	assert_null(wheel_pop_due(&w, 29));
	assert_ptr_equal(wheel_pop_due(&w, 30), first);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fires_when_due_not_before),
		cmocka_unit_test(later_turns_wait),
		cmocka_unit_test(moved_and_removed),
		cmocka_unit_test(past_due_and_long_pauses),
		cmocka_unit_test(changes_between_pops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
