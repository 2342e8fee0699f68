#include "commands.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bus.h"
#include "conn.h"
#include "hub.h"
#include "sanitize.h"
#include "search.h"
#include "textproto.h"
#include "usercmds.h"
#include "moderation.h"

/* A ROOMS answer lists at most this many rooms (a text line, fewer). */
#define COMMANDS_ROOMS_MAX 256
/* Room enough for /help's whole list. */
#define COMMANDS_HELP_BYTES 2048

/* ---- the handlers ------------------------------------------------------- */

/* Across the servers when the bus can ask them: answered later. */
static bool cluster_asked(struct hub *h, struct conn *c, enum chat_list kind,
			  const struct room *room)
{
	return h->bus != NULL && h->bus->ops->ask_list != NULL &&
	       h->bus->ops->ask_list(h->bus, c, kind, room) == 0;
}

static void run_rooms(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	(void)arg, (void)len;
	if (cluster_asked(h, c, CHAT_LIST_ROOMS, NULL))
		return;
	struct chat_entry entries[COMMANDS_ROOMS_MAX];
	size_t n = hub_list_rooms(h, entries, COMMANDS_ROOMS_MAX);
	c->proto->send_list(c, CHAT_LIST_ROOMS, NULL, entries, n);
}

/* One of c's rooms, as typed (none: its current room); NULL, with the
 * error sent, when it is not in it. */
static struct room *my_room(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	struct room *room = len > 0 ? hub_find_room(h, arg, len) : c->room;
	if (room == NULL || hub_seat(c, room) == NULL) {
		conn_error(c, CHAT_ERR_ROOM, TEXT_ERR_NOT_IN_ROOM);
		return NULL;
	}
	return room;
}

/* A binary WHO_ASK may name one of its rooms; /who is of the current. */
static void run_who(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	struct room *room = my_room(h, c, arg, len);
	if (room == NULL || cluster_asked(h, c, CHAT_LIST_WHO, room))
		return;
	struct chat_entry entries[HUB_LIST_MAX];
	size_t n = hub_list_members(room, entries, HUB_LIST_MAX);
	c->proto->send_list(c, CHAT_LIST_WHO, room->name, entries, n);
}

/* As typed: hub_room trims it, drops a '#', and says what is wrong. An
 * empty name (a binary JOIN may send one) is the default room. */
static void run_join(struct hub *h, struct conn *c, const char *room, size_t len)
{
	const char *cause;
	if (c->several_rooms && c->seat_count >= h->max_seats) {
		/* Refused before a room is made for it. */
		char why[128];
		snprintf(why, sizeof(why), TEXT_ERR_SEATS, (size_t)c->seat_count);
		conn_error(c, CHAT_ERR_ROOM, why);
		return;
	}
	struct room *to = hub_room(h, c, room, len, &cause);
	if (to == NULL) {
		conn_error(c, CHAT_ERR_ROOM, cause);
		return;
	}
	if (to == c->room || (c->several_rooms && hub_seat(c, to) != NULL)) {
		conn_error(c, CHAT_ERR_ALREADY_HERE, to->name);
		return;
	}
	if (c->several_rooms) {
		/* It stays where it is, and goes there as well. */
		int rc = hub_enter(h, c, to);
		if (rc < 0) {
			char why[128];
			snprintf(why, sizeof(why), TEXT_ERR_SEATS, (size_t)c->seat_count);
			conn_error(c, CHAT_ERR_ROOM, rc == -ENOSPC ? why : TEXT_ERR_NO_MEMORY);
			return;
		}
		hub_publish_presence_in(h, c, to, EVENT_JOIN);
		return;
	}
	hub_move(h, c, to);
	if (c->has_pseudo)
		hub_publish_presence(h, c, EVENT_JOIN);
	else
		c->proto->send_info(c, CHAT_INFO_IN_ROOM, to->name);
	hub_tell_topic(c, to); /* after the arrival, as IRC's JOIN then TOPIC */
}

/* Out of one room (none named: the current one). A peer is always in
 * one: out of its last, it goes back to the default room, and the
 * default room, its last, is not left. A text peer, in one room, is
 * moved as by /join of the default room. */
