/*
 * conn_extras: what a peer holds only while it uses it (struct
 * conn_extras): its budgets, its pictures being checked, its away and
 * ignores. One block for the three, made at the first need and freed as
 * soon as it holds none: an idle peer pays one pointer for them.
 */
#include "conn.h"

#include "clock.h"
#include "lasting.h"

struct conn_extras *conn_extras(struct conn *c)
{
	if (c->extras == NULL)
		c->extras = lasting_alloc(sizeof(*c->extras));
	return c->extras;
}

void conn_extras_trim(struct conn *c)
{
	const struct conn_extras *x = c->extras;
	if (x != NULL && x->budgets == NULL && x->pictures == NULL && x->social == NULL) {
		lasting_free(c->extras, sizeof(*c->extras));
		c->extras = NULL;
	}
}

struct conn_budgets *conn_budgets(struct conn *c)
{
	struct conn_budgets *b = conn_budgets_held(c);
	if (b != NULL)
		return b;
	struct conn_extras *x = conn_extras(c);
	b = x != NULL ? lasting_alloc(sizeof(*b)) : NULL;
	if (b == NULL) {
		conn_extras_trim(c);
		conn_close(c, "out of memory for its budgets");
		return NULL;
	}
	int64_t now = clock_ms();
	level_init_full(&b->messages, now);
	level_init_full(&b->bytes, now);
	level_init_full(&b->pictures, now);
	level_init_full(&b->room_creations, now);
	x->budgets = b;
	return b;
}

void conn_budgets_forget(struct conn *c)
{
	if (c->extras == NULL)
		return;
	lasting_free(c->extras->budgets, sizeof(*c->extras->budgets));
	c->extras->budgets = NULL;
	conn_extras_trim(c);
}
