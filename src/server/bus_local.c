#include "bus_local.h"

#include <stddef.h>

#include "clock.h"
#include "event.h"
#include "idem.h"

static void ack(struct bus *b, uint64_t conn_id, uint64_t msg_id, uint64_t event_id)
{
	if (b->acked != NULL)
		b->acked(b->data, conn_id, msg_id, event_id);
}

static int local_publish(struct bus *b, struct room *room, struct event *ev,
			 uint64_t except_conn_id)
{
	struct bus_local *local = (struct bus_local *)b;
	bool numbered = ev->msg_id != 0 && ev->sender_key != NULL;
	uint64_t first;
	if (numbered && local->recent == NULL)
		local->recent = idem_new(IDEM_MAX, BUS_IDEM_MS);
	if (numbered && local->recent != NULL &&
	    idem_find(local->recent, ev->sender_key, ev->msg_id, clock_ms(), &first)) {
		ack(b, except_conn_id, ev->msg_id, 0); /* a retry: published already */
		return 0;
	}
	uint64_t msg_id = ev->msg_id;
	ev->id = ++local->last_id;
	b->deliver(b->data, room, ev, except_conn_id);
	if (numbered) {
		/* Delivered: in the rooms, and queued to the history file. */
		if (local->recent != NULL)
			idem_add(local->recent, ev->sender_key, msg_id, ev->id, clock_ms());
		/* Unless deliver took it over (held until on disk: it acks then). */
		if (ev->msg_id != 0)
			ack(b, except_conn_id, ev->msg_id, ev->id);
	}
	return 0;
}

static void local_close(struct bus *b)
{
	b->deliver = NULL;
}

static const struct bus_ops local_ops = {
	.publish = local_publish,
	.close = local_close,
};

void bus_local_init(struct bus_local *b, uint64_t last_id)
{
	b->bus = (struct bus){.ops = &local_ops};
	b->last_id = last_id;
	b->recent = NULL;
}

void bus_local_free(struct bus_local *b)
{
	idem_free(b->recent);
	b->recent = NULL;
}
