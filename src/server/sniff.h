/*
 * sniff: which protocol a new peer speaks, told from its first bytes.
 *
 * A table of rules, filled by server.c: the bytes a protocol starts with
 * ("\0CHAT" for the binary one, later "GET " for HTTP and WebSocket), and
 * the protocol for any other start, or for a peer that says nothing at
 * first (the course's text protocol: nc users read before they type). A
 * rule may name no protocol: such a start is refused.
 *
 * Pure: no I/O, no state per peer (conn.c keeps the few bytes it holds
 * while a rule could still match). The table owns nothing; the protocols
 * it points at are static.
 */
#ifndef CHATROOM_SNIFF_H
#define CHATROOM_SNIFF_H

#include <stdbool.h>
#include <stddef.h>

struct proto_ops;

/* The longest start a rule may look at, and the number of rules. */
#define SNIFF_PREFIX_MAX 8
#define SNIFF_MAX_RULES 8

struct sniff_rule {
	char prefix[SNIFF_PREFIX_MAX];
	size_t len;
	const struct proto_ops *proto; /* NULL: refused */
};

struct sniffer {
	struct sniff_rule rules[SNIFF_MAX_RULES];
	size_t count;
	const struct proto_ops *otherwise; /* any other start, and silence */
};

enum sniff_verdict {
	SNIFF_FOUND,   /* *proto speaks it */
	SNIFF_MORE,    /* a longer rule could still match: wait for more bytes */
	SNIFF_REFUSED, /* a rule without a protocol matched */
};

void sniff_init(struct sniffer *s, const struct proto_ops *otherwise);
/* A rule: peers starting with these len bytes speak proto (NULL: are
 * refused). 0, -EINVAL (len 0 or past SNIFF_PREFIX_MAX) or -ENOSPC. */
int sniff_add(struct sniffer *s, const char *prefix, size_t len, const struct proto_ops *proto);

/* The protocol of a peer whose first len bytes are data: the longest rule
 * they start with, else `otherwise`. SNIFF_MORE while a longer rule could
 * still match them, unless `final` (no more bytes will come for now: the
 * peer fell silent or closed). */
enum sniff_verdict sniff_match(const struct sniffer *s, const char *data, size_t len,
			       bool final, const struct proto_ops **proto);

#endif
