#include "lasting.h"

#include <stdlib.h>
#include <string.h>

#include "slab.h"

/* Size classes, 16 bytes apart. */
#define LASTING_CLASSES (LASTING_MAX / 16)

static struct slab classes[LASTING_CLASSES];

static struct slab *class_for(size_t size)
{
	if (size == 0 || size > LASTING_MAX)
		return NULL;
	struct slab *s = &classes[(size - 1) / 16];
	if (s->size == 0)
		slab_init(s, ((size - 1) / 16 + 1) * 16);
	return s;
}

void *lasting_alloc(size_t size)
{
	struct slab *s = class_for(size);
	return s != NULL ? slab_alloc(s) : calloc(1, size);
}

void lasting_free(void *p, size_t size)
{
	if (p == NULL)
		return;
	struct slab *s = class_for(size);
	if (s != NULL)
		slab_free(s, p);
	else
		free(p);
}

char *lasting_strdup(const char *s)
{
	size_t len = strlen(s) + 1;
	char *copy = lasting_alloc(len);
	if (copy == NULL)
		abort(); /* as g_strdup, which it replaces */
	memcpy(copy, s, len);
	return copy;
}

void lasting_strfree(void *s)
{
	if (s != NULL)
		lasting_free(s, strlen(s) + 1);
}
