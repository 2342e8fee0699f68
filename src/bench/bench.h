/*
 * bench: one run of chatroom-bench (bench.c): its connections, the
 * messages timed, and its table and RESULT line. main.c reads the
 * command line and runs it, once or for N growing (--step).
 */
#ifndef CHATROOM_BENCH_H
#define CHATROOM_BENCH_H

#include <stdbool.h>

/* The smallest -b: a payload's header (bench.c) fits in it. */
#define BENCH_MIN_SIZE 40

struct bench_options {
	const char *mode, *target, *host;
	const char *nodes; /* "PORT,PORT,...": a cluster's nodes on host; NULL: port */
	int port, n, s, window, size, server_pid;
	double seconds;
	bool step;        /* rtt: grow N until p95 passes bound_ms */
	double bound_ms;
	int max_n;
	int room_size;    /* idle: users per room (0: all in the bench's room) */
	bool tls;         /* --tls: verified against ca, or the key pinned */
	const char *ca, *pin;
	const char *samples_path; /* --samples: every latency sample, raw */
	bool ack_all;     /* --ack all: a message leaves the window once all have it */
};

/* One run of o->mode with o->n subscribers. Returns the exit code; the
 * rtt p95 goes to *p95_ms. */
int bench_run(const struct bench_options *o, double *p95_ms);

#endif
