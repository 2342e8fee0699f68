#include "wheel.h"

#define WHEEL_MASK (WHEEL_SLOTS - 1)

void wheel_init(struct wheel *w, int64_t now_ms)
{
	for (size_t i = 0; i < WHEEL_SLOTS; i++)
		LIST_INIT(&w->slots[i]);
	w->cursor_ms = now_ms;
	w->count = 0;
}

void wheel_add(struct wheel *w, struct wheel_entry *e, int64_t due_ms)
{
	wheel_remove(w, e);
	e->due_ms = due_ms;
	/* Past due: in the cursor's slot, which the next pop looks at first. */
	int64_t at = due_ms > w->cursor_ms ? due_ms : w->cursor_ms;
	LIST_INSERT_HEAD(&w->slots[(uint64_t)at & WHEEL_MASK], e, link);
	w->count++;
}

void wheel_remove(struct wheel *w, struct wheel_entry *e)
{
	if (!wheel_armed(e))
		return;
	LIST_REMOVE(e, link);
	e->link.le_prev = NULL;
	w->count--;
}

struct wheel_entry *wheel_pop_due(struct wheel *w, int64_t now_ms)
{
	if (w->count == 0) {
		if (now_ms > w->cursor_ms)
			w->cursor_ms = now_ms;
		return NULL;
	}
	/* Slots more than a turn behind hold nothing the last turn's slots
	 * do not: one turn is enough to catch up. */
	if (now_ms - w->cursor_ms >= WHEEL_SLOTS)
		w->cursor_ms = now_ms - WHEEL_SLOTS + 1;
	for (;;) {
		struct wheel_entry *e;
		LIST_FOREACH(e, &w->slots[(uint64_t)w->cursor_ms & WHEEL_MASK], link) {
			if (e->due_ms <= now_ms) {
				wheel_remove(w, e);
				return e;
			}
		}
		/* Nothing more is due in it: on to the next, up to the one
		 * after now (what is added due now goes there, and fires at
		 * the next pop). */
		if (w->cursor_ms > now_ms)
			return NULL;
		w->cursor_ms++;
	}
}

int64_t wheel_next_ms(const struct wheel *w)
{
	if (w->count == 0)
		return -1;
	/* The first slot that holds an entry: its entries are due at its time,
	 * whole turns later, or (in the cursor's slot) already. */
	for (int64_t t = w->cursor_ms; t < w->cursor_ms + WHEEL_SLOTS; t++)
		if (!LIST_EMPTY(&w->slots[(uint64_t)t & WHEEL_MASK]))
			return t;
	return w->cursor_ms; /* not reached: count > 0 */
}
