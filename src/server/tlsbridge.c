#include "tlsbridge.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

/* The socketpair's kernel buffers: what lws writes waits in ours, bounded. */
#define BRIDGE_SOCKBUF (32 * 1024)
/* A record and its header: one read of ciphertext, one of plaintext. */
#define BRIDGE_RECORD (16 * 1024 + 512)

/* Every bridge's reads, used and let go within the read callback. */
static char cipher_in[BRIDGE_RECORD];
static char plain_out[BRIDGE_RECORD];
static char plain_in[16 * 1024];

struct tls_bridge {
	uv_tcp_t peer;      /* the TLS peer's socket; .data: the bridge */
	uv_pipe_t web;      /* our end of the socketpair, lws has the other */
	uv_timer_t stall;   /* armed while the peer is behind in its reading */
	SSL *ssl;
	BIO *in, *out;      /* the session's, freed with it */
	struct tls_bridges *set;
	TAILQ_ENTRY(tls_bridge) link; /* in set->all, oldest first */
	unsigned handles;
	size_t to_peer;     /* ciphertext in writes under way to the peer */
	size_t to_web;      /* plaintext in writes under way to lws */
	bool peer_reading, web_reading;
	bool ending;        /* lws is done: close once the peer has it all */
	bool lingering;     /* ending with bytes left: counted in set->lingering */
	bool closing;
	char addr[64];
	char key[64];       /* its address key (conn.h's addr_key) */
};

/* A write under way, with its own copy of what the socket refused. */
struct bridge_write {
	uv_write_t req;
	struct tls_bridge *bridge;
	size_t len;
	bool to_peer;
	char data[];
};

static void on_closed(uv_handle_t *handle)
{
	struct tls_bridge *b = handle->data;
	if (--b->handles > 0)
		return;
	SSL_free(b->ssl);
	TAILQ_REMOVE(&b->set->all, b, link);
	free(b);
}

static void bridge_close(struct tls_bridge *b, const char *why)
{
	if (b->closing)
		return;
	b->closing = true;
	if (b->lingering)
		b->set->lingering--;
	log_info("%s HTTPS: %s", b->addr, why);
	ERR_clear_error();
	uv_close((uv_handle_t *)&b->peer, on_closed);
	uv_close((uv_handle_t *)&b->web, on_closed);
	uv_close((uv_handle_t *)&b->stall, on_closed);
}

static void on_peer_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static void on_web_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void alloc_cipher(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	(void)suggested, (void)handle;
	*buf = uv_buf_init(cipher_in, sizeof(cipher_in));
}

/* A read of lws's at most a record: encrypted whole at once. */
static void alloc_plain(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	(void)suggested, (void)handle;
	*buf = uv_buf_init(plain_in, sizeof(plain_in));
}

static void on_stall(uv_timer_t *timer)
{
	char why[80];
	snprintf(why, sizeof(why), "took nothing for %d s: cut", TLS_BRIDGE_STALL_MS / 1000);
	bridge_close(timer->data, why);
}

/* Each side is read only while what it feeds is within the bound; the peer
 * also while its own answers wait (a peer that asks for key updates and
 * never reads them gets no more). */
static void update_flow(struct tls_bridge *b)
{
	if (b->closing)
		return;
	bool peer_on = !b->ending && b->to_web < TLS_BRIDGE_MAX_QUEUED &&
		       b->to_peer < TLS_BRIDGE_MAX_QUEUED;
	bool web_on = !b->ending && b->to_peer < TLS_BRIDGE_MAX_QUEUED;
	if (peer_on != b->peer_reading) {
		b->peer_reading = peer_on;
		if (peer_on)
			uv_read_start((uv_stream_t *)&b->peer, alloc_cipher, on_peer_read);
		else
			uv_read_stop((uv_stream_t *)&b->peer);
	}
	if (web_on != b->web_reading) {
		b->web_reading = web_on;
		if (web_on)
			uv_read_start((uv_stream_t *)&b->web, alloc_plain, on_web_read);
		else
			uv_read_stop((uv_stream_t *)&b->web);
	}
	if (b->to_peer == 0)
		uv_timer_stop(&b->stall);
	else if (!uv_is_active((uv_handle_t *)&b->stall))
		uv_timer_start(&b->stall, on_stall, TLS_BRIDGE_STALL_MS, 0);
}

