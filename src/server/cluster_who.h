/*
 * cluster_who: who is where across the cluster, for /who and /rooms
 * (docs/cluster.md, "Presence"). Each node writes its own members in
 * Redis, every room's on change (checked every CLUSTER_WHO_TICK_MS), and
 * beats: a node that stops beating for ttl is dead, and what it wrote is
 * dropped by the next reader.
 *
 *   {cluster}:nodes          hash: node -> when it is dead (Redis's clock, ms)
 *   {cluster}:who:{R}        hash: "<node>:<label>" -> "<colour>|<label>"
 *   {cluster}:rooms          hash: "<node>|{R}" -> "<count>|<room name>"
 *
 * One hash tag for them all, so that each script's keys share a slot.
 * A question (cluster_who_ask) is answered asynchronously: this node's
 * members as they are now, with the other nodes' as Redis has them.
 *
 * Ownership: the bus's (bus_redis.c), which makes it with its command
 * connection and closes it before that connection.
 */
#ifndef CHATROOM_CLUSTER_WHO_H
#define CHATROOM_CLUSTER_WHO_H

#include <stdint.h>
#include <uv.h>

#include "proto.h"
#include "redis.h"

struct bus;
struct cluster_who;

/* How often this node's rooms are checked for changes. */
#define CLUSTER_WHO_TICK_MS 250
/* Told before a list of this node's members only. */
#define CLUSTER_WHO_TEXT_LOCAL "Annonce : liaison avec les autres serveurs perdue : " \
	"cette liste ne montre que ce serveur"
/* Told instead when the asker has too many questions out already. */
#define CLUSTER_WHO_TEXT_BUSY "Annonce : trop de listes demandées à la fois : " \
	"cette liste ne montre que ce serveur"
/* Questions out at once, all askers together; and of them from one
 * connection, so that one asker cannot take them all (the flood control
 * lets --flood-burst / 2 through at once, and all with --flood-rate 0),
 * and from one address, so that its many connections cannot either.
 * Past any, local answers. */
#define CLUSTER_WHO_MAX_ASKS 256
#define CLUSTER_WHO_MAX_ASKS_PER_CONN 16
#define CLUSTER_WHO_MAX_ASKS_PER_ADDRESS 64

/* The bus's data is the hub (hub_attach_bus), read at each tick. 0, or a
 * negative errno. */
int cluster_who_new(struct cluster_who **out, uv_loop_t *loop, struct redis *r,
		    const char *node, uint64_t ttl_ms, struct bus *bus);
/* Redis is back: everything is written again. */
void cluster_who_ready(struct cluster_who *cw);
/* 0: c gets its answer later (send_list; after CLUSTER_WHO_TEXT_LOCAL
 * with this node's view when Redis fails to answer). Negative: not asked
 * (an anonymous asker; or Redis away, too many out, and c was told
 * CLUSTER_WHO_TEXT_LOCAL; or too many of c's out, and c was told
 * CLUSTER_WHO_TEXT_BUSY): the caller answers with this node's view.
 * room: the room of a CHAT_LIST_WHO. */
int cluster_who_ask(struct cluster_who *cw, struct conn *c, enum chat_list kind,
		    const struct room *room);
void cluster_who_close(struct cluster_who *cw);

#endif
