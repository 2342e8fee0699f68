#include "binresume.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "bus.h"
#include "clock.h"
#include "conn.h"
#include "hub.h"
#include "log.h"
#include "redis_sessions.h"
#include "social.h"
#include "textproto.h"
#include "users.h"

_Static_assert(USERS_DIGEST_LEN == REDIS_SESSIONS_DIGEST_LEN, "one digest of a token");

/* What a resume that waits for the cluster remembers of its HELLO. */
struct pending {
	struct hub *h;
	uint8_t features;
	uint64_t after;
	unsigned char token[USERS_TOKEN_LEN];
};

static void reply_error(struct conn *c, uint16_t code, const char *text)
{
	conn_reply(c, wire_encode(&(struct wire_msg){.type = WIRE_ERROR, .code = code,
						     .text = {text, strlen(text)}}));
}

/* A session this node dropped to make room is no session elsewhere
 * either: what Redis keeps stays within this node's bounds. */
static void on_evicted(void *data, const unsigned char digest[USERS_DIGEST_LEN])
{
	struct hub *h = data;
	h->bus->ops->session_spend(h->bus, digest);
}

void binresume_keep(struct hub *h, struct conn *c)
{
	if (h->bus == NULL || h->bus->ops->session_keep == NULL || c->session == NULL)
		return;
	if (h->bus->ops->session_spend != NULL) {
		h->users.evicted = on_evicted;
		h->users.evicted_data = h;
	}
	h->bus->ops->session_keep(h->bus, c, users_session_digest(c->session));
}

/* c, given a new token already, comes back as the session says. */
static void come_back(struct hub *h, struct conn *c, const struct session *s, uint8_t features,
		      uint64_t after, const struct redis_session *from, const unsigned char *token)
{
	char pseudo[TEXT_MAX_PSEUDO + 1], skeleton[NAMES_SKELETON_MAX];
	snprintf(pseudo, sizeof(pseudo), "%s", s->pseudo);
	snprintf(skeleton, sizeof(skeleton), "%s", s->skeleton);
	const char *cause;
	struct room *room = hub_room(h, c, s->room, strlen(s->room), &cause);
	if (room == NULL)
		room = h->rooms.default_room;
	hub_place(h, c, room);
	c->several_rooms = (features & WIRE_FEATURE_ROOMS) != 0;
	hub_name(h, c, pseudo, strlen(pseudo), skeleton, s->user_id, s->colour);
	struct social *social = from != NULL && from->has_identity ? social_of(c) : NULL;
	if (social != NULL) {
		memcpy(social->identity, from->identity, sizeof(social->identity));
		social->has_identity = true;
	}
	log_info("%s is back as %s", conn_addr(c), c->pseudo);
	binpeer_welcome(c, true, token);
	c->proto->send_history(c, room, after);
	char back[80];
	snprintf(back, sizeof(back), TEXT_WELCOME_BACK, c->pseudo);
	c->proto->send_info(c, CHAT_INFO_NOTICE, back);
	hub_publish(h, c->room, &(struct event){
		.kind = EVENT_RETURN, .sender_id = c->user_id,
		.pseudo = c->pseudo, .colour = c->colour}, c->id);
	binresume_keep(h, c);
}

static bool new_token(struct conn *c, unsigned char token[USERS_TOKEN_LEN])
{
	if (getrandom(token, USERS_TOKEN_LEN, 0) == (ssize_t)USERS_TOKEN_LEN)
		return true;
	reply_error(c, WIRE_ERR_STATE, TEXT_ERR_NO_RANDOM);
	conn_close_after_flush(c, "getrandom failed");
	return false;
}

/* This server's session of that token: its pseudo is held for it;
 * somebody present with a look-alike could only come from a skeleton that
 * changed meanwhile. The token is spent: the WELCOME carries a new one. */
