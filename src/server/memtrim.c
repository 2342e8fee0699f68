#include "memtrim.h"

#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define MEMTRIM_NO_CACHE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEMTRIM_NO_CACHE 1
#endif
#endif

#ifndef MEMTRIM_NO_CACHE
/* glibc's defaults (malloc/malloc.c): 64 sizes 16 bytes apart, chunks of
 * 32 to 1040 bytes (requests of 24 to 1032), 7 of each. A cache tuned
 * otherwise (GLIBC_TUNABLES) is emptied in part, which is still right. */
#define TCACHE_SIZES 64
#define TCACHE_COUNT 7

struct held {
	void *chunks[TCACHE_SIZES * TCACHE_COUNT];
	size_t n;
};

static void *free_all(void *arg)
{
	struct held *h = arg;
	for (size_t i = 0; i < h->n; i++)
		free(h->chunks[i]);
	return NULL;
}

static void empty_cache(void)
{
	struct held h = {.n = 0};
	/* Each request is served from the cache first: 7 of each size empty it. */
	for (size_t size = 24; size <= 24 + 16 * (TCACHE_SIZES - 1); size += 16)
		for (int i = 0; i < TCACHE_COUNT; i++) {
			void *p = malloc(size);
			if (p != NULL)
				h.chunks[h.n++] = p;
		}
	pthread_t t;
	if (pthread_create(&t, NULL, free_all, &h) == 0)
		pthread_join(t, NULL);
	else
		free_all(&h); /* back into the cache: as before */
}
#endif

void memtrim(void)
{
#ifndef MEMTRIM_NO_CACHE
	empty_cache();
#endif
	malloc_trim(0);
}
