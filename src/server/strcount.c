#include "strcount.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lasting.h"

/* A power of two well above the keys one server holds at once. */
#define STRCOUNT_BUCKETS 4096

struct strcount_entry {
	struct strcount_entry *next;
	unsigned count;
	char key[];
};

static size_t hash(const char *s)
{
	size_t h = 5381; /* djb2: short keys; a chain only ever costs its length */
	while (*s != '\0')
		h = h * 33 + (unsigned char)*s++;
	return h & (STRCOUNT_BUCKETS - 1);
}

/* Entries live as long as a connection or a pseudo: lasting.h. */
static void entry_free(struct strcount_entry *e)
{
	lasting_free(e, sizeof(*e) + strlen(e->key) + 1);
}

int strcount_init(struct strcount *t)
{
	t->bucket_count = STRCOUNT_BUCKETS;
	t->buckets = calloc(STRCOUNT_BUCKETS, sizeof(*t->buckets));
	return t->buckets ? 0 : -ENOMEM;
}

void strcount_free(struct strcount *t)
{
	for (size_t i = 0; t->buckets != NULL && i < t->bucket_count; i++) {
		struct strcount_entry *e = t->buckets[i];
		while (e != NULL) {
			struct strcount_entry *next = e->next;
			entry_free(e);
			e = next;
		}
	}
	free(t->buckets);
	t->buckets = NULL;
}

static struct strcount_entry *find(const struct strcount *t, const char *key)
{
	for (struct strcount_entry *e = t->buckets[hash(key)]; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

unsigned strcount_add(struct strcount *t, const char *key)
{
	struct strcount_entry *e = find(t, key);
	if (e != NULL)
		return ++e->count;
	size_t len = strlen(key);
	e = lasting_alloc(sizeof(*e) + len + 1);
	if (e == NULL)
		return 0;
	memcpy(e->key, key, len + 1);
	e->count = 1;
	struct strcount_entry **head = &t->buckets[hash(key)];
	e->next = *head;
	*head = e;
	return 1;
}

void strcount_remove(struct strcount *t, const char *key)
{
	for (struct strcount_entry **link = &t->buckets[hash(key)]; *link != NULL;
	     link = &(*link)->next) {
		struct strcount_entry *e = *link;
		if (strcmp(e->key, key) != 0)
			continue;
		if (--e->count == 0) {
			*link = e->next;
			entry_free(e);
		}
		return;
	}
}

unsigned strcount_get(const struct strcount *t, const char *key)
{
	const struct strcount_entry *e = find(t, key);
	return e != NULL ? e->count : 0;
}

int shares_init(struct shares *s, unsigned per_conn, unsigned per_address)
{
	s->per_conn = per_conn;
	s->per_address = per_address;
	if (strcount_init(&s->by_conn) < 0)
		return -ENOMEM;
	if (strcount_init(&s->by_address) < 0) {
		strcount_free(&s->by_conn);
		return -ENOMEM;
	}
	return 0;
}

void shares_free(struct shares *s)
{
	strcount_free(&s->by_conn);
	strcount_free(&s->by_address);
}

static void conn_key(char *key, size_t cap, uint64_t conn_id)
{
	snprintf(key, cap, "%" PRIu64, conn_id);
}

bool shares_full(const struct shares *s, uint64_t conn_id, const char *address)
{
	char ck[24];
	conn_key(ck, sizeof(ck), conn_id);
	return strcount_get(&s->by_conn, ck) >= s->per_conn ||
	       strcount_get(&s->by_address, address) >= s->per_address;
}

void shares_take(struct shares *s, uint64_t conn_id, const char *address)
{
	char ck[24];
	conn_key(ck, sizeof(ck), conn_id);
	(void)strcount_add(&s->by_conn, ck);
	(void)strcount_add(&s->by_address, address);
}

void shares_give_back(struct shares *s, uint64_t conn_id, const char *address)
{
	char ck[24];
	conn_key(ck, sizeof(ck), conn_id);
	strcount_remove(&s->by_conn, ck);
	strcount_remove(&s->by_address, address);
}
