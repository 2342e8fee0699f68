/*
 * redis_script: calling a Lua script kept in Redis's script cache: EVALSHA
 * by its SHA-1, and EVAL with the whole body when Redis answers NOSCRIPT
 * (a restarted or flushed server), which caches it again.
 *
 * The struct is its owner's (usually static), as is the body it points to.
 */
#ifndef CHATROOM_REDIS_SCRIPT_H
#define CHATROOM_REDIS_SCRIPT_H

#include <stddef.h>

#include "redis.h"

struct redis_script {
	const char *body;
	size_t len;
	char sha[41]; /* hex SHA-1 of the body, as EVALSHA wants it */
};

void redis_script_init(struct redis_script *s, const char *body, size_t len);

/* Runs the script with nkeys keys then nargs arguments (argv; argvlen NULL
 * for C strings). The arguments are copied: they need not outlive the
 * call. cb is called exactly once with the final answer (after the EVAL
 * retry), as redis_command_argv's; or the call fails with its error and no
 * callback. */
int redis_script_call(struct redis *r, const struct redis_script *s, int nkeys, int nargs,
		      const char *const *argv, const size_t *argvlen, redis_reply_cb cb,
		      void *data);

#endif