static void run_part(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	struct room *room = my_room(h, c, arg, len);
	if (room == NULL)
		return;
	struct room *lobby = h->rooms.default_room;
	if (c->seat_count == 1 && room == lobby) {
		char why[128];
		snprintf(why, sizeof(why), TEXT_ERR_LAST_ROOM, room->name);
		conn_error(c, CHAT_ERR_ROOM, why);
		return;
	}
	if (!c->several_rooms) {
		hub_move(h, c, lobby);
		if (c->has_pseudo)
			hub_publish_presence(h, c, EVENT_JOIN);
		else
			c->proto->send_info(c, CHAT_INFO_IN_ROOM, lobby->name);
		return;
	}
	if (c->seat_count == 1) {
		/* Its seat is given up below: there is one for the lobby. */
		if (hub_enter(h, c, lobby) < 0)
			return;
		hub_publish_presence_in(h, c, lobby, EVENT_JOIN);
	}
	char name[TEXT_MAX_ROOM + 1];
	snprintf(name, sizeof(name), "%s", room->name);
	hub_leave(h, c, room);
	c->proto->send_info(c, CHAT_INFO_LEFT, name);
}

/* From the rooms it is in (or the one of in:, one of them), the newest
 * messages first, bounded (search.h). */
static void run_search(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	struct search_query q;
	switch (search_parse(arg, len, &q)) {
	case SEARCH_OK:
		break;
	case SEARCH_EMPTY:
		conn_error(c, CHAT_ERR_ROOM, TEXT_ERR_SEARCH_EMPTY);
		return;
	case SEARCH_BAD_FROM:
		conn_error(c, CHAT_ERR_ROOM, TEXT_ERR_SEARCH_FROM);
		return;
	case SEARCH_BAD_IN:
		conn_error(c, CHAT_ERR_ROOM, TEXT_ERR_SEARCH_IN);
		return;
	case SEARCH_TOO_LONG:
		conn_error(c, CHAT_ERR_ROOM, TEXT_ERR_SEARCH_LONG);
		return;
	}
	struct room *rooms[SEARCH_MAX_ROOMS];
	uint64_t visible[SEARCH_MAX_ROOMS];
	size_t n = 0;
	if (q.in[0] != '\0') {
		struct room *room = hub_find_room(h, q.in, strlen(q.in));
		if (room == NULL || hub_seat(c, room) == NULL) {
			conn_error(c, CHAT_ERR_ROOM, TEXT_ERR_SEARCH_IN);
			search_query_free(&q);
			return;
		}
		rooms[n++] = room;
	} else {
		struct seat *s;
		LIST_FOREACH(s, &c->seats, of_conn)
			if (n < SEARCH_MAX_ROOMS)
				rooms[n++] = s->room;
	}
	for (size_t i = 0; i < n; i++)
		visible[i] = hub_heard_id(h); /* what it was sent live counts too */
	struct event events[SEARCH_MAX_RESULTS]; /* pointing into the rooms' records */
	const struct event *found[SEARCH_MAX_RESULTS];
	bool cut;
	size_t count = search_run(&q, &h->rooms, rooms, visible, n, events, SEARCH_MAX_RESULTS,
				  &cut);
	for (size_t i = 0; i < count; i++)
		found[i] = &events[i];
	search_query_free(&q);
	/* The query as the peer may see it again: cleaned like any line. */
	char shown[SEARCH_MAX_QUERY + 1];
	size_t shown_len = sanitize_text(arg, len, shown, sizeof(shown) - 1, 0);
	shown[shown_len] = '\0';
	if (c->proto->send_found != NULL)
		c->proto->send_found(c, shown, found, count, cut);
}

static void run_help(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	(void)h;
	char text[COMMANDS_HELP_BYTES];
	char name[32];
	if (arg != NULL && arg[0] == '/')
		arg++, len--;
	snprintf(name, sizeof(name), "%.*s", (int)len, arg != NULL ? arg : "");
	const struct command *cmd = arg != NULL ? commands_named(name) : NULL;
	if (cmd != NULL)
		commands_describe(cmd, text, sizeof(text));
	else
		commands_help(TEXT_COMMANDS, text, sizeof(text));
	c->proto->send_info(c, CHAT_INFO_HELP, text);
}

/* ---- the table ---------------------------------------------------------- */

