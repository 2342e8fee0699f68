/*
 * bus_redis: the bus across servers, through Redis (see bus_redis.h).
 *
 * What a room's channel and stream carry, after the script's
 * "<epoch>:<seq>|": "<node>:<conn id>:<n>|<record>", the publishing server
 * (16 hex digits, random at start), the one peer of it the event is not
 * for (0: none), the event's number in the node's outbox, then the history
 * file's JSON record with id 0. A node that sees its event n come back
 * knows Redis has every event of its outbox up to n, even when the
 * script's answer was lost (and a Redis restarted empty no longer knows
 * the idempotency key): it is not sent again.
 */
#include "bus_redis.h"
#include "bus_redis_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "buffer.h"
#include "cluster_route.h"
#include "cluster_who.h"
#include "conn.h"
#include "event.h"
#include "gapfill.h"
#include "history.h"
#include "hub.h"
#include "log.h"
#include "names.h"
#include "pseudoclaim.h"
#include "redis.h"
#include "redis_rooms.h"
#include "redis_sessions.h"
#include "sanitize.h"

/* "<node>:<n>", or a numbered message's "<sender key>:<message id>". */
#define BUS_IDEM_KEY_MAX 64

/* An event waiting for Redis to number it. */
struct outgoing {
	STAILQ_ENTRY(outgoing) link;
	struct bus_redis *owner;
	bool sent;      /* a script call for it is out */
	uint64_t number; /* in the outbox's order: the idempotency key's n */
	/* A numbered message (issue 19): who to acknowledge, and its id
	 * here once it came back (0: not yet). */
	uint64_t conn_id, msg_id, local_id;
	char idem[BUS_IDEM_KEY_MAX];
	char room[NAMES_SKELETON_MAX];
	size_t len;
	char payload[]; /* "<node>:<conn id>|<record>" */
};

/* ---- the link's state, told to users ----------------------------------- */

static void tell(struct bus_redis *br, const char *text)
{
	if (br->bus.notice != NULL && !br->closing)
		br->bus.notice(br->bus.data, text);
}

static void pump(struct bus_redis *br);

struct head_ask {
	struct bus_redis *br;
	char room[];
};

static void on_head(int status, uint64_t epoch, uint64_t seq, const char *cause, void *data)
{
	struct head_ask *q = data;
	(void)cause;
	if (status == 0 && !q->br->closing)
		gapfill_head(q->br->gaps, q->room, epoch, seq);
	free(q);
}

/* After a loss the resync reads each room on from its last seq, in its
 * numbering; a Redis restarted empty may number it anew with fewer events
 * yet, which that read would miss: each room's numbering is asked. */
static void ask_head(void *data, const char *room)
{
	struct bus_redis *br = data;
	size_t len = strlen(room);
	struct head_ask *q = malloc(sizeof(*q) + len + 1);
	if (q == NULL)
		return;
	q->br = br;
	memcpy(q->room, room, len + 1);
	if (redis_rooms_last(&br->rooms, room, on_head, q) < 0)
		free(q);
}

static void on_ready(struct redis *r, void *data)
{
	struct bus_redis *br = data;
	if (r == br->sub) {
		br->sub_ready = true;
		gapfill_resync(br->gaps); /* what was published while it was away */
		pump(br);
	} else {
		br->cmd_ready = true;
		gapfill_retry(br->gaps);
		pseudoclaim_renew(br->claims);
		cluster_who_ready(br->who);
		pump(br);
	}
	if (br->cmd_ready && br->sub_ready) {
		log_notice("cluster: linked through Redis (node %s)", br->node);
		gapfill_foreach(br->gaps, ask_head, br);
		if (br->told_down) {
			br->told_down = false;
			tell(br, BUS_REDIS_TEXT_UP);
		}
	}
}

