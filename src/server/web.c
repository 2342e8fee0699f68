#include "web.h"

#include <errno.h>
#include <libwebsockets.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "server_config.h"
#include "strcount.h"
#include "wsframe.h"

/* The start of a request held while the socket changes hands: a browser's
 * request line and headers fit well within it (lws refuses longer headers
 * anyway: WEB_MAX_HEADERS). */
#define WEB_FIRST_MAX 8192
#define WEB_MAX_HEADERS 4096
/* What lws hands us of a WebSocket message at a time: the JSON protocol
 * joins the pieces (and bounds the whole). lws keeps this much per
 * WebSocket: measured, an idle welcomed one costs the server 4.5 KB in all
 * with 1 KiB here, 7.5 KB with 4 KiB. */
#define WEB_RX_BUFFER 1024
/* HTTP peers that are no WebSocket (yet): page loads are short. Past
 * this many at once a newcomer is cut; past --max-per-address from one
 * address, too, so that one address cannot take them all. */
#define WEB_MAX_HTTP_PEERS 1024
/* An HTTP peer that stalls in its headers, or idles between requests. */
#define WEB_TIMEOUT_S 10
/* Sends per WRITEABLE callback while the socket takes them, each of the
 * queue's messages framed together up to WEB_WRITE_BATCH bytes (one
 * message larger than that goes alone). */
#define WEB_WRITES_PER_TURN 64
#define WEB_WRITE_BATCH (64u * 1024)
/* The path the page opens its WebSocket on. */
#define WEB_SOCKET_PATH "/ws"

struct web {
	uv_loop_t *loop;
	struct conns *conns;
	const struct proto_ops *ws_proto;
	struct lws_context *context;
	struct lws_vhost *vhost;
	struct lws_http_mount mount;
	struct lws_protocol_vhost_options headers[4];
	char root[PATH_MAX];
	size_t http_peers;  /* wsis that are no WebSocket conn */
	struct strcount http_by_address; /* the same, by the conn's address key */
	struct web_origin *adopting; /* where the peer being adopted comes from */
	unsigned char *out; /* LWS_PRE bytes, then one frame (lws_write) */
	size_t out_cap;
	bool stopped;
};

/* Where a wsi's peer comes from, kept with the wsi (its opaque user
 * data) from the handover to WSI_DESTROY. */
struct web_origin {
	struct sockaddr_storage address; /* AF_UNSPEC: unknown */
	char key[CONN_ADDR_KEY_MAX];     /* counted in http_by_address */
};

/* A WebSocket's part of its conn (conn_transport). */
struct ws_peer {
	struct lws *wsi;  /* NULL once lws has closed it */
	struct web *web;
	bool closing;     /* conn.c let go: lws closes, then CLOSED */
	bool drained;     /* all written: the next WRITEABLE closes */
};
CONN_TRANSPORT_FITS(struct ws_peer);

/* What lws keeps per wsi for us (per_session_data). */
struct ws_session {
	struct conn *conn; /* its conn, once a WebSocket */
};

static struct ws_peer *peer_of(struct conn *c)
{
	return conn_transport(c);
}

/* ---- the WebSocket transport -------------------------------------------- */

static void ws_kick(struct conn *c)
{
	struct ws_peer *p = peer_of(c);
	if (p->wsi == NULL) {
		conn_close(c, "connection lost");
		return;
	}
	lws_callback_on_writable(p->wsi);
}

static int ws_set_reading(struct conn *c, bool on)
{
	struct ws_peer *p = peer_of(c);
	if (p->wsi != NULL)
		lws_rx_flow_control(p->wsi, on ? 1 : 0);
	return 0;
}

/* lws closes the socket on its next turn and calls CLOSED, where the conn
 * is told its transport is gone. */
