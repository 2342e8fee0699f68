/*
 * bus_redis_users: the user half of the bus through Redis (bus_redis.h):
 * a pseudo is one user's across servers (pseudoclaim.h), and a resume
 * session is kept where every server finds it (redis_sessions.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_redis.h"
#include "bus_redis_int.h"
#include "conn.h"
#include "hub.h"
#include "log.h"
#include "pseudoclaim.h"
#include "redis_sessions.h"
#include "server_config.h"
#include "social.h"

/* ---- pseudos ---------------------------------------------------------- */

/* The claim's answer; c is alive: release (at its departure) cancels it. */
static void on_claimed(int status, bool granted, void *data)
{
	struct conn *c = data;
	if (status == UV_ECANCELED)
		return; /* c may be gone */
	/* The hub's bus is this one (claims are made only through it). */
	struct bus_redis *br = (struct bus_redis *)c->set->hub->bus;
	if (br->closing)
		return;
	if (status < 0) {
		/* Redis could not say: the pseudo stays (renewals claim it
		 * again once Redis is back; a clash then is `lost`). */
		log_warn("cluster: the pseudo of %s could not be claimed (%s)", conn_addr(c),
			 uv_err_name(status));
		return;
	}
	if (!granted && br->bus.refused != NULL) {
		log_info("cluster: %s wears a pseudo held on another server", conn_addr(c));
		br->bus.refused(br->bus.data, c);
	}
}

void redis_claim(struct bus *b, const char *skeleton, struct conn *c)
{
	struct bus_redis *br = (struct bus_redis *)b;
	int rc = pseudoclaim_take(br->claims, skeleton, c->id, on_claimed, c);
	if (rc < 0 && rc != -EEXIST)
		log_warn("cluster: no claim for the pseudo of %s (%s)", conn_addr(c), uv_err_name(rc));
}

void redis_release(struct bus *b, const char *skeleton, struct conn *c)
{
	struct bus_redis *br = (struct bus_redis *)b;
	pseudoclaim_release(br->claims, skeleton, c->id);
}

/* Another node's user wears it now: its session came back there with its
 * token (redis_sessions.h), or the claim lapsed while Redis was away. The
 * pseudo is one user's: this one gives it up. */
void bus_redis_on_lost(void *data, const char *skeleton, uint64_t conn_id)
{
	struct bus_redis *br = data;
	log_warn("cluster: connection %" PRIu64 "'s pseudo was taken on another server",
		 conn_id);
	struct hub *h = br->bus.data; /* hub_attach_bus's */
	struct conn *c = h != NULL ? hub_named_conn(h, skeleton) : NULL;
	if (c != NULL && c->id == conn_id && !c->closing && br->bus.refused != NULL)
		br->bus.refused(br->bus.data, c);
}

/* ---- sessions (redis_sessions.h) -------------------------------------- */

/* Made on first use: the grace is the server's (c's). */
static struct redis_sessions *sessions_of(struct bus_redis *br, const struct conn *c)
{
	if (br->sessions == NULL && !br->closing &&
	    redis_sessions_new(&br->sessions, c->set->loop, br->cmd, c->set->cfg->return_grace_ms,
			       BUS_REDIS_CLAIM_TTL_MS) < 0)
		br->sessions = NULL;
	return br->sessions;
}

void redis_session_keep(struct bus *b, struct conn *c, const unsigned char *digest)
{
	struct bus_redis *br = (struct bus_redis *)b;
	struct redis_session rs = {.user_id = c->user_id, .colour = c->colour};
	snprintf(rs.holder, sizeof(rs.holder), "%s:%" PRIu64, br->node, c->id);
	snprintf(rs.pseudo, sizeof(rs.pseudo), "%s", c->pseudo);
	snprintf(rs.room, sizeof(rs.room), "%s", c->room->name);
	const struct social *social = conn_social(c);
	if (social != NULL && social->has_identity) {
		rs.has_identity = true;
		memcpy(rs.identity, social->identity, sizeof(rs.identity));
	}
	if (sessions_of(br, c) != NULL)
		redis_sessions_keep(br->sessions, c->id, digest, &rs);
}

void redis_session_away(struct bus *b, struct conn *c, const char *room)
{
	struct bus_redis *br = (struct bus_redis *)b;
	if (br->sessions != NULL)
		redis_sessions_away(br->sessions, c->id, room);
}

void redis_session_spend(struct bus *b, const unsigned char *digest)
{
	struct bus_redis *br = (struct bus_redis *)b;
	if (br->sessions != NULL)
		redis_sessions_spend(br->sessions, digest);
}

struct session_ask {
	struct conn *c; /* held (conn_job_begin) until the answer */
	bus_session_cb cb;
	void *data;
};

static void on_session_taken(int status, const struct redis_session *s, void *data)
{
	struct session_ask *q = data;
	struct conn *c = q->c;
	q->cb(c, status, s, q->data);
	free(q);
	conn_job_end(c);
}

int redis_session_take(struct bus *b, struct conn *c, const unsigned char *digest,
			      bus_session_cb cb, void *data)
{
	struct bus_redis *br = (struct bus_redis *)b;
	if (!br->cmd_ready || sessions_of(br, c) == NULL)
		return UV_ENOTCONN;
	char holder[REDIS_SESSION_HOLDER_MAX + 1];
	snprintf(holder, sizeof(holder), "%s:%" PRIu64, br->node, c->id);
	struct session_ask *q = malloc(sizeof(*q));
	if (q == NULL)
		return UV_ENOMEM;
	*q = (struct session_ask){c, cb, data};
	int rc = redis_sessions_take(br->sessions, digest, holder, on_session_taken, q);
	if (rc < 0)
		free(q);
	else
		conn_job_begin(c);
	return rc;
}
