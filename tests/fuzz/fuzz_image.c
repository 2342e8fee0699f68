/*
 * The picture checks on arbitrary bytes: image_check must refuse what it
 * cannot vouch for, and whatever it accepts must decode or fail cleanly,
 * then draw, without reading out of bounds or allocating past the limits.
 */
#include <stdint.h>
#include <stdlib.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_info info;
	const char *cause;
	if (image_check(data, size, 1024 * 1024, &info, &cause) < 0) {
		if (cause == NULL)
			abort(); /* every refusal has a reason */
		return 0;
	}
	/* Keep runs fast: the limits themselves are checked above. */
	if ((uint64_t)info.width * (uint64_t)info.height > 1024 * 1024)
		return 0;
	unsigned char *pixels = image_decode(data, size, &info, &cause);
	if (pixels == NULL)
		return cause == NULL ? (abort(), 0) : 0;
	size_t len;
	free(image_ascii(pixels, info.width, info.height, 40, &len));
	image_free_pixels(pixels);
	return 0;
}
