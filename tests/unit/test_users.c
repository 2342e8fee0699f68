/* Sessions and departures (src/server/users.c): tokens found by their
 * SHA-256 and spent at each resume, every failure alike, pseudos held
 * while away, bounds per address and in all, oldest first. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "users.h"

#define GRACE 1000

/* The hub's table, where users.c counts sessions beside connections. */
static struct addresses addresses;

static void start(struct users *u, unsigned per_address)
{
	assert_int_equal(addresses_init(&addresses), 0);
	assert_int_equal(users_init(u, GRACE, per_address, &addresses), 0);
	users_track_online(u); /* users_session_of, as in a cluster */
}

static void finish(struct users *u)
{
	users_free(u);
	addresses_free(&addresses);
}

static void token(unsigned char out[USERS_TOKEN_LEN], int n)
{
	memset(out, 0, USERS_TOKEN_LEN);
	out[0] = (unsigned char)n;
	out[31] = (unsigned char)(n >> 8);
}

/* Where each token's session was opened (by token()'s n), as a conn
 * knows its address when its session goes. */
static const char *opened_at[1024];

static const char *addr_of(const unsigned char t[USERS_TOKEN_LEN])
{
	return opened_at[(t[0] | t[31] << 8) % 1024];
}

/* Opens a session for "u<n>" at address addr. */
static int open_n(struct users *u, int n, const char *addr)
{
	unsigned char t[USERS_TOKEN_LEN];
	char pseudo[16];
	snprintf(pseudo, sizeof(pseudo), "u%d", n);
	token(t, n);
	opened_at[n % 1024] = addr;
	struct session_entry *e;
	return users_session_open(u, t, addr, &e);
}

/* "u<n>" (its pseudo, and its skeleton) goes away from room. */
static void away_as(struct users *u, const unsigned char t[USERS_TOKEN_LEN], int n,
		    const char *room, int64_t now)
{
	struct session as = {.user_id = (uint64_t)n, .colour = 28};
	snprintf(as.pseudo, sizeof(as.pseudo), "u%d", n);
	snprintf(as.skeleton, sizeof(as.skeleton), "u%d", n);
	snprintf(as.room, sizeof(as.room), "%s", room);
	users_session_away(u, users_session_of(u, t), addr_of(t), &as, now);
}

static void away_n(struct users *u, int n, int64_t now)
{
	unsigned char t[USERS_TOKEN_LEN];
	token(t, n);
	away_as(u, t, n, "general", now);
}

static struct session *find_n(struct users *u, int n, int64_t now)
{
	unsigned char t[USERS_TOKEN_LEN];
	token(t, n);
	return users_token_find(u, t, sizeof(t), now);
}

static void only_the_digest_is_kept(void **state)
{
	(void)state;
	struct users u;
	start(&u, 10);
	assert_int_equal(open_n(&u, 1, "a"), 0);
	unsigned char t[USERS_TOKEN_LEN];
	token(t, 1);
	GHashTableIter it;
	gpointer key, value;
	g_hash_table_iter_init(&it, u.online);
	assert_true(g_hash_table_iter_next(&it, &key, &value));
	struct session *s = value;
	assert_memory_not_equal(s->digest, t, USERS_TOKEN_LEN);
	/* SHA-256 of 32 bytes: 0x01 then 31 zeros. */
	static const unsigned char expected[4] = {0x01, 0xd0, 0xfa, 0xbd};
	assert_memory_equal(s->digest, expected, sizeof(expected));
	finish(&u);
}

static void a_token_works_once_away_and_is_spent_by_a_resume(void **state)
{
	(void)state;
	struct users u;
	start(&u, 10);
	assert_int_equal(open_n(&u, 1, "a"), 0);
	assert_null(find_n(&u, 1, 0)); /* in use: looks like unknown */
	assert_int_equal(users_held(&u, "u1", "a"), USERS_FREE);
	away_n(&u, 1, 100);
	assert_int_equal(users_held(&u, "u1", "a"), USERS_HELD_FOR_SESSION);
	assert_int_equal(users_held(&u, "u1", "b"), USERS_HELD_FOR_SESSION);
	struct session *s = find_n(&u, 1, 200);
	assert_non_null(s);
	assert_string_equal(s->pseudo, "u1");
	unsigned char fresh[USERS_TOKEN_LEN];
	token(fresh, 500);
	struct session was;
	users_token_resume(&u, s, fresh, &was);
	opened_at[500] = "a";
	assert_string_equal(was.pseudo, "u1");
	assert_int_equal(users_held(&u, "u1", "b"), USERS_FREE);
	away_as(&u, fresh, 1, "jeux", 300);
	assert_null(find_n(&u, 1, 400)); /* the old token is spent */
	s = users_token_find(&u, fresh, sizeof(fresh), 400);
	assert_non_null(s);
	assert_string_equal(s->room, "jeux");
	assert_null(users_token_find(&u, fresh, 31, 400)); /* wrong length */
	/* Past the grace: refused at once, forgotten at the next expiry. */
	assert_null(users_token_find(&u, fresh, sizeof(fresh), 300 + GRACE + 1));
	users_expire(&u, 300 + GRACE + 1);
	assert_int_equal(g_hash_table_size(u.sessions), 0);
	assert_int_equal(users_held(&u, "u1", "b"), USERS_FREE);
	finish(&u);
}

