#include "conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hub.h"
#include "log.h"
#include "server.h"
#include "binpeer.h"
#include "textpeer.h"

/* At most this many buffers per write: several senders' messages of one
 * loop turn leave in a single writev. */
#define CONN_WRITE_BUFS 64

/* A binary frame from a peer: a message is at most 16 KiB of text, so
 * nothing legitimate comes near; images, when relayed, will raise it. */
#define CONN_MAX_FRAME (64u * 1024)

/* How far past its limit a queue may grow within one loop turn, before the
 * flush shows whether the peer is really behind. */
#define CONN_BURST_FACTOR 4
/* Pictures are shared frames, counted apart from the chat: a reader may
 * be this far behind in them (a dozen large ones) before it is dropped. */
#define CONN_MAX_BULK (64u * 1024 * 1024)

/* Unfinished picture frames (larger than CONN_MAX_FRAME) keep their bytes
 * in the decoder's stash: at most this much server-wide, a dozen pictures
 * on their way at once. A frame that stalls for the handshake timeout, or
 * comes slower than CONN_MIN_FRAME_RATE bytes a second on the whole, is
 * cut: nothing is held forever. */
#define CONN_MAX_STASHED (64u * 1024 * 1024)
#define CONN_MIN_FRAME_RATE (16u * 1024)

static void conn_free(struct conn *c)
{
	/* The flush list must never hold a freed conn. on_written no longer
	 * marks a closed conn; should anything else, it is unmarked here
	 * rather than taking every peer down with an abort. */
	if (c->pending) {
		log_warn("%s freed while marked for a flush", c->addr);
		server_unmark_pending(c->server, c);
	}
	linereader_free(&c->lines);
	wire_decoder_free(&c->frames);
	outq_clear(&c->out);
	free(c->write_req); /* libuv has called back every write by now */
	free(c);
}

static void on_handle_closed(uv_handle_t *handle)
{
	struct conn *c = handle->data;
	if (--c->open_handles > 0 || c->jobs > 0)
		return; /* a job off the loop thread still points here */
	conn_free(c);
}

void conn_allow_pictures(struct conn *c)
{
	c->frames.max_image_frame = c->server->cfg.image_max_bytes + 4096;
}

void conn_job_begin(struct conn *c)
{
	c->jobs++;
}

void conn_job_end(struct conn *c)
{
	if (--c->jobs == 0 && c->open_handles == 0)
		conn_free(c);
}

