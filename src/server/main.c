/*
 * chatroom-server: the chat room's event-driven TCP server.
 *
 * One libuv loop, one struct server made here; see server.h and
 * docs/architecture.md for who owns what. Settings come from options, then
 * CHATROOM_* environment variables, then the config file, then defaults.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "config.h"
#include "image.h"
#include "log.h"
#include "privdrop.h"
#include "server.h"
#include "wire.h"

#define DEFAULT_CONFIG_FILE "/etc/chatroom/server.conf"
#define DEFAULT_HISTORY_FILE "/var/lib/chatroom/history.jsonl"
#define DEFAULT_LOG_FILE "/var/log/chat_room/server.log"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: chatroom-server [-a ADDRESS] [-p PORT] [-c FILE] [options]\n"
		"\n"
		"  -a, --address ADDR      listen address or host name (HOST=, default\n"
		"                          127.0.0.1)\n"
		"  -p, --port PORT         listen port (PORT=, default %d; 0 picks a free one)\n"
		"  -c, --config FILE       settings file (default " DEFAULT_CONFIG_FILE ")\n"
		"      --max-queue BYTES   drop a peer with more than this unread\n"
		"                          (MAX_QUEUE=, default %u)\n"
		"      --history FILE      the conversation as JSON Lines (HISTORY=, default\n"
		"                          " DEFAULT_HISTORY_FILE ",\n"
		"                          else $XDG_STATE_HOME/chatroom/; 'none' keeps none)\n"
		"      --history-size N    events each room remembers (HISTORY_SIZE=, default %d)\n"
		"      --fsync POLICY      always, everysec or no (FSYNC=, default everysec)\n"
		"      --history-max-bytes BYTES  compact the file past this size\n"
		"                          (HISTORY_MAX_BYTES=, default %u)\n"
		"      --soft-queue BYTES, --soft-queue-seconds N\n"
		"                          drop a peer behind by BYTES for N seconds\n"
		"                          (SOFT_QUEUE=, SOFT_QUEUE_SECONDS=; 256 KiB, 10 s)\n"
		"      --flood-rate N, --flood-burst N\n"
		"                          messages a second a peer may keep up, and at once\n"
		"                          (FLOOD_RATE=, FLOOD_BURST=; 10, 100; rate 0: no limit)\n"
		"      --max-connections N, --max-per-address N\n"
		"                          (MAX_CONNECTIONS=, MAX_PER_ADDRESS=; 19500, 256)\n"
		"      --handshake-timeout SECONDS  time to send a first line\n"
		"                          (HANDSHAKE_TIMEOUT=, default 60)\n"
		"      --idle-timeout SECONDS  a peer without a pseudo quiet this long\n"
		"                          is dropped (IDLE_TIMEOUT=, default 300; 0: never)\n"
		"      --max-rooms N       rooms at most (MAX_ROOMS=, default 1000)\n"
		"      --return-grace SECONDS  how long an away user's pseudo is held and\n"
		"                          it may come back as itself (RETURN_GRACE=,\n"
		"                          default 300; 0: never)\n"
		"      --coalesce-us N     flush at most every N microseconds, so a busy\n"
		"                          room's messages share writes (COALESCE_US=,\n"
		"                          default 0: every loop turn)\n"
		"      --image-max-bytes BYTES  the largest picture relayed\n"
		"                          (IMAGE_MAX_BYTES=, default 5 MiB)\n"
		"      --log FILE          the conversation log (LOG=, default\n"
		"                          " DEFAULT_LOG_FILE ", else\n"
		"                          $XDG_STATE_HOME/chatroom/; 'none' keeps none)\n"
		"      --user NAME         started as root, run as this user once the port\n"
		"                          and the files are open (USER=)\n"
		"  -v, --verbose           debug logging\n"
		"  -q, --quiet             start, stop, warnings and errors only\n"
		"  -h, --help              this help\n"
		"      --version           the version\n"
		"\n"
		"The file holds KEY=VALUE lines (HOST=127.0.0.1, PORT=9999, MAX_QUEUE=...);\n"
		"CHATROOM_HOST, CHATROOM_PORT, CHATROOM_MAX_QUEUE override it, options\n"
		"override both.\n",
		SERVER_DEFAULT_PORT, SERVER_DEFAULT_MAX_QUEUE,
		SERVER_DEFAULT_HISTORY_SIZE, SERVER_DEFAULT_HISTORY_MAX_BYTES);
}

/* Room for an address given in a file or the environment, which do not
 * outlive their parsing. */
