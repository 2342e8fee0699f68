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

/* A session as the tables hold it. Online it is only this: most sessions
 * are, and the rest is their conns' (docs/benchmarks.md, "Idle memory"). */
struct session_entry {
	unsigned char digest[USERS_DIGEST_LEN]; /* the table's key */
	struct address *address;                /* counts it (addresses.h) */
	struct away *away;                      /* NULL while online */
};

/* What an away session brings back, and where it waits. */
struct away {
	struct session s;
	struct address_queues *queues; /* its address's */
	GList away_link;    /* in users.away */
	GList address_link; /* in its address's away queue */
};

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

/* Sessions and addresses live as long as their peers: lasting.h. */
static void session_free(void *p)
{
	struct session_entry *e = p;
	if (e == NULL)
		return;
	lasting_free(e->away, sizeof(struct away));
	lasting_free(e, sizeof(*e));
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
	u->sessions = g_hash_table_new_full(digest_hash, digest_equal, NULL, session_free);
	u->held = g_hash_table_new(g_str_hash, g_str_equal);
	u->departures = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free);
	u->waiting = g_hash_table_new_full(g_str_hash, g_str_equal, queues_free, NULL);
	g_queue_init(&u->away);
	g_queue_init(&u->departed);
	return 0;
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

static void unhold(struct users *u, struct session_entry *e)
{
	if (g_hash_table_lookup(u->held, e->away->s.skeleton) == e)
		g_hash_table_remove(u->held, e->away->s.skeleton);
}

/* ---- sessions ----------------------------------------------------------- */

/* Takes an away session off the away queues, frees its pseudo and lets
 * go of what it would bring back: it is online. */
static void back_from_away(struct users *u, struct session_entry *e)
{
	g_queue_unlink(&u->away, &e->away->away_link);
	g_queue_unlink(&e->away->queues->away, &e->away->address_link);
	unhold(u, e);
	struct address_queues *q = e->away->queues;
	lasting_free(e->away, sizeof(*e->away));
	e->away = NULL;
	queues_release(u, q);
}

static void drop_session(struct users *u, struct session_entry *e)
{
	if (e->away != NULL)
		back_from_away(u, e);
	struct address *a = e->address;
	a->sessions--;
	g_hash_table_remove(u->sessions, e->digest); /* frees e */
	addresses_release(u->addresses, a);
}

static struct session_entry *oldest_away(const GQueue *q)
{
	return q != NULL && q->head != NULL ? q->head->data : NULL;
}

static void evict(struct users *u, struct session_entry *e)
{
	if (u->evicted != NULL)
		u->evicted(u->evicted_data, e->digest);
	drop_session(u, e);
}

int users_session_open(struct users *u, const unsigned char token[USERS_TOKEN_LEN],
		       const char *address, struct session_entry **out)
{
	struct address *a = addresses_find(u->addresses, address);
	if (a != NULL && a->sessions >= u->per_address) {
		struct address_queues *q = queues_find(u, address);
		struct session_entry *old = oldest_away(q != NULL ? &q->away : NULL);
		if (old == NULL)
			return -ENOSPC;
		evict(u, old);
	}
	if (g_hash_table_size(u->sessions) >= u->max_sessions) {
		struct session_entry *old = oldest_away(&u->away);
		if (old == NULL)
			return -ENOSPC;
		evict(u, old);
	}
	struct session_entry *e = lasting_alloc(sizeof(*e));
	if (e == NULL || (a = addresses_get(u->addresses, address)) == NULL) {
		session_free(e);
		return -ENOMEM;
	}
	digest_of(token, USERS_TOKEN_LEN, e->digest);
	e->address = a;
	g_hash_table_insert(u->sessions, e->digest, e);
	a->sessions++;
	*out = e;
	return 0;
}

void users_session_away(struct users *u, struct session_entry *e, const struct session *as,
			int64_t now_ms)
{
	if (e->away != NULL)
		return;
	struct address_queues *q = u->grace_ms > 0 ? queues_get(u, e->address->key) : NULL;
	if (q == NULL || (e->away = lasting_alloc(sizeof(*e->away))) == NULL) {
		if (q != NULL)
			queues_release(u, q); /* made for it, perhaps */
		drop_session(u, e); /* out of memory: only a resume is lost */
		return;
	}
	struct away *w = e->away;
	w->queues = q;
	w->s = *as;
	memcpy(w->s.digest, e->digest, sizeof(w->s.digest));
	w->s.away_since_ms = now_ms;
	w->away_link.data = e;
	w->address_link.data = e;
	g_queue_push_tail_link(&u->away, &w->away_link);
	g_queue_push_tail_link(&q->away, &w->address_link);
	g_hash_table_insert(u->held, w->s.skeleton, e);
}

void users_digest(const unsigned char *token, size_t len, unsigned char out[USERS_DIGEST_LEN])
{
	digest_of(token, len, out);
}

void users_session_close(struct users *u, struct session_entry *e)
{
	drop_session(u, e);
}

const unsigned char *users_session_digest(const struct session_entry *e)
{
	return e->digest;
}

struct session_entry *users_session_of(struct users *u, const unsigned char token[USERS_TOKEN_LEN])
{
	unsigned char digest[USERS_DIGEST_LEN];
	digest_of(token, USERS_TOKEN_LEN, digest);
	return g_hash_table_lookup(u->sessions, digest);
}

bool users_session_online(const struct session_entry *e)
{
	return e->away == NULL;
}

struct session *users_token_find(struct users *u, const unsigned char *token, size_t len,
				 int64_t now_ms)
{
	if (len != USERS_TOKEN_LEN)
		return NULL;
	unsigned char digest[USERS_DIGEST_LEN];
	digest_of(token, len, digest);
	struct session_entry *e = g_hash_table_lookup(u->sessions, digest);
	if (e == NULL || e->away == NULL || now_ms - e->away->s.away_since_ms > u->grace_ms)
		return NULL;
	return &e->away->s;
}

struct session_entry *users_token_resume(struct users *u, struct session *s,
					 const unsigned char new_token[USERS_TOKEN_LEN],
					 struct session *was)
{
	struct session_entry *e = g_hash_table_lookup(u->sessions, s->digest);
	*was = *s;
	back_from_away(u, e); /* s is no more */
	g_hash_table_steal(u->sessions, e->digest);
	digest_of(new_token, USERS_TOKEN_LEN, e->digest);
	g_hash_table_insert(u->sessions, e->digest, e);
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
	struct session_entry *e;
	while ((e = oldest_away(&u->away)) != NULL && now_ms - e->away->s.away_since_ms > u->grace_ms)
		drop_session(u, e);
	struct departed *d;
	while (u->departed.head != NULL && (d = u->departed.head->data) != NULL &&
	       now_ms - d->left_ms > u->grace_ms)
		drop_departure(u, d);
}
