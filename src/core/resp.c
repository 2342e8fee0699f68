/*
 * resp: hiredis's reader with bounds (see resp.h).
 *
 * The reader is hiredis's own, made by redisReaderCreate, so its replies
 * are hiredis's redisReply objects. Its object functions are wrapped: each
 * object built for the reply under way is charged against the bound before
 * hiredis's default function makes it; refusing one (returning NULL) makes
 * hiredis fail with "out of memory", which is then reported as the bound
 * it was.
 */
#include "resp.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct resp_reader {
	redisReader *r;
	redisReplyObjectFunctions base; /* hiredis's defaults */
	redisReplyObjectFunctions fn;   /* the wrappers, given to r */
	size_t max_bytes;
	size_t built;   /* bytes of the objects made for the reply under way */
	bool over;      /* a wrapper refused an object */
	int failed;     /* the first error, for good */
	const char *cause;
	char errstr[160];
};

/* An object costs its struct and, for strings, its bytes; an array its
 * slots. Counted whole, so a million nils cost what they take. */
static bool charge(struct resp_reader *rd, size_t bytes)
{
	if (bytes > rd->max_bytes || rd->built > rd->max_bytes - bytes) {
		rd->over = true;
		return false;
	}
	rd->built += bytes;
	return true;
}

static void *create_string(const redisReadTask *task, char *str, size_t len)
{
	struct resp_reader *rd = task->privdata;
	if (len > rd->max_bytes || !charge(rd, sizeof(redisReply) + len + 1)) {
		rd->over = true; /* charge sets it too; len alone may be too big */
		return NULL;
	}
	return rd->base.createString(task, str, len);
}

static void *create_array(const redisReadTask *task, int elements)
{
	struct resp_reader *rd = task->privdata;
	size_t n = elements > 0 ? (size_t)elements : 0;
	if (n > rd->max_bytes / sizeof(redisReply *)) {
		rd->over = true;
		return NULL;
	}
	if (!charge(rd, sizeof(redisReply) + n * sizeof(redisReply *)))
		return NULL;
	return rd->base.createArray(task, elements);
}

static void *create_integer(const redisReadTask *task, long long value)
{
	struct resp_reader *rd = task->privdata;
	if (!charge(rd, sizeof(redisReply)))
		return NULL;
	return rd->base.createInteger(task, value);
}

static void *create_nil(const redisReadTask *task)
{
	struct resp_reader *rd = task->privdata;
	if (!charge(rd, sizeof(redisReply)))
		return NULL;
	return rd->base.createNil(task);
}

struct resp_reader *resp_reader_new(size_t max_bytes)
{
	struct resp_reader *rd = calloc(1, sizeof(*rd));
	if (rd == NULL)
		return NULL;
	rd->r = redisReaderCreate();
	if (rd->r == NULL) {
		free(rd);
		return NULL;
	}
	rd->max_bytes = max_bytes < 1024 ? 1024 : max_bytes;
	rd->base = *rd->r->fn;
	rd->fn = rd->base;
	rd->fn.createString = create_string;
	rd->fn.createArray = create_array;
	rd->fn.createInteger = create_integer;
	rd->fn.createNil = create_nil;
	rd->r->fn = &rd->fn;
	/* Not redisReaderSetPrivdata: the macro casts the pointer to int. */
	rd->r->privdata = rd;
	return rd;
}

void resp_reader_free(struct resp_reader *rd)
{
	if (rd == NULL)
		return;
	redisReaderFree(rd->r); /* frees a reply left half made */
	free(rd);
}

static int fail(struct resp_reader *rd, int err, const char *cause)
{
	rd->failed = err;
	rd->cause = cause;
	return err;
}

static size_t unparsed(const struct resp_reader *rd)
{
	return rd->r->len - rd->r->pos;
}

size_t resp_held(const struct resp_reader *rd)
{
	return unparsed(rd) + rd->built;
}

int resp_feed(struct resp_reader *rd, const char *data, size_t len)
{
	if (rd->failed)
		return rd->failed;
	/* resp_next checks after each feed; this catches a caller that feeds
	 * twice without asking. */
	if (resp_held(rd) > rd->max_bytes)
		return fail(rd, -EMSGSIZE, "reply over its size bound");
	if (redisReaderFeed(rd->r, data, len) != REDIS_OK)
		return fail(rd, -ENOMEM, "out of memory");
	return 0;
}

int resp_next(struct resp_reader *rd, redisReply **out, const char **cause)
{
	void *reply = NULL;
	*out = NULL;
	if (rd->failed) {
		*cause = rd->cause;
		return rd->failed;
	}
	if (redisReaderGetReply(rd->r, &reply) != REDIS_OK) {
		int err;
		if (rd->over) {
			err = fail(rd, -EMSGSIZE, "reply over its size bound");
		} else if (rd->r->err == REDIS_ERR_OOM) {
			err = fail(rd, -ENOMEM, "out of memory");
		} else {
			/* hiredis's own words ("Protocol error, got ..."): keep a
			 * copy, the reader's text is the caller's to show. */
			memcpy(rd->errstr, "malformed reply: ", 17);
			size_t n = strnlen(rd->r->errstr, sizeof(rd->r->errstr));
			if (n > sizeof(rd->errstr) - 18)
				n = sizeof(rd->errstr) - 18;
			memcpy(rd->errstr + 17, rd->r->errstr, n);
			rd->errstr[17 + n] = '\0';
			err = fail(rd, -EPROTO, rd->errstr);
		}
		*cause = rd->cause;
		return err;
	}
	if (reply != NULL) {
		rd->built = 0;
		*out = reply;
		return 1;
	}
	/* Nothing whole yet: what is held for the reply under way must stay
	 * in bounds, and the line being read must end within RESP_MAX_LINE
	 * (hiredis looks for its end from the start at every call). */
	if (resp_held(rd) > rd->max_bytes) {
		*cause = "reply over its size bound";
		return fail(rd, -EMSGSIZE, *cause);
	}
	if (unparsed(rd) > RESP_MAX_LINE &&
	    memmem(rd->r->buf + rd->r->pos, RESP_MAX_LINE, "\r\n", 2) == NULL) {
		*cause = "reply line over its bound";
		return fail(rd, -EMSGSIZE, *cause);
	}
	return 0;
}
