/*
 * redis_sessions: resume sessions in Redis (see redis_sessions.h).
 *
 * The value, one field a line (no name may hold a line break):
 *   s1 \n <user id> \n <colour> \n <holder> \n <identity: 64 hex or empty>
 *      \n <room> \n <pseudo>
 */
#include "redis_sessions.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "names.h"
#include "redis_rooms.h"
#include "redis_script.h"

#define SESSION_VERSION "s1"
#define SESSION_FIELDS 7
#define SESSION_KEY_MAX (sizeof("session:{}") + 2 * REDIS_SESSIONS_DIGEST_LEN)
/* JSON numbers are doubles: user ids stay within 53 bits (hub_names.c). */
#define SESSION_MAX_USER_ID ((1ull << 53) - 1)

/* The token is spent by whoever reads it first. */
static const char take_lua[] =
	"local v = redis.call('GET', KEYS[1])\n"
	"if v then redis.call('DEL', KEYS[1]) end\n"
	"return v\n";

/* The pseudo's claim for the returning user: if free, or still worn by
 * the session's own connection (ARGV[1]), or already the newcomer's. */
static const char takeover_lua[] =
	"local v = redis.call('GET', KEYS[1])\n"
	"if v == false or v == ARGV[1] or v == ARGV[2] then\n"
	"  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])\n"
	"  return 1\n"
	"end\n"
	"return 0\n";

/* A present user's session, renewed while it is here. */
struct entry {
	uint64_t conn_id; /* the key of rs->present */
	char key[SESSION_KEY_MAX];
	struct redis_session s;
};

struct redis_sessions {
	struct redis *r;
	uv_timer_t timer;
	struct redis_script take, takeover;
	char grace[24], claim_ttl[24];
	uint64_t grace_ms;
	GHashTable *present; /* conn id -> struct entry */
	unsigned outstanding;
	bool closed, timer_open, warned_full;
};

/* ---- the value ---------------------------------------------------------- */

