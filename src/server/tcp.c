#include "tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "linger.h"
#include "log.h"
#include "server_config.h"
#include "uring_send.h"

/* At most this many buffers per write: several senders' messages of one
 * loop turn leave in a single writev. */
#define TCP_WRITE_BUFS 64

/* A peer's part of its conn (conn_transport). */
struct tcp_peer {
	uv_tcp_t handle;           /* .data: the server (conn_of finds the conn) */
	uv_write_t *write_req;     /* made for the first write the socket refused */
	bool writing;
	/* Left by tcp_send_turn for this turn's kick: the socket refused part
	 * of the output, or the send failed (a negative errno). */
	bool refused;
	int send_error;
};
CONN_TRANSPORT_FITS(struct tcp_peer);

static struct tcp_peer *peer_of(struct conn *c)
{
	return conn_transport(c);
}

static struct conn *conn_of(void *handle)
{
	return conn_of_transport(handle); /* the handle starts the peer's part */
}

/* ---- reading ------------------------------------------------------------ */

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct tcp_server *t = handle->data;
	if (t->read_buf_lent) {
		/* Cannot happen on one thread; libuv reports UV_ENOBUFS if it does. */
		*buf = uv_buf_init(NULL, 0);
		return;
	}
	t->read_buf_lent = true;
	*buf = uv_buf_init(t->read_buf, sizeof(t->read_buf));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = conn_of(stream);
	struct tcp_server *t = stream->data;
	if (buf->base == t->read_buf)
		t->read_buf_lent = false;
	if (nread > 0)
		conn_received(c, buf->base, (size_t)nread);
	else if (nread < 0)
		conn_eof(c, nread == UV_EOF ? NULL : uv_strerror((int)nread));
}

static int tcp_set_reading(struct conn *c, bool on)
{
	uv_stream_t *stream = (uv_stream_t *)&peer_of(c)->handle;
	if (!on)
		return uv_read_stop(stream);
	return uv_read_start(stream, on_alloc, on_read);
}

/* ---- writing ------------------------------------------------------------ */

static void on_written(uv_write_t *req, int status)
{
	struct conn *c = req->data;
	peer_of(c)->writing = false;
	/* A closed conn has nothing left to write: UV_ECANCELED arrives while
	 * the handle closes, and so does a write libuv completed at once
	 * (status 0), with frames still queued behind it. */
	if (c->closing && !c->draining)
		return;
	if (status < 0) {
		conn_close(c, uv_strerror(status));
		return;
	}
	conn_wrote(c, c->in_flight);
}

/* Writes straight away while the socket takes it. Returns false when the
 * conn was closed on an error. */
static bool write_now(struct conn *c)
{
	struct tcp_peer *p = peer_of(c);
	uv_buf_t bufs[TCP_WRITE_BUFS];
	while (c->out.count > 0) {
		unsigned n = outq_peek(&c->out, bufs, TCP_WRITE_BUFS);
		size_t total = 0;
		for (unsigned i = 0; i < n; i++)
			total += bufs[i].len;
		int rc = uv_try_write((uv_stream_t *)&p->handle, bufs, n);
		if (rc == UV_EAGAIN)
			return true;
		if (rc < 0) {
			conn_close(c, uv_strerror(rc));
			return false;
		}
		outq_consume(&c->out, (size_t)rc);
		if ((size_t)rc < total)
			return true;
	}
	return true;
}

/* What the socket refused goes out as one uv_write, watched by libuv. */
static void write_later(struct conn *c)
{
	struct tcp_peer *p = peer_of(c);
	uv_buf_t bufs[TCP_WRITE_BUFS];
	unsigned n = outq_peek(&c->out, bufs, TCP_WRITE_BUFS);
	size_t total = 0;
	for (unsigned i = 0; i < n; i++)
		total += bufs[i].len;
	if (p->write_req == NULL) {
		p->write_req = malloc(sizeof(*p->write_req));
		if (p->write_req == NULL) {
			conn_close(c, "out of memory for a write");
			return;
		}
		p->write_req->data = c;
	}
	int rc = uv_write(p->write_req, (uv_stream_t *)&p->handle, bufs, n, on_written);
	if (rc < 0) {
		conn_close(c, uv_strerror(rc));
		return;
	}
	p->writing = true;
	c->in_flight = total;
}

