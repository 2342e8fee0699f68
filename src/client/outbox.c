/*
 * outbox: messages said and not yet acknowledged (see outbox.h). At most
 * a few hundred, acknowledged mostly oldest first: an array kept in order.
 */
#include "outbox.h"

#include <stdlib.h>
#include <string.h>

void outbox_init(struct outbox *o, uint64_t first_id)
{
	memset(o, 0, sizeof(*o));
	o->next_id = first_id != 0 ? first_id : 1;
}

static void drop(struct outbox *o, size_t i)
{
	o->bytes -= o->msgs[i].text_len;
	free(o->msgs[i].room);
	free(o->msgs[i].text);
	memmove(&o->msgs[i], &o->msgs[i + 1], (o->count - i - 1) * sizeof(o->msgs[0]));
	o->count--;
}

void outbox_free(struct outbox *o)
{
	while (o->count > 0)
		drop(o, o->count - 1);
}

uint64_t outbox_add(struct outbox *o, const char *room, size_t room_len, const char *text,
		    size_t len)
{
	if (o->count == OUTBOX_MAX || o->bytes + len > OUTBOX_BYTES)
		return 0;
	struct outbox_msg *m = &o->msgs[o->count];
	m->room = strndup(room, room_len);
	m->text = malloc(len + 1);
	if (m->room == NULL || m->text == NULL) {
		free(m->room);
		free(m->text);
		return 0;
	}
	memcpy(m->text, text, len);
	m->text[len] = '\0';
	m->text_len = len;
	m->id = o->next_id++;
	if (o->next_id == 0)
		o->next_id = 1; /* 0 is "no id" */
	o->count++;
	o->bytes += len;
	return m->id;
}

bool outbox_ack(struct outbox *o, uint64_t id)
{
	for (size_t i = 0; i < o->count; i++) {
		if (o->msgs[i].id == id) {
			drop(o, i);
			return true;
		}
	}
	return false;
}
