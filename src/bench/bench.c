/*
 * bench: one run of chatroom-bench (see bench.h and main.c for the
 * modes). It owns struct bench and its peers: the connections, their
 * parsers and TLS sessions, and the run's tally (tally.c: the counters and
 * latency samples, and the table and RESULT line printed from them), all
 * made and freed by bench_run.
 *
 * Source addresses spread over 127.0.0.0/8 so ports never run out.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "adapter.h"
#include "bench.h"
#include "benchtls.h"
#include "procstat.h"
#include "tally.h"

struct bench;

struct peer {
	uv_tcp_t tcp;
	uv_connect_t connect_req;
	struct bench *b;
	int index;
	bool publisher;
	struct parse_state st;
	uint64_t seq;       /* publisher: messages sent */
	int inflight;       /* publisher: sent, not yet heard by its probe (or all) */
	int probe;          /* the subscriber whose hearing acknowledges */
	int *heard;         /* --ack all: receivers that heard seq, at seq % window */
	uint64_t rtt_sent_ns;
	int rtt_heard;
	bool answered;      /* the server has said something to it */
	struct tls_link *tls; /* --tls: its session */
};

struct bench {
	uv_loop_t *loop;
	struct bench_options o;
	const struct adapter *a;
	struct bench_tls *tls; /* --tls */
	struct peer *peers; /* subscribers first, then separate publishers */
	int subs, pubs, total;
	struct peer **publishers;
	int connected;
	struct sockaddr_in server;
	struct sockaddr_in nodes[8]; /* --nodes: connection i goes to nodes[i % count] */
	int node_count;
	int next_to_connect;
	int handles;        /* peers whose TCP handle is initialised */
	bool running, draining;
	struct tally t;
	uv_timer_t timer;
	uint64_t last_heard_ns; /* settling: the joins' echoes have stopped */
	double settle_cpu;      /* settling: the server's CPU seconds 250 ms ago */
	int exit_code;
	double p95_ms;
	bool rtt;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- writing ---------------------------------------------------------------- */

struct write_req {
	uv_write_t req;
	struct buffer data;
};

static void on_written(uv_write_t *req, int status)
{
	(void)status;
	struct write_req *w = (struct write_req *)req;
	buffer_free(&w->data);
	free(w);
}

static void send_raw(struct peer *p, struct buffer *data)
{
	struct write_req *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		buffer_free(data);
		return;
	}
	w->data = *data;
	uv_buf_t buf = uv_buf_init(w->data.data, (unsigned)w->data.len);
	if (uv_write(&w->req, (uv_stream_t *)&p->tcp, &buf, 1, on_written) < 0)
		on_written(&w->req, -1);
}

/* Over TLS, what is said is encrypted first (or waits for the handshake). */
static void send_buffer(struct peer *p, struct buffer *data)
{
	if (p->tls == NULL) {
		send_raw(p, data);
		return;
	}
	if (benchtls_write(p->tls, data->data, data->len) < 0)
		p->b->exit_code = 1;
	buffer_free(data);
	struct buffer cipher = {0};
	benchtls_take(p->tls, &cipher);
	if (cipher.len > 0)
		send_raw(p, &cipher);
	else
		buffer_free(&cipher);
}

/* A payload starts "sender:seq:ns:" in hex digits of fixed widths (8, 8
 * and 16), read back eight digits at a time at every delivery. */
#define HEAD_LEN (8 + 1 + 8 + 1 + 16 + 1)
_Static_assert(HEAD_LEN <= BENCH_MIN_SIZE, "every payload holds its header");

/* The header, padded to the message size. */
static void publish(struct peer *p)
{
	struct bench *b = p->b;
	char payload[4096];
	uint64_t stamp = now_ns();
	int n = snprintf(payload, sizeof(payload), "%08x:%08x:%016" PRIx64 ":", (unsigned)p->index,
			 (unsigned)(p->seq++ & 0xffffffffu), stamp);
	int size = b->o.size < (int)sizeof(payload) ? b->o.size : (int)sizeof(payload) - 1;
	for (; n < size; n++)
		payload[n] = 'x';
	struct buffer out = {0};
	b->a->say(payload, (size_t)n, &out);
	send_buffer(p, &out);
	b->t.sent++;
	p->inflight++;
	p->rtt_sent_ns = stamp;
	p->rtt_heard = 0;
}

