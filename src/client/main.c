/*
 * chatroom: the terminal client of the chat room.
 *
 * It connects, asks for a pseudo (before anything runs concurrently, as
 * the course asks), then reads the user's input and the server's messages
 * at the same time on one libuv loop. See client.h. Settings come from
 * options, then CHATROOM_* environment variables, then the config file.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "client.h"
#include "config.h"
#include "i18n.h"
#include "image.h"

#define DEFAULT_LOG_FILE "/var/log/chat_room/client.log"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: chatroom [-a ADDRESS] [-p PORT] [-n PSEUDO] [-r ROOM] [-c FILE] [--plain]\n"
		"\n"
		"  -a, --address ADDR   server address or host name (HOST=, default 127.0.0.1)\n"
		"  -p, --port PORT      server port (PORT=, default %d)\n"
		"  -n, --nick PSEUDO    your pseudo (NICK=; else it is asked for, or read\n"
		"                       from the first input line in plain mode)\n"
		"  -c, --config FILE    settings file (default\n"
		"                       $XDG_CONFIG_HOME/chatroom/client.conf)\n"
		"      --log FILE       the conversation log (LOG=, default\n"
		"                       " DEFAULT_LOG_FILE ", else\n"
		"                       $XDG_STATE_HOME/chatroom/; 'none' keeps none)\n"
		"  -r, --room ROOM      the room to join (ROOM=; else it is asked for on a\n"
		"                       terminal, or the default room)\n"
		"      --reconnect      when the connection drops, come back with backoff\n"
		"                       and resume (RECONNECT=yes)\n"
		"      --lang fr|en     the language of the chat (default French, the\n"
		"                       course's; else CHATROOM_LANG or the locale)\n"
		"      --plain          plain line mode even on a terminal: one message\n"
		"                       per input line, incoming messages on stdout\n"
		"      --ascii          pictures in plain ASCII even on a terminal\n"
		"      --image-max BYTES  the largest picture sent or shown (IMAGE_MAX=,\n"
		"                       default 5 MiB)\n"
		"  -h, --help           this help\n"
		"      --version        the version\n"
		"\n"
		"The file holds KEY=VALUE lines (HOST=127.0.0.1, PORT=9999, NICK=it4);\n"
		"CHATROOM_HOST, CHATROOM_PORT, CHATROOM_NICK override it, options\n"
		"override both. In the chat: /quit, Ctrl+C or Ctrl+D leaves; /help\n"
		"lists the commands.\n",
		CLIENT_DEFAULT_PORT);
}

/* Values from a file or the environment do not outlive their parsing. */
struct settings {
	struct client_config client;
	char address[256];
	char nick[64];
	char log[4096];
	bool log_set;
	char room[64];
};

static int copy_value(char *buf, size_t len, const char *value, const char **out,
		      const char **cause)
{
	if (value[0] == '\0' || strlen(value) >= len) {
		*cause = "empty or too long";
		return -EINVAL;
	}
	snprintf(buf, len, "%s", value);
	*out = buf;
	return 0;
}

static int set_host(void *target, const char *value, const char **cause)
{
	struct settings *s = target;
	return copy_value(s->address, sizeof(s->address), value, &s->client.address, cause);
}

static int set_port(void *target, const char *value, const char **cause)
{
	struct settings *s = target;
	return config_parse_port(value, 1, &s->client.port, cause);
}

static int set_nick(void *target, const char *value, const char **cause)
{
	struct settings *s = target;
	return copy_value(s->nick, sizeof(s->nick), value, &s->client.nick, cause);
}

static int set_room(void *target, const char *value, const char **cause)
{
	struct settings *s = target;
	return copy_value(s->room, sizeof(s->room), value, &s->client.room, cause);
}

static int set_reconnect(void *target, const char *value, const char **cause)
{
	struct settings *s = target;
	if (strcmp(value, "yes") == 0 || strcmp(value, "1") == 0)
		s->client.reconnect = true;
	else if (strcmp(value, "no") == 0 || strcmp(value, "0") == 0)
		s->client.reconnect = false;
	else {
		*cause = "not yes or no";
		return -EINVAL;
	}
	return 0;
}

static int set_image_max(void *target, const char *value, const char **cause)
{
	struct settings *s = target;
	if (config_parse_size(value, 1, &s->client.image_max, cause) < 0)
		return -EINVAL;
	if (s->client.image_max > WIRE_MAX_FRAME - 64 * 1024) {
		*cause = "at most 6 MiB less 64 KiB";
		return -EINVAL;
	}
	return 0;
}

static int set_log(void *target, const char *value, const char **cause)
{
	struct settings *s = target;
	s->log_set = true;
	return copy_value(s->log, sizeof(s->log), value, &s->client.log_path, cause);
}

/* The options below follow this order (option_value[] is indexed by it). */
static const struct config_key keys[] = {
	{"HOST", set_host},
	{"PORT", set_port},
	{"NICK", set_nick},
	{"LOG", set_log},
	{"ROOM", set_room},
	{"RECONNECT", set_reconnect},
	{"IMAGE_MAX", set_image_max},
};
#define KEY_COUNT (sizeof(keys) / sizeof(keys[0]))

