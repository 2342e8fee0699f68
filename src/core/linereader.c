#include "linereader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void linereader_init(struct linereader *lr, size_t max_line)
{
	memset(lr, 0, sizeof(*lr));
	lr->max_line = max_line;
}

void linereader_free(struct linereader *lr)
{
	free(lr->partial);
	lr->partial = NULL;
	lr->partial_len = lr->partial_cap = 0;
	lr->partial_returned = false;
	lr->chunk = NULL;
	lr->chunk_len = lr->chunk_pos = 0;
}

void linereader_feed(struct linereader *lr, const char *data, size_t len)
{
	lr->chunk = data;
	lr->chunk_len = len;
	lr->chunk_pos = 0;
}

static void release_stash(struct linereader *lr)
{
	free(lr->partial);
	lr->partial = NULL;
	lr->partial_len = lr->partial_cap = 0;
	lr->partial_returned = false;
}

/* Stash bytes of an unfinished line; its length is already checked. */
static int stash(struct linereader *lr, const char *data, size_t len)
{
	if (len == 0)
		return 0;
	size_t need = lr->partial_len + len;
	if (need > lr->partial_cap) {
		/* +2 leaves room for a line that ends in "\r" then "\n". */
		size_t cap = lr->partial_cap ? lr->partial_cap : 256;
		while (cap < need)
			cap *= 2;
		if (cap > lr->max_line + 2)
			cap = lr->max_line + 2;
		char *grown = realloc(lr->partial, cap);
		if (grown == NULL)
			return -ENOMEM;
		lr->partial = grown;
		lr->partial_cap = cap;
	}
	memcpy(lr->partial + lr->partial_len, data, len);
	lr->partial_len = need;
	return 0;
}

/* Length of a line once its trailing '\r' (if any) is dropped. */
static size_t without_cr(const char *line, size_t len)
{
	return len > 0 && line[len - 1] == '\r' ? len - 1 : len;
}

int linereader_next(struct linereader *lr, const char **line, size_t *len)
{
	if (lr->partial_returned)
		release_stash(lr);

	size_t left = lr->chunk_len - lr->chunk_pos;
	if (left == 0)
		return 0;
	const char *start = lr->chunk + lr->chunk_pos;
	const char *nl = memchr(start, '\n', left);

	if (nl == NULL) {
		/* A '\r' may still be dropped later, so allow one byte for it. */
		if (lr->partial_len + left > lr->max_line + 1)
			return -E2BIG;
		lr->chunk_pos = lr->chunk_len;
		return stash(lr, start, left);
	}

	size_t seg = (size_t)(nl - start);
	lr->chunk_pos += seg + 1;

	if (lr->partial_len == 0) {
		size_t n = without_cr(start, seg);
		if (n > lr->max_line)
			return -E2BIG;
		*line = start;
		*len = n;
		return 1;
	}

	if (lr->partial_len + seg > lr->max_line + 1)
		return -E2BIG;
	int rc = stash(lr, start, seg);
	if (rc < 0)
		return rc;
	size_t n = without_cr(lr->partial, lr->partial_len);
	if (n > lr->max_line)
		return -E2BIG;
	*line = lr->partial;
	*len = n;
	lr->partial_returned = true;
	return 1;
}

bool linereader_has_partial(const struct linereader *lr)
{
	return lr->partial_len > 0 && !lr->partial_returned;
}

int linereader_take_partial(struct linereader *lr, const char **line, size_t *len)
{
	if (!linereader_has_partial(lr))
		return 0;
	size_t n = without_cr(lr->partial, lr->partial_len);
	if (n > lr->max_line)
		return -E2BIG;
	*line = lr->partial;
	*len = n;
	lr->partial_returned = true;
	return 1;
}
