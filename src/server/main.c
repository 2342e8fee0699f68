/*
 * chatroom-server: the chat room's event-driven TCP server.
 *
 * One libuv loop, one struct server made here; see server.h and
 * docs/architecture.md for who owns what. Settings come from options, then
 * CHATROOM_* environment variables, then the config file, then defaults.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "config.h"
#include "log.h"
#include "server.h"

#define DEFAULT_CONFIG_FILE "/etc/chatroom/server.conf"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: chatroom-server [-a ADDRESS] [-p PORT] [-c FILE] [options]\n"
		"\n"
		"  -a, --address ADDR      listen address (HOST=, default 127.0.0.1)\n"
		"  -p, --port PORT         listen port (PORT=, default %d; 0 picks a free one)\n"
		"  -c, --config FILE       settings file (default " DEFAULT_CONFIG_FILE ")\n"
		"      --max-queue BYTES   drop a peer with more than this unread\n"
		"                          (MAX_QUEUE=, default %u)\n"
		"  -v, --verbose           debug logging\n"
		"  -q, --quiet             warnings and errors only\n"
		"  -h, --help              this help\n"
		"      --version           the version\n"
		"\n"
		"The file holds KEY=VALUE lines (HOST=127.0.0.1, PORT=9999, MAX_QUEUE=...);\n"
		"CHATROOM_HOST, CHATROOM_PORT, CHATROOM_MAX_QUEUE override it, options\n"
		"override both.\n",
		SERVER_DEFAULT_PORT, SERVER_DEFAULT_MAX_QUEUE);
}

/* Room for an address given in a file or the environment, which do not
 * outlive their parsing. */
struct settings {
	struct server_config server;
	char address[256];
};

static int set_host(void *target, const char *value, const char **cause)
{
	struct settings *s = target;
	if (value[0] == '\0' || strlen(value) >= sizeof(s->address)) {
		*cause = "invalid address";
		return -EINVAL;
	}
	snprintf(s->address, sizeof(s->address), "%s", value);
	s->server.address = s->address;
	return 0;
}

static int set_port(void *target, const char *value, const char **cause)
{
	struct settings *s = target;
	return config_parse_port(value, 0, &s->server.port, cause);
}

static int set_max_queue(void *target, const char *value, const char **cause)
{
	struct settings *s = target;
	return config_parse_size(value, 1024, &s->server.max_queue_bytes, cause);
}

static const struct config_key keys[] = {
	{"HOST", set_host},
	{"PORT", set_port},
	{"MAX_QUEUE", set_max_queue},
};

enum { OPT_MAX_QUEUE = 256, OPT_VERSION };

static const struct option options[] = {
	{"address", required_argument, NULL, 'a'},
	{"port", required_argument, NULL, 'p'},
	{"config", required_argument, NULL, 'c'},
	{"max-queue", required_argument, NULL, OPT_MAX_QUEUE},
	{"verbose", no_argument, NULL, 'v'},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

/* Returns -1 to go on, else the exit status. */
static int load_settings(int argc, char **argv, struct settings *s,
			 enum log_level *level)
{
	const struct config_table table = {keys, sizeof(keys) / sizeof(keys[0]), s};
	struct config_error err;
	/* Options beat everything, so they are applied last; remember them. */
	const char *option_value[3] = {NULL, NULL, NULL};
	const char *config_file = NULL;
	int opt;
	while ((opt = getopt_long(argc, argv, "a:p:c:vqh", options, NULL)) != -1) {
		switch (opt) {
		case 'a': option_value[0] = optarg; break;
		case 'p': option_value[1] = optarg; break;
		case OPT_MAX_QUEUE: option_value[2] = optarg; break;
		case 'c': config_file = optarg; break;
		case 'v': *level = LOG_DEBUG; break;
		case 'q': *level = LOG_WARN; break;
		case 'h': usage(stdout); return 0;
		case OPT_VERSION: printf("chatroom-server %s\n", CHATROOM_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "chatroom-server: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	static const char *const option_names[3] = {"--address", "--port", "--max-queue"};
	if (config_read_file(&table, config_file ? config_file : DEFAULT_CONFIG_FILE,
			     config_file == NULL, &err) < 0 ||
	    config_read_env(&table, &err) < 0)
		goto bad;
	for (size_t i = 0; i < 3; i++)
		if (option_value[i] != NULL &&
		    config_set(&table, keys[i].name, option_value[i], option_names[i], &err) < 0)
			goto bad;
	return -1;
bad:
	fprintf(stderr, "chatroom-server: %s\n", err.text);
	return 2;
}

int main(int argc, char **argv)
{
	struct settings settings = {
		.server = {
			.address = "127.0.0.1",
			.port = SERVER_DEFAULT_PORT,
			.max_queue_bytes = SERVER_DEFAULT_MAX_QUEUE,
			.partial_delay_ms = SERVER_DEFAULT_PARTIAL_DELAY_MS,
			.drain_timeout_ms = SERVER_DEFAULT_DRAIN_TIMEOUT_MS,
		},
	};
	enum log_level level = LOG_INFO;
	int status = load_settings(argc, argv, &settings, &level);
	if (status >= 0)
		return status;

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
	int rc = server_start(server, &loop, &settings.server, &cause);
	if (rc < 0)
		fprintf(stderr, "chatroom-server: cannot listen on %s:%d: %s\n",
			settings.server.address, settings.server.port, cause);
	uv_run(&loop, UV_RUN_DEFAULT);
	int leftover = uv_loop_close(&loop);
	free(server);
	if (rc < 0)
		return 1;
	if (leftover != 0) {
		fprintf(stderr, "chatroom-server: loop closed with handles open\n");
		return 1;
	}
	return 0;
}
