#include "procstat.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The server's CPU seconds (utime + stime), -1 when unknown. */
double server_cpu(int pid)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = pid > 0 ? fopen(path, "r") : NULL;
	if (f == NULL)
		return -1;
	double cpu = -1;
	if (fgets(line, sizeof(line), f) != NULL) {
		char *p = strrchr(line, ')');
		unsigned long ut, st;
		if (p != NULL && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
					&ut, &st) == 2)
			cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	}
	fclose(f);
	return cpu;
}

long server_rss_kib(int pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = pid > 0 ? fopen(path, "r") : NULL;
	long kib = -1;
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return kib;
}
