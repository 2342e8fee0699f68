#include "slab.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Under valgrind, objects are shown to memcheck as malloc's would be
 * (leaks, uses after free); without its header, these do nothing. */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#endif
#ifndef VALGRIND_MALLOCLIKE_BLOCK
#define VALGRIND_MALLOCLIKE_BLOCK(addr, size, rz, zeroed) ((void)0)
#define VALGRIND_FREELIKE_BLOCK(addr, rz) ((void)0)
#define VALGRIND_MAKE_MEM_DEFINED(addr, size) ((void)0)
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SLAB_USE_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_USE_MALLOC 1
#endif
#endif

/* A free slot holds the next free one. */
struct slab_free {
	struct slab_free *next;
};

struct slab_block {
	LIST_ENTRY(slab_block) link;
	struct slab_free *free; /* slots freed, reused first */
	unsigned used;          /* objects handed out */
	unsigned fresh;         /* slots never handed out, from the start */
	max_align_t slots[];
};

size_t slab_size_for(size_t size)
{
	/* Its alignment (16), not its size (32 with GCC on x86-64): what
	 * malloc promises, and a 48-byte object is not rounded to 64. */
	size_t align = _Alignof(max_align_t);
	if (size < sizeof(struct slab_free))
		size = sizeof(struct slab_free);
	return (size + align - 1) / align * align;
}

void slab_init(struct slab *s, size_t size)
{
	memset(s, 0, sizeof(*s));
	s->size = slab_size_for(size);
	s->per_block = (unsigned)((SLAB_BLOCK_SIZE - sizeof(struct slab_block)) / s->size);
	LIST_INIT(&s->partial);
	LIST_INIT(&s->full);
}

struct slab *slab_for(struct slab *slabs, unsigned n, size_t size)
{
	if (size > SLAB_MAX_OBJECT)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		if (slabs[i].size == 0)
			slab_init(&slabs[i], size);
		if (slabs[i].size == slab_size_for(size))
			return &slabs[i];
	}
	return NULL;
}

#ifndef SLAB_USE_MALLOC
static struct slab_block *block_of(const void *p)
{
	return (struct slab_block *)((uintptr_t)p & ~(uintptr_t)(SLAB_BLOCK_SIZE - 1));
}

/* SLAB_BLOCK_SIZE bytes aligned on their size: twice that mapped, the
 * ends unmapped. */
static struct slab_block *block_new(void)
{
	size_t len = 2 * (size_t)SLAB_BLOCK_SIZE;
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	uintptr_t start = ((uintptr_t)m + SLAB_BLOCK_SIZE - 1) & ~(uintptr_t)(SLAB_BLOCK_SIZE - 1);
	size_t head = start - (uintptr_t)m;
	if (head > 0)
		munmap(m, head);
	size_t tail = len - head - SLAB_BLOCK_SIZE;
	if (tail > 0)
		munmap((char *)start + SLAB_BLOCK_SIZE, tail);
	return (struct slab_block *)start; /* zeroed, as every new mapping */
}
#endif

void *slab_alloc(struct slab *s)
{
#ifdef SLAB_USE_MALLOC
	void *obj = calloc(1, s->size);
	if (obj != NULL)
		s->objects++;
	return obj;
#else
	struct slab_block *b = LIST_FIRST(&s->partial);
	if (b == NULL) {
		b = block_new();
		if (b == NULL)
			return NULL;
		b->fresh = s->per_block;
		LIST_INSERT_HEAD(&s->partial, b, link);
		s->blocks++;
	}
	void *obj;
	if (b->free != NULL) {
		obj = b->free;
		VALGRIND_MAKE_MEM_DEFINED(obj, sizeof(struct slab_free));
		b->free = b->free->next;
		VALGRIND_MALLOCLIKE_BLOCK(obj, s->size, 0, 0);
		memset(obj, 0, s->size);
	} else {
		/* Never used since the block was mapped: still zero. */
		obj = (char *)b->slots + (size_t)(s->per_block - b->fresh) * s->size;
		b->fresh--;
		VALGRIND_MALLOCLIKE_BLOCK(obj, s->size, 0, 1);
	}
	if (++b->used == s->per_block) {
		LIST_REMOVE(b, link);
		LIST_INSERT_HEAD(&s->full, b, link);
	}
	s->objects++;
	return obj;
#endif
}

void slab_free(struct slab *s, void *p)
{
	if (p == NULL)
		return;
	s->objects--;
#ifdef SLAB_USE_MALLOC
	free(p);
#else
	struct slab_block *b = block_of(p);
	struct slab_free *f = p;
	f->next = b->free;
	VALGRIND_FREELIKE_BLOCK(p, 0);
	if (b->used-- == s->per_block) {
		LIST_REMOVE(b, link);
		LIST_INSERT_HEAD(&s->partial, b, link);
	}
	b->free = f;
	/* An empty block goes back to the system, so memory follows the
	 * load, unless it is the only one with room: a peer coming and going
	 * does not map and unmap a block each time. */
	if (b->used == 0 && (LIST_FIRST(&s->partial) != b || LIST_NEXT(b, link) != NULL)) {
		LIST_REMOVE(b, link);
		munmap(b, SLAB_BLOCK_SIZE);
		s->blocks--;
	}
#endif
}

static void drop_blocks(struct slab_block_list *list)
{
	struct slab_block *b;
	while ((b = LIST_FIRST(list)) != NULL) {
		LIST_REMOVE(b, link);
		munmap(b, SLAB_BLOCK_SIZE);
	}
}

void slab_destroy(struct slab *s)
{
	drop_blocks(&s->partial);
	drop_blocks(&s->full);
	s->blocks = 0;
	s->objects = 0;
}
