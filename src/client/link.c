/*
 * link: the client's connection to the server (see link.h): what goes over
 * it once it is up, the frames both ways, TLS, the PINGs, and its end.
 * Connecting to the nodes and retrying after a drop are linkconn.c's. It
 * never reaches into the session: everything the session must hear goes
 * through link->cb.
 */
#include "link.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"

/* ---- sending -------------------------------------------------------------- */

/* One write: a frame's bytes, or (TLS) what OpenSSL made of them. */
struct outgoing {
	uv_write_t req;
	struct frame *frame;
	char *cipher;
	bool pong;
};

static void on_sent(uv_write_t *req, int status)
{
	struct outgoing *out = (struct outgoing *)req;
	struct link *link = req->handle->data;
	if (out->pong)
		link->pong_outstanding = false;
	frame_unref(out->frame);
	free(out->cipher);
	free(out);
	(void)status; /* a failed write shows up as a failed read too */
}

/* TLS: what the session has for the server goes on the socket. */
static int send_cipher(struct link *link, bool pong)
{
	size_t len;
	char *cipher = tls_link_take(&link->tls, &len);
	if (cipher == NULL)
		return 0;
	struct outgoing *out = calloc(1, sizeof(*out));
	if (out == NULL) {
		free(cipher);
		return UV_ENOMEM;
	}
	out->cipher = cipher;
	out->pong = pong;
	uv_buf_t buf = uv_buf_init(cipher, (unsigned)len);
	int rc = uv_write(&out->req, (uv_stream_t *)&link->tcp, &buf, 1, on_sent);
	if (rc < 0) {
		free(cipher);
		free(out);
	}
	return rc;
}

static int send_bytes(struct link *link, struct frame *f, bool pong)
{
	if (f == NULL || !link->connected) {
		frame_unref(f);
		return UV_ENOTCONN;
	}
	if (link->opt.tls) {
		int rc = tls_link_write(&link->tls, f->data, f->len) < 0 ? UV_EPROTO
									  : send_cipher(link, pong);
		frame_unref(f);
		return rc;
	}
	struct outgoing *out = calloc(1, sizeof(*out));
	if (out == NULL) {
		frame_unref(f);
		return UV_ENOMEM;
	}
	out->frame = f;
	out->pong = pong;
	uv_buf_t buf = uv_buf_init(f->data, f->len);
	int rc = uv_write(&out->req, (uv_stream_t *)&link->tcp, &buf, 1, on_sent);
	if (rc < 0) {
		frame_unref(f);
		free(out);
	}
	return rc;
}

void link_send(struct link *link, const struct wire_msg *m)
{
	send_bytes(link, wire_encode(m), false);
}

/* A server's PING is answered while no PONG of ours waits to be written:
 * one that PINGs without reading would otherwise fill our memory with
 * answers (security review L5); the ones skipped meanwhile need none. */
static void answer_ping(struct link *link, uint64_t nonce)
{
	if (link->pong_outstanding)
		return;
	struct wire_msg pong = {.type = WIRE_PONG, .nonce = nonce};
	link->pong_outstanding = send_bytes(link, wire_encode(&pong), true) == 0;
}

void link_hello(struct link *link, const char *pseudo, const char *room)
{
	struct wire_msg m = {
		.type = WIRE_HELLO,
		.version = WIRE_VERSION,
		.pseudo = {pseudo, strlen(pseudo)},
		.room = {room, strlen(room)},
		.id = link->last_event_id,
		.features = link->features,
	};
	if (link->have_token)
		m.token = (struct wire_str){(const char *)link->token, sizeof(link->token)};
	if (link->have_identity)
		m.identity = (struct wire_str){(const char *)link->identity, sizeof(link->identity)};
	link_send(link, &m);
}

void link_set_token(struct link *link, const unsigned char token[WIRE_TOKEN_LEN])
{
	memcpy(link->token, token, sizeof(link->token));
	link->have_token = true;
}

bool link_token(const struct link *link, unsigned char token[WIRE_TOKEN_LEN])
{
	if (link->have_token)
		memcpy(token, link->token, sizeof(link->token));
	return link->have_token;
}

void link_saw_event(struct link *link, uint64_t id)
{
	if (id > link->last_event_id)
		link->last_event_id = id;
}

/* Every few seconds the status line's lag: a PING carrying the loop's
 * clock, which the PONG brings back. */
static void on_ping(uv_timer_t *timer)
{
	struct link *link = timer->data;
	if (link->connected && link->welcomed)
		link_send(link, &(struct wire_msg){.type = WIRE_PING, .nonce = uv_now(link->loop)});
}

void link_start_pings(struct link *link)
{
	uv_timer_start(&link->ping_timer, on_ping, LINK_PING_FIRST_MS, LINK_PING_EVERY_MS);
}

/* ---- reading ---------------------------------------------------------------- */