struct settings {
	struct server_config server;
	char address[256];
	char address_cause[160]; /* why a host name did not resolve */
	char history[4096];
	bool history_set;
	char log[4096];
	bool log_set;
	char user[256];
	bool user_set;
};

/* A numeric address or a host name. The name is resolved here, where the
 * value's origin (file and line, variable, option) is known for the error,
 * and again when the server binds (server.c). */
static int set_host(void *target, const char *value, const char **cause)
{
	struct settings *s = target;
	if (value[0] == '\0' || strlen(value) >= sizeof(s->address)) {
		*cause = "invalid address";
		return -EINVAL;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *found = NULL;
	int rc = getaddrinfo(value, NULL, &hints, &found);
	if (rc != 0) {
		snprintf(s->address_cause, sizeof(s->address_cause),
			 "cannot resolve this host name (%s)",
			 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		*cause = s->address_cause;
		return -EINVAL;
	}
	freeaddrinfo(found);
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

static int set_history(void *target, const char *value, const char **cause)
{
	struct settings *s = target;
	if (value[0] == '\0' || strlen(value) >= sizeof(s->history)) {
		*cause = "invalid path";
		return -EINVAL;
	}
	snprintf(s->history, sizeof(s->history), "%s", value);
	s->history_set = true;
	return 0;
}

static int set_log(void *target, const char *value, const char **cause)
{
	struct settings *s = target;
	if (value[0] == '\0' || strlen(value) >= sizeof(s->log)) {
		*cause = "invalid path";
		return -EINVAL;
	}
	snprintf(s->log, sizeof(s->log), "%s", value);
	s->log_set = true;
	return 0;
}

static int set_history_size(void *target, const char *value, const char **cause)
{
	struct settings *s = target;
	if (config_parse_size(value, 0, &s->server.history_size, cause) < 0 ||
	    s->server.history_size > 100000) {
		*cause = "invalid number of events (0-100000)";
		return -EINVAL;
	}
	return 0;
}

static int set_fsync(void *target, const char *value, const char **cause)
{
	struct settings *s = target;
	if (history_parse_fsync(value, &s->server.fsync) < 0) {
		*cause = "not one of always, everysec, no";
		return -EINVAL;
	}
	return 0;
}

static int set_history_max(void *target, const char *value, const char **cause)
{
	struct settings *s = target;
	return config_parse_size(value, 4096, &s->server.history_max_bytes, cause);
}

static int set_unsigned(unsigned *out, const char *value, size_t min, size_t scale,
			const char **cause)
{
	size_t v;
	if (config_parse_size(value, min, &v, cause) < 0 || v > 4000000000u / scale) {
		*cause = "invalid number";
		return -EINVAL;
	}
	*out = (unsigned)(v * scale);
	return 0;
}

static int set_soft_queue(void *target, const char *value, const char **cause)
{
	return config_parse_size(value, 1024, &((struct settings *)target)->server.soft_queue_bytes, cause);
}

static int set_soft_queue_seconds(void *target, const char *value, const char **cause)
{
	return set_unsigned(&((struct settings *)target)->server.soft_queue_ms, value, 1, 1000, cause);
}

static int set_flood_rate(void *target, const char *value, const char **cause)
{
	return config_parse_double(value, 0, &((struct settings *)target)->server.flood_rate, cause);
}

static int set_flood_burst(void *target, const char *value, const char **cause)
{
	return config_parse_double(value, 1, &((struct settings *)target)->server.flood_burst, cause);
}

static int set_max_connections(void *target, const char *value, const char **cause)
{
	return config_parse_size(value, 1, &((struct settings *)target)->server.max_connections, cause);
}

static int set_max_per_address(void *target, const char *value, const char **cause)
{
	return set_unsigned(&((struct settings *)target)->server.max_per_address, value, 1, 1, cause);
}

static int set_handshake(void *target, const char *value, const char **cause)
{
	return set_unsigned(&((struct settings *)target)->server.handshake_ms, value, 1, 1000, cause);
}

static int set_return_grace(void *target, const char *value, const char **cause)
{
	return set_unsigned(&((struct settings *)target)->server.return_grace_ms, value, 0, 1000, cause);
}

static int set_idle(void *target, const char *value, const char **cause)
{
	return set_unsigned(&((struct settings *)target)->server.idle_ms, value, 0, 1000, cause);
}

static int set_max_rooms(void *target, const char *value, const char **cause)
{
	struct settings *s = target;
	if (config_parse_size(value, 1, &s->server.max_rooms, cause) < 0 ||
	    s->server.max_rooms > 1000000) {
		*cause = "invalid number of rooms (1-1000000)";
		return -EINVAL;
	}
	return 0;
}

static int set_image_max(void *target, const char *value, const char **cause)
{
	size_t *max = &((struct settings *)target)->server.image_max_bytes;
	if (config_parse_size(value, 1024, max, cause) < 0)
		return -EINVAL;
	/* An IMAGE frame carries it with a header, within the codec's limit. */
	if (*max > WIRE_MAX_FRAME - 64 * 1024) {
		*cause = "at most 6 MiB less 64 KiB";
		return -EINVAL;
	}
	return 0;
}

static int set_coalesce(void *target, const char *value, const char **cause)
{
	struct settings *s = target;
	int rc = set_unsigned(&s->server.coalesce_us, value, 0, 1, cause);
	if (rc == 0 && s->server.coalesce_us > 100000) {
		*cause = "at most 100000 microseconds";
		return -EINVAL;
	}
	return rc;
}

static int set_user(void *target, const char *value, const char **cause)
{
	struct settings *s = target;
	if (value[0] == '\0' || strlen(value) >= sizeof(s->user)) {
		*cause = "invalid user name";
		return -EINVAL;
	}
	if (privdrop_check_user(value, cause) < 0)
		return -EINVAL;
	snprintf(s->user, sizeof(s->user), "%s", value);
	s->user_set = true;
	return 0;
}

/* The options below follow this order (option_value[] is indexed by it). */
static const struct config_key keys[] = {
	{"HOST", set_host},
	{"PORT", set_port},
	{"MAX_QUEUE", set_max_queue},
	{"HISTORY", set_history},
	{"HISTORY_SIZE", set_history_size},
	{"FSYNC", set_fsync},
	{"HISTORY_MAX_BYTES", set_history_max},
	{"LOG", set_log},
	{"SOFT_QUEUE", set_soft_queue},
	{"SOFT_QUEUE_SECONDS", set_soft_queue_seconds},
	{"FLOOD_RATE", set_flood_rate},
	{"FLOOD_BURST", set_flood_burst},
	{"MAX_CONNECTIONS", set_max_connections},
	{"MAX_PER_ADDRESS", set_max_per_address},
	{"HANDSHAKE_TIMEOUT", set_handshake},
	{"RETURN_GRACE", set_return_grace},
	{"COALESCE_US", set_coalesce},
	{"IMAGE_MAX_BYTES", set_image_max},
	{"USER", set_user},
	{"IDLE_TIMEOUT", set_idle},
	{"MAX_ROOMS", set_max_rooms},
};
#define KEY_COUNT (sizeof(keys) / sizeof(keys[0]))
static const char *const option_names[KEY_COUNT] = {
	"--address", "--port", "--max-queue", "--history", "--history-size",
	"--fsync", "--history-max-bytes", "--log", "--soft-queue",
	"--soft-queue-seconds", "--flood-rate", "--flood-burst",
	"--max-connections", "--max-per-address", "--handshake-timeout",
	"--return-grace", "--coalesce-us", "--image-max-bytes", "--user",
	"--idle-timeout", "--max-rooms",
};

enum { OPT_MAX_QUEUE = 256, OPT_VERSION, OPT_HISTORY, OPT_HISTORY_SIZE,
       OPT_FSYNC, OPT_HISTORY_MAX, OPT_LOG,
       /* From here on the option's index in keys[] is its value - OPT_KEYED. */
       OPT_KEYED = 1000 };

static const struct option options[] = {
	{"address", required_argument, NULL, 'a'},
	{"port", required_argument, NULL, 'p'},
	{"config", required_argument, NULL, 'c'},
	{"max-queue", required_argument, NULL, OPT_MAX_QUEUE},
	{"history", required_argument, NULL, OPT_HISTORY},
	{"history-size", required_argument, NULL, OPT_HISTORY_SIZE},
	{"fsync", required_argument, NULL, OPT_FSYNC},
	{"history-max-bytes", required_argument, NULL, OPT_HISTORY_MAX},
	{"log", required_argument, NULL, OPT_LOG},
	{"soft-queue", required_argument, NULL, OPT_KEYED + 8},
	{"soft-queue-seconds", required_argument, NULL, OPT_KEYED + 9},
	{"flood-rate", required_argument, NULL, OPT_KEYED + 10},
	{"flood-burst", required_argument, NULL, OPT_KEYED + 11},
	{"max-connections", required_argument, NULL, OPT_KEYED + 12},
	{"max-per-address", required_argument, NULL, OPT_KEYED + 13},
	{"handshake-timeout", required_argument, NULL, OPT_KEYED + 14},
	{"return-grace", required_argument, NULL, OPT_KEYED + 15},
	{"coalesce-us", required_argument, NULL, OPT_KEYED + 16},
	{"image-max-bytes", required_argument, NULL, OPT_KEYED + 17},
	{"user", required_argument, NULL, OPT_KEYED + 18},
	{"idle-timeout", required_argument, NULL, OPT_KEYED + 19},
	{"max-rooms", required_argument, NULL, OPT_KEYED + 20},
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
	const char *option_value[KEY_COUNT] = {NULL};
	const char *config_file = NULL;
	int opt;
	while ((opt = getopt_long(argc, argv, "a:p:c:vqh", options, NULL)) != -1) {
		switch (opt) {
		case 'a': option_value[0] = optarg; break;
		case 'p': option_value[1] = optarg; break;
		case OPT_MAX_QUEUE: option_value[2] = optarg; break;
		case OPT_HISTORY: option_value[3] = optarg; break;
		case OPT_HISTORY_SIZE: option_value[4] = optarg; break;
		case OPT_FSYNC: option_value[5] = optarg; break;
		case OPT_HISTORY_MAX: option_value[6] = optarg; break;
		case OPT_LOG: option_value[7] = optarg; break;
		case OPT_KEYED + 8: case OPT_KEYED + 9: case OPT_KEYED + 10:
		case OPT_KEYED + 11: case OPT_KEYED + 12: case OPT_KEYED + 13:
		case OPT_KEYED + 14: case OPT_KEYED + 15: case OPT_KEYED + 16:
		case OPT_KEYED + 17: case OPT_KEYED + 18: case OPT_KEYED + 19:
		case OPT_KEYED + 20:
			option_value[opt - OPT_KEYED] = optarg;
			break;
		case 'c': config_file = optarg; break;
		case 'v': *level = LOG_DEBUG; break;
		case 'q': *level = LOG_NOTICE; break;
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

	if (config_load(&table, config_file ? config_file : DEFAULT_CONFIG_FILE,
			config_file == NULL, option_value, option_names, &err) == 0)
		return -1;
	fprintf(stderr, "chatroom-server: %s\n", err.text);
	return 2;
}

/* An explicit path ('none' for nothing), else the system-wide default,
 * else the per-user state directory, said once on the console. */
static const char *choose_path(bool set, char *value, size_t len,
			       const char *default_path, const char *name,
			       const char *what)
{
	if (set)
		return strcmp(value, "none") == 0 ? NULL : value;
	bool fell_back;
	const char *path = config_state_path(default_path, name, value, len, &fell_back);
	if (path == NULL)
		log_warn("no writable place for the %s: keeping none", what);
	else if (fell_back)
		log_info("%s is not writable; the %s goes to %s", default_path, what, path);
	return path;
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
			.history_size = SERVER_DEFAULT_HISTORY_SIZE,
			.fsync = HISTORY_FSYNC_EVERYSEC,
			.history_max_bytes = SERVER_DEFAULT_HISTORY_MAX_BYTES,
			.soft_queue_bytes = SERVER_DEFAULT_SOFT_QUEUE,
			.soft_queue_ms = SERVER_DEFAULT_SOFT_QUEUE_MS,
			.flood_rate = SERVER_DEFAULT_FLOOD_RATE,
			.flood_burst = SERVER_DEFAULT_FLOOD_BURST,
			.flood_bytes_rate = SERVER_DEFAULT_FLOOD_BYTES_RATE,
			.flood_bytes_burst = SERVER_DEFAULT_FLOOD_BYTES_BURST,
			.flood_strikes = SERVER_DEFAULT_FLOOD_STRIKES,
			.max_connections = SERVER_DEFAULT_MAX_CONNECTIONS,
			.max_per_address = SERVER_DEFAULT_MAX_PER_ADDRESS,
			.handshake_ms = SERVER_DEFAULT_HANDSHAKE_MS,
			.idle_ms = SERVER_DEFAULT_IDLE_MS,
			.max_rooms = ROOMS_DEFAULT_MAX,
			.return_grace_ms = SERVER_DEFAULT_RETURN_GRACE_MS,
			.image_max_bytes = IMAGE_DEFAULT_MAX_BYTES,
		},
	};
	enum log_level level = LOG_INFO;
	int status = load_settings(argc, argv, &settings, &level);
	if (status >= 0)
		return status;

	log_init(stdout, level);
	/* A peer that vanished must cost an EPIPE from write(), not the
	 * process: libuv leaves SIGPIPE to the program. */
	signal(SIGPIPE, SIG_IGN);
	if (settings.server.flood_rate == 0)
		settings.server.flood_bytes_rate = 0; /* "no limit" means both */
	settings.server.history_path = choose_path(
		settings.history_set, settings.history, sizeof(settings.history),
		DEFAULT_HISTORY_FILE, "history.jsonl", "history");
	settings.server.log_path = choose_path(
		settings.log_set, settings.log, sizeof(settings.log),
		DEFAULT_LOG_FILE, "server.log", "conversation log");

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
	char why[256];
	if (rc == 0 && (rc = server_drop_privileges(server, settings.user_set ? settings.user : NULL,
						    why, sizeof(why))) < 0) {
		fprintf(stderr, "chatroom-server: cannot run as %s: %s\n", settings.user, why);
		server_stop(server);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	int leftover = uv_loop_close(&loop);
	server_free(server);
	free(server);
	if (rc < 0)
		return 1;
	if (leftover != 0) {
		fprintf(stderr, "chatroom-server: loop closed with handles open\n");
		return 1;
	}
	return 0;
}
