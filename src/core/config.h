/*
 * config: where a program's files are: its settings file in the user's
 * configuration directory, and its own files (history, logs) in a system
 * directory or else the user's state directory. The settings themselves
 * are read by settings.h.
 */
#ifndef CHATROOM_CONFIG_H
#define CHATROOM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

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
