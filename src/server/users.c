#include "users.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tokens are random: their first bytes spread them evenly. */
#define SESSION_BUCKETS 4096
#define USERS_MAX_SESSIONS 100000

static size_t bucket_of(const unsigned char *token)
{
	return ((size_t)token[0] << 8 | token[1]) & (SESSION_BUCKETS - 1);
}

int users_init(struct users *u, int64_t grace_ms)
{
	memset(u, 0, sizeof(*u));
	u->grace_ms = grace_ms;
	u->sessions = calloc(SESSION_BUCKETS, sizeof(*u->sessions));
	return u->sessions ? 0 : -ENOMEM;
}

static void free_sessions(struct users *u)
{
	for (size_t i = 0; u->sessions != NULL && i < SESSION_BUCKETS; i++) {
		struct session *s = u->sessions[i];
		while (s != NULL) {
			struct session *next = s->next;
			free(s);
			s = next;
		}
	}
	free(u->sessions);
	u->sessions = NULL;
	u->session_count = 0;
}

void users_free(struct users *u)
{
	free_sessions(u);
	struct departed *d = u->departed;
	while (d != NULL) {
		struct departed *next = d->next;
		free(d);
		d = next;
	}
	u->departed = NULL;
	u->count = 0;
}

/* Drops entries from `link` on: the list is newest first. */
static void drop_from(struct users *u, struct departed **link)
{
	while (*link != NULL) {
		struct departed *d = *link;
		*link = d->next;
		free(d);
		u->count--;
	}
}

void users_departed(struct users *u, const char *pseudo, const char *ip,
		    const char *room, uint64_t user_id, int colour, int64_t now_ms)
{
	if (u->grace_ms <= 0)
		return;
	struct departed *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return; /* only a "welcome back" is lost */
	snprintf(d->pseudo, sizeof(d->pseudo), "%s", pseudo);
	snprintf(d->ip, sizeof(d->ip), "%s", ip);
	snprintf(d->room, sizeof(d->room), "%s", room);
	d->user_id = user_id;
	d->colour = colour;
	d->left_ms = now_ms;
	d->next = u->departed;
	u->departed = d;
	if (++u->count > USERS_MAX_DEPARTED) {
		struct departed **link = &u->departed;
		for (size_t i = 0; i < USERS_MAX_DEPARTED; i++)
			link = &(*link)->next;
		drop_from(u, link);
	}
}

bool users_take_return(struct users *u, const char *pseudo, size_t len,
		       const char *ip, int64_t now_ms, struct departed *out)
{
	for (struct departed **link = &u->departed; *link != NULL; link = &(*link)->next) {
		struct departed *d = *link;
		if (now_ms - d->left_ms > u->grace_ms)
			break; /* older ones are older still */
		if (strlen(d->pseudo) == len && memcmp(d->pseudo, pseudo, len) == 0 &&
		    strcmp(d->ip, ip) == 0) {
			*out = *d;
			out->next = NULL;
			*link = d->next;
			free(d);
			u->count--;
			return true;
		}
	}
	return false;
}

void users_expire(struct users *u, int64_t now_ms)
{
	struct departed **link = &u->departed;
	while (*link != NULL && now_ms - (*link)->left_ms <= u->grace_ms)
		link = &(*link)->next;
	drop_from(u, link);
	for (size_t i = 0; i < SESSION_BUCKETS; i++) {
		struct session **at = &u->sessions[i];
		while (*at != NULL) {
			struct session *s = *at;
			if (!s->online && now_ms - s->away_since_ms > u->grace_ms) {
				*at = s->next;
				free(s);
				u->session_count--;
			} else {
				at = &s->next;
			}
		}
	}
}

static struct session *find_session(struct users *u, const unsigned char *token)
{
	for (struct session *s = u->sessions[bucket_of(token)]; s != NULL; s = s->next)
		if (memcmp(s->token, token, sizeof(s->token)) == 0)
			return s;
	return NULL;
}

int users_session_open(struct users *u, const unsigned char token[32], uint64_t user_id,
		       const char *pseudo, int colour, const char *room)
{
	if (u->session_count >= USERS_MAX_SESSIONS)
		return -ENOMEM;
	struct session *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	memcpy(s->token, token, sizeof(s->token));
	s->user_id = user_id;
	snprintf(s->pseudo, sizeof(s->pseudo), "%s", pseudo);
	s->colour = colour;
	snprintf(s->room, sizeof(s->room), "%s", room);
	s->online = true;
	struct session **head = &u->sessions[bucket_of(token)];
	s->next = *head;
	*head = s;
	u->session_count++;
	return 0;
}

void users_token_away(struct users *u, const unsigned char token[32], const char *room,
		      int64_t now_ms)
{
	struct session *s = find_session(u, token);
	if (s == NULL)
		return;
	s->online = false;
	s->away_since_ms = now_ms;
	snprintf(s->room, sizeof(s->room), "%s", room);
}

int users_token_resume(struct users *u, const unsigned char *token, size_t len,
		       int64_t now_ms, struct session *out)
{
	if (len != sizeof(out->token))
		return -ENOENT;
	struct session *s = find_session(u, token);
	if (s == NULL || (!s->online && now_ms - s->away_since_ms > u->grace_ms))
		return -ENOENT;
	if (s->online)
		return -EBUSY;
	s->online = true;
	*out = *s;
	out->next = NULL;
	return 0;
}
