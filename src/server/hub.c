#include "hub.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "textlog.h"
#include "conn.h"
#include "frame.h"
#include "log.h"
#include "sanitize.h"
#include "textproto.h"
#include "wire.h"
#include "binpeer.h"
#include "textpeer.h"

/* A room nobody is in and nothing was said in goes after this long. */
#define HUB_ROOM_IDLE_MS (5 * 60 * 1000)

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

int64_t hub_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t hub_random_u64(void)
{
	uint64_t v = 0;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint64_t)hub_now_ms() * 6364136223846793005ull; /* never in practice */
	return v;
}

int hub_init(struct hub *h, size_t history_cap, int64_t return_grace_ms,
	     char *clean_buf, size_t clean_cap)
{
	memset(h, 0, sizeof(*h));
	if (users_init(&h->users, return_grace_ms) < 0)
		return -ENOMEM;
	h->clean = clean_buf;
	h->clean_cap = clean_cap;
	h->held_tail = &h->held;
	if (strcount_init(&h->pseudos) < 0)
		return -ENOMEM;
	return rooms_init(&h->rooms, history_cap);
}

void hub_free(struct hub *h)
{
	strcount_free(&h->pseudos);
	while (h->held != NULL) {
		struct held_broadcast *b = h->held;
		h->held = b->next;
		frame_unref(b->text);
		frame_unref(b->binary);
		free(b);
	}
	h->held_tail = &h->held;
	rooms_free(&h->rooms);
	users_free(&h->users);
}

/* ---- history ------------------------------------------------------------ */

static void on_loaded_event(void *data, const struct event *ev)
{
	struct hub *h = data;
	const char *cause;
	size_t len = strlen(ev->room);
	if (textproto_check_room(ev->room, len, &cause) < 0)
		return;
	struct room *room = rooms_get(&h->rooms, ev->room, len, hub_now_ms());
	if (room == NULL)
		return;
	/* The file does not say it; the room does, as at hub_publish. */
	struct event loaded = *ev;
	loaded.default_room = room->is_default;
	room_remember(&h->rooms, room, &loaded);
}

int hub_load_history(struct hub *h, const char *path)
{
	uint64_t last_id;
	int rc = history_load(path, on_loaded_event, h, &last_id);
	if (rc == 0 && last_id > h->last_event_id)
		h->last_event_id = last_id;
	return rc;
}

/* One event in each wire format, each encoded at most once. */
struct encodings {
	const struct event *ev;
	struct frame *text;
	struct frame *binary;
};

static struct frame *encoding_for(struct encodings *e, enum conn_proto proto)
{
	if (proto == CONN_BINARY) {
		if (e->binary == NULL && e->ev != NULL)
			e->binary = event_wire_frame(e->ev);
		return e->binary;
	}
	if (e->text == NULL && e->ev != NULL)
		e->text = event_text_frame(e->ev);
	return e->text;
}

static void deliver(struct room *room, struct encodings *e, uint64_t except_conn_id)
{
	/* conn_send never closes or frees a conn (it defers that to the
	 * flush), so the member links stay valid while we walk them. */
	for (struct conn *m = room->members; m != NULL; m = m->member_next) {
		if (m->id == except_conn_id || (m->proto == CONN_BINARY && !m->has_pseudo))
			continue; /* a binary peer hears nothing before its welcome */
		struct frame *f = encoding_for(e, m->proto);
		if (f != NULL)
			conn_send(m, f);
	}
}

static void on_durable(struct history_log *log, uint64_t id)
{
	struct hub *h = log->data;
	while (h->held != NULL && h->held->event_id <= id) {
		struct held_broadcast *b = h->held;
		h->held = b->next;
		if (h->held == NULL)
			h->held_tail = &h->held;
		struct room *room = rooms_find(&h->rooms, b->room, strlen(b->room));
		struct encodings e = {NULL, b->text, b->binary};
		if (room != NULL)
			deliver(room, &e, b->except_conn_id);
		frame_unref(b->text);
		frame_unref(b->binary);
		free(b);
	}
}

