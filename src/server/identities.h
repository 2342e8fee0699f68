/*
 * identities: which pseudo belongs to which user identity (issue 16).
 *
 * A terminal client proves its identity at hello with its secret (32
 * bytes, identity.c of the client); the server keeps only the secret's
 * SHA-256, with the pseudo it first came with. From then on that pseudo
 * (and its look-alikes) is that identity's: another is refused it, and
 * the owner is welcomed back, after a server restart too.
 *
 * identities.c owns the table (skeleton -> owner) and its file, next to
 * the history ("<history>.identities", 0640): one "hash<TAB>pseudo" line
 * an owner, rewritten whole under another name and renamed (never half
 * written), at most once a second (identities_flush from the hub's tick)
 * and at the end. Bounded: IDENTITIES_MAX owners; past that, a new
 * identity simply owns nothing.
 */
#ifndef CHATROOM_IDENTITIES_H
#define CHATROOM_IDENTITIES_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#define IDENTITIES_SECRET_LEN 32
#define IDENTITIES_HASH_LEN 32
/* Far more users than one chat server has, a megabyte of file. */
#define IDENTITIES_MAX 10000

struct identities {
	GHashTable *by_skeleton; /* skeleton -> struct identity_owner */
	char *path;              /* NULL: kept in memory only */
	bool dirty;
};

int identities_init(struct identities *ids);
/* Loads `path` (missing: empty) and saves to it from now on. */
int identities_open(struct identities *ids, const char *path);
/* Writes the file if something changed. */
void identities_flush(struct identities *ids);
void identities_free(struct identities *ids);

void identities_hash(const unsigned char secret[IDENTITIES_SECRET_LEN],
		     unsigned char out[IDENTITIES_HASH_LEN]);
/* The hash of whoever owns that skeleton, or NULL. */
const unsigned char *identities_owner(const struct identities *ids, const char *skeleton);
/* hash now owns skeleton (as `pseudo`): 0, or -ENOSPC when full. */
int identities_claim(struct identities *ids, const char *skeleton, const char *pseudo,
		     const unsigned char hash[IDENTITIES_HASH_LEN]);

#endif
