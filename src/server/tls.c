#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "conn.h"
#include "log.h"
#include "tcp.h"
#include "tlsbridge.h"

/* The first byte of a TLS handshake record (a ClientHello). */
#define TLS_HANDSHAKE_RECORD 0x16
/* Plaintext handed to OpenSSL per turn of the write loop: its output BIO
 * stays within a record or so. */
#define TLS_WRITE_CHUNK (16 * 1024)
/* What OpenSSL may have to say (key update answers) while a write waits. */
#define TLS_MAX_UNSENT (64 * 1024)

/* A peer's part of its conn (conn_transport). */
struct tls_peer {
	uv_tcp_t handle;          /* .data: the conn */
	uv_timer_t deadline;      /* the handshake's; .data: the conn */
	struct tls_server *server;
	SSL *ssl;
	BIO *in, *out;            /* ciphertext: from the socket, for the socket */
	LIST_ENTRY(tls_peer) shaking_link;
	unsigned handles;         /* open: the socket and the timer */
	bool shaking;             /* handshake in progress, in server->shaking */
	bool open;                /* handshake done: conn_open was called */
	bool seen_first;          /* the first byte was checked */
	bool reading;
	bool closing;
	bool writing;             /* write_req under way, with cipher */
	uv_write_t write_req;
	char *cipher;             /* what the socket refused, being written */
};
CONN_TRANSPORT_FITS(struct tls_peer);

static struct tls_peer *peer_of(struct conn *c)
{
	return conn_transport(c);
}

/* ---- closing ------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *handle)
{
	struct conn *c = handle->data;
	struct tls_peer *p = peer_of(c);
	if (--p->handles > 0)
		return;
	SSL_free(p->ssl); /* and both BIOs */
	p->ssl = NULL;
	free(p->cipher);
	p->cipher = NULL;
	conn_transport_closed(c);
}

static void leave_shaking(struct tls_peer *p)
{
	if (!p->shaking)
		return;
	p->shaking = false;
	LIST_REMOVE(p, shaking_link);
	p->server->handshakes--;
}

static void tls_close(struct conn *c)
{
	struct tls_peer *p = peer_of(c);
	if (p->closing)
		return;
	p->closing = true;
	leave_shaking(p);
	/* A close_notify when the session is up and no write waits: a
	 * well-behaved peer tells a clean end from a cut. */
	if (p->open && !p->writing && p->ssl != NULL && SSL_shutdown(p->ssl) >= 0) {
		char *data;
		long n = BIO_get_mem_data(p->out, &data);
		if (n > 0) {
			uv_buf_t b = uv_buf_init(data, (unsigned)n);
			uv_try_write((uv_stream_t *)&p->handle, &b, 1);
		}
	}
	ERR_clear_error();
	uv_close((uv_handle_t *)&p->handle, on_handle_closed);
	uv_close((uv_handle_t *)&p->deadline, on_handle_closed);
}

/* Before its handshake is done a peer is no conn yet: closed here. */
static void drop(struct conn *c, const char *why)
{
	struct tls_peer *p = peer_of(c);
	if (p->open) {
		conn_close(c, why);
		return;
	}
	log_info("%s TLS: %s", conn_addr(c), why);
	tls_close(c);
}

/* ---- writing ------------------------------------------------------------- */

static bool send_cipher(struct conn *c, size_t plain);

static void on_written(uv_write_t *req, int status)
{
	struct conn *c = req->data;
	struct tls_peer *p = peer_of(c);
	p->writing = false;
	free(p->cipher);
	p->cipher = NULL;
	if (p->closing)
		return; /* UV_ECANCELED as the handle closes */
	if (status < 0) {
		drop(c, uv_strerror(status));
		return;
	}
	if (p->open)
		conn_wrote(c, c->in_flight); /* may close it (drained) */
	/* A handshake's next flight, or what reading made OpenSSL say. */
	if (!p->closing && !p->writing && BIO_pending(p->out) > 0)
		send_cipher(c, 0);
}

/*
 * Sends what OpenSSL wrote into p->out: at once while the socket takes it,
 * the rest copied and written by libuv. `plain` bytes of c->out were
 * encrypted into it: consumed once all is on the socket (c->in_flight
 * until then). Returns false when the peer was closed.
 */
