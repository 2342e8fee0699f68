/*
 * chatroom: the terminal client of the chat room.
 *
 * It connects, asks for a pseudo (before anything runs concurrently, as
 * the course asks), then reads the user's input and the server's messages
 * at the same time on one libuv loop. See client.h.
 */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "client.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: chatroom [-a ADDRESS] [-p PORT] [-n PSEUDO] [--plain]\n"
		"\n"
		"  -a, --address ADDR   server address or host name (default 127.0.0.1)\n"
		"  -p, --port PORT      server port (default %d)\n"
		"  -n, --nick PSEUDO    your pseudo (else it is asked for, or read\n"
		"                       from the first input line in plain mode)\n"
		"      --plain          plain line mode even on a terminal: one message\n"
		"                       per input line, incoming messages on stdout\n"
		"  -h, --help           this help\n"
		"\n"
		"In the chat: /quit, Ctrl+C or Ctrl+D leaves; /help lists the commands.\n",
		CLIENT_DEFAULT_PORT);
}

int main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	struct client_config cfg = {
		.address = "127.0.0.1",
		.port = CLIENT_DEFAULT_PORT,
	};
	enum { OPT_PLAIN = 256 };
	static const struct option options[] = {
		{"address", required_argument, NULL, 'a'},
		{"port", required_argument, NULL, 'p'},
		{"nick", required_argument, NULL, 'n'},
		{"plain", no_argument, NULL, OPT_PLAIN},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "a:p:n:h", options, NULL)) != -1) {
		switch (opt) {
		case 'a':
			cfg.address = optarg;
			break;
		case 'p': {
			char *end;
			errno = 0;
			long port = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || port < 1 || port > 65535) {
				fprintf(stderr, "chatroom: invalid port '%s' (1-65535)\n", optarg);
				return 2;
			}
			cfg.port = (int)port;
			break;
		}
		case 'n':
			cfg.nick = optarg;
			break;
		case OPT_PLAIN:
			cfg.plain = true;
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
		fprintf(stderr, "chatroom: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	uv_loop_t loop;
	uv_loop_init(&loop);
	struct client_app *app = malloc(sizeof(*app));
	if (app == NULL) {
		fprintf(stderr, "chatroom: out of memory\n");
		return 1;
	}
	int status;
	if (client_connect(app, &loop, &cfg) < 0)
		status = 1;
	else if (client_choose_pseudo(app) < 0)
		status = 2;
	else
		status = client_run(app);

	/* Whatever path we took, every handle is closed before the loop goes. */
	if (!app->ending) {
		uv_close((uv_handle_t *)&app->tcp, NULL);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		fprintf(stderr, "chatroom: loop closed with handles open\n");
	free(app);
	return status;
}
