#include "users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void users_init(struct users *u, int64_t grace_ms)
{
	memset(u, 0, sizeof(*u));
	u->grace_ms = grace_ms;
}

void users_free(struct users *u)
{
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
}