static void on_snapshot(struct history_log *log, uint64_t up_to_id)
{
	struct hub *h = log->data;
	for (struct room *room = h->rooms.list; room != NULL; room = room->next)
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

void hub_publish(struct hub *h, struct room *room, struct event *ev,
		 uint64_t except_conn_id)
{
	ev->id = ++h->last_event_id;
	ev->time_ms = hub_now_ms();
	ev->room = room->name;
	ev->default_room = room->is_default;
	if (room_remember(&h->rooms, room, ev) < 0)
		log_warn("out of memory: event %llu not kept in memory",
			 (unsigned long long)ev->id);
	struct encodings e = {ev, NULL, NULL};
	struct frame *text = encoding_for(&e, CONN_TEXT);
	if (h->chatlog != NULL && text != NULL) {
		/* The same words the text peers read, tagged with the room. */
		char tag[TEXT_MAX_ROOM + 3];
		snprintf(tag, sizeof(tag), "[%s]", room->name);
		textlog_line(h->chatlog, ev->time_ms, tag, text->data, text->len);
	}
	if (h->history != NULL) {
		history_append(h->history, ev);
		if (h->history->policy == HISTORY_FSYNC_ALWAYS) {
			/* Encoded now: the event's strings do not outlive us. */
			struct held_broadcast *b = malloc(sizeof(*b));
			if (b != NULL) {
				b->next = NULL;
				b->event_id = ev->id;
				b->except_conn_id = except_conn_id;
				b->text = text;
				b->binary = encoding_for(&e, CONN_BINARY);
				snprintf(b->room, sizeof(b->room), "%s", room->name);
				*h->held_tail = b;
				h->held_tail = &b->next;
				return;
			}
		}
	}
	deliver(room, &e, except_conn_id);
	frame_unref(e.text);
	frame_unref(e.binary);
}

void hub_publish_presence(struct hub *h, struct conn *c, enum event_kind kind)
{
	struct event ev = {
		.kind = kind,
		.sender_id = c->user_id,
		.pseudo = c->pseudo,
		.colour = c->colour,
	};
	/* An arrival is told to the newcomer too (it confirms the pseudo and
	 * the room); a departure only to those who stay. */
	hub_publish(h, c->room, &ev, kind == EVENT_LEAVE ? c->id : 0);
}

void hub_reply(struct conn *c, struct frame *f)
{
	if (f != NULL)
		conn_send(c, f);
	frame_unref(f);
}

uint64_t hub_visible_id(const struct hub *h, const struct conn *c, const struct room *room)
{
	uint64_t visible = UINT64_MAX;
	if (h->history != NULL && h->history->policy == HISTORY_FSYNC_ALWAYS)
		visible = h->history->durable_id;
	if (c->room == room && c->live_since_event < visible)
		visible = c->live_since_event;
	return visible;
}

void hub_send_history(struct hub *h, struct conn *c, struct room *room)
{
	if (c->proto == CONN_BINARY)
		binpeer_send_history(h, c, room, 0);
	else
		textpeer_send_history(h, c, room);
}

/* ---- membership --------------------------------------------------------- */

void hub_add(struct hub *h, struct conn *c)
{
	room_add_member(h->rooms.default_room, c);
	c->live_since_event = h->last_event_id;
}

void hub_remove(struct hub *h, struct conn *c)
{
	struct room *room = c->room;
	if (room == NULL)
		return;
	/* Only a departure whose arrival was announced is announced. */
	if (c->has_pseudo && !h->quiet) {
		log_info("%s (%s) left the chatroom", c->pseudo, c->addr);
		hub_publish_presence(h, c, EVENT_LEAVE);
		if (c->proto == CONN_BINARY)
			users_token_away(&h->users, c->token, room->name, hub_now_ms());
		else
			users_departed(&h->users, c->pseudo, c->ip, room->name, c->user_id,
				       c->colour, hub_now_ms());
	}
	room_remove_member(room, c, hub_now_ms());
	if (c->has_pseudo) {
		/* The skeleton is not kept per conn: made again, as at the join. */
		char skeleton[NAMES_SKELETON_MAX];
		if (names_skeleton(c->pseudo, strlen(c->pseudo), skeleton, sizeof(skeleton)) == 0)
			strcount_remove(&h->pseudos, skeleton);
		int worn = palette_index(c->colour);
		if (worn >= 0)
			h->colour_wearers[worn]--;
	}
}

/* Taken when someone present has the same skeleton: "Alice", "alice" and
 * "ａｌｉｃｅ" are one pseudo. */
static bool pseudo_taken(const struct hub *h, const char *skeleton)
{
	return strcount_get(&h->pseudos, skeleton) > 0;
}

/* A colour nobody present wears, when one is left. */
static int pick_colour(const struct hub *h)
{
	size_t free_count = 0;
	for (size_t i = 0; i < HUB_PALETTE_SIZE; i++)
		free_count += h->colour_wearers[i] == 0;
	uint64_t pick = hub_random_u64() % (free_count ? free_count : HUB_PALETTE_SIZE);
	for (size_t i = 0; i < HUB_PALETTE_SIZE; i++)
		if (free_count == 0 || h->colour_wearers[i] == 0) {
			if (pick == 0)
				return palette[i];
			pick--;
		}
	return palette[0];
}

int hub_check_pseudo(const struct hub *h, const char *pseudo, size_t len,
		     char *skeleton, char *why, size_t why_len)
{
	const char *cause;
	if (textproto_check_pseudo(pseudo, len, &cause) < 0) {
		snprintf(why, why_len, "%s", cause);
		return -EINVAL;
	}
	if (names_skeleton(pseudo, len, skeleton, NAMES_SKELETON_MAX) < 0) {
		snprintf(why, why_len, "le pseudo contient un caractère interdit");
		return -EINVAL;
	}
	if (pseudo_taken(h, skeleton)) {
		snprintf(why, why_len, "le pseudo %.*s est déjà pris", (int)len, pseudo);
		return -EEXIST;
	}
	return 0;
}

void hub_name(struct hub *h, struct conn *c, const char *pseudo, size_t len,
	      const char *skeleton, uint64_t user_id, int colour)
{
	memcpy(c->pseudo, pseudo, len);
	c->pseudo[len] = '\0';
	c->colour = colour >= 0 ? colour : pick_colour(h);
	c->has_pseudo = true;
	strcount_add(&h->pseudos, skeleton); /* out of memory: unchecked, not refused */
	int worn = palette_index(c->colour);
	if (worn >= 0)
		h->colour_wearers[worn]++;
	/* JSON numbers are doubles: keep IDs within their 53 exact bits. */
	c->user_id = user_id != 0 ? user_id : (hub_random_u64() & ((1ull << 53) - 1)) | 1;
}

void hub_place(struct hub *h, struct conn *c, struct room *to)
{
	if (c->room == to)
		return;
	if (c->room != NULL)
		room_remove_member(c->room, c, hub_now_ms());
	room_add_member(to, c);
	c->live_since_event = h->last_event_id;
}

void hub_move(struct hub *h, struct conn *c, struct room *to)
{
	if (c->room == to)
		return;
	if (c->has_pseudo && c->room != NULL)
		hub_publish_presence(h, c, EVENT_LEAVE);
	if (c->room != NULL)
		room_remove_member(c->room, c, hub_now_ms());
	hub_send_history(h, c, to);
	room_add_member(to, c);
	c->live_since_event = h->last_event_id;
}

struct room *hub_room(struct hub *h, const char *name, size_t len, const char **cause)
{
	if (len == 0)
		return h->rooms.default_room;
	if (textproto_check_room(name, len, cause) < 0)
		return NULL;
	struct room *room = rooms_get(&h->rooms, name, len, hub_now_ms());
	if (room == NULL)
		*cause = "mémoire insuffisante";
	return room;
}

bool hub_within_rate(struct hub *h, struct conn *c, size_t len)
{
	int64_t now = hub_now_ms();
	if (bucket_take(&c->flood_messages, 1.0, now) &&
	    bucket_take(&c->flood_bytes, (double)len, now)) {
		c->flood_strikes = 0;
		return true;
	}
	if (++c->flood_strikes >= h->flood_strikes) {
		hub_refuse(c, WIRE_ERR_FLOOD, "trop de messages : déconnexion", "flooding");
		return false;
	}
	if (c->flood_strikes == 1) {
		log_info("%s floods: messages dropped", c->addr);
		hub_error(c, WIRE_ERR_FLOOD, "trop de messages, ralentissez (message ignoré)");
	}
	return false;
}

void hub_error(struct conn *c, uint16_t code, const char *text)
{
	if (c->proto == CONN_BINARY) {
		struct wire_msg m = {.type = WIRE_ERROR, .code = code, .text = {text, strlen(text)}};
		hub_reply(c, wire_encode(&m));
	} else {
		hub_reply(c, frame_printf(TEXT_ERROR "\n", text));
	}
}

void hub_refuse(struct conn *c, uint16_t code, const char *text, const char *why)
{
	hub_error(c, code, text);
	conn_close_after_flush(c, why);
}

void hub_tick(struct hub *h)
{
	int64_t now = hub_now_ms();
	rooms_reap_idle(&h->rooms, now, HUB_ROOM_IDLE_MS);
	users_expire(&h->users, now);
}

size_t hub_visible_members(const struct room *room)
{
	size_t n = 0;
	for (const struct conn *c = room->members; c != NULL; c = c->member_next)
		n += c->has_pseudo || c->proto != CONN_BINARY;
	return n;
}
