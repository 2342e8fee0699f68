#include "addrcount.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A power of two well above the addresses one server meets at once. */
#define ADDRCOUNT_BUCKETS 4096

struct addrcount_entry {
	struct addrcount_entry *next;
	unsigned count;
	char ip[46];
};

static size_t hash(const char *s)
{
	size_t h = 5381; /* djb2: short keys, no adversary can pick them freely */
	while (*s != '\0')
		h = h * 33 + (unsigned char)*s++;
	return h & (ADDRCOUNT_BUCKETS - 1);
}

int addrcount_init(struct addrcount *t)
{
	t->bucket_count = ADDRCOUNT_BUCKETS;
	t->buckets = calloc(ADDRCOUNT_BUCKETS, sizeof(*t->buckets));
	return t->buckets ? 0 : -ENOMEM;
}

void addrcount_free(struct addrcount *t)
{
	for (size_t i = 0; t->buckets != NULL && i < t->bucket_count; i++) {
		struct addrcount_entry *e = t->buckets[i];
		while (e != NULL) {
			struct addrcount_entry *next = e->next;
			free(e);
			e = next;
		}
	}
	free(t->buckets);
	t->buckets = NULL;
}

unsigned addrcount_add(struct addrcount *t, const char *ip)
{
	struct addrcount_entry **head = &t->buckets[hash(ip)];
	for (struct addrcount_entry *e = *head; e != NULL; e = e->next)
		if (strcmp(e->ip, ip) == 0)
			return ++e->count;
	struct addrcount_entry *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return 0;
	snprintf(e->ip, sizeof(e->ip), "%s", ip);
	e->count = 1;
	e->next = *head;
	*head = e;
	return 1;
}

void addrcount_remove(struct addrcount *t, const char *ip)
{
	for (struct addrcount_entry **link = &t->buckets[hash(ip)]; *link != NULL;
	     link = &(*link)->next) {
		struct addrcount_entry *e = *link;
		if (strcmp(e->ip, ip) != 0)
			continue;
		if (--e->count == 0) {
			*link = e->next;
			free(e);
		}
		return;
	}
}
