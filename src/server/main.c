/*
 * chatroom-server: the chat room's event-driven TCP server.
 *
 * One libuv loop, one struct server made here; see server.h and
 * docs/architecture.md for who owns what. Settings (the table below) come
 * from options, then CHATROOM_* environment variables, then the config
 * file, then defaults.
 */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "config.h"
#include "settings.h"
#include "image.h"
#include "log.h"
#include "privdrop.h"
#include "search.h"
#include "redis.h"
#include "server.h"
#include "wire.h"

#define DEFAULT_CONFIG_FILE "/etc/chatroom/server.conf"
#define DEFAULT_HISTORY_FILE "/var/lib/chatroom/history.jsonl"
#define DEFAULT_LOG_FILE "/var/log/chat_room/server.log"
/* The installed page (CMake sets it from the install prefix). */
#ifndef CHATROOM_WEB_ROOT
#define CHATROOM_WEB_ROOT "/usr/share/chatroom/web"
#endif

/* Room for values given in a file or the environment, which do not
 * outlive their parsing; an empty string is a value not given. */
struct settings {
	struct server_config server;
	char address[256];
	char address_cause[160]; /* why a host name did not resolve */
	char history[4096];
	char log[4096];
	char operators[4096];
	char web_root[4096];
	char user[256];
	char tls_cert[4096];
	char tls_key[4096];
	char redis[1024];
	enum log_level level;
};

#define FIELD(f) offsetof(struct settings, f)
#define SIZE_OF(f) ((long long)sizeof(((struct settings *)0)->f))

/* A numeric address or a host name. The name is resolved here, where the
 * value's origin (file and line, variable, option) is known for the error,
 * and again when the server binds (server.c). */
static int set_host(const struct setting *row, void *target, const char *value,
		    const char **cause)
{
	(void)row;
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
	return 0;
}

static const struct setting_type host_type = {set_host, settings_show_text};

static int set_fsync(const struct setting *row, void *target, const char *value,
		     const char **cause)
{
	if (history_parse_fsync(value, settings_field(row, target)) < 0) {
		*cause = "not one of always, everysec, no";
		return -EINVAL;
	}
	return 0;
}

static const struct setting_type fsync_type = {set_fsync, NULL};

static int set_user(const struct setting *row, void *target, const char *value,
		    const char **cause)
{
	struct settings *s = target;
	if (value[0] == '\0' || strlen(value) >= sizeof(s->user)) {
		*cause = "invalid user name";
		return -EINVAL;
	}
	if (privdrop_check_user(value, cause) < 0)
		return -EINVAL;
	snprintf(settings_field(row, target), sizeof(s->user), "%s", value);
	return 0;
}

static const struct setting_type user_type = {set_user, NULL};

/* A Redis URL, checked here where its origin is known for the error;
 * "none" (or empty) is standalone. */
static int set_redis(const struct setting *row, void *target, const char *value,
		     const char **cause)
{
	struct settings *s = target;
	struct redis_url url;
	(void)row;
	if (value[0] == '\0' || strcmp(value, "none") == 0) {
		s->redis[0] = '\0';
		return 0;
	}
	if (strlen(value) >= sizeof(s->redis)) {
		*cause = "URL too long";
		return -EINVAL;
	}
	if (redis_url_parse(value, &url, cause) < 0)
		return -EINVAL;
	memcpy(s->redis, value, strlen(value) + 1);
	return 0;
}

static const struct setting_type redis_type = {set_redis, NULL};

/* -v and -q: the flag's value is the level. */
static int set_level(const struct setting *row, void *target, const char *value,
		     const char **cause)
{
	(void)cause;
	*(enum log_level *)settings_field(row, target) =
		strcmp(value, "debug") == 0 ? LOG_DEBUG : LOG_NOTICE;
	return 0;
}

static const struct setting_type level_type = {set_level, NULL};

/* An IMAGE frame carries a picture with a header, within the codec's limit. */
#define IMAGE_MAX_ALLOWED (WIRE_MAX_FRAME - 64 * 1024)