static void an_address_churning_evicts_its_own_oldest(void **state)
{
	(void)state;
	struct users u;
	start(&u, 3);
	assert_int_equal(open_n(&u, 100, "victim"), 0);
	away_n(&u, 100, 0);
	for (int i = 1; i <= 10; i++) {
		assert_int_equal(open_n(&u, i, "churner"), 0);
		away_n(&u, i, i);
	}
	/* The churner keeps its 3 newest; the victim keeps its own. */
	for (int i = 1; i <= 7; i++)
		assert_null(find_n(&u, i, 20));
	for (int i = 8; i <= 10; i++)
		assert_non_null(find_n(&u, i, 20));
	assert_non_null(find_n(&u, 100, 20));
	assert_int_equal(users_held(&u, "u1", "x"), USERS_FREE);
	assert_int_equal(users_held(&u, "u10", "x"), USERS_HELD_FOR_SESSION);
	finish(&u);
}

/* Who is told of the sessions dropped to make room (the copies in Redis). */
struct evictions {
	unsigned count;
	unsigned char last[USERS_DIGEST_LEN];
};

static void on_evicted(void *data, const unsigned char digest[USERS_DIGEST_LEN])
{
	struct evictions *e = data;
	e->count++;
	memcpy(e->last, digest, USERS_DIGEST_LEN);
}

static void evictions_are_told_by_digest(void **state)
{
	(void)state;
	struct users u;
	struct evictions e = {0};
	start(&u, 2);
	u.evicted = on_evicted;
	u.evicted_data = &e;
	for (int i = 1; i <= 5; i++) {
		assert_int_equal(open_n(&u, i, "churner"), 0);
		away_n(&u, i, i);
	}
	/* 1, 2 and 3 made room; the last told is 3's, by its digest. */
	assert_int_equal(e.count, 3);
	unsigned char t[USERS_TOKEN_LEN], d[USERS_DIGEST_LEN];
	token(t, 3);
	users_digest(t, sizeof(t), d);
	assert_memory_equal(e.last, d, sizeof(d));
	/* Expiry and resumes are not evictions. */
	users_expire(&u, 10 * GRACE);
	assert_int_equal(e.count, 3);
	finish(&u);
}

static void a_full_table_evicts_the_oldest_away_or_refuses(void **state)
{
	(void)state;
	struct users u;
	start(&u, 10);
	u.max_sessions = 3;
	assert_int_equal(open_n(&u, 1, "a"), 0);
	assert_int_equal(open_n(&u, 2, "b"), 0);
	assert_int_equal(open_n(&u, 3, "c"), 0);
	/* All online: nothing can make room, and the HELLO is refused. */
	assert_int_equal(open_n(&u, 4, "d"), -ENOSPC);
	away_n(&u, 2, 10);
	away_n(&u, 1, 20);
	assert_int_equal(open_n(&u, 4, "d"), 0);
	assert_null(find_n(&u, 2, 30)); /* the oldest away went */
	assert_non_null(find_n(&u, 1, 30));
	finish(&u);
}

static void one_address_online_at_its_bound_is_refused(void **state)
{
	(void)state;
	struct users u;
	start(&u, 2);
	assert_int_equal(open_n(&u, 1, "a"), 0);
	assert_int_equal(open_n(&u, 2, "a"), 0);
	assert_int_equal(open_n(&u, 3, "a"), -ENOSPC);
	assert_int_equal(open_n(&u, 3, "b"), 0);
	finish(&u);
}

