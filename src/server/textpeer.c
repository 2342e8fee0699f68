#include "textpeer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "commands.h"
#include "conn.h"
#include "frame.h"
#include "hub.h"
#include "linereader.h"
#include "log.h"
#include "moderation.h"
#include "sanitize.h"
#include "server_config.h"
#include "social.h"
#include "textproto.h"

#define reply_line(c, ...) conn_reply((c), frame_printf(__VA_ARGS__))

/* Lines that tell a list hold at most this much, this many rooms. */
#define TEXTPEER_LIST_BYTES 2048
#define TEXTPEER_ROOMS_BYTES 1024
#define TEXTPEER_ROOMS_MAX 64
/* An unknown command is shown back this far, so the peer sees which. */
#define TEXTPEER_UNKNOWN_SHOWN 32

/* A text peer's line reader exists only while it holds an unfinished
 * line: an idle peer keeps none (80 bytes less each). Lines are split
 * in a reader on the stack, moved to the heap when a tail is left. */
static struct linereader *lines_of(struct conn *c)
{
	return c->proto_data;
}

static void drop_lines(struct conn *c)
{
	struct linereader *lines = lines_of(c);
	if (lines == NULL)
		return;
	linereader_free(lines);
	free(lines);
	c->proto_data = NULL;
}

/* ---- what the chat sends ------------------------------------------------ */

static void send_history(struct conn *c, struct room *room, uint64_t after_id)
{
	struct hub *h = c->set->hub;
	uint64_t visible = hub_visible_id(h, c, room);
	size_t count = 0;
	for (size_t i = 0; i < room->recent_count; i++) {
		uint64_t id = room_recent_id(&h->rooms, room, i);
		count += id > after_id && id <= visible;
	}
	if (count == 0)
		return;
	reply_line(c, TEXT_HISTORY_START "\n", room->name, count);
	for (size_t i = 0; i < room->recent_count; i++) {
		struct event read;
		room_recent_event(&h->rooms, room, i, &read);
		const struct event *ev = &read;
		if (ev->id > after_id && ev->id <= visible)
			conn_reply(c, event_text_history_frame(ev));
	}
	reply_line(c, TEXT_HISTORY_END "\n");
}

/* Each error's words, and whether its detail follows them. */
static const struct {
	const char *words;
	bool detail;
} errors[CHAT_ERRORS] = {
	[CHAT_ERR_SERVER_FULL] = {TEXT_ERR_SERVER_FULL, false},
	[CHAT_ERR_ADDRESS_FULL] = {TEXT_ERR_ADDRESS_FULL, false},
	[CHAT_ERR_UNKNOWN_PROTOCOL] = {TEXT_ERR_UNKNOWN_PROTOCOL, false},
	[CHAT_ERR_HANDSHAKE_TIMEOUT] = {TEXT_ERR_HANDSHAKE_TIMEOUT, false},
	[CHAT_ERR_IDLE_TIMEOUT] = {TEXT_ERR_IDLE_TIMEOUT, false},
	[CHAT_ERR_FLOODING] = {TEXT_ERR_FLOODING, false},
	[CHAT_ERR_FLOODED] = {TEXT_ERR_FLOODED, false},
	[CHAT_ERR_PSEUDO] = {"", true},
	[CHAT_ERR_ROOM] = {"", true},
	[CHAT_ERR_ALREADY_HERE] = {TEXT_ERR_ALREADY_IN_ROOM, true},
	[CHAT_ERR_IMAGE] = {TEXT_ERR_IMAGE, true},
	[CHAT_ERR_IMAGE_FLOOD] = {TEXT_ERR_IMAGE_FLOOD, false},
	[CHAT_ERR_HELD_FULL] = {TEXT_ERR_HELD_FULL, false},
	[CHAT_ERR_REFUSED] = {"", true},
};

static void send_error(struct conn *c, enum chat_error error, const char *detail)
{
	char words[256];
	snprintf(words, sizeof(words), "%s%s", errors[error].words,
		 errors[error].detail && detail != NULL ? detail : "");
	reply_line(c, TEXT_ERROR "\n", words);
}

static void send_info(struct conn *c, enum chat_info info, const char *detail)
{
	switch (info) {
	case CHAT_INFO_IN_ROOM:
		reply_line(c, TEXT_IN_ROOM "\n", detail);
		break;
	case CHAT_INFO_STOPPING:
		reply_line(c, TEXT_SERVER_STOP "\n");
		break;
	case CHAT_INFO_HELP:
	case CHAT_INFO_LINE:
	case CHAT_INFO_NOTICE:
		reply_line(c, "%s\n", detail);
		break;
	case CHAT_INFO_LEFT:
		reply_line(c, TEXT_YOU_LEFT_ROOM "\n", detail);
		break;
	}
}

static void send_private(struct conn *c, const struct chat_private *pm)
{
	if (pm->sent)
		reply_line(c, TEXT_PRIVATE_TO "\n", pm->pseudo, (int)pm->len, pm->text);
	else
		reply_line(c, TEXT_PRIVATE_FROM "\n", pm->pseudo, (int)pm->len, pm->text);
}

