/*
 * redis_sessions: resume sessions valid on every node of a cluster.
 *
 * A binary user's session (users.h) is also kept in Redis, under the
 * SHA-256 of its token (never the token): session:{<64 hex digits>}, one
 * hash tag per session. Its value (redis_session_format) says what the
 * token brings back: the user id, colour, pseudo, room, the identity's
 * hash if it proved one, and the claim value ("<node>:<conn id>") of the
 * connection that last wore it. It expires (PX) after the resume grace:
 * written when the session opens, written again every grace/3 while its
 * owner is present (so that a node SIGKILLed leaves it valid for the
 * grace), and once more at its departure; deleted when the token is spent.
 * Rewrites are "XX" (only if still there): a session taken on another
 * node meanwhile is not brought back.
 *
 * Taking a session (a HELLO with a token on any node): the key is read
 * and deleted in one script (the token is spent, once, cluster-wide);
 * then the pseudo's claim is taken over for the new connection if it is
 * free or still the session's own connection's (a node killed: its claim
 * would stay for the claim's ttl) — a returning user wins at once. A
 * pseudo somebody else took meanwhile refuses the resume, and the session
 * is put back.
 *
 * Bounded: one session per connection, REDIS_SESSIONS_MAX in all, a value
 * at most REDIS_SESSION_MAX_BYTES. Every reply is checked; a value that
 * does not parse (redis_session_parse: strict) is no session.
 *
 * The struct owns its entries; it borrows the command connection, which
 * must outlive it (closed after redis_sessions_close).
 */
#ifndef CHATROOM_REDIS_SESSIONS_H
#define CHATROOM_REDIS_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "redis.h"
#include "textproto.h"

#define REDIS_SESSIONS_DIGEST_LEN 32
#define REDIS_SESSIONS_MAX 100000
#define REDIS_SESSION_MAX_BYTES 512
#define REDIS_SESSION_HOLDER_MAX 88

struct redis_session {
	uint64_t user_id;
	int colour;
	char holder[REDIS_SESSION_HOLDER_MAX + 1]; /* "<node>:<conn id>" that wore it */
	char pseudo[TEXT_MAX_PSEUDO + 1];
	char room[TEXT_MAX_ROOM + 1];
	bool has_identity;
	unsigned char identity[32];
	bool here; /* taken: its holder was of the taker's node (not kept) */
};

/* The value kept in Redis: its length, or 0 when it would not fit cap. */
size_t redis_session_format(const struct redis_session *s, char *out, size_t cap);
/* Strict: 0 with *out filled, or -EINVAL (any field missing, extra,
 * over-long, out of range, a pseudo or room that is no valid name). */
int redis_session_parse(const char *p, size_t len, struct redis_session *out);

struct redis_sessions;

int redis_sessions_new(struct redis_sessions **out, uv_loop_t *loop, struct redis *r,
		       uint64_t grace_ms, uint64_t claim_ttl_ms);

/* A present user's session, under its token's digest, as conn_id (its
 * only one: replaces what conn_id kept). Written now and renewed while
 * present. Nothing with a zero grace. */
void redis_sessions_keep(struct redis_sessions *rs, uint64_t conn_id,
			 const unsigned char digest[REDIS_SESSIONS_DIGEST_LEN],
			 const struct redis_session *s);
/* conn_id's owner left from room: valid for the grace from now, no longer
 * renewed. */
void redis_sessions_away(struct redis_sessions *rs, uint64_t conn_id, const char *room);
/* conn_id is gone without a session to keep (none, or spent). */
void redis_sessions_forget(struct redis_sessions *rs, uint64_t conn_id);
/* The token of that digest is spent. */
void redis_sessions_spend(struct redis_sessions *rs,
			  const unsigned char digest[REDIS_SESSIONS_DIGEST_LEN]);

/* status 0 and s: the session, its token spent and the pseudo's claim
 * now `new_holder`'s; status 0 and NULL: no such session (unknown,
 * expired, spent, or its pseudo worn by somebody else); status < 0: Redis
 * could not say (UV_ECANCELED when closed). */
typedef void (*redis_sessions_cb)(int status, const struct redis_session *s, void *data);

/* Takes the session of that digest for new_holder ("<node>:<conn id>").
 * 0: cb is called exactly once, later; otherwise a negative errno and no
 * call (Redis not ready, out of memory). */
int redis_sessions_take(struct redis_sessions *rs,
			const unsigned char digest[REDIS_SESSIONS_DIGEST_LEN],
			const char *new_holder, redis_sessions_cb cb, void *data);

size_t redis_sessions_count(const struct redis_sessions *rs);

/* No renewal after this; takes under way get UV_ECANCELED (before the
 * connection is closed). Freed once every command is answered. */
void redis_sessions_close(struct redis_sessions *rs);

#endif