static void departures_are_held_for_their_address_and_bounded(void **state)
{
	(void)state;
	struct users u;
	start(&u, 2);
	u.max_departed = 3;
	users_departed(&u, "Carol", "carol", "1.2.3.4", "jeux", 28, 0);
	assert_int_equal(users_held(&u, "carol", "5.6.7.8"), USERS_HELD_FOR_ADDRESS);
	assert_int_equal(users_held(&u, "carol", "1.2.3.4"), USERS_FREE);
	struct departed back;
	assert_false(users_take_return(&u, "carol", "5.6.7.8", 10, &back));
	assert_true(users_take_return(&u, "carol", "1.2.3.4", 10, &back));
	assert_string_equal(back.room, "jeux");
	assert_int_equal(back.colour, 28);
	assert_false(users_take_return(&u, "carol", "1.2.3.4", 10, &back)); /* taken */
	/* One address keeps its 2 newest. */
	users_departed(&u, "v", "v", "victim", "general", 1, 0);
	users_departed(&u, "a", "a", "churner", "general", 1, 1);
	users_departed(&u, "b", "b", "churner", "general", 1, 2);
	users_departed(&u, "c", "c", "churner", "general", 1, 3);
	assert_int_equal(users_held(&u, "a", "x"), USERS_FREE);
	assert_int_equal(users_held(&u, "b", "x"), USERS_HELD_FOR_ADDRESS);
	assert_int_equal(users_held(&u, "v", "x"), USERS_HELD_FOR_ADDRESS);
	/* In all, 3: the oldest (the victim's, now) makes room. */
	users_departed(&u, "d", "d", "other", "general", 1, 4);
	assert_int_equal(users_held(&u, "v", "x"), USERS_FREE);
	assert_int_equal(users_held(&u, "d", "x"), USERS_HELD_FOR_ADDRESS);
	/* Past the grace they go. */
	users_expire(&u, 4 + GRACE + 1);
	assert_int_equal(users_held(&u, "d", "x"), USERS_FREE);
	assert_int_equal(g_hash_table_size(u.waiting), 0);
	assert_int_equal(addresses.count, 0);
	finish(&u);
}

/* An address's sessions are counted on the entry that counts its
 * connections (server.c's): one entry, kept while either counts. */
static void sessions_count_beside_connections(void **state)
{
	(void)state;
	struct users u;
	start(&u, 2);
	assert_int_equal(addresses_conn_add(&addresses, "a"), 1);
	assert_int_equal(open_n(&u, 1, "a"), 0);
	assert_int_equal(addresses.count, 1);
	struct address *a = addresses_find(&addresses, "a");
	assert_non_null(a);
	assert_int_equal(a->conns, 1);
	assert_int_equal(a->sessions, 1);
	/* Its connection goes, its session waits: the entry stays. */
	away_n(&u, 1, 10);
	addresses_conn_remove(&addresses, "a");
	assert_ptr_equal(addresses_find(&addresses, "a"), a);
	assert_int_equal(a->conns, 0);
	assert_int_equal(a->sessions, 1);
	/* Connections do not count against sessions, nor sessions against
	 * connections: 2 sessions with 3 connections. */
	for (int i = 0; i < 3; i++)
		addresses_conn_add(&addresses, "a");
	assert_int_equal(open_n(&u, 2, "a"), 0);
	assert_int_equal(a->sessions, 2);
	assert_int_equal(a->conns, 3);
	/* At its bound the oldest away session makes room, as before. */
	assert_int_equal(open_n(&u, 3, "a"), 0);
	assert_null(find_n(&u, 1, 20));
	assert_int_equal(a->sessions, 2);
	unsigned char t[USERS_TOKEN_LEN];
	for (int n = 2; n <= 3; n++) {
		token(t, n);
		users_session_close(&u, users_session_of(&u, t), "a");
	}
	assert_int_equal(a->sessions, 0);
	for (int i = 0; i < 3; i++)
		addresses_conn_remove(&addresses, "a");
	assert_int_equal(addresses.count, 0);
	assert_int_equal(g_hash_table_size(u.waiting), 0);
	finish(&u);
}

/* A session's entry goes when the session does, away or not. */
static void an_address_goes_with_its_last_session(void **state)
{
	(void)state;
	struct users u;
	start(&u, 10);
	assert_int_equal(open_n(&u, 1, "a"), 0);
	assert_int_equal(open_n(&u, 2, "b"), 0);
	assert_int_equal(addresses.count, 2);
	away_n(&u, 1, 0);
	away_n(&u, 2, 500);
	assert_int_equal(g_hash_table_size(u.waiting), 2);
	users_expire(&u, GRACE + 1); /* 1's grace is over, not 2's */
	assert_null(addresses_find(&addresses, "a"));
	assert_non_null(addresses_find(&addresses, "b"));
	assert_int_equal(g_hash_table_size(u.waiting), 1);
	/* 2 resumes: online again, nothing of b waits. */
	struct session *s = find_n(&u, 2, GRACE + 1);
	assert_non_null(s);
	unsigned char fresh[USERS_TOKEN_LEN];
	token(fresh, 900);
	struct session was;
	users_token_resume(&u, s, fresh, &was);
	assert_int_equal(g_hash_table_size(u.waiting), 0);
	assert_int_equal(addresses_find(&addresses, "b")->sessions, 1);
	users_session_close(&u, users_session_of(&u, fresh), "b");
	assert_int_equal(addresses.count, 0);
	finish(&u);
}

