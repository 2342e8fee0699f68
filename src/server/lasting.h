/*
 * lasting: small objects that live as long as a peer (its entries in the
 * per-address and pseudo counts, its name's key), kept apart from the
 * heap where a join storm's notices come and go. Made among those, each
 * of them would keep a page of freed notices resident (slab.h says why);
 * here they are packed with their like, by size class.
 *
 * A binary peer's protocol state and resume session (binpeer.c, users.c)
 * come from here too, and a room's last events and their ring (room.c).
 *
 * Loop thread only, as everything that uses it.
 */
#ifndef CHATROOM_LASTING_H
#define CHATROOM_LASTING_H

#include <stddef.h>

/* Zeroed; NULL when out of memory. Over LASTING_MAX bytes: malloc's. */
void *lasting_alloc(size_t size);
/* p from lasting_alloc(size), the same size (NULL: nothing). */
void lasting_free(void *p, size_t size);
/* A copy of s, freed with lasting_strfree (a GDestroyNotify); aborts
 * when out of memory, as g_strdup does. */
char *lasting_strdup(const char *s);
void lasting_strfree(void *s);

#define LASTING_MAX 1024

#endif
