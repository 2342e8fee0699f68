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

/* A room nobody is in and nothing was said in goes after this long. */
#define HUB_ROOM_IDLE_MS (5 * 60 * 1000)

/* xterm-256 colours that read well on dark and on light backgrounds. */
static const int palette[] = {160, 28, 26, 130, 91, 31, 166, 64, 133, 37, 94, 62};
#define PALETTE_SIZE (sizeof(palette) / sizeof(palette[0]))

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t random_u64(void)
{
	uint64_t v = 0;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint64_t)now_ms() * 6364136223846793005ull; /* never in practice */
	return v;
}

int hub_init(struct hub *h, size_t history_cap, int64_t return_grace_ms,
	     char *clean_buf, size_t clean_cap)
{
	memset(h, 0, sizeof(*h));
	users_init(&h->users, return_grace_ms);
	h->clean = clean_buf;
	h->clean_cap = clean_cap;
	h->held_tail = &h->held;
	return rooms_init(&h->rooms, history_cap);
}

void hub_free(struct hub *h)
{
	while (h->held != NULL) {
		struct held_broadcast *b = h->held;
		h->held = b->next;
		frame_unref(b->frame);
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
	struct room *room = rooms_get(&h->rooms, ev->room, len, now_ms());
	if (room != NULL)
		room_remember(&h->rooms, room, ev);
}

int hub_load_history(struct hub *h, const char *path)
{
	uint64_t last_id;
	int rc = history_load(path, on_loaded_event, h, &last_id);
	if (rc == 0 && last_id > h->last_event_id)
		h->last_event_id = last_id;
	return rc;
}

static void deliver(struct room *room, struct frame *f, uint64_t except_conn_id)
{
	if (f == NULL)
		return;
	/* conn_send never closes or frees a conn (it defers that to the
	 * flush), so the member links stay valid while we walk them. */
	for (struct conn *m = room->members; m != NULL; m = m->member_next)
		if (m->id != except_conn_id)
			conn_send(m, f);
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
		if (room != NULL)
			deliver(room, b->frame, b->except_conn_id);
		frame_unref(b->frame);
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
				history_serialise(&log->compact, ev);
		}
}

void hub_attach_history(struct hub *h, struct history_log *log)
{
	h->history = log;
	log->data = h;
	log->on_durable = on_durable;
	log->on_snapshot = on_snapshot;
}

/* ---- events ------------------------------------------------------------- */

/* Stamps, remembers and relays one event to its room, except one conn.
 * Under fsync=always nobody hears of it before it is on disk. */
static void publish(struct hub *h, struct room *room, struct event *ev,
		    uint64_t except_conn_id)
{
	ev->id = ++h->last_event_id;
	ev->time_ms = now_ms();
	ev->room = room->name;
	ev->default_room = room->is_default;
	if (room_remember(&h->rooms, room, ev) < 0)
		log_warn("out of memory: event %llu not kept in memory",
			 (unsigned long long)ev->id);
	struct frame *f = event_text_frame(ev);
	if (h->chatlog != NULL && f != NULL) {
		/* The same words the text peers read, tagged with the room. */
		char tag[TEXT_MAX_ROOM + 3];
		snprintf(tag, sizeof(tag), "[%s]", room->name);
		textlog_line(h->chatlog, ev->time_ms, tag, f->data, f->len);
	}
	if (h->history != NULL) {
		history_append(h->history, ev);
		if (h->history->policy == HISTORY_FSYNC_ALWAYS && f != NULL) {
			struct held_broadcast *b = malloc(sizeof(*b));
			if (b != NULL) {
				b->next = NULL;
				b->event_id = ev->id;
				b->except_conn_id = except_conn_id;
				b->frame = f;
				snprintf(b->room, sizeof(b->room), "%s", room->name);
				*h->held_tail = b;
				h->held_tail = &b->next;
				return;
			}
		}
	}
	deliver(room, f, except_conn_id);
	frame_unref(f);
}

/* An arrival is told to the newcomer too (it confirms the pseudo and the
 * room); a departure only to those who stay. */
static void publish_presence(struct hub *h, struct conn *c, enum event_kind kind)
{
	struct event ev = {
		.kind = kind,
		.sender_id = c->user_id,
		.pseudo = c->pseudo,
		.colour = c->colour,
	};
	publish(h, c->room, &ev, kind == EVENT_LEAVE ? c->id : 0);
}

static void reply(struct conn *c, struct frame *f)
{
	if (f != NULL)
		conn_send(c, f);
	frame_unref(f);
}

#define reply_line(c, ...) reply((c), frame_printf(__VA_ARGS__))

/* The room's recent events for a text peer that just came in: not those
 * it already got live, and under fsync=always only what is on disk (the
 * rest is on its way live). */
