#include "hub.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "bus.h"
#include "clock.h"
#include "conn.h"
#include "frame.h"
#include "lasting.h"
#include "log.h"
#include "social.h"
#include "textlog.h"
#include "textproto.h"

_Static_assert(CONN_ADDR_KEY_MAX <= USERS_ADDRESS_MAX,
	       "an address key fits the users' tables");
_Static_assert(CONN_MAX_PSEUDO == TEXT_MAX_PSEUDO, "a conn holds any pseudo");
_Static_assert(CONN_TOKEN_LEN == USERS_TOKEN_LEN, "a conn holds a session's token");

/* Rooms an address may make, kept while it may make fewer than a new one. */
struct creator {
	struct token_bucket rooms;
	char key[USERS_ADDRESS_MAX];
};

/* xterm-256 colours that read well on dark and on light backgrounds. */
static const int palette[HUB_PALETTE_SIZE] = {160, 28, 26, 130, 91, 31,
					       166, 64, 133, 37, 94, 62};

static int palette_index(int colour)
{
	for (int i = 0; i < HUB_PALETTE_SIZE; i++)
		if (palette[i] == colour)
			return i;
	return -1;
}

uint64_t hub_random_u64(void)
{
	uint64_t v = 0;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint64_t)clock_wall_ms() * 6364136223846793005ull; /* never in practice */
	return v;
}

int hub_init(struct hub *h, size_t history_cap, size_t max_rooms, int64_t return_grace_ms,
	     unsigned per_address, char *clean_buf, size_t clean_cap)
{
	memset(h, 0, sizeof(*h));
	if (users_init(&h->users, return_grace_ms, per_address) < 0)
		return -ENOMEM;
	h->clean = clean_buf;
	h->clean_cap = clean_cap;
	STAILQ_INIT(&h->held);
	h->creators = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free);
	h->named = g_hash_table_new_full(g_str_hash, g_str_equal, lasting_strfree, NULL);
	if (identities_init(&h->identities) < 0)
		return -ENOMEM;
	h->max_seats = HUB_DEFAULT_SEATS;
	if (strcount_init(&h->pseudos) < 0)
		return -ENOMEM;
	return rooms_init(&h->rooms, history_cap, max_rooms);
}

void hub_free(struct hub *h)
{
	strcount_free(&h->pseudos);
	if (h->named != NULL)
		g_hash_table_destroy(h->named);
	h->named = NULL;
	identities_free(&h->identities);
	if (h->creators != NULL)
		g_hash_table_destroy(h->creators);
	h->creators = NULL;
	struct held_broadcast *b;
	while ((b = STAILQ_FIRST(&h->held)) != NULL) {
		STAILQ_REMOVE_HEAD(&h->held, link);
		for (int f = 0; f < EVENT_FORMATS; f++)
			frame_unref(b->frames[f]);
		free(b);
	}
	rooms_free(&h->rooms);
	users_free(&h->users);
}

/* ---- history ------------------------------------------------------------ */

static bool is_presence(const struct event *ev)
{
	return ev->kind == EVENT_JOIN || ev->kind == EVENT_LEAVE || ev->kind == EVENT_RETURN;
}

/* The same caps as live: at most rooms.max rooms come back, those where
 * something was said most recently; arrivals and departures alone make
 * no room (a file of 60 000 of them once made 60 000). */
static void on_loaded_event(void *data, const struct event *ev)
{
	struct hub *h = data;
	const char *cause;
	size_t len = strlen(ev->room);
	if (textproto_check_room(ev->room, len, &cause) < 0)
		return;
	struct room *room = rooms_find(&h->rooms, ev->room, len);
	int64_t now = clock_ms();
	if (room == NULL) {
		if (is_presence(ev) && h->rooms.count >= h->rooms.max)
			return;
		if (rooms_make(&h->rooms, ev->room, len, now, 0, 0, &room) < 0)
			return;
	}
	if (ev->kind == EVENT_TOPIC)
		snprintf(room->topic, sizeof(room->topic), "%s", ev->text);
	/* The file does not say it; the room does, as at hub_publish. */
	struct event loaded = *ev;
	loaded.default_room = room->is_default;
	/* Active as long ago as the event was stamped, on the clock of ages. */
	room_remember(&h->rooms, room, &loaded, now - (clock_wall_ms() - ev->time_ms));
}

int hub_load_history(struct hub *h, const char *path)
{
	uint64_t last_id;
	int rc = history_load(path, on_loaded_event, h, &last_id);
	if (rc == 0 && last_id > h->last_event_id)
		h->last_event_id = last_id;
	rooms_reap(&h->rooms, clock_ms(), 0);
	log_info("history: %zu rooms kept (at most %zu)", h->rooms.count, h->rooms.max);
	return rc;
}

