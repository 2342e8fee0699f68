/*
 * config: settings from a KEY=VALUE file (the course's HOST=127.0.0.1 /
 * PORT=9999 syntax, read with libinih), from CHATROOM_<KEY> environment
 * variables, and from command-line options, with one precedence:
 * option > environment > file > built-in default.
 *
 * A program describes its settings once, as a table of keys, each with a
 * setter that checks and stores a value; the same setter serves the file,
 * the environment and the options, so a value is judged the same way
 * wherever it comes from. Errors name their origin ("FILE:LINE", the
 * variable or the option) and the reason.
 */
#ifndef CHATROOM_CONFIG_H
#define CHATROOM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct config_key {
	const char *name; /* as in the file, e.g. "PORT"; env is CHATROOM_PORT */
	/* Stores value into target; 0, or -EINVAL with a static *cause. */
	int (*set)(void *target, const char *value, const char **cause);
};

struct config_table {
	const struct config_key *keys;
	size_t count;
	void *target;
};

/* An error message, ready to print after the program's name. */
struct config_error {
	char text[512];
};

/*
 * Reads the file. When missing_ok, a file that does not exist is no error
 * (default locations). Returns 0 or -1 with *err filled.
 */
int config_read_file(const struct config_table *t, const char *path,
		     bool missing_ok, struct config_error *err);

/* Applies every CHATROOM_<NAME> variable that is set. 0 or -1. */
int config_read_env(const struct config_table *t, struct config_error *err);

/* Applies one value; origin names it in errors (e.g. "--port"). 0 or -1. */
int config_set(const struct config_table *t, const char *name,
	       const char *value, const char *origin, struct config_error *err);

/*
 * The whole precedence in one call: the file (when path is not NULL; a
 * default path may be missing), then the environment, then the options:
 * option_values[i] (NULL when not given) is the value of keys[i], named
 * option_names[i] in errors. 0 or -1 with *err filled.
 */
int config_load(const struct config_table *t, const char *path, bool path_is_default,
		const char *const *option_values, const char *const *option_names,
		struct config_error *err);

/* Shared value parsers: 0, or -EINVAL with a static *cause. */
int config_parse_port(const char *value, int min, int *out, const char **cause);
int config_parse_size(const char *value, size_t min, size_t *out,
		      const char **cause);
/* A finite number, at least min (inf and nan are refused). */
int config_parse_double(const char *value, double min, double *out, const char **cause);

/* $XDG_CONFIG_HOME/chatroom/<name> or ~/.config/chatroom/<name> into buf;
 * returns buf, or NULL when neither variable is set. */
const char *config_user_path(const char *name, char *buf, size_t len);

/*
 * Where a program keeps a file of its own (history, logs): default_path
 * when its directory exists or can be made and is writable, else
 * $XDG_STATE_HOME/chatroom/<name> (or ~/.local/state/chatroom/<name>),
 * whose directory is made 0700. Returns the path written into buf (NULL when
 * there is nowhere) and sets *fell_back when it is not the default.
 */
const char *config_state_path(const char *default_path, const char *name,
			      char *buf, size_t len, bool *fell_back);

/* Directories made for the program's files: the owner and its group
 * (say, for logrotate) only. The per-user fallback is 0700. */
#define CONFIG_DIR_MODE 0750

/* Creates each missing directory above path (CONFIG_DIR_MODE). 0 or -errno. */
int config_make_parent_dirs(const char *path);

#endif
