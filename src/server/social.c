#include "social.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"

struct social *social_of(struct conn *c)
{
	struct conn_extras *x = conn_extras(c);
	if (x == NULL)
		return NULL;
	if (x->social == NULL)
		x->social = calloc(1, sizeof(*x->social));
	struct social *s = x->social;
	if (s == NULL)
		conn_extras_trim(c);
	return s;
}

void social_free(struct conn *c)
{
	if (c->extras == NULL)
		return;
	free(c->extras->social);
	c->extras->social = NULL;
	conn_extras_trim(c);
}

/* FNV-1a, 64 bits: two skeletons of at most 160 bytes that meet by
 * chance are far rarer than two people with the same name. */
uint64_t social_hash(const char *skeleton)
{
	uint64_t h = 1469598103934665603ull;
	for (const unsigned char *p = (const unsigned char *)skeleton; *p != '\0'; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h;
}

bool social_ignores(const struct conn *c, uint64_t user_id, uint64_t skeleton)
{
	const struct social *s = conn_social(c);
	if (s == NULL)
		return false;
	for (size_t i = 0; i < s->ignored_count; i++)
		if ((user_id != 0 && s->ignored[i].user_id == user_id) ||
		    s->ignored[i].skeleton == skeleton)
			return true;
	return false;
}

static struct social_ignored *find(struct social *s, uint64_t skeleton)
{
	for (size_t i = 0; i < s->ignored_count; i++)
		if (s->ignored[i].skeleton == skeleton)
			return &s->ignored[i];
	return NULL;
}

int social_ignore(struct conn *c, uint64_t user_id, uint64_t skeleton, const char *pseudo,
		  size_t len)
{
	struct social *s = social_of(c);
	if (s == NULL)
		return -ENOMEM;
	struct social_ignored *e = find(s, skeleton);
	int rc = 0;
	if (e != NULL) {
		rc = -EEXIST;
	} else {
		if (s->ignored_count == SOCIAL_IGNORE_MAX)
			return -ENOSPC;
		e = &s->ignored[s->ignored_count++];
	}
	e->user_id = user_id;
	e->skeleton = skeleton;
	snprintf(e->pseudo, sizeof(e->pseudo), "%.*s", (int)len, pseudo);
	return rc;
}

int social_unignore(struct conn *c, uint64_t skeleton)
{
	struct social *s = conn_social(c);
	struct social_ignored *e = s != NULL ? find(s, skeleton) : NULL;
	if (e == NULL)
		return -ENOENT;
	*e = s->ignored[--s->ignored_count];
	return 0;
}

const char *social_away(const struct conn *c)
{
	const struct social *s = conn_social(c);
	return s != NULL && s->away[0] != '\0' ? s->away : NULL;
}
