#include "bus_local.h"

#include <stddef.h>

#include "event.h"

static int local_publish(struct bus *b, struct room *room, struct event *ev,
			 uint64_t except_conn_id)
{
	struct bus_local *local = (struct bus_local *)b;
	ev->id = ++local->last_id;
	b->deliver(b->data, room, ev, except_conn_id);
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
}
