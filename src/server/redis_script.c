/*
 * redis_script: EVALSHA of scripts loaded with each connection (see
 * redis_script.h).
 */
#include "redis_script.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct script_call {
	redis_reply_cb cb;
	void *data;
};

void redis_script_init(struct redis_script *s, const char *body, size_t len)
{
	s->body = body;
	s->len = len;
	gchar *hex = g_compute_checksum_for_data(G_CHECKSUM_SHA1, (const guchar *)body, len);
	snprintf(s->sha, sizeof(s->sha), "%s", hex);
	g_free(hex);
}

int redis_script_load(struct redis *r, const struct redis_script *s)
{
	const char *argv[3] = { "SCRIPT", "LOAD", s->body };
	const size_t argvlen[3] = { 6, 4, s->len };
	return redis_add_setup(r, 3, argv, argvlen);
}

static bool is_noscript(const redisReply *x)
{
	return x != NULL && x->type == REDIS_REPLY_ERROR && x->len >= 8 &&
	       memcmp(x->str, "NOSCRIPT", 8) == 0;
}

static void on_reply(struct redis *r, int status, redisReply *x, void *data)
{
	struct script_call c = *(struct script_call *)data;
	free(data);
	if (status == 0 && is_noscript(x)) {
		c.cb(r, UV_ECONNRESET, NULL, c.data);
		redis_reset(r, "Redis forgot a script (SCRIPT FLUSH, failover): loading it again");
		return;
	}
	c.cb(r, status, x, c.data);
}

int redis_script_call(struct redis *r, const struct redis_script *s, int nkeys, int nargs,
		      const char *const *argv, const size_t *argvlen, redis_reply_cb cb,
		      void *data)
{
	if (nkeys < 0 || nargs < 0)
		return UV_EINVAL;
	int n = nkeys + nargs;
	size_t slots = (size_t)n + 3;
	char nk[16];
	snprintf(nk, sizeof(nk), "%d", nkeys);
	struct script_call *c = malloc(sizeof(*c));
	const char **v = malloc(slots * sizeof(*v));
	size_t *vl = malloc(slots * sizeof(*vl));
	int rc = UV_ENOMEM;
	if (c != NULL && v != NULL && vl != NULL) {
		c->cb = cb;
		c->data = data;
		v[0] = "EVALSHA";
		vl[0] = 7;
		v[1] = s->sha;
		vl[1] = 40;
		v[2] = nk;
		vl[2] = strlen(nk);
		for (int i = 0; i < n; i++) {
			v[3 + i] = argv[i];
			vl[3 + i] = argvlen != NULL ? argvlen[i] : strlen(argv[i]);
		}
		/* The command is formatted (copied) here: argv may go after. */
		rc = redis_command_argv(r, (int)slots, v, vl, on_reply, c);
	}
	if (rc < 0)
		free(c);
	free(v);
	free(vl);
	return rc;
}
