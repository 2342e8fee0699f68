#include "conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "lasting.h"
#include "log.h"
#include "server_config.h"

/* How far past its limit a queue may grow within one loop turn, before the
 * flush shows whether the peer is really behind. */
#define CONN_BURST_FACTOR 4
/* Pictures are shared frames, counted apart from the chat: a reader may
 * be this far behind in them (a dozen large ones) before it is dropped. */
#define CONN_MAX_BULK (64u * 1024 * 1024)

/* ---- the set ------------------------------------------------------------ */

void conns_init(struct conns *set, uv_loop_t *loop, const struct server_config *cfg,
		const struct sniffer *sniffer, struct hub *hub, const struct conn_hooks *hooks,
		void *data)
{
	memset(set, 0, sizeof(*set));
	set->loop = loop;
	set->cfg = cfg;
	set->sniffer = sniffer;
	set->hub = hub;
	set->hooks = *hooks;
	set->data = data;
	LIST_INIT(&set->all);
	LIST_INIT(&set->pending);
	set->wheel_wake_ms = -1;
	wheel_init(&set->wheel, loop != NULL ? (int64_t)uv_now(loop) : 0);
	if (loop != NULL) {
		uv_timer_init(loop, &set->wheel_timer);
		set->wheel_timer.data = set;
	}
}

void conns_close(struct conns *set)
{
	if (set->loop != NULL && !uv_is_closing((uv_handle_t *)&set->wheel_timer))
		uv_close((uv_handle_t *)&set->wheel_timer, NULL);
}

static void mark_pending(struct conn *c)
{
	if (c->pending)
		return;
	c->pending = true;
	LIST_INSERT_HEAD(&c->set->pending, c, pending_link);
}

static void unmark_pending(struct conn *c)
{
	if (!c->pending)
		return;
	LIST_REMOVE(c, pending_link);
	c->pending = false;
}

static void conn_flush(struct conn *c);

/* A flush that disconnects someone may queue notices for others; they
 * are flushed now too. */
void conns_flush(struct conns *set)
{
	struct conn *c;
	while ((c = LIST_FIRST(&set->pending)) != NULL) {
		unmark_pending(c);
		conn_flush(c);
	}
}

bool conns_have_output(const struct conns *set)
{
	return !LIST_EMPTY(&set->pending);
}

/* ---- lifetime ----------------------------------------------------------- */

static void conn_free(struct conn *c)
{
	/* The flush list must never hold a freed conn. Nothing marks a closed
	 * conn; should anything, it is unmarked here rather than taking every
	 * peer down with an abort. */
	if (c->pending) {
		log_warn("%s freed while marked for a flush", conn_addr(c));
		unmark_pending(c);
	}
	wheel_remove(&c->set->wheel, &c->deadline);
	if (c->proto_started && c->proto->on_stop != NULL)
		c->proto->on_stop(c);
	outq_clear(&c->out);
	conn_budgets_forget(c);
	/* Its social went at hub_remove, its pictures with its jobs. */
	lasting_free(c->extras, sizeof(*c->extras));
	if (c->addr_in_block)
		free(c->address.block);
	if (c->slab > 0)
		slab_free(&c->set->slabs[c->slab - 1], c);
	else
		free(c);
}

static void release(struct conn *c)
{
	c->transport_open = false;
	if (c->jobs > 0)
		return; /* a job off the loop thread still points here */
	conn_free(c);
}

void conn_transport_closed(struct conn *c)
{
	release(c);
}

struct conn *conn_new(struct conns *set, const struct transport_ops *transport,
		      size_t transport_size)
{
	size_t size = sizeof(struct conn) + transport_size;
	struct slab *slab = slab_for(set->slabs, CONN_SLABS, size);
	struct conn *c = slab != NULL ? slab_alloc(slab) : calloc(1, size);
	if (c == NULL)
		return NULL;
	c->slab = slab != NULL ? (unsigned char)(slab - set->slabs + 1) : 0;
	c->set = set;
	c->transport = transport;
	c->id = ++set->last_id;
	c->colour = -1;
	c->transport_open = true;
	return c;
}

