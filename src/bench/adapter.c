#include "adapter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- chatroom, text protocol ----------------------------------------------- */

static void text_join(int index, const char *room, struct buffer *out)
{
	char line[96];
	int n = room == NULL ? snprintf(line, sizeof(line), "Hello|b%d\n", index)
			     : snprintf(line, sizeof(line), "Hello|b%d\n/join %s\n", index, room);
	buffer_add(out, line, (size_t)n);
}

static void text_say(const char *payload, size_t len, struct buffer *out)
{
	buffer_add(out, payload, len);
	buffer_add(out, "\n", 1);
}

/* Complete lines of data, the unfinished tail kept in st->partial. */
static int each_line(struct parse_state *st, const char *data, size_t len, void *peer,
		     payload_cb on_payload, void (*line_cb)(const char *, size_t, void *, payload_cb))
{
	size_t start = 0;
	for (const char *nl; (nl = memchr(data + start, '\n', len - start)) != NULL;) {
		size_t i = (size_t)(nl - data);
		if (st->partial.len > 0) {
			buffer_add(&st->partial, data + start, i - start);
			line_cb(st->partial.data, st->partial.len, peer, on_payload);
			st->partial.len = 0;
		} else {
			line_cb(data + start, i - start, peer, on_payload);
		}
		start = i + 1;
	}
	if (start < len)
		buffer_add(&st->partial, data + start, len - start);
	return 0;
}

static void text_line(const char *line, size_t len, void *peer, payload_cb on_payload)
{
	static const char said[] = " a dit : ";
	const size_t colon = sizeof(said) - 3; /* where said has its ':' */
	/* Usually the line's first ':' is said's (a pseudo has none), and
	 * then said starts there first: any earlier one has an earlier ':'.
	 * memchr is much cheaper than memmem on every line. */
	const char *c = memchr(line, ':', len);
	const char *p = c != NULL && (size_t)(c - line) >= colon &&
			(size_t)(line + len - c) >= 2 &&
			memcmp(c - colon, said, sizeof(said) - 1) == 0
		? c - colon : memmem(line, len, said, sizeof(said) - 1);
	if (p != NULL) {
		p += sizeof(said) - 1;
		on_payload(peer, p, len - (size_t)(p - line));
	}
}

static int text_feed(struct parse_state *st, const char *data, size_t len, void *peer,
		     payload_cb on_payload)
{
	return each_line(st, data, len, peer, on_payload, text_line);
}

/* ---- chatroom, binary protocol ---------------------------------------------- */

static void binary_join(int index, const char *room, struct buffer *out)
{
	/* Each connection is a new user: an away one's pseudo stays held for
	 * its session (the grace period), so names are never reused, across
	 * --step rounds and runs alike. */
	static unsigned serial;
	char pseudo[32];
	int n = snprintf(pseudo, sizeof(pseudo), "b%d-%x.%x", index, (unsigned)getpid() & 0xffff,
			 ++serial);
	buffer_add(out, WIRE_MAGIC, WIRE_MAGIC_LEN);
	struct wire_msg m = {.type = WIRE_HELLO, .version = WIRE_VERSION,
			     .pseudo = {pseudo, (size_t)n},
			     .room = {room, room == NULL ? 0 : strlen(room)}};
	struct frame *f = wire_encode(&m);
	if (f != NULL)
		buffer_add(out, f->data, f->len);
	frame_unref(f);
}

static void binary_say(const char *payload, size_t len, struct buffer *out)
{
	struct wire_msg m = {.type = WIRE_SAY, .text = {payload, len}};
	struct frame *f = wire_encode(&m);
	if (f != NULL)
		buffer_add(out, f->data, f->len);
	frame_unref(f);
}

