#include "addresses.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lasting.h"

/* Fixed, as strcount.h's: a chain costs a pointer an entry, where a
 * growing table's slots cost more (12 to 24 bytes an entry in GLib's). */
#define ADDRESSES_BUCKETS 4096

static size_t bucket_of(const char *s)
{
	size_t h = 5381; /* djb2: short keys; a chain only ever costs its length */
	while (*s != '\0')
		h = h * 33 + (unsigned char)*s++;
	return h & (ADDRESSES_BUCKETS - 1);
}

/* Entries live as long as their peers: lasting.h. An IPv4 peer's is 32
 * bytes with its key. */
static void entry_free(struct address *a)
{
	lasting_free(a, sizeof(*a) + strlen(a->key) + 1);
}

int addresses_init(struct addresses *t)
{
	t->count = 0;
	t->buckets = calloc(ADDRESSES_BUCKETS, sizeof(*t->buckets));
	return t->buckets != NULL ? 0 : -ENOMEM;
}

void addresses_free(struct addresses *t)
{
	for (size_t i = 0; t->buckets != NULL && i < ADDRESSES_BUCKETS; i++) {
		struct address *a = t->buckets[i];
		while (a != NULL) {
			struct address *next = a->next;
			entry_free(a);
			a = next;
		}
	}
	free(t->buckets);
	t->buckets = NULL;
	t->count = 0;
}

struct address *addresses_find(const struct addresses *t, const char *key)
{
	for (struct address *a = t->buckets[bucket_of(key)]; a != NULL; a = a->next)
		if (strcmp(a->key, key) == 0)
			return a;
	return NULL;
}

struct address *addresses_get(struct addresses *t, const char *key)
{
	struct address *a = addresses_find(t, key);
	if (a != NULL)
		return a;
	size_t len = strlen(key);
	a = lasting_alloc(sizeof(*a) + len + 1);
	if (a == NULL)
		return NULL;
	memcpy(a->key, key, len + 1);
	struct address **head = &t->buckets[bucket_of(key)];
	a->next = *head;
	*head = a;
	t->count++;
	return a;
}

void addresses_release(struct addresses *t, struct address *a)
{
	if (a->conns > 0 || a->sessions > 0)
		return;
	for (struct address **link = &t->buckets[bucket_of(a->key)]; *link != NULL;
	     link = &(*link)->next) {
		if (*link == a) {
			*link = a->next;
			entry_free(a);
			t->count--;
			return;
		}
	}
}

unsigned addresses_conn_add(struct addresses *t, const char *key)
{
	struct address *a = addresses_get(t, key);
	return a != NULL ? ++a->conns : 0;
}

void addresses_conn_remove(struct addresses *t, const char *key)
{
	struct address *a = addresses_find(t, key);
	if (a == NULL || a->conns == 0)
		return;
	a->conns--;
	addresses_release(t, a);
}