static bool send_cipher(struct conn *c, size_t plain)
{
	struct tls_peer *p = peer_of(c);
	if (p->writing)
		return true; /* it waits in p->out: on_written sends it */
	char *data;
	long n = BIO_get_mem_data(p->out, &data);
	size_t done = 0;
	if (n > 0) {
		uv_buf_t b = uv_buf_init(data, (unsigned)n);
		int rc = uv_try_write((uv_stream_t *)&p->handle, &b, 1);
		if (rc < 0 && rc != UV_EAGAIN) {
			(void)BIO_reset(p->out);
			drop(c, uv_strerror(rc));
			return false;
		}
		done = rc > 0 ? (size_t)rc : 0;
	}
	if (done == (size_t)(n > 0 ? n : 0)) {
		(void)BIO_reset(p->out);
		if (plain > 0)
			outq_consume(&c->out, plain);
		return true;
	}
	size_t rest = (size_t)n - done;
	p->cipher = malloc(rest);
	if (p->cipher == NULL) {
		(void)BIO_reset(p->out);
		drop(c, "out of memory for a write");
		return false;
	}
	memcpy(p->cipher, data + done, rest);
	(void)BIO_reset(p->out);
	uv_buf_t b = uv_buf_init(p->cipher, (unsigned)rest);
	p->write_req.data = c;
	int rc = uv_write(&p->write_req, (uv_stream_t *)&p->handle, &b, 1, on_written);
	if (rc < 0) {
		free(p->cipher);
		p->cipher = NULL;
		drop(c, uv_strerror(rc));
		return false;
	}
	p->writing = true;
	if (p->open)
		c->in_flight = plain;
	return true;
}

static bool encrypt(struct conn *c, const char *data, size_t len)
{
	struct tls_peer *p = peer_of(c);
	ERR_clear_error();
	if (len > 0 && SSL_write(p->ssl, data, (int)len) <= 0) {
		char why[160];
		snprintf(why, sizeof(why), "TLS write failed: %s", tls_ssl_reason("unknown error"));
		conn_close(c, why);
		return false;
	}
	return true;
}

/* Encrypts up to TLS_WRITE_CHUNK bytes of c->out, small frames gathered
 * into one record. Returns the bytes taken, or 0 with the conn closed. */
static size_t encrypt_some(struct conn *c)
{
	struct tls_server *t = peer_of(c)->server;
	uv_buf_t bufs[64];
	unsigned n = outq_peek(&c->out, bufs, 64);
	size_t taken = 0, staged = 0;
	for (unsigned i = 0; i < n && taken < TLS_WRITE_CHUNK; i++) {
		size_t len = bufs[i].len;
		if (len > TLS_WRITE_CHUNK - taken)
			len = TLS_WRITE_CHUNK - taken;
		if (staged + len > sizeof(t->stage)) {
			if (!encrypt(c, t->stage, staged))
				return 0;
			staged = 0;
		}
		memcpy(t->stage + staged, bufs[i].base, len);
		staged += len;
		taken += len;
	}
	if (!encrypt(c, t->stage, staged))
		return 0;
	return taken;
}

/* The flush's turn: c->out encrypted and written while the socket takes
 * it; the rest waits for the write under way (on_written, conn_wrote). */
static void tls_kick(struct conn *c)
{
	struct tls_peer *p = peer_of(c);
	if (!p->open || p->closing)
		return;
	/* A closing conn is written to while it drains (its last words). */
	while (!p->writing && !p->closing && (!c->closing || c->draining)) {
		size_t plain = c->out.count > 0 ? encrypt_some(c) : 0;
		if (c->closing && !c->draining)
			return; /* SSL_write failed */
		if (!send_cipher(c, plain) || plain == 0)
			return;
	}
}

static void tls_trim(struct conn *c)
{
	(void)c; /* nothing kept between writes: p->cipher goes with its write */
}

/* ---- reading ------------------------------------------------------------- */

/* A record at most a read: OpenSSL's input BIO never holds more. */
static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct tls_server *t = peer_of(handle->data)->server;
	*buf = uv_buf_init(t->cipher_in, sizeof(t->cipher_in));
}

/* Bytes in clear where a ClientHello belongs: said on the console, and the
 * peer closed. An HTTP client is answered in HTTP, which it can read. */
static void refuse_plaintext(struct conn *c, const char *data, size_t len)
{
	struct tls_peer *p = peer_of(c);
	const char *what = "plaintext (a chat line?)";
	if ((len >= 4 && memcmp(data, "GET ", 4) == 0) ||
	    (len >= 5 && memcmp(data, "HEAD ", 5) == 0)) {
		what = "an HTTP request in clear (use https://)";
		static const char answer[] =
			"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
			"Connection: close\r\nContent-Length: 51\r\n\r\n"
			"This port speaks TLS only: open it with https://.\n";
		uv_buf_t b = uv_buf_init((char *)answer, sizeof(answer) - 1);
		uv_try_write((uv_stream_t *)&p->handle, &b, 1);
	} else if (data[0] == '\0') {
		what = "a binary hello in clear";
	}
	char why[160];
	snprintf(why, sizeof(why), "refused: %s on the TLS port", what);
	drop(c, why);
}

