#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"
#include "frame.h"
#include "log.h"
#include "picture.h"
#include "privdrop.h"
#include "textproto.h"

const char *server_admit(struct server *s, struct conn *c)
{
	if (s->conn_count > s->cfg.max_connections)
		return "le serveur est plein";
	if (c->counted_address && c->address_count > s->cfg.max_per_address)
		return "trop de connexions depuis votre adresse";
	return NULL;
}

void server_add_conn(struct server *s, struct conn *c)
{
	unsigned n = strcount_add(&s->per_address, c->addr_key);
	c->counted_address = n > 0;
	c->address_count = n;
	LIST_INSERT_HEAD(&s->conns, c, link);
	s->conn_count++;
}

static void finish_stop_if_idle(struct server *s);

void server_remove_conn(struct server *s, struct conn *c)
{
	if (c->counted_address)
		strcount_remove(&s->per_address, c->addr_key);
	c->counted_address = false;
	LIST_REMOVE(c, link);
	s->conn_count--;
	if (s->stopping)
		finish_stop_if_idle(s);
}

void server_mark_pending(struct server *s, struct conn *c)
{
	if (c->pending)
		return;
	c->pending = true;
	LIST_INSERT_HEAD(&s->pending, c, pending_link);
}

void server_unmark_pending(struct server *s, struct conn *c)
{
	(void)s; /* the list head is not needed to unlink */
	if (!c->pending)
		return;
	LIST_REMOVE(c, pending_link);
	c->pending = false;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A flush that disconnects someone may queue notices for others; they
 * are flushed now too. */
static void flush_pending(struct server *s)
{
	struct conn *c;
	while ((c = LIST_FIRST(&s->pending)) != NULL) {
		server_unmark_pending(s, c);
		conn_flush(c);
	}
	s->last_flush_ns = monotonic_ns();
}

/* With --coalesce-us, a flush sooner than that after the last one waits
 * for the timerfd instead. */
static bool flush_held(struct server *s)
{
	if (s->coalesce_fd < 0 || LIST_EMPTY(&s->pending))
		return false;
	uint64_t wait_ns = (uint64_t)s->cfg.coalesce_us * 1000u, since = monotonic_ns() - s->last_flush_ns;
	if (since >= wait_ns)
		return false;
	if (!s->coalesce_armed) {
		struct itimerspec due = {.it_value = {.tv_nsec = (long)(wait_ns - since)}};
		if (timerfd_settime(s->coalesce_fd, 0, &due, NULL) < 0)
			return false;
		s->coalesce_armed = true;
	}
	return true;
}

static void on_coalesce_due(uv_poll_t *poll, int status, int events)
{
	(void)status;
	(void)events;
	struct server *s = poll->data;
	uint64_t expirations;
	if (read(s->coalesce_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_warn("coalescing timer: %s", strerror(errno));
	s->coalesce_armed = false;
	flush_pending(s);
}

static void start_coalescing(struct server *s)
{
	s->coalesce_fd = -1;
	if (s->cfg.coalesce_us == 0)
		return;
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0 || uv_poll_init(s->loop, &s->coalesce_poll, fd) < 0) {
		log_warn("cannot coalesce flushes (%s): flushing every loop turn", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	s->coalesce_fd = fd;
	s->coalesce_poll.data = s;
	uv_poll_start(&s->coalesce_poll, UV_READABLE, on_coalesce_due);
}

static void on_coalesce_closed(uv_handle_t *handle)
{
	struct server *s = handle->data;
	close(s->coalesce_fd);
	s->coalesce_fd = -1;
}

/* Once per loop turn, after every readable socket was handled: each peer
 * gets everything said this turn in one write. */
static void on_flush(uv_prepare_t *prepare)
{
	struct server *s = prepare->data;
	if (!flush_held(s))
		flush_pending(s);
	/* Everything said this turn goes to disk in one write. */
	if (s->history_open)
		history_kick(&s->history);
	textlog_kick(&s->chatlog);
}

/* A text peer without a pseudo that has been quiet too long. Binary
 * peers have one from their welcome on (and the handshake before). */
static bool idle_anonymous(const struct server *s, const struct conn *c, int64_t now)
{
	return !c->has_pseudo && c->proto != CONN_BINARY && s->cfg.idle_ms > 0 &&
	       now - c->last_heard_ms > (int64_t)s->cfg.idle_ms;
}

/* Peers that never said a first line (a binary one: never got its
 * welcome), anonymous ones gone quiet, or those too far behind. */
static void sweep_conns(struct server *s)
{
	int64_t now = clock_ms();
	struct conn *c = LIST_FIRST(&s->conns);
	while (c != NULL) {
		struct conn *next = LIST_NEXT(c, link); /* conn_close unlinks c */
		if (c->closing) {
			c = next;
			continue;
		}
		if (!c->seen_line && now - c->connected_ms > (int64_t)s->cfg.handshake_ms) {
			hub_refuse(c, WIRE_ERR_TIMEOUT,
				   "délai dépassé : envoyez une première ligne (Hello|pseudo)",
				   "handshake timeout");
		} else if (idle_anonymous(s, c, now)) {
			hub_refuse(c, WIRE_ERR_TIMEOUT,
				   "délai dépassé : inactif sans pseudo (Hello|pseudo)",
				   "idle without a pseudo");
		} else if (c->soft_since_ms != 0 &&
			   now - c->soft_since_ms > (int64_t)s->cfg.soft_queue_ms) {
			conn_close(c, "slow reader: behind for too long");
		} else {
			conn_trim(c);
		}
		c = next;
	}
}

static void on_tick(uv_timer_t *timer)
{
	struct server *s = timer->data;
	sweep_conns(s);
	/* Give back to the system what a burst (a join storm, a flood of
	 * broadcasts) left free in the heap, so memory follows the load. */
	if (++s->ticks % 5 == 0)
		malloc_trim(0);
	textlog_tick(&s->chatlog);
	hub_tick(&s->hub);
}

static void on_sighup(uv_signal_t *sig, int signum)
{
	(void)signum;
	struct server *s = sig->data;
	textlog_reopen(&s->chatlog);
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct server *s = listener->data;
	if (status < 0) {
		log_warn("accept failed: %s", uv_strerror(status));
		return;
	}
	int rc = conn_accept(s, listener);
	if (rc < 0)
		log_warn("accept failed: %s", uv_strerror(rc));
}

static void on_signal(uv_signal_t *sig, int signum)
{
	struct server *s = sig->data;
	log_notice("received %s, shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
	server_stop(s);
}

/* Binds a socket of our own to one address, so that a failed bind leaves
 * the listener handle free for the next address (*taken says when it no
 * longer is). 0 or a UV_E* code. */
static int listen_on(struct server *s, const struct addrinfo *ai, bool *taken)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	int on = 1; /* as uv_tcp_bind does: a restart need not wait for TIME_WAIT */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	int rc = uv_tcp_open(&s->listener, fd);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	*taken = true;
	return uv_listen((uv_stream_t *)&s->listener, SOMAXCONN, on_connection);
}

/* The address is numeric or a host name, resolved here (at start, so a
 * blocking lookup is fine); the first of its addresses that binds wins:
 * "localhost" may give ::1 and 127.0.0.1, and either may be missing. */
static int bind_listener(struct server *s, const char **cause)
{
	char port[16];
	snprintf(port, sizeof(port), "%d", s->cfg.port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *found = NULL;
	int rc = getaddrinfo(s->cfg.address, port, &hints, &found);
	if (rc != 0) {
		*cause = rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc);
		return UV_EINVAL;
	}
	rc = UV_EADDRNOTAVAIL;
	bool taken = false;
	for (const struct addrinfo *ai = found; ai != NULL && !taken; ai = ai->ai_next)
		rc = listen_on(s, ai, &taken);
	freeaddrinfo(found);
	if (rc < 0) {
		*cause = uv_strerror(rc);
		return rc;
	}
	return 0;
}

/* The first descriptor systemd passes (sd_listen_fds(3)). */
#define SERVER_LISTEN_FDS_START 3

/*
 * Socket activation: when LISTEN_PID names this process and LISTEN_FDS is
 * at least 1, systemd (or systemd-socket-activate) bound and listens on
 * descriptor 3 for us, so the port is open before we start and stays open
 * across restarts. The protocol is two variables and one descriptor;
 * libsystemd's sd_listen_fds() would be a dependency for that alone.
 * Returns 1 when the listener was taken, 0 when none was passed, or a
 * negative errno with *cause.
 */
static int adopt_listener(struct server *s, const char **cause)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	if (pid == NULL || fds == NULL)
		return 0;
	char *end;
	errno = 0;
	long listen_pid = strtol(pid, &end, 10);
	if (errno != 0 || end == pid || *end != '\0' || listen_pid != (long)getpid())
		return 0; /* meant for another process */
	long count = strtol(fds, &end, 10);
	bool valid = end != fds && *end == '\0';
	/* Whatever we start later must not take these for its own. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (!valid || count < 1)
		return 0;
	if (count > 1)
		log_warn("%ld sockets passed: listening on the first only", count);

	int fd = SERVER_LISTEN_FDS_START, type = 0, listening = 0;
	socklen_t len = sizeof(type);
	struct sockaddr_storage ss;
	socklen_t ss_len = sizeof(ss);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM ||
	    getsockname(fd, (struct sockaddr *)&ss, &ss_len) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
		*cause = "the passed descriptor 3 is not a TCP socket";
		return UV_EINVAL;
	}
	len = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && !listening)
		log_warn("the passed socket was not listening: listening on it now");
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	int rc = uv_tcp_open(&s->listener, fd);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&s->listener, SOMAXCONN, on_connection);
	if (rc < 0) {
		*cause = uv_strerror(rc);
		return rc;
	}
	log_info("socket activation: listening on the passed descriptor 3");
	return 1;
}

static void print_listening(struct server *s)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char ip[64] = "?";
	int port = 0;
	uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len);
	if (ss.ss_family == AF_INET6) {
		uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else {
		uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	log_notice("chatroom-server listening on %s:%d", ip, port);
}

/* A line of the server's own in the conversation log. */
static void note(struct server *s, const char *text)
{
	textlog_line(&s->chatlog, 0, "[-]", text, strlen(text));
}

static int start_history(struct server *s, const char **cause)
{
	const char *path = s->cfg.history_path;
	int rc = hub_load_history(&s->hub, path);
	if (rc < 0) {
		*cause = "cannot read the history file";
		return rc;
	}
	rc = history_open(&s->history, s->loop, path, s->cfg.fsync,
			  s->cfg.history_max_bytes, cause);
	if (rc < 0)
		return rc;
	s->history_open = true;
	hub_attach_history(&s->hub, &s->history);
	log_info("history in %s (last event %llu)", path,
		 (unsigned long long)s->hub.last_event_id);
	return 0;
}

/* Descriptors the server needs besides its peers: stdio, the loop's own,
 * the listener, the history, the log, a compaction, libuv's EMFILE spare. */
#define SERVER_RESERVED_FDS 20

/* Raises the open-file limit to its hard maximum and keeps the peers
 * within it: past it, accept() would fail and libuv would close newcomers
 * without a word, where a full server says so. */
static void fit_file_limit(struct server *s)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur <= SERVER_RESERVED_FDS)
		return;
	size_t fit = (size_t)rl.rlim_cur - SERVER_RESERVED_FDS;
	if (fit < s->cfg.max_connections) {
		log_warn("at most %zu connections: the open file limit is %llu", fit,
			 (unsigned long long)rl.rlim_cur);
		s->cfg.max_connections = fit;
	}
}

int server_start(struct server *s, uv_loop_t *loop,
		 const struct server_config *cfg, const char **cause)
{
	memset(s, 0, sizeof(*s));
	LIST_INIT(&s->conns);
	LIST_INIT(&s->pending);
	s->coalesce_fd = -1;
	s->loop = loop;
	s->cfg = *cfg;
	fit_file_limit(s);
	/* An address keeps twice the sessions it may have connections: every
	 * one of them, and as many away. */
	int rc = hub_init(&s->hub, cfg->history_size, cfg->max_rooms,
			  (int64_t)cfg->return_grace_ms,
			  cfg->max_per_address > UINT_MAX / 2 ? UINT_MAX : 2 * cfg->max_per_address,
			  s->clean_buf, sizeof(s->clean_buf));
	if (rc == 0)
		rc = strcount_init(&s->per_address);
	s->hub.flood_strikes = cfg->flood_strikes;
	if (rc < 0) {
		*cause = uv_strerror(rc);
		return rc;
	}
	if (cfg->history_path != NULL) {
		rc = start_history(s, cause);
		if (rc < 0)
			return rc;
	}
	if (cfg->log_path != NULL) {
		rc = textlog_open(&s->chatlog, loop, cfg->log_path);
		if (rc < 0) {
			/* The chat goes on without its log; say so, loudly. */
			log_error("cannot open the log file %s: %s", cfg->log_path,
				  uv_strerror(rc));
		} else {
			s->hub.chatlog = &s->chatlog;
			log_info("conversation log in %s", cfg->log_path);
		}
	}

	uv_tcp_init(loop, &s->listener);
	s->listener.data = s;
	rc = adopt_listener(s, cause);
	if (rc == 0)
		rc = bind_listener(s, cause);
	if (rc < 0) {
		uv_close((uv_handle_t *)&s->listener, NULL);
		if (s->history_open)
			history_close(&s->history);
		return rc;
	}
	s->listening = true;

	uv_prepare_init(loop, &s->flusher);
	s->flusher.data = s;
	uv_prepare_start(&s->flusher, on_flush);
	start_coalescing(s);

	uv_timer_init(loop, &s->ticker);
	s->ticker.data = s;
	uv_timer_start(&s->ticker, on_tick, 1000, 1000);

	uv_signal_init(loop, &s->sighup);
	s->sighup.data = s;
	uv_signal_start(&s->sighup, on_sighup, SIGHUP);

	uv_signal_init(loop, &s->sigint);
	s->sigint.data = s;
	uv_signal_start(&s->sigint, on_signal, SIGINT);
	uv_signal_init(loop, &s->sigterm);
	s->sigterm.data = s;
	uv_signal_start(&s->sigterm, on_signal, SIGTERM);

	print_listening(s);
	note(s, "chatroom-server started");
	return 0;
}

int server_drop_privileges(struct server *s, const char *user, char *why, size_t why_len)
{
	if (user == NULL) {
		if (geteuid() == 0)
			log_warn("running as root: give --user NAME (USER=) to run as that user "
				 "once the port and the files are open");
		return 0;
	}
	int fds[2];
	size_t n = 0;
	if (s->history_open)
		fds[n++] = s->history.file.fd;
	if (s->chatlog.open)
		fds[n++] = s->chatlog.file.fd;
	int rc = privdrop_become(user, fds, n, why, why_len);
	if (rc < 0)
		return rc;
	log_notice("running as %s (uid %u, gid %u)", user, (unsigned)getuid(), (unsigned)getgid());
	if (s->history_open)
		history_check_dir(&s->history);
	return 0;
}

/* The last handles go once every conn is gone; then uv_run returns. */
void server_job_ended(struct server *s)
{
	if (s->stopping)
		finish_stop_if_idle(s);
}

static void finish_stop_if_idle(struct server *s)
{
	/* Decodes, cancelled by server_stop, come back within a row first:
	 * their senders' memory waits for them. */
	if (s->conn_count > 0 || picture_jobs_running(&s->pictures) > 0 ||
	    uv_is_closing((uv_handle_t *)&s->flusher))
		return;
	picture_close(&s->pictures);
	uv_close((uv_handle_t *)&s->flusher, NULL);
	if (s->coalesce_fd >= 0)
		uv_close((uv_handle_t *)&s->coalesce_poll, on_coalesce_closed);
	/* Held broadcasts are dropped with the peers; the events themselves
	 * are in the history, which is written and synced here. */
	if (s->history_open)
		history_close(&s->history);
	note(s, "chatroom-server stopped");
	log_notice("stopped");
}

void server_stop(struct server *s)
{
	if (s->stopping)
		return;
	s->stopping = true;
	s->hub.quiet = true;
	picture_stop(&s->pictures); /* decodes are abandoned, not waited for */

	uv_close((uv_handle_t *)&s->listener, NULL);
	s->listening = false;
	uv_close((uv_handle_t *)&s->sigint, NULL);
	uv_close((uv_handle_t *)&s->sigterm, NULL);
	uv_close((uv_handle_t *)&s->ticker, NULL);
	uv_close((uv_handle_t *)&s->sighup, NULL);

	/* Everyone is told, each in its own protocol. */
	static const char stop[] = TEXT_SERVER_STOP;
	struct frame *bye_text = frame_printf("%s\n", stop);
	struct frame *bye_binary = wire_encode(&(struct wire_msg){
		.type = WIRE_NOTICE, .kind = WIRE_NOTICE_INFO, .colour = -1,
		.time_ms = (uint64_t)clock_wall_ms(), .text = {stop, sizeof(stop) - 1}});
	struct conn *c = LIST_FIRST(&s->conns);
	while (c != NULL) {
		struct conn *next = LIST_NEXT(c, link);
		struct frame *bye = c->proto == CONN_BINARY ? bye_binary : bye_text;
		if (bye != NULL && (c->proto != CONN_BINARY || c->has_pseudo))
			conn_send(c, bye);
		conn_close_after_flush(c, "server shutting down");
		c = next;
	}
	frame_unref(bye_text);
	frame_unref(bye_binary);
	finish_stop_if_idle(s);
}

void server_free(struct server *s)
{
	strcount_free(&s->per_address);
	textlog_close(&s->chatlog);
	hub_free(&s->hub);
}
