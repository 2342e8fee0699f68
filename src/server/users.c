#include "users.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lasting.h"

/* What waits of an address's, oldest first, so that its own oldest
 * entries make room first: only while something waits (its online
 * sessions are counted on its struct address, addresses.h). */
struct address_queues {
	GQueue away;         /* its away sessions */
	GQueue departed;     /* its departures */
	unsigned departures; /* the length of `departed` */
	char key[];          /* at most USERS_ADDRESS_MAX bytes with its NUL */
};

static size_t queues_size(size_t key_len)
{
	return sizeof(struct address_queues) + key_len + 1;
}

/* An online session: its digest only (32 bytes a binary peer). Its conn
 * holds it and names its address when it goes, whose entry counts it;
 * only a cluster's server tables it (users_track_online): a standalone
 * one never looks an online session up. */
struct session_entry {
	unsigned char digest[USERS_DIGEST_LEN];
};

/* An away session: what it brings back, and where it waits. Its digest
 * (s.digest, at its start) is its key in the sessions table. */
struct away {
	struct session s;
	struct address *address;       /* counts it (addresses.h) */
	struct address_queues *queues; /* its address's */
	GList away_link;    /* in users.away */
	GList address_link; /* in its address's away queue */
};

_Static_assert(offsetof(struct away, s) == 0 && offsetof(struct session, digest) == 0,
	       "an away session is keyed by its first bytes");

/* Digests are uniformly random: their first bytes are a fine hash. */
static guint digest_hash(gconstpointer key)
{
	guint h;
	memcpy(&h, key, sizeof(h));
	return h;
}

static gboolean digest_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, USERS_DIGEST_LEN) == 0;
}

static void digest_of(const unsigned char *token, size_t len, unsigned char out[USERS_DIGEST_LEN])
{
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(sum, token, (gssize)len);
	gsize n = USERS_DIGEST_LEN;
	g_checksum_get_digest(sum, out, &n);
	g_checksum_free(sum);
}

/* Sessions live as long as their peers: lasting.h. */
static void online_free(void *p)
{
	lasting_free(p, sizeof(struct session_entry));
}

static void away_free(void *p)
{
	lasting_free(p, sizeof(struct away));
}

/* The waiting table holds each entry's key as both key and value: GLib
 * then keeps one array for both, 8 bytes less a slot. */
static struct address_queues *queues_of_key(char *key)
{
	return (struct address_queues *)(void *)(key - offsetof(struct address_queues, key));
}

static void queues_free(void *key)
{
	struct address_queues *q = queues_of_key(key);
	lasting_free(q, queues_size(strlen(q->key)));
}

int users_init(struct users *u, int64_t grace_ms, unsigned per_address,
	       struct addresses *addresses)
{
	memset(u, 0, sizeof(*u));
	u->addresses = addresses;
	u->grace_ms = grace_ms;
	u->per_address = per_address > 0 ? per_address : 1;
	u->max_sessions = USERS_MAX_SESSIONS;
	u->max_departed = USERS_MAX_DEPARTED;
	/* Keys live in their values; the owning tables free the values. */
	u->sessions = g_hash_table_new_full(digest_hash, digest_equal, NULL, away_free);
	u->held = g_hash_table_new(g_str_hash, g_str_equal);
	u->departures = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free);
	u->waiting = g_hash_table_new_full(g_str_hash, g_str_equal, queues_free, NULL);
	g_queue_init(&u->away);
	g_queue_init(&u->departed);
	return 0;
}

void users_track_online(struct users *u)
{
	if (u->online == NULL)
		u->online = g_hash_table_new_full(digest_hash, digest_equal, NULL, online_free);
}

void users_free(struct users *u)
{
	/* The queues link entries the tables own: dropped with them. */
	g_queue_init(&u->away);
	g_queue_init(&u->departed);
	if (u->held != NULL)
		g_hash_table_destroy(u->held);
	if (u->sessions != NULL)
		g_hash_table_destroy(u->sessions);
	if (u->online != NULL)
		g_hash_table_destroy(u->online);
	u->online = NULL;
	u->online_count = 0;
	if (u->departures != NULL)
		g_hash_table_destroy(u->departures);
	if (u->waiting != NULL)
		g_hash_table_destroy(u->waiting);
	u->held = u->sessions = u->departures = u->waiting = NULL;
}

/* ---- what waits of an address ------------------------------------------ */

static struct address_queues *queues_find(const struct users *u, const char *key)
{
	char *found = g_hash_table_lookup(u->waiting, key);
	return found != NULL ? queues_of_key(found) : NULL;
}

/* key's queues, made (empty) when nothing of its waits yet; NULL when out
 * of memory. */
