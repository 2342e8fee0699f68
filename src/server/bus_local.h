/*
 * bus_local: the bus of one server alone (bus.h). Event ids are the next
 * of one counter, and every event is delivered at once, on this server.
 * The struct is its maker's; it holds nothing to free.
 */
#ifndef CHATROOM_BUS_LOCAL_H
#define CHATROOM_BUS_LOCAL_H

#include <stdint.h>

#include "bus.h"

struct bus_local {
	struct bus bus;   /* first: the bus is the struct */
	uint64_t last_id; /* the last event id given */
};

/* Ids go on after last_id (the history file's last). */
void bus_local_init(struct bus_local *b, uint64_t last_id);

#endif
