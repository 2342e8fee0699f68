/*
 * hub_events: the way of an event through the hub, apart from who is in
 * which room. It stamps and publishes an event through the bus, and when
 * the bus brings it back has it remembered (the room's ring, the history
 * file, the conversation log) and relayed to the room's members, encoded
 * once per format. It owns the broadcasts held until the history file is
 * durable (fsync=always, h->held) and the history file's callbacks.
 *
 * Its own file because it changes with the bus and the history, not with
 * membership or names (hub.c, hub_names.c); its entry points are declared
 * in hub.h.
 */
#include "hub.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "clock.h"
#include "conn.h"
#include "frame.h"
#include "log.h"
#include "social.h"
#include "textlog.h"
#include "textproto.h"

void hub_drop_held(struct hub *h)
{
	struct held_broadcast *b;
	while ((b = STAILQ_FIRST(&h->held)) != NULL) {
		STAILQ_REMOVE_HEAD(&h->held, link);
		for (int f = 0; f < EVENT_FORMATS; f++)
			frame_unref(b->frames[f]);
		free(b);
	}
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
	const struct social *social = conn_social(m);
	if (social == NULL || social->ignored_count == 0)
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
			struct event read;
			room_recent_event(&h->rooms, room, i, &read);
			const struct event *ev = &read;
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
	if (bus->ops->session_take != NULL)
		users_track_online(&h->users); /* binresume_hello asks */
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


int hub_say_numbered(struct hub *h, struct conn *c, struct room *room, const char *text,
		     size_t len, uint64_t msg_id, const char *sender_key)
{
	struct event ev = {
		.kind = EVENT_MESSAGE,
		.sender_id = c->user_id,
		.pseudo = conn_label(c),
		.colour = c->colour,
		.text = text,
		.text_len = len,
		.msg_id = msg_id,
		.sender_key = sender_key,
	};
	int rc = hub_publish(h, room, &ev, c->id);
	if (rc < 0)
		conn_error(c, CHAT_ERR_REFUSED, hub_unpublished_why(rc));
	return rc;
}

void hub_say(struct hub *h, struct conn *c, struct room *room, const char *text, size_t len)
{
	hub_say_numbered(h, c, room, text, len, 0, NULL);
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