static void on_deadline(uv_timer_t *timer)
{
	struct conn *c = timer->data;
	char why[96];
	snprintf(why, sizeof(why), "handshake not done within %u s: closed",
		 peer_of(c)->server->handshake_ms / 1000);
	drop(c, why);
}

/* Returns true when the session is up (and the conn open). */
static bool handshake(struct conn *c)
{
	struct tls_peer *p = peer_of(c);
	ERR_clear_error();
	int rc = SSL_do_handshake(p->ssl);
	if (rc != 1) {
		int err = SSL_get_error(p->ssl, rc);
		char why[200];
		snprintf(why, sizeof(why), "handshake failed: %s", tls_ssl_reason("the peer left"));
		/* Its next flight, or an alert saying why it failed. */
		if (send_cipher(c, 0) && err != SSL_ERROR_WANT_READ)
			drop(c, why);
		return false;
	}
	leave_shaking(p);
	uv_timer_stop(&p->deadline);
	p->open = true;
	log_info("%s TLS: %s, %s", conn_addr(c), SSL_get_version(p->ssl), SSL_get_cipher_name(p->ssl));
	if (!send_cipher(c, 0))
		return false;
	conn_open(c); /* seated, sniffed as on the plain port */
	return !c->closing;
}

/* Decrypts what waits in p->in and hands it on. */
static void read_plain(struct conn *c)
{
	struct tls_peer *p = peer_of(c);
	struct tls_server *t = p->server;
	while (!c->closing && !p->closing) {
		ERR_clear_error();
		int n = SSL_read(p->ssl, t->plain_buf, sizeof(t->plain_buf));
		if (n > 0) {
			conn_received(c, t->plain_buf, (size_t)n);
			continue;
		}
		int err = SSL_get_error(p->ssl, n);
		if (err == SSL_ERROR_WANT_READ)
			return;
		if (err == SSL_ERROR_ZERO_RETURN) {
			conn_eof(c, NULL); /* its close_notify */
			return;
		}
		char why[160];
		snprintf(why, sizeof(why), "TLS: %s", tls_ssl_reason("bad record"));
		conn_eof(c, why);
		return;
	}
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = stream->data;
	struct tls_peer *p = peer_of(c);
	if (p->closing)
		return;
	if (nread < 0) {
		const char *why = nread == UV_EOF ? NULL : uv_strerror((int)nread);
		if (p->open)
			conn_eof(c, why);
		else
			drop(c, why != NULL ? why : "the peer left during the handshake");
		return;
	}
	if (nread == 0)
		return;
	if (!p->seen_first) {
		p->seen_first = true;
		if ((unsigned char)buf->base[0] != TLS_HANDSHAKE_RECORD) {
			refuse_plaintext(c, buf->base, (size_t)nread);
			return;
		}
	}
	if (BIO_write(p->in, buf->base, (int)nread) != (int)nread) {
		drop(c, "out of memory for its input");
		return;
	}
	if (p->shaking && !handshake(c))
		return;
	if (c->closing || p->closing)
		return;
	read_plain(c);
	/* What reading made OpenSSL say (an alert, a key update) goes too; a
	 * peer that asks for such answers without reading them is dropped
	 * before they pile up. */
	if (c->closing || p->closing)
		return;
	if (!p->writing && BIO_pending(p->out) > 0)
		send_cipher(c, 0);
	else if (BIO_pending(p->out) > TLS_MAX_UNSENT)
		drop(c, "TLS: too many answers left unread");
}

static int tls_set_reading(struct conn *c, bool on)
{
	struct tls_peer *p = peer_of(c);
	if (on == p->reading)
		return 0;
	p->reading = on;
	uv_stream_t *stream = (uv_stream_t *)&p->handle;
	if (!on)
		return uv_read_stop(stream);
	return uv_read_start(stream, on_alloc, on_read);
}

static bool tls_input_waiting(struct conn *c)
{
	return tcp_input_waiting_on((uv_handle_t *)&peer_of(c)->handle);
}

/* The web server takes the peer (web.c's handover): its socket and session
 * go to a bridge, lws gets the bridge's other end. Nothing may wait to be
 * written: the conn's handle closes with it. */
static int tls_give_socket(struct conn *c)
{
	struct tls_peer *p = peer_of(c);
	if (!p->open || p->writing || BIO_pending(p->out) > 0)
		return -EBUSY;
	tls_set_reading(c, false);
	uv_os_fd_t fd;
	int rc = uv_fileno((uv_handle_t *)&p->handle, &fd);
	if (rc < 0)
		return rc;
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (copy < 0)
		return -errno;
	rc = tls_bridge_start(&p->server->bridges, p->handle.loop, copy, p->ssl, conn_addr(c),
			      conn_addr_key(c));
	if (rc >= 0)
		p->ssl = NULL; /* the bridge's: no close_notify from here */
	return rc;
}