/* ---- hearing ---------------------------------------------------------------- */

static void record(struct bench *b, uint64_t ns)
{
	if (b->t.sample_count < b->t.sample_cap)
		b->t.samples[b->t.sample_count++] = ns;
}

/* Bytes strictly between m and n (all bytes of x below 0x80 or refused)
 * get their high bit: "has between" of Bit Twiddling Hacks, per byte. */
#define ONES UINT64_C(0x0101010101010101)
#define BYTES_BETWEEN(x, m, n) \
	((ONES * (127 + (n)) - ((x) & ONES * 127)) & ~(x) & \
	 (((x) & ONES * 127) + ONES * (127 - (m))) & ONES * 128)

/* The 8 hex digits at p, or -1 when one is not a digit (0-9a-f). All
 * eight at once in a word: no branch nor look-up per digit. */
static int64_t hex8(const char *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x); /* the first digit in the lowest byte */
#endif
	if ((BYTES_BETWEEN(x, '0' - 1, '9' + 1) | BYTES_BETWEEN(x, 'a' - 1, 'f' + 1)) != ONES * 128)
		return -1;
	/* '0'-'9' are 0x30-0x39, 'a'-'f' 0x61-0x66: the low nibble, plus 9
	 * where bit 6 is set. Then the nibbles packed, first digit on top. */
	uint64_t d = __builtin_bswap64((x & ONES * 15) + 9 * ((x >> 6) & ONES));
	d = (d | d >> 4) & UINT64_C(0x00ff00ff00ff00ff);
	d = (d | d >> 8) & UINT64_C(0x0000ffff0000ffff);
	return (int64_t)((d | d >> 16) & 0xffffffffu);
}

static void on_payload(void *arg, const char *payload, size_t len)
{
	struct peer *heard_by = arg;
	struct bench *b = heard_by->b;
	if (len < HEAD_LEN || payload[8] != ':' || payload[17] != ':' || payload[34] != ':')
		return;
	int64_t sender = hex8(payload), seq = hex8(payload + 9), ns_high = hex8(payload + 18),
		ns_low = hex8(payload + 26);
	if (sender < 0 || sender >= b->total || seq < 0 || ns_high < 0 || ns_low < 0)
		return;
	uint64_t sent_ns = (uint64_t)ns_high << 32 | (uint64_t)ns_low;
	if (b->t.start_ns == 0 || sent_ns < b->t.start_ns)
		return; /* an earlier run's, replayed from the room's history */
	struct peer *from = &b->peers[sender];
	b->t.delivered++;
	if (b->rtt) {
		if (sent_ns != from->rtt_sent_ns || ++from->rtt_heard < (int)b->t.expected_per_message)
			return; /* an older broadcast, or not everyone has it yet */
		record(b, now_ns() - from->rtt_sent_ns);
		from->inflight = 0;
		if (b->running)
			publish(from);
		return;
	}
	if (b->running && (b->t.delivered & 7) == 0) {
		if (b->t.origins != NULL && b->t.sample_count < b->t.sample_cap)
			b->t.origins[b->t.sample_count] = (struct sample_origin){
				(uint32_t)heard_by->index, (uint32_t)sender, sent_ns};
		record(b, now_ns() - sent_ns); /* one in eight: plenty for percentiles */
	}
	bool acked = heard_by->index == from->probe;
	if (from->heard != NULL) {
		/* A sender's messages reach each receiver in order, so the W
		 * in flight are W consecutive seqs: one counter each. */
		int *heard = &from->heard[seq % (uint64_t)b->o.window];
		acked = ++*heard == (int)b->t.expected_per_message;
		if (acked)
			*heard = 0;
	}
	if (acked && from->inflight > 0) {
		from->inflight--;
		if (b->running)
			while (from->inflight < b->o.window)
				publish(from);
	}
}

