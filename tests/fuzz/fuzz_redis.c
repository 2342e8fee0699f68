/*
 * The bounded RESP reader (resp.c around hiredis's reader) on arbitrary
 * bytes, fed in arbitrary pieces, next to the same reader with a generous
 * bound: it must never read out of bounds, leak or hold more than its
 * bound and one piece; while it stays within its bound it must read
 * exactly the replies the generous one reads; once it fails, for good.
 * The same bytes go through the Redis URL parser, the parser of a
 * resume session's value (redis_sessions.h): what it accepts must write
 * back to the same bytes; every reply read goes through the presence
 * answers' readers (cluster_list.h); the bytes are also read as a private
 * message from another node.
 *
 * hiredis itself is Debian's build, not instrumented for coverage: the
 * fuzzer is guided by our side, ASan still watches hiredis's allocations.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_list.h"
#include "redis.h"
#include "redis_sessions.h"
#include "resp.h"

#define FUZZ_SMALL 2048
#define FUZZ_LARGE (1u << 20)

static int same(const redisReply *a, const redisReply *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case REDIS_REPLY_INTEGER:
		return a->integer == b->integer;
	case REDIS_REPLY_NIL:
		return 1;
	case REDIS_REPLY_ARRAY:
		if (a->elements != b->elements)
			return 0;
		for (size_t i = 0; i < a->elements; i++)
			if (a->element[i] == NULL || b->element[i] == NULL ||
			    !same(a->element[i], b->element[i]))
				return 0;
		return 1;
	default:
		return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
	}
}

/* The presence readers: never more than asked, labels terminated. */
static void read_lists(const redisReply *r)
{
	struct cluster_member m[4];
	struct cluster_room rooms[4];
	long n = cluster_list_members(r, m, 4);
	if (n > 4)
		abort();
	for (long i = 0; i < n; i++)
		if (strlen(m[i].label) > CLUSTER_LIST_LABEL_MAX || m[i].colour < -1 ||
		    m[i].colour > 255)
			abort();
	n = cluster_list_rooms(r, rooms, 4);
	if (n > 4)
		abort();
	for (long i = 0; i < n; i++)
		if (strlen(rooms[i].name) > CLUSTER_LIST_LABEL_MAX)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	struct redis_url url;
	const char *cause;
	(void)redis_url_parse(text, &url, &cause);
	struct redis_session session;
	if (redis_session_parse((const char *)data + 1, size - 1, &session) == 0) {
		char again[REDIS_SESSION_MAX_BYTES + 1];
		size_t n = redis_session_format(&session, again, sizeof(again));
		/* Hex digits may come back in the other case: compare as read. */
		struct redis_session back;
		if (n == 0 || redis_session_parse(again, n, &back) != 0 ||
		    memcmp(&back, &session, sizeof(back)) != 0)
			abort();
	}
	free(text);
	struct cluster_private pm;
	if (cluster_list_private((const char *)data, size, &pm) == 0 &&
	    (pm.text < (const char *)data || pm.text + pm.len != (const char *)data + size ||
	     pm.len > CLUSTER_LIST_TEXT_MAX || strlen(pm.from) > CLUSTER_LIST_LABEL_MAX ||
	     strlen(pm.to) > CLUSTER_LIST_LABEL_MAX))
		abort();

	size_t piece = 1 + data[0] % 128;
	data++;
	size--;
	struct resp_reader *small = resp_reader_new(FUZZ_SMALL);
	struct resp_reader *large = resp_reader_new(FUZZ_LARGE);
	int small_rc = 0, large_rc = 0;
	for (size_t pos = 0; pos < size;) {
		size_t n = size - pos < piece ? size - pos : piece;
		if (small_rc >= 0)
			small_rc = resp_feed(small, (const char *)data + pos, n);
		if (large_rc >= 0)
			large_rc = resp_feed(large, (const char *)data + pos, n);
		pos += n;
		for (;;) {
			redisReply *a = NULL, *b = NULL;
			if (small_rc >= 0)
				small_rc = resp_next(small, &a, &cause);
			if (large_rc >= 0)
				large_rc = resp_next(large, &b, &cause);
			if (small_rc == 1 && large_rc == 1 && !same(a, b))
				abort(); /* the bound changed a reply */
			if (small_rc == 1 && large_rc != 1)
				abort(); /* the small one read what the large could not */
			if (large_rc == 1)
				read_lists(b);
			freeReplyObject(a);
			freeReplyObject(b);
			if (small_rc != 1 && large_rc != 1)
				break;
			if (small_rc == 1)
				small_rc = 0;
			if (large_rc == 1)
				large_rc = 0;
		}
		/* A malformed input fails the large one: the small one too, or it
		 * had failed on a bound already. */
		if (large_rc < 0 && large_rc != -EMSGSIZE && small_rc >= 0)
			abort();
		if (small_rc >= 0 && resp_held(small) > FUZZ_SMALL + piece)
			abort();
	}
	resp_reader_free(small);
	resp_reader_free(large);
	return 0;
}