static const struct transport_ops tls_transport = {
	.name = "tls",
	.kick = tls_kick,
	.set_reading = tls_set_reading,
	.close = tls_close,
	.trim = tls_trim,
	.input_waiting = tls_input_waiting,
	.give_socket = tls_give_socket,
};

/* ---- accepting ----------------------------------------------------------- */

/* Handshakes in progress from c's address (a walk: they are few). */
static unsigned shaking_from(struct tls_server *t, const struct conn *c)
{
	unsigned n = 0;
	struct tls_peer *p;
	LIST_FOREACH(p, &t->shaking, shaking_link) {
		const struct conn *other = p->handle.data;
		n += strcmp(conn_addr_key(other), conn_addr_key(c)) == 0;
	}
	return n;
}

static bool start_session(struct tls_peer *p)
{
	p->ssl = SSL_new(p->server->ctx);
	p->in = BIO_new(BIO_s_mem());
	p->out = BIO_new(BIO_s_mem());
	if (p->ssl == NULL || p->in == NULL || p->out == NULL) {
		BIO_free(p->in);
		BIO_free(p->out);
		ERR_clear_error();
		return false;
	}
	/* An empty input BIO means "more to come", not the end. */
	BIO_set_mem_eof_return(p->in, -1);
	SSL_set_bio(p->ssl, p->in, p->out);
	SSL_set_accept_state(p->ssl);
	return true;
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct tls_server *t = listener->data;
	if (status < 0) {
		log_warn("TLS accept failed: %s", uv_strerror(status));
		return;
	}
	struct conn *c = conn_new(t->conns, &tls_transport, sizeof(struct tls_peer));
	if (c == NULL) {
		log_warn("TLS accept failed: %s", uv_strerror(UV_ENOMEM));
		return;
	}
	struct tls_peer *p = peer_of(c);
	p->server = t;
	uv_tcp_init(listener->loop, &p->handle);
	p->handle.data = c;
	uv_timer_init(listener->loop, &p->deadline);
	p->deadline.data = c;
	p->handles = 2;
	int rc = uv_accept(listener, (uv_stream_t *)&p->handle);
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	bool known = rc == 0 && uv_tcp_getpeername(&p->handle, (struct sockaddr *)&ss, &len) == 0;
	conn_set_address(c, known ? (struct sockaddr *)&ss : NULL);
	if (rc < 0) {
		log_warn("TLS accept failed: %s", uv_strerror(rc));
		tls_close(c);
		return;
	}
	if (t->handshakes >= t->max_handshakes) {
		char why[96];
		snprintf(why, sizeof(why), "turned away: %u handshakes in progress", t->handshakes);
		drop(c, why);
		return;
	}
	unsigned mine = shaking_from(t, c);
	if (mine >= t->max_per_address) {
		char why[96];
		snprintf(why, sizeof(why), "turned away: %u handshakes in progress from its address",
			 mine);
		drop(c, why);
		return;
	}
	if (!start_session(p)) {
		drop(c, "out of memory for a session");
		return;
	}
	uv_tcp_nodelay(&p->handle, 1);
	uv_tcp_keepalive(&p->handle, 1, 60);
	p->shaking = true;
	LIST_INSERT_HEAD(&t->shaking, p, shaking_link);
	t->handshakes++;
	uv_timer_start(&p->deadline, on_deadline, t->handshake_ms, 0);
	if (tls_set_reading(c, true) < 0)
		drop(c, "cannot read");
}

/* ---- listening ----------------------------------------------------------- */

int tls_listen(struct tls_server *t, uv_loop_t *loop, const char *address, int port,
	       struct conns *conns, const char **cause)
{
	t->conns = conns;
	uv_tcp_init(loop, &t->listener);
	t->listener.data = t;
	int rc = tcp_bind(&t->listener, address, port, on_connection, cause);
	if (rc < 0) {
		uv_close((uv_handle_t *)&t->listener, NULL);
		return rc;
	}
	t->listening = true;
	return 0;
}

void tls_log_address(struct tls_server *t)
{
	tcp_log_listener(&t->listener, " for TLS");
}

void tls_stop(struct tls_server *t)
{
	if (t->listening) {
		t->listening = false;
		uv_close((uv_handle_t *)&t->listener, NULL);
	}
	struct tls_peer *p;
	while ((p = LIST_FIRST(&t->shaking)) != NULL)
		drop(p->handle.data, "server shutting down");
	tls_bridge_close_all(&t->bridges);
}