/* While a uv_write is under way, on_written reports it (conn_wrote). */
static void tcp_kick(struct conn *c)
{
	struct tcp_peer *p = peer_of(c);
	bool refused = p->refused;
	p->refused = false;
	if (p->send_error != 0) {
		int error = p->send_error;
		p->send_error = 0;
		conn_close(c, uv_strerror(error));
		return;
	}
	if (p->writing || (!refused && !write_now(c)))
		return;
	if (c->out.count > 0)
		write_later(c);
}

static void tcp_trim(struct conn *c)
{
	struct tcp_peer *p = peer_of(c);
	if (p->writing)
		return;
	free(p->write_req);
	p->write_req = NULL;
}

/* ---- closing ------------------------------------------------------------ */

static void on_closed(uv_handle_t *handle)
{
	struct conn *c = conn_of(handle);
	free(peer_of(c)->write_req); /* libuv has called back every write by now */
	peer_of(c)->write_req = NULL;
	conn_transport_closed(c);
}

static void tcp_close(struct conn *c)
{
	uv_close((uv_handle_t *)&peer_of(c)->handle, on_closed);
}

/* All it was owed is written: it lingers (linger.h; at the stop only
 * while its output is unacknowledged) if the conns and lingering closes,
 * a descriptor each, stay within --max-connections (c counts among the
 * conns no more, so it takes one more: the oldest lingering one is cut
 * for it if need be); else it is closed at once, its FIN first. */
static void tcp_close_flushed(struct conn *c)
{
	struct tcp_server *t = peer_of(c)->handle.data;
	size_t max = t->conns->cfg->max_connections;
	while (t->conns->count + linger_count(&t->lingers) >= max && linger_cut_oldest(&t->lingers))
		;
	bool room = t->conns->count + linger_count(&t->lingers) < max;
	linger_close(&t->lingers, &peer_of(c)->handle, room);
}

void tcp_make_room(struct tcp_server *t)
{
	while (linger_count(&t->lingers) > 0 &&
	       t->conns->count + linger_count(&t->lingers) > t->conns->cfg->max_connections)
		linger_cut_oldest(&t->lingers);
}

/* What the kernel holds for us: 0 when it cannot tell, so a silence
 * still ends. */
bool tcp_input_waiting_on(uv_handle_t *socket)
{
	uv_os_fd_t fd;
	int waiting = 0;
	if (uv_fileno(socket, &fd) < 0 || ioctl(fd, FIONREAD, &waiting) < 0)
		return false;
	return waiting > 0;
}

static bool tcp_input_waiting(struct conn *c)
{
	return tcp_input_waiting_on((uv_handle_t *)&peer_of(c)->handle);
}

/* A duplicate of the socket: the handle's own descriptor goes with the
 * handle (libuv takes it out of epoll first), the socket stays open. */
static int tcp_give_socket(struct conn *c)
{
	uv_os_fd_t fd;
	uv_read_stop((uv_stream_t *)&peer_of(c)->handle);
	int rc = uv_fileno((uv_handle_t *)&peer_of(c)->handle, &fd);
	if (rc < 0)
		return rc;
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return copy < 0 ? -errno : copy;
}

static const struct transport_ops tcp_transport = {
	.name = "tcp",
	.kick = tcp_kick,
	.set_reading = tcp_set_reading,
	.close = tcp_close,
	.close_flushed = tcp_close_flushed,
	.trim = tcp_trim,
	.input_waiting = tcp_input_waiting,
	.give_socket = tcp_give_socket,
};

/* ---- a turn's sends through io_uring (IO_URING) ------------------------- */

