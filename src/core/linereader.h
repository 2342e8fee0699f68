/*
 * linereader: splits a byte stream into lines, without I/O.
 *
 * Bytes are fed a chunk at a time (usually straight from a loop-wide read
 * buffer); complete lines are returned pointing into that chunk, so the
 * common case copies nothing. Only a line split across chunks is stashed,
 * in a buffer the reader owns and frees as soon as the line is complete:
 * an idle connection holds no buffer. A line is bounded by max_line bytes.
 *
 * Lines end at '\n'; a '\r' just before it is dropped.
 */
#ifndef CHATROOM_LINEREADER_H
#define CHATROOM_LINEREADER_H

#include <stdbool.h>
#include <stddef.h>

struct linereader {
	size_t max_line;
	/* The unfinished line carried over from earlier chunks. */
	char *partial;
	size_t partial_len;
	size_t partial_cap;
	/* Set when the last line returned was the stash: clear it next call. */
	bool partial_returned;
	/* The chunk being split; borrowed from the caller until it is used up. */
	const char *chunk;
	size_t chunk_len;
	size_t chunk_pos;
};

void linereader_init(struct linereader *lr, size_t max_line);
void linereader_free(struct linereader *lr);

/* The chunk must stay valid until linereader_next() returns 0 or an error. */
void linereader_feed(struct linereader *lr, const char *data, size_t len);

/*
 * Returns 1 with the next line in *line and *len (valid until the next call),
 * 0 when the chunk is used up (any unfinished tail is stashed),
 * -E2BIG when a line passes max_line, -ENOMEM when the stash cannot grow.
 */
int linereader_next(struct linereader *lr, const char **line, size_t *len);

/* True when an unfinished line is waiting for its '\n'. */
bool linereader_has_partial(const struct linereader *lr);

/*
 * Hands out the unfinished line as if its '\n' had arrived (for peers that
 * never send one). Returns 1 with the line, or 0 when there is none.
 */
int linereader_take_partial(struct linereader *lr, const char **line, size_t *len);

#endif