void conn_job_begin(struct conn *c)
{
	c->jobs++;
}

void conn_job_end(struct conn *c)
{
	if (--c->jobs == 0 && !c->transport_open)
		conn_free(c);
}

/* ---- deadlines: one wheel, one timer ------------------------------------ */

static void on_wheel_due(uv_timer_t *timer);

/* The loop's clock, as a uv_timer_t of each conn had it: timers run before
 * the reads of a loop turn, on the time the turn began. */
static int64_t wheel_now(const struct conns *set)
{
	return set->loop != NULL ? (int64_t)uv_now(set->loop) : 0;
}

static void wheel_arm(struct conns *set, int64_t due_ms)
{
	if (set->loop == NULL || (set->wheel_wake_ms >= 0 && set->wheel_wake_ms <= due_ms))
		return;
	int64_t now = wheel_now(set);
	set->wheel_wake_ms = due_ms;
	uv_timer_start(&set->wheel_timer, on_wheel_due, due_ms > now ? (uint64_t)(due_ms - now) : 0, 0);
}

static void on_wheel_due(uv_timer_t *timer)
{
	struct conns *set = timer->data;
	int64_t now = wheel_now(set);
	set->wheel_wake_ms = -1;
	struct wheel_entry *e;
	/* A callback may close conns and arm or disarm others: each pop sees it. */
	while ((e = wheel_pop_due(&set->wheel, now)) != NULL) {
		struct conn *c = (struct conn *)((char *)e - offsetof(struct conn, deadline));
		unsigned char fn = c->timer_fn;
		c->timer_fn = 0;
		if (fn != 0)
			set->deadline_fns[fn - 1](c);
	}
	int64_t next = wheel_next_ms(&set->wheel);
	if (next >= 0)
		wheel_arm(set, next);
}

/* 1 + fn's place in the set's handlers (0 for none), added at its first
 * use: they are a handful of functions, a byte in each conn names one. */
static unsigned char deadline_fn_index(struct conns *set, void (*fn)(struct conn *c))
{
	if (fn == NULL)
		return 0;
	unsigned char i = 0;
	while (i < set->deadline_fn_count && set->deadline_fns[i] != fn)
		i++;
	if (i == set->deadline_fn_count) {
		if (i == CONN_DEADLINE_FNS) { /* a new handler: make the table larger */
			log_error("more than %d deadline handlers", CONN_DEADLINE_FNS);
			abort();
		}
		set->deadline_fns[set->deadline_fn_count++] = fn;
	}
	return (unsigned char)(i + 1);
}

void conn_timer_start(struct conn *c, uint64_t ms, void (*fn)(struct conn *c))
{
	if (c->closing && !c->draining)
		return; /* its entry must not outlive it */
	int64_t due = wheel_now(c->set) + (int64_t)ms;
	c->timer_fn = deadline_fn_index(c->set, fn);
	wheel_add(&c->set->wheel, &c->deadline, due);
	wheel_arm(c->set, due);
}

bool conn_timer_again_if_not_quiet(struct conn *c, uint64_t ms, void (*fn)(struct conn *c))
{
	if (c->closing || !c->transport->input_waiting(c))
		return false;
	conn_timer_start(c, ms, fn);
	return true;
}

void conn_timer_stop(struct conn *c)
{
	c->timer_fn = 0;
	wheel_remove(&c->set->wheel, &c->deadline);
}

size_t conn_hold_input(struct conn *c, size_t bytes)
{
	c->set->held_input = c->set->held_input - c->held_input + bytes;
	c->held_input = (uint32_t)bytes;
	return c->set->held_input;
}