static void send_history(struct hub *h, struct conn *c, struct room *room)
{
	uint64_t visible = UINT64_MAX;
	if (h->history != NULL && h->history->policy == HISTORY_FSYNC_ALWAYS)
		visible = h->history->durable_id;
	if (c->room == room && c->live_since_event < visible)
		visible = c->live_since_event;
	size_t count = 0;
	for (size_t i = 0; i < room->recent_count; i++)
		if (room_recent(&h->rooms, room, i)->id <= visible)
			count++;
	if (count == 0)
		return;
	reply_line(c, TEXT_HISTORY_START "\n", room->name, count);
	for (size_t i = 0; i < room->recent_count; i++) {
		const struct event *ev = room_recent(&h->rooms, room, i);
		if (ev->id <= visible)
			reply(c, event_text_history_frame(ev));
	}
	reply_line(c, TEXT_HISTORY_END "\n");
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
		publish_presence(h, c, EVENT_LEAVE);
		users_departed(&h->users, c->pseudo, c->ip, room->name, c->user_id,
			       c->colour, now_ms());
	}
	room_remove_member(room, c, now_ms());
}

/* Taken when someone present has the same skeleton: "Alice", "alice" and
 * "ａｌｉｃｅ" are one pseudo. */
static bool pseudo_taken(const struct hub *h, const char *skeleton)
{
	for (const struct room *r = h->rooms.list; r != NULL; r = r->next)
		for (const struct conn *m = r->members; m != NULL; m = m->member_next)
			if (m->has_pseudo && strcmp(m->skeleton, skeleton) == 0)
				return true;
	return false;
}

/* A colour nobody present wears, when one is left. */
static int pick_colour(const struct hub *h)
{
	bool used[PALETTE_SIZE] = {false};
	size_t free_count = PALETTE_SIZE;
	for (const struct room *r = h->rooms.list; r != NULL; r = r->next)
		for (const struct conn *m = r->members; m != NULL; m = m->member_next)
			for (size_t i = 0; i < PALETTE_SIZE; i++)
				if (m->has_pseudo && m->colour == palette[i] && !used[i]) {
					used[i] = true;
					free_count--;
				}
	uint64_t pick = random_u64() % (free_count ? free_count : PALETTE_SIZE);
	for (size_t i = 0; i < PALETTE_SIZE; i++)
		if (free_count == 0 || !used[i]) {
			if (pick == 0)
				return palette[i];
			pick--;
		}
	return palette[0];
}

static void take_pseudo(struct hub *h, struct conn *c, const char *pseudo,
			size_t len)
{
	const char *cause;
	if (textproto_check_pseudo(pseudo, len, &cause) < 0) {
		reply_line(c, TEXT_ERROR "\n", cause);
		return;
	}
	char skeleton[NAMES_SKELETON_MAX];
	if (names_skeleton(pseudo, len, skeleton, sizeof(skeleton)) < 0) {
		reply_line(c, TEXT_ERROR "\n", "le pseudo contient un caractère interdit");
		return;
	}
	if (pseudo_taken(h, skeleton)) {
		char why[80];
		snprintf(why, sizeof(why), "le pseudo %.*s est déjà pris",
			 (int)len, pseudo);
		reply_line(c, TEXT_ERROR "\n", why);
		return;
	}
	memcpy(c->pseudo, pseudo, len);
	c->pseudo[len] = '\0';
	memcpy(c->skeleton, skeleton, sizeof(skeleton));
	c->has_pseudo = true;

	struct departed back;
	if (users_take_return(&h->users, pseudo, len, c->ip, now_ms(), &back)) {
		/* The same person, back within the grace period: same ID,
		 * same colour, same room. */
		c->user_id = back.user_id;
		c->colour = back.colour;
		struct room *room = rooms_get(&h->rooms, back.room, strlen(back.room), now_ms());
		if (room != NULL && room != c->room) {
			room_remove_member(c->room, c, now_ms());
			send_history(h, c, room);
			room_add_member(room, c);
			c->live_since_event = h->last_event_id;
		} else {
			send_history(h, c, c->room);
		}
		log_info("%s is back as %s", c->addr, c->pseudo);
		reply_line(c, TEXT_WELCOME_BACK "\n", c->pseudo);
		publish(h, c->room, &(struct event){
			.kind = EVENT_RETURN, .sender_id = c->user_id,
			.pseudo = c->pseudo, .colour = c->colour}, c->id);
		return;
	}
	c->colour = pick_colour(h);
	/* JSON numbers are doubles: keep IDs within their 53 exact bits. */
	c->user_id = (random_u64() & ((1ull << 53) - 1)) | 1;
	log_info("%s joined the chatroom as %s", c->addr, c->pseudo);
	send_history(h, c, c->room);
	/* Everyone, the newcomer included: it confirms the pseudo. */
	publish_presence(h, c, EVENT_JOIN);
}

/* ---- commands of text peers -------------------------------------------- */

static void list_rooms(struct hub *h, struct conn *c)
{
	char list[1024];
	size_t used = 0;
	list[0] = '\0';
	for (const struct room *r = h->rooms.list; r != NULL; r = r->next) {
		int n = snprintf(list + used, sizeof(list) - used, "%s%s (%zu)",
				 used ? ", " : "", r->name, r->member_count);
		if (n < 0 || (size_t)n >= sizeof(list) - used)
			break;
		used += (size_t)n;
	}
	reply_line(c, TEXT_ROOM_LIST "\n", list);
}