static void on_down(struct redis *r, int status, const char *cause, void *data)
{
	struct bus_redis *br = data;
	bool was_linked = br->cmd_ready && br->sub_ready;
	if (r == br->sub)
		br->sub_ready = false;
	else
		br->cmd_ready = false;
	log_warn("cluster: %s: %s (%s)", r == br->sub ? "subscriber" : "commands", cause,
		 uv_err_name(status));
	if (was_linked && !br->told_down) {
		br->told_down = true;
		tell(br, BUS_REDIS_TEXT_DOWN);
	}
}

/* ---- publishing: the outbox -------------------------------------------- */

static void drop_head(struct bus_redis *br)
{
	struct outgoing *o = STAILQ_FIRST(&br->outbox);
	STAILQ_REMOVE_HEAD(&br->outbox, link);
	br->outbox_count--;
	br->outbox_bytes -= o->len;
	free(o);
}

/* Redis has it (answered, or it came back): its sender is told, once. */
static void acknowledge(struct bus_redis *br, struct outgoing *o, bool duplicate)
{
	if (o->msg_id != 0 && br->bus.acked != NULL)
		br->bus.acked(br->bus.data, o->conn_id, o->msg_id, duplicate ? 0 : o->local_id);
	o->msg_id = 0;
}

static void on_published(int status, uint64_t epoch, uint64_t seq, bool duplicate,
			 const char *cause, void *data)
{
	struct outgoing *o = data;
	struct bus_redis *br = o->owner;
	(void)epoch;
	if (br->closing)
		return;
	o->sent = false;
	if (status < 0 && o->number <= br->came_back)
		status = 0; /* the answer was lost, but the event came back */
	if (status == UV_EPROTO) {
		/* Redis refused the script (out of memory, say): retrying would
		 * block every event behind it. */
		char clean[128];
		size_t n = sanitize_text(cause, strlen(cause), clean, sizeof(clean) - 1, 0);
		clean[n] = '\0';
		log_warn("cluster: an event of %s was refused by Redis: %s", o->room, clean);
	} else if (status < 0) {
		return; /* the connection went: sent again once it is back */
	} else {
		log_debug("cluster: event %s numbered %" PRIu64, o->idem, seq);
		acknowledge(br, o, duplicate);
	}
	/* Replies come in order: o is the head. */
	if (STAILQ_FIRST(&br->outbox) == o)
		drop_head(br);
	pump(br); /* what the full queue held back */
}

/* Sends what waits, in order, while the connection takes it. */
static void pump(struct bus_redis *br)
{
	/* Not before this node hears the rooms again: a backlog sent while
	 * its subscription is still down would reach its own members only
	 * through the capped stream (MAXLEN), losing what it trimmed. */
	if (!br->cmd_ready || !br->sub_ready)
		return;
	struct outgoing *o;
	/* Not sent again: Redis has them (they came back on the channel). */
	while ((o = STAILQ_FIRST(&br->outbox)) != NULL && !o->sent && o->number <= br->came_back) {
		acknowledge(br, o, false);
		drop_head(br);
	}
	STAILQ_FOREACH(o, &br->outbox, link) {
		if (o->sent)
			continue;
		int rc = redis_rooms_publish(&br->rooms, o->room, o->idem, o->payload, o->len,
					     on_published, o);
		if (rc < 0)
			return; /* the queue is full, or the link went: later */
		o->sent = true;
	}
}