/* `flushed`: it was closing after a flush, and it is written all. */
static void close_conn(struct conn *c, const char *reason, bool flushed)
{
	if (c->closing && !c->draining)
		return;
	bool was_draining = c->draining;
	c->closing = true;
	c->draining = false;
	conn_hold_input(c, 0); /* freed with the conn, soon */
	if (!was_draining) {
		log_info("%s disconnected (%s)", conn_addr(c), reason);
		c->set->hooks.left(c);
	}
	unmark_pending(c);
	LIST_REMOVE(c, link);
	c->set->count--;
	conn_timer_stop(c);
	if (flushed && c->transport->close_flushed != NULL) {
		/* The transport first (it closes asynchronously): the owner's
		 * stop may follow, and must find this close under way. */
		c->transport->close_flushed(c);
		c->set->hooks.closed(c);
		return;
	}
	c->set->hooks.closed(c);
	c->transport->close(c);
}

void conn_close(struct conn *c, const char *reason)
{
	close_conn(c, reason, false);
}

/* Its queue is written (in the flush or a write's callback: outside its
 * protocol's), so its protocol's state goes now, not with its memory:
 * its input ended with the drain, its transport may linger (tcp.c). */
static void close_drained(struct conn *c)
{
	if (c->proto_started && c->proto->on_stop != NULL)
		c->proto->on_stop(c);
	c->proto_started = false; /* not stopped again when freed */
	close_conn(c, "drained", true);
}

static void on_drain_deadline(struct conn *c)
{
	conn_close(c, "did not read its last messages in time");
}

void conn_close_after_flush(struct conn *c, const char *reason)
{
	if (c->closing)
		return;
	log_info("%s disconnected (%s)", conn_addr(c), reason);
	c->set->hooks.left(c);
	c->closing = true;
	c->draining = true;
	conn_hold_input(c, 0);
	c->transport->set_reading(c, false);
	conn_timer_start(c, c->set->cfg->drain_timeout_ms, on_drain_deadline);
	/* A write under way still holds its bytes in the queue. */
	if (c->out.count == 0)
		conn_close(c, reason);
	else
		mark_pending(c);
}

const char *conn_label(const struct conn *c)
{
	return c->has_pseudo ? c->pseudo : conn_addr(c);
}

/* ---- output ------------------------------------------------------------- */

static void drop_slow_reader(struct conn *c)
{
	char reason[96];
	if (c->out.bulk > CONN_MAX_BULK)
		snprintf(reason, sizeof(reason), "slow reader: more than %u MiB of pictures waiting",
			 CONN_MAX_BULK >> 20);
	else
		snprintf(reason, sizeof(reason), "slow reader: more than %zu bytes waiting",
			 c->set->cfg->max_queue_bytes);
	conn_close(c, reason);
}

/* conn_send may run inside a broadcast that is walking the member list, so
 * it never closes the conn itself: it marks it, and the flush closes it. */
static void doom(struct conn *c, enum conn_doom why)
{
	if (c->doom == CONN_FINE)
		c->doom = why;
	mark_pending(c);
}

void conn_send(struct conn *c, struct frame *f)
{
	if (c->closing || c->doom != CONN_FINE)
		return;
	/* Per-delivery lines only at debug level: they would cost more than
	 * the delivery itself. */
	log_debug("message sent to %s (%u bytes)", conn_addr(c), f->len);
	if (outq_push(&c->out, f) < 0) {
		doom(c, CONN_OUT_OF_MEMORY);
		return;
	}
	/* The limit is judged after a flush, on what the peer did not take;
	 * this bound only stops one very busy loop turn from piling up. */
	if (c->out.bytes - c->out.bulk > CONN_BURST_FACTOR * c->set->cfg->max_queue_bytes ||
	    c->out.bulk > CONN_MAX_BULK) {
		doom(c, CONN_SLOW_READER);
		return;
	}
	mark_pending(c);
}

void conn_reply(struct conn *c, struct frame *f)
{
	if (f != NULL)
		conn_send(c, f);
	frame_unref(f);
}

void conn_drop_unsent(struct conn *c)
{
	outq_drop_unsent(&c->out, c->in_flight);
}

void conn_wrote(struct conn *c, size_t n)
{
	outq_consume(&c->out, n);
	c->in_flight = 0;
	if (c->out.count > 0) {
		mark_pending(c);
		return;
	}
	c->soft_since_ms = 0;
	if (c->draining)
		close_drained(c);
}

