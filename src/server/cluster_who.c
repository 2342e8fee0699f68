/*
 * cluster_who: the cluster's presence in Redis (see cluster_who.h).
 *
 * A room is written whole (this node's fields of it replaced) when its
 * digest changed since the last write: no hook in the hub, and a rename,
 * an away text or a departure is caught alike. Written rooms are
 * remembered by skeleton; one this node no longer has is written empty
 * once, then forgotten. Readers drop the fields of dead nodes.
 */
#include "cluster_who.h"

#include <errno.h>
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "cluster_list.h"
#include "conn.h"
#include "hub.h"
#include "log.h"
#include "names.h"
#include "redis_rooms.h"
#include "redis_script.h"
#include "strcount.h"

#define KEY_NODES "{cluster}:nodes"
#define KEY_ROOMS "{cluster}:rooms"
#define KEY_WHO "{cluster}:who:"
#define NODE_MAX 64
/* Rooms in a /rooms answer, as commands.c lists them. */
#define ROOMS_MAX 256

/* Redis's clock in ms, and which nodes still beat (dead ones forgotten). */
#define LUA_LIVE \
	"if redis.replicate_commands then redis.replicate_commands() end\n" \
	"local t = redis.call('TIME')\n" \
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n" \
	"local live = {}\n" \
	"local nodes = redis.call('HGETALL', KEYS[1])\n" \
	"for i = 1, #nodes, 2 do\n" \
	"  local d = tonumber(nodes[i + 1])\n" \
	"  if d ~= nil and d >= now then live[nodes[i]] = true\n" \
	"  else redis.call('HDEL', KEYS[1], nodes[i]) end\n" \
	"end\n"

/* KEYS: nodes, who:{R}, rooms. ARGV: node, ttl, {R}, room name, count,
 * then field/value pairs: this node's members of the room. */
static const char sync_lua[] =
	"if redis.replicate_commands then redis.replicate_commands() end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"redis.call('HSET', KEYS[1], ARGV[1], now + tonumber(ARGV[2]))\n"
	"local prefix = ARGV[1] .. ':'\n"
	"for _, f in ipairs(redis.call('HKEYS', KEYS[2])) do\n"
	"  if string.sub(f, 1, #prefix) == prefix then redis.call('HDEL', KEYS[2], f) end\n"
	"end\n"
	"for i = 6, #ARGV - 1, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end\n"
	"local field = ARGV[1] .. '|' .. ARGV[3]\n"
	"if tonumber(ARGV[5]) > 0 then\n"
	"  redis.call('HSET', KEYS[3], field, ARGV[5] .. '|' .. ARGV[4])\n"
	"else redis.call('HDEL', KEYS[3], field) end\n"
	"return 1\n";

/* KEYS: nodes. ARGV: node, ttl (negative: dead now, at a stop). 1 when
 * the node was not listed: taken for dead, its members were dropped. */
static const char beat_lua[] =
	"if redis.replicate_commands then redis.replicate_commands() end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"return redis.call('HSET', KEYS[1], ARGV[1], now + tonumber(ARGV[2]))\n";

/* KEYS: nodes, who:{R}. ARGV: the asking node, max. The other live
 * nodes' members. */
static const char who_lua[] =
	LUA_LIVE
	"local out, max = {}, tonumber(ARGV[2])\n"
	"local h = redis.call('HGETALL', KEYS[2])\n"
	"for i = 1, #h, 2 do\n"
	"  local node = string.match(h[i], '^([^:]*):')\n"
	"  if node ~= ARGV[1] then\n"
	"    if node ~= nil and live[node] then\n"
	"      if #out < max then out[#out + 1] = h[i + 1] end\n"
	"    else redis.call('HDEL', KEYS[2], h[i]) end\n"
	"  end\n"
	"end\n"
	"return out\n";

/* KEYS: nodes, rooms. ARGV: the asking node, max. The other live nodes'
 * rooms: name, count (summed over them). */