static int redis_publish_event(struct bus *b, struct room *room, struct event *ev,
			       uint64_t except_conn_id)
{
	struct bus_redis *br = (struct bus_redis *)b;
	br->scratch.len = 0;
	char head[NODE_LEN + 48];
	int n = snprintf(head, sizeof(head), "%s:%" PRIu64 ":%" PRIu64 "|", br->node,
			 except_conn_id, br->published + 1);
	uint64_t id = ev->id;
	ev->id = 0; /* the seq is its id: unknown until Redis numbers it */
	if (buffer_add(&br->scratch, head, (size_t)n) < 0)
		return -ENOMEM;
	history_serialise(&br->scratch, ev, false);
	ev->id = id;
	size_t len = br->scratch.len;
	if (len > 0 && br->scratch.data[len - 1] == '\n')
		len--;
	if (br->outbox_count >= BUS_REDIS_OUTBOX_MAX ||
	    br->outbox_bytes + len > BUS_REDIS_OUTBOX_BYTES) {
		/* Logged once per episode: a flood would flood the log too. */
		if (br->refused++ == 0)
			log_warn("cluster: outbox full (%zu events, %zu bytes wait for Redis): "
				 "publishes refused, their senders told", br->outbox_count,
				 br->outbox_bytes);
		return -ENOBUFS;
	}
	if (br->refused > 0) {
		log_notice("cluster: outbox has room again; %" PRIu64 " publishes were refused",
			   br->refused);
		br->refused = 0;
	}
	struct outgoing *o = malloc(sizeof(*o) + len + 1);
	if (o == NULL)
		return -ENOMEM;
	o->owner = br;
	o->sent = false;
	o->len = len;
	memcpy(o->payload, br->scratch.data, len);
	o->payload[len] = '\0';
	snprintf(o->room, sizeof(o->room), "%s", room->skeleton);
	o->number = ++br->published;
	o->conn_id = except_conn_id;
	o->msg_id = ev->sender_key != NULL ? ev->msg_id : 0;
	o->local_id = 0;
	if (o->msg_id != 0) /* the same on every node: a retry elsewhere is found */
		snprintf(o->idem, sizeof(o->idem), "%s:%" PRIu64, ev->sender_key, o->msg_id);
	else
		snprintf(o->idem, sizeof(o->idem), "%s:%" PRIu64, br->node, o->number);
	STAILQ_INSERT_TAIL(&br->outbox, o, link);
	br->outbox_count++;
	br->outbox_bytes += len;
	pump(br);
	return 0;
}

/* ---- receiving --------------------------------------------------------- */

struct delivery {
	struct bus_redis *br;
	uint64_t except_conn_id;
	uint64_t number; /* ours: its number in the outbox (0: another node's) */
};

/* Our event `number` was delivered here as local_id: a numbered message
 * still in the outbox (its script's answer not in yet) is acknowledged
 * with that id, and is not sent again. */
static void came_back(struct bus_redis *br, uint64_t number, uint64_t local_id)
{
	struct outgoing *o;
	STAILQ_FOREACH(o, &br->outbox, link) {
		if (o->number > number)
			break;
		if (o->number == number) {
			o->local_id = local_id;
			acknowledge(br, o, false);
			break;
		}
	}
}

static void on_record(void *data, struct event *ev)
{
	struct delivery *d = data;
	ev->id = ++d->br->last_id;
	if (d->br->bus.deliver != NULL)
		d->br->bus.deliver(d->br->bus.data, NULL, ev, d->except_conn_id);
}

static void on_deliver(void *data, const char *room, uint64_t seq, const char *p, size_t len)
{
	struct bus_redis *br = data;
	const char *bar = memchr(p, '|', len);
	const char *colon = memchr(p, ':', len);
	struct delivery d = {br, 0, 0};
	if (bar == NULL || colon == NULL || colon > bar || colon - p != NODE_LEN) {
		log_warn("cluster: event %" PRIu64 " of a room is not ours: skipped", seq);
		return;
	}
	if (memcmp(p, br->node, NODE_LEN) == 0) {
		char *end;
		d.except_conn_id = strtoull(colon + 1, &end, 10);
		uint64_t number = *end == ':' ? strtoull(end + 1, NULL, 10) : 0;
		d.number = number;
		if (number > br->came_back)
			br->came_back = number;
	}
	size_t skip = (size_t)(bar + 1 - p);
	uint64_t before = br->last_id;
	const char *why = history_parse(bar + 1, len - skip, on_record, &d);
	if (d.number != 0 && br->last_id != before)
		came_back(br, d.number, br->last_id);
	if (why != NULL)
		log_warn("cluster: event %" PRIu64 " of a room skipped: %s (%zu bytes)", seq, why,
			 strlen(room));
}

