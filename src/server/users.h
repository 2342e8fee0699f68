/*
 * users: who left recently, so a text peer coming back is recognised.
 *
 * When a peer with a pseudo leaves, its pseudo, address, user ID, colour
 * and room are kept for a grace period; a new text peer giving the same
 * pseudo from the same address within it is the same user coming back.
 * A binary peer holds a session instead: an unguessable 32-byte resume
 * token the server gave it. The token brings back its pseudo, ID, colour
 * and room, but only while its owner is away (never while connected) and
 * within the grace period.
 *
 * users.c owns the entries and sessions; both are bounded.
 */
#ifndef CHATROOM_USERS_H
#define CHATROOM_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "textproto.h"

struct departed {
	struct departed *next;
	char pseudo[TEXT_MAX_PSEUDO + 1];
	char ip[46];
	char room[TEXT_MAX_ROOM + 1];
	uint64_t user_id;
	int colour;
	int64_t left_ms;
};

struct session {
	struct session *next; /* in its hash bucket */
	unsigned char token[32];
	uint64_t user_id;
	char pseudo[TEXT_MAX_PSEUDO + 1];
	int colour;
	char room[TEXT_MAX_ROOM + 1];
	bool online;
	int64_t away_since_ms;
};

struct users {
	struct departed *departed; /* newest first */
	size_t count;
	int64_t grace_ms;
	struct session **sessions; /* hash table by token */
	size_t session_count;
};

/* Plenty for a server's churn within a grace period; memory stays bounded. */
#define USERS_MAX_DEPARTED 10000

int users_init(struct users *u, int64_t grace_ms);
void users_free(struct users *u);

void users_departed(struct users *u, const char *pseudo, const char *ip,
		    const char *room, uint64_t user_id, int colour, int64_t now_ms);
/* Finds and forgets a departure of `pseudo` from `ip` within the grace
 * period; true with *out filled when there is one. */
bool users_take_return(struct users *u, const char *pseudo, size_t len,
		       const char *ip, int64_t now_ms, struct departed *out);
/* Forgets departures and sessions away longer than the grace period. */
void users_expire(struct users *u, int64_t now_ms);

/* Opens a session for a connected binary user; 0 or -ENOMEM. */
int users_session_open(struct users *u, const unsigned char token[32], uint64_t user_id,
		       const char *pseudo, int colour, const char *room);
/* Its owner left: the token may bring it back for the grace period. */
void users_token_away(struct users *u, const unsigned char token[32], const char *room,
		      int64_t now_ms);
/* Brings a session back: 0 with *out filled (and the session online
 * again), -EBUSY when its owner is connected, -ENOENT when the token is
 * unknown or expired. */
int users_token_resume(struct users *u, const unsigned char *token, size_t len,
		       int64_t now_ms, struct session *out);

#endif
