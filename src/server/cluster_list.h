/*
 * cluster_list: the answers of the cluster's presence scripts
 * (cluster_who.c), read from a Redis reply into bounded entries. Pure (no
 * I/O): fuzzed by fuzz_redis on every reply it reads.
 *
 *   members: an array of bulk strings "<colour>|<label>"
 *   rooms:   an array of bulk strings, alternately a room's name and its
 *            member count (another node's, in decimal)
 *
 *   a private message or an operator's act (cluster_route.c), published
 *   on the receiving node's channel: "<to conn id>\n<kind>\n<to pseudo>\n
 *   <from user id>\n<from colour>\n<from pseudo>\n<text>", kind one of
 *   p (private), k (kick: text the reason), m (mute: "<ms> <duration>")
 *
 * An entry that does not fit (a label or a name too long, a colour or a
 * count out of range, another type) is skipped: a Redis that holds junk
 * costs its entries, never more than `max` of them.
 */
#ifndef CHATROOM_CLUSTER_LIST_H
#define CHATROOM_CLUSTER_LIST_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

/* A member's label (a pseudo, or an anonymous peer's address) and a
 * room's name, at most these many bytes (bigger than the protocols'
 * own bounds: 32-byte pseudos and room names, "[addr]:port" labels). */
#define CLUSTER_LIST_LABEL_MAX 63

struct cluster_member {
	char label[CLUSTER_LIST_LABEL_MAX + 1]; /* sanitised, terminated */
	int colour;                             /* -1..255 */
};

struct cluster_room {
	char name[CLUSTER_LIST_LABEL_MAX + 1];  /* sanitised, terminated */
	size_t count;
};

/* The entries read into out (at most max): their number, or -EPROTO when
 * the reply is not an array. */
long cluster_list_members(const redisReply *r, struct cluster_member *out, size_t max);
long cluster_list_rooms(const redisReply *r, struct cluster_room *out, size_t max);

/* The longest text of a private message (the binary protocol's). */
#define CLUSTER_LIST_TEXT_MAX (16u * 1024)

struct cluster_private {
	uint64_t to_conn_id;
	char kind;                             /* 'p', 'k' or 'm' */
	char to[CLUSTER_LIST_LABEL_MAX + 1];   /* as the sender typed it */
	uint64_t from_user_id;
	int colour;                            /* -1..255 */
	char from[CLUSTER_LIST_LABEL_MAX + 1]; /* sanitised */
	const char *text;                      /* in the payload; not sanitised */
	size_t len;
};

/* 0, or -EPROTO (not one). */
int cluster_list_private(const char *p, size_t len, struct cluster_private *out);

#endif