static struct address_queues *queues_get(struct users *u, const char *key)
{
	struct address_queues *q = queues_find(u, key);
	if (q != NULL)
		return q;
	size_t len = strnlen(key, USERS_ADDRESS_MAX - 1);
	q = lasting_alloc(queues_size(len));
	if (q == NULL)
		return NULL;
	memcpy(q->key, key, len); /* zeroed: its NUL is there */
	g_hash_table_add(u->waiting, q->key);
	return q;
}

/* Frees q once nothing of its address waits. */
static void queues_release(struct users *u, struct address_queues *q)
{
	if (g_queue_is_empty(&q->away) && g_queue_is_empty(&q->departed))
		g_hash_table_remove(u->waiting, q->key);
}

static void unhold(struct users *u, struct away *w)
{
	if (g_hash_table_lookup(u->held, w->s.skeleton) == w)
		g_hash_table_remove(u->held, w->s.skeleton);
}

/* ---- sessions ----------------------------------------------------------- */

static void uncount(struct users *u, struct address *a)
{
	a->sessions--;
	addresses_release(u->addresses, a);
}

/* A new online session under token (its address counts it apart); NULL
 * when out of memory. */
static struct session_entry *online_new(struct users *u, const unsigned char token[USERS_TOKEN_LEN])
{
	struct session_entry *e = lasting_alloc(sizeof(*e));
	if (e == NULL)
		return NULL;
	digest_of(token, USERS_TOKEN_LEN, e->digest);
	if (u->online != NULL)
		g_hash_table_add(u->online, e);
	u->online_count++;
	return e;
}

static void online_drop(struct users *u, struct session_entry *e)
{
	if (u->online != NULL)
		g_hash_table_steal(u->online, e);
	lasting_free(e, sizeof(*e));
	u->online_count--;
}

/* Takes an away session off the away queues, frees its pseudo, and
 * forgets it. */
static void away_drop(struct users *u, struct away *w)
{
	g_queue_unlink(&u->away, &w->away_link);
	g_queue_unlink(&w->queues->away, &w->address_link);
	unhold(u, w);
	struct address_queues *q = w->queues;
	struct address *a = w->address;
	g_hash_table_remove(u->sessions, w); /* frees w */
	queues_release(u, q);
	uncount(u, a);
}

static struct away *oldest_away(const GQueue *q)
{
	return q != NULL && q->head != NULL ? q->head->data : NULL;
}

static void evict(struct users *u, struct away *w)
{
	if (u->evicted != NULL)
		u->evicted(u->evicted_data, w->s.digest);
	away_drop(u, w);
}

int users_session_open(struct users *u, const unsigned char token[USERS_TOKEN_LEN],
		       const char *address, struct session_entry **out)
{
	struct address *a = addresses_find(u->addresses, address);
	if (a != NULL && a->sessions >= u->per_address) {
		struct address_queues *q = queues_find(u, address);
		struct away *old = oldest_away(q != NULL ? &q->away : NULL);
		if (old == NULL)
			return -ENOSPC;
		evict(u, old);
	}
	if (u->online_count + g_hash_table_size(u->sessions) >= u->max_sessions) {
		struct away *old = oldest_away(&u->away);
		if (old == NULL)
			return -ENOSPC;
		evict(u, old);
	}
	a = addresses_get(u->addresses, address);
	struct session_entry *e = a != NULL ? online_new(u, token) : NULL;
	if (e == NULL) {
		if (a != NULL)
			addresses_release(u->addresses, a); /* made for it, perhaps */
		return -ENOMEM;
	}
	a->sessions++;
	*out = e;
	return 0;
}

void users_session_away(struct users *u, struct session_entry *e, const char *address,
			const struct session *as, int64_t now_ms)
{
	struct address *a = addresses_find(u->addresses, address);
	struct address_queues *q = u->grace_ms > 0 && a != NULL ? queues_get(u, address) : NULL;
	struct away *w = q != NULL ? lasting_alloc(sizeof(*w)) : NULL;
	if (w == NULL) {
		if (q != NULL)
			queues_release(u, q); /* made for it, perhaps */
		users_session_close(u, e, address); /* out of memory: only a resume is lost */
		return;
	}
	w->s = *as;
	memcpy(w->s.digest, e->digest, sizeof(w->s.digest));
	w->s.away_since_ms = now_ms;
	w->address = a;
	w->queues = q;
	w->away_link.data = w;
	w->address_link.data = w;
	online_drop(u, e);
	g_hash_table_add(u->sessions, w);
	g_queue_push_tail_link(&u->away, &w->away_link);
	g_queue_push_tail_link(&q->away, &w->address_link);
	g_hash_table_insert(u->held, w->s.skeleton, w);
}

void users_digest(const unsigned char *token, size_t len, unsigned char out[USERS_DIGEST_LEN])
{
	digest_of(token, len, out);
}

void users_session_close(struct users *u, struct session_entry *e, const char *address)
{
	struct address *a = addresses_find(u->addresses, address);
	online_drop(u, e);
	if (a != NULL)
		uncount(u, a);
}

