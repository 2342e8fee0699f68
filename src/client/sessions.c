#include "sessions.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "textproto.h"

struct entry {
	char server[300];
	char pseudo[TEXT_MAX_PSEUDO + 1];
	unsigned char token[WIRE_TOKEN_LEN];
};

const char *sessions_path(char *buf, size_t len)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	if (state != NULL && state[0] == '/')
		snprintf(buf, len, "%s/chatroom/sessions", state);
	else if (home != NULL && home[0] != '\0')
		snprintf(buf, len, "%s/.local/state/chatroom/sessions", home);
	else
		return NULL;
	return buf;
}

static int hex_value(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One line into e; false for a line that is not one of ours. */
static bool parse(char *line, struct entry *e)
{
	char *tab1 = strchr(line, '\t');
	char *tab2 = tab1 != NULL ? strchr(tab1 + 1, '\t') : NULL;
	if (tab2 == NULL || (size_t)(tab1 - line) >= sizeof(e->server) ||
	    (size_t)(tab2 - tab1 - 1) > TEXT_MAX_PSEUDO || tab2 == tab1 + 1 ||
	    strlen(tab2 + 1) != 2 * WIRE_TOKEN_LEN)
		return false;
	snprintf(e->server, sizeof(e->server), "%.*s", (int)(tab1 - line), line);
	snprintf(e->pseudo, sizeof(e->pseudo), "%.*s", (int)(tab2 - tab1 - 1), tab1 + 1);
	const char *hex = tab2 + 1;
	for (size_t i = 0; i < WIRE_TOKEN_LEN; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		e->token[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

/* The entries of the file, newest first; how many. */
static size_t load(const char *path, struct entry *out, size_t max)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	size_t n = 0, read = 0;
	char line[512];
	while (n < max && read < SESSIONS_FILE_MAX && fgets(line, sizeof(line), f) != NULL) {
		size_t len = strlen(line);
		read += len;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (parse(line, &out[n]))
			n++;
	}
	fclose(f);
	return n;
}

static bool same(const struct entry *e, const char *server, const char *pseudo)
{
	return strcmp(e->server, server) == 0 && strcmp(e->pseudo, pseudo) == 0;
}

bool sessions_find(const char *path, const char *server, const char *pseudo,
		   unsigned char token[WIRE_TOKEN_LEN])
{
	struct entry *entries = calloc(SESSIONS_MAX, sizeof(*entries));
	if (entries == NULL)
		return false;
	size_t n = load(path, entries, SESSIONS_MAX);
	bool found = false;
	for (size_t i = 0; i < n && !found; i++) {
		if (same(&entries[i], server, pseudo)) {
			memcpy(token, entries[i].token, WIRE_TOKEN_LEN);
			found = true;
		}
	}
	free(entries);
	return found;
}

/* mkdir -p of the file's directories, 0700 (the XDG base directories are
 * to be 0700, and ours holds secrets); ours is tightened if it is not. */
static int make_dirs(const char *path)
{
	char dir[4096];
	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	char *last = strrchr(dir, '/');
	if (last == NULL || last == dir)
		return -EINVAL;
	*last = '\0';
	for (char *p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return chmod(dir, 0700) < 0 ? -errno : 0;
}

static void put_entry(FILE *f, const char *server, const char *pseudo,
		      const unsigned char *token)
{
	fprintf(f, "%s\t%s\t", server, pseudo);
	for (size_t i = 0; i < WIRE_TOKEN_LEN; i++)
		fprintf(f, "%02x", token[i]);
	fputc('\n', f);
}

int sessions_store(const char *path, const char *server, const char *pseudo,
		   const unsigned char token[WIRE_TOKEN_LEN])
{
	/* Nothing that would break a line or a field. */
	if (strpbrk(server, "\t\n") != NULL || strpbrk(pseudo, "\t\n") != NULL ||
	    strlen(server) >= sizeof(((struct entry *)0)->server) || strlen(pseudo) > TEXT_MAX_PSEUDO)
		return -EINVAL;
	int rc = make_dirs(path);
	if (rc < 0)
		return rc;
	struct entry *entries = calloc(SESSIONS_MAX, sizeof(*entries));
	if (entries == NULL)
		return -ENOMEM;
	size_t n = load(path, entries, SESSIONS_MAX);
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	int fd = mkstemp(tmp); /* 0600 */
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		free(entries);
		return rc;
	}
	size_t kept = 0;
	if (token != NULL) {
		put_entry(f, server, pseudo, token);
		kept++;
	}
	for (size_t i = 0; i < n && kept < SESSIONS_MAX; i++) {
		if (same(&entries[i], server, pseudo))
			continue;
		put_entry(f, entries[i].server, entries[i].pseudo, entries[i].token);
		kept++;
	}
	free(entries);
	bool failed = fflush(f) != 0 || fsync(fd) != 0;
	rc = failed ? -errno : 0;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}