static void close_handles(struct conn *c)
{
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

void conn_close(struct conn *c, const char *reason)
{
	if (c->closing && !c->draining)
		return;
	bool was_draining = c->draining;
	c->closing = true;
	c->draining = false;
	c->server->stashed_bytes -= c->stashed; /* freed with the conn, soon */
	c->stashed = 0;
	if (!was_draining) {
		log_info("%s disconnected (%s)", c->addr, reason);
		hub_remove(&c->server->hub, c);
	}
	server_unmark_pending(c->server, c);
	server_remove_conn(c->server, c);
	close_handles(c);
}

static void on_drain_deadline(uv_timer_t *timer)
{
	conn_close(timer->data, "did not read its last messages in time");
}

void conn_close_after_flush(struct conn *c, const char *reason)
{
	if (c->closing)
		return;
	log_info("%s disconnected (%s)", c->addr, reason);
	hub_remove(&c->server->hub, c);
	c->closing = true;
	c->draining = true;
	c->server->stashed_bytes -= c->stashed;
	c->stashed = 0;
	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_timer_start(&c->timer, on_drain_deadline,
		       c->server->cfg.drain_timeout_ms, 0);
	if (c->out.count == 0 && !c->writing)
		conn_close(c, reason);
	else
		server_mark_pending(c->server, c);
}

const char *conn_label(const struct conn *c)
{
	return c->has_pseudo ? c->pseudo : c->addr;
}

static void drop_slow_reader(struct conn *c)
{
	char reason[96];
	if (c->out.bulk > CONN_MAX_BULK)
		snprintf(reason, sizeof(reason), "slow reader: more than %u MiB of pictures waiting",
			 CONN_MAX_BULK >> 20);
	else
		snprintf(reason, sizeof(reason), "slow reader: more than %zu bytes waiting",
			 c->server->cfg.max_queue_bytes);
	conn_close(c, reason);
}

/* conn_send may run inside a broadcast that is walking the member list, so
 * it never closes the conn itself: it marks it, and the flush closes it. */
static void doom(struct conn *c, enum conn_doom why)
{
	if (c->doom == CONN_FINE)
		c->doom = why;
	server_mark_pending(c->server, c);
}

void conn_send(struct conn *c, struct frame *f)
{
	if (c->closing || c->doom != CONN_FINE)
		return;
	/* Per-delivery lines only at debug level: they would cost more than
	 * the delivery itself. */
	log_debug("message sent to %s (%u bytes)", c->addr, f->len);
	if (outq_push(&c->out, f) < 0) {
		doom(c, CONN_OUT_OF_MEMORY);
		return;
	}
	/* The limit is judged after a flush, on what the peer did not take;
	 * this bound only stops one very busy loop turn from piling up. */
	if (c->out.bytes - c->out.bulk > CONN_BURST_FACTOR * c->server->cfg.max_queue_bytes ||
	    c->out.bulk > CONN_MAX_BULK) {
		doom(c, CONN_SLOW_READER);
		return;
	}
	server_mark_pending(c->server, c);
}

static void on_written(uv_write_t *req, int status)
{
	struct conn *c = req->data;
	c->writing = false;
	/* A closed conn has nothing left to write: UV_ECANCELED arrives while
	 * the handle closes, and so does a write libuv completed at once
	 * (status 0), with frames still queued behind it. */
	if (c->closing && !c->draining)
		return;
	if (status < 0) {
		conn_close(c, uv_strerror(status));
		return;
	}
	outq_consume(&c->out, c->inflight_bytes);
	c->inflight_bytes = 0;
	if (c->out.count > 0) {
		server_mark_pending(c->server, c);
		return;
	}
	c->soft_since_ms = 0;
	if (c->draining)
		conn_close(c, "drained");
}

/* Writes straight away while the socket takes it. Returns false when the
 * conn was closed on an error. */
static bool write_now(struct conn *c)
{
	uv_buf_t bufs[CONN_WRITE_BUFS];
	while (c->out.count > 0) {
		unsigned n = outq_peek(&c->out, bufs, CONN_WRITE_BUFS);
		size_t total = 0;
		for (unsigned i = 0; i < n; i++)
			total += bufs[i].len;
		int rc = uv_try_write((uv_stream_t *)&c->tcp, bufs, n);
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
	uv_buf_t bufs[CONN_WRITE_BUFS];
	unsigned n = outq_peek(&c->out, bufs, CONN_WRITE_BUFS);
	size_t total = 0;
	for (unsigned i = 0; i < n; i++)
		total += bufs[i].len;
	if (c->write_req == NULL) {
		c->write_req = malloc(sizeof(*c->write_req));
		if (c->write_req == NULL) {
			conn_close(c, "out of memory for a write");
			return;
		}
		c->write_req->data = c;
	}
	int rc = uv_write(c->write_req, (uv_stream_t *)&c->tcp, bufs, n, on_written);
	if (rc < 0) {
		conn_close(c, uv_strerror(rc));
		return;
	}
	c->writing = true;
	c->inflight_bytes = total;
}

void conn_trim(struct conn *c)
{
	if (c->writing)
		return;
	outq_trim(&c->out);
	free(c->write_req);
	c->write_req = NULL;
}

void conn_flush(struct conn *c)
{
	if ((c->closing && !c->draining) || c->proto == CONN_UNKNOWN)
		return; /* an unknown peer is flushed once its protocol is known */
	if (c->doom == CONN_OUT_OF_MEMORY) {
		conn_close(c, "out of memory for its output queue");
		return;
	}
	if (c->doom == CONN_SLOW_READER) {
		drop_slow_reader(c);
		return;
	}
	/* While a uv_write is under way, on_written comes back here. */
	if (!c->writing && !write_now(c))
		return;
	if (c->out.count == 0) {
		c->soft_since_ms = 0;
		if (c->draining)
			conn_close(c, "drained");
		return;
	}
	/* The limits count everything unread, the write under way included. */
	size_t chat = c->out.bytes - c->out.bulk;
	if (!c->draining && (chat > c->server->cfg.max_queue_bytes || c->out.bulk > CONN_MAX_BULK)) {
		drop_slow_reader(c);
		return;
	}
	/* Over the soft limit: the tick drops the peer if it stays there. */
	if (chat > c->server->cfg.soft_queue_bytes) {
		if (c->soft_since_ms == 0)
			c->soft_since_ms = clock_ms();
	} else {
		c->soft_since_ms = 0;
	}
	if (!c->writing)
		write_later(c);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct conn *c = handle->data;
	struct server *s = c->server;
	if (s->read_buf_lent) {
		/* Cannot happen on one thread; libuv reports UV_ENOBUFS if it does. */
		*buf = uv_buf_init(NULL, 0);
		return;
	}
	s->read_buf_lent = true;
	*buf = uv_buf_init(s->read_buf, sizeof(s->read_buf));
}

static void deliver_partial(struct conn *c)
{
	const char *line;
	size_t len;
	if (linereader_take_partial(&c->lines, &line, &len) == 1) {
		c->seen_line = true;
		c->last_heard_ms = clock_ms();
		textpeer_on_line(&c->server->hub, c, line, len);
	}
}

static void on_partial_due(uv_timer_t *timer)
{
	struct conn *c = timer->data;
	if (!c->closing && c->doom == CONN_FINE)
		deliver_partial(c);
}

static void refuse_line(struct conn *c, int rc)
{
	if (rc == -E2BIG)
		hub_refuse(c, WIRE_ERR_TOO_LARGE, "ligne trop longue (plus de 4096 octets)",
			   "line too long");
	else
		hub_refuse(c, WIRE_ERR_TOO_LARGE, "mémoire insuffisante", "out of memory");
}

static void read_lines(struct conn *c, const char *data, size_t len)
{
	linereader_feed(&c->lines, data, len);
	/* A doomed peer (too far behind) is not served any more: it goes at
	 * the next flush, and the rest of its input goes with it. */
	while (!c->closing && c->doom == CONN_FINE) {
		const char *line;
		size_t n;
		int rc = linereader_next(&c->lines, &line, &n);
		if (rc == 0)
			break;
		if (rc < 0) {
			refuse_line(c, rc);
			return;
		}
		c->seen_line = true;
		c->last_heard_ms = clock_ms();
		textpeer_on_line(&c->server->hub, c, line, n);
	}
	if (c->closing || c->doom != CONN_FINE)
		return;
	if (linereader_has_partial(&c->lines))
		uv_timer_start(&c->timer, on_partial_due,
			       c->server->cfg.partial_delay_ms, 0);
	else
		uv_timer_stop(&c->timer);
}

static void on_frame_stalled(uv_timer_t *timer)
{
	struct conn *c = timer->data;
	if (!c->closing)
		hub_refuse(c, WIRE_ERR_TIMEOUT, "image reçue trop lentement", "picture frame too slow");
}

/* After a read: what the conn's unfinished frame holds, within the
 * server's budget and the frame's deadline (see CONN_MAX_STASHED). */
static void watch_stash(struct conn *c)
{
	struct server *s = c->server;
	size_t held = c->frames.stash.cap > CONN_MAX_FRAME ? c->frames.stash.cap : 0;
	if (held == 0 && c->stashed == 0)
		return; /* no picture on its way: the common case */
	int64_t now = clock_ms();
	if (c->stashed == 0)
		c->frame_since_ms = now;
	s->stashed_bytes = s->stashed_bytes - c->stashed + held;
	c->stashed = held;
	if (held == 0) {
		uv_timer_stop(&c->timer); /* it came whole */
		return;
	}
	if (s->stashed_bytes > CONN_MAX_STASHED) {
		hub_refuse(c, WIRE_ERR_FULL, "le serveur reçoit trop d'images à la fois, réessayez",
			   "too many pictures on their way");
		return;
	}
	int64_t stall = now + s->cfg.handshake_ms;
	int64_t end = c->frame_since_ms + s->cfg.handshake_ms +
		      (int64_t)(s->cfg.image_max_bytes / CONN_MIN_FRAME_RATE) * 1000;
	int64_t due = stall < end ? stall : end;
	uv_timer_start(&c->timer, on_frame_stalled, due > now ? (uint64_t)(due - now) : 0, 0);
}

static void read_frames(struct conn *c, const char *data, size_t len)
{
	wire_feed(&c->frames, data, len);
	while (!c->closing && c->doom == CONN_FINE) {
		struct wire_msg m;
		int rc = wire_next(&c->frames, &m);
		if (rc == 0)
			break;
		if (rc < 0) {
			char why[128];
			snprintf(why, sizeof(why), "bad frame: %s", c->frames.cause);
			hub_refuse(c, c->frames.error_code, c->frames.cause, why);
			return;
		}
		/* Only its welcome counts as its first line (binpeer.c): a
		 * peer that PINGs without a HELLO still times out. */
		c->last_heard_ms = clock_ms();
		binpeer_on_frame(&c->server->hub, c, &m);
	}
	if (!c->closing)
		watch_stash(c);
}

/* The protocol is known: what was queued may go (text), or was meant for
 * a text peer and is dropped (binary). */
static void set_proto(struct conn *c, enum conn_proto proto)
{
	c->proto = proto;
	uv_timer_stop(&c->timer);
	if (proto == CONN_BINARY) {
		/* A line already on its way is finished; the client skips it. */
		outq_drop_unsent(&c->out, c->writing ? c->inflight_bytes : 0);
		wire_decoder_init(&c->frames, CONN_MAX_FRAME);
	} else {
		server_mark_pending(c->server, c);
	}
}

static void on_sniff_due(uv_timer_t *timer)
{
	struct conn *c = timer->data;
	if (!c->closing && c->proto == CONN_UNKNOWN)
		set_proto(c, CONN_TEXT);
}

/* Reads as much of the binary hello as there is; returns how many bytes
 * it took, or -1 when the peer was refused. */
static ssize_t read_magic(struct conn *c, const char *data, size_t len)
{
	size_t i = 0;
	while (c->magic_seen < WIRE_MAGIC_LEN && i < len) {
		if (data[i] != WIRE_MAGIC[c->magic_seen]) {
			bool other_version = c->magic_seen == WIRE_MAGIC_LEN - 1;
			c->proto = other_version ? CONN_BINARY : CONN_TEXT;
			hub_refuse(c, WIRE_ERR_VERSION, other_version
				   ? "version du protocole inconnue (ce serveur parle la 1)"
				   : "protocole inconnu", "unknown protocol hello");
			return -1;
		}
		c->magic_seen++;
		i++;
	}
	if (c->magic_seen == WIRE_MAGIC_LEN)
		set_proto(c, CONN_BINARY);
	return (ssize_t)i;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = stream->data;
	if (buf->base == c->server->read_buf)
		c->server->read_buf_lent = false;
	if (nread == 0 || c->closing || c->doom != CONN_FINE)
		return;
	if (nread < 0) {
		if (nread == UV_EOF) {
			/* A last message may come without its '\n'. */
			if (c->proto != CONN_BINARY)
				deliver_partial(c);
			conn_close(c, "closed the connection");
		} else {
			conn_close(c, uv_strerror((int)nread));
		}
		return;
	}

	const char *data = buf->base;
	size_t len = (size_t)nread;
	/* A NUL first byte, which no text line starts with, means binary;
	 * even after the sniff delay took a silent peer for a text one. */
	if (c->proto == CONN_TEXT && !c->heard_bytes && data[0] == '\0')
		c->proto = CONN_UNKNOWN;
	c->heard_bytes = true;
	if (c->proto == CONN_UNKNOWN && data[0] != '\0')
		set_proto(c, CONN_TEXT);
	if (c->proto != CONN_TEXT && c->magic_seen < WIRE_MAGIC_LEN) {
		ssize_t used = read_magic(c, data, len);
		if (used < 0)
			return;
		data += used;
		len -= (size_t)used;
	}
	if (len == 0)
		return;
	if (c->proto == CONN_TEXT)
		read_lines(c, data, len);
	else
		read_frames(c, data, len);
}

/* A peer that vanished without a word (cable pulled, laptop shut) is
 * found by TCP keepalive: probed after a minute of silence, every 10 s,
 * given up after 3 unanswered probes. Text peers cannot answer a PING. */
static void keep_alive(struct conn *c)
{
	uv_tcp_keepalive(&c->tcp, 1, 60);
	uv_os_fd_t fd;
	if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0) {
		int interval = 10, probes = 3;
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof(probes));
	}
}

