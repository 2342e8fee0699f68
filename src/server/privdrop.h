/*
 * privdrop: from root to an ordinary user, once the port and the files
 * are open (--user NAME). A server started as root decodes pictures from
 * strangers; it should not do so as root.
 *
 * No state: the process's credentials are the only thing changed.
 */
#ifndef CHATROOM_PRIVDROP_H
#define CHATROOM_PRIVDROP_H

#include <stddef.h>

/* 0 when the user exists, else -ENOENT with a static *cause. */
int privdrop_check_user(const char *name, const char **cause);

/*
 * Becomes user `name`: gives it the regular files among fds (those the
 * process keeps writing, so a reopen or a rewrite works as that user
 * too), then its groups, group and user ID, in that order, and checks
 * root cannot be had back. Already that user: nothing to do. 0, or a
 * negative errno with the reason in why.
 */
int privdrop_become(const char *name, const int *fds, size_t n_fds, char *why,
		    size_t why_len);

#endif
