#include "identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file: the secret in hex, one line. */
#define IDENTITY_HEX (2 * WIRE_TOKEN_LEN)

static int hex_value(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int read_identity(int fd, unsigned char out[WIRE_TOKEN_LEN])
{
	char hex[IDENTITY_HEX + 2];
	ssize_t n = read(fd, hex, sizeof(hex));
	if (n < IDENTITY_HEX)
		return -EINVAL;
	for (size_t i = 0; i < WIRE_TOKEN_LEN; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static int make_identity(const char *path, unsigned char out[WIRE_TOKEN_LEN])
{
	if (getrandom(out, WIRE_TOKEN_LEN, 0) != WIRE_TOKEN_LEN)
		return -EIO;
	char hex[IDENTITY_HEX + 2];
	for (size_t i = 0; i < WIRE_TOKEN_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", out[i]);
	hex[IDENTITY_HEX] = '\n';
	/* Written whole under another name, then renamed: never half a secret. */
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp); /* made anew, never through a planted link */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	bool ok = write(fd, hex, IDENTITY_HEX + 1) == IDENTITY_HEX + 1 && fsync(fd) == 0;
	int err = errno;
	close(fd);
	if (!ok || rename(tmp, path) < 0) {
		err = ok ? errno : err;
		unlink(tmp);
		return -err;
	}
	return 0;
}

int identity_load(unsigned char out[WIRE_TOKEN_LEN], char *path, size_t path_cap)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	char dir[4096];
	if (state != NULL && state[0] == '/')
		snprintf(dir, sizeof(dir), "%s/chatroom", state);
	else if (home != NULL && home[0] != '\0')
		snprintf(dir, sizeof(dir), "%s/.local/state/chatroom", home);
	else
		return -ENOENT;
	snprintf(path, path_cap, "%s/identity", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		int rc = read_identity(fd, out);
		close(fd);
		return rc;
	}
	if (errno != ENOENT)
		return -errno;
	/* First run: the directories, this one private. */
	char parent[4096];
	snprintf(parent, sizeof(parent), "%s", dir);
	for (char *p = parent + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(parent, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return make_identity(path, out);
}
