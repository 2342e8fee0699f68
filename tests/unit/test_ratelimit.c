/* Token bucket: burst, refill, refusal, no limit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ratelimit.h"

static void burst_then_refused(void **state)
{
	(void)state;
	struct token_bucket b;
	bucket_init(&b, 2.0, 5.0, 1000);
	for (int i = 0; i < 5; i++)
		assert_true(bucket_take(&b, 1.0, 1000));
	assert_false(bucket_take(&b, 1.0, 1000));
	/* A refusal takes nothing. */
	assert_true(b.tokens >= 0.0 && b.tokens < 1.0);
}

static void refills_at_rate_up_to_burst(void **state)
{
	(void)state;
	struct token_bucket b;
	bucket_init(&b, 2.0, 5.0, 0);
	for (int i = 0; i < 5; i++)
		assert_true(bucket_take(&b, 1.0, 0));
	assert_false(bucket_take(&b, 1.0, 400));  /* 0.8 token back */
	assert_true(bucket_take(&b, 1.0, 500));   /* 1.0 token back */
	assert_false(bucket_take(&b, 1.0, 500));
	/* A long pause refills to the burst, not beyond. */
	for (int i = 0; i < 5; i++)
		assert_true(bucket_take(&b, 1.0, 100000));
	assert_false(bucket_take(&b, 1.0, 100000));
}

static void cost_larger_than_one(void **state)
{
	(void)state;
	struct token_bucket b;
	bucket_init(&b, 100.0, 10.0, 0);
	assert_true(bucket_take(&b, 7.0, 0));
	assert_false(bucket_take(&b, 7.0, 0));
	assert_true(bucket_take(&b, 3.0, 0));
}

static void zero_rate_is_unlimited(void **state)
{
	(void)state;
	struct token_bucket b;
	bucket_init(&b, 0.0, 0.0, 0);
	for (int i = 0; i < 100000; i++)
		assert_true(bucket_take(&b, 1.0, 0));
}

static void clock_going_back_adds_nothing(void **state)
{
	(void)state;
	struct token_bucket b;
	bucket_init(&b, 1.0, 1.0, 5000);
	assert_true(bucket_take(&b, 1.0, 5000));
	assert_false(bucket_take(&b, 1.0, 1000));
}

static void full_once_refilled(void **state)
{
	(void)state;
	struct token_bucket b;
	bucket_init(&b, 2.0, 4.0, 0);
	assert_true(bucket_full(&b, 0));
	assert_true(bucket_take(&b, 3.0, 0));
	assert_false(bucket_full(&b, 1000)); /* 1 + 2 tokens */
	assert_true(bucket_full(&b, 1500));  /* 1 + 3 tokens */
}

/* A level with its rate and burst given at each take behaves as a bucket. */
static void level_as_bucket(void **state)
{
	(void)state;
	struct token_level l;
	struct token_bucket b;
	level_init(&l, 5.0, 0);
	bucket_init(&b, 2.0, 5.0, 0);
	const int64_t at[] = {0, 0, 0, 0, 0, 0, 400, 500, 500, 100000, 100000, 100001};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		bool got = level_take(&l, 2.0, 5.0, 1.0, at[i]);
		assert_int_equal(got, bucket_take(&b, 1.0, at[i]));
		assert_true(l.tokens == b.tokens);
	}
	int more = 0;
	while (level_take(&l, 2.0, 5.0, 1.0, 100001))
		more++;
	assert_int_equal(more, 2); /* 5 - 3 taken, and 0.002 short of one more */
	assert_true(level_take(&l, 0.0, 5.0, 1000.0, 0)); /* rate 0: no limit */
}

/* A level made full without its burst (a peer's budgets, made at its
 * first request) behaves as one made with it, from its first take on,
 * even within the same millisecond; level_full says when it may go. */
static void full_level_as_initialised_one(void **state)
{
	(void)state;
	struct token_level lazy, made;
	level_init_full(&lazy, 1000);
	level_init(&made, 5.0, 1000);
	assert_true(level_full(&lazy, 2.0, 5.0, 1000));
	const int64_t at[] = {1000, 1000, 1000, 1000, 1000, 1000, 1400, 1500, 1500, 9000, 9000};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		assert_int_equal(level_take(&lazy, 2.0, 5.0, 1.0, at[i]),
				 level_take(&made, 2.0, 5.0, 1.0, at[i]));
		assert_true(lazy.tokens == made.tokens);
	}
	/* 3 of 5 left at 9000: full again 1 s later, not before. */
	assert_false(level_full(&lazy, 2.0, 5.0, 9999));
	assert_true(level_full(&lazy, 2.0, 5.0, 10000));
	assert_true(level_full(&lazy, 0.0, 5.0, 9000)); /* rate 0: no limit */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(burst_then_refused),
		cmocka_unit_test(refills_at_rate_up_to_burst),
		cmocka_unit_test(cost_larger_than_one),
		cmocka_unit_test(zero_rate_is_unlimited),
		cmocka_unit_test(clock_going_back_adds_nothing),
		cmocka_unit_test(full_once_refilled),
		cmocka_unit_test(level_as_bucket),
		cmocka_unit_test(full_level_as_initialised_one),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
