#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int privdrop_check_user(const char *name, const char **cause)
{
	if (getpwnam(name) == NULL) {
		*cause = "no such user";
		return -ENOENT;
	}
	return 0;
}

static int fail(char *why, size_t why_len, const char *what, int err)
{
	snprintf(why, why_len, "%s: %s", what, strerror(err));
	return -err;
}

int privdrop_become(const char *name, const int *fds, size_t n_fds, char *why,
		    size_t why_len)
{
	errno = 0;
	const struct passwd *pw = getpwnam(name);
	if (pw == NULL)
		return fail(why, why_len, "no such user", errno ? errno : ENOENT);
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	if (getuid() == uid && geteuid() == uid && getgid() == gid && getegid() == gid)
		return 0;
	if (geteuid() != 0)
		return fail(why, why_len, "only root may become another user", EPERM);
	for (size_t i = 0; i < n_fds; i++) {
		struct stat st;
		/* Not /dev/null, nor anything else shared. */
		if (fds[i] >= 0 && fstat(fds[i], &st) == 0 && S_ISREG(st.st_mode) &&
		    fchown(fds[i], uid, gid) < 0)
			return fail(why, why_len, "cannot give it the files", errno);
	}
	/* Groups first: once the user ID is given up, they no longer can be. */
	if (initgroups(pw->pw_name, gid) < 0)
		return fail(why, why_len, "setgroups", errno);
	if (setgid(gid) < 0)
		return fail(why, why_len, "setgid", errno);
	if (setuid(uid) < 0)
		return fail(why, why_len, "setuid", errno);
	if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid)
		return fail(why, why_len, "the IDs did not change", EPERM);
	if (uid != 0 && setuid(0) == 0)
		return fail(why, why_len, "root could be had back", EPERM);
	return 0;
}
