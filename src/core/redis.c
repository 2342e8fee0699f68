/*
 * redis: a Redis connection on our own libuv TCP handle (see redis.h).
 *
 * States: WAITING (between attempts: the handle closed or closing, the
 * timer set for the next attempt), CONNECTING (resolving, connecting, then
 * the setup commands: AUTH, SELECT, the owner's (SCRIPT LOAD), SUBSCRIBEs,
 * PING), READY, CLOSED.
 * `gen` counts connections: a callback of a connection since reset (a
 * resolution, a connect, a read) sees another gen and does nothing.
 *
 * One timer serves every deadline. Replies come in order and every
 * command has the same timeout, so the oldest command's deadline is the
 * earliest: the timer is set when the queue stops being empty, and when it
 * fires early (that command was answered) it is set again for the next.
 */
#include "redis_int.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sanitize.h"

void redis_options_default(struct redis_options *o)
{
	struct redis_url url = o->url;
	memset(o, 0, sizeof(*o));
	o->url = url;
	o->name = "redis";
	o->connect_timeout_ms = 2000;
	o->command_timeout_ms = 5000;
	o->ping_interval_ms = 5000;
	o->backoff_min_ms = 100;
	o->backoff_max_ms = 5000;
	/* A stream range of pictures kept whole (256 KiB each, base64) fits. */
	o->max_reply_bytes = 64u << 20;
	o->max_queue_bytes = 16u << 20;
	o->max_pending = 100000;
}

uint64_t redis_now(const struct redis *r)
{
	return uv_now(r->loop);
}

static uint32_t next_random(struct redis *r)
{
	/* xorshift64: jitter needs spread, not secrecy. */
	r->rng ^= r->rng << 13;
	r->rng ^= r->rng >> 7;
	r->rng ^= r->rng << 17;
	return (uint32_t)(r->rng >> 32);
}

/* Causes quote Redis's error texts: sanitised before any log sees them. */
const char *redis_cause(struct redis *r, const char *fmt, ...)
{
	char raw[sizeof(r->cause) / 3];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	size_t len = n < 0 ? 0 : (size_t)n >= sizeof(raw) ? sizeof(raw) - 1 : (size_t)n;
	len = sanitize_text(raw, len, r->cause, sizeof(r->cause) - 1, 0);
	r->cause[len] = '\0';
	return r->cause;
}

static void on_timer(uv_timer_t *t);
static void on_tcp_closed(uv_handle_t *h);
static void start_attempt(struct redis *r);

void redis_rearm(struct redis *r)
{
	if (r->state == REDIS_CLOSED)
		return;
	uint64_t at = UINT64_MAX;
	if (r->state == REDIS_WAITING)
		at = r->tcp_open ? UINT64_MAX : r->retry_at; /* else the close callback sets it */
	else if (r->state == REDIS_CONNECTING)
		at = r->attempt_deadline;
	struct pending *head = STAILQ_FIRST(&r->pending);
	/* A ping only on a quiet connection (as on_timer sends it): a waiting
	 * command has its own deadline, and a ping time that passed while it
	 * waits would fire the timer again at once, for ever (the loop's
	 * clock does not move within its timers). */
	if (r->state == REDIS_READY && head == NULL && r->o.ping_interval_ms > 0 && !r->ping_out)
		at = r->last_io + r->o.ping_interval_ms;
	if (head != NULL && head->deadline < at)
		at = head->deadline;
	if (at == UINT64_MAX) {
		uv_timer_stop(&r->timer);
		return;
	}
	uint64_t now = redis_now(r);
	uv_timer_start(&r->timer, on_timer, at > now ? at - now : 0, 0);
}

static void free_addresses(struct redis *r)
{
	if (r->ai_list != NULL)
		uv_freeaddrinfo(r->ai_list);
	r->ai_list = r->ai_next = NULL;
}

/* Each waiting command's callback, once, with status; a callback may call
 * redis_close, which then fails the rest with UV_ECANCELED. */
static void fail_all(struct redis *r, int status)
{
	struct pending *p;
	while ((p = STAILQ_FIRST(&r->pending)) != NULL) {
		STAILQ_REMOVE_HEAD(&r->pending, link);
		if (p->kind == PENDING_USER)
			r->n_user--;
		redis_reply_cb cb = p->cb;
		void *data = p->data;
		free(p);
		if (cb != NULL)
			cb(r, status, NULL, data);
	}
}

