/* Reference-counted frames. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "frame.h"

static void copy_and_printf(void **state)
{
	(void)state;
	struct frame *f = frame_copy("abc", 3);
	assert_non_null(f);
	assert_int_equal(f->len, 3);
	assert_memory_equal(f->data, "abc", 3);
	assert_int_equal(f->refs, 1);
	frame_unref(f);

	f = frame_printf("%s a dit : %d\n", "zoé", 42);
	assert_int_equal(f->len, strlen("zoé a dit : 42\n"));
	assert_memory_equal(f->data, "zoé a dit : 42\n", f->len);
	frame_unref(f);
}

static void references(void **state)
{
	(void)state;
	struct frame *f = frame_copy("x", 1);
	assert_ptr_equal(frame_ref(f), f);
	assert_int_equal(f->refs, 2);
	frame_unref(f);
	assert_int_equal(f->refs, 1);
	frame_unref(f); /* freed here: ASan would see a double free or a leak */
	frame_unref(NULL);
}

static void limits(void **state)
{
	(void)state;
	assert_null(frame_new(FRAME_MAX_LEN + 1));
	struct frame *f = frame_new(0);
	assert_non_null(f);
	assert_int_equal(f->len, 0);
	frame_unref(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(copy_and_printf),
		cmocka_unit_test(references),
		cmocka_unit_test(limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