static void ws_close(struct conn *c)
{
	struct ws_peer *p = peer_of(c);
	if (p->closing)
		return;
	p->closing = true;
	if (p->wsi == NULL) {
		conn_transport_closed(c);
		return;
	}
	lws_set_timeout(p->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static bool ws_input_waiting(struct conn *c)
{
	(void)c;
	return false; /* messages come whole to the protocol's line reader */
}

static const struct transport_ops ws_transport = {
	.name = "websocket",
	.kick = ws_kick,
	.set_reading = ws_set_reading,
	.close = ws_close,
	.input_waiting = ws_input_waiting,
};

/* Makes room for `need` bytes behind LWS_PRE in w->out. */
static bool out_room(struct web *w, size_t need)
{
	if (LWS_PRE + need <= w->out_cap)
		return true;
	unsigned char *grown = realloc(w->out, LWS_PRE + need);
	if (grown == NULL)
		return false;
	w->out = grown;
	w->out_cap = LWS_PRE + need;
	return true;
}

/* Each frame of the queue is one text message. A turn's messages are
 * framed here and go out in one raw write (lws_write with
 * LWS_WRITE_HTTP, which a WebSocket connection sends as it is), not one
 * lws_write each: that cost a send and a poll a message, 25 times a TCP
 * delivery (docs/benchmarks.md). The server negotiates no extension, so
 * a message's frame is its header and its bytes; lws keeps what the
 * socket did not take and sends it, in order, before anything else. */
static int write_frames(struct web *w, struct conn *c)
{
	struct ws_peer *p = peer_of(c);
	if (p->drained) {
		conn_close(c, "drained");
		return 0;
	}
	for (unsigned n = 0; n < WEB_WRITES_PER_TURN && c->out.count > 0; n++) {
		size_t used = 0, taken = 0;
		uv_buf_t bufs[WEB_WRITES_PER_TURN];
		unsigned count = outq_peek(&c->out, bufs, WEB_WRITES_PER_TURN);
		for (unsigned i = 0; i < count; i++) {
			size_t need = used + WS_FRAME_HEADER_MAX + bufs[i].len;
			if (i > 0 && need > WEB_WRITE_BATCH)
				break;
			if (!out_room(w, need)) {
				conn_close(c, "out of memory for a write");
				return 0;
			}
			used += ws_frame_text_header(w->out + LWS_PRE + used, bufs[i].len);
			memcpy(w->out + LWS_PRE + used, bufs[i].base, bufs[i].len);
			used += bufs[i].len;
			taken += bufs[i].len;
		}
		if (lws_write(p->wsi, w->out + LWS_PRE, used, LWS_WRITE_HTTP) < (int)used) {
			conn_close(c, "write failed");
			return -1;
		}
		outq_consume(&c->out, taken);
		if (lws_send_pipe_choked(p->wsi))
			break;
	}
	if (c->out.count > 0) {
		lws_callback_on_writable(p->wsi);
	} else if (c->draining) {
		/* What lws still holds goes out before the next WRITEABLE. */
		p->drained = true;
		lws_callback_on_writable(p->wsi);
	} else {
		conn_wrote(c, 0);
	}
	return 0;
}

/* A WebSocket is up: a conn of its own, speaking w->ws_proto. */
static int ws_established(struct web *w, struct lws *wsi, struct ws_session *s)
{
	struct conn *c = conn_new(w->conns, &ws_transport, sizeof(struct ws_peer));
	if (c == NULL)
		return -1;
	struct ws_peer *p = peer_of(c);
	p->wsi = wsi;
	p->web = w;
	s->conn = c;
	/* The address the handover kept: a bridged (HTTPS) peer's socket is
	 * a socketpair, whose peer name says nothing. */
	if (lws_get_opaque_user_data(wsi) == NULL && w->adopting != NULL) {
		lws_set_opaque_user_data(wsi, w->adopting);
		w->adopting = NULL; /* the wsi's now, freed at WSI_DESTROY */
	}
	struct web_origin *o = lws_get_opaque_user_data(wsi);
	/* Counted as a conn from now on. */
	w->http_peers--;
	if (o != NULL)
		strcount_remove(&w->http_by_address, o->key);
	conn_set_address(c, o != NULL && o->address.ss_family != AF_UNSPEC
				    ? (const struct sockaddr *)&o->address : NULL);
	c->proto = w->ws_proto; /* no sniffing: the page speaks JSON */
	c->sniffed = true;
	conn_open(c);
	return 0;
}

static void ws_closed(struct ws_session *s)
{
	struct conn *c = s->conn;
	if (c == NULL)
		return;
	s->conn = NULL;
	struct ws_peer *p = peer_of(c);
	struct web_origin *o = lws_get_opaque_user_data(p->wsi);
	p->wsi = NULL;
	p->web->http_peers++; /* WSI_DESTROY counts it out */
	if (o != NULL)
		strcount_add(&p->web->http_by_address, o->key);
	if (p->closing)
		conn_transport_closed(c);
	else
		conn_eof(c, NULL); /* closes it, unless it drains or is doomed */
}

/* ---- HTTP: the page and the upgrade ------------------------------------- */

/* A header's value, "" when absent or too long. */
static void header(struct lws *wsi, enum lws_token_indexes token, char *buf, int cap)
{
	if (lws_hdr_copy(wsi, buf, cap, token) < 0)
		buf[0] = '\0';
}

/* Only the page's own origin (the same host and port the browser asked
 * for) may open a WebSocket: another site's page would otherwise act
 * for its visitor. A client without an Origin is no browser, and may. */
static bool origin_allowed(struct lws *wsi)
{
	char origin[256], host[256], uri[64], same[300];
	header(wsi, WSI_TOKEN_GET_URI, uri, sizeof(uri));
	if (strcmp(uri, WEB_SOCKET_PATH) != 0) {
		log_info("WebSocket refused: path %s", uri);
		return false;
	}
	if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) == 0)
		return true;
	header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof(origin));
	header(wsi, WSI_TOKEN_HOST, host, sizeof(host));
	for (int tls = 0; tls < 2; tls++) {
		snprintf(same, sizeof(same), "%s://%s", tls ? "https" : "http", host);
		if (host[0] != '\0' && strcmp(origin, same) == 0)
			return true;
	}
	log_info("WebSocket refused: origin %s is not %s", origin, host);
	return false;
}