/* Every setting, in --help's order. A row with no help is described with
 * the next one. */
static const struct setting rows[] = {
	{"HOST", "address", 'a', "ADDR", &host_type, FIELD(address),
	 .help = "listen address or host name"},
	{"PORT", "port", 'p', "PORT", &settings_port, FIELD(server.port), .min = 0,
	 .help = "listen port; 0 picks a free one"},
	{NULL, "config", 'c', "FILE", NULL, 0, .role = SETTING_CONFIG_FILE,
	 .default_text = DEFAULT_CONFIG_FILE, .help = "settings file"},
	{"MAX_QUEUE", "max-queue", 0, "BYTES", &settings_bytes, FIELD(server.max_queue_bytes),
	 .min = 1024, .help = "drop a peer with more than this unread"},
	{"HISTORY", "history", 0, "FILE", &settings_text, FIELD(history), .max = SIZE_OF(history),
	 .cause = "invalid path",
	 .default_text = DEFAULT_HISTORY_FILE ", else $XDG_STATE_HOME/chatroom/",
	 .help = "the conversation as JSON Lines; 'none' keeps none"},
	{"HISTORY_SIZE", "history-size", 0, "N", &settings_count, FIELD(server.history_size),
	 .max = 100000, .cause = "invalid number of events (0-100000)",
	 .help = "events each room remembers"},
	{"FSYNC", "fsync", 0, "POLICY", &fsync_type, FIELD(server.fsync),
	 .default_text = "everysec", .help = "always, everysec or no"},
	{"HISTORY_MAX_BYTES", "history-max-bytes", 0, "BYTES", &settings_bytes,
	 FIELD(server.history_max_bytes), .min = 4096, .help = "compact the file past this size"},
	{"SOFT_QUEUE", "soft-queue", 0, "BYTES", &settings_bytes, FIELD(server.soft_queue_bytes),
	 .min = 1024},
	{"SOFT_QUEUE_SECONDS", "soft-queue-seconds", 0, "N", &settings_seconds,
	 FIELD(server.soft_queue_ms), .min = 1,
	 .help = "drop a peer behind by BYTES for N seconds"},
	{"FLOOD_RATE", "flood-rate", 0, "N", &settings_number, FIELD(server.flood_rate), .min = 0},
	{"FLOOD_BURST", "flood-burst", 0, "N", &settings_number, FIELD(server.flood_burst), .min = 1,
	 .help = "messages a second a peer may keep up, and at once; rate 0: no limit"},
	{"MAX_CONNECTIONS", "max-connections", 0, "N", &settings_count,
	 FIELD(server.max_connections), .min = 1},
	{"MAX_PER_ADDRESS", "max-per-address", 0, "N", &settings_uint,
	 FIELD(server.max_per_address), .min = 1,
	 .help = "peers at once, in all and from one address"},
	{"HANDSHAKE_TIMEOUT", "handshake-timeout", 0, "SECONDS", &settings_seconds,
	 FIELD(server.handshake_ms), .min = 1, .help = "time to send a first line"},
	{"IDLE_TIMEOUT", "idle-timeout", 0, "SECONDS", &settings_seconds,
	 FIELD(server.idle_ms), .min = 0,
	 .help = "a peer without a pseudo quiet this long is dropped; 0: never"},
	{"MAX_ROOMS", "max-rooms", 0, "N", &settings_count, FIELD(server.max_rooms), .min = 1,
	 .max = 1000000, .cause = "invalid number of rooms (1-1000000)", .help = "rooms at most"},
	{"MAX_ROOMS_PER_PEER", "max-rooms-per-peer", 0, "N", &settings_count,
	 FIELD(server.max_rooms_per_peer), .min = 1, .max = SEARCH_MAX_ROOMS,
	 .cause = "invalid number of rooms (1-256)",
	 .help = "rooms one peer may be in at once"},
	{"RETURN_GRACE", "return-grace", 0, "SECONDS", &settings_seconds,
	 FIELD(server.return_grace_ms), .min = 0,
	 .help = "how long an away user's pseudo is held and it may come back as itself; "
		 "0: never"},
	{"COALESCE_US", "coalesce-us", 0, "N", &settings_uint, FIELD(server.coalesce_us),
	 .max = 100000, .cause = "at most 100000 microseconds",
	 .help = "a flush sooner than N microseconds after the last one waits, so a busy "
		 "room's messages share writes; 0: every loop turn"},
	{"IO_URING", "no-io-uring", 0, NULL, &settings_yes_no, FIELD(server.io_uring),
	 .flag_value = "no",
	 .help = "one writev per peer instead of a loop turn's TCP output in one system "
		 "call (io_uring, the default; writev too when the kernel refuses it)"},
	{"IMAGE_MAX_BYTES", "image-max-bytes", 0, "BYTES", &settings_bytes,
	 FIELD(server.image_max_bytes), .min = 1024, .max = IMAGE_MAX_ALLOWED,
	 .cause = "at most 6 MiB less 64 KiB", .help = "the largest picture relayed"},
	{"LOG", "log", 0, "FILE", &settings_text, FIELD(log), .max = SIZE_OF(log),
	 .cause = "invalid path",
	 .default_text = DEFAULT_LOG_FILE ", else $XDG_STATE_HOME/chatroom/",
	 .help = "the conversation log; 'none' keeps none"},
	{"OPERATORS", "operators", 0, "FILE", &settings_text, FIELD(operators),
	 .max = SIZE_OF(operators), .cause = "invalid path",
	 .help = "the operators (/kick, /mute, /ban): one identity's SHA-256 a line, in hex"},
	{"LOG_PRIVATE", "log-private", 0, NULL, &settings_yes_no, FIELD(server.log_private),
	 .help = "private messages (/msg) go into the conversation log too"},
	{"TLS_CERT", "tls-cert", 0, "FILE", &settings_text, FIELD(tls_cert),
	 .max = SIZE_OF(tls_cert), .cause = "invalid path",
	 .help = "PEM certificate chain: TLS on --tls-port too (with --tls-key); SIGHUP "
		 "reloads it"},
	{"TLS_KEY", "tls-key", 0, "FILE", &settings_text, FIELD(tls_key), .max = SIZE_OF(tls_key),
	 .cause = "invalid path", .help = "PEM private key of --tls-cert"},
	{"TLS_PORT", "tls-port", 0, "PORT", &settings_port, FIELD(server.tls_port), .min = 0,
	 .help = "TLS listen port (same address); 0 picks a free one"},
	{"TLS_HANDSHAKE_TIMEOUT", "tls-handshake-timeout", 0, "SECONDS", &settings_seconds,
	 FIELD(server.tls_handshake_ms), .min = 1, .help = "time to finish a TLS handshake"},
	{"TLS_MAX_HANDSHAKES", "tls-max-handshakes", 0, "N", &settings_uint,
	 FIELD(server.tls_max_handshakes), .min = 1,
	 .help = "TLS handshakes in progress at most; newcomers past it are turned away"},
	{"TLS_MAX_HANDSHAKES_PER_ADDRESS", "tls-max-handshakes-per-address", 0, "N",
	 &settings_uint, FIELD(server.tls_max_handshakes_per_address), .min = 1,
	 .help = "TLS handshakes in progress from one address at most"},
	{"REDIS", "redis", 0, "URL", &redis_type, FIELD(redis), .default_text = "none",
	 .help = "join a cluster through this Redis (redis://[[user]:password@]host[:port][/db]); "
		 "'none': standalone"},
	{"WEB_ROOT", "web-root", 0, "DIR", &settings_text, FIELD(web_root),
	 .max = SIZE_OF(web_root), .cause = "invalid path", .default_text = CHATROOM_WEB_ROOT,
	 .help = "the browser client's files, served on the same port; 'none' serves none"},
	{"USER", "user", 0, "NAME", &user_type, FIELD(user),
	 .help = "started as root, run as this user once the port and the files are open"},
	{NULL, "verbose", 'v', NULL, &level_type, FIELD(level), .flag_value = "debug",
	 .help = "debug logging"},
	{NULL, "quiet", 'q', NULL, &level_type, FIELD(level), .flag_value = "notice",
	 .help = "start, stop, warnings and errors only"},
	{NULL, "help", 'h', NULL, NULL, 0, .role = SETTING_HELP, .help = "this help"},
	{NULL, "version", 0, NULL, NULL, 0, .role = SETTING_VERSION, .help = "the version"},
};