/* The link's part of a frame, then the session's. */
static void on_frame(struct link *link, const struct wire_msg *m)
{
	switch (m->type) {
	case WIRE_WELCOME: {
		memcpy(link->token, m->token.ptr, sizeof(link->token));
		link->have_token = true;
		link->welcomed = true;
		link->in_room = true;
		bool resumed = link->reconnecting;
		link->reconnecting = false;
		link->retries = 0;
		link->cb.on_welcome(link, m, resumed);
		break;
	}
	case WIRE_ERROR:
		/* A refused token is spent, whenever it is refused (a server
		 * restarted after we were welcomed knows it no more): the next
		 * hello goes without it. */
		if (m->code == WIRE_ERR_TOKEN)
			link->have_token = false;
		link->cb.on_frame(link, m);
		break;
	case WIRE_PING:
		answer_ping(link, m->nonce);
		break;
	default:
		link->cb.on_frame(link, m);
		break;
	}
}



static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct link *link = handle->data;
	*buf = uv_buf_init(link->read_buf, sizeof(link->read_buf));
}

static void feed_frames(struct link *link, const char *data, size_t len);
static void tls_failed(struct link *link, bool refused);
static void tls_arrived(struct link *link, const char *data, size_t len);

static void on_data(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct link *link = stream->data;
	if (nread < 0 && link->tls_shaking) {
		snprintf(link->error, sizeof(link->error), "%s",
			 _("le serveur a fermé la connexion pendant la poignée de main TLS"));
		tls_failed(link, false);
		return;
	}
	if (nread < 0) {
		char why[160];
		if (nread == UV_EOF)
			snprintf(why, sizeof(why), _("le serveur %s:%d a fermé la connexion"),
				 link->addresses[link->current].host,
				 link->addresses[link->current].port);
		else
			snprintf(why, sizeof(why), _("connexion au serveur %s:%d perdue : %s"),
				 link->addresses[link->current].host,
				 link->addresses[link->current].port, i18n_strerror((int)nread));
		link_lost(link, why);
		return;
	}
	if (link->opt.tls)
		tls_arrived(link, buf->base, (size_t)nread);
	else
		feed_frames(link, buf->base, (size_t)nread);
}

/* Plaintext from the server: frames. */
static void feed_frames(struct link *link, const char *data, size_t len)
{
	wire_feed(&link->from_server, data, len);
	while (!link->closed && link->connected) {
		struct wire_msg m;
		int rc = wire_next(&link->from_server, &m);
		if (rc == 0)
			return;
		if (rc < 0) {
			char why[160];
			snprintf(why, sizeof(why), _("le serveur a envoyé une trame invalide (%s)"),
				 link->from_server.cause);
			link_lost(link, why);
			return;
		}
		on_frame(link, &m);
	}
}

/* ---- the connection up -------------------------------------------------------- */

/* The connection carries frames now (over TLS: its handshake is done and
 * the certificate accepted). */
static void connected(struct link *link)
{
	link->connected = true;
	wire_decoder_free(&link->from_server);
	wire_decoder_init(&link->from_server, WIRE_MAX_FRAME);
	link->from_server.skip_text_preamble = true;
	if (link->opt.tls) {
		if (tls_link_write(&link->tls, WIRE_MAGIC, WIRE_MAGIC_LEN) == 0)
			send_cipher(link, false);
	} else {
		uv_buf_t magic = uv_buf_init((char *)WIRE_MAGIC, WIRE_MAGIC_LEN);
		uv_try_write((uv_stream_t *)&link->tcp, &magic, 1);
		uv_read_start((uv_stream_t *)&link->tcp, on_alloc, on_data);
	}
	link->cb.on_connected(link, 0);
}

/* A TLS handshake that failed, or a certificate the session refused:
 * the attempt failed (a retry, after a drop, unless refused). */
static void tls_failed(struct link *link, bool refused)
{
	link->tls_shaking = false;
	uv_read_stop((uv_stream_t *)&link->tcp);
	if (link->reconnecting && refused) {
		link->reconnecting = false;
		link->cb.on_lost(link, link->error, false);
		return;
	}
	link_attempt_failed(link, refused ? UV_ECONNREFUSED : UV_EPROTO);
}

