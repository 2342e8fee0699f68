#include "sniff.h"

#include <errno.h>
#include <string.h>

void sniff_init(struct sniffer *s, const struct proto_ops *otherwise)
{
	memset(s, 0, sizeof(*s));
	s->otherwise = otherwise;
}

int sniff_add(struct sniffer *s, const char *prefix, size_t len, const struct proto_ops *proto)
{
	if (len == 0 || len > SNIFF_PREFIX_MAX)
		return -EINVAL;
	if (s->count == SNIFF_MAX_RULES)
		return -ENOSPC;
	struct sniff_rule *r = &s->rules[s->count++];
	memcpy(r->prefix, prefix, len);
	r->len = len;
	r->proto = proto;
	return 0;
}

enum sniff_verdict sniff_match(const struct sniffer *s, const char *data, size_t len,
			       bool final, const struct proto_ops **proto)
{
	const struct sniff_rule *best = NULL;
	bool could_grow = false;
	for (size_t i = 0; i < s->count; i++) {
		const struct sniff_rule *r = &s->rules[i];
		size_t n = len < r->len ? len : r->len;
		if (memcmp(data, r->prefix, n) != 0)
			continue;
		if (len < r->len)
			could_grow = true; /* its start so far, but not all of it yet */
		else if (best == NULL || r->len > best->len)
			best = r;
	}
	if (could_grow && !final)
		return SNIFF_MORE;
	*proto = best != NULL ? best->proto : s->otherwise;
	return best != NULL && best->proto == NULL ? SNIFF_REFUSED : SNIFF_FOUND;
}
