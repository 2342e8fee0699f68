/*
 * memtrim: gives back to the system the heap a burst left free.
 *
 * malloc_trim(0) returns the free pages inside the heap, but not those
 * held by glibc's per-thread cache (tcache: up to 7 freed chunks of each
 * size up to 1 KiB, kept for reuse). After a join storm those chunks lie
 * scattered over the heap, one to a page, and keep about 200 KB resident
 * for good (100 B a peer at 2 000 idle peers). They are taken out of the
 * loop thread's cache and freed from a short-lived thread, which has no
 * cache of its own, so that they go back to the heap's free lists; the
 * loop thread's cache fills again on its next allocations.
 *
 * Built with AddressSanitizer (its own allocator, no tcache), only the
 * trim is done.
 */
#ifndef CHATROOM_MEMTRIM_H
#define CHATROOM_MEMTRIM_H

/* Call now and then (the server: every 5 s), from the loop thread. */
void memtrim(void);

#endif
