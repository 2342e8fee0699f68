/*
 * resp: Redis replies read from bytes, within limits (RESP2).
 *
 * hiredis's reader (read.h) does the parsing; this module adds the bounds
 * it lacks. hiredis buffers whatever it is fed and builds a reply of any
 * size: a "$4000000000" bulk or a "*2000000000" array from a hostile or
 * broken peer would make it swallow memory (and an unterminated status
 * line makes it rescan its whole buffer at every feed). Here a reply,
 * counting what is still unparsed and the objects already built for it,
 * stays under max_bytes, a line under RESP_MAX_LINE, and nesting under
 * hiredis's own 7 levels; past any of them the reader fails for good and
 * its connection must be dropped.
 *
 * No I/O: feed bytes, take replies. A reply returned by resp_next is the
 * caller's, freed with freeReplyObject(). The reader is its creator's.
 */
#ifndef CHATROOM_RESP_H
#define CHATROOM_RESP_H

#include <stddef.h>

#include <hiredis/hiredis.h>

/* The longest status, error or integer line, and the longest header of a
 * bulk or array: Redis's own are a few hundred bytes at most. */
#define RESP_MAX_LINE (64u * 1024)

struct resp_reader;

/* A reader whose replies stay under max_bytes (at least 1 KiB); NULL when
 * out of memory. */
struct resp_reader *resp_reader_new(size_t max_bytes);
void resp_reader_free(struct resp_reader *rd);

/* Takes len bytes read from the peer. 0, or a negative errno once the
 * reader has failed (see resp_next). What is held stays under max_bytes
 * plus one feed: feed what one read gave, then take the replies. */
int resp_feed(struct resp_reader *rd, const char *data, size_t len);

/*
 * The next whole reply: 1 with *out set, 0 when more bytes are needed, or
 * a negative errno with *cause set to a text that lives as long as the
 * reader: -EMSGSIZE for a reply
 * or line over its bound, -EPROTO for bytes that are not RESP (nesting
 * too deep included), -ENOMEM. After an error every call fails the same.
 */
int resp_next(struct resp_reader *rd, redisReply **out, const char **cause);

/* Bytes held for the reply under way (unparsed input and built objects). */
size_t resp_held(const struct resp_reader *rd);

#endif