static int on_lws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		  size_t len)
{
	struct web *w = lws_context_user(lws_get_context(wsi));
	struct ws_session *s = user;
	/* Never LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: handling it opens
	 * CVE-2025-11677 in lws 4.1; FILTER_PROTOCOL_CONNECTION decides. */
	switch (reason) {
	case LWS_CALLBACK_WSI_CREATE:
		w->http_peers++;
		break;
	case LWS_CALLBACK_WSI_DESTROY: {
		struct web_origin *o = lws_get_opaque_user_data(wsi);
		w->http_peers--;
		if (o != NULL)
			strcount_remove(&w->http_by_address, o->key);
		free(o); /* hand_over's */
		lws_set_opaque_user_data(wsi, NULL);
		break;
	}
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return origin_allowed(wsi) ? 0 : -1;
	case LWS_CALLBACK_ESTABLISHED:
		return ws_established(w, wsi, s);
	case LWS_CALLBACK_RECEIVE:
		if (s->conn == NULL || s->conn->closing)
			return 0;
		conn_received(s->conn, in, len);
		/* A message is a line to the protocol: JSON has no raw '\n'. */
		if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0)
			conn_received(s->conn, "\n", 1);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (s->conn == NULL || (s->conn->closing && !s->conn->draining))
			return 0;
		return write_frames(w, s->conn);
	case LWS_CALLBACK_CLOSED:
		ws_closed(s);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{
		.name = "chatroom",
		.callback = on_lws,
		.per_session_data_size = sizeof(struct ws_session),
		.rx_buffer_size = WEB_RX_BUFFER,
	},
	{0},
};

/* ---- the handover from the TCP transport -------------------------------- */

/* Where the conn comes from, for the wsi it becomes (and the WebSocket it
 * may become), counted in w->http_by_address; NULL when out of memory. */
static struct web_origin *origin_of(struct web *w, const struct conn *c)
{
	struct web_origin *o = calloc(1, sizeof(*o));
	if (o == NULL)
		return NULL;
	if (uv_ip4_addr(conn_ip(c), (int)c->port, (struct sockaddr_in *)&o->address) != 0 &&
	    uv_ip6_addr(conn_ip(c), (int)c->port, (struct sockaddr_in6 *)&o->address) != 0)
		o->address.ss_family = AF_UNSPEC;
	snprintf(o->key, sizeof(o->key), "%s", conn_addr_key(c));
	if (strcount_add(&w->http_by_address, o->key) == 0) {
		free(o);
		return NULL;
	}
	return o;
}

/* An origin no wsi took. */
static void origin_drop(struct web *w, struct web_origin *o)
{
	if (o == NULL)
		return;
	strcount_remove(&w->http_by_address, o->key);
	free(o);
}

