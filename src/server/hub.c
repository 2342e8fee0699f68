/*
 * hub: the hub's lifetime, who is in which room (seats taken and given
 * up, moves), who may make rooms (h->creators) and the listings. The way
 * of an event is hub_events.c's, names and colours hub_names.c's (hub.h).
 */
#include "hub.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "clock.h"
#include "conn.h"
#include "lasting.h"
#include "log.h"
#include "social.h"
#include "textproto.h"

_Static_assert(CONN_ADDR_KEY_MAX <= USERS_ADDRESS_MAX,
	       "an address key fits the users' tables");
_Static_assert(CONN_MAX_PSEUDO == TEXT_MAX_PSEUDO, "a conn holds any pseudo");
_Static_assert(CONN_TOKEN_LEN == USERS_TOKEN_LEN, "one length of a resume token");

/* Rooms an address may make, kept while it may make fewer than a new one. */
struct creator {
	struct token_bucket rooms;
	char key[USERS_ADDRESS_MAX];
};

int hub_init(struct hub *h, size_t history_cap, size_t max_rooms, int64_t return_grace_ms,
	     unsigned per_address, char *clean_buf, size_t clean_cap)
{
	memset(h, 0, sizeof(*h));
	if (addresses_init(&h->addresses) < 0 ||
	    users_init(&h->users, return_grace_ms, per_address, &h->addresses) < 0)
		return -ENOMEM;
	h->clean = clean_buf;
	h->clean_cap = clean_cap;
	STAILQ_INIT(&h->held);
	h->creators = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free);
	h->named = hub_names_new();
	if (identities_init(&h->identities) < 0)
		return -ENOMEM;
	h->max_seats = HUB_DEFAULT_SEATS;
	return rooms_init(&h->rooms, history_cap, max_rooms);
}

void hub_free(struct hub *h)
{
	if (h->named != NULL)
		g_hash_table_destroy(h->named);
	h->named = NULL;
	identities_free(&h->identities);
	if (h->creators != NULL)
		g_hash_table_destroy(h->creators);
	h->creators = NULL;
	hub_drop_held(h);
	rooms_free(&h->rooms);
	users_free(&h->users);
	addresses_free(&h->addresses); /* after users': it counts on them */
}

/* ---- membership --------------------------------------------------------- */

struct seat *hub_seat(const struct conn *c, const struct room *room)
{
	struct seat *s;
	LIST_FOREACH(s, &c->seats, of_conn)
		if (s->room == room)
			return s;
	return NULL;
}

void hub_add(struct hub *h, struct conn *c)
{
	LIST_INIT(&c->seats);
	room_sit(c, h->last_event_id, h->rooms.default_room);
	c->room = h->rooms.default_room;
}

void hub_remove(struct hub *h, struct conn *c)
{
	struct room *room = c->room;
	if (room == NULL)
		return;
	/* The skeleton is not kept per conn: made again, as at the join. */
	char skeleton[NAMES_SKELETON_MAX];
	bool skeleton_ok = c->has_pseudo &&
		names_skeleton(c->pseudo, strlen(c->pseudo), skeleton, sizeof(skeleton)) == 0;
	/* Its pseudo is given back to the cluster before its departure is
	 * told: on one Redis connection, whoever hears it leave finds the
	 * pseudo free. */
	if (skeleton_ok && h->bus != NULL && h->bus->ops->release != NULL)
		h->bus->ops->release(h->bus, skeleton, c);
	/* Only a departure whose arrival was announced is announced. */
	if (c->has_pseudo && !h->quiet) {
		log_info("%s (%s) left the chatroom", c->pseudo, conn_addr(c));
		struct seat *s;
		LIST_FOREACH(s, &c->seats, of_conn)
			hub_publish_presence_in(h, c, s->room, EVENT_LEAVE);
		/* Its session is filled from c now (users.h); without its
		 * skeleton (never, in practice) it could hold no pseudo: gone. */
		bool had_session = c->session != NULL;
		if (had_session && skeleton_ok) {
			struct session as = {.user_id = c->user_id, .colour = c->colour};
			snprintf(as.pseudo, sizeof(as.pseudo), "%s", c->pseudo);
			snprintf(as.skeleton, sizeof(as.skeleton), "%s", skeleton);
			snprintf(as.room, sizeof(as.room), "%s", room->name);
			users_session_away(&h->users, c->session, conn_addr_key(c), &as, clock_ms());
		} else if (had_session) {
			users_session_close(&h->users, c->session, conn_addr_key(c));
		}
		c->session = NULL;
		if (had_session && h->bus != NULL && h->bus->ops->session_away != NULL)
			h->bus->ops->session_away(h->bus, c, room->name);
		else if (skeleton_ok)
			users_departed(&h->users, c->pseudo, skeleton, conn_addr_key(c), room->name,
				       c->colour, clock_ms());
	}
	if (c->session != NULL) { /* the server stops: no resume is kept */
		users_session_close(&h->users, c->session, conn_addr_key(c));
		c->session = NULL;
	}
	room_stand_all(c, clock_ms());
	social_free(c);
	if (c->has_pseudo)
		hub_forget_name(h, c, skeleton_ok ? skeleton : NULL);
}

