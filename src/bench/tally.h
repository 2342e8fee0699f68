/*
 * tally: what one run of chatroom-bench counted (messages sent, deliveries
 * heard, latency samples, the server's CPU and memory at the start) and
 * its report, the table and the RESULT line. bench.c fills it.
 */
#ifndef CHATROOM_BENCH_TALLY_H
#define CHATROOM_BENCH_TALLY_H

#include <stddef.h>
#include <stdint.h>

#include "bench.h"

/* A latency sample's receiver, sender and send time, for --samples. */
struct sample_origin {
	uint32_t receiver, sender;
	uint64_t sent_ns;
};

struct tally {
	uint64_t sent, delivered, expected_per_message;
	uint64_t *samples;
	size_t sample_count, sample_cap;
	struct sample_origin *origins; /* --samples: whose each sample is */
	uint64_t start_ns, stop_ns;    /* the measured seconds */
	double cpu_start;              /* the server's CPU seconds at start_ns */
	long rss_start;                /* idle: the server's VmRSS before the joins */
};

/* Prints the run of o (and writes --samples); sorts the samples. Returns
 * 0, 3 when deliveries were lost, 1 when the samples could not be written;
 * an rtt run's p95 goes to *p95_ms. */
int tally_report(struct tally *t, const struct bench_options *o, double *p95_ms);

#endif
