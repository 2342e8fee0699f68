#include "server.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "binpeer.h"
#include "bus_redis.h"
#include "jsonpeer.h"
#include "clock.h"
#include "log.h"
#include "moderation.h"
#include "msgack.h"
#include "privdrop.h"
#include "textpeer.h"
#include "web.h"

static void finish_stop_if_idle(struct server *s);

/* ---- the peers, as the server sees them come and go (conn_hooks) -------- */

/* Counted by address, seated in the chat, then admitted or refused. */
static void on_opened(struct conn *c)
{
	struct server *s = c->set->data;
	unsigned n = addresses_conn_add(&s->hub.addresses, conn_addr_key(c));
	c->counted_address = n > 0;
	c->address_count = n;
	hub_add(&s->hub, c);
	tcp_make_room(&s->tcp); /* a newcomer before a lingering close */
	if (s->conns.count > s->cfg.max_connections)
		conn_refuse(c, CHAT_ERR_SERVER_FULL, NULL, "server full");
	else if (c->counted_address && c->address_count > s->cfg.max_per_address)
		conn_refuse(c, CHAT_ERR_ADDRESS_FULL, NULL, "too many from its address");
}

static void on_left(struct conn *c)
{
	struct server *s = c->set->data;
	hub_remove(&s->hub, c);
}

static void on_closed(struct conn *c)
{
	struct server *s = c->set->data;
	if (c->counted_address)
		addresses_conn_remove(&s->hub.addresses, conn_addr_key(c));
	c->counted_address = false;
	if (s->stopping)
		finish_stop_if_idle(s);
}

static const struct conn_hooks hooks = {on_opened, on_left, on_closed};

/* ---- the flush ---------------------------------------------------------- */

/* A flush that disconnects someone may queue notices for others; they
 * are flushed now too (conns_flush). */
static void flush_pending(struct server *s)
{
	tcp_send_turn(&s->tcp); /* io_uring: the TCP peers' sends at once */
	conns_flush(&s->conns);
	s->last_flush_ns = uv_hrtime();
}

/* A flush sooner than --coalesce-us after the last one waits for the
 * timerfd instead (SERVER_DEFAULT_COALESCE_US says why). */
static bool flush_held(struct server *s)
{
	if (s->coalesce_fd < 0 || !conns_have_output(&s->conns))
		return false;
	uint64_t wait_ns = (uint64_t)s->cfg.coalesce_us * 1000u, since = uv_hrtime() - s->last_flush_ns;
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
	return !c->has_pseudo && c->hears && s->cfg.idle_ms > 0 &&
	       now - c->last_heard_ms > (int64_t)s->cfg.idle_ms;
}

/* An idle peer's housekeeping: what its output kept, and its budgets
 * once they are full again (a new set would be the same). */
static void trim(struct conn *c, int64_t now)
{
	conn_trim(c);
	const struct conn_budgets *b = conn_budgets_held(c);
	const struct server_config *cfg = c->set->cfg;
	if (b != NULL && b->strikes == 0 &&
	    level_full(&b->messages, cfg->flood_rate, cfg->flood_burst, now) &&
	    level_full(&b->bytes, cfg->flood_bytes_rate, cfg->flood_bytes_burst, now) &&
	    level_full(&b->pictures, PICTURE_BYTES_RATE, PICTURE_BYTES_BURST, now) &&
	    level_full(&b->room_creations, HUB_ROOM_CREATIONS_PER_S, HUB_ROOMS_PER_CONN, now))
		conn_budgets_forget(c);
}

/* Peers that never said a first line (a binary one: never got its
 * welcome), anonymous ones gone quiet, or those too far behind. */
static void sweep_conns(struct server *s)
{
	int64_t now = clock_ms();
	struct conn *c = LIST_FIRST(&s->conns.all);
	while (c != NULL) {
		struct conn *next = LIST_NEXT(c, link); /* conn_close unlinks c */
		if (c->closing) {
			c = next;
			continue;
		}
		if (!c->seen_line && now - c->connected_ms > (int64_t)s->cfg.handshake_ms)
			conn_refuse(c, CHAT_ERR_HANDSHAKE_TIMEOUT, NULL, "handshake timeout");
		else if (idle_anonymous(s, c, now))
			conn_refuse(c, CHAT_ERR_IDLE_TIMEOUT, NULL, "idle without a pseudo");
		else if (c->soft_since_ms != 0 &&
			 now - c->soft_since_ms > (int64_t)s->cfg.soft_queue_ms)
			conn_close(c, "slow reader: behind for too long");
		else
			trim(c, now);
		c = next;
	}
}

static void on_tick(uv_timer_t *timer)
{
	struct server *s = timer->data;
	sweep_conns(s);
	/* Give back to the system what a burst (a join storm, a flood of
	 * broadcasts) left free in the heap, so memory follows the load. */
	if (++s->ticks % 5 == 0) {
		malloc_trim(0);
		tcp_trim_memory(&s->tcp);
	}
	textlog_tick(&s->chatlog);
	hub_tick(&s->hub);
}

