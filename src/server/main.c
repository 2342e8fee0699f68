/*
 * chatroom-server: the chat room's event-driven TCP server.
 *
 * One libuv loop, one struct server made here; see server.h and
 * docs/architecture.md for who owns what.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "log.h"
#include "server.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: chatroom-server [-a ADDRESS] [-p PORT] [options]\n"
		"\n"
		"  -a, --address ADDR      listen address (default 127.0.0.1)\n"
		"  -p, --port PORT         listen port (default %d; 0 picks a free one)\n"
		"      --max-queue BYTES   drop a peer with more than this waiting (default %u)\n"
		"  -v, --verbose           debug logging\n"
		"  -q, --quiet             warnings and errors only\n"
		"  -h, --help              this help\n",
		SERVER_DEFAULT_PORT, SERVER_DEFAULT_MAX_QUEUE);
}

/* Parses a whole decimal number in [min, max]; 0 on success. */
static int parse_number(const char *text, long long min, long long max,
			long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	struct server_config cfg = {
		.address = "127.0.0.1",
		.port = SERVER_DEFAULT_PORT,
		.max_queue_bytes = SERVER_DEFAULT_MAX_QUEUE,
		.partial_delay_ms = SERVER_DEFAULT_PARTIAL_DELAY_MS,
		.drain_timeout_ms = SERVER_DEFAULT_DRAIN_TIMEOUT_MS,
	};
	enum log_level level = LOG_INFO;

	enum { OPT_MAX_QUEUE = 256 };
	static const struct option options[] = {
		{"address", required_argument, NULL, 'a'},
		{"port", required_argument, NULL, 'p'},
		{"max-queue", required_argument, NULL, OPT_MAX_QUEUE},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt;
	long long n;
	while ((opt = getopt_long(argc, argv, "a:p:vqh", options, NULL)) != -1) {
		switch (opt) {
		case 'a':
			cfg.address = optarg;
			break;
		case 'p':
			if (parse_number(optarg, 0, 65535, &n) < 0) {
				fprintf(stderr, "chatroom-server: invalid port '%s' (0-65535)\n", optarg);
				return 2;
			}
			cfg.port = (int)n;
			break;
		case OPT_MAX_QUEUE:
			if (parse_number(optarg, 1024, LLONG_MAX, &n) < 0) {
				fprintf(stderr, "chatroom-server: invalid --max-queue '%s' (at least 1024)\n", optarg);
				return 2;
			}
			cfg.max_queue_bytes = (size_t)n;
			break;
		case 'v':
			level = LOG_DEBUG;
			break;
		case 'q':
			level = LOG_WARN;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "chatroom-server: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	log_init(stdout, level);

	uv_loop_t loop;
	uv_loop_init(&loop);
	/* The server struct holds the 64 KiB read buffer: keep it off the stack. */
	struct server *server = malloc(sizeof(*server));
	if (server == NULL) {
		fprintf(stderr, "chatroom-server: out of memory\n");
		return 1;
	}
	const char *cause = NULL;
	int rc = server_start(server, &loop, &cfg, &cause);
	if (rc < 0) {
		fprintf(stderr, "chatroom-server: cannot listen on %s:%d: %s\n",
			cfg.address, cfg.port, cause);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		free(server);
		return 1;
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	rc = uv_loop_close(&loop);
	free(server);
	if (rc != 0) {
		fprintf(stderr, "chatroom-server: loop closed with handles open\n");
		return 1;
	}
	return 0;
}
