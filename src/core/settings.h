/*
 * settings: a program's settings described once, as a table with a row per
 * setting. From the rows come getopt_long's option array and short-option
 * string, the keys of the KEY=VALUE file (the course's HOST=127.0.0.1 /
 * PORT=9999 syntax, read with libinih), the CHATROOM_<KEY> environment
 * names and the --help text; one function applies them with one
 * precedence: option > environment > file > default (the value the target
 * holds before the call).
 *
 * A value goes through its row's parser whatever its origin, so it is judged
 * the same way everywhere; an error names the origin ("FILE:LINE: KEY",
 * "CHATROOM_KEY" or "--option"), the value and the reason. Adding a
 * setting is one row (and the field it fills).
 */
#ifndef CHATROOM_SETTINGS_H
#define CHATROOM_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct setting;

/* How a row's value is read and shown. */
struct setting_type {
	/* Stores value into target (usually at row->offset); 0, or -EINVAL
	 * with a static *cause. */
	int (*parse)(const struct setting *row, void *target, const char *value,
		     const char **cause);
	/* Writes the field's value as --help gives a default ("" for none);
	 * NULL: no default shown unless the row has default_text. */
	void (*show)(const struct setting *row, const void *target, char *buf, size_t len);
};

/* What a row is for; all but SETTING_VALUE are command-line options only. */
enum setting_role {
	SETTING_VALUE,       /* a value for the target, the common case */
	SETTING_CONFIG_FILE, /* -c FILE: read this file instead of the default one */
	SETTING_HELP,        /* prints the generated help; the program exits 0 */
	SETTING_VERSION,     /* prints "PROGRAM VERSION"; the program exits 0 */
};

struct setting {
	const char *key;      /* file key, e.g. "PORT"; env CHATROOM_PORT; NULL: options only */
	const char *long_opt; /* e.g. "port", without "--"; NULL: file and environment only */
	char short_opt;       /* e.g. 'p'; 0 for none */
	const char *metavar;  /* e.g. "PORT"; NULL: an option without argument (a flag) */
	const struct setting_type *type;
	size_t offset;        /* of the field the type fills, in the target */
	long long min, max;   /* bounds of the number types; max 0: the type's own */
	/* A reason given instead of the type's own: for any refused value
	 * (text, count), or for a value above max (bytes, uint, seconds). */
	const char *cause;
	const char *flag_value;   /* what a flag stands for (NULL: "yes") */
	const char *default_text; /* the default as --help says it (NULL: the type's show) */
	const char *help;         /* one line; NULL: described with the next row */
	enum setting_role role;
};

struct settings_program {
	const char *name;     /* "chatroom-server": errors and --version */
	const char *synopsis; /* --help's first line, after "usage: " */
	const char *epilogue; /* --help's last lines, or NULL */
	const struct setting *rows;
	size_t count;
	/* The program's language: every word settings says (errors, --help,
	 * the rows' help and causes) goes through it. NULL: as written, in
	 * English. */
	const char *(*translate)(const char *text);
};

/* The field of a row in a target. */
static inline void *settings_field(const struct setting *row, void *target)
{
	return (char *)target + row->offset;
}

/*
 * The types. Each fills a field of the C type named here and says why it
 * refuses a value:
 *   text     char[max]: 1 to max - 1 bytes, copied  "empty or too long"
 *   port     int in [min, 65535]                    "invalid port (0-65535)" (or 1-)
 *   bytes    size_t in [min, max]                   "invalid size in bytes"
 *   count    size_t in [min, max]                   "invalid number"
 *   uint     unsigned in [min, max]                 "invalid number"
 *   seconds  unsigned milliseconds, given in whole seconds in [min, max]
 *                                                   "invalid number"
 *   number   double, finite, at least min           "invalid number (a finite one is needed)"
 *   yes_no   bool: yes/1 or no/0                    "not yes or no"
 *   ignore   nothing (a value main() reads by itself)
 */
extern const struct setting_type settings_text, settings_port, settings_bytes, settings_count,
	settings_uint, settings_seconds, settings_number, settings_yes_no, settings_ignore;

/* The text type's show, for program-made types that keep a string. */
void settings_show_text(const struct setting *row, const void *target, char *buf, size_t len);

/* An error message, ready to print after the program's name. */
struct settings_error {
	char text[512];
};

enum settings_outcome {
	SETTINGS_READY,     /* every value applied: run */
	SETTINGS_HELP,      /* --help was asked for */
	SETTINGS_VERSION,   /* --version was asked for */
	SETTINGS_BAD_USAGE, /* an unknown option (getopt said so) or a stray argument (err) */
	SETTINGS_FAILED,    /* a value, key or file was refused (err) */
};

/*
 * The whole precedence in one call. The command line is read first (its
 * last value for each setting counts; a setting without a key is applied
 * there and then, in the order given); then the file (-c, else
 * default_path, which may be missing; NULL: none), the environment and the
 * options, in the table's order. Stops at --help, --version or the first
 * error. Resets getopt (optind = 0).
 */
enum settings_outcome settings_read(const struct settings_program *p, int argc, char **argv,
				    void *target, const char *default_path,
				    struct settings_error *err);

/*
 * settings_read for main(): says what it has to (the help on stdout, the
 * version, an error as "PROGRAM: message" and a bad usage with the help on
 * stderr). Returns -1 to go on, else the exit status (0, or 2).
 */
int settings_main(const struct settings_program *p, int argc, char **argv, void *target,
		  const char *default_path);

/* The generated help: target holds the defaults it shows. */
void settings_usage(const struct settings_program *p, const void *target, FILE *out);

#endif
