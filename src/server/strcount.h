/*
 * strcount: how many times each string is held, in a chained hash table;
 * an entry goes when its count falls to zero. The cluster counts what
 * each conn has under way with them (cluster_who.c, cluster_route.c).
 * strcount.c owns the table and its entries.
 */
#ifndef CHATROOM_STRCOUNT_H
#define CHATROOM_STRCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Each client's share of places under way, counted by its conn and by
 * its address (conn_addr_key), so that neither one conn nor one
 * address's many conns take them all (cluster_who.c's questions,
 * cluster_route.c's private messages). */
struct shares {
	struct strcount by_conn;    /* conn ids, in decimal */
	struct strcount by_address;
	unsigned per_conn, per_address;
};

int shares_init(struct shares *s, unsigned per_conn, unsigned per_address);
void shares_free(struct shares *s);
/* True when the conn, or its address, has its whole share under way. */
bool shares_full(const struct shares *s, uint64_t conn_id, const char *address);
/* One more under way (uncounted when out of memory); one back. */
void shares_take(struct shares *s, uint64_t conn_id, const char *address);
void shares_give_back(struct shares *s, uint64_t conn_id, const char *address);

#endif