/* A block like the history's; each line says its room. */
static void send_found(struct conn *c, const char *query, const struct event *const *found,
		       size_t count, bool cut)
{
	if (count == 0) {
		reply_line(c, TEXT_SEARCH_NONE "\n", query);
		return;
	}
	reply_line(c, TEXT_SEARCH_START "\n", query, count);
	for (size_t i = 0; i < count; i++) {
		reply_line(c, "#%s ", found[i]->room);
		conn_reply(c, event_text_history_frame(found[i]));
	}
	reply_line(c, "%s\n", cut ? TEXT_SEARCH_CUT : TEXT_SEARCH_END);
}

/* "a, b, c" into buf, as much as fits. */
static void join_names(char *buf, size_t cap, const struct chat_entry *entries, size_t count,
		       bool with_counts)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < count; i++) {
		char away[CONN_MAX_PSEUDO + SOCIAL_AWAY_MAX + 16];
		const char *name = entries[i].name;
		if (entries[i].away != NULL) {
			snprintf(away, sizeof(away), TEXT_AWAY_ENTRY, name, entries[i].away);
			name = away;
		}
		int n = with_counts
			? snprintf(buf + used, cap - used, "%s%s (%zu)", used ? ", " : "",
				   name, entries[i].count)
			: snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", name);
		if (n < 0 || (size_t)n >= cap - used)
			break;
		used += (size_t)n;
	}
}

static void send_list(struct conn *c, enum chat_list kind, const char *room,
		      const struct chat_entry *entries, size_t count)
{
	char list[TEXTPEER_LIST_BYTES];
	if (kind == CHAT_LIST_ROOMS) {
		join_names(list, TEXTPEER_ROOMS_BYTES, entries,
			   count < TEXTPEER_ROOMS_MAX ? count : TEXTPEER_ROOMS_MAX, true);
		reply_line(c, TEXT_ROOM_LIST "\n", list);
	} else {
		join_names(list, sizeof(list), entries, count, false);
		reply_line(c, TEXT_WHO "\n", room, list);
	}
}

/* ---- what a line means -------------------------------------------------- */

static void take_pseudo(struct hub *h, struct conn *c, const char *pseudo, size_t len)
{
	char skeleton[NAMES_SKELETON_MAX], why[160];
	if (hub_check_pseudo(h, c, pseudo, len, skeleton, why, sizeof(why)) < 0) {
		send_error(c, CHAT_ERR_PSEUDO, why);
		return;
	}
	/* A text peer proves no identity: an owned pseudo is not for it. */
	if (identities_owner(&h->identities, skeleton) != NULL) {
		snprintf(why, sizeof(why), TEXT_ERR_PSEUDO_OWNED, (int)len, pseudo);
		send_error(c, CHAT_ERR_PSEUDO, why);
		return;
	}
	struct departed back;
	if (users_take_return(&h->users, skeleton, conn_addr_key(c), clock_ms(), &back)) {
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
			send_history(c, c->room, 0);
		hub_name(h, c, pseudo, len, skeleton, 0, hub_pick_colour(h, back.colour));
		log_info("%s is back as %s", conn_addr(c), c->pseudo);
		reply_line(c, TEXT_WELCOME_BACK "\n", c->pseudo);
		hub_publish(h, c->room, &(struct event){
			.kind = EVENT_RETURN, .sender_id = c->user_id,
			.pseudo = c->pseudo, .colour = c->colour}, c->id);
		return;
	}
	hub_name(h, c, pseudo, len, skeleton, 0, -1);
	log_info("%s joined the chatroom as %s", conn_addr(c), c->pseudo);
	send_history(c, c->room, 0);
	hub_publish_presence(h, c, EVENT_JOIN);
	hub_tell_topic(c, c->room);
}

/* A line starting with '/': a command of the table, checked on the raw
 * bytes (a name is refused, never silently mended); only the clean form
 * is ever echoed. */
static void run_command(struct hub *h, struct conn *c, const struct command *cmd,
			enum commands_match match, const char *arg, size_t arg_len,
			const char *clean, size_t clean_len)
{
	if (match == COMMANDS_FOUND) {
		cmd->run(h, c, arg, arg_len);
		return;
	}
	/* Unknown, or its argument does not fit: the whole list, which
	 * shows how each is typed. */
	char help[2048];
	commands_help(TEXT_COMMANDS, help, sizeof(help));
	reply_line(c, TEXT_UNKNOWN_COMMAND "\n",
		   (int)(clean_len > TEXTPEER_UNKNOWN_SHOWN ? TEXTPEER_UNKNOWN_SHOWN : clean_len),
		   clean, help);
}

