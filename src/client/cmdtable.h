/*
 * cmdtable: the client's slash commands as a table, without I/O: finding
 * the row a typed line names (case-insensitive, aliases too), cutting its
 * argument to the row's shape, and writing /help from the rows.
 *
 * The table itself and its handlers are the session's (commands.c); this
 * module only reads rows, so it is unit-tested on its own.
 */
#ifndef CHATROOM_CMDTABLE_H
#define CHATROOM_CMDTABLE_H

#include <stddef.h>

enum command_args {
	COMMAND_NO_ARGS, /* nothing; words after the name are ignored */
	COMMAND_WORD,    /* exactly one word, blanks around it dropped */
	COMMAND_REST,    /* the rest of the line after "/name ", as typed, not empty */
	COMMAND_REST_OPTIONAL, /* the same, or nothing (NULL, 0) */
};

#define COMMAND_MAX_ALIASES 2

struct client_app;

struct command {
	const char *name;                         /* "join", typed "/join" in any case */
	const char *aliases[COMMAND_MAX_ALIASES]; /* other names, or NULL */
	enum command_args args;
	const char *metavar;                      /* the argument in /help, e.g. N_("SALON") */
	void (*run)(struct client_app *app, const char *arg, size_t len);
	const char *help;                         /* one line, N_() */
};

enum command_match {
	COMMAND_FOUND,    /* *cmd and its argument (NULL, 0 for no argument) */
	COMMAND_UNKNOWN,  /* no row has that name */
	COMMAND_BAD_ARGS, /* *cmd is the row; the argument does not fit its shape */
};

/* The row a line starting with '/' names, and its argument. */
enum command_match cmdtable_find(const struct command *table, size_t count, const char *line,
				 size_t len, const struct command **cmd, const char **arg,
				 size_t *arg_len);

/* "/join SALON" (the metavar translated) into buf: what a wrong argument
 * is told. Returns the length written (buf always terminated). */
size_t cmdtable_usage(const struct command *cmd, char *buf, size_t cap);

/* A key of the interface and what it does, for /help. */
struct key_help {
	const char *keys; /* "PgUp/PgDn", N_() when it has words */
	const char *what; /* N_() */
};

/* "Touches : PgUp/PgDn (défiler), …." translated, like cmdtable_help. */
size_t cmdtable_keys_help(const struct key_help *keys, size_t count, const char *prefix,
			  char *buf, size_t cap);

/*
 * A file name as typed after a command (/image ~/photo.jpg): blanks
 * around it dropped, then one pair of matching quotes around it ('…' or
 * "…"), then a leading "~" alone or "~/" made home's ("~user" is left as
 * typed: only your own home is known here). Into out, terminated; returns
 * its length, 0 when it is empty or does not fit.
 */
size_t cmdtable_path(const char *arg, size_t len, const char *home, char *out, size_t cap);

/* The whole list, translated: prefix, then "/rooms (les salons), /join
 * SALON (…), …" and a full stop. Returns the length written. */
size_t cmdtable_help(const struct command *table, size_t count, const char *prefix,
		     char *buf, size_t cap);

#endif