size_t redis_session_format(const struct redis_session *s, char *out, size_t cap)
{
	char identity[65] = "";
	if (s->has_identity)
		for (size_t i = 0; i < sizeof(s->identity); i++)
			snprintf(identity + 2 * i, 3, "%02x", s->identity[i]);
	int n = snprintf(out, cap, SESSION_VERSION "\n%llu\n%d\n%s\n%s\n%s\n%s",
			 (unsigned long long)s->user_id, s->colour, s->holder, identity, s->room,
			 s->pseudo);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* A decimal number in [0, max], digits only. */
static bool parse_number(const char *p, size_t len, uint64_t max, uint64_t *out)
{
	if (len == 0 || len > 20)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		uint64_t d = (uint64_t)(p[i] - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool parse_hex(const char *p, size_t len, unsigned char *out, size_t n)
{
	if (len != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = g_ascii_xdigit_value(p[2 * i]), lo = g_ascii_xdigit_value(p[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

/* "<16 hex digits>:<decimal>", as pseudoclaim writes its values. */
static bool holder_ok(const char *p, size_t len)
{
	const char *colon = memchr(p, ':', len);
	if (colon == NULL || colon == p || len > REDIS_SESSION_HOLDER_MAX)
		return false;
	for (const char *q = p; q < colon; q++)
		if (!g_ascii_isxdigit(*q))
			return false;
	uint64_t id;
	return parse_number(colon + 1, len - (size_t)(colon + 1 - p), UINT64_MAX, &id);
}

int redis_session_parse(const char *p, size_t len, struct redis_session *out)
{
	struct { const char *ptr; size_t len; } f[SESSION_FIELDS];
	size_t n = 0;
	const char *end = p + len;
	if (len > REDIS_SESSION_MAX_BYTES)
		return -EINVAL;
	for (const char *at = p;; n++) {
		const char *nl = memchr(at, '\n', (size_t)(end - at));
		if (n == SESSION_FIELDS)
			return -EINVAL; /* a field too many */
		f[n].ptr = at;
		f[n].len = (size_t)((nl != NULL ? nl : end) - at);
		if (nl == NULL) {
			n++;
			break;
		}
		at = nl + 1;
	}
	if (n != SESSION_FIELDS || f[0].len != 2 || memcmp(f[0].ptr, SESSION_VERSION, 2) != 0)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	uint64_t colour = 0;
	bool minus = f[2].len == 2 && memcmp(f[2].ptr, "-1", 2) == 0;
	if (!parse_number(f[1].ptr, f[1].len, SESSION_MAX_USER_ID, &out->user_id) ||
	    out->user_id == 0 ||
	    (!minus && !parse_number(f[2].ptr, f[2].len, 255, &colour)) ||
	    !holder_ok(f[3].ptr, f[3].len))
		return -EINVAL;
	out->colour = minus ? -1 : (int)colour;
	memcpy(out->holder, f[3].ptr, f[3].len);
	if (f[4].len > 0) {
		if (!parse_hex(f[4].ptr, f[4].len, out->identity, sizeof(out->identity)))
			return -EINVAL;
		out->has_identity = true;
	}
	/* Names as a peer's would be checked: nothing else comes back. */
	const char *cause;
	char skeleton[NAMES_SKELETON_MAX];
	if (f[5].len > TEXT_MAX_ROOM || textproto_check_room(f[5].ptr, f[5].len, &cause) < 0 ||
	    f[6].len > TEXT_MAX_PSEUDO ||
	    textproto_check_pseudo(f[6].ptr, f[6].len, &cause) < 0 ||
	    names_skeleton(f[6].ptr, f[6].len, skeleton, sizeof(skeleton)) < 0)
		return -EINVAL;
	memcpy(out->room, f[5].ptr, f[5].len);
	memcpy(out->pseudo, f[6].ptr, f[6].len);
	return 0;
}

/* ---- commands ----------------------------------------------------------- */

static void key_of(const unsigned char digest[REDIS_SESSIONS_DIGEST_LEN], char *out)
{
	char *at = out + snprintf(out, SESSION_KEY_MAX, "session:{");
	for (size_t i = 0; i < REDIS_SESSIONS_DIGEST_LEN; i++)
		at += snprintf(at, 3, "%02x", digest[i]);
	snprintf(at, 2, "}");
}

static void maybe_free(struct redis_sessions *rs)
{
	if (!rs->closed || rs->timer_open || rs->outstanding > 0)
		return;
	g_hash_table_destroy(rs->present);
	free(rs);
}

static void on_written(struct redis *r, int status, redisReply *x, void *data)
{
	struct redis_sessions *rs = data;
	(void)r;
	if (status == 0 && x->type == REDIS_REPLY_ERROR && !rs->closed)
		log_warn("cluster: a session could not be written to Redis");
	rs->outstanding--;
	maybe_free(rs);
}

/* SET key value PX grace [XX]: best effort (Redis away: the next renewal). */
static void write_entry(struct redis_sessions *rs, const struct entry *e, bool only_if_there)
{
	char value[REDIS_SESSION_MAX_BYTES];
	size_t len = redis_session_format(&e->s, value, sizeof(value));
	if (len == 0 || !redis_is_ready(rs->r))
		return;
	const char *argv[6] = {"SET", e->key, value, "PX", rs->grace, "XX"};
	size_t argvlen[6] = {3, strlen(e->key), len, 2, strlen(rs->grace), 2};
	rs->outstanding++;
	if (redis_command_argv(rs->r, only_if_there ? 6 : 5, argv, argvlen, on_written, rs) < 0)
		rs->outstanding--;
}

static void on_timer(uv_timer_t *t)
{
	struct redis_sessions *rs = t->data;
	GHashTableIter it;
	gpointer value;
	g_hash_table_iter_init(&it, rs->present);
	while (g_hash_table_iter_next(&it, NULL, &value))
		write_entry(rs, value, true);
}

int redis_sessions_new(struct redis_sessions **out, uv_loop_t *loop, struct redis *r,
		       uint64_t grace_ms, uint64_t claim_ttl_ms)
{
	struct redis_sessions *rs = calloc(1, sizeof(*rs));
	if (rs == NULL)
		return UV_ENOMEM;
	rs->r = r;
	rs->grace_ms = grace_ms;
	snprintf(rs->grace, sizeof(rs->grace), "%llu", (unsigned long long)grace_ms);
	snprintf(rs->claim_ttl, sizeof(rs->claim_ttl), "%llu", (unsigned long long)claim_ttl_ms);
	redis_script_init(&rs->take, take_lua, sizeof(take_lua) - 1);
	redis_script_init(&rs->takeover, takeover_lua, sizeof(takeover_lua) - 1);
	int rc = redis_script_load(r, &rs->take);
	if (rc == 0)
		rc = redis_script_load(r, &rs->takeover);
	if (rc < 0) {
		free(rs);
		return rc;
	}
	rs->present = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, free);
	uv_timer_init(loop, &rs->timer);
	rs->timer.data = rs;
	rs->timer_open = true;
	/* Renewed three times per grace: one lost or late still leaves time. */
	uint64_t every = grace_ms / 3 > 0 ? grace_ms / 3 : 1;
	if (grace_ms > 0)
		uv_timer_start(&rs->timer, on_timer, every, every);
	*out = rs;
	return 0;
}

void redis_sessions_keep(struct redis_sessions *rs, uint64_t conn_id,
			 const unsigned char digest[REDIS_SESSIONS_DIGEST_LEN],
			 const struct redis_session *s)
{
	if (rs->closed || rs->grace_ms == 0)
		return;
	struct entry *e = g_hash_table_lookup(rs->present, &conn_id);
	if (e == NULL) {
		if (g_hash_table_size(rs->present) >= REDIS_SESSIONS_MAX) {
			if (!rs->warned_full)
				log_warn("cluster: %d sessions kept in Redis already: others are "
					 "this node's only", REDIS_SESSIONS_MAX);
			rs->warned_full = true;
			return;
		}
		e = calloc(1, sizeof(*e));
		if (e == NULL)
			return;
		e->conn_id = conn_id;
		g_hash_table_insert(rs->present, &e->conn_id, e);
	}
	key_of(digest, e->key);
	e->s = *s;
	write_entry(rs, e, false);
}

void redis_sessions_away(struct redis_sessions *rs, uint64_t conn_id, const char *room)
{
	struct entry *e = g_hash_table_lookup(rs->present, &conn_id);
	if (e == NULL)
		return;
	snprintf(e->s.room, sizeof(e->s.room), "%s", room);
	write_entry(rs, e, true);
	g_hash_table_remove(rs->present, &conn_id);
}

void redis_sessions_forget(struct redis_sessions *rs, uint64_t conn_id)
{
	g_hash_table_remove(rs->present, &conn_id);
}

void redis_sessions_spend(struct redis_sessions *rs,
			  const unsigned char digest[REDIS_SESSIONS_DIGEST_LEN])
{
	char key[SESSION_KEY_MAX];
	key_of(digest, key);
	if (rs->closed || !redis_is_ready(rs->r))
		return;
	const char *argv[2] = {"DEL", key};
	rs->outstanding++;
	if (redis_command_argv(rs->r, 2, argv, NULL, on_written, rs) < 0)
		rs->outstanding--;
}

size_t redis_sessions_count(const struct redis_sessions *rs)
{
	return g_hash_table_size(rs->present);
}

/* ---- taking a session --------------------------------------------------- */

struct take {
	struct redis_sessions *rs;
	redis_sessions_cb cb;
	void *data;
	char key[SESSION_KEY_MAX];
	char holder[REDIS_SESSION_HOLDER_MAX + 1];
	struct redis_session s;
	size_t len;
	char value[REDIS_SESSION_MAX_BYTES]; /* put back if the pseudo is not ours */
};

static void take_done(struct take *t, int status, const struct redis_session *s)
{
	struct redis_sessions *rs = t->rs;
	t->cb(status, s, t->data);
	free(t);
	rs->outstanding--;
	maybe_free(rs);
}

static void on_takeover(struct redis *r, int status, redisReply *x, void *data)
{
	struct take *t = data;
	struct redis_sessions *rs = t->rs;
	(void)r;
	if (status < 0 || rs->closed) {
		take_done(t, status < 0 ? status : UV_ECANCELED, NULL);
		return;
	}
	if (x->type != REDIS_REPLY_INTEGER) {
		take_done(t, UV_EPROTO, NULL);
		return;
	}
	if (x->integer == 1) {
		/* Event ids are per node: the client's last one means something
		 * only on the node that served it. */
		const char *a = strchr(t->s.holder, ':'), *b = strchr(t->holder, ':');
		t->s.here = a != NULL && b != NULL && a - t->s.holder == b - t->holder &&
			    memcmp(t->s.holder, t->holder, (size_t)(a - t->s.holder)) == 0;
		take_done(t, 0, &t->s);
		return;
	}
	/* Somebody else wears the pseudo: the session is put back, unspent. */
	const char *argv[6] = {"SET", t->key, t->value, "PX", rs->grace, "NX"};
	size_t argvlen[6] = {3, strlen(t->key), t->len, 2, strlen(rs->grace), 2};
	rs->outstanding++;
	if (redis_command_argv(rs->r, 6, argv, argvlen, on_written, rs) < 0)
		rs->outstanding--;
	take_done(t, 0, NULL);
}

static void on_taken(struct redis *r, int status, redisReply *x, void *data)
{
	struct take *t = data;
	struct redis_sessions *rs = t->rs;
	(void)r;
	if (status < 0 || rs->closed) {
		take_done(t, status < 0 ? status : UV_ECANCELED, NULL);
		return;
	}
	if (x->type == REDIS_REPLY_NIL) {
		take_done(t, 0, NULL); /* unknown, expired or spent */
		return;
	}
	if (x->type != REDIS_REPLY_STRING || x->len > sizeof(t->value) ||
	    redis_session_parse(x->str, x->len, &t->s) < 0) {
		log_warn("cluster: a session in Redis is not one: ignored");
		take_done(t, x->type == REDIS_REPLY_STRING ? 0 : UV_EPROTO, NULL);
		return;
	}
	memcpy(t->value, x->str, x->len);
	t->len = x->len;
	char skeleton[NAMES_SKELETON_MAX], claim[REDIS_ROOMS_KEY_MAX];
	int rc = names_skeleton(t->s.pseudo, strlen(t->s.pseudo), skeleton, sizeof(skeleton));
	if (rc == 0)
		rc = redis_rooms_pseudo_key(claim, sizeof(claim), skeleton); /* its length */
	if (rc >= 0) {
		const char *argv[4] = {claim, t->s.holder, t->holder, rs->claim_ttl};
		rc = redis_script_call(rs->r, &rs->takeover, 1, 3, argv, NULL, on_takeover, t);
	}
	if (rc < 0)
		take_done(t, rc, NULL);
}

int redis_sessions_take(struct redis_sessions *rs,
			const unsigned char digest[REDIS_SESSIONS_DIGEST_LEN],
			const char *new_holder, redis_sessions_cb cb, void *data)
{
	if (rs->closed)
		return UV_ECANCELED;
	if (strlen(new_holder) > REDIS_SESSION_HOLDER_MAX)
		return UV_EINVAL;
	struct take *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return UV_ENOMEM;
	t->rs = rs;
	t->cb = cb;
	t->data = data;
	key_of(digest, t->key);
	snprintf(t->holder, sizeof(t->holder), "%s", new_holder);
	const char *argv[1] = {t->key};
	int rc = redis_script_call(rs->r, &rs->take, 1, 0, argv, NULL, on_taken, t);
	if (rc < 0) {
		free(t);
		return rc;
	}
	rs->outstanding++;
	return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct redis_sessions *rs = h->data;
	rs->timer_open = false;
	maybe_free(rs);
}

void redis_sessions_close(struct redis_sessions *rs)
{
	if (rs->closed)
		return;
	rs->closed = true;
	g_hash_table_remove_all(rs->present);
	uv_close((uv_handle_t *)&rs->timer, on_timer_closed);
}