static void list_members(struct conn *c)
{
	char list[2048];
	size_t used = 0;
	list[0] = '\0';
	for (const struct conn *m = c->room->members; m != NULL; m = m->member_next) {
		int n = snprintf(list + used, sizeof(list) - used, "%s%s",
				 used ? ", " : "", conn_label(m));
		if (n < 0 || (size_t)n >= sizeof(list) - used)
			break;
		used += (size_t)n;
	}
	reply_line(c, TEXT_WHO "\n", c->room->name, list);
}

static void join_room(struct hub *h, struct conn *c, const char *name, size_t len)
{
	const char *cause;
	if (textproto_check_room(name, len, &cause) < 0) {
		reply_line(c, TEXT_ERROR "\n", cause);
		return;
	}
	if (strlen(c->room->name) == len && memcmp(c->room->name, name, len) == 0) {
		reply_line(c, "Erreur : vous êtes déjà dans le salon %s\n", c->room->name);
		return;
	}
	struct room *to = rooms_get(&h->rooms, name, len, now_ms());
	if (to == NULL) {
		reply_line(c, TEXT_ERROR "\n", "mémoire insuffisante");
		return;
	}
	if (c->has_pseudo)
		publish_presence(h, c, EVENT_LEAVE);
	room_remove_member(c->room, c, now_ms());
	send_history(h, c, to);
	room_add_member(to, c);
	c->live_since_event = h->last_event_id;
	if (c->has_pseudo)
		publish_presence(h, c, EVENT_JOIN);
	else
		reply_line(c, "Annonce : vous êtes dans le salon %s\n", to->name);
}

static const char commands_help[] =
	"Commandes : /rooms (les salons), /join SALON (y aller, le créer s'il "
	"n'existe pas), /who (qui est là)";

/* Returns true when the line was a command. Arguments are checked on the
 * raw bytes (a name is refused, never silently mended); only the clean
 * form is ever echoed. */
static bool run_command(struct hub *h, struct conn *c, const char *raw,
			size_t raw_len, const char *clean, size_t clean_len)
{
	if (raw_len == 0 || raw[0] != '/')
		return false;
	if (raw_len == 6 && memcmp(raw, "/rooms", 6) == 0)
		list_rooms(h, c);
	else if (raw_len == 4 && memcmp(raw, "/who", 4) == 0)
		list_members(c);
	else if (raw_len > 6 && memcmp(raw, "/join ", 6) == 0)
		join_room(h, c, raw + 6, raw_len - 6);
	else if (raw_len == 5 && memcmp(raw, "/help", 5) == 0)
		reply_line(c, "%s\n", commands_help);
	else
		reply_line(c, "Erreur : commande inconnue %.*s. %s\n",
			   (int)(clean_len > 32 ? 32 : clean_len), clean, commands_help);
	return true;
}

/* Flood control: false when the line must be dropped. A peer is told once
 * per burst, and one that keeps on is disconnected. */
static bool within_rate(struct hub *h, struct conn *c, size_t len)
{
	int64_t now = now_ms();
	if (bucket_take(&c->flood_messages, 1.0, now) &&
	    bucket_take(&c->flood_bytes, (double)len, now)) {
		c->flood_strikes = 0;
		return true;
	}
	if (++c->flood_strikes >= h->flood_strikes) {
		conn_refuse(c, "trop de messages : déconnexion", "flooding");
		return false;
	}
	if (c->flood_strikes == 1) {
		log_info("%s floods: messages dropped", c->addr);
		reply_line(c, TEXT_ERROR "\n", "trop de messages, ralentissez (message ignoré)");
	}
	return false;
}

void hub_on_line(struct hub *h, struct conn *c, const char *line, size_t len)
{
	if (!within_rate(h, c, len))
		return;
	/* Everything below works on text that is safe for any terminal. */
	size_t n = sanitize_text(line, len, h->clean, h->clean_cap, 0);
	const char *text = h->clean;

	log_info(TEXT_RECEIVED, c->ip, c->port, (int)n, text);

	if (!c->has_pseudo) {
		/* Until it has a pseudo a peer may greet or pick one, as the
		 * course's clients do with their first message. The raw line
		 * is parsed so a bad pseudo is refused, not silently mended. */
		struct text_msg msg;
		textproto_parse_first(line, len, &msg);
		if (msg.kind == TEXT_HELLO) {
			reply_line(c, TEXT_HELLO_REPLY "\n", c->ip, c->port);
			return;
		}
		if (msg.kind == TEXT_HELLO_PSEUDO) {
			take_pseudo(h, c, msg.text, msg.len);
			return;
		}
	}
	if (run_command(h, c, line, len, text, n))
		return;
	struct event ev = {
		.kind = EVENT_MESSAGE,
		.sender_id = c->user_id,
		.pseudo = conn_label(c),
		.colour = c->colour,
		.text = text,
		.text_len = n,
	};
	publish(h, c->room, &ev, c->id);
}

void hub_tick(struct hub *h)
{
	int64_t now = now_ms();
	rooms_reap_idle(&h->rooms, now, HUB_ROOM_IDLE_MS);
	users_expire(&h->users, now);
}
