/*
 * The picture path on arbitrary bytes, as the server and the client run it
 * and with their limits: image_strip, image_check (IMAGE_DEFAULT_MAX_BYTES),
 * image_decode into the box every program uses, within a budget, then the
 * drawing. Whatever the check accepts must decode or fail with a reason,
 * within bounded memory and time (libFuzzer's -rss_limit_mb and -timeout
 * would report a bomb that got through); stripping never grows a file and
 * never turns an accepted picture into a refused one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

/* The client's budget (chatpicture.h), the stricter of the two. */
#define FUZZ_DECODE_MS 2000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_info info;
	const char *cause = NULL;
	bool accepted = image_check(data, size, IMAGE_DEFAULT_MAX_BYTES, &info, &cause) == 0;
	if (!accepted && cause == NULL)
		abort(); /* every refusal has a reason */

	unsigned char *copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	size_t len = image_strip(copy, size);
	if (len > size || image_strip(copy, len) != len)
		abort(); /* stripping only removes, and once is enough */
	cause = NULL;
	if (image_check(copy, len, IMAGE_DEFAULT_MAX_BYTES, &info, &cause) < 0) {
		if (accepted || cause == NULL)
			abort();
		free(copy);
		return 0;
	}
	struct image_budget budget = {
		.deadline_ns = image_clock_ns() + FUZZ_DECODE_MS * 1000000ull,
	};
	int width, height;
	unsigned char *pixels = image_decode(copy, len, &info, IMAGE_KEEP_WIDTH, IMAGE_KEEP_HEIGHT,
					     &budget, &width, &height, &cause);
	if (pixels == NULL) {
		free(copy);
		if (cause == NULL)
			abort();
		return 0;
	}
	if (width < 1 || height < 1 || width > IMAGE_KEEP_WIDTH || height > IMAGE_KEEP_HEIGHT)
		abort();
	size_t ascii_len;
	free(image_ascii(pixels, width, height, 40, &ascii_len));
	image_free_pixels(pixels);
	free(copy);
	return 0;
}
