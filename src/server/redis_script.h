/*
 * redis_script: calling a Lua script kept in Redis's script cache by its
 * SHA-1 (EVALSHA).
 *
 * The script is loaded (SCRIPT LOAD) at the start of every connection,
 * before the connection is ready, so that EVALSHA finds it. Not EVAL with
 * the body after a NOSCRIPT answer, as clients often do: with commands
 * pipelined, the retried call would run after the calls sent behind it,
 * and a sender's messages would be published out of order. A Redis that
 * forgets the script while connected (SCRIPT FLUSH, a failover) answers
 * NOSCRIPT: that call fails with UV_ECONNRESET and the connection is
 * reset, so the calls behind it fail too and nothing overtakes; the next
 * connection loads the script again.
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

/* Loads the script at the start of each connection of r (redis_add_setup).
 * 0, or a negative errno. */
int redis_script_load(struct redis *r, const struct redis_script *s);

/* Runs the script with nkeys keys then nargs arguments (argv; argvlen NULL
 * for C strings). cb is called exactly once, as redis_command_argv's; or
 * the call fails with its error and no callback. */
int redis_script_call(struct redis *r, const struct redis_script *s, int nkeys, int nargs,
		      const char *const *argv, const size_t *argvlen, redis_reply_cb cb,
		      void *data);

#endif