void conn_trim(struct conn *c)
{
	if (c->in_flight > 0)
		return;
	outq_trim(&c->out);
	if (c->transport->trim != NULL)
		c->transport->trim(c);
}

static void conn_flush(struct conn *c)
{
	if ((c->closing && !c->draining) || !c->proto_started)
		return; /* a peer not yet sniffed is flushed once its protocol is known */
	if (c->doom == CONN_OUT_OF_MEMORY) {
		conn_close(c, "out of memory for its output queue");
		return;
	}
	if (c->doom == CONN_SLOW_READER) {
		drop_slow_reader(c);
		return;
	}
	c->transport->kick(c);
	if (c->closing && !c->draining)
		return; /* the write failed */
	if (c->out.count == 0) {
		c->soft_since_ms = 0;
		if (c->draining)
			close_drained(c);
		return;
	}
	/* The limits count everything unread, the write under way included. */
	size_t chat = c->out.bytes - c->out.bulk;
	if (!c->draining && (chat > c->set->cfg->max_queue_bytes || c->out.bulk > CONN_MAX_BULK)) {
		drop_slow_reader(c);
		return;
	}
	/* Over the soft limit: the tick drops the peer if it stays there. */
	if (chat > c->set->cfg->soft_queue_bytes) {
		if (c->soft_since_ms == 0)
			c->soft_since_ms = clock_ms();
	} else {
		c->soft_since_ms = 0;
	}
}

/* ---- flood control and errors ------------------------------------------- */

bool conn_charge(struct conn *c, unsigned cost, size_t len)
{
	const struct server_config *cfg = c->set->cfg;
	if (cfg->flood_rate <= 0 && cfg->flood_bytes_rate <= 0)
		return true; /* no limits: nothing to count */
	struct conn_budgets *b = conn_budgets(c);
	if (b == NULL)
		return false;
	int64_t now = clock_ms();
	if (level_take(&b->messages, cfg->flood_rate, cfg->flood_burst, (double)cost, now) &&
	    level_take(&b->bytes, cfg->flood_bytes_rate, cfg->flood_bytes_burst, (double)len, now)) {
		b->strikes = 0;
		return true;
	}
	if (++b->strikes >= c->set->cfg->flood_strikes) {
		conn_refuse(c, CHAT_ERR_FLOODED, NULL, "flooding");
		return false;
	}
	if (b->strikes == 1) {
		log_info("%s floods: messages dropped", conn_addr(c));
		conn_error(c, CHAT_ERR_FLOODING, NULL);
	}
	return false;
}

void conn_error(struct conn *c, enum chat_error error, const char *detail)
{
	c->proto->send_error(c, error, detail);
}

void conn_refuse(struct conn *c, enum chat_error error, const char *detail, const char *why)
{
	if (c->closing)
		return; /* and its protocol may be stopped already (close_drained) */
	/* Told in the protocol it is taken for, even before it said a word. */
	if (!c->proto_started)
		conn_set_proto(c, c->proto);
	if (c->closing)
		return;
	conn_error(c, error, detail);
	conn_close_after_flush(c, why);
}

/* ---- protocols ---------------------------------------------------------- */

void conn_set_proto(struct conn *c, const struct proto_ops *proto)
{
	conn_timer_stop(c);
	if (c->proto_started && c->proto->on_stop != NULL)
		c->proto->on_stop(c);
	c->proto = proto;
	c->proto_data = NULL;
	c->proto_started = true;
	if (proto->on_start(c) < 0) {
		c->proto_started = false; /* nothing to stop */
		conn_close(c, "out of memory for its protocol");
		return;
	}
	mark_pending(c); /* what waited may go */
}

/* A peer that says nothing for a moment is taken for the fallback's (a
 * text peer listening); its first bytes may still say otherwise. Bytes
 * held for the sniffer are judged as they are. */
