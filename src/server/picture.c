#include "picture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "clock.h"
#include "conn.h"
#include "hub.h"
#include "image.h"
#include "log.h"
#include "msgack.h"
#include "server_config.h"
#include "textproto.h"

/* Something c sent, waiting behind a picture being decoded. */
struct waiting {
	STAILQ_ENTRY(waiting) link;
	bool is_picture;
	char room[TEXT_MAX_ROOM + 1]; /* where it was sent from */
	struct image_info info;       /* a picture's, checked on receipt */
	size_t len;
	uint64_t msg_id;              /* a numbered message's (msgack.h; 0: none) */
	char bytes[];                 /* the message's text or the picture's file */
};

/* One sender's queue; its head is the picture being decoded. */
struct picture_queue {
	struct image_job job;
	struct hub *hub;
	struct conn *sender;
	struct picture_pool *pool;
	/* The loop thread only appends; a decoding thread reads the head. */
	STAILQ_HEAD(, waiting) waiting;
	unsigned count;
	size_t bytes; /* of everything waiting, the head included */
	/* Filled off the loop thread for the head picture. */
	char *ascii;
	size_t ascii_len;
	const char *cause;
};

void picture_pool_init(struct picture_pool *pp, uv_loop_t *loop,
		       void (*on_job_done)(void *data), void *data)
{
	memset(pp, 0, sizeof(*pp));
	pp->loop = loop;
	pp->on_job_done = on_job_done;
	pp->data = data;
}

unsigned picture_jobs_running(const struct picture_pool *pp)
{
	return pp->jobs;
}

void picture_stop(struct picture_pool *pp)
{
	pp->stopping = true;
	if (pp->started)
		image_pool_cancel_all(&pp->threads);
}

void picture_close(struct picture_pool *pp)
{
	if (pp->started)
		image_pool_close(&pp->threads, NULL); /* it lives as long as the server */
	pp->started = false;
}

static void refuse(struct conn *c, const char *cause)
{
	conn_error(c, CHAT_ERR_IMAGE, cause);
}

/* On a picture thread: only the head picture and these fields are
 * touched; the loop thread only appends behind the head. */
static void decode_on_thread(struct image_job *job)
{
	struct picture_queue *q = job->data;
	struct waiting *w = STAILQ_FIRST(&q->waiting);
	struct image_budget budget = {
		.deadline_ns = image_clock_ns() + PICTURE_DECODE_MS * 1000000ull,
		.cancel = &job->cancel,
	};
	int width, height;
	unsigned char *pixels = image_decode(w->bytes, w->len, &w->info, IMAGE_KEEP_WIDTH,
					     IMAGE_KEEP_HEIGHT, &budget, &width, &height,
					     &q->cause);
	if (pixels == NULL)
		return;
	q->ascii = image_ascii(pixels, width, height, PICTURE_ASCII_COLS, &q->ascii_len);
	if (q->ascii == NULL)
		q->cause = TEXT_IMAGE_NO_MEMORY_DRAW;
	image_free_pixels(pixels);
}

static void decoded(struct image_job *job);

static void start_decoding(struct picture_queue *q)
{
	q->ascii = NULL;
	q->cause = NULL;
	q->job.work = decode_on_thread;
	q->job.done = decoded;
	q->job.data = q;
	image_pool_submit(&q->pool->threads, &q->job);
}

static struct waiting *pop(struct picture_queue *q)
{
	struct waiting *w = STAILQ_FIRST(&q->waiting);
	STAILQ_REMOVE_HEAD(&q->waiting, link);
	q->count--;
	q->bytes -= w->len;
	if (w->is_picture)
		q->pool->held_bytes -= w->len;
	return w;
}

static void publish_picture(struct picture_queue *q, const struct waiting *w)
{
	struct conn *c = q->sender;
	struct room *room = rooms_find(&q->hub->rooms, w->room, strlen(w->room));
	if (room == NULL)
		return;
	log_info("%s (%s) sent a picture (%s, %d×%d, %zu bytes)", c->pseudo, conn_addr(c),
		 w->info.mime, w->info.width, w->info.height, w->len);
	struct event ev = {
		.kind = EVENT_IMAGE, .sender_id = c->user_id, .pseudo = c->pseudo,
		.colour = c->colour, .text = q->ascii, .text_len = q->ascii_len,
		.mime = w->info.mime, .width = w->info.width, .height = w->info.height,
		.image = (const unsigned char *)w->bytes, .image_len = w->len,
	};
	hub_publish(q->hub, room, &ev, c->id);
}

/* Publishes what waited behind the picture, up to the next picture. */
static void drain(struct picture_queue *q)
{
	struct conn *c = q->sender;
	while (!STAILQ_EMPTY(&q->waiting) && !STAILQ_FIRST(&q->waiting)->is_picture) {
		struct waiting *w = pop(q);
		struct room *room = rooms_find(&q->hub->rooms, w->room, strlen(w->room));
		if (room != NULL)
			msgack_say(q->hub, c, room, w->bytes, w->len, w->msg_id);
		else
			msgack_settle(c, w->msg_id); /* its room is gone */
		free(w);
	}
	if (!STAILQ_EMPTY(&q->waiting) && !q->pool->stopping) {
		start_decoding(q);
		return;
	}
	while (!STAILQ_EMPTY(&q->waiting))
		free(pop(q)); /* the server stops: nothing more is published */
	struct picture_pool *pp = q->pool;
	pp->jobs--;
	c->extras->pictures = NULL;
	conn_extras_trim(c);
	free(q);
	if (pp->on_job_done != NULL)
		pp->on_job_done(pp->data);
	conn_job_end(c);
}