const struct command commands_table[] = {
	{"rooms", {"list"}, COMMAND_NO_ARGS, NULL, CONN_COST_LIST, run_rooms, "les salons"},
	{"join", {"j"}, COMMAND_REST, "SALON", CONN_COST_JOIN, run_join,
	 "y aller, le créer s'il n'existe pas"},
	{"who", {"names"}, COMMAND_NO_ARGS, NULL, CONN_COST_LIST, run_who, "qui est là"},
	{"msg", {"query"}, COMMAND_REST, "PSEUDO TEXTE", CONN_COST_LINE, usercmds_msg,
	 "un message privé, où qu'il soit"},
	{"reply", {NULL}, COMMAND_REST, "TEXTE", CONN_COST_LINE, usercmds_reply,
	 "répondre au dernier message privé"},
	{"me", {NULL}, COMMAND_REST, "ACTION", CONN_COST_LINE, usercmds_me,
	 "une action : * pseudo ACTION"},
	/* A rename and a topic are told to the whole room and kept in its
	 * history: the price of a join. */
	{"nick", {NULL}, COMMAND_WORD, "PSEUDO", CONN_COST_JOIN, usercmds_nick,
	 "changer de pseudo"},
	{"away", {NULL}, COMMAND_OPTIONAL_REST, "TEXTE", CONN_COST_LINE, usercmds_away,
	 "absent (seul : de retour)"},
	{"topic", {NULL}, COMMAND_OPTIONAL_REST, "SUJET", CONN_COST_JOIN, usercmds_topic,
	 "le sujet du salon, ou le changer"},
	{"ignore", {NULL}, COMMAND_OPTIONAL_WORD, "PSEUDO", CONN_COST_LINE, usercmds_ignore,
	 "ne plus rien voir de lui (seul : la liste)"},
	{"unignore", {NULL}, COMMAND_WORD, "PSEUDO", CONN_COST_LINE, usercmds_unignore,
	 "le revoir"},
	{"ignore-list", {NULL}, COMMAND_NO_ARGS, NULL, CONN_COST_LINE, usercmds_ignore_list,
	 "qui vous ignorez"},
	{"identify", {NULL}, COMMAND_REST, "PSEUDO SECRET", CONN_COST_JOIN, usercmds_identify,
	 "prendre ou garder son pseudo avec son secret (64 chiffres hexadécimaux)"},
	{"whois", {NULL}, COMMAND_WORD, "PSEUDO", CONN_COST_LIST, usercmds_whois,
	 "qui c'est, depuis quand, où"},
	{"kick", {NULL}, COMMAND_REST, "PSEUDO [RAISON]", CONN_COST_JOIN, moderation_kick,
	 "opérateurs : le déconnecter"},
	{"mute", {NULL}, COMMAND_REST, "PSEUDO DURÉE", CONN_COST_JOIN, moderation_mute,
	 "opérateurs : le faire taire (30s, 10m, 2h, 1j)"},
	{"ban", {NULL}, COMMAND_REST, "PSEUDO [DURÉE] [RAISON]", CONN_COST_JOIN, moderation_ban,
	 "opérateurs : le bannir, son identité et son adresse"},
	{"unban", {NULL}, COMMAND_WORD, "PSEUDO", CONN_COST_JOIN, moderation_unban,
	 "opérateurs : lever son bannissement"},
	{"bans", {NULL}, COMMAND_NO_ARGS, NULL, CONN_COST_LIST, moderation_bans,
	 "opérateurs : les bannis"},
	{"part", {NULL}, COMMAND_OPTIONAL_WORD, "SALON", CONN_COST_JOIN, run_part,
	 "quitter ce salon ou celui nommé ; du dernier, retour à general"},
	{"search", {NULL}, COMMAND_REST, "[from:PSEUDO] [in:SALON] MOTS", CONN_COST_SEARCH,
	 run_search, "chercher dans l'historique de vos salons"},
	{"help", {NULL}, COMMAND_OPTIONAL_WORD, "COMMANDE", CONN_COST_LINE, run_help,
	 "cette liste, ou l'aide d'une commande"},
};

const size_t commands_count = sizeof(commands_table) / sizeof(commands_table[0]);

/* ---- lookup ------------------------------------------------------------- */

static bool named(const struct command *cmd, const char *name, size_t len)
{
	if (strlen(cmd->name) == len && strncasecmp(cmd->name, name, len) == 0)
		return true;
	for (size_t i = 0; i < COMMANDS_MAX_ALIASES && cmd->aliases[i] != NULL; i++)
		if (strlen(cmd->aliases[i]) == len && strncasecmp(cmd->aliases[i], name, len) == 0)
			return true;
	return false;
}

