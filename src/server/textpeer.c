#include "textpeer.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "conn.h"
#include "frame.h"
#include "hub.h"
#include "log.h"
#include "sanitize.h"
#include "textproto.h"
#include "wire.h"

#define reply_line(c, ...) hub_reply((c), frame_printf(__VA_ARGS__))

void textpeer_send_history(struct hub *h, struct conn *c, struct room *room)
{
	uint64_t visible = hub_visible_id(h, c, room);
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
			hub_reply(c, event_text_history_frame(ev));
	}
	reply_line(c, TEXT_HISTORY_END "\n");
}

static void take_pseudo(struct hub *h, struct conn *c, const char *pseudo, size_t len)
{
	char skeleton[NAMES_SKELETON_MAX], why[160];
	if (hub_check_pseudo(h, c, pseudo, len, skeleton, why, sizeof(why)) < 0) {
		hub_error(c, WIRE_ERR_PSEUDO, why);
		return;
	}
	struct departed back;
	if (users_take_return(&h->users, skeleton, c->addr_key, clock_ms(), &back)) {
		/* The same pseudo from the same address, back within the grace
		 * period: welcomed back to the room it left (moved there before
		 * it is named, so nobody is told it left the room it was never
		 * really in). But anybody behind that address could have typed
		 * it: a new ID, and another colour, so nothing of the departed
		 * user's identity is handed on. */
		const char *cause;
		struct room *room = hub_room(h, c, back.room, strlen(back.room), &cause);
		if (room != NULL && room != c->room)
			hub_move(h, c, room);
		else
			hub_send_history(h, c, c->room);
		hub_name(h, c, pseudo, len, skeleton, 0, hub_pick_colour(h, back.colour));
		log_info("%s is back as %s", c->addr, c->pseudo);
		reply_line(c, TEXT_WELCOME_BACK "\n", c->pseudo);
		hub_publish(h, c->room, &(struct event){
			.kind = EVENT_RETURN, .sender_id = c->user_id,
			.pseudo = c->pseudo, .colour = c->colour}, c->id);
		return;
	}
	hub_name(h, c, pseudo, len, skeleton, 0, -1);
	log_info("%s joined the chatroom as %s", c->addr, c->pseudo);
	hub_send_history(h, c, c->room);
	hub_publish_presence(h, c, EVENT_JOIN);
}

#define TEXTPEER_ROOMS_MAX 64 /* more would not fit the line */

static void list_rooms(struct hub *h, struct conn *c)
{
	char list[1024];
	size_t used = 0;
	list[0] = '\0';
	const struct room *rooms[TEXTPEER_ROOMS_MAX];
	size_t count = rooms_listing(&h->rooms, rooms, TEXTPEER_ROOMS_MAX);
	for (size_t i = 0; i < count; i++) {
		const struct room *r = rooms[i];
		int n = snprintf(list + used, sizeof(list) - used, "%s%s (%zu)",
				 used ? ", " : "", r->name, hub_visible_members(r));
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
	const struct conn *m;
	LIST_FOREACH(m, &c->room->members, member_link) {
		if (!m->has_pseudo && m->proto == CONN_BINARY)
			continue; /* before its welcome it reads nothing */
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
	struct room *to = hub_room(h, c, name, len, &cause);
	if (to == NULL) {
		hub_error(c, WIRE_ERR_ROOM, cause);
		return;
	}
	if (to == c->room) {
		reply_line(c, "Erreur : vous êtes déjà dans le salon %s\n", c->room->name);
		return;
	}
	hub_move(h, c, to);
	if (c->has_pseudo)
		hub_publish_presence(h, c, EVENT_JOIN);
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

/* What a line costs its sender (hub.h): commands by their work. */
static unsigned line_cost(const char *line, size_t len)
{
	if (len > 6 && memcmp(line, "/join ", 6) == 0)
		return HUB_COST_JOIN;
	if ((len == 4 && memcmp(line, "/who", 4) == 0) ||
	    (len == 6 && memcmp(line, "/rooms", 6) == 0))
		return HUB_COST_LIST;
	return HUB_COST_LINE;
}

void textpeer_on_line(struct hub *h, struct conn *c, const char *line, size_t len)
{
	if (!hub_charge(h, c, line_cost(line, len), len))
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
	hub_publish(h, c->room, &ev, c->id);
}