static void on_line(struct conn *c, const char *line, size_t len)
{
	struct hub *h = c->set->hub;
	c->seen_line = true;
	c->last_heard_ms = clock_ms();
	const struct command *cmd = NULL;
	const char *arg = NULL;
	size_t arg_len = 0;
	enum commands_match match = COMMANDS_NONE;
	/* "//tmp est plein" is the message "/tmp est plein" (irssi's escape). */
	bool escaped = len > 1 && line[0] == '/' && line[1] == '/';
	if (escaped)
		line++, len--;
	else if (len > 0 && line[0] == '/')
		match = commands_find(line, len, &cmd, &arg, &arg_len);
	/* Every line costs, a command by its work (its row's cost). */
	if (!conn_charge(c, match == COMMANDS_FOUND ? cmd->cost : CONN_COST_LINE, len))
		return;
	/* Everything below works on text that is safe for any terminal. */
	size_t n = sanitize_text(line, len, h->clean, h->clean_cap, 0);
	const char *text = h->clean;

	log_info(TEXT_RECEIVED, conn_ip(c), c->port, (int)n, text);

	if (!c->has_pseudo) {
		/* Banned (by address: it proves no identity yet): refused. */
		const char *banned = moderation_banned(c, NULL);
		if (banned != NULL) {
			char why[300];
			snprintf(why, sizeof(why), TEXT_ERR_BANNED, banned);
			conn_refuse(c, CHAT_ERR_REFUSED, why, "banned");
			return;
		}
		/* Until it has a pseudo a peer may greet or pick one, as the
		 * course's clients do with their first message. The raw line
		 * is parsed so a bad pseudo is refused, not silently mended. */
		struct text_msg msg;
		textproto_parse_first(line, len, &msg);
		if (msg.kind == TEXT_HELLO) {
			reply_line(c, TEXT_HELLO_REPLY "\n", conn_ip(c), c->port);
			return;
		}
		if (msg.kind == TEXT_HELLO_PSEUDO) {
			take_pseudo(h, c, msg.text, msg.len);
			return;
		}
	}
	if (match != COMMANDS_NONE) {
		run_command(h, c, cmd, match, arg, arg_len, text, n);
		return;
	}
	if (!moderation_muted(c))
		hub_say(h, c, c->room, text, n);
}

/* ---- bytes in ----------------------------------------------------------- */

static void deliver_partial(struct conn *c)
{
	const char *line;
	size_t len;
	if (lines_of(c) != NULL && linereader_take_partial(lines_of(c), &line, &len) == 1)
		on_line(c, line, len);
	drop_lines(c); /* what it held was the line just handled */
}

/* The course's clients send no '\n': a message is what came before a
 * quiet spell. */
static void on_partial_due(struct conn *c)
{
	if (c->closing || c->doom != CONN_FINE)
		return;
	if (!conn_timer_again_if_not_quiet(c, c->set->cfg->partial_delay_ms, on_partial_due))
		deliver_partial(c);
}

static void on_data(struct conn *c, const char *data, size_t len)
{
	struct linereader local;
	struct linereader *lines = lines_of(c);
	if (lines == NULL) {
		linereader_init(&local, TEXT_MAX_LINE);
		lines = &local;
	}
	linereader_feed(lines, data, len);
	/* A doomed peer (too far behind) is not served any more: it goes at
	 * the next flush, and the rest of its input goes with it. */
	while (!c->closing && c->doom == CONN_FINE) {
		const char *line;
		size_t n;
		int rc = linereader_next(lines, &line, &n);
		if (rc == 0)
			break;
		if (rc < 0) {
			char why[96];
			snprintf(why, sizeof(why), TEXT_ERR_LINE_TOO_LONG, TEXT_MAX_LINE);
			reply_line(c, TEXT_ERROR "\n", rc == -E2BIG ? why : TEXT_ERR_NO_MEMORY);
			conn_close_after_flush(c, rc == -E2BIG ? "line too long" : "out of memory");
			break;
		}
		on_line(c, line, n);
	}
	if (c->closing || c->doom != CONN_FINE || !linereader_has_partial(lines)) {
		/* Nothing left to wait for: no reader kept. */
		if (lines == &local)
			linereader_free(&local);
		else
			drop_lines(c);
		if (!c->closing && c->doom == CONN_FINE)
			conn_timer_stop(c);
		return;
	}
	if (lines == &local) {
		struct linereader *kept = malloc(sizeof(*kept));
		if (kept == NULL) {
			linereader_free(&local);
			reply_line(c, TEXT_ERROR "\n", TEXT_ERR_NO_MEMORY);
			conn_close_after_flush(c, "out of memory");
			return;
		}
		*kept = local;
		c->proto_data = kept;
	}
	conn_timer_start(c, c->set->cfg->partial_delay_ms, on_partial_due);
}

/* A last message may come without its '\n'. */
static void on_eof(struct conn *c)
{
	deliver_partial(c);
}

static int on_start(struct conn *c)
{
	c->proto_data = NULL; /* its line reader: made at the first unfinished line */
	c->hears = true; /* an anonymous text peer reads its room */
	return 0;
}

static void on_stop(struct conn *c)
{
	drop_lines(c);
}

const struct proto_ops textpeer_proto = {
	.name = "text",
	.format = EVENT_FORMAT_TEXT,
	.on_start = on_start,
	.on_stop = on_stop,
	.on_data = on_data,
	.on_eof = on_eof,
	.send_history = send_history,
	.send_error = send_error,
	.send_info = send_info,
	.send_list = send_list,
	.send_private = send_private,
	.send_found = send_found,
};