static void schedule_retry(struct redis *r)
{
	uint64_t delay = redis_backoff_ms(r->attempt, r->o.backoff_min_ms, r->o.backoff_max_ms,
					  next_random(r));
	if (r->attempt < 64)
		r->attempt++;
	r->retry_at = redis_now(r) + delay;
	redis_rearm(r);
}

static void close_tcp(struct redis *r)
{
	if (r->tcp_open && !uv_is_closing((uv_handle_t *)&r->tcp)) {
		uv_read_stop((uv_stream_t *)&r->tcp);
		uv_close((uv_handle_t *)&r->tcp, on_tcp_closed);
	}
}

/* The connection (or the attempt) is over: every command waiting fails,
 * the owner is told, another attempt follows the backoff. */
void redis_drop(struct redis *r, int status, const char *cause)
{
	if (r->state == REDIS_CLOSED || r->state == REDIS_WAITING)
		return;
	r->gen++;
	r->state = REDIS_WAITING;
	r->connected = false;
	r->ping_out = false;
	r->setup_left = 0;
	r->failed_soon = 0;
	free_addresses(r);
	if (!r->in_read) {
		resp_reader_free(r->reader);
		r->reader = NULL;
	}
	buffer_free(&r->out);
	if (r->tcp_open)
		close_tcp(r); /* the close callback schedules the retry */
	else
		schedule_retry(r);
	fail_all(r, status);
	if (r->state != REDIS_CLOSED && r->ev.down != NULL)
		r->ev.down(r, status, cause, r->data);
	redis_rearm(r);
}

void redis_drop_soon(struct redis *r, int err)
{
	if (r->failed_soon == 0)
		r->failed_soon = err;
	uv_timer_start(&r->timer, on_timer, 0, 0);
}

void redis_maybe_free(struct redis *r)
{
	if (r->tcp_open || r->timer_open || r->resolving > 0 || r->writing)
		return;
	struct sub *s;
	while ((s = TAILQ_FIRST(&r->subs)) != NULL) {
		TAILQ_REMOVE(&r->subs, s, link);
		free(s);
	}
	struct setup_cmd *c;
	while ((c = STAILQ_FIRST(&r->setup)) != NULL) {
		STAILQ_REMOVE_HEAD(&r->setup, link);
		free(c);
	}
	resp_reader_free(r->reader);
	buffer_free(&r->out);
	buffer_free(&r->wbuf);
	free_addresses(r);
	free(r);
}

static void on_timer_closed(uv_handle_t *h)
{
	struct redis *r = h->data;
	r->timer_open = false;
	redis_maybe_free(r);
}

static void on_tcp_closed(uv_handle_t *h)
{
	struct redis *r = h->data;
	r->tcp_open = false;
	if (r->state == REDIS_CLOSED) {
		redis_maybe_free(r);
	} else if (r->state == REDIS_WAITING) {
		schedule_retry(r);
	} else if (r->state == REDIS_CONNECTING) {
		/* An address failed (on_connect closed it): the next. */
		start_attempt(r);
	}
}

/* ---- connecting -------------------------------------------------------- */

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct redis *r = h->data;
	(void)hint;
	*buf = uv_buf_init(r->rbuf, sizeof(r->rbuf));
}