/* The request's first bytes, while the socket changes hands. */
struct handover {
	size_t len;
	char bytes[WEB_FIRST_MAX];
};

static void hand_over(struct conn *c)
{
	struct handover *h = c->proto_data;
	struct web *w = c->set->web;
	if (c->closing)
		return;
	if (w == NULL || w->stopped || c->transport->give_socket == NULL) {
		conn_close(c, "no web server");
		return;
	}
	if (w->http_peers >= WEB_MAX_HTTP_PEERS) {
		conn_close(c, "too many web peers");
		return;
	}
	if (strcount_get(&w->http_by_address, conn_addr_key(c)) >= c->set->cfg->max_per_address) {
		conn_close(c, "too many web peers from its address");
		return;
	}
	int fd = c->transport->give_socket(c);
	if (fd < 0) {
		conn_close(c, strerror(-fd));
		return;
	}
	/* Its address, for the WebSocket: ESTABLISHED may come inside the
	 * adoption (the request whole in h->bytes), else later (opaque). */
	w->adopting = origin_of(w, c);
	/* Closed first: the WebSocket takes its place in the per-address and
	 * total counts. h stays until the conn's memory goes. */
	conn_close(c, "handed to the web server");
	/* lws owns the descriptor from here, even when it fails (and closes
	 * it); the conn closes its handle on the same socket. */
	struct lws *wsi = lws_adopt_socket_vhost_readbuf(w->vhost, fd, h->bytes, h->len);
	if (wsi == NULL)
		log_info("%s: the web server refused it", conn_addr(c));
	if (wsi != NULL && w->adopting != NULL)
		lws_set_opaque_user_data(wsi, w->adopting);
	else
		origin_drop(w, w->adopting); /* NULL when ESTABLISHED took it */
	w->adopting = NULL;
}