/* One buffer for every read: libuv hands it to on_read straight away and
 * the adapters keep what they need of it. */
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	static char shared[64 * 1024];
	*buf = uv_buf_init(shared, sizeof(shared));
}

static void connect_next(struct bench *b);

/* The server took one more: another may knock. */
static void answered(struct peer *p)
{
	if (!p->answered) {
		p->answered = true;
		connect_next(p->b);
	}
}

static void on_plain(void *arg, const char *data, size_t len)
{
	struct peer *p = arg;
	if (p->b->a->feed(&p->st, data, len, p, on_payload) < 0)
		fprintf(stderr, "chatroom-bench: connection %d: unexpected bytes\n", p->index);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct peer *p = s->data;
	p->b->last_heard_ns = now_ns();
	if (nread > 0)
		answered(p);
	if (nread > 0 && p->tls == NULL)
		on_plain(p, buf->base, (size_t)nread);
	if (nread > 0 && p->tls != NULL) {
		if (benchtls_feed(p->tls, buf->base, (size_t)nread, on_plain, p) < 0) {
			p->b->exit_code = 1;
			uv_stop(p->b->loop);
			return;
		}
		struct buffer nothing = {0};
		send_buffer(p, &nothing); /* the handshake's answer, what waited */
	}
	if (nread < 0 && !p->b->draining && p->b->exit_code == 0) {
		fprintf(stderr, "chatroom-bench: connection %d closed: %s\n", p->index,
			uv_strerror((int)nread));
		p->b->exit_code = 1;
		uv_read_stop(s);
	}
}

/* ---- the run ---------------------------------------------------------------- */

static void close_all(struct bench *b)
{
	for (int i = 0; i < b->handles; i++)
		if (!uv_is_closing((uv_handle_t *)&b->peers[i].tcp))
			uv_close((uv_handle_t *)&b->peers[i].tcp, NULL);
	uv_close((uv_handle_t *)&b->timer, NULL);
}