static void on_sent(void *who, int result, size_t asked, void *arg)
{
	(void)arg;
	struct conn *c = who;
	struct tcp_peer *p = peer_of(c);
	if (result == -ECANCELED)
		return; /* never submitted: the kick writes as usual */
	if (result < 0 && result != -EAGAIN) {
		p->send_error = result;
		return;
	}
	if (result > 0)
		outq_consume(&c->out, (size_t)result);
	/* Short of what was asked, the socket is full: the kick hands the rest
	 * to uv_write. All of it: the kick's writev sends what did not fit. */
	p->refused = (size_t)(result < 0 ? 0 : result) < asked;
}

static void send_queued(struct tcp_server *t)
{
	if (uring_send_run(t->uring, on_sent, NULL))
		return;
	log_warn("io_uring failed: sending with writev from now on");
	uring_send_free(t->uring);
	t->uring = NULL;
}

void tcp_send_turn(struct tcp_server *t)
{
	if (t->uring == NULL)
		return;
	struct conn *c;
	LIST_FOREACH(c, &t->conns->pending, pending_link) {
		struct tcp_peer *p = peer_of(c);
		uv_os_fd_t fd;
		/* As conn_flush would kick it: a doomed or closed conn is not. */
		if (c->transport != &tcp_transport || !c->proto_started ||
		    (c->closing && !c->draining) || c->doom != CONN_FINE || c->out.count == 0 ||
		    p->writing || p->refused || p->send_error != 0 ||
		    uv_fileno((uv_handle_t *)&p->handle, &fd) < 0)
			continue;
		if (uring_send_full(t->uring)) {
			send_queued(t);
			if (t->uring == NULL)
				return;
		}
		size_t space;
		char *gather = uring_send_gather(t->uring, &space);
		if (c->out.count > 1 && c->out.bytes <= space) {
			outq_copy(&c->out, gather);
			uring_send_queue_gathered(t->uring, fd, c->out.bytes, c);
			continue;
		}
		unsigned room;
		uv_buf_t *bufs = uring_send_bufs(t->uring, &room);
		uring_send_queue(t->uring, fd, outq_peek(&c->out, bufs, room), c);
	}
	send_queued(t);
}

void tcp_trim_memory(struct tcp_server *t)
{
	uring_send_trim(t->uring);
}

/* ---- accepting ---------------------------------------------------------- */

/* A peer that vanished without a word (cable pulled, laptop shut) is
 * found by TCP keepalive: probed after a minute of silence, every 10 s,
 * given up after 3 unanswered probes. Text peers cannot answer a PING. */
static void keep_alive(uv_tcp_t *handle)
{
	uv_tcp_keepalive(handle, 1, 60);
	uv_os_fd_t fd;
	if (uv_fileno((uv_handle_t *)handle, &fd) == 0) {
		int interval = 10, probes = 3;
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof(probes));
	}
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct tcp_server *t = listener->data;
	if (status < 0) {
		log_warn("accept failed: %s", uv_strerror(status));
		return;
	}
	struct conn *c = conn_new(t->conns, &tcp_transport, sizeof(struct tcp_peer));
	if (c == NULL) {
		log_warn("accept failed: %s", uv_strerror(UV_ENOMEM));
		return;
	}
	struct tcp_peer *p = peer_of(c);
	uv_tcp_init(listener->loop, &p->handle);
	p->handle.data = t;
	int rc = uv_accept(listener, (uv_stream_t *)&p->handle);
	if (rc < 0) {
		log_warn("accept failed: %s", uv_strerror(rc));
		uv_close((uv_handle_t *)&p->handle, on_closed);
		return;
	}
	/* Chat lines are small and must not wait for Nagle's delay. */
	uv_tcp_nodelay(&p->handle, 1);
	keep_alive(&p->handle);
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	bool known = uv_tcp_getpeername(&p->handle, (struct sockaddr *)&ss, &len) == 0;
	conn_set_address(c, known ? (struct sockaddr *)&ss : NULL);
	conn_open(c);
}

/* ---- listening ---------------------------------------------------------- */

/* Binds a socket of our own to one address, so that a failed bind leaves
 * the listener handle free for the next address (*taken says when it no
 * longer is). 0 or a UV_E* code. */
