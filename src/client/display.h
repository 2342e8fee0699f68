/*
 * display: one chat line as the user reads it, the same in every mode:
 *
 *     [14:05] alice a dit : salut
 *     [14:05] Annonce : bob a rejoint la chatroom
 *
 * the time in the user's time zone, the speaker's pseudo in its colour when
 * colours are on (a terminal, and NO_COLOR unset), the lines after the first
 * of a multi-line message indented under the text. Pure: no I/O.
 */
#ifndef CHATROOM_DISPLAY_H
#define CHATROOM_DISPLAY_H

#include <stdbool.h>
#include <stddef.h>

#include "chatline.h"

/* Formats line into out (cap bytes, no terminator) and returns its
 * length; the text is cut at a character boundary if it does not fit.
 * Every field of line must already be sanitised. */
size_t display_format(const struct chat_line *line, bool colour, char *out, size_t cap);

/* Colours on: stdout is a terminal and NO_COLOR is not set. */
bool display_colour_wanted(void);

#endif
