#include "chatlog.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "frame.h"
#include "log.h"

int chatlog_open(struct chatlog *log, uv_loop_t *loop, const char *path)
{
	int rc = appender_open(&log->file, loop, path);
	log->open = rc == 0;
	return rc;
}

static size_t iso_time(int64_t ms, char *buf, size_t len)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	int more = snprintf(buf + n, len - n, ".%03dZ", (int)(ms % 1000));
	return more > 0 ? n + (size_t)more : n;
}

static void append_line(struct chatlog *log, int64_t ms, const char *room,
			const char *text, size_t len)
{
	char head[80];
	size_t n = iso_time(ms, head, sizeof(head));
	int m = snprintf(head + n, sizeof(head) - n, " [%s] ", room);
	if (m > 0)
		n += (size_t)m < sizeof(head) - n ? (size_t)m : sizeof(head) - n - 1;
	if (appender_append(&log->file, head, n, 0) < 0 ||
	    appender_append(&log->file, text, len, 0) < 0)
		log_warn("out of memory: a conversation log line was dropped");
}

void chatlog_event(struct chatlog *log, const struct event *ev)
{
	if (!log->open)
		return;
	/* The same words the text peers read, '\n' included. */
	struct frame *f = event_text_frame(ev);
	if (f != NULL)
		append_line(log, ev->time_ms, ev->room, f->data, f->len);
	frame_unref(f);
}

void chatlog_note(struct chatlog *log, const char *text)
{
	if (!log->open)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char line[256];
	int n = snprintf(line, sizeof(line), "%s\n", text);
	if (n > 0)
		append_line(log, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, "-",
			    line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void chatlog_kick(struct chatlog *log)
{
	if (log->open)
		appender_kick(&log->file);
}

void chatlog_reopen(struct chatlog *log)
{
	if (!log->open)
		return;
	int rc = appender_reopen(&log->file);
	if (rc == UV_EBUSY) {
		log->reopen_wanted = true;
		return;
	}
	log->reopen_wanted = false;
	if (rc < 0)
		log_error("%s: cannot reopen: %s", log->file.path, uv_strerror(rc));
	else
		log_info("%s reopened", log->file.path);
}

void chatlog_tick(struct chatlog *log)
{
	if (!log->open)
		return;
	appender_retry(&log->file);
	if (log->reopen_wanted)
		chatlog_reopen(log);
}

void chatlog_close(struct chatlog *log)
{
	if (!log->open)
		return;
	appender_close(&log->file, false);
	log->open = false;
}