static void close_any(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void on_drained(uv_timer_t *t)
{
	struct bench *b = t->data;
	int rc = tally_report(&b->t, &b->o, &b->p95_ms);
	if (rc != 0)
		b->exit_code = rc;
	close_all(b);
}

/* What is in flight still arrives: a throughput run waits until all of it
 * has (on a loaded machine a whole window can take seconds), at most
 * BENCH_DRAIN_MAX_MS; an rtt run two seconds. */
#define BENCH_DRAIN_STEP_MS 100
#define BENCH_DRAIN_MAX_MS 10000

static void on_draining(uv_timer_t *t)
{
	struct bench *b = t->data;
	bool all_in = b->t.delivered >= b->t.sent * b->t.expected_per_message;
	if (all_in || now_ns() - b->t.stop_ns >= BENCH_DRAIN_MAX_MS * 1000000ull) {
		on_drained(t);
		return;
	}
	uv_timer_start(&b->timer, on_draining, BENCH_DRAIN_STEP_MS, 0);
}

static void on_stop(uv_timer_t *t)
{
	struct bench *b = t->data;
	b->running = false;
	b->draining = true;
	b->t.stop_ns = now_ns();
	if (strcmp(b->o.mode, "throughput") == 0)
		uv_timer_start(&b->timer, on_draining, BENCH_DRAIN_STEP_MS, 0);
	else
		uv_timer_start(&b->timer, on_drained, 2000, 0);
}

static void on_settled(uv_timer_t *t)
{
	struct bench *b = t->data;
	/* A chat server tells a room of every arrival: N joins are N^2/2
	 * notices. The clock starts once they have all been heard and the
	 * server has gone quiet (under 10 % of a core). */
	double cpu = server_cpu(b->o.server_pid);
	bool server_busy = cpu >= 0 && cpu - b->settle_cpu > 0.025;
	b->settle_cpu = cpu;
	if (now_ns() - b->last_heard_ns < 500000000ull || server_busy) {
		uv_timer_start(&b->timer, on_settled, 250, 0);
		return;
	}
	if (strcmp(b->o.mode, "idle") == 0) {
		/* Held idle for D seconds: what the server keeps, not what a
		 * join storm left in its heap for a moment. */
		uv_timer_start(&b->timer, on_drained, (uint64_t)(b->o.seconds * 1000), 0);
		return;
	}
	b->t.cpu_start = server_cpu(b->o.server_pid);
	b->t.start_ns = now_ns();
	b->running = true;
	for (int i = 0; i < b->pubs; i++) {
		struct peer *p = b->publishers[i];
		int first = strcmp(b->o.mode, "rtt") == 0 ? 1 : b->o.window;
		for (int k = 0; k < first; k++)
			publish(p);
	}
	uv_timer_start(&b->timer, on_stop, (uint64_t)(b->o.seconds * 1000), 0);
}

static void on_connected(uv_connect_t *req, int status)
{
	struct peer *p = req->data;
	struct bench *b = p->b;
	if (status < 0) {
		fprintf(stderr, "chatroom-bench: connection %d: %s\n", p->index, uv_strerror(status));
		b->exit_code = 1;
		uv_stop(b->loop);
		return;
	}
	uv_tcp_nodelay(&p->tcp, 1);
	uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read);
	if (b->tls != NULL && (p->tls = benchtls_link(b->tls)) == NULL) {
		b->exit_code = 1;
		uv_stop(b->loop);
		return;
	}
	struct buffer out = {0};
	/* Idle users join rooms of --room-size (one big room costs N^2/2 join
	 * notices), then say nothing. */
	char room[32];
	bool idle = strcmp(b->o.mode, "idle") == 0 && b->o.room_size > 0;
	snprintf(room, sizeof(room), "idle%d", p->index / (b->o.room_size > 0 ? b->o.room_size : 1));
	if (!(p->publisher && b->a->separate_publishers))
		b->a->join(p->index, idle ? room : NULL, &out);
	if (out.len > 0)
		send_buffer(p, &out);
	else
		answered(p); /* a Redis publisher: nothing to answer */
	if (++b->connected == b->total) {
		/* Let every join land before the clock starts. */
		b->last_heard_ns = now_ns();
		b->settle_cpu = server_cpu(b->o.server_pid);
		uv_timer_start(&b->timer, on_settled, 1000, 0);
	}
}

/* Connections knock a few at a time, each once the server has answered an
 * earlier one, so that its accept queue never overflows (the kernel would
 * then reset connections the generator believes open). */
#define CONNECTS_AT_ONCE 64

static void connect_next(struct bench *b)
{
	if (b->next_to_connect >= b->total || b->exit_code != 0)
		return;
	struct peer *p = &b->peers[b->next_to_connect++];
	const struct sockaddr_in *to = b->node_count > 0 ? &b->nodes[p->index % b->node_count]
		: &b->server;
	int rc = uv_tcp_connect(&p->connect_req, &p->tcp, (const struct sockaddr *)to,
				on_connected);
	if (rc < 0) {
		fprintf(stderr, "chatroom-bench: connection %d: %s\n", p->index, uv_strerror(rc));
		b->exit_code = 1;
		uv_stop(b->loop);
	}
}

static int start_peers(struct bench *b)
{
	int rc = uv_ip4_addr(b->o.host, b->o.port, &b->server);
	if (rc < 0)
		return rc;
	/* A cluster: the connections spread over its nodes in turn. */
	for (const char *n = b->o.nodes; n != NULL && *n != '\0' && b->node_count < 8;) {
		char *end;
		long port = strtol(n, &end, 10);
		if (port < 1 || port > 65535 || (*end != ',' && *end != '\0'))
			return UV_EINVAL;
		rc = uv_ip4_addr(b->o.host, (int)port, &b->nodes[b->node_count++]);
		if (rc < 0)
			return rc;
		n = *end == ',' ? end + 1 : end;
	}
	for (int i = 0; i < b->total; i++) {
		struct peer *p = &b->peers[i];
		p->b = b;
		p->index = i;
		uv_tcp_init(b->loop, &p->tcp);
		b->handles++;
		p->tcp.data = p;
		p->connect_req.data = p;
		/* 127.0.x.y: a few thousand ports on each of many addresses. */
		char src[32];
		snprintf(src, sizeof(src), "127.0.%d.%d", 1 + (i / 250) % 250, 1 + i % 250);
		struct sockaddr_in from;
		uv_ip4_addr(src, 0, &from);
		rc = uv_tcp_bind(&p->tcp, (const struct sockaddr *)&from, 0);
		if (rc < 0)
			return rc;
	}
	for (int i = 0; i < CONNECTS_AT_ONCE; i++)
		connect_next(b);
	return 0;
}