static void decoded(struct image_job *job)
{
	struct picture_queue *q = job->data;
	struct conn *c = q->sender;
	struct waiting *w = pop(q);
	if (q->cause != NULL) {
		if (!c->closing)
			refuse(c, q->cause);
	} else {
		publish_picture(q, w);
	}
	free(q->ascii);
	free(w);
	drain(q);
}

static struct waiting *waiting_new(struct conn *c, bool is_picture, const char *bytes,
				   size_t len)
{
	struct waiting *w = malloc(sizeof(*w) + len + 1);
	if (w == NULL)
		return NULL;
	memset(w, 0, sizeof(*w));
	w->is_picture = is_picture;
	snprintf(w->room, sizeof(w->room), "%s", c->room->name);
	w->len = len;
	memcpy(w->bytes, bytes, len);
	w->bytes[len] = '\0';
	return w;
}

static bool enqueue(struct picture_queue *q, struct waiting *w)
{
	if (q->count >= PICTURE_MAX_WAITING || q->bytes + w->len > PICTURE_MAX_WAITING_BYTES)
		return false;
	STAILQ_INSERT_TAIL(&q->waiting, w, link);
	q->count++;
	q->bytes += w->len;
	if (w->is_picture)
		q->pool->held_bytes += w->len;
	return true;
}

/* The picture's bytes come out of its sender's own budget first, before
 * any work is done for it. */
static bool within_budget(struct hub *h, struct conn *c, size_t len)
{
	(void)h;
	if (!conn_charge(c, CONN_COST_LINE, 0))
		return false;
	struct conn_budgets *b = conn_budgets(c);
	if (b == NULL)
		return false;
	if (level_take(&b->pictures, PICTURE_BYTES_RATE, PICTURE_BYTES_BURST, (double)len,
		       clock_ms()))
		return true;
	log_info("%s sends pictures too fast: one refused", conn_addr(c));
	conn_error(c, CHAT_ERR_IMAGE_FLOOD, NULL);
	return false;
}

static bool start_pool(struct picture_pool *pp)
{
	if (pp->started)
		return true;
	int rc = image_pool_init(&pp->threads, pp->loop, PICTURE_THREADS);
	if (rc < 0) {
		log_error("no thread to decode pictures: %s", uv_strerror(rc));
		return false;
	}
	pp->started = true;
	return true;
}

void picture_receive(struct hub *h, struct conn *c, const char *bytes, size_t len)
{
	struct picture_pool *pp = h->pictures;
	size_t max = c->set->cfg->image_max_bytes;
	if (!within_budget(h, c, len))
		return;
	if (len > max) {
		refuse(c, TEXT_IMAGE_TOO_HEAVY);
		return;
	}
	struct picture_queue *q = conn_pictures(c);
	if (pp->stopping || pp->held_bytes + len > PICTURE_MAX_HELD_BYTES ||
	    (q == NULL && pp->jobs >= PICTURE_MAX_JOBS)) {
		refuse(c, TEXT_IMAGE_BUSY);
		return;
	}
	struct waiting *w = waiting_new(c, true, bytes, len);
	if (w == NULL) {
		refuse(c, TEXT_IMAGE_NO_MEMORY);
		return;
	}
	/* What is relayed and kept is the image alone: no EXIF, no text. */
	w->len = image_strip((unsigned char *)w->bytes, w->len);
	const char *cause;
	if (image_check(w->bytes, w->len, max, &w->info, &cause) < 0) {
		free(w);
		refuse(c, cause);
		return;
	}
	if (q != NULL) {
		if (!enqueue(q, w)) {
			free(w);
			refuse(c, TEXT_IMAGE_QUEUE_FULL);
		}
		return;
	}
	struct conn_extras *x = conn_extras(c);
	q = x != NULL ? calloc(1, sizeof(*q)) : NULL;
	if (q == NULL || !start_pool(pp)) {
		free(q);
		free(w);
		conn_extras_trim(c);
		refuse(c, TEXT_IMAGE_NO_MEMORY);
		return;
	}
	q->hub = h;
	q->sender = c;
	q->pool = pp;
	STAILQ_INIT(&q->waiting);
	enqueue(q, w);
	pp->jobs++;
	x->pictures = q;
	conn_job_begin(c);
	start_decoding(q);
}

bool picture_hold_message(struct conn *c, const char *text, size_t len, uint64_t msg_id)
{
	struct picture_queue *q = conn_pictures(c);
	if (q == NULL)
		return false;
	struct waiting *w = waiting_new(c, false, text, len);
	if (w != NULL)
		w->msg_id = msg_id;
	if (w == NULL || !enqueue(q, w)) {
		free(w);
		conn_error(c, CHAT_ERR_HELD_FULL, NULL);
		msgack_settle(c, msg_id);
	}
	return true;
}
