/*
 * redis_rooms: a room's keys and commands in Redis (see redis_rooms.h).
 */
#include "redis_rooms.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An idempotency name longer than this is refused: "<id>:<id>" of two
 * 64-bit numbers fits, and a sender key (msgack.h) with a message id. */
#define REDIS_ROOMS_IDEM_MAX 64

int redis_rooms_init(struct redis_rooms *rr, struct redis *r, unsigned long stream_max,
		     unsigned idem_ttl_s)
{
	rr->r = r;
	rr->stream_max = stream_max;
	rr->idem_ttl_s = idem_ttl_s;
	redis_script_init(&rr->publish, redis_publish_lua, redis_publish_lua_len);
	return redis_script_load(r, &rr->publish);
}

static bool plain_byte(unsigned char c)
{
	return c > ' ' && c != 0x7f && c != '{' && c != '}' && c != '%' && c != ':';
}

/* Appends the escaped form of s; false when it does not fit. */
static bool escape(char *out, size_t cap, size_t *n, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (plain_byte(c)) {
			if (*n + 1 >= cap)
				return false;
			out[(*n)++] = (char)c;
		} else {
			if (*n + 3 >= cap)
				return false;
			out[(*n)++] = '%';
			out[(*n)++] = hex[c >> 4];
			out[(*n)++] = hex[c & 15];
		}
	}
	return true;
}

static bool append(char *out, size_t cap, size_t *n, const char *s)
{
	size_t len = strlen(s);
	if (*n + len >= cap)
		return false;
	memcpy(out + *n, s, len);
	*n += len;
	return true;
}

int redis_rooms_key(char *out, size_t cap, const char *room, const char *suffix)
{
	size_t n = 0;
	if (!append(out, cap, &n, "{") || !escape(out, cap, &n, room, strlen(room)) ||
	    !append(out, cap, &n, "}") || !append(out, cap, &n, suffix))
		return -ENAMETOOLONG;
	out[n] = '\0';
	return (int)n;
}

