#include "frame.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct frame *frame_new(size_t len)
{
	if (len > FRAME_MAX_LEN)
		return NULL;
	struct frame *f = malloc(sizeof(*f) + len);
	if (f == NULL)
		return NULL;
	f->refs = 1;
	f->len = (uint32_t)len;
	return f;
}

struct frame *frame_copy(const void *data, size_t len)
{
	struct frame *f = frame_new(len);
	if (f != NULL && len > 0)
		memcpy(f->data, data, len);
	return f;
}

struct frame *frame_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int need = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (need < 0)
		return NULL;

	/* One spare byte for vsnprintf's terminator; it is not part of len. */
	struct frame *f = frame_new((size_t)need + 1);
	if (f == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(f->data, (size_t)need + 1, fmt, ap);
	va_end(ap);
	f->len = (uint32_t)need;
	return f;
}

struct frame *frame_ref(struct frame *f)
{
	f->refs++;
	return f;
}

void frame_unref(struct frame *f)
{
	if (f != NULL && --f->refs == 0)
		free(f);
}
