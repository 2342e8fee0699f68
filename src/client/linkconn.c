/*
 * linkconn: the link's connection to a node (see link.h): the list of
 * nodes ("host[:port],…") and which one is tried, resolving and
 * connecting, a failed attempt moving on to the next node, and after a
 * drop the retries with backoff. It owns link->addresses, current,
 * first_failures, retries, retry_timer and tcp_open; link.c owns what
 * goes over the connection once it is up (frames, TLS, pings).
 */
#include "link.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"

static void schedule_retry(struct link *link);
static void next_address(struct link *link);

/* The connection is gone: back with backoff when asked for and once
 * welcomed (with the token, or a fresh hello), else the session ends. */
void link_lost(struct link *link, const char *why)
{
	link->connected = false;
	link->in_room = false;
	bool retrying = link->opt.reconnect && !link->closed && link->welcomed;
	if (retrying) {
		link->reconnecting = true; /* the status line says so at once */
		next_address(link);        /* a node that dropped us may be gone */
	}
	link->cb.on_lost(link, why, retrying);
	if (retrying)
		schedule_retry(link);
}

/* ---- the nodes ---- */

/* One "host[:port]" or "[v6]:port" or a bare IPv6 address. */
static int parse_one(const char *s, size_t len, int default_port, struct link_address *out,
		     const char **cause)
{
	const char *host = s, *port = NULL;
	size_t host_len = len;
	const char *colon = memchr(s, ':', len);
	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (close == NULL) {
			*cause = _("adresse IPv6 sans ']'");
			return -EINVAL;
		}
		host = s + 1;
		host_len = (size_t)(close - host);
		if (close + 1 < s + len) {
			if (close[1] != ':') {
				*cause = _("adresse invalide après ']'");
				return -EINVAL;
			}
			port = close + 2;
		}
	} else if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)) == NULL) {
		host_len = (size_t)(colon - s);
		port = colon + 1;
	}
	if (host_len == 0 || host_len >= sizeof(out->host)) {
		*cause = _("adresse vide ou trop longue");
		return -EINVAL;
	}
	memcpy(out->host, host, host_len);
	out->host[host_len] = '\0';
	out->port = default_port;
	if (port != NULL) {
		size_t digits = (size_t)(s + len - port);
		char buf[8];
		char *end;
		if (digits == 0 || digits > 5 || strspn(port, "0123456789") < digits) {
			*cause = _("port invalide");
			return -EINVAL;
		}
		memcpy(buf, port, digits);
		buf[digits] = '\0';
		long v = strtol(buf, &end, 10);
		if (v < 1 || v > 65535) {
			*cause = _("port invalide");
			return -EINVAL;
		}
		out->port = (int)v;
	}
	return 0;
}

int link_parse_addresses(const char *list, int default_port, struct link_address *out,
			 size_t max, const char **cause)
{
	size_t n = 0;
	const char *p = list;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (n == max) {
			*cause = _("trop d'adresses");
			return -EINVAL;
		}
		if (parse_one(p, len, default_port, &out[n], cause) < 0)
			return -EINVAL;
		n++;
		if (comma == NULL)
			return (int)n;
		p = comma + 1;
	}
}

/* ---- connecting --------------------------------------------------------------- */

/* The next node of the list, for the next attempt. */
static void next_address(struct link *link)
{
	if (link->address_count > 1)
		link->current = (link->current + 1) % link->address_count;
}

static void on_closed_for_next(uv_handle_t *handle)
{
	struct link *link = handle->data;
	link->tcp_open = false;
	if (link->closed)
		return;
	int rc = link_connect(link);
	if (rc < 0)
		link->cb.on_connected(link, rc);
}

/* A failed attempt: the next one after a drop; a first connection tries
 * every node once; else the session hears it. */
void link_attempt_failed(struct link *link, int status)
{
	if (link->reconnecting) {
		next_address(link);
		schedule_retry(link);
	} else if (++link->first_failures < link->address_count && link->tcp_open &&
		   !uv_is_closing((uv_handle_t *)&link->tcp)) {
		next_address(link);
		uv_close((uv_handle_t *)&link->tcp, on_closed_for_next);
	} else {
		link->cb.on_connected(link, status);
	}
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct link *link = req->data;
	int rc = status;
	if (status == 0) {
		rc = uv_tcp_connect(&link->connect_req, &link->tcp, res->ai_addr, link_on_connect);
		uv_freeaddrinfo(res);
	}
	if (rc < 0)
		link_attempt_failed(link, rc);
}

int link_connect(struct link *link)
{
	uv_tcp_init(link->loop, &link->tcp);
	link->tcp.data = link;
	link->tcp_open = true;
	link->connect_req.data = link;
	link->resolve_req.data = link;
	char port[16];
	const struct link_address *a = &link->addresses[link->current];
	snprintf(port, sizeof(port), "%d", a->port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	return uv_getaddrinfo(link->loop, &link->resolve_req, on_resolved, a->host, port, &hints);
}

static void on_retry(uv_timer_t *timer)
{
	struct link *link = timer->data;
	if (link->closed)
		return;
	if (link_connect(link) < 0)
		schedule_retry(link);
}

static void on_closed_for_retry(uv_handle_t *handle)
{
	struct link *link = handle->data;
	link->tcp_open = false;
	if (link->opt.tls)
		tls_link_end(&link->tls);
	if (link->closed)
		return;
	unsigned delay = LINK_RETRY_FIRST_MS << (link->retries < 5 ? link->retries : 5);
	if (delay > LINK_RETRY_MAX_MS)
		delay = LINK_RETRY_MAX_MS;
	link->retries++;
	uv_timer_start(&link->retry_timer, on_retry, delay, 0);
}

static void schedule_retry(struct link *link)
{
	if (link->closed)
		return;
	if (link->retries >= LINK_RETRY_TRIES) {
		link->cb.on_lost(link, _("le serveur ne revient pas ; abandon"), false);
		return;
	}
	link->connected = false;
	link->in_room = false;
	if (link->tcp_open && !uv_is_closing((uv_handle_t *)&link->tcp))
		uv_close((uv_handle_t *)&link->tcp, on_closed_for_retry);
}