static void peer_address(struct conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	c->ip[0] = '\0';
	c->port = 0;
	c->addr_key[0] = '\0';
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			uv_ip6_name(a, c->ip, sizeof(c->ip));
			c->port = ntohs(a->sin6_port);
			/* An IPv4 client of a dual-stack socket stays itself. */
			if (!IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
				struct sockaddr_in6 prefix = *a;
				char ip[INET6_ADDRSTRLEN];
				memset(prefix.sin6_addr.s6_addr + 8, 0, 8);
				uv_ip6_name(&prefix, ip, sizeof(ip));
				snprintf(c->addr_key, sizeof(c->addr_key), "%s/64", ip);
			}
		} else {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			uv_ip4_name(a, c->ip, sizeof(c->ip));
			c->port = ntohs(a->sin_port);
		}
	}
	snprintf(c->addr, sizeof(c->addr), "%s:%u", c->ip, c->port);
	if (c->addr_key[0] == '\0')
		snprintf(c->addr_key, sizeof(c->addr_key), "%s", c->ip);
}

int conn_accept(struct server *s, uv_stream_t *listener)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return UV_ENOMEM;
	c->server = s;
	c->id = ++s->last_conn_id;
	c->colour = -1;
	uv_tcp_init(s->loop, &c->tcp);
	c->tcp.data = c;
	c->open_handles = 1;

	int rc = uv_accept(listener, (uv_stream_t *)&c->tcp);
	if (rc < 0) {
		uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
		return rc;
	}
	uv_timer_init(s->loop, &c->timer);
	c->timer.data = c;
	c->open_handles = 2;

	/* Chat lines are small and must not wait for Nagle's delay; keepalive
	 * finds peers that vanished without a word (text peers cannot pong). */
	uv_tcp_nodelay(&c->tcp, 1);
	keep_alive(c);
	peer_address(c);
	linereader_init(&c->lines, TEXT_MAX_LINE);
	outq_init(&c->out);
	const struct server_config *cfg = &s->cfg;
	c->connected_ms = clock_ms();
	bucket_init(&c->flood_messages, cfg->flood_rate, cfg->flood_burst, c->connected_ms);
	bucket_init(&c->flood_bytes, cfg->flood_bytes_rate, cfg->flood_bytes_burst,
		    c->connected_ms);
	bucket_init(&c->flood_pictures, PICTURE_BYTES_RATE, PICTURE_BYTES_BURST, c->connected_ms);
	c->last_heard_ms = c->connected_ms;

	server_add_conn(s, c);
	log_info("%s connected", c->addr);
	hub_add(&s->hub, c);

	const char *refusal = server_admit(s, c);
	if (refusal != NULL) {
		c->proto = CONN_TEXT; /* it has said nothing: answer in plain text */
		hub_refuse(c, WIRE_ERR_FULL, refusal, refusal);
		return 0;
	}
	/* A peer that says nothing for a moment is a text peer listening. */
	uv_timer_start(&c->timer, on_sniff_due, s->cfg.partial_delay_ms, 0);
	rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	if (rc < 0)
		conn_close(c, uv_strerror(rc));
	return 0;
}
