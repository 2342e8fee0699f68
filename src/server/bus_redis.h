/*
 * bus_redis: the bus of a server among several (bus.h), through Redis
 * (docs/cluster.md has the design and the keys).
 *
 * publish hands the event to Redis's publish script, which numbers it in
 * its room, keeps it in the room's stream and publishes it; nothing is
 * delivered then. Every server, this one included, delivers the room's
 * events as they come back on the subscription, in the room's order, once
 * each (gapfill.h), with ids of its own that grow in that order.
 *
 * An event waits in an outbox, in order, until Redis has numbered it (the
 * acknowledgement); while Redis is out of reach it waits there (bounded)
 * and goes when Redis is back, with the same idempotency key, so that a
 * call whose answer was lost is not published twice. Users are told when
 * the link is lost and when it is back (bus->notice).
 *
 * The struct is its maker's until bus->ops->close, which frees it (the
 * loop must run for its connections to close).
 */
#ifndef CHATROOM_BUS_REDIS_H
#define CHATROOM_BUS_REDIS_H

#include <uv.h>

#include "bus.h"

/* Events waiting for Redis at most (count, and bytes); past either a
 * publish is refused (-ENOBUFS). */
#define BUS_REDIS_OUTBOX_MAX 20000
#define BUS_REDIS_OUTBOX_BYTES (32u << 20)
/* Rooms followed at most (every room of the cluster this server hears). */
#define BUS_REDIS_MAX_ROOMS 65536
/* A pseudo claimed by a server that died is free again after this. */
#define BUS_REDIS_CLAIM_TTL_MS 6000
/* Kept per room in Redis's stream (XADD MAXLEN ~). */
#define BUS_REDIS_STREAM_MAX 1000

/* The words users read (bus->notice). */
#define BUS_REDIS_TEXT_DOWN "Annonce : liaison avec les autres serveurs perdue ; " \
	"vos messages partiront à son retour"
#define BUS_REDIS_TEXT_UP "Annonce : liaison avec les autres serveurs rétablie"
/* Then a number: events Redis's capped stream no longer had when this
 * node came to read them. */
#define BUS_REDIS_TEXT_LOST_FMT "Annonce : %" PRIu64 " messages d'un salon publiés " \
	"pendant la coupure n'ont pas pu être récupérés des autres serveurs"

/* url: redis://[[user]:password@]host[:port][/db]. 0, or a negative errno
 * with *cause. Starts connecting at once. */
int bus_redis_open(struct bus **out, uv_loop_t *loop, const char *url, const char **cause);

#endif
