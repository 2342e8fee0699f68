/* The slab (src/server/slab.c) and the lasting allocator on it: objects
 * come zeroed, do not overlap, are reused once freed, and blocks go back
 * to the system once empty (but the last one with room). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lasting.h"
#include "slab.h"

#define MANY 2000

static void objects_are_zeroed_and_apart(void **state)
{
	(void)state;
	struct slab s;
	slab_init(&s, 100);
	assert_int_equal(s.size % _Alignof(max_align_t), 0);
	assert_true(s.size >= 100);
	static unsigned char *got[MANY];
	for (int i = 0; i < MANY; i++) {
		got[i] = slab_alloc(&s);
		assert_non_null(got[i]);
		assert_int_equal((uintptr_t)got[i] % _Alignof(max_align_t), 0);
		for (size_t k = 0; k < 100; k++)
			assert_int_equal(got[i][k], 0);
		memset(got[i], 0xa5, 100);
	}
	assert_int_equal(s.objects, MANY);
	/* Each still holds what was written: none overlaps another. */
	for (int i = 0; i < MANY; i++)
		for (size_t k = 0; k < 100; k++)
			assert_int_equal(got[i][k], 0xa5);
	/* Freed, then taken again: zeroed once more. */
	for (int i = 0; i < MANY; i += 2)
		slab_free(&s, got[i]);
	assert_int_equal(s.objects, MANY / 2);
	for (int i = 0; i < MANY; i += 2) {
		got[i] = slab_alloc(&s);
		for (size_t k = 0; k < 100; k++)
			assert_int_equal(got[i][k], 0);
	}
	for (int i = 0; i < MANY; i++)
		slab_free(&s, got[i]);
	assert_int_equal(s.objects, 0);
	slab_free(&s, NULL);
	slab_destroy(&s);
}

static void empty_blocks_go_back(void **state)
{
	(void)state;
	struct slab s;
	slab_init(&s, 512);
	static void *got[MANY];
	for (int i = 0; i < MANY; i++)
		got[i] = slab_alloc(&s);
#if !defined(__SANITIZE_ADDRESS__)
	size_t full = s.blocks;
	assert_true(full >= MANY / s.per_block);
	for (int i = 0; i < MANY; i++)
		slab_free(&s, got[i]);
	/* All empty: one kept for the next, the rest unmapped. */
	assert_int_equal(s.blocks, 1);
	/* A peer coming and going reuses it. */
	for (int i = 0; i < 10; i++) {
		void *p = slab_alloc(&s);
		assert_non_null(p);
		slab_free(&s, p);
		assert_int_equal(s.blocks, 1);
	}
#else
	for (int i = 0; i < MANY; i++)
		slab_free(&s, got[i]);
#endif
	assert_int_equal(s.objects, 0);
	slab_destroy(&s);
}

static void lasting_sizes_and_strings(void **state)
{
	(void)state;
	for (size_t size = 1; size <= LASTING_MAX + 40; size += 7) {
		unsigned char *p = lasting_alloc(size);
		assert_non_null(p);
		for (size_t k = 0; k < size; k++)
			assert_int_equal(p[k], 0);
		memset(p, 0x5a, size);
		lasting_free(p, size);
	}
	char *a = lasting_strdup("alice");
	char *b = lasting_strdup("");
	char long_key[200];
	memset(long_key, 'x', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	char *c = lasting_strdup(long_key);
	assert_string_equal(a, "alice");
	assert_string_equal(b, "");
	assert_string_equal(c, long_key);
	lasting_strfree(a);
	lasting_strfree(b);
	lasting_strfree(c);
	lasting_strfree(NULL);
	lasting_free(NULL, 10);
}

static void one_slab_per_size(void **state)
{
	(void)state;
	struct slab slabs[2];
	memset(slabs, 0, sizeof(slabs));
	struct slab *a = slab_for(slabs, 2, 100);
	assert_ptr_equal(a, &slabs[0]);
	assert_ptr_equal(slab_for(slabs, 2, 100), a);
	assert_ptr_equal(slab_for(slabs, 2, 101), a); /* the same rounded size */
	struct slab *b = slab_for(slabs, 2, 300);
	assert_ptr_equal(b, &slabs[1]);
	assert_null(slab_for(slabs, 2, 600));          /* all taken: malloc */
	assert_null(slab_for(slabs, 2, SLAB_MAX_OBJECT + 1));
	void *p = slab_alloc(b);
	assert_non_null(p);
	slab_free(b, p);
	slab_destroy(a);
	slab_destroy(b);
}

/* Sizes are rounded to what alignment needs (16 bytes), no more: a
 * 48-byte object is 48, not the 64 that rounding to sizeof(max_align_t)
 * (32 with GCC on x86-64) made of it. */
static void sizes_round_to_the_alignment(void **state)
{
	(void)state;
	assert_int_equal(slab_size_for(1), 16);
	assert_int_equal(slab_size_for(17), 32);
	assert_int_equal(slab_size_for(48), 48);
	assert_int_equal(slab_size_for(720), 720);
	assert_int_equal(slab_size_for(721), 736);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(objects_are_zeroed_and_apart),
		cmocka_unit_test(sizes_round_to_the_alignment),
		cmocka_unit_test(empty_blocks_go_back),
		cmocka_unit_test(lasting_sizes_and_strings),
		cmocka_unit_test(one_slab_per_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