static int listen_on(uv_tcp_t *listener, const struct addrinfo *ai, uv_connection_cb cb,
		     bool *taken)
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
	int rc = uv_tcp_open(listener, fd);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	*taken = true;
	return uv_listen((uv_stream_t *)listener, SOMAXCONN, cb);
}

/* The address is numeric or a host name, resolved here (at start, so a
 * blocking lookup is fine); the first of its addresses that binds wins:
 * "localhost" may give ::1 and 127.0.0.1, and either may be missing. */
int tcp_bind(uv_tcp_t *listener, const char *address, int port, uv_connection_cb cb,
	     const char **cause)
{
	char service[16];
	snprintf(service, sizeof(service), "%d", port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *found = NULL;
	int rc = getaddrinfo(address, service, &hints, &found);
	if (rc != 0) {
		*cause = rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc);
		return UV_EINVAL;
	}
	rc = UV_EADDRNOTAVAIL;
	bool taken = false;
	for (const struct addrinfo *ai = found; ai != NULL && !taken; ai = ai->ai_next)
		rc = listen_on(listener, ai, cb, &taken);
	freeaddrinfo(found);
	if (rc < 0) {
		*cause = uv_strerror(rc);
		return rc;
	}
	return 0;
}

/* The first descriptor systemd passes (sd_listen_fds(3)). */
#define TCP_LISTEN_FDS_START 3

/*
 * Socket activation: when LISTEN_PID names this process and LISTEN_FDS is
 * at least 1, systemd (or systemd-socket-activate) bound and listens on
 * descriptor 3 for us, so the port is open before we start and stays open
 * across restarts. The protocol is two variables and one descriptor;
 * libsystemd's sd_listen_fds() would be a dependency for that alone.
 * Returns 1 when the listener was taken, 0 when none was passed, or a
 * negative errno with *cause.
 */
static int adopt_listener(struct tcp_server *t, const char **cause)
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

	int fd = TCP_LISTEN_FDS_START, type = 0, listening = 0;
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
	int rc = uv_tcp_open(&t->listener, fd);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&t->listener, SOMAXCONN, on_connection);
	if (rc < 0) {
		*cause = uv_strerror(rc);
		return rc;
	}
	log_info("socket activation: listening on the passed descriptor 3");
	return 1;
}

void tcp_log_listener(uv_tcp_t *listener, const char *what)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char ip[64] = "?";
	int port = 0;
	uv_tcp_getsockname(listener, (struct sockaddr *)&ss, &len);
	if (ss.ss_family == AF_INET6) {
		uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else {
		uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	log_notice("chatroom-server listening%s on %s:%d", what, ip, port);
}

void tcp_log_address(struct tcp_server *t)
{
	tcp_log_listener(&t->listener, "");
}

int tcp_listen(struct tcp_server *t, uv_loop_t *loop, const char *address, int port,
	       struct conns *conns, const char **cause)
{
	t->conns = conns;
	t->read_buf_lent = false;
	uv_tcp_init(loop, &t->listener);
	t->listener.data = t;
	int rc = adopt_listener(t, cause);
	if (rc == 0)
		rc = tcp_bind(&t->listener, address, port, on_connection, cause);
	if (rc < 0) {
		uv_close((uv_handle_t *)&t->listener, NULL);
		return rc;
	}
	t->listening = true;
	lingers_init(&t->lingers, loop, on_closed);
	t->uring = NULL;
	if (conns->cfg->io_uring) {
		const char *why = NULL;
		t->uring = uring_send_new(&why);
		if (t->uring == NULL)
			log_warn("io_uring refused (%s): sending with writev", why);
		else
			log_info("sending through io_uring");
	}
	return 0;
}

void tcp_stop(struct tcp_server *t)
{
	uring_send_free(t->uring); /* the flushes of the shutdown use writev */
	t->uring = NULL;
	if (!t->listening)
		return;
	t->listening = false;
	uv_close((uv_handle_t *)&t->listener, NULL);
	lingers_stop(&t->lingers);
}

void tcp_finish(struct tcp_server *t)
{
	lingers_finish(&t->lingers);
}
