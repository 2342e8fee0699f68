/*
 * conn_addr: how a peer's address is kept (conn_set_address): its IP, its
 * "{IP}:{Port}" label and its key for the per-address limits, an IPv6
 * peer counted by its /64 (one host has them all). The three strings
 * live in the conn (c->address.text) or, when they do not fit, in a block
 * conn.c frees with the conn (c->address.block).
 *
 * Its own file because the rules of an address (what counts as one user's)
 * change apart from a conn's bytes and lifetime.
 */
#include "conn.h"

#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An address, its label and its key: offsets fit a byte. */
_Static_assert(INET6_ADDRSTRLEN + INET6_ADDRSTRLEN + 8 <= UCHAR_MAX, "offsets in a byte");

/* The three strings of c's address (see struct conn), in c->address.text
 * when they fit, else in a block freed with the conn. */
static void keep_address(struct conn *c, const char *ip, unsigned port, const char *key)
{
	char addr[INET6_ADDRSTRLEN + 8];
	snprintf(addr, sizeof(addr), "%s:%u", ip, port);
	size_t ip_len = strlen(ip) + 1, addr_len = strlen(addr) + 1;
	size_t key_len = key != NULL ? strlen(key) + 1 : 0;
	char *at = c->address.text;
	if (ip_len + addr_len + key_len > sizeof(c->address.text)) {
		at = malloc(ip_len + addr_len + key_len);
		if (at == NULL) { /* out of memory: its label says so */
			keep_address(c, "", port, "?");
			return;
		}
		c->address.block = at;
		c->addr_in_block = true;
	}
	memcpy(at, ip, ip_len);
	memcpy(at + ip_len, addr, addr_len);
	c->addr_label_at = (unsigned char)ip_len;
	c->addr_key_at = 0; /* the IP */
	if (key_len > 0) {
		memcpy(at + ip_len + addr_len, key, key_len);
		c->addr_key_at = (unsigned char)(ip_len + addr_len);
	}
	c->port = (uint16_t)port;
}

void conn_set_address(struct conn *c, const struct sockaddr *sa)
{
	char ip[INET6_ADDRSTRLEN] = "";
	char key[CONN_ADDR_KEY_MAX];
	bool has_key = false;
	unsigned port = 0;
	if (sa != NULL && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
		uv_ip6_name(a, ip, sizeof(ip));
		port = ntohs(a->sin6_port);
		/* An IPv4 client of a dual-stack socket stays itself. */
		if (!IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
			struct sockaddr_in6 prefix = *a;
			char net[INET6_ADDRSTRLEN];
			memset(prefix.sin6_addr.s6_addr + 8, 0, 8);
			uv_ip6_name(&prefix, net, sizeof(net));
			snprintf(key, sizeof(key), "%s/64", net);
			has_key = true;
		}
	} else if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
		uv_ip4_name(a, ip, sizeof(ip));
		port = ntohs(a->sin_port);
	}
	keep_address(c, ip, port, has_key ? key : NULL);
}
