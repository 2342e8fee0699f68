#include "picture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binpeer.h"
#include "conn.h"
#include "hub.h"
#include "image.h"
#include "log.h"
#include "server.h"

/* Something c sent, waiting behind a picture being decoded. */
struct waiting {
	struct waiting *next;
	bool is_picture;
	char room[TEXT_MAX_ROOM + 1]; /* where it was sent from */
	struct image_info info;       /* a picture's, checked on receipt */
	size_t len;
	char bytes[];                 /* the message's text or the picture's file */
};

/* One sender's queue; its head is the picture being decoded. */
struct picture_queue {
	uv_work_t work;
	struct hub *hub;
	struct conn *sender;
	struct waiting *head, **tail;
	unsigned count;
	/* Filled off the loop thread for the head picture. */
	char *ascii;
	size_t ascii_len;
	const char *cause;
};

static unsigned jobs_running;

unsigned picture_jobs_running(void)
{
	return jobs_running;
}

static void refuse(struct conn *c, const char *cause)
{
	char text[160];
	snprintf(text, sizeof(text), "image refusée : %s", cause);
	hub_error(c, WIRE_ERR_IMAGE, text);
}

static void decode_on_thread(uv_work_t *work)
{
	struct picture_queue *q = work->data;
	struct waiting *w = q->head;
	unsigned char *pixels = image_decode(w->bytes, w->len, &w->info, &q->cause);
	if (pixels == NULL)
		return;
	q->ascii = image_ascii(pixels, w->info.width, w->info.height, PICTURE_ASCII_COLS,
			       &q->ascii_len);
	if (q->ascii == NULL)
		q->cause = "plus de mémoire pour la dessiner";
	image_free_pixels(pixels);
}

static void decoded(uv_work_t *work, int status);

static bool start_decoding(struct picture_queue *q)
{
	q->ascii = NULL;
	q->cause = NULL;
	q->work.data = q;
	if (uv_queue_work(q->sender->server->loop, &q->work, decode_on_thread, decoded) < 0)
		return false;
	jobs_running++;
	return true;
}

static struct waiting *pop(struct picture_queue *q)
{
	struct waiting *w = q->head;
	q->head = w->next;
	if (q->head == NULL)
		q->tail = &q->head;
	q->count--;
	return w;
}

static void publish_picture(struct picture_queue *q, const struct waiting *w)
{
	struct conn *c = q->sender;
	struct room *room = rooms_find(&q->hub->rooms, w->room, strlen(w->room));
	if (room == NULL)
		return;
	log_info("%s (%s) sent a picture (%s, %d×%d, %zu bytes)", c->pseudo, c->addr,
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
	while (q->head != NULL && !q->head->is_picture) {
		struct waiting *w = pop(q);
		struct room *room = rooms_find(&q->hub->rooms, w->room, strlen(w->room));
		if (room != NULL)
			binpeer_publish_message(q->hub, c, room, w->bytes, w->len);
		free(w);
	}
	if (q->head != NULL && start_decoding(q))
		return;
	while (q->head != NULL)
		free(pop(q)); /* the thread pool refused: nothing more can be done */
	c->pictures = NULL;
	free(q);
	server_job_ended(c->server);
	conn_job_end(c);
}

static void decoded(uv_work_t *work, int status)
{
	struct picture_queue *q = work->data;
	struct conn *c = q->sender;
	jobs_running--;
	struct waiting *w = pop(q);
	if (status < 0 && q->cause == NULL)
		q->cause = "abandonnée";
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
	if (q->count >= PICTURE_MAX_WAITING)
		return false;
	*q->tail = w;
	q->tail = &w->next;
	q->count++;
	return true;
}

void picture_receive(struct hub *h, struct conn *c, const struct wire_msg *m)
{
	if (!hub_within_rate(h, c, 0))
		return;
	struct image_info info;
	const char *cause;
	if (image_check(m->data.ptr, m->data.len, c->server->cfg.image_max_bytes, &info,
			&cause) < 0) {
		refuse(c, cause);
		return;
	}
	struct waiting *w = waiting_new(c, true, m->data.ptr, m->data.len);
	if (w == NULL) {
		refuse(c, "plus de mémoire");
		return;
	}
	w->info = info;
	struct picture_queue *q = c->pictures;
	if (q != NULL) {
		if (!enqueue(q, w)) {
			free(w);
			refuse(c, "trop d'images en attente, patientez");
		}
		return;
	}
	if (jobs_running >= PICTURE_MAX_JOBS) {
		free(w);
		refuse(c, "le serveur en traite déjà d'autres, réessayez");
		return;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL) {
		free(w);
		refuse(c, "plus de mémoire");
		return;
	}
	q->hub = h;
	q->sender = c;
	q->tail = &q->head;
	enqueue(q, w);
	if (!start_decoding(q)) {
		free(w);
		free(q);
		refuse(c, "plus de mémoire");
		return;
	}
	c->pictures = q;
	conn_job_begin(c);
}

bool picture_hold_message(struct conn *c, const char *text, size_t len)
{
	struct picture_queue *q = c->pictures;
	if (q == NULL)
		return false;
	struct waiting *w = waiting_new(c, false, text, len);
	if (w == NULL || !enqueue(q, w)) {
		free(w);
		hub_error(c, WIRE_ERR_FLOOD, "trop de messages en attente derrière une image");
	}
	return true;
}