static void become_ready(struct redis *r)
{
	r->state = REDIS_READY;
	r->attempt = 0;
	r->last_io = redis_now(r);
	redis_rearm(r);
	if (r->ev.ready != NULL)
		r->ev.ready(r, r->data);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct redis *r = req->data;
	if (status == UV_ECANCELED || r->state != REDIS_CONNECTING)
		return;
	if (status < 0) {
		const char *cause = redis_cause(r, "%s: connect to %s:%u: %s", r->name,
						r->o.url.host, r->o.url.port, uv_strerror(status));
		if (r->ai_next != NULL) {
			close_tcp(r); /* its close callback tries the next address */
			return;
		}
		redis_drop(r, status, cause);
		return;
	}
	r->connected = true;
	uv_tcp_nodelay(&r->tcp, 1);
	resp_reader_free(r->reader);
	r->reader = resp_reader_new(r->o.max_reply_bytes);
	int rc = r->reader == NULL ? UV_ENOMEM
		: uv_read_start((uv_stream_t *)&r->tcp, on_alloc, on_read);
	/* AUTH and SELECT first, the owner's setup, the subscriptions; PING
	 * last, so that ready means Redis answered. */
	if (rc == 0 && r->o.url.password[0] != '\0') {
		const char *argv[3] = { "AUTH", r->o.url.user, r->o.url.password };
		if (r->o.url.user[0] != '\0')
			rc = redis_push_argv(r, 3, argv, NULL, PENDING_SETUP, "AUTH", NULL, NULL);
		else {
			argv[1] = r->o.url.password;
			rc = redis_push_argv(r, 2, argv, NULL, PENDING_SETUP, "AUTH", NULL, NULL);
		}
	}
	if (rc == 0 && r->o.url.db != 0) {
		char db[16];
		snprintf(db, sizeof(db), "%d", r->o.url.db);
		const char *argv[2] = { "SELECT", db };
		rc = redis_push_argv(r, 2, argv, NULL, PENDING_SETUP, "SELECT", NULL, NULL);
	}
	struct setup_cmd *c;
	STAILQ_FOREACH(c, &r->setup, link)
		if (rc == 0)
			rc = redis_push(r, c->cmd, c->len, PENDING_SETUP, "setup", NULL, NULL);
	struct sub *s;
	TAILQ_FOREACH(s, &r->subs, link)
		if (rc == 0)
			rc = redis_send_subscription(r, s, true);
	if (rc == 0) {
		const char *argv[1] = { "PING" };
		rc = redis_push_argv(r, 1, argv, NULL, PENDING_SETUP, "PING", NULL, NULL);
	}
	if (rc < 0)
		redis_drop(r, rc, redis_cause(r, "%s: %s", r->name, uv_strerror(rc)));
}

static void connect_to(struct redis *r, const struct sockaddr *addr)
{
	int rc = uv_tcp_init(r->loop, &r->tcp);
	if (rc < 0) {
		redis_drop(r, rc, redis_cause(r, "%s: %s", r->name, uv_strerror(rc)));
		return;
	}
	r->tcp.data = r;
	r->tcp_open = true;
	r->connect_req.data = r;
	rc = uv_tcp_connect(&r->connect_req, &r->tcp, addr, on_connect);
	if (rc < 0)
		redis_drop(r, rc, redis_cause(r, "%s: connect to %s:%u: %s", r->name,
					      r->o.url.host, r->o.url.port, uv_strerror(rc)));
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct resolve *rs = req->data;
	struct redis *r = rs->r;
	bool stale = rs->gen != r->gen || r->state != REDIS_CONNECTING;
	free(rs);
	r->resolving--;
	if (stale) {
		if (res != NULL)
			uv_freeaddrinfo(res);
		if (r->state == REDIS_CLOSED)
			redis_maybe_free(r);
		return;
	}
	if (status < 0 || res == NULL) {
		int err = status < 0 ? status : UV_EAI_NONAME;
		redis_drop(r, err, redis_cause(r, "%s: cannot resolve %s: %s", r->name,
					       r->o.url.host, uv_strerror(err)));
		return;
	}
	r->ai_list = r->ai_next = res;
	start_attempt(r);
}

/* Starts an attempt, or goes on with the next resolved address. */
static void start_attempt(struct redis *r)
{
	if (r->state != REDIS_CONNECTING) {
		r->state = REDIS_CONNECTING;
		r->attempt_deadline = redis_now(r) + r->o.connect_timeout_ms;
		redis_rearm(r);
	}
	if (r->numeric) {
		connect_to(r, (const struct sockaddr *)&r->addr);
		return;
	}
	if (r->ai_next != NULL) {
		const struct addrinfo *ai = r->ai_next;
		r->ai_next = ai->ai_next;
		connect_to(r, ai->ai_addr);
		return;
	}
	if (r->ai_list != NULL) { /* every address failed */
		redis_drop(r, UV_ECONNREFUSED,
			   redis_cause(r, "%s: no address of %s answered", r->name, r->o.url.host));
		return;
	}
	struct resolve *rs = calloc(1, sizeof(*rs));
	if (rs == NULL) {
		redis_drop(r, UV_ENOMEM, redis_cause(r, "%s: out of memory", r->name));
		return;
	}
	rs->r = r;
	rs->gen = r->gen;
	rs->req.data = rs;
	char port[8];
	snprintf(port, sizeof(port), "%u", r->o.url.port);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_ADDRCONFIG };
	int rc = uv_getaddrinfo(r->loop, &rs->req, on_resolved, r->o.url.host, port, &hints);
	if (rc < 0) {
		free(rs);
		redis_drop(r, rc, redis_cause(r, "%s: cannot resolve %s: %s", r->name, r->o.url.host,
				       uv_strerror(rc)));
		return;
	}
	r->resolving++;
}

