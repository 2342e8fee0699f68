/*
 * redis_script: EVALSHA with an EVAL fallback (see redis_script.h).
 */
#include "redis_script.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A call under way: its arguments, kept for the EVAL retry. argv[0] is
 * "EVALSHA" or "EVAL", argv[1] the SHA-1 or the body. */
struct script_call {
	const struct redis_script *script;
	redis_reply_cb cb;
	void *data;
	int argc;
	char nkeys[16];
	const char **argv;
	size_t *argvlen;
	char bytes[]; /* the copied arguments */
};

void redis_script_init(struct redis_script *s, const char *body, size_t len)
{
	s->body = body;
	s->len = len;
	gchar *hex = g_compute_checksum_for_data(G_CHECKSUM_SHA1, (const guchar *)body, len);
	snprintf(s->sha, sizeof(s->sha), "%s", hex);
	g_free(hex);
}

static bool is_noscript(const redisReply *x)
{
	return x != NULL && x->type == REDIS_REPLY_ERROR && x->len >= 8 &&
	       memcmp(x->str, "NOSCRIPT", 8) == 0;
}

static void on_reply(struct redis *r, int status, redisReply *x, void *data)
{
	struct script_call *c = data;
	if (status == 0 && is_noscript(x) && strcmp(c->argv[0], "EVALSHA") == 0) {
		c->argv[0] = "EVAL";
		c->argv[1] = c->script->body;
		c->argvlen[0] = 4;
		c->argvlen[1] = c->script->len;
		int rc = redis_command_argv(r, c->argc, c->argv, c->argvlen, on_reply, c);
		if (rc == 0)
			return;
		status = rc;
		x = NULL;
	}
	c->cb(r, status, x, c->data);
	free(c->argv);
	free(c->argvlen);
	free(c);
}

int redis_script_call(struct redis *r, const struct redis_script *s, int nkeys, int nargs,
		      const char *const *argv, const size_t *argvlen, redis_reply_cb cb,
		      void *data)
{
	int n = nkeys + nargs;
	if (nkeys < 0 || nargs < 0)
		return UV_EINVAL;
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += argvlen != NULL ? argvlen[i] : strlen(argv[i]);
	size_t slots = (size_t)n + 3;
	struct script_call *c = malloc(sizeof(*c) + total + (size_t)n);
	const char **v = malloc(slots * sizeof(*v));
	size_t *vl = malloc(slots * sizeof(*vl));
	if (c == NULL || v == NULL || vl == NULL) {
		free(c);
		free(v);
		free(vl);
		return UV_ENOMEM;
	}
	c->script = s;
	c->cb = cb;
	c->data = data;
	c->argc = (int)slots;
	c->argv = v;
	c->argvlen = vl;
	snprintf(c->nkeys, sizeof(c->nkeys), "%d", nkeys);
	v[0] = "EVALSHA";
	vl[0] = 7;
	v[1] = s->sha;
	vl[1] = 40;
	v[2] = c->nkeys;
	vl[2] = strlen(c->nkeys);
	char *p = c->bytes;
	for (int i = 0; i < n; i++) {
		size_t len = argvlen != NULL ? argvlen[i] : strlen(argv[i]);
		memcpy(p, argv[i], len);
		p[len] = '\0';
		v[3 + i] = p;
		vl[3 + i] = len;
		p += len + 1;
	}
	int rc = redis_command_argv(r, c->argc, v, vl, on_reply, c);
	if (rc < 0) {
		free(v);
		free(vl);
		free(c);
	}
	return rc;
}
