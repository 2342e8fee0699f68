#include "config.h"

#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct config_key *find_key(const struct config_table *t,
					 const char *name)
{
	for (size_t i = 0; i < t->count; i++)
		if (strcmp(t->keys[i].name, name) == 0)
			return &t->keys[i];
	return NULL;
}

/* What the libinih handler needs; the first error wins. */
struct file_read {
	const struct config_table *table;
	char first_error[256];
	bool failed;
};

static int on_pair(void *user, const char *section, const char *name,
		   const char *value)
{
	struct file_read *r = user;
	if (r->failed)
		return 0;
	if (section[0] != '\0') {
		snprintf(r->first_error, sizeof(r->first_error),
			 "sections are not used (found [%s])", section);
		r->failed = true;
		return 0;
	}
	const struct config_key *key = find_key(r->table, name);
	if (key == NULL) {
		snprintf(r->first_error, sizeof(r->first_error),
			 "unknown key '%s'", name);
		r->failed = true;
		return 0;
	}
	const char *cause;
	if (key->set(r->table->target, value, &cause) < 0) {
		snprintf(r->first_error, sizeof(r->first_error),
			 "%s '%s': %s", name, value, cause);
		r->failed = true;
		return 0;
	}
	return 1;
}

int config_read_file(const struct config_table *t, const char *path,
		     bool missing_ok, struct config_error *err)
{
	if (missing_ok && access(path, F_OK) != 0 && errno == ENOENT)
		return 0;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err->text, sizeof(err->text), "cannot read %s: %s",
			 path, strerror(errno));
		return -1;
	}
	struct file_read r = {.table = t};
	int line = ini_parse_file(f, on_pair, &r);
	fclose(f);
	if (line == 0)
		return 0;
	if (!r.failed)
		snprintf(r.first_error, sizeof(r.first_error),
			 "not a KEY=VALUE line");
	snprintf(err->text, sizeof(err->text), "%s:%d: %s", path, line,
		 r.first_error);
	return -1;
}

int config_set(const struct config_table *t, const char *name,
	       const char *value, const char *origin, struct config_error *err)
{
	const struct config_key *key = find_key(t, name);
	const char *cause = "unknown setting";
	if (key != NULL && key->set(t->target, value, &cause) == 0)
		return 0;
	snprintf(err->text, sizeof(err->text), "%s '%s': %s", origin, value,
		 cause);
	return -1;
}

int config_read_env(const struct config_table *t, struct config_error *err)
{
	for (size_t i = 0; i < t->count; i++) {
		char var[64];
		snprintf(var, sizeof(var), "CHATROOM_%s", t->keys[i].name);
		const char *value = getenv(var);
		if (value != NULL && config_set(t, t->keys[i].name, value, var, err) < 0)
			return -1;
	}
	return 0;
}

int config_load(const struct config_table *t, const char *path, bool path_is_default,
		const char *const *option_values, const char *const *option_names,
		struct config_error *err)
{
	if (path != NULL && config_read_file(t, path, path_is_default, err) < 0)
		return -1;
	if (config_read_env(t, err) < 0)
		return -1;
	for (size_t i = 0; i < t->count; i++)
		if (option_values[i] != NULL &&
		    config_set(t, t->keys[i].name, option_values[i], option_names[i], err) < 0)
			return -1;
	return 0;
}

int config_parse_port(const char *value, int min, int *out, const char **cause)
{
	char *end;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < min || v > 65535) {
		*cause = min == 0 ? "invalid port (0-65535)" : "invalid port (1-65535)";
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

int config_parse_size(const char *value, size_t min, size_t *out,
		      const char **cause)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || value[0] == '-' || v < min) {
		*cause = "invalid size in bytes";
		return -EINVAL;
	}
	*out = (size_t)v;
	return 0;
}

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

int config_parse_double(const char *value, double min, double *out, const char **cause)
{
	char *end;
	errno = 0;
	double v = strtod(value, &end);
	/* strtod takes "inf" and "nan": a limit of inf is no limit at all. */
	if (errno != 0 || end == value || *end != '\0' || !isfinite(v) || v < min) {
		*cause = "invalid number (a finite one is needed)";
		return -EINVAL;
	}
	*out = v;
	return 0;
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
