/*
 * redis_send: the sending side of a Redis connection (see redis.h):
 * commands formatted by hiredis into one write queue, written one batch
 * at a time; the subscriber's set; the setup commands.
 */
#include "redis_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_write(uv_write_t *req, int status)
{
	struct redis *r = req->data;
	r->writing = false;
	buffer_free(&r->wbuf);
	if (r->state == REDIS_CLOSED) {
		redis_maybe_free(r);
		return;
	}
	if (status == UV_ECANCELED || !r->connected)
		return; /* that connection was reset */
	if (status < 0) {
		redis_drop(r, status, redis_cause(r, "%s: write: %s", r->name, uv_strerror(status)));
		return;
	}
	redis_flush(r);
}

void redis_flush(struct redis *r)
{
	if (r->writing || r->out.len == 0 || !r->connected)
		return;
	r->wbuf = r->out;
	memset(&r->out, 0, sizeof(r->out));
	uv_buf_t b = uv_buf_init(r->wbuf.data, (unsigned)r->wbuf.len);
	r->write_req.data = r;
	int rc = uv_write(&r->write_req, (uv_stream_t *)&r->tcp, &b, 1, on_write);
	if (rc < 0) {
		buffer_free(&r->wbuf);
		redis_drop_soon(r, rc);
		return;
	}
	r->writing = true;
}

/* Appends a formatted command and its pending entry. */
int redis_push(struct redis *r, const char *cmd, size_t len, enum pending_kind kind,
		const char *label, redis_reply_cb cb, void *data)
{
	struct pending *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return UV_ENOMEM;
	if (buffer_add(&r->out, cmd, len) < 0) {
		free(p);
		return UV_ENOMEM;
	}
	p->kind = kind;
	p->setup = r->state == REDIS_CONNECTING;
	if (p->setup)
		r->setup_left++;
	p->label = label;
	p->cb = cb;
	p->data = data;
	p->deadline = redis_now(r) + r->o.command_timeout_ms;
	bool was_empty = STAILQ_EMPTY(&r->pending);
	STAILQ_INSERT_TAIL(&r->pending, p, link);
	if (kind == PENDING_USER)
		r->n_user++;
	if (was_empty)
		redis_rearm(r);
	redis_flush(r);
	return 0;
}

int redis_push_argv(struct redis *r, int argc, const char **argv, const size_t *argvlen,
		     enum pending_kind kind, const char *label, redis_reply_cb cb, void *data)
{
	char *cmd = NULL;
	int len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
	if (len < 0)
		return UV_ENOMEM;
	int rc = redis_push(r, cmd, (size_t)len, kind, label, cb, data);
	redisFreeCommand(cmd);
	return rc;
}

/* A SUBSCRIBE carries the callback of redis_subscribe, the first time. */
int redis_send_subscription(struct redis *r, struct sub *s, bool on)
{
	const char *verb = s->pattern ? (on ? "PSUBSCRIBE" : "PUNSUBSCRIBE")
				      : (on ? "SUBSCRIBE" : "UNSUBSCRIBE");
	const char *argv[2] = { verb, s->name };
	int rc = redis_push_argv(r, 2, argv, NULL, on ? PENDING_SUBSCRIBE : PENDING_UNSUBSCRIBE, verb,
			   on ? s->cb : NULL, s->data);
	if (rc == 0 && on)
		s->cb = NULL;
	return rc;
}

/* The callback of a subscription never sent, with status, once. */
void redis_cancel_subscription(struct redis *r, struct sub *s, int status)
{
	redis_reply_cb cb = s->cb;
	s->cb = NULL;
	if (cb != NULL)
		cb(r, status, NULL, s->data);
}

size_t redis_pending_count(const struct redis *r)
{
	return r->n_user;
}

size_t redis_queued_bytes(const struct redis *r)
{
	return r->out.len + r->wbuf.len;
}

