#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *config_user_path(const char *name, char *buf, size_t len)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	if (xdg != NULL && xdg[0] == '/') {
		snprintf(buf, len, "%s/chatroom/%s", xdg, name);
		return buf;
	}
	const char *home = getenv("HOME");
	if (home != NULL && home[0] != '\0') {
		snprintf(buf, len, "%s/.config/chatroom/%s", home, name);
		return buf;
	}
	return NULL;
}

/* mkdir -p of path's parents, each new one with that mode (an existing
 * one is left as it is: it may be the system's). */
static int make_parent_dirs(const char *path, mode_t mode)
{
	char dir[4096];
	if (strlen(path) >= sizeof(dir))
		return -ENAMETOOLONG;
	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

int config_make_parent_dirs(const char *path)
{
	return make_parent_dirs(path, CONFIG_DIR_MODE);
}

static bool usable(const char *path, mode_t dir_mode)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		return false;
	*slash = '\0';
	if (make_parent_dirs(path, dir_mode) < 0 || access(dir[0] ? dir : "/", W_OK) != 0)
		return false;
	/* An existing file must be writable too. */
	return access(path, F_OK) != 0 || access(path, W_OK) == 0;
}

const char *config_state_path(const char *default_path, const char *name,
			      char *buf, size_t len, bool *fell_back)
{
	*fell_back = false;
	if (usable(default_path, CONFIG_DIR_MODE)) {
		snprintf(buf, len, "%s", default_path);
		return buf;
	}
	*fell_back = true;
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	if (state != NULL && state[0] == '/')
		snprintf(buf, len, "%s/chatroom/%s", state, name);
	else if (home != NULL && home[0] != '\0')
		snprintf(buf, len, "%s/.local/state/chatroom/%s", home, name);
	else
		return NULL;
	/* The XDG spec wants its base directories 0700. */
	return usable(buf, 0700) ? buf : NULL;
}
