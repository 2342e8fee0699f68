/*
 * textlog: a log file of timestamped text lines (the server's conversation
 * log, the client's). Each line starts with its ISO 8601 UTC time; callers
 * pass sanitised text only. Written in batches off the loop thread (see
 * appender.h); textlog_reopen serves SIGHUP and logrotate.
 */
#ifndef CHATROOM_TEXTLOG_H
#define CHATROOM_TEXTLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "appender.h"

struct textlog {
	struct appender file;
	bool open;
	bool reopen_wanted; /* asked for while a batch was under way */
};

/* 0, or a UV_E* code. */
int textlog_open(struct textlog *log, uv_loop_t *loop, const char *path);
/* One line: "<time> <tag> <text>"; text may end in '\n' (added if not).
 * time_ms 0 means now. */
void textlog_line(struct textlog *log, int64_t time_ms, const char *tag,
		  const char *text, size_t len);
/* Once per loop turn: write what is pending. */
void textlog_kick(struct textlog *log);
/* Once a second: retry a failed write, do a deferred reopen. */
void textlog_tick(struct textlog *log);
/* For logrotate: write to a fresh file of the same name. */
void textlog_reopen(struct textlog *log);
/* Once uv_run has returned: nothing is on the thread pool any more. */
void textlog_close(struct textlog *log);

#endif