static void on_truncated(void *data, const char *room, uint64_t first, uint64_t last)
{
	(void)room;
	log_warn("cluster: events %" PRIu64 "-%" PRIu64 " of a room are no longer in Redis",
		 first, last);
	/* Users hear of the hole rather than a conversation that skips. */
	char text[192];
	snprintf(text, sizeof(text), BUS_REDIS_TEXT_LOST_FMT, last - first + 1);
	tell(data, text);
}

static void on_restarted(void *data, const char *room, uint64_t old_last)
{
	(void)data;
	(void)room;
	log_notice("cluster: Redis numbers a room anew (it had reached %" PRIu64 ")", old_last);
}

struct fetch {
	struct bus_redis *br;
	uint64_t token;
	char room[];
};

static void on_range(int status, const struct redis_rooms_entry *e, size_t n, bool full,
		     const char *cause, void *data)
{
	struct fetch *f = data;
	(void)cause;
	if (!f->br->closing) {
		if (status < 0) {
			gapfill_fetch_failed(f->br->gaps, f->room, f->token);
		} else {
			struct gapfill_entry *ge = calloc(n + 1, sizeof(*ge));
			if (ge == NULL) {
				gapfill_fetch_failed(f->br->gaps, f->room, f->token);
			} else {
				for (size_t i = 0; i < n; i++)
					ge[i] = (struct gapfill_entry){e[i].epoch, e[i].seq,
								       e[i].event, e[i].len};
				gapfill_fetched(f->br->gaps, f->room, f->token, ge, n, full);
				free(ge);
			}
		}
	}
	free(f);
}

static int on_fetch(void *data, const char *room, uint64_t from, uint64_t to, uint64_t token)
{
	struct bus_redis *br = data;
	size_t len = strlen(room);
	struct fetch *f = malloc(sizeof(*f) + len + 1);
	if (f == NULL)
		return -ENOMEM;
	f->br = br;
	f->token = token;
	memcpy(f->room, room, len + 1);
	int rc = redis_rooms_fetch(&br->rooms, room, from, to, 100, on_range, f);
	if (rc < 0)
		free(f);
	return rc;
}

static void on_message(struct redis *r, const struct redis_message *m, void *data)
{
	struct bus_redis *br = data;
	char room[REDIS_ROOMS_KEY_MAX];
	uint64_t epoch, seq, last;
	const char *ev;
	size_t len;
	(void)r;
	if (m->pattern == NULL &&
	    cluster_route_message(br->route, m->channel, m->channel_len, m->payload,
				  m->payload_len))
		return;
	if (redis_rooms_from_channel(m->channel, m->channel_len, room, sizeof(room)) < 0 ||
	    redis_rooms_parse_message(m->payload, m->payload_len, &epoch, &seq, &ev, &len) < 0) {
		log_warn("cluster: a message on the rooms' channels is no event: skipped");
		return;
	}
	if (!gapfill_last(br->gaps, room, &last)) {
		/* A room first heard of now: what came before is its history,
		 * not news. */
		if (br->followed >= BUS_REDIS_MAX_ROOMS) {
			if (!br->warned_rooms)
				log_warn("cluster: %d rooms followed already: others ignored",
					 BUS_REDIS_MAX_ROOMS);
			br->warned_rooms = true;
			return;
		}
		if (gapfill_follow(br->gaps, room, epoch, seq - 1) < 0)
			return;
		br->followed++;
	}
	if (gapfill_published(br->gaps, room, epoch, seq, ev, len) == -ENOMEM)
		log_warn("cluster: out of memory: an event of a room waits for a stream read");
}

/* ---- the bus ----------------------------------------------------------- */

static const char *redis_trouble(const struct bus *b)
{
	const struct bus_redis *br = (const struct bus_redis *)b;
	return br->cmd_ready && br->sub_ready ? NULL : BUS_REDIS_TEXT_DOWN;
}