/* Ciphertext from the server: the handshake, then frames. */
static void tls_arrived(struct link *link, const char *data, size_t len)
{
	if (tls_link_feed(&link->tls, data, len) < 0) {
		snprintf(link->error, sizeof(link->error), "%s", i18n_strerror(UV_ENOMEM));
		tls_failed(link, false);
		return;
	}
	if (link->tls_shaking) {
		char cause[200];
		int rc = tls_link_handshake(&link->tls, cause, sizeof(cause));
		send_cipher(link, false); /* its next flight, or an alert */
		if (rc == 0)
			return;
		if (rc < 0) {
			snprintf(link->error, sizeof(link->error), _("échec de la poignée de main TLS : %s"),
				 cause);
			tls_failed(link, false);
			return;
		}
		link->tls_shaking = false;
		link->error[0] = '\0';
		if (!link->cb.on_certificate(link, &link->tls.check, link->error,
					     sizeof(link->error))) {
			tls_failed(link, true);
			return;
		}
		connected(link);
	}
	while (!link->closed && link->connected) {
		const char *cause = NULL;
		ssize_t n = tls_link_read(&link->tls, link->tls_plain, sizeof(link->tls_plain), &cause);
		if (n == 0)
			break;
		if (n < 0) {
			char why[200];
			if (cause == NULL)
				snprintf(why, sizeof(why), _("le serveur %s:%d a fermé la connexion"),
					 link->addresses[link->current].host,
					 link->addresses[link->current].port);
			else
				snprintf(why, sizeof(why), _("connexion au serveur %s:%d perdue : %s"),
					 link->addresses[link->current].host,
					 link->addresses[link->current].port, cause);
			link_lost(link, why);
			return;
		}
		feed_frames(link, link->tls_plain, (size_t)n);
	}
	if (link->connected)
		send_cipher(link, false); /* what reading made it say */
}

void link_on_connect(uv_connect_t *req, int status)
{
	struct link *link = req->data;
	if (status < 0) {
		link_attempt_failed(link, status);
		return;
	}
	/* Chat lines are small and must not wait for Nagle's delay. */
	uv_tcp_nodelay(&link->tcp, 1);
	if (!link->opt.tls) {
		connected(link);
		return;
	}
	char cause[200];
	/* The name checked is the node's: one of a cluster's list. */
	if (tls_link_begin(&link->tls, link->addresses[link->current].host) < 0 ||
	    tls_link_handshake(&link->tls, cause, sizeof(cause)) < 0) {
		snprintf(link->error, sizeof(link->error), "%s", i18n_strerror(UV_ENOMEM));
		tls_failed(link, false);
		return;
	}
	link->tls_shaking = true;
	send_cipher(link, false); /* the ClientHello */
	uv_read_start((uv_stream_t *)&link->tcp, on_alloc, on_data);
}


int link_init(struct link *link, uv_loop_t *loop, const struct link_options *opt,
	      const struct link_callbacks *cb, void *data)
{
	memset(link, 0, sizeof(*link));
	link->data = data;
	link->loop = loop;
	link->opt = *opt;
	const char *cause;
	int n = link_parse_addresses(opt->address, opt->port, link->addresses,
				     LINK_MAX_ADDRESSES, &cause);
	if (n <= 0) { /* checked by the caller; taken whole, it fails to resolve */
		snprintf(link->addresses[0].host, sizeof(link->addresses[0].host), "%s",
			 opt->address);
		link->addresses[0].port = opt->port;
		n = 1;
	}
	link->address_count = (size_t)n;
	link->cb = *cb;
	uv_timer_init(loop, &link->retry_timer);
	link->retry_timer.data = link;
	uv_timer_init(loop, &link->ping_timer);
	link->ping_timer.data = link;
	if (!opt->tls)
		return 0;
	char tls_cause[200];
	if (tls_link_init(&link->tls, opt->ca_file, tls_cause, sizeof(tls_cause)) < 0) {
		snprintf(link->error, sizeof(link->error), _("TLS impossible : %s"), tls_cause);
		return -1;
	}
	link->tls_ready = true;
	return 0;
}


/* ---- ending ------------------------------------------------------------------- */

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	struct link *link = req->data;
	link->cb.on_shut(link);
}

int link_shutdown(struct link *link)
{
	if (!link->connected)
		return UV_ENOTCONN;
	link->shutdown_req.data = link;
	if (link->opt.tls) {
		tls_link_close_notify(&link->tls);
		send_cipher(link, false);
	}
	return uv_shutdown(&link->shutdown_req, (uv_stream_t *)&link->tcp, on_shutdown);
}

void link_close(struct link *link)
{
	if (link->closed)
		return;
	link->closed = true;
	link->connected = false;
	/* link_init made both timers: each is closed once, here. */
	uv_close((uv_handle_t *)&link->ping_timer, NULL);
	uv_close((uv_handle_t *)&link->retry_timer, NULL);
	if (link->tcp_open && !uv_is_closing((uv_handle_t *)&link->tcp))
		uv_close((uv_handle_t *)&link->tcp, NULL);
}

void link_free(struct link *link)
{
	wire_decoder_free(&link->from_server);
	if (link->tls_ready)
		tls_link_free(&link->tls);
}

bool link_connected(const struct link *link)
{
	return link->connected;
}

bool link_welcomed(const struct link *link)
{
	return link->welcomed;
}

bool link_in_room(const struct link *link)
{
	return link->connected && link->in_room;
}

bool link_reconnecting(const struct link *link)
{
	return link->reconnecting;
}