void hub_tell_topic(struct conn *c, const struct room *room)
{
	if (room->topic[0] == '\0')
		return;
	char line[TEXT_MAX_ROOM + ROOM_TOPIC_MAX + 32];
	snprintf(line, sizeof(line), TEXT_TOPIC, room->name, room->topic);
	c->proto->send_info(c, CHAT_INFO_LINE, line);
}

void hub_place(struct hub *h, struct conn *c, struct room *to)
{
	room_stand_all(c, clock_ms());
	room_sit(c, h->last_event_id, to); /* its only seat: the embedded one */
	c->room = to;
}

void hub_move(struct hub *h, struct conn *c, struct room *to)
{
	if (c->room == to)
		return;
	if (c->has_pseudo && c->room != NULL)
		hub_publish_presence(h, c, EVENT_LEAVE);
	struct seat *s = hub_seat(c, c->room);
	if (s != NULL)
		room_stand(c, s, clock_ms());
	c->proto->send_history(c, to, 0);
	if (hub_seat(c, to) == NULL)
		room_sit(c, h->last_event_id, to); /* the seat just left: never out of memory */
	c->room = to;
}

int hub_enter(struct hub *h, struct conn *c, struct room *to)
{
	if (hub_seat(c, to) != NULL)
		return -EEXIST;
	if (c->seat_count >= h->max_seats)
		return -ENOSPC;
	/* The history first: what it reads before the room's next event. */
	c->proto->send_history(c, to, 0);
	if (room_sit(c, h->last_event_id, to) == NULL)
		return -ENOMEM;
	c->room = to;
	return 0;
}

void hub_leave(struct hub *h, struct conn *c, struct room *room)
{
	struct seat *s = hub_seat(c, room);
	if (s == NULL)
		return;
	if (c->has_pseudo)
		hub_publish_presence_in(h, c, room, EVENT_LEAVE);
	room_stand(c, s, clock_ms());
	if (c->room == room)
		c->room = LIST_EMPTY(&c->seats) ? NULL : LIST_FIRST(&c->seats)->room;
}

/* The bucket of rooms c's address may still make; NULL when out of memory
 * (the connection's own bucket still holds). */
static struct token_bucket *creator_bucket(struct hub *h, const struct conn *c, int64_t now)
{
	struct creator *cr = g_hash_table_lookup(h->creators, conn_addr_key(c));
	if (cr != NULL)
		return &cr->rooms;
	cr = calloc(1, sizeof(*cr));
	if (cr == NULL)
		return NULL;
	snprintf(cr->key, sizeof(cr->key), "%s", conn_addr_key(c));
	bucket_init(&cr->rooms, HUB_ROOMS_PER_ADDRESS / 60.0, HUB_ROOMS_PER_ADDRESS, now);
	g_hash_table_insert(h->creators, cr->key, cr);
	return &cr->rooms;
}

