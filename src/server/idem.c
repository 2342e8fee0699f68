/*
 * idem: recently published numbered messages (see idem.h). A hash table
 * for the look-up and a queue in the order they came, which is also the
 * order they expire in (all are kept equally long).
 */
#include "idem.h"

#include <errno.h>
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

struct idem_entry {
	STAILQ_ENTRY(idem_entry) link;
	int64_t at;
	uint64_t event_id;
	char key[]; /* "<sender>:<message id>" */
};

struct idem {
	GHashTable *by_key; /* key (the entry's) -> entry */
	STAILQ_HEAD(, idem_entry) order;
	size_t count, max;
	int64_t keep_ms;
};

struct idem *idem_new(size_t max, int64_t keep_ms)
{
	struct idem *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->by_key = g_hash_table_new(g_str_hash, g_str_equal);
	STAILQ_INIT(&d->order);
	d->max = max > 0 ? max : 1;
	d->keep_ms = keep_ms;
	return d;
}

static void drop_oldest(struct idem *d)
{
	struct idem_entry *e = STAILQ_FIRST(&d->order);
	STAILQ_REMOVE_HEAD(&d->order, link);
	g_hash_table_remove(d->by_key, e->key);
	d->count--;
	free(e);
}

void idem_free(struct idem *d)
{
	if (d == NULL)
		return;
	while (!STAILQ_EMPTY(&d->order))
		drop_oldest(d);
	g_hash_table_destroy(d->by_key);
	free(d);
}

static void expire(struct idem *d, int64_t now)
{
	struct idem_entry *e;
	while ((e = STAILQ_FIRST(&d->order)) != NULL && now - e->at >= d->keep_ms)
		drop_oldest(d);
}

static void make_key(char *out, size_t cap, const char *sender, uint64_t msg_id)
{
	snprintf(out, cap, "%s:%" PRIu64, sender, msg_id);
}

bool idem_find(struct idem *d, const char *sender, uint64_t msg_id, int64_t now,
	       uint64_t *event_id)
{
	char key[256];
	expire(d, now);
	make_key(key, sizeof(key), sender, msg_id);
	const struct idem_entry *e = g_hash_table_lookup(d->by_key, key);
	if (e == NULL)
		return false;
	*event_id = e->event_id;
	return true;
}

int idem_add(struct idem *d, const char *sender, uint64_t msg_id, uint64_t event_id,
	     int64_t now)
{
	char key[256];
	expire(d, now);
	make_key(key, sizeof(key), sender, msg_id);
	if (g_hash_table_contains(d->by_key, key))
		return 0;
	size_t len = strlen(key);
	struct idem_entry *e = malloc(sizeof(*e) + len + 1);
	if (e == NULL)
		return -ENOMEM;
	e->at = now;
	e->event_id = event_id;
	memcpy(e->key, key, len + 1);
	while (d->count >= d->max)
		drop_oldest(d);
	g_hash_table_insert(d->by_key, e->key, e);
	STAILQ_INSERT_TAIL(&d->order, e, link);
	d->count++;
	return 0;
}

size_t idem_count(const struct idem *d)
{
	return d->count;
}
