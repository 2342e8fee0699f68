/*
 * pseudoclaim: a pseudo is held by one user in the whole cluster.
 *
 * A node claims a pseudo's skeleton for one of its connections with a key
 * that expires, pseudo:{<skeleton>} = "<node>:<conn id>" (PX ttl), taken
 * only if free or already its own. It renews the claims of its present
 * users every ttl/3 and at each reconnection to Redis, and deletes a
 * claim (only if still its own) when the user leaves. A node that dies
 * stops renewing: its users' pseudos are free again after ttl at most.
 *
 * A renewal that finds the key taken by somebody else (it expired while
 * Redis was out of reach, and another node took it) reports the claim as
 * lost, once; the claim is then forgotten.
 *
 * The struct owns its claims; it borrows the command connection, which
 * must outlive it. pseudoclaim_close frees it once its timer is closed and
 * every command it sent has been answered.
 */
#ifndef CHATROOM_PSEUDOCLAIM_H
#define CHATROOM_PSEUDOCLAIM_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "redis.h"

struct pseudoclaim;

/* status 0: granted tells whether the pseudo is this connection's now.
 * Otherwise Redis could not say (unreachable, overdue): not granted. */
typedef void (*pseudoclaim_cb)(int status, bool granted, void *data);
/* A claim renewed too late: somebody else holds the pseudo now. */
typedef void (*pseudoclaim_lost_cb)(void *data, const char *skeleton, uint64_t conn_id);

/* node names this server in claim values (at most 64 bytes: its address,
 * a host name). 0, or a negative errno. */
int pseudoclaim_new(struct pseudoclaim **out, uv_loop_t *loop, struct redis *r,
		    const char *node, uint64_t ttl_ms, pseudoclaim_lost_cb lost, void *data);

/* Claims the skeleton for conn_id; cb is called once: with Redis's answer,
 * or UV_ECANCELED when released or closed first. 0, -EEXIST (this node
 * already holds or claims it: no call), or a negative errno (no call). */
int pseudoclaim_take(struct pseudoclaim *pc, const char *skeleton, uint64_t conn_id,
		     pseudoclaim_cb cb, void *data);

/* Gives the skeleton up (if this connection holds or is claiming it). */
void pseudoclaim_release(struct pseudoclaim *pc, const char *skeleton, uint64_t conn_id);

/* Renews every claim now (after Redis came back). */
void pseudoclaim_renew(struct pseudoclaim *pc);

unsigned pseudoclaim_count(const struct pseudoclaim *pc);

/* Releases every claim (best effort); claims under way get UV_ECANCELED;
 * no callback after this. */
void pseudoclaim_close(struct pseudoclaim *pc);

#endif
