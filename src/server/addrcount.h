/*
 * addrcount: how many connections each peer address holds, for the
 * per-address limit. A small chained hash table keyed by the address
 * text; an entry goes when its count falls to zero. addrcount.c owns the
 * table and its entries.
 */
#ifndef CHATROOM_ADDRCOUNT_H
#define CHATROOM_ADDRCOUNT_H

#include <stddef.h>

struct addrcount_entry;

struct addrcount {
	struct addrcount_entry **buckets;
	size_t bucket_count;
};

int addrcount_init(struct addrcount *t);
void addrcount_free(struct addrcount *t);
/* The count after adding one; 0 when out of memory. */
unsigned addrcount_add(struct addrcount *t, const char *ip);
void addrcount_remove(struct addrcount *t, const char *ip);

#endif
