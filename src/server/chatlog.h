/*
 * chatlog: the server's conversation log file (default
 * /var/log/chat_room/server.log): every message, arrival, departure and
 * return, one line each, with its ISO 8601 time and room. Lines are built
 * from sanitised text only. Written in batches off the loop thread (see
 * appender.h); SIGHUP reopens it for logrotate.
 */
#ifndef CHATROOM_CHATLOG_H
#define CHATROOM_CHATLOG_H

#include <stdbool.h>

#include "appender.h"
#include "event.h"

struct chatlog {
	struct appender file;
	bool open;
	bool reopen_wanted; /* SIGHUP came while a batch was under way */
};

/* 0, or a UV_E* code. */
int chatlog_open(struct chatlog *log, uv_loop_t *loop, const char *path);
void chatlog_event(struct chatlog *log, const struct event *ev);
/* A line of its own (start, stop); `text` must be safe. */
void chatlog_note(struct chatlog *log, const char *text);
/* Once per loop turn: write what is pending. */
void chatlog_kick(struct chatlog *log);
/* Once a second: retry a failed write, do a deferred reopen. */
void chatlog_tick(struct chatlog *log);
/* For logrotate: write to a fresh file of the same name. */
void chatlog_reopen(struct chatlog *log);
/* Once uv_run has returned: nothing is on the thread pool any more. */
void chatlog_close(struct chatlog *log);

#endif
