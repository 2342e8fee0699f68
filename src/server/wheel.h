/*
 * wheel: every conn's one deadline, on one timer (a hashed timing wheel).
 *
 * A uv_timer_t for each peer is 152 bytes that an idle peer never uses
 * (its deadlines only run while it connects, sends a partial line or a
 * large frame, or closes). Here a peer keeps a 24-byte entry instead, and
 * the owner (conn.c) drives the whole wheel from a single uv_timer_t.
 *
 * Times are in milliseconds on any clock that only goes forward; the
 * wheel is told the time (wheel_pop_due), so it is tested without a loop.
 * Slots are one millisecond wide: WHEEL_SLOTS of them make one turn, and
 * a later deadline waits in its slot for as many turns as it needs. Adding
 * and removing are O(1); an entry fires no earlier than its due time.
 */
#ifndef CHATROOM_WHEEL_H
#define CHATROOM_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#define WHEEL_SLOTS 256 /* a power of two: slots are found by mask */

struct wheel_entry {
	LIST_ENTRY(wheel_entry) link; /* le_prev is NULL while not armed */
	int64_t due_ms;
};

LIST_HEAD(wheel_slot, wheel_entry);

struct wheel {
	struct wheel_slot slots[WHEEL_SLOTS];
	int64_t cursor_ms; /* every slot before it has been emptied of what is due */
	size_t count;
};

void wheel_init(struct wheel *w, int64_t now_ms);
static inline bool wheel_armed(const struct wheel_entry *e)
{
	return e->link.le_prev != NULL;
}
/* Arms e for due_ms (moving it if it was armed). A time already past
 * fires at the next wheel_pop_due. */
void wheel_add(struct wheel *w, struct wheel_entry *e, int64_t due_ms);
/* Disarms e; nothing if it was not armed. */
void wheel_remove(struct wheel *w, struct wheel_entry *e);
/* One entry due at now_ms or before, disarmed, or NULL when none is left:
 * call it until NULL (what the caller does in between may add and remove
 * entries). */
struct wheel_entry *wheel_pop_due(struct wheel *w, int64_t now_ms);
/* When to look again: no later than the earliest due time (the start of
 * the first slot that holds an entry), or -1 when the wheel is empty. */
int64_t wheel_next_ms(const struct wheel *w);

#endif
