#include "textlog.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

int textlog_open(struct textlog *log, uv_loop_t *loop, const char *path)
{
	int rc = appender_open(&log->file, loop, path);
	log->open = rc == 0;
	return rc;
}

void textlog_line(struct textlog *log, int64_t time_ms, const char *tag,
		  const char *text, size_t len)
{
	if (!log->open)
		return;
	if (time_ms == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	}
	time_t secs = (time_t)(time_ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char head[96];
	size_t n = strftime(head, sizeof(head), "%Y-%m-%dT%H:%M:%S", &tm);
	int more = snprintf(head + n, sizeof(head) - n, ".%03dZ %s ",
			    (int)(time_ms % 1000), tag);
	if (more > 0)
		n += (size_t)more < sizeof(head) - n ? (size_t)more : sizeof(head) - n - 1;
	bool newline = len > 0 && text[len - 1] == '\n';
	if (appender_append(&log->file, head, n, 0) < 0 ||
	    appender_append(&log->file, text, len, 0) < 0 ||
	    (!newline && appender_append(&log->file, "\n", 1, 0) < 0))
		log_warn("out of memory: a line for %s was dropped", log->file.path);
}

void textlog_kick(struct textlog *log)
{
	if (log->open)
		appender_kick(&log->file);
}

void textlog_reopen(struct textlog *log)
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

void textlog_tick(struct textlog *log)
{
	if (!log->open)
		return;
	appender_retry(&log->file);
	if (log->reopen_wanted)
		textlog_reopen(log);
}

void textlog_close(struct textlog *log)
{
	if (!log->open)
		return;
	appender_close(&log->file, false);
	log->open = false;
}
