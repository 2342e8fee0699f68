/*
 * slab: fixed-size objects carved from large blocks of their own.
 *
 * Why: a server holding thousands of idle peers keeps one struct conn each
 * for hours, while a join storm allocates and frees millions of short-lived
 * notices around them. Taken from malloc, the conns end up scattered among
 * the notices' freed space, and every page one of them sits on stays
 * resident (about 600 bytes a peer at 2 000 in one room). From blocks of
 * their own they stay packed, and a block is given back to the system as
 * soon as its last object is freed. No per-object header either.
 *
 * Built with AddressSanitizer, objects come from calloc instead, so that a
 * use after free of one is still reported.
 */
#ifndef CHATROOM_SLAB_H
#define CHATROOM_SLAB_H

#include <stddef.h>
#include <sys/queue.h>

struct slab_block;
LIST_HEAD(slab_block_list, slab_block);

struct slab {
	size_t size;      /* of an object, rounded up to _Alignof(max_align_t) */
	unsigned per_block;
	/* Blocks with a free slot, and full ones. */
	struct slab_block_list partial;
	struct slab_block_list full;
	size_t objects;   /* handed out and not yet freed */
	size_t blocks;
};

/* The size a slab of objects of `size` bytes keeps (what slab.size says). */
size_t slab_size_for(size_t size);
/* Objects of `size` bytes (at most SLAB_MAX_OBJECT). */
void slab_init(struct slab *s, size_t size);
/* Of the n slabs in `slabs` (zeroed: unused), the one for objects of
 * `size` bytes, set up on first use; NULL when all n keep other sizes or
 * size is over SLAB_MAX_OBJECT (the caller then uses malloc). */
struct slab *slab_for(struct slab *slabs, unsigned n, size_t size);
/* A zeroed object, or NULL when out of memory. */
void *slab_alloc(struct slab *s);
/* p from slab_alloc of the same slab (NULL: nothing). */
void slab_free(struct slab *s, void *p);
/* Every block; objects still out are gone with them. */
void slab_destroy(struct slab *s);

/* Blocks are this large and aligned on it (the block of an object is
 * found by masking its address). */
#define SLAB_BLOCK_SIZE (64u * 1024)
#define SLAB_MAX_OBJECT (SLAB_BLOCK_SIZE / 8)

#endif
