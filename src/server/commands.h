/*
 * commands: the server's commands, one table for every protocol.
 *
 * A row each: name, aliases, argument shape, flood cost, handler, the
 * argument as help shows it, one line of help. The text protocol runs its
 * "/…" lines through the table (commands_find: any case, aliases too);
 * the binary protocol its ROOMS_ASK, WHO_ASK and JOIN frames, by name
 * (commands_named). A handler answers through c->proto->send_* and
 * conn_error, so each protocol words and encodes its own reply. /help and
 * /help COMMAND are written from the rows.
 *
 * Adding a command: a handler and a row in commands.c, and a row in the
 * README's text-protocol table (a test holds the README to /help).
 *
 * The table is const and static; the lookup and help functions work on any
 * table (the unit tests give their own), are pure, and own nothing.
 */
#ifndef CHATROOM_COMMANDS_H
#define CHATROOM_COMMANDS_H

#include <stddef.h>

struct conn;
struct hub;

enum command_args {
	COMMAND_NO_ARGS,       /* nothing but blanks after the name */
	COMMAND_WORD,          /* one word, blanks around it dropped */
	COMMAND_OPTIONAL_WORD, /* one word, or nothing */
	COMMAND_REST,          /* the rest of the line after "/name ", as typed, not empty */
	COMMAND_OPTIONAL_REST, /* the same, or nothing (blanks alone are nothing) */
};

#define COMMANDS_MAX_ALIASES 2

struct command {
	const char *name;                          /* "join": typed "/join", in any case */
	const char *aliases[COMMANDS_MAX_ALIASES]; /* other names, or NULL */
	enum command_args args;
	const char *metavar; /* the argument in usage and help ("SALON"), or NULL */
	unsigned cost;       /* flood tokens it costs (conn.h's CONN_COST_*) */
	/* arg is cut to the shape: NULL (and 0) when there is none. */
	void (*run)(struct hub *h, struct conn *c, const char *arg, size_t len);
	const char *help;    /* one line, the course's language */
};

enum commands_match {
	COMMANDS_NONE,     /* not a command: the line does not start with '/' */
	COMMANDS_FOUND,    /* *cmd, and its argument */
	COMMANDS_UNKNOWN,  /* no row has that name */
	COMMANDS_BAD_ARGS, /* *cmd is the row; the argument does not fit its shape */
};

/* The server's table. */
extern const struct command commands_table[];
extern const size_t commands_count;

/* The row of `table` a line names ("/name args"), and its argument. */
enum commands_match commands_parse(const struct command *table, size_t count, const char *line,
				   size_t len, const struct command **cmd, const char **arg,
				   size_t *arg_len);
/* The same in the server's table. */
enum commands_match commands_find(const char *line, size_t len, const struct command **cmd,
				  const char **arg, size_t *arg_len);
/* The server's row of that name or alias (any case); NULL if none. */
const struct command *commands_named(const char *name);

/* "/join SALON" ("/help [COMMANDE]" for an optional word). Returns the
 * length written; buf is always terminated. */
size_t commands_usage(const struct command *cmd, char *buf, size_t cap);
/* "/join SALON : y aller, …" (and "(aussi /x)" for aliases). */
size_t commands_describe(const struct command *cmd, char *buf, size_t cap);
/* prefix, then "/rooms (les salons), /join SALON (…), …" for every row. */
size_t commands_list(const struct command *table, size_t count, const char *prefix,
		     char *buf, size_t cap);
/* The same for the server's table: what /help says. */
size_t commands_help(const char *prefix, char *buf, size_t cap);

#endif
