/*
 * strcount: how many times each string is held, in a chained hash table;
 * an entry goes when its count falls to zero. The cluster counts what
 * each conn has under way with them (cluster_who.c, cluster_route.c).
 * strcount.c owns the table and its entries.
 */
#ifndef CHATROOM_STRCOUNT_H
#define CHATROOM_STRCOUNT_H

#include <stddef.h>

struct strcount_entry;

struct strcount {
	struct strcount_entry **buckets;
	size_t bucket_count;
};

int strcount_init(struct strcount *t);
void strcount_free(struct strcount *t);
/* The count after adding one; 0 when out of memory. */
unsigned strcount_add(struct strcount *t, const char *key);
void strcount_remove(struct strcount *t, const char *key);
/* How many times key is held (0: not at all). */
unsigned strcount_get(const struct strcount *t, const char *key);

#endif