int redis_rooms_pseudo_key(char *out, size_t cap, const char *skeleton)
{
	size_t n = 0;
	if (!append(out, cap, &n, "pseudo:{") ||
	    !escape(out, cap, &n, skeleton, strlen(skeleton)) || !append(out, cap, &n, "}"))
		return -ENAMETOOLONG;
	out[n] = '\0';
	return (int)n;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int redis_rooms_from_channel(const char *channel, size_t len, char *out, size_t cap)
{
	static const char tail[] = "}:events";
	size_t tl = sizeof(tail) - 1;
	if (len < 1 + tl || channel[0] != '{' || memcmp(channel + len - tl, tail, tl) != 0)
		return -EINVAL;
	size_t n = 0;
	for (size_t i = 1; i < len - tl; i++) {
		unsigned char c = (unsigned char)channel[i];
		if (c == '%') {
			if (i + 2 >= len - tl)
				return -EINVAL;
			int hi = hex_digit(channel[i + 1]), lo = hex_digit(channel[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (unsigned char)(hi * 16 + lo);
			if (plain_byte(c) || c == 0)
				return -EINVAL; /* one room, one spelling */
			i += 2;
		} else if (!plain_byte(c)) {
			return -EINVAL;
		}
		if (n + 1 >= cap)
			return -EINVAL;
		out[n++] = (char)c;
	}
	if (n == 0)
		return -EINVAL;
	out[n] = '\0';
	return (int)n;
}

/* A decimal uint64 of digits only, no sign, no leading zero (but "0"). */
static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

int redis_rooms_parse_message(const char *msg, size_t len, uint64_t *epoch, uint64_t *seq,
			      const char **event, size_t *event_len)
{
	const char *colon = memchr(msg, ':', len < 21 ? len : 21);
	if (colon == NULL || !parse_u64(msg, (size_t)(colon - msg), epoch) || *epoch == 0)
		return -EINVAL;
	size_t rest = len - (size_t)(colon - msg) - 1;
	const char *bar = memchr(colon + 1, '|', rest < 21 ? rest : 21);
	if (bar == NULL || !parse_u64(colon + 1, (size_t)(bar - colon - 1), seq) || *seq == 0)
		return -EINVAL;
	*event = bar + 1;
	*event_len = len - (size_t)(bar - msg) - 1;
	return 0;
}

/* ---- publish ----------------------------------------------------------- */

struct publish_call {
	redis_rooms_published_cb cb;
	void *data;
};

static void on_published(struct redis *r, int status, redisReply *x, void *data)
{
	struct publish_call c = *(struct publish_call *)data;
	free(data);
	(void)r;
	uint64_t epoch;
	if (status < 0) {
		c.cb(status, 0, 0, false, uv_strerror(status), c.data);
		return;
	}
	if (x->type == REDIS_REPLY_ERROR) {
		c.cb(UV_EPROTO, 0, 0, false, x->str, c.data);
		return;
	}
	if (x->type != REDIS_REPLY_ARRAY || x->elements != 3 ||
	    x->element[0]->type != REDIS_REPLY_INTEGER || x->element[0]->integer <= 0 ||
	    x->element[1]->type != REDIS_REPLY_INTEGER ||
	    x->element[2]->type != REDIS_REPLY_STRING ||
	    !parse_u64(x->element[2]->str, x->element[2]->len, &epoch) || epoch == 0) {
		c.cb(UV_EPROTO, 0, 0, false, "the publish script answered something else", c.data);
		return;
	}
	c.cb(0, epoch, (uint64_t)x->element[0]->integer, x->element[1]->integer != 0, NULL,
	     c.data);
}

int redis_rooms_publish(struct redis_rooms *rr, const char *room, const char *idem,
			const char *event, size_t len, redis_rooms_published_cb cb, void *data)
{
	char meta[REDIS_ROOMS_KEY_MAX], log[REDIS_ROOMS_KEY_MAX], chan[REDIS_ROOMS_KEY_MAX];
	char idem_key[REDIS_ROOMS_KEY_MAX], maxlen[24], ttl[16];
	bool has_idem = idem != NULL && idem[0] != '\0';
	if (redis_rooms_key(meta, sizeof(meta), room, ":meta") < 0 ||
	    redis_rooms_key(log, sizeof(log), room, ":log") < 0 ||
	    redis_rooms_key(chan, sizeof(chan), room, ":events") < 0)
		return UV_EINVAL;
	if (has_idem) {
		size_t n = 0, il = strlen(idem);
		if (il > REDIS_ROOMS_IDEM_MAX ||
		    redis_rooms_key(idem_key, sizeof(idem_key), room, ":idem:") < 0)
			return UV_EINVAL;
		n = strlen(idem_key);
		if (!escape(idem_key, sizeof(idem_key), &n, idem, il))
			return UV_EINVAL;
		idem_key[n] = '\0';
	}
	snprintf(maxlen, sizeof(maxlen), "%lu", rr->stream_max);
	snprintf(ttl, sizeof(ttl), "%u", rr->idem_ttl_s);
	struct publish_call *c = malloc(sizeof(*c));
	if (c == NULL)
		return UV_ENOMEM;
	c->cb = cb;
	c->data = data;
	const char *argv[7];
	size_t argvlen[7];
	int k = 0;
	argv[k++] = meta;
	argv[k++] = log;
	if (has_idem)
		argv[k++] = idem_key;
	int nkeys = k;
	argv[k++] = chan;
	argv[k++] = event;
	argv[k++] = maxlen;
	argv[k++] = ttl;
	for (int i = 0; i < k; i++)
		argvlen[i] = argv[i] == event ? len : strlen(argv[i]);
	int rc = redis_script_call(rr->r, &rr->publish, nkeys, k - nkeys, argv, argvlen,
				   on_published, c);
	if (rc < 0)
		free(c);
	return rc;
}

/* ---- reading the stream ------------------------------------------------ */

struct fetch_call {
	redis_rooms_range_cb cb;
	void *data;
	unsigned count;
};

/* One stream entry ["<seq>-0", [field, value, ...]] with its fields e
 * (the event) and x (the epoch). */
static bool parse_entry(const redisReply *x, struct redis_rooms_entry *e)
{
	if (x->type != REDIS_REPLY_ARRAY || x->elements != 2 ||
	    x->element[0]->type != REDIS_REPLY_STRING || x->element[1]->type != REDIS_REPLY_ARRAY)
		return false;
	const redisReply *id = x->element[0], *fields = x->element[1];
	const char *dash = memchr(id->str, '-', id->len);
	if (dash == NULL || !parse_u64(id->str, (size_t)(dash - id->str), &e->seq) ||
	    e->seq == 0 || id->len - (size_t)(dash - id->str) != 2 || dash[1] != '0')
		return false;
	bool has_event = false, has_epoch = false;
	for (size_t i = 0; i + 1 < fields->elements; i += 2) {
		const redisReply *f = fields->element[i], *v = fields->element[i + 1];
		if (f->type != REDIS_REPLY_STRING || f->len != 1 || v->type != REDIS_REPLY_STRING)
			continue;
		if (f->str[0] == 'e') {
			e->event = v->str;
			e->len = v->len;
			has_event = true;
		} else if (f->str[0] == 'x') {
			has_epoch = parse_u64(v->str, v->len, &e->epoch) && e->epoch != 0;
		}
	}
	return has_event && has_epoch;
}

static void on_fetched(struct redis *r, int status, redisReply *x, void *data)
{
	struct fetch_call c = *(struct fetch_call *)data;
	free(data);
	(void)r;
	if (status < 0) {
		c.cb(status, NULL, 0, false, uv_strerror(status), c.data);
		return;
	}
	if (x->type == REDIS_REPLY_ERROR) {
		c.cb(UV_EPROTO, NULL, 0, false, x->str, c.data);
		return;
	}
	if (x->type != REDIS_REPLY_ARRAY || x->elements > c.count) {
		c.cb(UV_EPROTO, NULL, 0, false, "XRANGE answered something else", c.data);
		return;
	}
	struct redis_rooms_entry *e = calloc(x->elements + 1, sizeof(*e));
	if (e == NULL) {
		c.cb(UV_ENOMEM, NULL, 0, false, "out of memory", c.data);
		return;
	}
	for (size_t i = 0; i < x->elements; i++) {
		if (!parse_entry(x->element[i], &e[i]) || (i > 0 && e[i].seq <= e[i - 1].seq)) {
			free(e);
			c.cb(UV_EPROTO, NULL, 0, false, "a stream entry that is not an event",
			     c.data);
			return;
		}
	}
	c.cb(0, e, x->elements, x->elements == c.count, NULL, c.data);
	free(e);
}

int redis_rooms_fetch(struct redis_rooms *rr, const char *room, uint64_t from, uint64_t to,
		      unsigned count, redis_rooms_range_cb cb, void *data)
{
	char log[REDIS_ROOMS_KEY_MAX], start[24], end[24], n[16];
	if (count == 0 || from == 0 || (to != 0 && to < from) ||
	    redis_rooms_key(log, sizeof(log), room, ":log") < 0)
		return UV_EINVAL;
	snprintf(start, sizeof(start), "%llu", (unsigned long long)from);
	if (to == 0)
		snprintf(end, sizeof(end), "+");
	else
		snprintf(end, sizeof(end), "%llu", (unsigned long long)to);
	snprintf(n, sizeof(n), "%u", count);
	struct fetch_call *c = malloc(sizeof(*c));
	if (c == NULL)
		return UV_ENOMEM;
	c->cb = cb;
	c->data = data;
	c->count = count;
	const char *argv[6] = { "XRANGE", log, start, end, "COUNT", n };
	int rc = redis_command_argv(rr->r, 6, argv, NULL, on_fetched, c);
	if (rc < 0)
		free(c);
	return rc;
}

struct seq_call {
	redis_rooms_seq_cb cb;
	void *data;
};

static void on_seq(struct redis *r, int status, redisReply *x, void *data)
{
	struct seq_call c = *(struct seq_call *)data;
	free(data);
	(void)r;
	uint64_t seq = 0, epoch = 0;
	if (status < 0) {
		c.cb(status, 0, 0, uv_strerror(status), c.data);
	} else if (x->type == REDIS_REPLY_ARRAY && x->elements == 2 &&
		   x->element[0]->type == REDIS_REPLY_NIL && x->element[1]->type == REDIS_REPLY_NIL) {
		c.cb(0, 0, 0, NULL, c.data); /* never published in */
	} else if (x->type == REDIS_REPLY_ARRAY && x->elements == 2 &&
		   x->element[0]->type == REDIS_REPLY_STRING &&
		   x->element[1]->type == REDIS_REPLY_STRING &&
		   parse_u64(x->element[0]->str, x->element[0]->len, &seq) &&
		   parse_u64(x->element[1]->str, x->element[1]->len, &epoch)) {
		c.cb(0, epoch, seq, NULL, c.data);
	} else {
		c.cb(UV_EPROTO, 0, 0, x->type == REDIS_REPLY_ERROR ? x->str : "not a room's numbering",
		     c.data);
	}
}

int redis_rooms_last(struct redis_rooms *rr, const char *room, redis_rooms_seq_cb cb, void *data)
{
	char meta[REDIS_ROOMS_KEY_MAX];
	if (redis_rooms_key(meta, sizeof(meta), room, ":meta") < 0)
		return UV_EINVAL;
	struct seq_call *c = malloc(sizeof(*c));
	if (c == NULL)
		return UV_ENOMEM;
	c->cb = cb;
	c->data = data;
	const char *argv[4] = { "HMGET", meta, "seq", "epoch" };
	int rc = redis_command_argv(rr->r, 4, argv, NULL, on_seq, c);
	if (rc < 0)
		free(c);
	return rc;
}