enum { OPT_PLAIN = 256, OPT_VERSION, OPT_LOG, OPT_RECONNECT, OPT_LANG, OPT_ASCII,
       OPT_IMAGE_MAX };

static const struct option options[] = {
	{"address", required_argument, NULL, 'a'},
	{"port", required_argument, NULL, 'p'},
	{"nick", required_argument, NULL, 'n'},
	{"room", required_argument, NULL, 'r'},
	{"config", required_argument, NULL, 'c'},
	{"plain", no_argument, NULL, OPT_PLAIN},
	{"ascii", no_argument, NULL, OPT_ASCII},
	{"image-max", required_argument, NULL, OPT_IMAGE_MAX},
	{"log", required_argument, NULL, OPT_LOG},
	{"reconnect", no_argument, NULL, OPT_RECONNECT},
	{"lang", required_argument, NULL, OPT_LANG},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

/* Returns -1 to go on, else the exit status. */
static int load_settings(int argc, char **argv, struct settings *s)
{
	const struct config_table table = {keys, sizeof(keys) / sizeof(keys[0]), s};
	struct config_error err;
	/* Options beat everything, so they are applied last; remember them. */
	const char *option_value[KEY_COUNT] = {NULL};
	static const char *const option_names[KEY_COUNT] = {"--address", "--port",
							    "--nick", "--log", "--room",
							    "--reconnect", "--image-max"};
	const char *config_file = NULL;
	int opt;
	while ((opt = getopt_long(argc, argv, "a:p:n:r:c:h", options, NULL)) != -1) {
		switch (opt) {
		case 'a': option_value[0] = optarg; break;
		case 'p': option_value[1] = optarg; break;
		case 'n': option_value[2] = optarg; break;
		case 'r': option_value[4] = optarg; break;
		case OPT_LOG: option_value[3] = optarg; break;
		case OPT_RECONNECT: option_value[5] = "yes"; break;
		case OPT_IMAGE_MAX: option_value[6] = optarg; break;
		case OPT_ASCII: s->client.ascii = true; break;
		case OPT_LANG: break; /* read before everything, in main */
		case 'c': config_file = optarg; break;
		case OPT_PLAIN: s->client.plain = true; break;
		case 'h': usage(stdout); return 0;
		case OPT_VERSION: printf("chatroom %s\n", CHATROOM_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "chatroom: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	char default_path[512];
	const char *path = config_file;
	if (path == NULL)
		path = config_user_path("client.conf", default_path, sizeof(default_path));
	if (config_load(&table, path, config_file == NULL, option_value, option_names,
			&err) == 0)
		return -1;
	fprintf(stderr, "chatroom: %s\n", err.text);
	return 2;
}

/* An explicit path ('none' for nothing), else the system-wide default,
 * else the per-user state directory, said once. */
static void choose_log_path(struct settings *s)
{
	if (s->log_set) {
		if (strcmp(s->log, "none") == 0)
			s->client.log_path = NULL;
		return;
	}
	bool fell_back;
	s->client.log_path = config_state_path(DEFAULT_LOG_FILE, "client.log", s->log,
					       sizeof(s->log), &fell_back);
	if (s->client.log_path == NULL)
		fprintf(stderr, "chatroom: no writable place for the log: keeping none\n");
	else if (fell_back)
		fprintf(stderr, "chatroom: %s is not writable; the log goes to %s\n",
			DEFAULT_LOG_FILE, s->client.log_path);
}

int main(int argc, char **argv)
{
	const char *lang = NULL;
	for (int i = 1; i < argc; i++) /* before anything is said */
		if (strncmp(argv[i], "--lang=", 7) == 0)
			lang = argv[i] + 7;
		else if (strcmp(argv[i], "--lang") == 0 && i + 1 < argc)
			lang = argv[i + 1];
	i18n_init(lang);
	/* A peer that vanished must cost an EPIPE from write(), not the
	 * process: libuv leaves SIGPIPE to the program. */
	signal(SIGPIPE, SIG_IGN);
	struct settings settings = {
		.client = {
			.address = "127.0.0.1",
			.port = CLIENT_DEFAULT_PORT,
			.image_max = IMAGE_DEFAULT_MAX_BYTES,
		},
	};
	int status = load_settings(argc, argv, &settings);
	if (status >= 0)
		return status;
	choose_log_path(&settings);

	uv_loop_t loop;
	uv_loop_init(&loop);
	struct client_app *app = malloc(sizeof(*app));
	if (app == NULL) {
		fprintf(stderr, "chatroom: out of memory\n");
		return 1;
	}
	if (client_connect(app, &loop, &settings.client) < 0) {
		status = 1;
	} else {
		client_open_log(app);
		if (client_introduce(app) < 0)
			status = app->ending ? app->exit_code : 2;
		else
			status = client_run(app);
	}
	/* Whatever path we took, every handle is closed before the loop goes. */
	client_end(app, status, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	client_free(app);
	if (uv_loop_close(&loop) != 0)
		fprintf(stderr, "chatroom: loop closed with handles open\n");
	free(app);
	return status;
}
