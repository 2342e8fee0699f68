/* tally: a run's report (tally.h). */
#include "tally.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procstat.h"

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, c = *(const uint64_t *)y;
	return a < c ? -1 : a > c;
}

static double pct_ms(struct tally *t, double q)
{
	if (t->sample_count == 0)
		return 0;
	size_t i = (size_t)(q * (double)(t->sample_count - 1));
	return (double)t->samples[i] / 1e6;
}

/* --samples: the raw samples, in the order they were heard. */
static int write_samples(struct tally *t, const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		perror(path);
		return 1;
	}
	for (size_t i = 0; i < t->sample_count; i++)
		fprintf(f, "%" PRIu32 " %" PRIu32 " %" PRIu64 " %" PRIu64 "\n", t->origins[i].receiver,
			t->origins[i].sender, t->origins[i].sent_ns - t->start_ns, t->samples[i]);
	if (fclose(f) != 0) {
		perror(path);
		return 1;
	}
	return 0;
}

int tally_report(struct tally *t, const struct bench_options *o, double *p95_ms)
{
	int rc = 0;
	if (strcmp(o->mode, "idle") == 0) {
		long rss = server_rss_kib(o->server_pid);
		double per = rss > 0 && t->rss_start > 0 ? (double)(rss - t->rss_start) * 1024.0 / o->n : -1;
		printf("%-10s %-14s %8s %16s\n", "mode", "target", "N", "RSS/connection");
		printf("%-10s %-14s %8d %14.0f B\n", o->mode, o->target, o->n, per);
		printf("RESULT mode=idle target=%s n=%d room_size=%d rss_kib_before=%ld rss_kib=%ld "
		       "rss_bytes_per_conn=%.0f\n", o->target, o->n, o->room_size, t->rss_start, rss, per);
		return 0;
	}
	double secs = (double)(t->stop_ns - t->start_ns) / 1e9;
	double cpu = server_cpu(o->server_pid) - t->cpu_start;
	uint64_t expected = t->sent * t->expected_per_message;
	long long lost = (long long)expected - (long long)t->delivered;
	if (t->origins != NULL)
		rc = write_samples(t, o->samples_path);
	qsort(t->samples, t->sample_count, sizeof(*t->samples), cmp_u64);
	double cpu_ns = o->server_pid > 0 && t->delivered ? cpu * 1e9 / (double)t->delivered : -1;
	if (strcmp(o->mode, "rtt") == 0) {
		*p95_ms = t->sample_count > 0 ? pct_ms(t, 0.95) : -1;
		printf("%-10s %-14s %6s %4s %9s %9s %9s %9s %9s\n", "mode", "target", "N", "S",
		       "min ms", "p50 ms", "p95 ms", "p99 ms", "max ms");
		printf("%-10s %-14s %6d %4d %9.2f %9.2f %9.2f %9.2f %9.2f\n", o->mode, o->target,
		       o->n, o->s, pct_ms(t, 0), pct_ms(t, 0.5), pct_ms(t, 0.95), pct_ms(t, 0.99),
		       pct_ms(t, 1));
		printf("RESULT mode=rtt target=%s n=%d s=%d broadcasts=%zu min_ms=%.3f p50_ms=%.3f "
		       "p95_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", o->target, o->n, o->s, t->sample_count,
		       pct_ms(t, 0), pct_ms(t, 0.5), pct_ms(t, 0.95), pct_ms(t, 0.99), pct_ms(t, 1));
		return rc;
	}
	printf("%-10s %-14s %6s %4s %4s %12s %10s %12s %12s %6s %8s %8s %8s %8s %10s\n", "mode",
	       "target", "N", "S", "W", "deliveries/s", "sent/s", "expected", "received", "lost",
	       "p50 ms", "p95 ms", "p99 ms", "max ms", "ns/deliv");
	printf("%-10s %-14s %6d %4d %4d %12.0f %10.0f %12" PRIu64 " %12" PRIu64 " %6lld %8.2f "
	       "%8.2f %8.2f %8.2f %10.0f\n", o->mode, o->target, o->n, o->s, o->window,
	       (double)t->delivered / secs, (double)t->sent / secs, expected, t->delivered, lost,
	       pct_ms(t, 0.5), pct_ms(t, 0.95), pct_ms(t, 0.99), pct_ms(t, 1), cpu_ns);
	printf("RESULT mode=throughput target=%s n=%d s=%d window=%d size=%d seconds=%.2f "
	       "deliveries_per_s=%.0f sent_per_s=%.0f expected=%" PRIu64 " received=%" PRIu64
	       " lost=%lld p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f max_ms=%.3f cpu_ns_per_delivery=%.0f\n",
	       o->target, o->n, o->s, o->window, o->size, secs, (double)t->delivered / secs,
	       (double)t->sent / secs, expected, t->delivered, lost, pct_ms(t, 0.5),
	       pct_ms(t, 0.95), pct_ms(t, 0.99), pct_ms(t, 1), cpu_ns);
	return lost != 0 ? 3 : rc;
}