/* c may make one more room now: charged to it and to its address. */
static bool may_make_room(struct hub *h, struct conn *c, int64_t now)
{
	struct conn_budgets *b = conn_budgets(c);
	if (b == NULL ||
	    !level_take(&b->room_creations, HUB_ROOM_CREATIONS_PER_S, HUB_ROOMS_PER_CONN, 1.0, now))
		return false;
	struct token_bucket *address = creator_bucket(h, c, now);
	if (address != NULL && !bucket_take(address, 1.0, now)) {
		b->room_creations.tokens += 1.0; /* given back: nothing was made */
		return false;
	}
	return true;
}

struct room *hub_find_room(const struct hub *h, const char *name, size_t len)
{
	char clean[TEXT_MAX_ROOM + 1];
	const char *cause;
	if (len == 0)
		return h->rooms.default_room;
	if (textproto_normalise_room(name, len, clean, sizeof(clean), &len, &cause) < 0)
		return NULL;
	return rooms_find(&h->rooms, clean, len);
}

struct room *hub_room(struct hub *h, struct conn *c, const char *typed, size_t typed_len,
		      const char **cause)
{
	/* As the user typed it ("#Général "), then as it is checked and kept. */
	char name[TEXT_MAX_ROOM + 1];
	size_t len;
	if (typed_len == 0)
		return h->rooms.default_room;
	if (textproto_normalise_room(typed, typed_len, name, sizeof(name), &len, cause) < 0 ||
	    textproto_check_room(name, len, cause) < 0)
		return NULL;
	struct room *room = rooms_find(&h->rooms, name, len);
	if (room != NULL)
		return room;
	int64_t now = clock_ms();
	if (c != NULL && !may_make_room(h, c, now)) {
		*cause = TEXT_ERR_ROOMS_MADE;
		return NULL;
	}
	int rc = rooms_make(&h->rooms, name, len, now, HUB_ROOM_REAP_MS, HUB_ROOM_EVICT_MS, &room);
	if (rc == -ENOSPC) {
		snprintf(h->cause, sizeof(h->cause), TEXT_ERR_TOO_MANY_ROOMS, h->rooms.max);
		*cause = h->cause;
		log_warn("%s may not make a room: %zu rooms already", c != NULL ? conn_addr(c) : "the server",
			 h->rooms.count);
	} else if (rc < 0) {
		*cause = rc == -ENOMEM ? TEXT_ERR_NO_MEMORY : TEXT_ERR_ROOM_BAD_CHAR;
	}
	return rc == 0 ? room : NULL;
}

static gboolean creator_done(gpointer key, gpointer value, gpointer now)
{
	(void)key;
	const struct creator *cr = value;
	return bucket_full(&cr->rooms, *(const int64_t *)now);
}

void hub_tick(struct hub *h)
{
	int64_t now = clock_ms();
	rooms_reap(&h->rooms, now, HUB_ROOM_REAP_MS);
	users_expire(&h->users, now);
	identities_flush(&h->identities);
	g_hash_table_foreach_remove(h->creators, creator_done, &now);
}

size_t hub_visible_members(const struct room *room)
{
	size_t n = 0;
	const struct seat *s;
	LIST_FOREACH(s, &room->members, in_room)
		n += s->conn->hears;
	return n;
}

size_t hub_list_rooms(const struct hub *h, struct chat_entry *out, size_t max)
{
	const struct room *rooms[HUB_LIST_MAX];
	size_t n = rooms_listing(&h->rooms, rooms, max < HUB_LIST_MAX ? max : HUB_LIST_MAX);
	for (size_t i = 0; i < n; i++)
		out[i] = (struct chat_entry){rooms[i]->name, hub_visible_members(rooms[i]), -1, NULL};
	return n;
}

/* Everybody who reads the room: named peers with their colour, anonymous
 * text peers by their "{IP}:{Port}" label, without one. A binary peer
 * before its welcome reads nothing. */
size_t hub_list_members(const struct room *room, struct chat_entry *out, size_t max)
{
	size_t n = 0;
	const struct seat *s;
	LIST_FOREACH(s, &room->members, in_room) {
		const struct conn *c = s->conn;
		if (n == max)
			break;
		if (c->hears)
			out[n++] = (struct chat_entry){conn_label(c), 0, c->colour,
						       social_away(c)};
	}
	return n;
}