/* ---- reading ----------------------------------------------------------- */

static bool is_text(const redisReply *x)
{
	return x->type == REDIS_REPLY_STRING || x->type == REDIS_REPLY_STATUS;
}

/* A subscriber's pushed message: ["message", ch, payload] or
 * ["pmessage", pattern, ch, payload]. */
static bool deliver_message(struct redis *r, const redisReply *x)
{
	if (x->type != REDIS_REPLY_ARRAY || x->elements < 3 || !is_text(x->element[0]))
		return false;
	const char *kind = x->element[0]->str;
	size_t n = x->elements;
	size_t len = x->element[0]->len;
	bool plain = n == 3 && len == 7 && memcmp(kind, "message", 7) == 0;
	bool pat = n == 4 && len == 8 && memcmp(kind, "pmessage", 8) == 0;
	if (!plain && !pat)
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_text(x->element[i]))
			return false;
	struct redis_message m = {
		.pattern = pat ? x->element[1]->str : NULL,
		.pattern_len = pat ? x->element[1]->len : 0,
		.channel = x->element[n - 2]->str,
		.channel_len = x->element[n - 2]->len,
		.payload = x->element[n - 1]->str,
		.payload_len = x->element[n - 1]->len,
	};
	if (r->ev.message != NULL)
		r->ev.message(r, &m, r->data);
	return true;
}

static void on_reply(struct redis *r, redisReply *x)
{
	if (r->o.subscriber && deliver_message(r, x))
		return;
	struct pending *p = STAILQ_FIRST(&r->pending);
	if (p == NULL) {
		redis_drop(r, UV_EPROTO, redis_cause(r, "%s: a reply to no command", r->name));
		return;
	}
	STAILQ_REMOVE_HEAD(&r->pending, link);
	struct pending q = *p;
	free(p);
	if (q.kind == PENDING_USER)
		r->n_user--;
	if (q.kind == PENDING_PING)
		r->ping_out = false;
	if (q.kind != PENDING_USER && x->type == REDIS_REPLY_ERROR) {
		if (q.cb != NULL)
			q.cb(r, 0, x, q.data);
		redis_drop(r, UV_EPROTO, redis_cause(r, "%s: %s refused: %.*s", r->name, q.label,
						     (int)(x->len < 200 ? x->len : 200), x->str));
		return;
	}
	if (q.cb != NULL)
		q.cb(r, 0, x, q.data);
	if (q.setup && r->state == REDIS_CONNECTING && --r->setup_left == 0)
		become_ready(r);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct redis *r = s->data;
	(void)buf;
	if (nread == 0 || !r->connected)
		return;
	if (nread < 0) {
		if (nread == UV_EOF)
			redis_drop(r, UV_ECONNRESET,
				   redis_cause(r, "%s: the server closed the connection", r->name));
		else
			redis_drop(r, (int)nread,
				   redis_cause(r, "%s: read: %s", r->name, uv_strerror((int)nread)));
		return;
	}
	r->last_io = redis_now(r);
	uint64_t gen = r->gen;
	struct resp_reader *rd = r->reader;
	const char *cause = "";
	redisReply *x;
	int rc = resp_feed(rd, r->rbuf, (size_t)nread);
	r->in_read = true;
	while (rc == 0 && gen == r->gen && (rc = resp_next(rd, &x, &cause)) == 1) {
		on_reply(r, x);
		freeReplyObject(x);
		rc = 0;
	}
	r->in_read = false;
	if (gen != r->gen) {
		/* Reset or closed meanwhile: the reader was kept for this loop. */
		if (r->reader == rd && r->state != REDIS_CLOSED) {
			resp_reader_free(rd);
			r->reader = NULL;
		}
		return;
	}
	if (rc < 0)
		redis_drop(r, rc, redis_cause(r, "%s: %s", r->name, cause));
}

