#include "log.h"

#include <stdarg.h>
#include <sys/time.h>
#include <time.h>

static FILE *log_out;
static enum log_level log_threshold = LOG_INFO;

static const char *const level_names[] = {"DEBUG", "INFO", "NOTICE", "WARN", "ERROR"};

void log_init(FILE *out, enum log_level threshold)
{
	log_out = out;
	log_threshold = threshold;
	/* Line-buffered so a supervisor (or a test) sees each line at once. */
	setvbuf(out, NULL, _IOLBF, 0);
}

int log_enabled(enum log_level level)
{
	return level >= log_threshold;
}

void log_write(enum log_level level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	FILE *out = log_out ? log_out : stdout;

	struct timeval now;
	gettimeofday(&now, NULL);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	char stamp[32];
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

	flockfile(out);
	fprintf(out, "%s.%03ldZ %-6s ", stamp, (long)(now.tv_usec / 1000),
		level_names[level]);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	funlockfile(out);
}
