#include "cluster_list.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"

/* A whole decimal number of at most 9 digits; -1 when it is not one. */
static long small_number(const char *s, size_t len)
{
	if (len == 0 || len > 9)
		return -1;
	long v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* A label or a name, made safe for any terminal; false when it does not
 * fit or is empty. */
static bool copy_clean(char out[CLUSTER_LIST_LABEL_MAX + 1], const char *s, size_t len)
{
	if (len == 0 || len > CLUSTER_LIST_LABEL_MAX)
		return false;
	size_t n = sanitize_text(s, len, out, CLUSTER_LIST_LABEL_MAX, 0);
	out[n] = '\0';
	return n > 0;
}

static bool is_string(const redisReply *r)
{
	return r != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) &&
	       r->str != NULL;
}

long cluster_list_members(const redisReply *r, struct cluster_member *out, size_t max)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		return -EPROTO;
	size_t n = 0;
	for (size_t i = 0; i < r->elements && n < max; i++) {
		const redisReply *e = r->element[i];
		if (!is_string(e))
			continue;
		const char *bar = memchr(e->str, '|', e->len);
		if (bar == NULL)
			continue;
		size_t head = (size_t)(bar - e->str);
		bool none = head == 2 && memcmp(e->str, "-1", 2) == 0;
		long colour = none ? -1 : small_number(e->str, head); /* -1: not one */
		if ((colour < 0 && !none) || colour > 255)
			continue;
		if (!copy_clean(out[n].label, bar + 1, e->len - head - 1))
			continue;
		out[n].colour = (int)colour;
		n++;
	}
	return (long)n;
}

long cluster_list_rooms(const redisReply *r, struct cluster_room *out, size_t max)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		return -EPROTO;
	size_t n = 0;
	for (size_t i = 0; i + 1 < r->elements && n < max; i += 2) {
		const redisReply *name = r->element[i], *count = r->element[i + 1];
		if (!is_string(name))
			continue;
		long v = count != NULL && count->type == REDIS_REPLY_INTEGER
			? (count->integer >= 0 && count->integer < 1000000000 ? (long)count->integer : -1)
			: is_string(count) ? small_number(count->str, count->len) : -1;
		if (v < 0 || !copy_clean(out[n].name, name->str, name->len))
			continue;
		out[n].count = (size_t)v;
		n++;
	}
	return (long)n;
}

/* The next line of p (up to '\n'), moved past; false when none. */
static bool next_line(const char **p, const char *end, const char **line, size_t *len)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	if (nl == NULL)
		return false;
	*line = *p;
	*len = (size_t)(nl - *p);
	*p = nl + 1;
	return true;
}

/* A decimal number of 1..20 digits under 2^64; false otherwise. */
static bool number64(const char *s, size_t len, uint64_t *out)
{
	if (len == 0 || len > 20)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

int cluster_list_private(const char *p, size_t len, struct cluster_private *out)
{
	const char *end = p + len, *kind = "", *f[5];
	size_t kind_len = 0, fl[5];
	for (int i = 0; i < 5; i++) {
		if (!next_line(&p, end, &f[i], &fl[i]))
			return -EPROTO;
		if (i == 0 && (!next_line(&p, end, &kind, &kind_len) || kind_len != 1 ||
			       memchr("pkmb", kind[0], 4) == NULL))
			return -EPROTO;
	}
	out->kind = kind[0];
	uint64_t colour = 0;
	bool anon = fl[3] == 2 && memcmp(f[3], "-1", 2) == 0;
	if (!number64(f[0], fl[0], &out->to_conn_id) || !number64(f[2], fl[2], &out->from_user_id) ||
	    (!anon && (!number64(f[3], fl[3], &colour) || colour > 255)) ||
	    !copy_clean(out->to, f[1], fl[1]) || !copy_clean(out->from, f[4], fl[4]))
		return -EPROTO;
	out->colour = anon ? -1 : (int)colour;
	out->text = p;
	out->len = (size_t)(end - p);
	/* A kick's reason may be empty; a message and a mute's duration not. */
	return (out->len > 0 || out->kind == 'k') && out->len <= CLUSTER_LIST_TEXT_MAX
		? 0 : -EPROTO;
}