static void on_sighup(uv_signal_t *sig, int signum)
{
	(void)signum;
	struct server *s = sig->data;
	textlog_reopen(&s->chatlog);
	if (s->tls_on)
		tls_reload(&s->tls);
}

static void on_signal(uv_signal_t *sig, int signum)
{
	struct server *s = sig->data;
	log_notice("received %s, shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
	server_stop(s);
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
		snprintf(s->start_error, sizeof(s->start_error),
			 "cannot read the history file %s: %s", path, uv_strerror(rc));
		*cause = s->start_error;
		return rc;
	}
	const char *why = NULL;
	rc = history_open(&s->history, s->loop, path, s->cfg.fsync,
			  s->cfg.history_max_bytes, &why);
	if (rc < 0) {
		snprintf(s->start_error, sizeof(s->start_error),
			 "cannot open the history file %s: %s", path, why);
		*cause = s->start_error;
		return rc;
	}
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

/* The protocols a peer may speak, told apart by its first bytes. */
static void register_protocols(struct server *s)
{
	/* Nothing at first, or a text line: the course's protocol. */
	sniff_init(&s->sniffer, &textpeer_proto);
	/* The binary hello up to its version byte: a peer of another version
	 * is told so in its own protocol (binpeer.c). */
	sniff_add(&s->sniffer, WIRE_MAGIC, WIRE_MAGIC_LEN - 1, &binpeer_proto);
	/* No text line starts with NUL: anything else that does is refused. */
	sniff_add(&s->sniffer, "\0", 1, NULL);
	/* A browser: the page, and its WebSocket (web.c). */
	if (s->cfg.web_root != NULL) {
		sniff_add(&s->sniffer, "GET ", 4, &web_handover_proto);
		sniff_add(&s->sniffer, "HEAD ", 5, &web_handover_proto); /* curl -I */
	}
}

/* The certificate is read before any port is bound: a bad one stops the
 * start with its reason. */
static int start_tls(struct server *s, const char **cause)
{
	if (s->cfg.tls_cert == NULL)
		return 0;
	int rc = tls_init(&s->tls, s->cfg.tls_cert, s->cfg.tls_key, s->cfg.tls_handshake_ms,
			  s->cfg.tls_max_handshakes, s->tls_cause, sizeof(s->tls_cause));
	s->tls.max_per_address = s->cfg.tls_max_handshakes_per_address;
	s->tls.bridges.max_per_address = s->cfg.max_per_address;
	if (rc < 0) {
		tls_free(&s->tls);
		*cause = s->tls_cause;
		return rc;
	}
	s->tls_on = true;
	return 0;
}

static void on_picture_done(void *data)
{
	struct server *s = data;
	if (s->stopping)
		finish_stop_if_idle(s);
}

/* A start that failed part way: what was opened is closed, so that the
 * loop ends with no handle open (main runs it once more). Returns rc. */
static int undo_start(struct server *s, int rc)
{
	if (s->cluster != NULL)
		s->cluster->ops->close(s->cluster);
	s->cluster = NULL;
	web_stop(s->web);
	if (s->history_open)
		history_close(&s->history);
	s->history_open = false;
	if (s->hub.chatlog != NULL)
		textlog_close(&s->chatlog);
	s->hub.chatlog = NULL;
	picture_close(&s->pictures);
	conns_close(&s->conns);
	tcp_finish(&s->tcp);
	return rc;
}

int server_start(struct server *s, uv_loop_t *loop,
		 const struct server_config *cfg, const char **cause)
{
	memset(s, 0, sizeof(*s));
	s->coalesce_fd = -1;
	s->loop = loop;
	s->cfg = *cfg;
	fit_file_limit(s);
	register_protocols(s);
	conns_init(&s->conns, loop, &s->cfg, &s->sniffer, &s->hub, &hooks, s);
	picture_pool_init(&s->pictures, loop, on_picture_done, s);
	/* An address keeps twice the sessions it may have connections: every
	 * one of them, and as many away. */
	int rc = hub_init(&s->hub, cfg->history_size, cfg->max_rooms,
			  (int64_t)cfg->return_grace_ms,
			  cfg->max_per_address > UINT_MAX / 2 ? UINT_MAX : 2 * cfg->max_per_address,
			  s->clean_buf, sizeof(s->clean_buf));
	if (rc == 0 && cfg->max_rooms_per_peer > 0)
		s->hub.max_seats = cfg->max_rooms_per_peer;
	if (rc < 0) {
		*cause = uv_strerror(rc);
		return undo_start(s, rc);
	}
	s->hub.pictures = &s->pictures;
	if (cfg->history_path != NULL) {
		rc = start_history(s, cause);
		if (rc < 0)
			return undo_start(s, rc);
		/* Owned pseudos (issue 16) live next to the history. */
		char ids[4200];
		snprintf(ids, sizeof(ids), "%s.identities", cfg->history_path);
		identities_open(&s->hub.identities, ids);
	}
	rc = moderation_open(cfg->operators_path, cfg->history_path);
	if (rc < 0) {
		*cause = "cannot read the operators file";
		return undo_start(s, rc);
	}
	/* Event ids go on from the history's last. */
	bus_local_init(&s->bus, s->hub.last_event_id);
	if (cfg->redis_url != NULL) {
		rc = bus_redis_open(&s->cluster, loop, cfg->redis_url, cause);
		if (rc < 0)
			return undo_start(s, rc);
	}
	hub_attach_bus(&s->hub, s->cluster != NULL ? s->cluster : &s->bus.bus);
	s->hub.bus->acked = msgack_acked; /* numbered messages: ACK (issue 19) */
	if (cfg->log_path != NULL) {
		rc = textlog_open(&s->chatlog, loop, cfg->log_path);
		if (rc < 0) {
			/* A log asked for and not kept would be found missing only
			 * when it is needed: refuse to start, like the history. */
			snprintf(s->start_error, sizeof(s->start_error),
				 "cannot open the log file %s: %s", cfg->log_path, uv_strerror(rc));
			*cause = s->start_error;
			return undo_start(s, rc);
		}
		s->hub.chatlog = &s->chatlog;
		log_info("conversation log in %s", cfg->log_path);
	}

	if (cfg->web_root != NULL) {
		rc = web_start(&s->web, loop, &s->conns, cfg->web_root, &jsonpeer_proto, cause);
		s->conns.web = s->web;
		if (rc < 0) {
			log_error("cannot serve the web client: %s", *cause);
			return undo_start(s, rc);
		}
	}
	rc = start_tls(s, cause); /* its cause names the file already */
	const char *why = NULL;
	const char *where = cfg->address;
	int port = cfg->port;
	if (rc == 0)
		rc = tcp_listen(&s->tcp, loop, cfg->address, cfg->port, &s->conns, &why);
	if (rc == 0 && s->tls_on) {
		where = cfg->tls_address;
		port = cfg->tls_port;
		rc = tls_listen(&s->tls, loop, cfg->tls_address, cfg->tls_port, &s->conns, &why);
		if (rc < 0)
			tcp_stop(&s->tcp);
	}
	if (rc < 0) {
		if (why != NULL) {
			snprintf(s->start_error, sizeof(s->start_error), "cannot listen on %s:%d: %s",
				 where, port, why);
			*cause = s->start_error;
		}
		return undo_start(s, rc);
	}

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

	tcp_log_address(&s->tcp);
	if (s->tls_on)
		tls_log_address(&s->tls);
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

static void finish_stop_if_idle(struct server *s)
{
	/* Decodes, cancelled by server_stop, come back within a row first:
	 * their senders' memory waits for them. */
	if (s->conns.count > 0 || picture_jobs_running(&s->pictures) > 0 ||
	    uv_is_closing((uv_handle_t *)&s->flusher))
		return;
	picture_close(&s->pictures);
	conns_close(&s->conns);
	tcp_finish(&s->tcp);
	web_stop(s->web); /* its WebSockets have drained: they were conns */
	uv_close((uv_handle_t *)&s->flusher, NULL);
	if (s->coalesce_fd >= 0)
		uv_close((uv_handle_t *)&s->coalesce_poll, on_coalesce_closed);
	/* Held broadcasts are dropped with the peers; the events themselves
	 * are in the history, which is written and synced here. */
	if (s->cluster != NULL)
		s->cluster->ops->close(s->cluster);
	s->cluster = NULL;
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

	tcp_stop(&s->tcp);
	if (s->tls_on)
		tls_stop(&s->tls);
	uv_close((uv_handle_t *)&s->sigint, NULL);
	uv_close((uv_handle_t *)&s->sigterm, NULL);
	uv_close((uv_handle_t *)&s->ticker, NULL);
	uv_close((uv_handle_t *)&s->sighup, NULL);

	/* Everyone is told, each in its own protocol. */
	struct conn *c = LIST_FIRST(&s->conns.all);
	while (c != NULL) {
		struct conn *next = LIST_NEXT(c, link);
		if (c->hears)
			c->proto->send_info(c, CHAT_INFO_STOPPING, NULL);
		conn_close_after_flush(c, "server shutting down");
		c = next;
	}
	finish_stop_if_idle(s);
}

void server_free(struct server *s)
{
	web_free(s->web);
	s->web = NULL;
	if (s->tls_on)
		tls_free(&s->tls);
	textlog_close(&s->chatlog);
	hub_free(&s->hub);
	bus_local_free(&s->bus);
	msgack_close();
	moderation_close();
}
