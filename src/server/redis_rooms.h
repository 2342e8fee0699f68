/*
 * redis_rooms: a room's keys in Redis and the commands on them, for the
 * Redis bus (docs/cluster.md has the layout):
 *
 *   {R}:meta               hash: seq, the room's last sequence number; epoch,
 *                          when that numbering began
 *   {R}:log                stream of the room's events, entry <seq>-0 {e: event,
 *                          x: epoch}
 *   {R}:idem:<key>         the seq given to a sender's message (60 s)
 *   {R}:events             the channel each event is published on,
 *                          "<epoch>:<seq>|<event>"
 *   pseudo:{S}             "<node>:<conn id>": who holds the pseudo of skeleton S
 *
 * R is the room's identity (its skeleton) with '{', '}', '%', ':', spaces
 * and control bytes written %XX, so that R never ends a hash tag early and
 * two rooms never share a key. Every key of a room hashes on R: one Redis
 * Cluster slot per room.
 *
 * An event is opaque here: the bus gives and takes its bytes (the history
 * file's JSON record, written with the event's id 0; the seq is its id).
 * A numbering (epoch, the microsecond it began, by Redis's clock) lasts as
 * long as Redis keeps the room's keys; a Redis that lost them starts the
 * room at seq 1 again under another epoch (redis_publish.lua).
 *
 * The struct is its owner's; it borrows the command connection.
 */
#ifndef CHATROOM_REDIS_ROOMS_H
#define CHATROOM_REDIS_ROOMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redis.h"
#include "redis_script.h"

/* The longest escaped key: a skeleton of NAMES_SKELETON_MAX bytes, each
 * written %XX at worst, the braces and the longest suffix. */
#define REDIS_ROOMS_KEY_MAX (160 * 3 + 2 + 8 + 128)

struct redis_rooms {
	struct redis *r;
	struct redis_script publish; /* redis_publish.lua */
	unsigned long stream_max;    /* XADD MAXLEN ~ */
	unsigned idem_ttl_s;
};

/* The script's text, embedded at build time (cmake/embed.cmake). */
extern const char redis_publish_lua[];
extern const size_t redis_publish_lua_len;

/* Also has the publish script loaded with each connection of r (the
 * command connection, just opened). 0, or a negative errno. */
int redis_rooms_init(struct redis_rooms *rr, struct redis *r, unsigned long stream_max,
		     unsigned idem_ttl_s);

/* "{R}<suffix>" into out (cap bytes, terminated): its length, or
 * -ENAMETOOLONG. */
int redis_rooms_key(char *out, size_t cap, const char *room, const char *suffix);

/* "pseudo:{S}", the cluster-wide claim of a pseudo whose skeleton is S
 * (pseudoclaim.h): its length, or -ENAMETOOLONG. */
int redis_rooms_pseudo_key(char *out, size_t cap, const char *skeleton);

/* The room of a channel "{R}:events" (unescaped into out): its length, or
 * -EINVAL for a channel that is not a room's. */
int redis_rooms_from_channel(const char *channel, size_t len, char *out, size_t cap);

/* A channel message "<epoch>:<seq>|<event>": 0, or -EINVAL. */
int redis_rooms_parse_message(const char *msg, size_t len, uint64_t *epoch, uint64_t *seq,
			      const char **event, size_t *event_len);

/* status 0: seq given (duplicate: the message's idempotency key had been
 * seen, nothing was published again). Otherwise an error and its cause
 * (which may quote Redis: sanitise it before logging). */
typedef void (*redis_rooms_published_cb)(int status, uint64_t epoch, uint64_t seq,
					 bool duplicate, const char *cause, void *data);

/* Publishes an event in a room: next seq, stream, channel, in one script.
 * idem (NULL or "" for none) names the sender's message, for instance
 * "<user id>:<message id>". 0 (cb called once), or an error and no call. */
int redis_rooms_publish(struct redis_rooms *rr, const char *room, const char *idem,
			const char *event, size_t len, redis_rooms_published_cb cb, void *data);

struct redis_rooms_entry {
	uint64_t epoch;
	uint64_t seq;
	const char *event;
	size_t len;
};

/* Entries in seq order, valid during the call; full: count entries came,
 * there may be more. */
typedef void (*redis_rooms_range_cb)(int status, const struct redis_rooms_entry *e, size_t n,
				     bool full, const char *cause, void *data);

/* The room's entries from..to (to 0: the newest), at most count. */
int redis_rooms_fetch(struct redis_rooms *rr, const char *room, uint64_t from, uint64_t to,
		      unsigned count, redis_rooms_range_cb cb, void *data);

/* The room's epoch and last seq (both 0 for a room never published in). */
typedef void (*redis_rooms_seq_cb)(int status, uint64_t epoch, uint64_t seq, const char *cause,
				   void *data);
int redis_rooms_last(struct redis_rooms *rr, const char *room, redis_rooms_seq_cb cb, void *data);

#endif
