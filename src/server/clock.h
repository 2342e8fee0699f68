/*
 * clock: the server's two clocks, one for durations and one for people.
 *
 * clock_ms() never jumps (libuv's monotonic uv_hrtime): every timeout,
 * rate, age and deadline is measured on it, so a wall clock set back or
 * forward (an NTP step, an administrator) neither frees a flooder nor
 * times everybody out. clock_wall_ms() is the time of day, only for what
 * a person reads: the stamps of events (history file, frames, "[hh:mm]").
 */
#ifndef CHATROOM_CLOCK_H
#define CHATROOM_CLOCK_H

#include <stdint.h>

/* Milliseconds on a clock that only goes forward (not the time of day). */
int64_t clock_ms(void);
/* Milliseconds since the epoch (CLOCK_REALTIME): event stamps only. */
int64_t clock_wall_ms(void);

#endif
