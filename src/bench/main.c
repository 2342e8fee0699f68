/*
 * chatroom-bench: a load generator for chatroom-server and, for comparison,
 * redis-server's pub/sub, on one libuv loop.
 *
 *   throughput  N subscribers in one room, S publishers each with at most W
 *               messages in flight (until one receiver, its probe, has heard
 *               a message; with --ack all, every receiver), for D seconds:
 *               deliveries/s, expected and received (lost), latency from a
 *               send timestamp carried
 *               in each message, and the server's CPU time per delivery;
 *   rtt         S broadcasts at a time, each timed until all receivers have
 *               it (websocket-shootout style);
 *   idle        N users who join and then say nothing: the server's RSS
 *               per connection.
 *
 * Each run prints a table and a last machine-readable line beginning with
 * RESULT. main.c reads the command line and checks it; bench.c runs.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "adapter.h"
#include "bench.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: chatroom-bench MODE [options]     MODE: throughput | rtt | idle\n"
		"  -t, --target T      chatroom (binary), chatroom-text or redis (default chatroom)\n"
		"  -a, --host ADDR     server address (127.0.0.1)\n"
		"  -p, --port PORT     server port (8888)\n"
		"  -N, --nodes P,P,... a cluster's nodes on ADDR: connections spread over them\n"
		"  -n, --clients N     subscribers (1000)\n"
		"  -s, --senders S     publishers (10)\n"
		"  -w, --window W      messages in flight per publisher (16)\n"
		"  -b, --size B        message size in bytes (64)\n"
		"  -d, --seconds D     measured time (5)\n"
		"      --ack WHO       throughput: a message leaves its sender's window once\n"
		"                      heard by one receiver (probe, the default) or by all\n"
		"  -P, --server-pid P  for CPU per delivery and RSS\n"
		"      --step          rtt: double N (from -n) until p95 passes the bound\n"
		"      --bound MS      the p95 bound for --step (250)\n"
		"      --max-clients N the largest N --step tries (19000)\n"
		"  -r, --room-size N   idle: users per room, 0 for all in one (100)\n"
		"      --tls           over TLS (to the server's TLS port), verified against\n"
		"      --ca FILE       this CA file (else the system's; the name is ADDR), or\n"
		"      --tls-pin SHA256:...  this key alone\n"
		"      --samples FILE  throughput: write every latency sample (one\n"
		"                      delivery in eight) to FILE, a line each: receiver\n"
		"                      index, sender index, send time (ns since the start)\n"
		"                      and latency (ns), separated by spaces\n"
		"  -h, --help          this help\n"
		"      --version       the version\n");
}

/* rtt --step: N grows until the p95 passes the bound; the largest N under
 * it is the figure. */
static int run_steps(struct bench_options o)
{
	int best = 0;
	for (int n = o.n; n <= o.max_n; n = n * 2 > o.max_n && n < o.max_n ? o.max_n : n * 2) {
		o.n = n;
		double p95;
		int code = bench_run(&o, &p95);
		fflush(stdout);
		if (code != 0 || p95 < 0 || p95 > o.bound_ms)
			break;
		best = n;
	}
	printf("RESULT mode=rtt-step target=%s s=%d bound_ms=%.0f largest_n=%d\n", o.target, o.s,
	       o.bound_ms, best);
	return best > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct bench_options o = {.target = "chatroom", .host = "127.0.0.1", .port = 8888, .n = 1000,
			    .s = 10, .window = 16, .size = 64, .seconds = 5, .bound_ms = 250,
			    .max_n = 19000, .room_size = 100};
	static const struct option opts[] = {
		{"target", 1, NULL, 't'}, {"host", 1, NULL, 'a'}, {"port", 1, NULL, 'p'},
		{"clients", 1, NULL, 'n'}, {"senders", 1, NULL, 's'}, {"window", 1, NULL, 'w'},
		{"size", 1, NULL, 'b'}, {"seconds", 1, NULL, 'd'}, {"server-pid", 1, NULL, 'P'},
		{"step", 0, NULL, 'S'}, {"bound", 1, NULL, 'B'}, {"max-clients", 1, NULL, 'M'},
		{"room-size", 1, NULL, 'r'}, {"nodes", 1, NULL, 'N'}, {"tls", 0, NULL, 'T'},
		{"ca", 1, NULL, 'C'}, {"tls-pin", 1, NULL, 'K'},
		{"samples", 1, NULL, 'D'}, {"ack", 1, NULL, 'A'},
		{"help", 0, NULL, 'h'}, {"version", 0, NULL, 'V'}, {NULL, 0, NULL, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "t:a:p:N:n:s:w:b:d:P:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': o.target = optarg; break;
		case 'a': o.host = optarg; break;
		case 'p': o.port = (int)strtol(optarg, NULL, 10); break;
		case 'N': o.nodes = optarg; break;
		case 'n': o.n = (int)strtol(optarg, NULL, 10); break;
		case 's': o.s = (int)strtol(optarg, NULL, 10); break;
		case 'w': o.window = (int)strtol(optarg, NULL, 10); break;
		case 'b': o.size = (int)strtol(optarg, NULL, 10); break;
		case 'd': o.seconds = strtod(optarg, NULL); break;
		case 'P': o.server_pid = (int)strtol(optarg, NULL, 10); break;
		case 'S': o.step = true; break;
		case 'B': o.bound_ms = strtod(optarg, NULL); break;
		case 'M': o.max_n = (int)strtol(optarg, NULL, 10); break;
		case 'r': o.room_size = (int)strtol(optarg, NULL, 10); break;
		case 'T': o.tls = true; break;
		case 'C': o.ca = optarg; break;
		case 'K': o.pin = optarg; break;
		case 'D': o.samples_path = optarg; break;
		case 'A':
			if (strcmp(optarg, "all") && strcmp(optarg, "probe")) {
				fprintf(stderr, "chatroom-bench: --ack is probe or all\n");
				return 2;
			}
			o.ack_all = strcmp(optarg, "all") == 0;
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("chatroom-bench %s\n", CHATROOM_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	o.mode = argv[optind];
	if (adapter_find(o.target) == NULL || (strcmp(o.mode, "throughput") && strcmp(o.mode, "rtt") &&
					       strcmp(o.mode, "idle")) || o.n < 2 || o.s < 1 ||
	    o.window < 1 || o.size < BENCH_MIN_SIZE || o.seconds <= 0 || o.room_size < 0 ||
	    (o.step && strcmp(o.mode, "rtt"))) {
		fprintf(stderr, "chatroom-bench: bad mode, target or numbers\n");
		usage(stderr);
		return 2;
	}
	if (strcmp(o.mode, "idle") == 0)
		o.s = 0;
	/* Every connection is a descriptor: take all the system allows. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		int most = (o.step ? o.max_n : o.n) + o.s;
		if (most + 16 > (int)rl.rlim_cur) {
			fprintf(stderr, "chatroom-bench: %d connections need more than the %ld "
				"descriptors this process may open\n", most, (long)rl.rlim_cur);
			return 2;
		}
	}
	if (o.step)
		return run_steps(o);
	double p95;
	return bench_run(&o, &p95);
}