static void on_written(uv_write_t *req, int status)
{
	struct bridge_write *w = (struct bridge_write *)req;
	struct tls_bridge *b = w->bridge;
	if (w->to_peer) {
		b->to_peer -= w->len;
		if (!b->closing) /* progress: the peer reads; update_flow rearms */
			uv_timer_stop(&b->stall);
	} else {
		b->to_web -= w->len;
	}
	free(w);
	if (b->closing)
		return;
	if (status < 0) {
		bridge_close(b, uv_strerror(status));
		return;
	}
	if (b->ending && b->to_peer == 0) {
		bridge_close(b, "done");
		return;
	}
	update_flow(b);
}

/* What the socket takes now, the rest copied into a write. False when the
 * bridge was closed. */
static bool send_to(struct tls_bridge *b, bool to_peer, const char *data, size_t len)
{
	uv_stream_t *stream = to_peer ? (uv_stream_t *)&b->peer : (uv_stream_t *)&b->web;
	size_t *queued = to_peer ? &b->to_peer : &b->to_web;
	size_t done = 0;
	if (*queued == 0 && len > 0) { /* behind a write, bytes must wait */
		uv_buf_t buf = uv_buf_init((char *)data, (unsigned)len);
		int rc = uv_try_write(stream, &buf, 1);
		if (rc < 0 && rc != UV_EAGAIN) {
			bridge_close(b, uv_strerror(rc));
			return false;
		}
		done = rc > 0 ? (size_t)rc : 0;
	}
	if (done == len)
		return true;
	size_t rest = len - done;
	struct bridge_write *w = malloc(sizeof(*w) + rest);
	if (w == NULL) {
		bridge_close(b, "out of memory for a write");
		return false;
	}
	w->bridge = b;
	w->len = rest;
	w->to_peer = to_peer;
	memcpy(w->data, data + done, rest);
	uv_buf_t buf = uv_buf_init(w->data, (unsigned)rest);
	int rc = uv_write(&w->req, stream, &buf, 1, on_written);
	if (rc < 0) {
		free(w);
		bridge_close(b, uv_strerror(rc));
		return false;
	}
	*queued += rest;
	return true;
}

/* What OpenSSL wrote for the peer. */
static bool send_cipher(struct tls_bridge *b)
{
	char *data;
	long n = BIO_get_mem_data(b->out, &data);
	bool ok = n <= 0 || send_to(b, true, data, (size_t)n);
	if (!b->closing)
		(void)BIO_reset(b->out);
	return ok;
}

static void on_peer_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct tls_bridge *b = stream->data;
	if (b->closing || nread == 0)
		return;
	if (nread < 0) {
		bridge_close(b, nread == UV_EOF ? "the peer left" : uv_strerror((int)nread));
		return;
	}
	if (BIO_write(b->in, buf->base, (int)nread) != (int)nread) {
		bridge_close(b, "out of memory for its input");
		return;
	}
	for (;;) {
		ERR_clear_error();
		int n = SSL_read(b->ssl, plain_out, sizeof(plain_out));
		if (n > 0) {
			if (!send_to(b, false, plain_out, (size_t)n))
				return;
			continue;
		}
		int err = SSL_get_error(b->ssl, n);
		if (err == SSL_ERROR_WANT_READ)
			break;
		bridge_close(b, err == SSL_ERROR_ZERO_RETURN ? "the peer said goodbye"
							       : "TLS: bad record");
		return;
	}
	if (send_cipher(b))
		update_flow(b);
}

/* The oldest bridge that lws is done with (from `key`, or any: NULL). */
static struct tls_bridge *oldest_lingering(struct tls_bridges *set, const char *key)
{
	struct tls_bridge *b;
	TAILQ_FOREACH(b, &set->all, link) {
		if (b->lingering && !b->closing && (key == NULL || strcmp(b->key, key) == 0))
			return b;
	}
	return NULL;
}

