/*
 * users: who is away for a while, so that they may come back as
 * themselves, and whose pseudo is held for them meanwhile.
 *
 * A binary peer holds a session: an unguessable 32-byte resume token the
 * server gave it. Only SHA-256 of the token is kept and looked up (a
 * digest leaks nothing of a token, so comparing digests needs no constant
 * time). While its owner is away, for the grace period, the token brings
 * back the pseudo, ID, colour and room, and nobody else may take the
 * pseudo (or a look-alike). Each resume spends the token: a new one is
 * handed out.
 *
 * A text peer has no secret: when one with a pseudo leaves, its pseudo is
 * held for its address (an IPv6 /64 counts as one) for the grace period;
 * the same pseudo from that address then is welcomed back to the room it
 * left, as a new user (fresh ID and colour: anybody behind the same
 * address could type that pseudo).
 *
 * Both are bounded per address and in all; when full, the oldest away
 * sessions (departures) of that address, then of all, make room.
 * users.c owns every entry but the addresses' (addresses.h), where it
 * counts each address's sessions beside its connections.
 */
#ifndef CHATROOM_USERS_H
#define CHATROOM_USERS_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addresses.h"
#include "names.h"
#include "textproto.h"

#define USERS_TOKEN_LEN 32
#define USERS_DIGEST_LEN 32
/* An address key: an IPv4 or IPv6 address, or an IPv6 /64 ("…::/64"). */
#define USERS_ADDRESS_MAX 56

/* An away session: what its token brings back. While its owner is here
 * a session is only its digest and its address's count (users.c): the
 * rest is the owner's conn's, given when it goes away (users_session_away). */
struct session {
	unsigned char digest[USERS_DIGEST_LEN]; /* SHA-256 of the token */
	uint64_t user_id;
	char pseudo[TEXT_MAX_PSEUDO + 1];
	char skeleton[NAMES_SKELETON_MAX];
	int colour;
	char room[TEXT_MAX_ROOM + 1];
	int64_t away_since_ms;
};

struct departed {
	char pseudo[TEXT_MAX_PSEUDO + 1];
	char skeleton[NAMES_SKELETON_MAX];
	char address[USERS_ADDRESS_MAX];
	char room[TEXT_MAX_ROOM + 1];
	int colour;
	int64_t left_ms;
	GList link;         /* in users.departed */
	GList address_link;
};

struct users {
	int64_t grace_ms;
	unsigned per_address;   /* sessions, and departures, one address keeps */
	size_t max_sessions;
	size_t max_departed;
	GHashTable *sessions;   /* digest -> away session (users.c) */
	GHashTable *online;     /* digest -> online session; NULL unless tracked */
	size_t online_count;    /* online sessions, tracked or not */
	GHashTable *held;       /* skeleton -> away session (users.c) */
	GHashTable *departures; /* skeleton -> struct departed */
	struct addresses *addresses; /* the hub's: sessions counted by address */
	GHashTable *waiting;    /* address -> its queues (users.c), while any */
	GQueue away;            /* away sessions, oldest first */
	GQueue departed;        /* departures, oldest first */
	/* A session dropped to make room, by its digest (NULL: nobody told):
	 * a copy elsewhere goes with it (binresume.c). */
	void (*evicted)(void *data, const unsigned char digest[USERS_DIGEST_LEN]);
	void *evicted_data;
};

/* Plenty for a server's churn within a grace period; memory stays bounded
 * (about 400 bytes each away, 32 online). */
#define USERS_MAX_SESSIONS 100000
#define USERS_MAX_DEPARTED 10000

/* per_address: sessions (and departures) one address may keep; sessions
 * are counted on addresses' entries, which must outlive u. 0 or -ENOMEM. */
int users_init(struct users *u, int64_t grace_ms, unsigned per_address,
	       struct addresses *addresses);
void users_free(struct users *u);

/* Forgets departures and sessions away longer than the grace period. */
void users_expire(struct users *u, int64_t now_ms);

enum users_hold {
	USERS_FREE,
	USERS_HELD_FOR_SESSION, /* an away binary user's: only its token */
	USERS_HELD_FOR_ADDRESS, /* a departed text user's: only its address */
};

/* Whether skeleton is held for somebody other than a peer at `address`. */
enum users_hold users_held(const struct users *u, const char *skeleton, const char *address);

/* ---- text peers ----------------------------------------------------------- */

void users_departed(struct users *u, const char *pseudo, const char *skeleton,
		    const char *address, const char *room, int colour, int64_t now_ms);
/* Finds and forgets a departure of that skeleton from that address within
 * the grace period; true with *out filled when there is one. */
bool users_take_return(struct users *u, const char *skeleton, const char *address,
		       int64_t now_ms, struct departed *out);
/* Forgets a departure of that skeleton (its pseudo was taken anew). */
void users_forget_departure(struct users *u, const char *skeleton);

/* ---- binary peers: sessions ----------------------------------------------- */

/* An online session as users.c keeps it: its owner's conn holds it
 * (users_session_open, users_token_resume) and hands it back when it goes
 * (users_session_away, users_session_close, with its address); valid
 * until then. */
struct session_entry;

/* Online sessions are looked up by token (users_session_of) only once
 * this is called: a cluster's server asks whether a token's owner is
 * here; a standalone one never does, and keeps no table of them. Call it
 * before any session opens. */
void users_track_online(struct users *u);

/* Opens an online session under token, counted for its address, in *out;
 * the oldest away sessions of the address, then of all, make room. 0, or
 * -ENOSPC when none could be kept (every one online), -ENOMEM. */
int users_session_open(struct users *u, const unsigned char token[USERS_TOKEN_LEN],
		       const char *address, struct session_entry **out);
/* Its owner, from address (users_session_open's), left as `as` says (its
 * digest aside): its token may bring it back for the grace period, and the
 * pseudo is held for it. e is no more. */
void users_session_away(struct users *u, struct session_entry *e, const char *address,
			const struct session *as, int64_t now_ms);
/* Its owner left and it cannot come back (users_session_away cannot be
 * filled): the session is no more. */
void users_session_close(struct users *u, struct session_entry *e, const char *address);
/* SHA-256 of its token. */
const unsigned char *users_session_digest(const struct session_entry *e);
/* The online session of that token (32 bytes), or NULL; always NULL
 * unless users_track_online was called. */
struct session_entry *users_session_of(struct users *u, const unsigned char token[USERS_TOKEN_LEN]);
/* The away session that token (any length) opens within the grace period,
 * or NULL: unknown, expired and in use all look the same. Nothing changes. */
struct session *users_token_find(struct users *u, const unsigned char *token, size_t len,
				 int64_t now_ms);
/* SHA-256 of a token (any length): how sessions are known. */
void users_digest(const unsigned char *token, size_t len, unsigned char out[USERS_DIGEST_LEN]);
/* Brings s (users_token_find's) back online under a new token (the old
 * one is spent) and frees its pseudo for its owner; *was gets what s
 * said, since s itself is no more. Returns the online session; NULL when
 * out of memory (s is spent all the same: its owner is back without one). */
struct session_entry *users_token_resume(struct users *u, struct session *s,
					 const unsigned char new_token[USERS_TOKEN_LEN],
					 struct session *was);

#endif
