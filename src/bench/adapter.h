/*
 * adapter: what the load generator says and hears for each kind of server:
 * chatroom's binary protocol, chatroom's text protocol, Redis pub/sub. The
 * engine (bench.c) only deals in opaque payloads.
 */
#ifndef CHATROOM_BENCH_ADAPTER_H
#define CHATROOM_BENCH_ADAPTER_H

#include <stdbool.h>
#include <stddef.h>

#include "buffer.h"
#include "wire.h"

/* What a connection keeps between reads. */
struct parse_state {
	struct buffer partial;  /* text and RESP: an unfinished line or reply */
	struct wire_decoder frames;
	bool frames_ready;
};

typedef void (*payload_cb)(void *peer, const char *payload, size_t len);

struct adapter {
	const char *name;
	/* Subscribers are separate from publishers (Redis: a subscribed
	 * connection may not publish). */
	bool separate_publishers;
	/* Bytes that make a subscriber join, named by its index, in room (the
	 * bench's common room when NULL). */
	void (*join)(int index, const char *room, struct buffer *out);
	/* Bytes that make a publisher say payload. */
	void (*say)(const char *payload, size_t len, struct buffer *out);
	/* Feeds received bytes; calls on_payload for each message heard.
	 * Returns -1 when the stream makes no sense. */
	int (*feed)(struct parse_state *st, const char *data, size_t len, void *peer,
		    payload_cb on_payload);
};

const struct adapter *adapter_find(const char *name);

#endif