static const char rooms_lua[] =
	LUA_LIVE
	"local counts, names, order, max = {}, {}, {}, tonumber(ARGV[2])\n"
	"local h = redis.call('HGETALL', KEYS[2])\n"
	"for i = 1, #h, 2 do\n"
	"  local node, room = string.match(h[i], '^([^|]*)|(.*)$')\n"
	"  if node ~= ARGV[1] then\n"
	"    local c, name = string.match(h[i + 1], '^(%d+)|(.*)$')\n"
	"    if node ~= nil and live[node] and c ~= nil then\n"
	"      if counts[room] == nil and #order < max then\n"
	"        order[#order + 1] = room; counts[room] = 0; names[room] = name\n"
	"      end\n"
	"      if counts[room] ~= nil then counts[room] = counts[room] + tonumber(c) end\n"
	"    elseif node == nil or not live[node] then redis.call('HDEL', KEYS[2], h[i]) end\n"
	"  end\n"
	"end\n"
	"local out = {}\n"
	"for _, r in ipairs(order) do\n"
	"  out[#out + 1] = names[r]; out[#out + 1] = tostring(counts[r])\n"
	"end\n"
	"return out\n";

struct synced {
	uint64_t digest; /* 0: to be written */
	unsigned mark;   /* the tick that last saw the room here */
};

struct cluster_who {
	struct redis *r;
	struct bus *bus;
	uv_timer_t timer;
	struct redis_script sync, beat, who, rooms;
	char node[NODE_MAX + 1];
	char ttl[24];
	unsigned beat_every, ticks, mark;
	GHashTable *synced; /* room skeleton -> struct synced */
	unsigned outstanding, asks;
	struct shares asks_by_asker; /* of `asks` */
	bool closed, timer_open;
};

struct request {
	struct cluster_who *cw;
	bool ask;
	enum chat_list kind;
	uint64_t conn_id;
	char address[CONN_ADDR_KEY_MAX]; /* an ask's: its asker's address key */
	char pseudo[CONN_MAX_PSEUDO + 1];
	char room[TEXT_MAX_ROOM + 1];
	char skeleton[NAMES_SKELETON_MAX];
};

static void maybe_free(struct cluster_who *cw)
{
	if (!cw->closed || cw->timer_open || cw->outstanding > 0)
		return;
	g_hash_table_destroy(cw->synced);
	shares_free(&cw->asks_by_asker);
	free(cw);
}

/* "{cluster}:who:{R}" for a room skeleton; false when too long. */
static bool who_key(char *out, size_t cap, const char *skeleton, char *tag, size_t tag_cap)
{
	if (redis_rooms_key(tag, tag_cap, skeleton, "") < 0)
		return false;
	int n = snprintf(out, cap, KEY_WHO "%s", tag);
	return n > 0 && (size_t)n < cap;
}

/* ---- writing this node's presence ---------------------------------------- */

static void on_written(struct redis *r, int status, redisReply *x, void *data)
{
	struct request *q = data;
	struct cluster_who *cw = q->cw;
	(void)r;
	cw->outstanding--;
	if (!cw->closed && (status < 0 || x->type == REDIS_REPLY_ERROR) && q->skeleton[0]) {
		struct synced *s = g_hash_table_lookup(cw->synced, q->skeleton);
		if (s != NULL)
			s->digest = 0; /* written again at the next tick */
	}
	free(q);
	maybe_free(cw);
}

static int send_script(struct cluster_who *cw, const struct redis_script *s, int nkeys,
		       int nargs, const char *const *argv, struct request *q,
		       redis_reply_cb cb)
{
	cw->outstanding++;
	int rc = redis_script_call(cw->r, s, nkeys, nargs, argv, NULL, cb, q);
	if (rc < 0) {
		cw->outstanding--;
		free(q);
	}
	return rc;
}

static void write_all_again(struct cluster_who *cw)
{
	GHashTableIter it;
	gpointer value;
	g_hash_table_iter_init(&it, cw->synced);
	while (g_hash_table_iter_next(&it, NULL, &value))
		((struct synced *)value)->digest = 0;
}

/* A node stalled past its beat's lifetime (a paused machine) was taken for
 * dead and its members dropped: they are written again at the next tick. */
static void on_beat(struct redis *r, int status, redisReply *x, void *data)
{
	struct cluster_who *cw = ((struct request *)data)->cw;
	if (!cw->closed && status == 0 && x->type == REDIS_REPLY_INTEGER && x->integer == 1)
		write_all_again(cw);
	on_written(r, status, x, data);
}

static void beat(struct cluster_who *cw, const char *ttl)
{
	struct request *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return;
	q->cw = cw;
	const char *argv[] = {KEY_NODES, cw->node, ttl};
	(void)send_script(cw, &cw->beat, 1, 2, argv, q, on_beat);
}