int redis_command_argv(struct redis *r, int argc, const char **argv, const size_t *argvlen,
		       redis_reply_cb cb, void *data)
{
	if (r->o.subscriber || argc < 1)
		return UV_EINVAL;
	if (r->state != REDIS_READY)
		return UV_ENOTCONN;
	if (r->n_user >= r->o.max_pending)
		return UV_ENOBUFS;
	char *cmd = NULL;
	int len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
	if (len < 0)
		return UV_ENOMEM;
	int rc = UV_ENOBUFS;
	if ((size_t)len <= r->o.max_queue_bytes &&
	    redis_queued_bytes(r) <= r->o.max_queue_bytes - (size_t)len)
		rc = redis_push(r, cmd, (size_t)len, PENDING_USER, "command", cb, data);
	redisFreeCommand(cmd);
	return rc;
}

int redis_command(struct redis *r, redis_reply_cb cb, void *data, const char *fmt, ...)
{
	if (r->o.subscriber)
		return UV_EINVAL;
	if (r->state != REDIS_READY)
		return UV_ENOTCONN;
	if (r->n_user >= r->o.max_pending)
		return UV_ENOBUFS;
	char *cmd = NULL;
	va_list ap;
	va_start(ap, fmt);
	int len = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	if (len < 0)
		return UV_EINVAL; /* a bad format, or out of memory */
	int rc = UV_ENOBUFS;
	if ((size_t)len <= r->o.max_queue_bytes &&
	    redis_queued_bytes(r) <= r->o.max_queue_bytes - (size_t)len)
		rc = redis_push(r, cmd, (size_t)len, PENDING_USER, "command", cb, data);
	redisFreeCommand(cmd);
	return rc;
}

int redis_add_setup(struct redis *r, int argc, const char **argv, const size_t *argvlen)
{
	char *cmd = NULL;
	int len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
	if (len < 0)
		return UV_ENOMEM;
	struct setup_cmd *c = malloc(sizeof(*c) + (size_t)len);
	if (c == NULL) {
		redisFreeCommand(cmd);
		return UV_ENOMEM;
	}
	c->len = (size_t)len;
	memcpy(c->cmd, cmd, (size_t)len);
	redisFreeCommand(cmd);
	STAILQ_INSERT_TAIL(&r->setup, c, link);
	if (r->connected && redis_push(r, c->cmd, c->len, PENDING_SETUP, "setup", NULL, NULL) < 0)
		redis_drop_soon(r, UV_ENOMEM);
	return 0;
}

static struct sub *find_sub(struct redis *r, const char *channel, bool pattern)
{
	struct sub *s;
	TAILQ_FOREACH(s, &r->subs, link)
		if (s->pattern == pattern && strcmp(s->name, channel) == 0)
			return s;
	return NULL;
}

int redis_subscribe(struct redis *r, const char *channel, bool pattern, redis_reply_cb cb,
		    void *data)
{
	if (!r->o.subscriber || r->state == REDIS_CLOSED)
		return UV_EINVAL;
	if (find_sub(r, channel, pattern) != NULL)
		return -EEXIST;
	size_t len = strlen(channel);
	struct sub *s = malloc(sizeof(*s) + len + 1);
	if (s == NULL)
		return UV_ENOMEM;
	s->pattern = pattern;
	s->cb = cb;
	s->data = data;
	memcpy(s->name, channel, len + 1);
	/* Not connected yet: the next setup sends it. */
	if (r->connected && redis_send_subscription(r, s, true) < 0) {
		free(s);
		return UV_ENOMEM;
	}
	TAILQ_INSERT_TAIL(&r->subs, s, link);
	return 0;
}

int redis_unsubscribe(struct redis *r, const char *channel, bool pattern)
{
	struct sub *s = find_sub(r, channel, pattern);
	if (s == NULL)
		return -ENOENT;
	TAILQ_REMOVE(&r->subs, s, link);
	redis_cancel_subscription(r, s, UV_ECANCELED);
	if (r->connected)
		(void)redis_send_subscription(r, s, false); /* failing, a reset would undo it */
	free(s);
	return 0;
}
