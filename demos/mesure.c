/*
 * mesure FILE: times web_sync_multiple and web_async_multiple on the same
 * list of URLs and prints both wall times and the speed-up. Both programs
 * are run from the directory mesure itself lives in.
 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs DIR/program with the same arguments; returns seconds, or -1. */
static double timed_run(const char *dir, const char *program, char **args, int *status)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, program);
	double start = now();
	pid_t pid = fork();
	if (pid == 0) {
		args[0] = path;
		int devnull = open("/dev/null", 1);
		if (devnull >= 0)
			dup2(devnull, STDOUT_FILENO); /* the timing is what we show */
		execv(path, args);
		perror(path);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, status, 0) < 0)
		return -1;
	return now() - start;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: mesure [-o DIR] FILE\n");
		return 2;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		perror("mesure: /proc/self/exe");
		return 1;
	}
	self[n] = '\0';
	const char *dir = dirname(self);
	int sync_status, async_status;
	double sync_s = timed_run(dir, "web_sync_multiple", argv, &sync_status);
	double async_s = timed_run(dir, "web_async_multiple", argv, &async_status);
	if (sync_s < 0 || async_s < 0) {
		fprintf(stderr, "mesure: could not run the downloads\n");
		return 1;
	}
	printf("sync  : %.3f s\n", sync_s);
	printf("async : %.3f s\n", async_s);
	printf("speed-up : %.1fx\n", async_s > 0 ? sync_s / async_s : 0.0);
	return (WIFEXITED(sync_status) && WEXITSTATUS(sync_status) == 0 &&
		WIFEXITED(async_status) && WEXITSTATUS(async_status) == 0) ? 0 : 1;
}