/* Cuts rest to the shape; false when it does not fit. */
static bool fit(enum command_args shape, const char **rest, size_t *rest_len)
{
	if (shape == COMMAND_REST)
		return *rest_len > 0;
	if (shape == COMMAND_OPTIONAL_REST) {
		size_t blanks = 0;
		while (blanks < *rest_len && (*rest)[blanks] == ' ')
			blanks++;
		if (blanks == *rest_len)
			*rest_len = 0;
		return true;
	}
	while (*rest_len > 0 && (*rest)[0] == ' ')
		(*rest)++, (*rest_len)--;
	while (*rest_len > 0 && (*rest)[*rest_len - 1] == ' ')
		(*rest_len)--;
	bool one_word = *rest_len > 0 && memchr(*rest, ' ', *rest_len) == NULL;
	switch (shape) {
	case COMMAND_NO_ARGS:
		return *rest_len == 0;
	case COMMAND_WORD:
		return one_word;
	case COMMAND_OPTIONAL_WORD:
		return *rest_len == 0 || one_word;
	case COMMAND_REST:
	case COMMAND_OPTIONAL_REST:
		break;
	}
	return false;
}

enum commands_match commands_parse(const struct command *table, size_t count, const char *line,
				   size_t len, const struct command **cmd, const char **arg,
				   size_t *arg_len)
{
	*cmd = NULL;
	*arg = NULL;
	*arg_len = 0;
	if (len == 0 || line[0] != '/')
		return COMMANDS_NONE;
	/* The name runs to the first space; the argument starts after it. */
	const char *space = memchr(line, ' ', len);
	size_t name_len = (space != NULL ? (size_t)(space - line) : len) - 1;
	for (size_t i = 0; i < count && *cmd == NULL; i++)
		if (named(&table[i], line + 1, name_len))
			*cmd = &table[i];
	if (*cmd == NULL)
		return COMMANDS_UNKNOWN;
	const char *rest = space != NULL ? space + 1 : line + len;
	size_t rest_len = (size_t)(line + len - rest);
	if (!fit((*cmd)->args, &rest, &rest_len))
		return COMMANDS_BAD_ARGS;
	if (rest_len > 0) {
		*arg = rest;
		*arg_len = rest_len;
	}
	return COMMANDS_FOUND;
}

enum commands_match commands_find(const char *line, size_t len, const struct command **cmd,
				  const char **arg, size_t *arg_len)
{
	return commands_parse(commands_table, commands_count, line, len, cmd, arg, arg_len);
}

const struct command *commands_named(const char *name)
{
	for (size_t i = 0; i < commands_count; i++)
		if (named(&commands_table[i], name, strlen(name)))
			return &commands_table[i];
	return NULL;
}

/* ---- help --------------------------------------------------------------- */

/* Appends to buf at *used, never past cap (always terminated). */
__attribute__((format(printf, 4, 5)))
static void add(char *buf, size_t cap, size_t *used, const char *fmt, ...)
{
	if (*used + 1 >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *used, cap - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used = *used + (size_t)n < cap ? *used + (size_t)n : cap - 1;
}

static void add_usage(const struct command *cmd, char *buf, size_t cap, size_t *used)
{
	add(buf, cap, used, "/%s", cmd->name);
	if (cmd->metavar == NULL || cmd->args == COMMAND_NO_ARGS)
		return;
	if (cmd->args == COMMAND_OPTIONAL_WORD || cmd->args == COMMAND_OPTIONAL_REST)
		add(buf, cap, used, " [%s]", cmd->metavar);
	else
		add(buf, cap, used, " %s", cmd->metavar);
}

size_t commands_usage(const struct command *cmd, char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = '\0';
	add_usage(cmd, buf, cap, &used);
	return used;
}

size_t commands_describe(const struct command *cmd, char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = '\0';
	add_usage(cmd, buf, cap, &used);
	add(buf, cap, &used, " : %s", cmd->help);
	for (size_t i = 0; i < COMMANDS_MAX_ALIASES && cmd->aliases[i] != NULL; i++)
		add(buf, cap, &used, "%s/%s%s", i == 0 ? " (aussi " : ", ", cmd->aliases[i],
		    i + 1 < COMMANDS_MAX_ALIASES && cmd->aliases[i + 1] != NULL ? "" : ")");
	return used;
}

size_t commands_list(const struct command *table, size_t count, const char *prefix,
		     char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = '\0';
	add(buf, cap, &used, "%s", prefix);
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			add(buf, cap, &used, ", ");
		add_usage(&table[i], buf, cap, &used);
		add(buf, cap, &used, " (%s)", table[i].help);
	}
	return used;
}

size_t commands_help(const char *prefix, char *buf, size_t cap)
{
	return commands_list(commands_table, commands_count, prefix, buf, cap);
}