static uint64_t digest(const struct chat_entry *e, size_t n, size_t count, const char *name)
{
	uint64_t h = 1469598103934665603u ^ count;
	for (size_t i = 0; i < n; i++) {
		for (const char *p = e[i].name; *p != '\0'; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211u;
		h = (h ^ (uint64_t)(e[i].colour + 2) << 8) * 1099511628211u;
	}
	for (const char *p = name; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	return h | 1; /* never 0, the "to be written" mark */
}

/* Writes a room's members here (n of them, count visible) in place of
 * what this node wrote of it before. */
static int write_room(struct cluster_who *cw, const char *skeleton, const char *name,
		      const struct chat_entry *e, size_t n, size_t count)
{
	char key[REDIS_ROOMS_KEY_MAX + 32], tag[REDIS_ROOMS_KEY_MAX], count_s[24];
	if (!who_key(key, sizeof(key), skeleton, tag, sizeof(tag)))
		return -ENAMETOOLONG;
	struct request *q = calloc(1, sizeof(*q));
	const char **argv = calloc(8 + 2 * n, sizeof(*argv));
	char *strings = malloc(n * 2 * (NODE_MAX + CLUSTER_LIST_LABEL_MAX + 16) + 1);
	if (q == NULL || argv == NULL || strings == NULL) {
		free(q), free(argv), free(strings);
		return -ENOMEM;
	}
	q->cw = cw;
	snprintf(q->skeleton, sizeof(q->skeleton), "%s", skeleton);
	snprintf(count_s, sizeof(count_s), "%zu", count);
	size_t k = 0, used = 0;
	const char *head[] = {KEY_NODES, key, KEY_ROOMS, cw->node, cw->ttl, tag, name, count_s};
	for (; k < 8; k++)
		argv[k] = head[k];
	for (size_t i = 0; i < n; i++) {
		size_t cap = NODE_MAX + CLUSTER_LIST_LABEL_MAX + 16;
		argv[k++] = strings + used;
		used += (size_t)snprintf(strings + used, cap, "%s:%.*s", cw->node,
					 CLUSTER_LIST_LABEL_MAX, e[i].name) + 1;
		argv[k++] = strings + used;
		used += (size_t)snprintf(strings + used, cap, "%d|%.*s", e[i].colour,
					 CLUSTER_LIST_LABEL_MAX, e[i].name) + 1;
	}
	int rc = send_script(cw, &cw->sync, 3, (int)k - 3, argv, q, on_written);
	free(argv);
	free(strings);
	return rc;
}

static void check_room(struct cluster_who *cw, struct room *room, struct chat_entry *e)
{
	size_t n = hub_list_members(room, e, HUB_LIST_MAX);
	size_t count = hub_visible_members(room);
	struct synced *s = g_hash_table_lookup(cw->synced, room->skeleton);
	if (s == NULL) {
		if (n == 0 && count == 0)
			return; /* another node's room, kept here for its history */
		s = calloc(1, sizeof(*s));
		char *key = strdup(room->skeleton);
		if (s == NULL || key == NULL) {
			free(s), free(key);
			return;
		}
		g_hash_table_insert(cw->synced, key, s);
	}
	s->mark = cw->mark;
	uint64_t d = digest(e, n, count, room->name);
	if (s->digest != d && write_room(cw, room->skeleton, room->name, e, n, count) == 0)
		s->digest = d;
}

static void on_tick(uv_timer_t *t)
{
	struct cluster_who *cw = t->data;
	struct hub *h = cw->bus->data;
	if (cw->closed || h == NULL || !redis_is_ready(cw->r))
		return;
	if (cw->ticks++ % cw->beat_every == 0)
		beat(cw, cw->ttl);
	cw->mark++;
	struct chat_entry *e = malloc(HUB_LIST_MAX * sizeof(*e));
	if (e == NULL)
		return;
	struct room *room;
	TAILQ_FOREACH(room, &h->rooms.by_activity, activity)
		check_room(cw, room, e);
	free(e);
	/* Rooms gone from here (or empty, and reaped): written empty once. */
	GHashTableIter it;
	gpointer key, value;
	g_hash_table_iter_init(&it, cw->synced);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		struct synced *s = value;
		if (s->mark != cw->mark && write_room(cw, key, "", NULL, 0, 0) == 0)
			g_hash_table_iter_remove(&it);
	}
}

void cluster_who_ready(struct cluster_who *cw)
{
	write_all_again(cw);
	cw->ticks = 0; /* beat at the next tick */
}

/* ---- answering --------------------------------------------------------- */

static void answer_who(struct hub *h, struct conn *c, const char *name, const redisReply *x)
{
	struct chat_entry *e = malloc(HUB_LIST_MAX * sizeof(*e));
	struct cluster_member *m = malloc(HUB_LIST_MAX * sizeof(*m));
	if (e == NULL || m == NULL) {
		free(e), free(m);
		return;
	}
	const struct room *room = hub_find_room(h, name, strlen(name));
	size_t n = room != NULL ? hub_list_members(room, e, HUB_LIST_MAX) : 0;
	long got = x != NULL ? cluster_list_members(x, m, HUB_LIST_MAX - n) : 0;
	for (long i = 0; i < got; i++)
		e[n++] = (struct chat_entry){m[i].label, 0, m[i].colour, NULL};
	c->proto->send_list(c, CHAT_LIST_WHO, name, e, n);
	free(e);
	free(m);
}

struct room_names {
	struct chat_entry e[ROOMS_MAX];
	char skeleton[ROOMS_MAX][NAMES_SKELETON_MAX];
	struct cluster_room remote[ROOMS_MAX];
};

static void answer_rooms(struct hub *h, struct conn *c, const redisReply *x)
{
	struct room_names *rn = malloc(sizeof(*rn));
	if (rn == NULL)
		return;
	size_t n = hub_list_rooms(h, rn->e, ROOMS_MAX), local = n;
	for (size_t i = 0; i < n; i++)
		if (names_skeleton(rn->e[i].name, strlen(rn->e[i].name), rn->skeleton[i],
				   NAMES_SKELETON_MAX) < 0)
			rn->skeleton[i][0] = '\0';
	long got = x != NULL ? cluster_list_rooms(x, rn->remote, ROOMS_MAX) : 0;
	for (long i = 0; i < got; i++) {
		char sk[NAMES_SKELETON_MAX];
		const struct cluster_room *r = &rn->remote[i];
		if (names_skeleton(r->name, strlen(r->name), sk, sizeof(sk)) < 0)
			continue;
		size_t j = 0;
		while (j < local && strcmp(rn->skeleton[j], sk) != 0)
			j++;
		if (j < local)
			rn->e[j].count += r->count;
		else if (n < ROOMS_MAX)
			rn->e[n++] = (struct chat_entry){r->name, r->count, -1, NULL};
	}
	c->proto->send_list(c, CHAT_LIST_ROOMS, NULL, rn->e, n);
	free(rn);
}

static void on_answer(struct redis *r, int status, redisReply *x, void *data)
{
	struct request *q = data;
	struct cluster_who *cw = q->cw;
	(void)r;
	cw->outstanding--;
	cw->asks--;
	shares_give_back(&cw->asks_by_asker, q->conn_id, q->address);
	struct hub *h = cw->closed ? NULL : cw->bus->data;
	/* The asker, if still here (looked up again: it may have left). */
	struct conn *c = h != NULL ? hub_find_named(h, q->pseudo, strlen(q->pseudo)) : NULL;
	if (c != NULL && c->id == q->conn_id && !c->closing) {
		if (status < 0 || x->type != REDIS_REPLY_ARRAY) {
			c->proto->send_info(c, CHAT_INFO_NOTICE, CLUSTER_WHO_TEXT_LOCAL);
			x = NULL;
		}
		if (q->kind == CHAT_LIST_WHO)
			answer_who(h, c, q->room, x);
		else
			answer_rooms(h, c, x);
	}
	free(q);
	maybe_free(cw);
}

int cluster_who_ask(struct cluster_who *cw, struct conn *c, enum chat_list kind,
		    const struct room *room)
{
	if (cw->closed || !c->has_pseudo)
		return -EINVAL;
	if (!redis_is_ready(cw->r) || cw->asks >= CLUSTER_WHO_MAX_ASKS) {
		c->proto->send_info(c, CHAT_INFO_NOTICE, CLUSTER_WHO_TEXT_LOCAL);
		return -ENOTCONN;
	}
	/* One asker's share of them: the others' questions still go. */
	if (shares_full(&cw->asks_by_asker, c->id, conn_addr_key(c))) {
		c->proto->send_info(c, CHAT_INFO_NOTICE, CLUSTER_WHO_TEXT_BUSY);
		return -EBUSY;
	}
	char key[REDIS_ROOMS_KEY_MAX + 32], tag[REDIS_ROOMS_KEY_MAX], max[24];
	if (kind == CHAT_LIST_WHO && !who_key(key, sizeof(key), room->skeleton, tag, sizeof(tag)))
		return -ENAMETOOLONG;
	struct request *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return -ENOMEM;
	q->cw = cw;
	q->ask = true;
	q->kind = kind;
	q->conn_id = c->id;
	snprintf(q->address, sizeof(q->address), "%s", conn_addr_key(c));
	snprintf(q->pseudo, sizeof(q->pseudo), "%s", c->pseudo);
	if (room != NULL)
		snprintf(q->room, sizeof(q->room), "%s", room->name);
	snprintf(max, sizeof(max), "%d", kind == CHAT_LIST_WHO ? HUB_LIST_MAX : ROOMS_MAX);
	const char *argv[] = {KEY_NODES, kind == CHAT_LIST_WHO ? key : KEY_ROOMS, cw->node, max};
	int rc = send_script(cw, kind == CHAT_LIST_WHO ? &cw->who : &cw->rooms, 2, 2, argv, q,
			     on_answer);
	if (rc == 0) {
		cw->asks++;
		shares_take(&cw->asks_by_asker, q->conn_id, q->address);
	}
	return rc;
}

/* ---- life -------------------------------------------------------------- */

int cluster_who_new(struct cluster_who **out, uv_loop_t *loop, struct redis *r,
		    const char *node, uint64_t ttl_ms, struct bus *bus)
{
	if (strlen(node) > NODE_MAX || ttl_ms < 3 * CLUSTER_WHO_TICK_MS)
		return UV_EINVAL;
	struct cluster_who *cw = calloc(1, sizeof(*cw));
	if (cw == NULL)
		return UV_ENOMEM;
	cw->r = r;
	cw->bus = bus;
	snprintf(cw->node, sizeof(cw->node), "%s", node);
	snprintf(cw->ttl, sizeof(cw->ttl), "%" PRIu64, ttl_ms);
	/* Three beats per lifetime, as the pseudo claims' renewals. */
	cw->beat_every = (unsigned)(ttl_ms / 3 / CLUSTER_WHO_TICK_MS);
	redis_script_init(&cw->sync, sync_lua, sizeof(sync_lua) - 1);
	redis_script_init(&cw->beat, beat_lua, sizeof(beat_lua) - 1);
	redis_script_init(&cw->who, who_lua, sizeof(who_lua) - 1);
	redis_script_init(&cw->rooms, rooms_lua, sizeof(rooms_lua) - 1);
	const struct redis_script *all[] = {&cw->sync, &cw->beat, &cw->who, &cw->rooms};
	for (size_t i = 0; i < 4; i++) {
		int rc = redis_script_load(r, all[i]);
		if (rc < 0) {
			free(cw);
			return rc;
		}
	}
	if (shares_init(&cw->asks_by_asker, CLUSTER_WHO_MAX_ASKS_PER_CONN,
			CLUSTER_WHO_MAX_ASKS_PER_ADDRESS) < 0) {
		free(cw);
		return UV_ENOMEM;
	}
	cw->synced = g_hash_table_new_full(g_str_hash, g_str_equal, free, free);
	uv_timer_init(loop, &cw->timer);
	cw->timer.data = cw;
	cw->timer_open = true;
	uv_timer_start(&cw->timer, on_tick, CLUSTER_WHO_TICK_MS, CLUSTER_WHO_TICK_MS);
	*out = cw;
	return 0;
}

static void on_timer_closed(uv_handle_t *handle)
{
	struct cluster_who *cw = handle->data;
	cw->timer_open = false;
	maybe_free(cw);
}

void cluster_who_close(struct cluster_who *cw)
{
	if (cw->closed)
		return;
	/* Dead at once: the others stop listing this node's members. */
	if (redis_is_ready(cw->r))
		beat(cw, "-1");
	cw->closed = true;
	uv_close((uv_handle_t *)&cw->timer, on_timer_closed);
}
