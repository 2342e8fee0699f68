/*
 * binresume: a binary peer's HELLO with a resume token (docs/protocol.md,
 * "Resume"), on one server or any node of a cluster (redis_sessions.h).
 *
 * Standalone, the token is looked up in this server's sessions (users.h).
 * In a cluster, the session is taken from Redis first (the token is spent
 * there, once, and the pseudo's claim comes with it, even from a node
 * that died): the user is welcomed back as itself on any node, and, since
 * event ids are per node, gets the room's whole history (its client keeps
 * only what it had not shown). Redis out of reach: this server's sessions
 * only, as standalone. Every session a binary peer opens is kept for the
 * cluster too (binresume_keep).
 */
#ifndef CHATROOM_BINRESUME_H
#define CHATROOM_BINRESUME_H

#include <stdbool.h>

#include "wire.h"

struct conn;
struct hub;

/* m is a HELLO with a token. True when the answer waits for the cluster
 * (binpeer_resume_done is called once it is given); false when c was
 * answered already (welcomed back, or refused). */
bool binresume_hello(struct hub *h, struct conn *c, const struct wire_msg *m);

/* c's session (c->session) is kept for every node while c is here. */
void binresume_keep(struct hub *h, struct conn *c);

/* binpeer.c's: the WELCOME, and the end of a resume that waited. */
void binpeer_welcome(struct conn *c, bool returning, const unsigned char *token);
void binpeer_resume_done(struct conn *c);

#endif