static void redis_bus_close(struct bus *b)
{
	struct bus_redis *br = (struct bus_redis *)b;
	b->deliver = NULL;
	br->closing = true;
	if (br->outbox_count > 0)
		log_warn("cluster: %zu events never reached Redis", br->outbox_count);
	pseudoclaim_close(br->claims);
	if (br->sessions != NULL)
		redis_sessions_close(br->sessions);
	cluster_who_close(br->who);
	cluster_route_close(br->route);
	redis_close(br->sub);
	redis_close(br->cmd);
	while (!STAILQ_EMPTY(&br->outbox))
		drop_head(br);
	gapfill_free(br->gaps);
	buffer_free(&br->scratch);
	free(br);
}

static int redis_ask_list(struct bus *b, struct conn *c, enum chat_list kind,
			  const struct room *room)
{
	return cluster_who_ask(((struct bus_redis *)b)->who, c, kind, room);
}

static int redis_send_to(struct bus *b, struct conn *c, char kind, const char *pseudo,
			 size_t len, const char *text, size_t text_len)
{
	return cluster_route_send(((struct bus_redis *)b)->route, c, kind, pseudo, len, text,
				  text_len);
}

static const struct bus_ops redis_ops = {
	.publish = redis_publish_event,
	.claim = redis_claim,
	.release = redis_release,
	.trouble = redis_trouble,
	.session_keep = redis_session_keep,
	.session_away = redis_session_away,
	.session_spend = redis_session_spend,
	.session_take = redis_session_take,
	.ask_list = redis_ask_list,
	.send_to = redis_send_to,
	.close = redis_bus_close,
};

int bus_redis_open(struct bus **out, uv_loop_t *loop, const char *url, const char **cause)
{
	struct redis_options o;
	redis_options_default(&o);
	if (redis_url_parse(url, &o.url, cause) < 0)
		return -EINVAL;
	struct bus_redis *br = calloc(1, sizeof(*br));
	if (br == NULL) {
		*cause = "out of memory";
		return -ENOMEM;
	}
	br->bus.ops = &redis_ops;
	STAILQ_INIT(&br->outbox);
	snprintf(br->node, sizeof(br->node), "%016" PRIx64, hub_random_u64());
	static const struct gapfill_callbacks gcb = {on_deliver, on_truncated, on_restarted,
						     on_fetch};
	/* Held while a hole is read: a few seconds of a busy cluster. */
	br->gaps = gapfill_new(&gcb, br, 10000, 16u << 20);
	static const struct redis_events events = {on_ready, on_down, on_message};
	o.name = "redis";
	int rc = br->gaps == NULL ? -ENOMEM : redis_open(&br->cmd, loop, &o, &events, br);
	if (rc == 0)
		rc = redis_rooms_init(&br->rooms, br->cmd, BUS_REDIS_STREAM_MAX, 60);
	if (rc == 0) {
		o.name = "redis-sub";
		o.subscriber = true;
		rc = redis_open(&br->sub, loop, &o, &events, br);
	}
	if (rc == 0)
		rc = redis_subscribe(br->sub, "{*}:events", true, NULL, NULL);
	if (rc == 0)
		rc = pseudoclaim_new(&br->claims, loop, br->cmd, br->node, BUS_REDIS_CLAIM_TTL_MS,
				     bus_redis_on_lost, br);
	if (rc == 0)
		rc = cluster_who_new(&br->who, loop, br->cmd, br->node, BUS_REDIS_CLAIM_TTL_MS,
				     &br->bus);
	if (rc == 0)
		rc = cluster_route_new(&br->route, br->cmd, br->sub, br->node, &br->bus);
	if (rc < 0) {
		if (br->who != NULL)
			cluster_who_close(br->who);
		if (br->claims != NULL)
			pseudoclaim_close(br->claims);
		if (br->sub != NULL)
			redis_close(br->sub);
		if (br->cmd != NULL)
			redis_close(br->cmd);
		if (br->gaps != NULL)
			gapfill_free(br->gaps);
		free(br);
		*cause = "cannot set up the Redis connections";
		return rc;
	}
	log_notice("cluster: node %s, Redis at %s:%u", br->node, o.url.host, o.url.port);
	*out = &br->bus;
	return 0;
}
