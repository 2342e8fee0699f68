/*
 * log: the console log of a program, one line per event, prefixed with an
 * ISO 8601 UTC time and a level. Callers pass text that is already
 * sanitised (see sanitize.h); the level threshold is process-wide because a
 * log is, by nature, one per process.
 */
#ifndef CHATROOM_LOG_H
#define CHATROOM_LOG_H

#include <stdio.h>

/* NOTICE is for the few lines a quiet console still shows (start, stop). */
enum log_level { LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARN, LOG_ERROR };

/* Lines go to `out` (stdout by default), line-buffered. */
void log_init(FILE *out, enum log_level threshold);
int log_enabled(enum log_level level);
void log_write(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_debug(...) \
	do { if (log_enabled(LOG_DEBUG)) log_write(LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_write(LOG_NOTICE, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

#endif