static void resume_here(struct hub *h, struct conn *c, const unsigned char *token, size_t len,
			uint8_t features, uint64_t after, const struct redis_session *from)
{
	struct session *s = users_token_find(&h->users, token, len, clock_ms());
	if (s == NULL || hub_pseudo_taken(h, s->skeleton)) {
		reply_error(c, WIRE_ERR_TOKEN, TEXT_ERR_TOKEN); /* whoever the owner */
		return;
	}
	unsigned char fresh[USERS_TOKEN_LEN];
	if (!new_token(c, fresh))
		return;
	unsigned char spent[USERS_DIGEST_LEN];
	memcpy(spent, s->digest, sizeof(spent));
	struct session was;
	c->session = users_token_resume(&h->users, s, fresh, &was);
	if (from == NULL && h->bus != NULL && h->bus->ops->session_spend != NULL)
		h->bus->ops->session_spend(h->bus, spent); /* not taken in Redis: spent there too */
	come_back(h, c, &was, features, after, from, fresh);
}

/* Another node's session (or this one's, whose local copy is gone). */
static void resume_from(struct hub *h, struct conn *c, const struct redis_session *r,
			uint8_t features)
{
	struct session s = {.user_id = r->user_id, .colour = r->colour};
	snprintf(s.pseudo, sizeof(s.pseudo), "%s", r->pseudo);
	snprintf(s.room, sizeof(s.room), "%s", r->room);
	if (names_skeleton(s.pseudo, strlen(s.pseudo), s.skeleton, sizeof(s.skeleton)) < 0 ||
	    hub_pseudo_taken(h, s.skeleton)) {
		reply_error(c, WIRE_ERR_TOKEN, TEXT_ERR_TOKEN);
		return;
	}
	unsigned char fresh[USERS_TOKEN_LEN];
	if (!new_token(c, fresh))
		return;
	if (users_session_open(&h->users, fresh, conn_addr_key(c), &c->session) < 0) {
		log_warn("no session could be kept for %s (%s)", s.pseudo, conn_addr(c));
		reply_error(c, WIRE_ERR_FULL, TEXT_ERR_NO_SESSION);
		return;
	}
	/* Ids are this node's: the room's whole history; the client skips
	 * what it showed already. */
	come_back(h, c, &s, features, 0, r, fresh);
}

static void on_taken(struct conn *c, int status, const struct redis_session *r, void *data)
{
	struct pending *p = data;
	struct hub *h = p->h;
	if (c->closing || status == UV_ECANCELED) {
		free(p);
		return;
	}
	binpeer_resume_done(c);
	struct session *here = users_token_find(&h->users, p->token, sizeof(p->token), clock_ms());
	if (status < 0 && here == NULL)
		log_warn("cluster: the session of %s could not be read (%s)", conn_addr(c),
			 uv_err_name(status));
	if (r != NULL && here == NULL)
		resume_from(h, c, r, p->features);
	else
		/* Redis could not say, or said nothing of a session this node
		 * still has (never written there): this node's. */
		resume_here(h, c, p->token, sizeof(p->token), p->features,
			    r == NULL || r->here ? p->after : 0, r);
	free(p);
}

bool binresume_hello(struct hub *h, struct conn *c, const struct wire_msg *m)
{
	const unsigned char *token = (const unsigned char *)m->token.ptr;
	const struct session_entry *mine = m->token.len == USERS_TOKEN_LEN
		? users_session_of(&h->users, token) : NULL;
	/* Its owner is here: refused as standalone, nothing asked of Redis. */
	if (m->token.len == USERS_TOKEN_LEN && h->bus != NULL && h->bus->ops->session_take != NULL &&
	    mine == NULL) {
		struct pending *p = malloc(sizeof(*p));
		unsigned char digest[USERS_DIGEST_LEN];
		users_digest(token, m->token.len, digest);
		if (p != NULL) {
			*p = (struct pending){h, m->features, m->id, {0}};
			memcpy(p->token, token, sizeof(p->token));
			if (h->bus->ops->session_take(h->bus, c, digest, on_taken, p) == 0)
				return true;
			free(p);
		}
	}
	resume_here(h, c, token, m->token.len, m->features, m->id, NULL);
	return false;
}
