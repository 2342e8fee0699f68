/*
 * pseudoclaim: cluster-wide pseudo claims in Redis (see pseudoclaim.h).
 *
 * Claims are found by skeleton; a command's answer looks its claim up
 * again (and checks the connection id), so a claim released or taken
 * again meanwhile is never touched through a stale pointer.
 */
#include "pseudoclaim.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_rooms.h"
#include "redis_script.h"

/* Take the key if free, renew it if ours: 1; somebody else's: 0. One
 * script serves the claim and its renewals, and a claim sent twice (an
 * overdue answer, a retry) is still ours. */
static const char claim_lua[] =
	"local v = redis.call('GET', KEYS[1])\n"
	"if v == false then\n"
	"  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
	"  return 1\n"
	"elseif v == ARGV[1] then\n"
	"  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
	"  return 1\n"
	"end\n"
	"return 0\n";

/* Delete the key only if it is still ours. */
static const char release_lua[] =
	"if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
	"  return redis.call('DEL', KEYS[1])\n"
	"end\n"
	"return 0\n";

#define PSEUDOCLAIM_NODE_MAX 64

enum claim_state { CLAIM_TAKING, CLAIM_HELD };

struct claim {
	char *skeleton;
	uint64_t conn_id;
	enum claim_state state;
	pseudoclaim_cb cb; /* while taking */
	void *data;
};

enum request_kind { REQUEST_TAKE, REQUEST_RENEW, REQUEST_RELEASE };

struct request {
	struct pseudoclaim *pc;
	enum request_kind kind;
	uint64_t conn_id;
	char skeleton[];
};

struct pseudoclaim {
	struct redis *r;
	uv_timer_t timer;
	struct redis_script claim, release;
	char node[PSEUDOCLAIM_NODE_MAX + 1];
	char ttl[24];
	uint64_t ttl_ms;
	GHashTable *claims; /* skeleton -> struct claim */
	pseudoclaim_lost_cb lost;
	void *data;
	unsigned outstanding; /* commands not yet answered */
	bool closed, timer_open;
};

static void free_claim(gpointer p)
{
	struct claim *c = p;
	free(c->skeleton);
	free(c);
}

static void maybe_free(struct pseudoclaim *pc)
{
	if (!pc->closed || pc->timer_open || pc->outstanding > 0)
		return;
	g_hash_table_destroy(pc->claims);
	free(pc);
}

static void on_reply(struct redis *r, int status, redisReply *x, void *data)
{
	struct request *q = data;
	struct pseudoclaim *pc = q->pc;
	(void)r;
	pc->outstanding--;
	struct claim *c = pc->closed ? NULL : g_hash_table_lookup(pc->claims, q->skeleton);
	bool answered = status == 0 && x->type == REDIS_REPLY_INTEGER;
	bool ours = answered && x->integer == 1;
	if (c != NULL && c->conn_id == q->conn_id) {
		if (q->kind == REQUEST_TAKE && c->state == CLAIM_TAKING) {
			pseudoclaim_cb cb = c->cb;
			void *cb_data = c->data;
			if (ours)
				c->state = CLAIM_HELD;
			else
				g_hash_table_remove(pc->claims, q->skeleton);
			cb(answered ? 0 : status < 0 ? status : UV_EPROTO, ours, cb_data);
		} else if (q->kind == REQUEST_RENEW && c->state == CLAIM_HELD && answered && !ours) {
			uint64_t conn_id = c->conn_id;
			g_hash_table_remove(pc->claims, q->skeleton);
			if (pc->lost != NULL)
				pc->lost(pc->data, q->skeleton, conn_id);
		}
		/* A renewal Redis could not answer is tried again next round. */
	}
	free(q);
	maybe_free(pc);
}

static int send_request(struct pseudoclaim *pc, enum request_kind kind, const char *skeleton,
		uint64_t conn_id)
{
	char key[REDIS_ROOMS_KEY_MAX], value[PSEUDOCLAIM_NODE_MAX + 24];
	if (redis_rooms_pseudo_key(key, sizeof(key), skeleton) < 0)
		return UV_EINVAL;
	snprintf(value, sizeof(value), "%s:%llu", pc->node, (unsigned long long)conn_id);
	size_t len = strlen(skeleton);
	struct request *q = malloc(sizeof(*q) + len + 1);
	if (q == NULL)
		return UV_ENOMEM;
	q->pc = pc;
	q->kind = kind;
	q->conn_id = conn_id;
	memcpy(q->skeleton, skeleton, len + 1);
	const char *argv[3] = { key, value, pc->ttl };
	pc->outstanding++;
	int rc = kind == REQUEST_RELEASE
		? redis_script_call(pc->r, &pc->release, 1, 1, argv, NULL, on_reply, q)
		: redis_script_call(pc->r, &pc->claim, 1, 2, argv, NULL, on_reply, q);
	if (rc < 0) {
		pc->outstanding--;
		free(q);
	}
	return rc;
}

