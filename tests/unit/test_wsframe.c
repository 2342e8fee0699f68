/* A WebSocket text frame's header (src/server/wsframe.c), at each edge of
 * RFC 6455's three length forms, byte for byte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "wsframe.h"

static void check(size_t len, const unsigned char *want, size_t want_len)
{
	unsigned char h[WS_FRAME_HEADER_MAX + 1];
	h[WS_FRAME_HEADER_MAX] = 0xee; /* nothing written past the header */
	assert_int_equal(ws_frame_text_header(h, len), want_len);
	assert_memory_equal(h, want, want_len);
	assert_int_equal(h[WS_FRAME_HEADER_MAX], 0xee);
}

static void short_lengths_fit_in_seven_bits(void **state)
{
	(void)state;
	check(0, (const unsigned char[]){0x81, 0}, 2);
	check(125, (const unsigned char[]){0x81, 125}, 2);
}

static void up_to_64_kib_take_sixteen_bits(void **state)
{
	(void)state;
	check(126, (const unsigned char[]){0x81, 126, 0, 126}, 4);
	check(0xffff, (const unsigned char[]){0x81, 126, 0xff, 0xff}, 4);
}

static void beyond_take_sixty_four_bits_big_endian(void **state)
{
	(void)state;
	check(0x10000, (const unsigned char[]){0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}, 10);
	check((size_t)5 << 20, (const unsigned char[]){0x81, 127, 0, 0, 0, 0, 0, 0x50, 0, 0}, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(short_lengths_fit_in_seven_bits),
		cmocka_unit_test(up_to_64_kib_take_sixteen_bits),
		cmocka_unit_test(beyond_take_sixty_four_bits_big_endian),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
