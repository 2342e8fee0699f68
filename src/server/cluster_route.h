/*
 * cluster_route: private messages (/msg, /reply) to a user of another
 * node (docs/cluster.md, "Private messages"). The pseudo's claim
 * (pseudo:{S} = "<node>:<conn id>", pseudoclaim.h) says which node holds
 * it; one script reads it and publishes the message on that node's
 * channel, "{cluster}:node:<node>", which every node subscribes to. The
 * Operators' /kick and /mute go the same way. The
 * sender hears back once the receiving node's subscription took it (its
 * echo), or the same "nobody of that name" error as on one server.
 *
 * Ownership: the bus's (bus_redis.c), closed before its connections.
 */
#ifndef CHATROOM_CLUSTER_ROUTE_H
#define CHATROOM_CLUSTER_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "redis.h"

struct bus;
struct conn;
struct cluster_route;

/* Private messages out at once, all senders together; and of them from
 * one connection, and from one address (past either refused, said so), so
 * that one sender, or one address's many connections, cannot take them
 * all (the flood control lets --flood-burst through at once, and nothing
 * with --flood-rate 0). */
#define CLUSTER_ROUTE_MAX_OUT 1024
#define CLUSTER_ROUTE_MAX_OUT_PER_CONN 64
#define CLUSTER_ROUTE_MAX_OUT_PER_ADDRESS 256

/* Subscribes sub to this node's channel. The bus's data is the hub. 0, or
 * a negative errno. */
int cluster_route_new(struct cluster_route **out, struct redis *cmd, struct redis *sub,
		      const char *node, struct bus *bus);
/* From c to the user named pseudo (not on this node): kind and text as
 * bus_ops.send_to's. 0: c is answered (now or later: an echo or an
 * error); negative: not sent, and c is to be told there is nobody of that
 * name. The receiving node trusts that c's node checked c may do it (an
 * operator's act): the nodes trust each other and Redis. */
int cluster_route_send(struct cluster_route *cr, struct conn *c, char kind,
		       const char *pseudo, size_t len, const char *text, size_t text_len);
/* A message on a channel of sub that is not a room's: true when it was
 * this node's channel (handled). */
bool cluster_route_message(struct cluster_route *cr, const char *channel, size_t channel_len,
			   const char *payload, size_t len);
void cluster_route_close(struct cluster_route *cr);

#endif