/* A standalone server keeps no table of online sessions: they are
 * their conns' alone, and counted all the same. */
static void untracked_online_sessions_are_bounded_and_resume(void **state)
{
	(void)state;
	struct users u;
	assert_int_equal(addresses_init(&addresses), 0);
	assert_int_equal(users_init(&u, GRACE, 2, &addresses), 0);
	u.max_sessions = 3;
	unsigned char t[3][USERS_TOKEN_LEN];
	struct session_entry *e[3];
	for (int i = 0; i < 3; i++) {
		token(t[i], i + 1);
		assert_int_equal(users_session_open(&u, t[i], i < 2 ? "a" : "b", &e[i]), 0);
		assert_null(users_session_of(&u, t[i]));
		assert_null(users_token_find(&u, t[i], USERS_TOKEN_LEN, 0)); /* in use */
	}
	assert_null(u.online);
	struct session_entry *more;
	unsigned char t4[USERS_TOKEN_LEN];
	token(t4, 4);
	assert_int_equal(users_session_open(&u, t4, "c", &more), -ENOSPC); /* all online */
	assert_int_equal(users_session_open(&u, t4, "a", &more), -ENOSPC); /* a's 2 online */
	assert_int_equal(addresses_find(&addresses, "a")->sessions, 2);
	/* Its digest is the one a cluster is told. */
	unsigned char d[USERS_DIGEST_LEN];
	users_digest(t[0], USERS_TOKEN_LEN, d);
	assert_memory_equal(users_session_digest(e[0]), d, sizeof(d));
	struct session as = {.user_id = 1, .colour = 3};
	snprintf(as.pseudo, sizeof(as.pseudo), "Ann");
	snprintf(as.skeleton, sizeof(as.skeleton), "ann");
	snprintf(as.room, sizeof(as.room), "jeux");
	users_session_away(&u, e[0], "a", &as, 10);
	assert_int_equal(users_held(&u, "ann", "z"), USERS_HELD_FOR_SESSION);
	struct session *s = users_token_find(&u, t[0], USERS_TOKEN_LEN, 20);
	assert_non_null(s);
	assert_memory_equal(s->digest, d, sizeof(d));
	/* Room for one more, a's oldest away making it. */
	assert_int_equal(users_session_open(&u, t4, "a", &more), 0);
	assert_null(users_token_find(&u, t[0], USERS_TOKEN_LEN, 20));
	assert_int_equal(users_held(&u, "ann", "z"), USERS_FREE);
	assert_int_equal(addresses_find(&addresses, "a")->sessions, 2);
	/* b's goes away and comes back under a new token. */
	snprintf(as.skeleton, sizeof(as.skeleton), "bob");
	users_session_away(&u, e[2], "b", &as, 30);
	s = users_token_find(&u, t[2], USERS_TOKEN_LEN, 40);
	assert_non_null(s);
	unsigned char fresh[USERS_TOKEN_LEN];
	token(fresh, 99);
	struct session was;
	e[2] = users_token_resume(&u, s, fresh, &was);
	assert_non_null(e[2]);
	assert_string_equal(was.room, "jeux");
	assert_null(users_token_find(&u, t[2], USERS_TOKEN_LEN, 40)); /* spent */
	assert_int_equal(addresses_find(&addresses, "b")->sessions, 1);
	assert_int_equal(u.online_count, 3);
	users_session_close(&u, e[1], "a");
	users_session_close(&u, more, "a");
	users_session_close(&u, e[2], "b");
	assert_int_equal(u.online_count, 0);
	assert_int_equal(addresses.count, 0);
	assert_int_equal(g_hash_table_size(u.waiting), 0);
	finish(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(only_the_digest_is_kept),
		cmocka_unit_test(a_token_works_once_away_and_is_spent_by_a_resume),
		cmocka_unit_test(an_address_churning_evicts_its_own_oldest),
		cmocka_unit_test(evictions_are_told_by_digest),
		cmocka_unit_test(a_full_table_evicts_the_oldest_away_or_refuses),
		cmocka_unit_test(one_address_online_at_its_bound_is_refused),
		cmocka_unit_test(departures_are_held_for_their_address_and_bounded),
		cmocka_unit_test(sessions_count_beside_connections),
		cmocka_unit_test(an_address_goes_with_its_last_session),
		cmocka_unit_test(untracked_online_sessions_are_bounded_and_resume),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