static int binary_feed(struct parse_state *st, const char *data, size_t len, void *peer,
		       payload_cb on_payload)
{
	if (!st->frames_ready) {
		wire_decoder_init(&st->frames, WIRE_MAX_FRAME);
		st->frames.skip_text_preamble = true;
		st->frames_ready = true;
	}
	wire_feed(&st->frames, data, len);
	for (;;) {
		uint8_t type;
		struct wire_str frame, text;
		int rc = wire_next_frame(&st->frames, &type, &frame);
		if (rc <= 0)
			return rc;
		/* A MESSAGE is read for its text alone (the payload's header is
		 * what is checked); any other frame is decoded whole, so a
		 * malformed one still stops the run. */
		if (type == WIRE_MESSAGE) {
			if (wire_peek_text(frame.ptr, frame.len, &text) < 0)
				return -1;
			on_payload(peer, text.ptr, text.len);
			continue;
		}
		struct wire_msg m;
		const char *cause;
		uint16_t code;
		if (wire_decode_payload(type, frame.ptr, frame.len, &m, &cause, &code) < 0)
			return -1;
	}
}

/* ---- Redis pub/sub (RESP) ------------------------------------------------------ */

static void redis_join(int index, const char *room, struct buffer *out)
{
	(void)index;
	const char *channel = room == NULL ? "bench" : room;
	char cmd[96];
	int n = snprintf(cmd, sizeof(cmd), "*2\r\n$9\r\nSUBSCRIBE\r\n$%zu\r\n%s\r\n",
			 strlen(channel), channel);
	buffer_add(out, cmd, (size_t)n);
}

static void redis_say(const char *payload, size_t len, struct buffer *out)
{
	char head[64];
	int n = snprintf(head, sizeof(head), "*3\r\n$7\r\nPUBLISH\r\n$5\r\nbench\r\n$%zu\r\n", len);
	buffer_add(out, head, (size_t)n);
	buffer_add(out, payload, len);
	buffer_add(out, "\r\n", 2);
}

/* A pushed message is "*3 $7 message $5 bench $N <payload>"; the replies to
 * SUBSCRIBE and PUBLISH ("*3 ... subscribe", ":N") are skipped. Parsed
 * whole from the stash, as a push's parts may be split across reads. */
static int redis_feed(struct parse_state *st, const char *data, size_t len, void *peer,
		      payload_cb on_payload)
{
	buffer_add(&st->partial, data, len);
	const char *p = st->partial.data, *end = p + st->partial.len;
	static const char push[] = "*3\r\n$7\r\nmessage\r\n$5\r\nbench\r\n$";
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		if ((size_t)(end - p) >= sizeof(push) - 1 && memcmp(p, push, sizeof(push) - 1) == 0) {
			const char *num = p + sizeof(push) - 1;
			const char *crlf = memchr(num, '\r', (size_t)(end - num));
			if (crlf == NULL || end - crlf < 2)
				break;
			size_t n = strtoul(num, NULL, 10);
			const char *body = crlf + 2;
			if ((size_t)(end - body) < n + 2)
				break;
			on_payload(peer, body, n);
			p = body + n + 2;
			continue;
		}
		if (*p == '*') {
			/* Another array (a subscribe reply): skip its elements. */
			long count = strtol(p + 1, NULL, 10);
			const char *q = nl + 1;
			bool whole = true;
			for (long i = 0; i < count && whole; i++) {
				const char *l = memchr(q, '\n', (size_t)(end - q));
				if (l == NULL) {
					whole = false;
					break;
				}
				if (*q == '$') {
					size_t n = strtoul(q + 1, NULL, 10);
					if ((size_t)(end - (l + 1)) < n + 2) {
						whole = false;
						break;
					}
					q = l + 1 + n + 2;
				} else {
					q = l + 1;
				}
			}
			if (!whole)
				break;
			p = q;
			continue;
		}
		p = nl + 1; /* ":N" and "+OK" */
	}
	size_t left = (size_t)(end - p);
	memmove(st->partial.data, p, left);
	st->partial.len = left;
	return 0;
}

static const struct adapter adapters[] = {
	{"chatroom", false, binary_join, binary_say, binary_feed},
	{"chatroom-text", false, text_join, text_say, text_feed},
	{"redis", true, redis_join, redis_say, redis_feed},
};

const struct adapter *adapter_find(const char *name)
{
	for (size_t i = 0; i < sizeof(adapters) / sizeof(adapters[0]); i++)
		if (strcmp(adapters[i].name, name) == 0)
			return &adapters[i];
	return NULL;
}
