/*
 * social: what one user keeps about the others (issue 16): its away text,
 * who last wrote to it in private (/reply), and whom it ignores.
 *
 * social.c owns struct social. A conn has one only once it used one of
 * these commands (c->social, NULL before): most users never do. It goes
 * with the conn's departure (hub_remove). Every part is bounded: the away
 * text (SOCIAL_AWAY_MAX), the ignore list (SOCIAL_IGNORE_MAX entries of a
 * fixed size).
 */
#ifndef CHATROOM_SOCIAL_H
#define CHATROOM_SOCIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;

/* An away text as long as a line of a terminal, twice. */
#define SOCIAL_AWAY_MAX 200
/* Whom one user may ignore at once: more than a room's pests, few
 * enough that checking a message against them costs nothing. */
#define SOCIAL_IGNORE_MAX 64
/* A pseudo as the list shows it (CONN_MAX_PSEUDO). */
#define SOCIAL_PSEUDO_MAX 32

struct social_ignored {
	uint64_t user_id;  /* who it was when ignored (0: not present then) */
	uint64_t skeleton; /* a hash of its pseudo's skeleton (names.h) */
	char pseudo[SOCIAL_PSEUDO_MAX + 1];
};

struct social {
	char away[SOCIAL_AWAY_MAX + 1];          /* "": not away */
	char reply_to[SOCIAL_PSEUDO_MAX + 1];    /* "": nobody wrote in private */
	struct social_ignored ignored[SOCIAL_IGNORE_MAX];
	size_t ignored_count;
	/* The SHA-256 of the identity it proved at hello (identities.h). */
	unsigned char identity[32];
	bool has_identity;
	int64_t muted_until_ms; /* clock_ms; moderation.h */
};

/* c's, made on first use; NULL when out of memory. */
struct social *social_of(struct conn *c);
/* At c's departure. */
void social_free(struct conn *c);

/* The hash the ignore list keeps of a skeleton. */
uint64_t social_hash(const char *skeleton);
/* c ignores the sender (user_id, or the hash of its skeleton). */
bool social_ignores(const struct conn *c, uint64_t user_id, uint64_t skeleton);
/* Adds one: 0, -EEXIST (already there: refreshed), -ENOSPC (full), -ENOMEM. */
int social_ignore(struct conn *c, uint64_t user_id, uint64_t skeleton, const char *pseudo,
		  size_t len);
/* Removes one: 0, or -ENOENT. */
int social_unignore(struct conn *c, uint64_t skeleton);
/* c's away text, or NULL. */
const char *social_away(const struct conn *c);

#endif