int bench_run(const struct bench_options *o, double *p95_ms)
{
	struct bench *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return 1;
	b->o = *o;
	b->rtt = strcmp(o->mode, "rtt") == 0;
	b->a = adapter_find(o->target);
	if (o->tls && (b->tls = benchtls_new(o->ca, o->pin, o->host)) == NULL) {
		free(b);
		return 1;
	}
	b->subs = o->n;
	b->pubs = o->s;
	b->total = b->subs + (b->a->separate_publishers ? b->pubs : 0);
	b->t.expected_per_message = b->a->separate_publishers ? (uint64_t)b->subs : (uint64_t)b->subs - 1;
	b->peers = calloc((size_t)b->total, sizeof(*b->peers));
	b->publishers = calloc((size_t)b->pubs + 1, sizeof(*b->publishers));
	b->t.sample_cap = 4u << 20;
	b->t.samples = malloc(b->t.sample_cap * sizeof(*b->t.samples));
	bool throughput = strcmp(o->mode, "throughput") == 0;
	if (o->samples_path != NULL && throughput &&
	    (b->t.origins = malloc(b->t.sample_cap * sizeof(*b->t.origins))) == NULL)
		b->exit_code = 1;
	for (int i = 0; i < b->pubs; i++) {
		int at = b->a->separate_publishers ? b->subs + i : i * (b->subs / b->pubs);
		struct peer *p = &b->peers[at];
		p->publisher = true;
		/* Its acknowledgement comes from another subscriber hearing it;
		 * where that one sits in the server's order of writes decides
		 * how much more than W its slowest receivers have waiting.
		 * --ack all waits for every receiver instead. */
		p->probe = b->a->separate_publishers ? i % b->subs : (at + 1) % b->subs;
		if (o->ack_all && throughput &&
		    (p->heard = calloc((size_t)o->window, sizeof(*p->heard))) == NULL)
			b->exit_code = 1;
		b->publishers[i] = p;
	}
	uv_loop_t loop;
	uv_loop_init(&loop);
	b->loop = &loop;
	uv_timer_init(b->loop, &b->timer);
	b->timer.data = b;
	b->t.rss_start = server_rss_kib(o->server_pid);
	b->p95_ms = -1;
	int rc = b->exit_code == 0 ? start_peers(b) : UV_ENOMEM;
	if (rc < 0) {
		fprintf(stderr, "chatroom-bench: cannot connect: %s\n", uv_strerror(rc));
		b->exit_code = 1;
		close_all(b);
	}
	uv_run(b->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(b->loop) != 0) {
		/* Stopped early (a refused connection): close what is left. */
		uv_walk(b->loop, close_any, NULL);
		uv_run(b->loop, UV_RUN_DEFAULT);
		uv_loop_close(b->loop);
	}
	int code = b->exit_code;
	*p95_ms = b->p95_ms;
	benchtls_free(b->tls);
	for (int i = 0; i < b->total; i++) {
		benchtls_link_free(b->peers[i].tls);
		buffer_free(&b->peers[i].st.partial);
		free(b->peers[i].heard);
		if (b->peers[i].st.frames_ready)
			wire_decoder_free(&b->peers[i].st.frames);
	}
	free(b->peers);
	free(b->publishers);
	free(b->t.samples);
	free(b->t.origins);
	free(b);
	return code;
}
