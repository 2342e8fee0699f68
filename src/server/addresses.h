/*
 * addresses: what each peer address holds, on one entry: its connections
 * (server.c bounds them, --max-per-address) and its resume sessions,
 * online and away (users.c bounds them). A binary peer then costs one
 * entry, as a text one does, not one in each module's table (docs:
 * scripts/bench_notes.md, "Idle memory").
 *
 * The table and its entries are addresses.c's; each count is its
 * module's, which releases the entry when its count falls: the entry
 * goes once both are 0. Entries do not move while they live.
 */
#ifndef CHATROOM_ADDRESSES_H
#define CHATROOM_ADDRESSES_H

#include <stddef.h>

struct address {
	struct address *next; /* in its bucket */
	unsigned conns;       /* server.c's: connections open from it */
	unsigned sessions;    /* users.c's: sessions online and away */
	char key[];           /* an address key (conn.h's addr_key) */
};

struct addresses {
	struct address **buckets;
	size_t count;         /* entries */
};

int addresses_init(struct addresses *t);
void addresses_free(struct addresses *t);
/* key's entry, or NULL. */
struct address *addresses_find(const struct addresses *t, const char *key);
/* key's entry, made with both counts 0 when there is none; NULL when out
 * of memory. Release it (addresses_release) if nothing is counted. */
struct address *addresses_get(struct addresses *t, const char *key);
/* Frees a if both its counts are 0; a is gone then. */
void addresses_release(struct addresses *t, struct address *a);

/* One more connection from key: the count after it, 0 when out of
 * memory (uncounted then). */
unsigned addresses_conn_add(struct addresses *t, const char *key);
/* One connection fewer from key (counted by addresses_conn_add). */
void addresses_conn_remove(struct addresses *t, const char *key);

#endif