/* One event in each format, each encoded at most once, when a member
 * reads it: a room of binary peers never pays for the text. */
struct encodings {
	const struct event *ev;
	struct frame *frames[EVENT_FORMATS];
};

static struct frame *encoding_for(struct encodings *e, enum event_format format)
{
	if (e->frames[format] == NULL && e->ev != NULL)
		e->frames[format] = event_encode(e->ev, format);
	return e->frames[format];
}

/* The sender of an event, as the ignore lists (social.h) know it; its
 * skeleton's hash made once, and only if a member ignores somebody. */
struct sender {
	uint64_t user_id;
	const char *label;
	uint64_t skeleton;
	bool hashed;
};

static bool ignored_by(const struct conn *m, struct sender *s)
{
	if (m->social == NULL || m->social->ignored_count == 0)
		return false;
	if (!s->hashed) {
		char skeleton[NAMES_SKELETON_MAX];
		s->hashed = true;
		s->skeleton = names_skeleton(s->label, strlen(s->label), skeleton,
					     sizeof(skeleton)) == 0 ? social_hash(skeleton) : 0;
	}
	return social_ignores(m, s->user_id, s->skeleton);
}

static void fan_out(struct room *room, struct encodings *e, uint64_t except_conn_id,
		    struct sender *sender)
{
	/* conn_send never closes or frees a conn (it defers that to the
	 * flush), so the member links stay valid while we walk them. */
	struct seat *s;
	LIST_FOREACH(s, &room->members, in_room) {
		struct conn *m = s->conn;
		if (m->id == except_conn_id || !m->hears)
			continue; /* a binary peer hears nothing before its welcome */
		if (ignored_by(m, sender))
			continue;
		struct frame *f = encoding_for(e, m->proto->format);
		if (f != NULL)
			conn_send(m, f);
	}
}

static void drop_encodings(struct frame *frames[EVENT_FORMATS])
{
	for (int f = 0; f < EVENT_FORMATS; f++)
		frame_unref(frames[f]);
}

static void on_durable(struct history_log *log, uint64_t id)
{
	struct hub *h = log->data;
	struct held_broadcast *b;
	while ((b = STAILQ_FIRST(&h->held)) != NULL && b->event_id <= id) {
		STAILQ_REMOVE_HEAD(&h->held, link);
		struct room *room = rooms_find(&h->rooms, b->room, strlen(b->room));
		struct encodings e = {.ev = NULL};
		memcpy(e.frames, b->frames, sizeof(e.frames));
		struct sender sender = {b->sender_id, b->sender, 0, false};
		if (room != NULL)
			fan_out(room, &e, b->except_conn_id, &sender);
		if (b->msg_id != 0 && h->bus != NULL && h->bus->acked != NULL)
			h->bus->acked(h->bus->data, b->except_conn_id, b->msg_id, b->event_id);
		drop_encodings(b->frames);
		free(b);
	}
}

static void on_snapshot(struct history_log *log, uint64_t up_to_id)
{
	struct hub *h = log->data;
	/* Least recently active first: read back, the order is kept. */
	struct room *room;
	TAILQ_FOREACH_REVERSE(room, &h->rooms.by_activity, room_activity, activity)
		for (size_t i = 0; i < room->recent_count; i++) {
			const struct event *ev = room_recent(&h->rooms, room, i);
			if (ev->id <= up_to_id)
				history_serialise(&log->compact, ev, false);
		}
}

void hub_attach_history(struct hub *h, struct history_log *log)
{
	h->history = log;
	history_loaded_up_to(log, h->last_event_id); /* what was loaded is on disk */
	log->data = h;
	log->on_durable = on_durable;
	log->on_snapshot = on_snapshot;
}

/* ---- events ------------------------------------------------------------- */

/* Under fsync=always a broadcast waits until its event is on disk: nobody
 * hears of what a crash could lose. Encoded now in every format: the
 * event's strings do not outlive the delivery. False when out of memory
 * (it goes at once instead). */
static bool hold(struct hub *h, struct room *room, struct encodings *e, uint64_t except_conn_id)
{
	struct held_broadcast *b = malloc(sizeof(*b));
	if (b == NULL)
		return false;
	b->event_id = e->ev->id;
	b->except_conn_id = except_conn_id;
	b->msg_id = e->ev->msg_id;
	b->sender_id = e->ev->sender_id;
	snprintf(b->sender, sizeof(b->sender), "%s", e->ev->pseudo);
	for (int f = 0; f < EVENT_FORMATS; f++)
		b->frames[f] = encoding_for(e, (enum event_format)f);
	snprintf(b->room, sizeof(b->room), "%s", room->name);
	STAILQ_INSERT_TAIL(&h->held, b, link);
	return true;
}

