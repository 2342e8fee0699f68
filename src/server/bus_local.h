/*
 * bus_local: the bus of one server alone (bus.h). Event ids are the next
 * of one counter, and every event is delivered at once, on this server.
 * A numbered message (ev->msg_id) is acknowledged at once, and its retries
 * are found in `recent` (idem.h). The struct is its maker's; bus_local_free
 * lets go of what it holds.
 */
#ifndef CHATROOM_BUS_LOCAL_H
#define CHATROOM_BUS_LOCAL_H

#include <stdint.h>

#include "bus.h"

struct idem;

struct bus_local {
	struct bus bus;   /* first: the bus is the struct */
	uint64_t last_id; /* the last event id given */
	struct idem *recent; /* numbered messages published lately (NULL: none yet) */
};

/* Ids go on after last_id (the history file's last). */
void bus_local_init(struct bus_local *b, uint64_t last_id);
void bus_local_free(struct bus_local *b);

#endif