/* lws is done, the peer has yet to take the rest: it waits (the stall
 * timer runs), but only so many wait at once. */
static void linger(struct tls_bridge *b)
{
	b->lingering = true;
	b->set->lingering++;
	update_flow(b);
	if (b->set->lingering > TLS_BRIDGE_MAX_LINGERING)
		bridge_close(oldest_lingering(b->set, NULL),
			     "too many HTTPS answers left unread: the oldest cut");
}

static void on_web_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct tls_bridge *b = stream->data;
	if (b->closing || nread == 0)
		return;
	if (nread < 0) {
		/* lws closed its end: a close_notify after what it said. */
		b->ending = true;
		ERR_clear_error();
		(void)SSL_shutdown(b->ssl);
		if (!send_cipher(b))
			return;
		if (b->to_peer == 0)
			bridge_close(b, "done");
		else
			linger(b);
		return;
	}
	ERR_clear_error();
	if (SSL_write(b->ssl, buf->base, (int)nread) <= 0) {
		bridge_close(b, "TLS write failed");
		return;
	}
	if (send_cipher(b))
		update_flow(b);
}

void tls_bridges_init(struct tls_bridges *set, unsigned max_per_address)
{
	TAILQ_INIT(&set->all);
	set->lingering = 0;
	set->max_per_address = max_per_address;
}

/* Room for one more bridge from `key`: its oldest lingering one goes if
 * it must; false when all of them are still lws's. */
static bool make_room(struct tls_bridges *set, const char *key, const char *addr)
{
	unsigned n = 0;
	struct tls_bridge *b;
	TAILQ_FOREACH(b, &set->all, link)
		n += !b->closing && strcmp(b->key, key) == 0;
	if (n < set->max_per_address)
		return true;
	b = oldest_lingering(set, key);
	if (b != NULL) {
		bridge_close(b, "too many HTTPS peers from its address: the oldest unread cut");
		return true;
	}
	log_info("%s HTTPS: refused, %u already from its address", addr, n);
	return false;
}

int tls_bridge_start(struct tls_bridges *set, uv_loop_t *loop, int fd, SSL *ssl,
		     const char *addr, const char *key)
{
	if (!make_room(set, key, addr)) {
		close(fd);
		return -EUSERS;
	}
	int pair[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	struct tls_bridge *b = calloc(1, sizeof(*b));
	if (b == NULL) {
		close(fd);
		close(pair[0]);
		close(pair[1]);
		return -ENOMEM;
	}
	int size = BRIDGE_SOCKBUF;
	for (int i = 0; i < 2; i++)
		setsockopt(pair[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	snprintf(b->addr, sizeof(b->addr), "%s", addr);
	snprintf(b->key, sizeof(b->key), "%s", key);
	b->set = set;
	uv_tcp_init(loop, &b->peer);
	uv_pipe_init(loop, &b->web, 0);
	uv_timer_init(loop, &b->stall);
	b->peer.data = b->web.data = b->stall.data = b;
	b->handles = 3;
	TAILQ_INSERT_TAIL(&set->all, b, link);
	int rc = uv_tcp_open(&b->peer, fd);
	if (rc < 0)
		close(fd);
	if (rc == 0)
		rc = uv_pipe_open(&b->web, pair[0]);
	if (rc < 0) {
		close(pair[0]);
		close(pair[1]);
		bridge_close(b, uv_strerror(rc));
		return rc;
	}
	b->ssl = ssl;
	b->in = SSL_get_rbio(ssl);
	b->out = SSL_get_wbio(ssl);
	update_flow(b);
	log_info("%s HTTPS: bridged to the web server", b->addr);
	return pair[1];
}

void tls_bridge_close_all(struct tls_bridges *set)
{
	struct tls_bridge *b;
	TAILQ_FOREACH(b, &set->all, link)
		bridge_close(b, "server shutting down");
}