/* The bus brings an event back (bus.h): remembered, written down, relayed. */
static void deliver(void *data, struct room *room, struct event *ev, uint64_t except_conn_id)
{
	struct hub *h = data;
	if (room == NULL) {
		/* Another server's room: kept here too when something is said in
		 * it (within the cap), so that its history is here for a
		 * newcomer; as at loading. */
		size_t len = strlen(ev->room);
		room = rooms_find(&h->rooms, ev->room, len);
		if (room == NULL && (!event_has_text(ev) ||
				     rooms_make(&h->rooms, ev->room, len, clock_ms(),
						HUB_ROOM_REAP_MS, HUB_ROOM_EVICT_MS, &room) < 0))
			return;
		ev->default_room = room->is_default; /* not carried */
	}
	if (ev->id > h->last_event_id)
		h->last_event_id = ev->id;
	if (ev->kind == EVENT_TOPIC)
		snprintf(room->topic, sizeof(room->topic), "%.*s", (int)ev->text_len, ev->text);
	if (room_remember(&h->rooms, room, ev, clock_ms()) < 0)
		log_warn("out of memory: event %llu not kept in memory",
			 (unsigned long long)ev->id);
	struct encodings e = {.ev = ev};
	if (h->chatlog != NULL) {
		/* The same words the text peers read, tagged with the room. */
		struct frame *text = encoding_for(&e, EVENT_FORMAT_TEXT);
		char tag[TEXT_MAX_ROOM + 3];
		snprintf(tag, sizeof(tag), "[%s]", room->name);
		if (text != NULL)
			textlog_line(h->chatlog, ev->time_ms, tag, text->data, text->len);
	}
	if (h->history != NULL) {
		history_append(h->history, ev);
		if (h->history->policy == HISTORY_FSYNC_ALWAYS && hold(h, room, &e, except_conn_id)) {
			ev->msg_id = 0; /* acknowledged once on disk, by on_durable */
			return;
		}
	}
	struct sender sender = {ev->sender_id, ev->pseudo, 0, false};
	fan_out(room, &e, except_conn_id, &sender);
	drop_encodings(e.frames);
}

/* The bus's own news, to everybody who hears a room. */
static void notice(void *data, const char *text)
{
	struct hub *h = data;
	struct room *room;
	struct seat *s;
	/* Once each: a peer in several rooms is told in its current one. */
	TAILQ_FOREACH(room, &h->rooms.by_activity, activity)
		LIST_FOREACH(s, &room->members, in_room)
			if (s->conn->hears && s->conn->room == room)
				s->conn->proto->send_info(s->conn, CHAT_INFO_NOTICE, text);
}

/* Two servers named two users alike at once: the other one keeps it. */
static void refused(void *data, struct conn *c)
{
	(void)data;
	char why[160];
	snprintf(why, sizeof(why), TEXT_ERR_PSEUDO_TAKEN, (int)strlen(c->pseudo), c->pseudo);
	c->proto->send_error(c, CHAT_ERR_PSEUDO, why);
	conn_close_after_flush(c, "pseudo worn on another server");
}

void hub_attach_bus(struct hub *h, struct bus *bus)
{
	h->bus = bus;
	bus->deliver = deliver;
	bus->notice = notice;
	bus->refused = refused;
	bus->data = h;
}

int hub_publish(struct hub *h, struct room *room, struct event *ev,
		uint64_t except_conn_id)
{
	ev->time_ms = clock_wall_ms();
	ev->room = room->name;
	ev->default_room = room->is_default;
	int rc = bus_publish(h->bus, room, ev, except_conn_id);
	if (rc < 0 && rc != -ENOBUFS) /* a full outbox logs once (the bus) */
		log_warn("event of %s in %s could not be published", ev->pseudo, room->name);
	return rc;
}


void hub_say(struct hub *h, struct conn *c, struct room *room, const char *text, size_t len)
{
	struct event ev = {
		.kind = EVENT_MESSAGE,
		.sender_id = c->user_id,
		.pseudo = conn_label(c),
		.colour = c->colour,
		.text = text,
		.text_len = len,
	};
	int rc = hub_publish(h, room, &ev, c->id);
	if (rc < 0)
		conn_error(c, CHAT_ERR_REFUSED, hub_unpublished_why(rc));
}

void hub_publish_presence(struct hub *h, struct conn *c, enum event_kind kind)
{
	hub_publish_presence_in(h, c, c->room, kind);
}

