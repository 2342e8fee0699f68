/*
 * moderation: operators and bans (issue 16), and the handlers of /kick,
 * /mute, /ban, /unban and /bans (rows in commands.c).
 *
 * Operators are listed by identity in a file (--operators): one SHA-256 of
 * an identity a line, in hex, as "<history>.identities" shows it; '#'
 * starts a comment. A peer is an operator when the identity it proved at
 * hello (identities.h) is listed.
 *
 * A ban holds an identity (when the banned peer had one) and an address,
 * an end (0: never) and a reason; it refuses a hello from either, with its
 * reason. moderation.c owns the list and its file, "<history>.bans" next
 * to the history (0640, rewritten whole and renamed, at each change): at
 * most MODERATION_BANS_MAX bans, MODERATION_OPERATORS_MAX operators.
 */
#ifndef CHATROOM_MODERATION_H
#define CHATROOM_MODERATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct hub;

#define MODERATION_OPERATORS_MAX 1000
#define MODERATION_BANS_MAX 1000
#define MODERATION_REASON_MAX 200

/* Loads the operators (path NULL: none) and the bans next to the history
 * (history NULL: in memory only). 0, or -errno for an unreadable list of
 * operators. */
int moderation_open(const char *operators, const char *history);
void moderation_close(void);

bool moderation_is_operator(const struct conn *c);
/* The reason c is banned (identity or address), or NULL. */
const char *moderation_banned(const struct conn *c, const unsigned char *identity);

void moderation_kick(struct hub *h, struct conn *c, const char *arg, size_t len);
void moderation_mute(struct hub *h, struct conn *c, const char *arg, size_t len);
void moderation_ban(struct hub *h, struct conn *c, const char *arg, size_t len);
void moderation_unban(struct hub *h, struct conn *c, const char *arg, size_t len);
void moderation_bans(struct hub *h, struct conn *c, const char *arg, size_t len);
/* Another server's operator `by` kicked or muted who, a user of this
 * one (cluster_route.c); and the operator's confirmation of a mute done
 * there. */
void moderation_kick_here(struct conn *who, const char *by, const char *reason, size_t len);
void moderation_mute_here(struct conn *who, const char *by, int64_t ms, const char *typed,
			  size_t typed_len);
void moderation_mute_done(struct conn *c, const char *pseudo, const char *typed, size_t len);
/* c may not speak now (muted): told so. */
/* A ban by another node's operator of who, here (ms 0: for ever): recorded
 * in this node's bans, and who put out. */
void moderation_ban_here(struct conn *who, const char *by, int64_t ms, const char *reason,
			 size_t len);
bool moderation_muted(struct conn *c);

#endif