static int handover_start(struct conn *c)
{
	struct handover *h = malloc(sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	h->len = 0;
	c->proto_data = h;
	c->hears = false;
	c->seen_line = true; /* the web server times its requests */
	conn_drop_unsent(c);
	/* Right after this read, whose bytes on_data collects. */
	conn_timer_start(c, 0, hand_over);
	return 0;
}

static void handover_stop(struct conn *c)
{
	free(c->proto_data);
	c->proto_data = NULL;
}

static void handover_data(struct conn *c, const char *data, size_t len)
{
	struct handover *h = c->proto_data;
	if (len > sizeof(h->bytes) - h->len) {
		conn_close(c, "HTTP request too large");
		return;
	}
	memcpy(h->bytes + h->len, data, len);
	h->len += len;
}

/* It is told nothing: it is no chat peer (yet). */
static void no_history(struct conn *c, struct room *room, uint64_t after_id)
{
	(void)c, (void)room, (void)after_id;
}
static void no_error(struct conn *c, enum chat_error error, const char *detail)
{
	(void)c, (void)error, (void)detail;
}
static void no_info(struct conn *c, enum chat_info info, const char *detail)
{
	(void)c, (void)info, (void)detail;
}
static void no_list(struct conn *c, enum chat_list kind, const char *room,
		    const struct chat_entry *entries, size_t count)
{
	(void)c, (void)kind, (void)room, (void)entries, (void)count;
}

const struct proto_ops web_handover_proto = {
	.name = "http",
	.format = EVENT_FORMAT_TEXT, /* hears nothing */
	.on_start = handover_start,
	.on_stop = handover_stop,
	.on_data = handover_data,
	.send_history = no_history,
	.send_error = no_error,
	.send_info = no_info,
	.send_list = no_list,
};

/* ---- the context -------------------------------------------------------- */

/* lws's lines in our log. Its errors are mostly a peer's (a bad request);
 * 4.1 also says "calling service" as an error on every adoption, and
 * "denied" for every Origin we refuse (logged already). */
static void lws_line(int level, const char *line)
{
	int len = (int)strlen(line);
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if ((level & (LLL_ERR | LLL_WARN)) && strstr(line, "calling service") == NULL &&
	    strstr(line, "denied connection") == NULL)
		log_warn("web: %.*s", len, line);
	else
		log_debug("web: %.*s", len, line);
}

static void count_handle(uv_handle_t *handle, void *arg)
{
	(void)handle;
	(*(unsigned *)arg)++;
}

/* The handles on the loop: lws on our loop adds its own. */
static unsigned loop_handles(uv_loop_t *loop)
{
	unsigned n = 0;
	uv_walk(loop, count_handle, &n);
	return n;
}

static void set_headers(struct web *w)
{
	/* Every response: the page runs only its own files, shows pictures
	 * from blob: and data: URLs, talks only to its own origin. */
	static const char *const pairs[][2] = {
		{"content-security-policy:",
		 "default-src 'none'; script-src 'self'; style-src 'self'; "
		 "img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; "
		 "form-action 'none'; frame-ancestors 'none'"},
		{"x-content-type-options:", "nosniff"},
		{"referrer-policy:", "no-referrer"},
		{"x-frame-options:", "deny"},
	};
	for (size_t i = 0; i < 4; i++) {
		w->headers[i] = (struct lws_protocol_vhost_options){
			.next = i + 1 < 4 ? &w->headers[i + 1] : NULL,
			.name = pairs[i][0],
			.value = pairs[i][1],
		};
	}
}

int web_start(struct web **out, uv_loop_t *loop, struct conns *conns, const char *root,
	      const struct proto_ops *ws_proto, const char **cause)
{
	struct web *w = calloc(1, sizeof(*w));
	*out = w;
	if (w == NULL) {
		*cause = "out of memory";
		return -ENOMEM;
	}
	w->loop = loop;
	w->conns = conns;
	w->ws_proto = ws_proto;
	w->stopped = true; /* until it runs */
	if (strcount_init(&w->http_by_address) < 0) {
		*cause = "out of memory";
		return -ENOMEM;
	}
	/* A mount needs an absolute origin; a missing root only costs 404s. */
	if (realpath(root, w->root) == NULL) {
		log_warn("web root %s: %s: the page will not be found", root, strerror(errno));
		snprintf(w->root, sizeof(w->root), "%s", root);
	}
	w->mount = (struct lws_http_mount){
		.mountpoint = "/",
		.origin = w->root,
		.def = "index.html",
		.origin_protocol = LWSMPRO_FILE,
		.mountpoint_len = 1,
	};
	set_headers(w);
	lws_set_log_level(LLL_ERR | LLL_WARN | (log_enabled(LOG_DEBUG) ? LLL_NOTICE : 0),
			  lws_line);

	void *loops[1] = {loop};
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER; /* our TCP transport accepts */
	info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8 |
		       LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.foreign_loops = loops;
	info.user = w;
	info.protocols = protocols;
	info.mounts = &w->mount;
	info.headers = w->headers;
	info.max_http_header_data = WEB_MAX_HEADERS;
	info.timeout_secs = WEB_TIMEOUT_S;
	info.keepalive_timeout = WEB_TIMEOUT_S;
	info.server_string = "chatroom";
	/* lws sets it to NULL once the context is wholly gone. */
	info.pcontext = &w->context;
	unsigned before = loop_handles(loop);
	w->context = lws_create_context(&info);
	if (w->context == NULL) {
		*cause = "libwebsockets cannot run on the libuv loop "
			 "(is libwebsockets-evlib-uv installed?)";
		return -EINVAL;
	}
	info.vhost_name = "chatroom";
	w->vhost = lws_create_vhost(w->context, &info);
	/* It must be our loop (its handles there): another would never run,
	 * and lws would fall back to its own poll() without a word. */
	if (w->vhost == NULL || loop_handles(loop) <= before) {
		*cause = w->vhost == NULL ? "libwebsockets: cannot make the web server"
					  : "libwebsockets did not take our libuv loop "
					    "(is libwebsockets-evlib-uv installed?)";
		lws_context_destroy(w->context); /* closes on the loop */
		return -EINVAL;
	}
	w->stopped = false;
	log_info("web client served from %s", w->root);
	return 0;
}

void web_stop(struct web *w)
{
	if (w == NULL || w->stopped)
		return;
	w->stopped = true;
	lws_context_destroy(w->context); /* finishes as its handles close */
}

void web_free(struct web *w)
{
	if (w == NULL)
		return;
	/* On a foreign loop the destruction ends in a second call, once the
	 * loop has closed lws's handles (as lws's own examples do). */
	if (w->context != NULL)
		lws_context_destroy(w->context);
	strcount_free(&w->http_by_address);
	free(w->out);
	free(w);
}