const unsigned char *users_session_digest(const struct session_entry *e)
{
	return e->digest;
}

struct session_entry *users_session_of(struct users *u, const unsigned char token[USERS_TOKEN_LEN])
{
	if (u->online == NULL)
		return NULL;
	unsigned char digest[USERS_DIGEST_LEN];
	digest_of(token, USERS_TOKEN_LEN, digest);
	return g_hash_table_lookup(u->online, digest);
}

struct session *users_token_find(struct users *u, const unsigned char *token, size_t len,
				 int64_t now_ms)
{
	if (len != USERS_TOKEN_LEN)
		return NULL;
	unsigned char digest[USERS_DIGEST_LEN];
	digest_of(token, len, digest);
	struct away *w = g_hash_table_lookup(u->sessions, digest);
	if (w == NULL || now_ms - w->s.away_since_ms > u->grace_ms)
		return NULL;
	return &w->s;
}

struct session_entry *users_token_resume(struct users *u, struct session *s,
					 const unsigned char new_token[USERS_TOKEN_LEN],
					 struct session *was)
{
	struct away *w = (struct away *)(void *)s; /* users_token_find's */
	*was = *s;
	struct session_entry *e = online_new(u, new_token);
	if (e != NULL)
		w->address->sessions++; /* before the away one goes: its entry stays */
	away_drop(u, w); /* s is no more */
	return e;
}

/* ---- departures --------------------------------------------------------- */

static void drop_departure(struct users *u, struct departed *d)
{
	struct address_queues *q = queues_find(u, d->address);
	g_queue_unlink(&u->departed, &d->link);
	if (q != NULL) {
		g_queue_unlink(&q->departed, &d->address_link);
		q->departures--;
		queues_release(u, q);
	}
	g_hash_table_remove(u->departures, d->skeleton); /* frees d */
}

void users_forget_departure(struct users *u, const char *skeleton)
{
	struct departed *d = g_hash_table_lookup(u->departures, skeleton);
	if (d != NULL)
		drop_departure(u, d);
}

void users_departed(struct users *u, const char *pseudo, const char *skeleton,
		    const char *address, const char *room, int colour, int64_t now_ms)
{
	if (u->grace_ms <= 0)
		return;
	users_forget_departure(u, skeleton);
	struct address_queues *q = queues_find(u, address);
	if (q != NULL && q->departures >= u->per_address)
		drop_departure(u, q->departed.head->data);
	if (g_queue_get_length(&u->departed) >= u->max_departed)
		drop_departure(u, u->departed.head->data);
	struct departed *d = calloc(1, sizeof(*d));
	if (d == NULL || (q = queues_get(u, address)) == NULL) {
		free(d);
		return; /* only a "welcome back" is lost */
	}
	snprintf(d->pseudo, sizeof(d->pseudo), "%s", pseudo);
	snprintf(d->skeleton, sizeof(d->skeleton), "%s", skeleton);
	snprintf(d->address, sizeof(d->address), "%s", address);
	snprintf(d->room, sizeof(d->room), "%s", room);
	d->colour = colour;
	d->left_ms = now_ms;
	d->link.data = d;
	d->address_link.data = d;
	g_hash_table_insert(u->departures, d->skeleton, d);
	g_queue_push_tail_link(&u->departed, &d->link);
	g_queue_push_tail_link(&q->departed, &d->address_link);
	q->departures++;
}

bool users_take_return(struct users *u, const char *skeleton, const char *address,
		       int64_t now_ms, struct departed *out)
{
	struct departed *d = g_hash_table_lookup(u->departures, skeleton);
	if (d == NULL || strcmp(d->address, address) != 0 || now_ms - d->left_ms > u->grace_ms)
		return false;
	*out = *d;
	out->link = (GList){0};
	out->address_link = (GList){0};
	drop_departure(u, d);
	return true;
}

/* ---- both --------------------------------------------------------------- */

enum users_hold users_held(const struct users *u, const char *skeleton, const char *address)
{
	if (g_hash_table_contains(u->held, skeleton))
		return USERS_HELD_FOR_SESSION;
	const struct departed *d = g_hash_table_lookup(u->departures, skeleton);
	if (d != NULL && strcmp(d->address, address) != 0)
		return USERS_HELD_FOR_ADDRESS;
	return USERS_FREE;
}

void users_expire(struct users *u, int64_t now_ms)
{
	struct away *w;
	while ((w = oldest_away(&u->away)) != NULL && now_ms - w->s.away_since_ms > u->grace_ms)
		away_drop(u, w);
	struct departed *d;
	while (u->departed.head != NULL && (d = u->departed.head->data) != NULL &&
	       now_ms - d->left_ms > u->grace_ms)
		drop_departure(u, d);
}
