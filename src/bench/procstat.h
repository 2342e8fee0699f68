/*
 * procstat: what /proc tells of the server under test: its CPU time and
 * its resident memory. -1 when unknown (no pid, or the process is gone).
 */
#ifndef CHATROOM_BENCH_PROCSTAT_H
#define CHATROOM_BENCH_PROCSTAT_H

/* User + system CPU seconds so far. */
double server_cpu(int pid);
/* Resident set size, KiB. */
long server_rss_kib(int pid);

#endif