static void on_silence(struct conn *c)
{
	if (c->closing || c->sniffed)
		return;
	if (conn_timer_again_if_not_quiet(c, c->set->cfg->partial_delay_ms, on_silence))
		return;
	if (c->first_len == 0) {
		if (!c->proto_started)
			conn_set_proto(c, c->set->sniffer->otherwise);
		return;
	}
	conn_received(c, "", 0);
}

/* The first bytes: which protocol. Returns true when data is to be given
 * to it now, false when waiting for more bytes or the peer was refused.
 * Bytes held meanwhile (a start a longer rule could still match) are given
 * to the protocol first. */
static bool sniff(struct conn *c, const char *data, size_t len)
{
	size_t held = c->first_len;
	char start[SNIFF_PREFIX_MAX];
	size_t more = len < SNIFF_PREFIX_MAX - held ? len : SNIFF_PREFIX_MAX - held;
	memcpy(start, c->first, held);
	memcpy(start + held, data, more);
	const struct proto_ops *proto;
	switch (sniff_match(c->set->sniffer, start, held + more, len == 0, &proto)) {
	case SNIFF_MORE:
		/* A rule's prefix is longer: it all fits in c->first. */
		memcpy(c->first, start, held + more);
		c->first_len = (unsigned char)(held + more);
		conn_timer_start(c, c->set->cfg->partial_delay_ms, on_silence);
		return false;
	case SNIFF_REFUSED:
		c->sniffed = true;
		conn_refuse(c, CHAT_ERR_UNKNOWN_PROTOCOL, NULL, "unknown protocol hello");
		return false;
	case SNIFF_FOUND:
		break;
	}
	c->sniffed = true;
	c->first_len = 0;
	/* Taken for the fallback after a silence, it stays so unless its
	 * first bytes name another protocol. */
	if (!c->proto_started || proto != c->proto)
		conn_set_proto(c, proto);
	else
		conn_timer_stop(c);
	if (held > 0 && !c->closing)
		c->proto->on_data(c, c->first, held);
	return !c->closing && c->doom == CONN_FINE;
}

void conn_received(struct conn *c, const char *data, size_t len)
{
	/* A doomed peer (too far behind) is not served any more: it goes at
	 * the next flush, and the rest of its input goes with it. */
	if (c->closing || c->doom != CONN_FINE)
		return;
	if (!c->sniffed && !sniff(c, data, len))
		return;
	if (len > 0)
		c->proto->on_data(c, data, len);
}

void conn_eof(struct conn *c, const char *why)
{
	if (c->closing || c->doom != CONN_FINE)
		return;
	if (why != NULL) {
		conn_close(c, why);
		return;
	}
	/* What it said last may lack its end (a line without '\n'). */
	if (!c->sniffed && c->first_len > 0)
		sniff(c, "", 0);
	if (c->closing)
		return; /* refused: it reads why first */
	if (c->proto_started && c->proto->on_eof != NULL)
		c->proto->on_eof(c);
	conn_close(c, "closed the connection");
}

/* ---- arrival ------------------------------------------------------------ */

void conn_open(struct conn *c)
{
	struct conns *set = c->set;
	const struct server_config *cfg = set->cfg;
	outq_init(&c->out);
	c->connected_ms = clock_ms();
	c->last_heard_ms = c->connected_ms;
	/* Until its first bytes tell, it is taken for a text peer listening:
	 * it hears its room, but nothing is flushed to it yet. */
	if (!c->sniffed)
		c->proto = set->sniffer->otherwise;
	c->hears = true;
	LIST_INSERT_HEAD(&set->all, c, link);
	set->count++;
	log_info("%s connected", conn_addr(c));
	set->hooks.opened(c);
	if (c->closing || c->draining)
		return; /* refused */
	if (c->sniffed)
		conn_set_proto(c, c->proto);
	else
		conn_timer_start(c, cfg->partial_delay_ms, on_silence);
	if (c->closing)
		return;
	int rc = c->transport->set_reading(c, true);
	if (rc < 0)
		conn_close(c, uv_strerror(rc));
}