static void on_timer(uv_timer_t *t)
{
	struct redis *r = t->data;
	uint64_t now = redis_now(r);
	struct pending *head = STAILQ_FIRST(&r->pending);
	if (r->failed_soon != 0 && r->state != REDIS_CLOSED) {
		int err = r->failed_soon;
		redis_drop(r, err, redis_cause(r, "%s: write: %s", r->name, uv_strerror(err)));
		return;
	}
	switch (r->state) {
	case REDIS_CLOSED:
		return;
	case REDIS_WAITING:
		if (!r->tcp_open && now >= r->retry_at) {
			start_attempt(r);
			return;
		}
		break;
	case REDIS_CONNECTING:
		if (now >= r->attempt_deadline) {
			redis_drop(r, UV_ETIMEDOUT,
				   redis_cause(r, "%s: no connection to %s:%u within %llu ms",
					       r->name, r->o.url.host, r->o.url.port,
					       (unsigned long long)r->o.connect_timeout_ms));
			return;
		}
		break;
	case REDIS_READY:
		if (head == NULL && r->o.ping_interval_ms > 0 && !r->ping_out &&
		    now >= r->last_io + r->o.ping_interval_ms) {
			const char *argv[1] = { "PING" };
			int rc = redis_push_argv(r, 1, argv, NULL, PENDING_PING, "PING", NULL, NULL);
			if (rc < 0) { /* else the ping, due, would be tried again at once */
				redis_drop(r, rc, redis_cause(r, "%s: ping: %s", r->name, uv_strerror(rc)));
				return;
			}
			r->ping_out = true;
			head = STAILQ_FIRST(&r->pending);
		}
		break;
	}
	if (head != NULL && now >= head->deadline) {
		redis_drop(r, UV_ETIMEDOUT,
			   redis_cause(r, "%s: no reply within %llu ms", r->name,
				       (unsigned long long)r->o.command_timeout_ms));
		return;
	}
	redis_rearm(r);
}

/* ---- the interface ----------------------------------------------------- */

int redis_open(struct redis **out, uv_loop_t *loop, const struct redis_options *o,
	       const struct redis_events *ev, void *data)
{
	struct redis *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return UV_ENOMEM;
	r->loop = loop;
	r->o = *o;
	snprintf(r->name, sizeof(r->name), "%s", o->name != NULL ? o->name : "redis");
	r->o.name = r->name;
	if (ev != NULL)
		r->ev = *ev;
	r->data = data;
	STAILQ_INIT(&r->pending);
	TAILQ_INIT(&r->subs);
	STAILQ_INIT(&r->setup);
	r->rng = uv_hrtime() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)r;
	if (r->rng == 0)
		r->rng = 1;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&r->addr;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&r->addr;
	r->numeric = uv_ip4_addr(o->url.host, o->url.port, v4) == 0 ||
		     uv_ip6_addr(o->url.host, o->url.port, v6) == 0;
	int rc = uv_timer_init(loop, &r->timer);
	if (rc < 0) {
		free(r);
		return rc;
	}
	r->timer.data = r;
	r->timer_open = true;
	r->state = REDIS_WAITING;
	start_attempt(r);
	*out = r;
	return 0;
}

void redis_close(struct redis *r)
{
	if (r->state == REDIS_CLOSED)
		return;
	r->state = REDIS_CLOSED;
	r->gen++;
	r->connected = false;
	free_addresses(r);
	close_tcp(r);
	uv_close((uv_handle_t *)&r->timer, on_timer_closed);
	buffer_free(&r->out);
	fail_all(r, UV_ECANCELED);
	struct sub *s;
	TAILQ_FOREACH(s, &r->subs, link)
		redis_cancel_subscription(r, s, UV_ECANCELED);
}

bool redis_is_ready(const struct redis *r)
{
	return r->state == REDIS_READY;
}

void redis_reset(struct redis *r, const char *cause)
{
	redis_drop(r, UV_ECONNRESET, redis_cause(r, "%s: %s", r->name, cause));
}

