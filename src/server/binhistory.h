/*
 * binhistory: the binary protocol's HISTORY and FOUND frames (binhistory.c),
 * binpeer_proto's send_history and send_found (proto.h).
 */
#ifndef CHATROOM_BINHISTORY_H
#define CHATROOM_BINHISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct event;
struct room;

/* The room's history for c: all it may see (after_id 0), or only the
 * events after after_id that it did not send itself. */
void binhistory_send(struct conn *c, struct room *room, uint64_t after_id);
/* The results of a search for query: count records, cut when more matched. */
void binhistory_send_found(struct conn *c, const char *query,
			   const struct event *const *found, size_t count, bool cut);

#endif