void hub_publish_presence_in(struct hub *h, struct conn *c, struct room *room,
			     enum event_kind kind)
{
	struct event ev = {
		.kind = kind,
		.sender_id = c->user_id,
		.pseudo = c->pseudo,
		.colour = c->colour,
	};
	/* An arrival is told to the newcomer too (it confirms the pseudo and
	 * the room); a departure only to those who stay. */
	hub_publish(h, room, &ev, kind == EVENT_LEAVE ? c->id : 0);
	/* Its arrival waits, say, for the other servers: it is told why. */
	const char *trouble = kind != EVENT_LEAVE && h->bus != NULL && h->bus->ops->trouble != NULL
		? h->bus->ops->trouble(h->bus) : NULL;
	if (trouble != NULL)
		c->proto->send_info(c, CHAT_INFO_NOTICE, trouble);
}

uint64_t hub_heard_id(const struct hub *h)
{
	if (h->history != NULL && h->history->policy == HISTORY_FSYNC_ALWAYS)
		return h->history->durable_id;
	return UINT64_MAX;
}

uint64_t hub_visible_id(const struct hub *h, const struct conn *c, const struct room *room)
{
	uint64_t visible = UINT64_MAX;
	if (h->history != NULL && h->history->policy == HISTORY_FSYNC_ALWAYS)
		visible = h->history->durable_id;
	const struct seat *s = hub_seat(c, room);
	if (s != NULL && s->live_since_event < visible)
		visible = s->live_since_event;
	return visible;
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
	level_init(&c->room_creations, HUB_ROOMS_PER_CONN, clock_ms());
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
		log_info("%s (%s) left the chatroom", c->pseudo, c->addr);
		struct seat *s;
		LIST_FOREACH(s, &c->seats, of_conn)
			hub_publish_presence_in(h, c, s->room, EVENT_LEAVE);
		if (c->has_token)
			users_token_away(&h->users, c->token, room->name, clock_ms());
		if (c->has_token && h->bus != NULL && h->bus->ops->session_away != NULL)
			h->bus->ops->session_away(h->bus, c, room->name);
		else if (skeleton_ok)
			users_departed(&h->users, c->pseudo, skeleton, c->addr_key, room->name,
				       c->colour, clock_ms());
	}
	room_stand_all(c, clock_ms());
	social_free(c);
	if (c->has_pseudo) {
		if (skeleton_ok && g_hash_table_lookup(h->named, skeleton) == c)
			g_hash_table_remove(h->named, skeleton);
		if (skeleton_ok)
			strcount_remove(&h->pseudos, skeleton);
		int worn = palette_index(c->colour);
		if (worn >= 0)
			h->colour_wearers[worn]--;
	}
}

/* Taken when someone present has the same skeleton: "Alice", "alice" and
 * "ａｌｉｃｅ" are one pseudo. */
bool hub_pseudo_taken(const struct hub *h, const char *skeleton)
{
	return strcount_get(&h->pseudos, skeleton) > 0;
}

/* A colour nobody present wears (nor `avoid`), when one is left. */
int hub_pick_colour(const struct hub *h, int avoid)
{
	bool usable[HUB_PALETTE_SIZE];
	size_t usable_count = 0;
	for (int pass = 0; pass < 3 && usable_count == 0; pass++)
		for (size_t i = 0; i < HUB_PALETTE_SIZE; i++) {
			/* Pass 0: free and not avoided; 1: not avoided; 2: any. */
			usable[i] = (pass == 2 || palette[i] != avoid) &&
				    (pass >= 1 || h->colour_wearers[i] == 0);
			usable_count += usable[i];
		}
	uint64_t pick = hub_random_u64() % usable_count;
	for (size_t i = 0; i < HUB_PALETTE_SIZE; i++)
		if (usable[i] && pick-- == 0)
			return palette[i];
	return palette[0];
}

uint64_t hub_new_user_id(void)
{
	/* JSON numbers are doubles: keep IDs within their 53 exact bits. */
	return (hub_random_u64() & ((1ull << 53) - 1)) | 1;
}