void pseudoclaim_renew(struct pseudoclaim *pc)
{
	if (pc->closed || !redis_is_ready(pc->r))
		return;
	GHashTableIter it;
	gpointer value;
	g_hash_table_iter_init(&it, pc->claims);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct claim *c = value;
		if (c->state == CLAIM_HELD)
			(void)send_request(pc, REQUEST_RENEW, c->skeleton, c->conn_id); /* next round */
	}
}

static void on_timer(uv_timer_t *t)
{
	pseudoclaim_renew(t->data);
}

int pseudoclaim_new(struct pseudoclaim **out, uv_loop_t *loop, struct redis *r,
		    const char *node, uint64_t ttl_ms, pseudoclaim_lost_cb lost, void *data)
{
	if (strlen(node) > PSEUDOCLAIM_NODE_MAX || ttl_ms < 30)
		return UV_EINVAL;
	struct pseudoclaim *pc = calloc(1, sizeof(*pc));
	if (pc == NULL)
		return UV_ENOMEM;
	pc->r = r;
	snprintf(pc->node, sizeof(pc->node), "%s", node);
	pc->ttl_ms = ttl_ms;
	snprintf(pc->ttl, sizeof(pc->ttl), "%llu", (unsigned long long)ttl_ms);
	pc->lost = lost;
	pc->data = data;
	redis_script_init(&pc->claim, claim_lua, sizeof(claim_lua) - 1);
	redis_script_init(&pc->release, release_lua, sizeof(release_lua) - 1);
	int rc = redis_script_load(r, &pc->claim);
	if (rc == 0)
		rc = redis_script_load(r, &pc->release);
	if (rc < 0) {
		free(pc);
		return rc;
	}
	pc->claims = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free_claim);
	uv_timer_init(loop, &pc->timer);
	pc->timer.data = pc;
	pc->timer_open = true;
	/* Three renewals per lifetime: one lost or late still leaves time. */
	uv_timer_start(&pc->timer, on_timer, ttl_ms / 3, ttl_ms / 3);
	*out = pc;
	return 0;
}

int pseudoclaim_take(struct pseudoclaim *pc, const char *skeleton, uint64_t conn_id,
		     pseudoclaim_cb cb, void *data)
{
	if (pc->closed)
		return UV_EINVAL;
	if (g_hash_table_contains(pc->claims, skeleton))
		return -EEXIST;
	struct claim *c = calloc(1, sizeof(*c));
	if (c == NULL || (c->skeleton = strdup(skeleton)) == NULL) {
		free(c);
		return UV_ENOMEM;
	}
	c->conn_id = conn_id;
	c->state = CLAIM_TAKING;
	c->cb = cb;
	c->data = data;
	int rc = send_request(pc, REQUEST_TAKE, skeleton, conn_id);
	if (rc < 0) {
		free_claim(c);
		return rc;
	}
	g_hash_table_insert(pc->claims, c->skeleton, c);
	return 0;
}

void pseudoclaim_release(struct pseudoclaim *pc, const char *skeleton, uint64_t conn_id)
{
	struct claim *c = g_hash_table_lookup(pc->claims, skeleton);
	if (c == NULL || c->conn_id != conn_id)
		return;
	pseudoclaim_cb cb = c->state == CLAIM_TAKING ? c->cb : NULL;
	void *cb_data = c->data;
	g_hash_table_remove(pc->claims, skeleton);
	/* After the claim on the same connection: Redis runs them in order.
	 * Unsent, the key expires by itself. */
	(void)send_request(pc, REQUEST_RELEASE, skeleton, conn_id);
	if (cb != NULL)
		cb(UV_ECANCELED, false, cb_data);
}

unsigned pseudoclaim_count(const struct pseudoclaim *pc)
{
	return g_hash_table_size(pc->claims);
}

static void on_timer_closed(uv_handle_t *h)
{
	struct pseudoclaim *pc = h->data;
	pc->timer_open = false;
	maybe_free(pc);
}

void pseudoclaim_close(struct pseudoclaim *pc)
{
	if (pc->closed)
		return;
	pc->closed = true;
	GHashTableIter it;
	gpointer value;
	g_hash_table_iter_init(&it, pc->claims);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct claim *c = value;
		if (redis_is_ready(pc->r))
			(void)send_request(pc, REQUEST_RELEASE, c->skeleton, c->conn_id);
		if (c->state == CLAIM_TAKING && c->cb != NULL)
			c->cb(UV_ECANCELED, false, c->data);
		c->cb = NULL;
	}
	g_hash_table_remove_all(pc->claims);
	uv_close((uv_handle_t *)&pc->timer, on_timer_closed);
}
