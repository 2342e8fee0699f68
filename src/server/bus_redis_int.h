/*
 * bus_redis_int: what bus_redis.c and bus_redis_users.c share, the state
 * of the bus through Redis. Nothing else includes it.
 */
#ifndef CHATROOM_BUS_REDIS_INT_H
#define CHATROOM_BUS_REDIS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "buffer.h"
#include "bus.h"
#include "redis_rooms.h"

/* A node's name: 16 hex digits, random at start. */
#define NODE_LEN 16

struct outgoing;

struct bus_redis {
	struct bus bus; /* first: the bus is the struct */
	struct redis *cmd, *sub;
	struct redis_rooms rooms;
	struct gapfill *gaps;
	struct pseudoclaim *claims;
	struct redis_sessions *sessions; /* made with the first session */
	struct cluster_who *who;
	struct cluster_route *route;
	char node[NODE_LEN + 1];
	uint64_t last_id;    /* the last id given to a delivered event */
	uint64_t published;  /* events handed to Redis: idempotency keys */
	uint64_t came_back;  /* the newest of ours seen delivered: Redis has it */
	size_t followed;
	STAILQ_HEAD(, outgoing) outbox;
	size_t outbox_count, outbox_bytes;
	bool cmd_ready, sub_ready;
	bool told_down;      /* users were told the link is lost */
	bool closing;
	bool warned_rooms;
	uint64_t refused;    /* publishes refused since the outbox was full */
	struct buffer scratch;
};

/* The user half of the bus (bus_redis_users.c): pseudos claimed across
 * servers, and resume sessions kept in Redis. */
void redis_claim(struct bus *b, const char *skeleton, struct conn *c);
void redis_release(struct bus *b, const char *skeleton, struct conn *c);
/* pseudoclaim's: another node's user wears the pseudo of conn_id now. */
void bus_redis_on_lost(void *data, const char *skeleton, uint64_t conn_id);
void redis_session_keep(struct bus *b, struct conn *c, const unsigned char *digest);
void redis_session_away(struct bus *b, struct conn *c, const char *room);
void redis_session_spend(struct bus *b, const unsigned char *digest);
int redis_session_take(struct bus *b, struct conn *c, const unsigned char *digest,
		       bus_session_cb cb, void *data);

#endif