int hub_check_pseudo(const struct hub *h, const struct conn *c, const char *pseudo,
		     size_t len, char *skeleton, char *why, size_t why_len)
{
	const char *cause;
	if (textproto_check_pseudo(pseudo, len, &cause) < 0) {
		snprintf(why, why_len, "%s", cause);
		return -EINVAL;
	}
	if (names_skeleton(pseudo, len, skeleton, NAMES_SKELETON_MAX) < 0) {
		snprintf(why, why_len, "%s", TEXT_ERR_PSEUDO_BAD_CHAR);
		return -EINVAL;
	}
	if (hub_pseudo_taken(h, skeleton)) {
		snprintf(why, why_len, TEXT_ERR_PSEUDO_TAKEN, (int)len, pseudo);
		return -EEXIST;
	}
	switch (users_held(&h->users, skeleton, c->addr_key)) {
	case USERS_HELD_FOR_SESSION:
		snprintf(why, why_len, TEXT_ERR_PSEUDO_HELD_SESSION, (int)len, pseudo);
		return -EEXIST;
	case USERS_HELD_FOR_ADDRESS:
		snprintf(why, why_len, TEXT_ERR_PSEUDO_HELD_ADDRESS, (int)len, pseudo);
		return -EEXIST;
	case USERS_FREE:
		break;
	}
	return 0;
}

void hub_name(struct hub *h, struct conn *c, const char *pseudo, size_t len,
	      const char *skeleton, uint64_t user_id, int colour)
{
	memcpy(c->pseudo, pseudo, len);
	c->pseudo[len] = '\0';
	c->colour = colour >= 0 ? colour : hub_pick_colour(h, -1);
	c->has_pseudo = true;
	strcount_add(&h->pseudos, skeleton); /* out of memory: unchecked, not refused */
	g_hash_table_insert(h->named, lasting_strdup(skeleton), c);
	if (h->bus != NULL && h->bus->ops->claim != NULL)
		h->bus->ops->claim(h->bus, skeleton, c);
	/* Whoever held it before has it no more (its address took it anew). */
	users_forget_departure(&h->users, skeleton);
	int worn = palette_index(c->colour);
	if (worn >= 0)
		h->colour_wearers[worn]++;
	c->user_id = user_id != 0 ? user_id : hub_new_user_id();
}

struct conn *hub_find_named(const struct hub *h, const char *pseudo, size_t len)
{
	char skeleton[NAMES_SKELETON_MAX];
	if (names_skeleton(pseudo, len, skeleton, sizeof(skeleton)) < 0)
		return NULL;
	return g_hash_table_lookup(h->named, skeleton);
}

void hub_rename(struct hub *h, struct conn *c, const char *pseudo, size_t len,
		const char *skeleton)
{
	char old[CONN_MAX_PSEUDO + 1], old_skeleton[NAMES_SKELETON_MAX];
	snprintf(old, sizeof(old), "%s", c->pseudo);
	/* Announced under the old name, to each of its rooms and c itself. */
	struct seat *s;
	LIST_FOREACH(s, &c->seats, of_conn)
		hub_publish(h, s->room, &(struct event){
			.kind = EVENT_NICK, .sender_id = c->user_id, .pseudo = old,
			.colour = c->colour, .text = pseudo, .text_len = len}, 0);
	if (names_skeleton(old, strlen(old), old_skeleton, sizeof(old_skeleton)) == 0) {
		if (g_hash_table_lookup(h->named, old_skeleton) == c)
			g_hash_table_remove(h->named, old_skeleton);
		strcount_remove(&h->pseudos, old_skeleton);
	}
	memcpy(c->pseudo, pseudo, len);
	c->pseudo[len] = '\0';
	strcount_add(&h->pseudos, skeleton);
	g_hash_table_insert(h->named, lasting_strdup(skeleton), c);
	users_forget_departure(&h->users, skeleton);
	log_info("%s (%s) is now %s", old, c->addr, c->pseudo);
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
	struct creator *cr = g_hash_table_lookup(h->creators, c->addr_key);
	if (cr != NULL)
		return &cr->rooms;
	cr = calloc(1, sizeof(*cr));
	if (cr == NULL)
		return NULL;
	snprintf(cr->key, sizeof(cr->key), "%s", c->addr_key);
	bucket_init(&cr->rooms, HUB_ROOMS_PER_ADDRESS / 60.0, HUB_ROOMS_PER_ADDRESS, now);
	g_hash_table_insert(h->creators, cr->key, cr);
	return &cr->rooms;
}

/* c may make one more room now: charged to it and to its address. */
static bool may_make_room(struct hub *h, struct conn *c, int64_t now)
{
	if (!level_take(&c->room_creations, HUB_ROOMS_PER_CONN / 60.0, HUB_ROOMS_PER_CONN, 1.0, now))
		return false;
	struct token_bucket *address = creator_bucket(h, c, now);
	if (address != NULL && !bucket_take(address, 1.0, now)) {
		c->room_creations.tokens += 1.0; /* given back: nothing was made */
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
		log_warn("%s may not make a room: %zu rooms already", c != NULL ? c->addr : "the server",
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