static const struct settings_program program = {
	.name = "chatroom-server",
	.synopsis = "chatroom-server [-a ADDRESS] [-p PORT] [-c FILE] [options]",
	.rows = rows,
	.count = sizeof(rows) / sizeof(rows[0]),
};

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
			.return_grace_ms = SERVER_DEFAULT_RETURN_GRACE_MS,
			.idle_ms = SERVER_DEFAULT_IDLE_MS,
			.max_rooms = ROOMS_DEFAULT_MAX,
			.max_rooms_per_peer = HUB_DEFAULT_SEATS,
			.io_uring = true, /* less CPU per delivery (docs/benchmarks.md) */
			/* A busy loop's turns gather more messages per send: less CPU
			 * per delivery, more deliveries, shorter tails (ibid.). */
			.coalesce_us = SERVER_DEFAULT_COALESCE_US,
			.image_max_bytes = IMAGE_DEFAULT_MAX_BYTES,
			.tls_port = TLS_DEFAULT_PORT,
			.tls_handshake_ms = TLS_DEFAULT_HANDSHAKE_MS,
			.tls_max_handshakes = TLS_DEFAULT_MAX_HANDSHAKES,
			.tls_max_handshakes_per_address = TLS_DEFAULT_MAX_HANDSHAKES_PER_ADDRESS,
		},
		.address = "127.0.0.1",
		.level = LOG_INFO,
	};
	int status = settings_main(&program, argc, argv, &settings, DEFAULT_CONFIG_FILE);
	if (status >= 0)
		return status;
	settings.server.address = settings.address;
	settings.server.tls_address = settings.address;
	if ((settings.tls_cert[0] == '\0') != (settings.tls_key[0] == '\0')) {
		fprintf(stderr, "chatroom-server: --tls-cert and --tls-key go together\n");
		return 2;
	}
	if (settings.tls_cert[0] != '\0') {
		settings.server.tls_cert = settings.tls_cert;
		settings.server.tls_key = settings.tls_key;
	}

	log_init(stdout, settings.level);
	/* A peer that vanished must cost an EPIPE from write(), not the
	 * process: libuv leaves SIGPIPE to the program. */
	signal(SIGPIPE, SIG_IGN);
	if (settings.server.flood_rate == 0)
		settings.server.flood_bytes_rate = 0; /* "no limit" means both */
	settings.server.history_path = choose_path(
		settings.history[0] != '\0', settings.history, sizeof(settings.history),
		DEFAULT_HISTORY_FILE, "history.jsonl", "history");
	settings.server.operators_path = settings.operators[0] != '\0' ? settings.operators : NULL;
	settings.server.redis_url = settings.redis[0] != '\0' ? settings.redis : NULL;
	settings.server.log_path = choose_path(
		settings.log[0] != '\0', settings.log, sizeof(settings.log),
		DEFAULT_LOG_FILE, "server.log", "conversation log");

	if (settings.web_root[0] == '\0')
		settings.server.web_root = CHATROOM_WEB_ROOT;
	else if (strcmp(settings.web_root, "none") != 0)
		settings.server.web_root = settings.web_root;

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
		fprintf(stderr, "chatroom-server: %s\n", cause);
	char why[256];
	if (rc == 0 && (rc = server_drop_privileges(server, settings.user[0] != '\0' ? settings.user : NULL,
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
