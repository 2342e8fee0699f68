/*
 * users: who left recently, so a text peer coming back is recognised.
 *
 * When a peer with a pseudo leaves, its pseudo, address, user ID, colour
 * and room are kept for a grace period; a new text peer giving the same
 * pseudo from the same address within it is the same user coming back.
 * users.c owns the entries; the list is bounded (oldest dropped first).
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

struct users {
	struct departed *departed; /* newest first */
	size_t count;
	int64_t grace_ms;
};

/* Plenty for a server's churn within a grace period; memory stays bounded. */
#define USERS_MAX_DEPARTED 10000

void users_init(struct users *u, int64_t grace_ms);
void users_free(struct users *u);

void users_departed(struct users *u, const char *pseudo, const char *ip,
		    const char *room, uint64_t user_id, int colour, int64_t now_ms);
/* Finds and forgets a departure of `pseudo` from `ip` within the grace
 * period; true with *out filled when there is one. */
bool users_take_return(struct users *u, const char *pseudo, size_t len,
		       const char *ip, int64_t now_ms, struct departed *out);
/* Forgets departures older than the grace period. */
void users_expire(struct users *u, int64_t now_ms);

#endif
