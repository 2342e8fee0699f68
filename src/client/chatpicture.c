#include "chatpicture.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "i18n.h"
#include "imagepool.h"
#include "sanitize.h"

static uint64_t deadline_from_now(void)
{
	return image_clock_ns() + PICTURE_DECODE_MS * 1000000ull;
}

int picture_load(const void *data, size_t len, size_t max_bytes, struct chat_picture *out,
		 const char **cause)
{
	struct image_info info;
	memset(out, 0, sizeof(*out));
	if (image_check(data, len, max_bytes, &info, cause) < 0)
		return -1;
	struct image_budget budget = {.deadline_ns = deadline_from_now()};
	int w, h;
	unsigned char *rgba = image_decode(data, len, &info, IMAGE_KEEP_WIDTH, IMAGE_KEEP_HEIGHT,
					   &budget, &w, &h, cause);
	if (rgba == NULL)
		return -1;
	out->rgba = rgba;
	out->width = w;
	out->height = h;
	out->source = info;
	return 0;
}

bool picture_copy(struct chat_picture *to, const struct chat_picture *from)
{
	*to = *from;
	size_t n = (size_t)from->width * (size_t)from->height * 4;
	to->rgba = malloc(n);
	if (to->rgba == NULL)
		return false;
	memcpy(to->rgba, from->rgba, n);
	return true;
}

void picture_free(struct chat_picture *p)
{
	image_free_pixels(p->rgba);
	p->rgba = NULL;
}

static void print_indented(FILE *out, const char *text, size_t len)
{
	fputs("    ", out);
	for (size_t i = 0; i < len; i++) {
		fputc(text[i], out);
		if (text[i] == '\n')
			fputs("    ", out);
	}
}

void picture_print(FILE *out, const struct chat_picture *p, bool ascii, int cols)
{
	if (ascii) {
		size_t len;
		char *text = image_ascii(p->rgba, p->width, p->height, cols, &len);
		if (text == NULL)
			return;
		print_indented(out, text, len);
		fputc('\n', out);
		free(text);
		return;
	}
	int width, rows;
	ChafaCanvas *canvas = image_canvas(p->rgba, p->width, p->height, cols, 256, &width, &rows);
	if (canvas == NULL)
		return;
	GString *s = chafa_canvas_print(canvas, NULL);
	print_indented(out, s->str, s->len);
	fputs("\033[0m\n", out);
	g_string_free(s, TRUE);
	chafa_canvas_unref(canvas);
}

/* ---- in order ------------------------------------------------------------ */

/* A line waiting behind a picture being decoded, or that picture. */
struct held {
	struct held *next;
	struct picture_order *order;
	struct chat_line line; /* its pseudo and text are copies, owned here */
	bool is_picture;
	/* A picture: */
	bool out;              /* its job is with the thread */
	bool ready;            /* decoded or failed: shown when its turn comes */
	bool given_up;         /* shown without waiting; freed when the job is back */
	const char *cause;     /* why it is not drawn (loop thread) */
	char *drawing;         /* the server's, or NULL */
	size_t drawing_len;
	unsigned char *data;   /* the file */
	size_t len;
	uint64_t deadline_ns;
	struct image_info info; /* checked before the job goes */
	struct image_job job;
	/* Written by the thread, read once the job is back. */
	struct chat_picture picture;
	const char *thread_cause;
};

struct picture_order {
	struct client_app *app;
	struct image_pool threads;
	bool threads_started;
	uv_timer_t timer;       /* the head picture's deadline */
	struct held *head, **tail;
	struct held *gone;      /* given up, their job still out */
	size_t lines;           /* held */
	unsigned decoding;      /* pictures out */
	size_t decoding_bytes;
	bool closing;
	unsigned open_handles;
};

static void held_free(struct held *h)
{
	free((char *)h->line.pseudo);
	free((char *)h->line.text);
	free(h->drawing);
	free(h->data);
	picture_free(&h->picture);
	free(h);
}

/* The timer and the pool's handle are both closed before the memory goes. */
static void handle_closed(struct picture_order *q)
{
	if (--q->open_handles == 0)
		free(q);
}

static void on_handle_closed(uv_handle_t *handle)
{
	handle_closed(handle->data);
}

static void on_pool_closed(uv_handle_t *handle)
{
	struct image_pool *pool = handle->data; /* the pool's own handle */
	handle_closed((struct picture_order *)((char *)pool - offsetof(struct picture_order,
								       threads)));
}

static struct picture_order *order_of(struct client_app *app)
{
	if (app->pictures != NULL || app->ending)
		return app->pictures;
	struct picture_order *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return NULL;
	q->app = app;
	q->tail = &q->head;
	uv_timer_init(app->loop, &q->timer);
	q->timer.data = q;
	q->open_handles = 1;
	app->pictures = q;
	return q;
}

/* The picture's line: the drawing, or else why not and the server's. */
static void show_picture_line(struct client_app *app, struct held *h)
{
	if (h->cause == NULL && h->picture.rgba != NULL) {
		struct chat_line line = h->line;
		line.picture = &h->picture;
		client_show(app, &line);
		return;
	}
	/* The server's drawing, as a multi-line text under the header. */
	char text[8192];
	size_t n = 0;
	if (h->len > 0 && h->cause != NULL) {
		int k = snprintf(text, sizeof(text), _("(image illisible : %s)"), _(h->cause));
		n = k < 0 ? 0 : (size_t)k < sizeof(text) ? (size_t)k : sizeof(text) - 1;
	}
	if (h->drawing_len > 0 && n + 1 < sizeof(text)) {
		if (n > 0)
			text[n++] = '\n';
		n += sanitize_text(h->drawing, h->drawing_len, text + n, sizeof(text) - n,
				   SANITIZE_KEEP_NEWLINES);
	}
	size_t head = h->line.text_len;
	char *all = malloc(head + 1 + n);
	if (all == NULL)
		return;
	memcpy(all, h->line.text, head);
	all[head] = '\n';
	memcpy(all + head + 1, text, n);
	struct chat_line line = h->line;
	line.text = all;
	line.text_len = head + 1 + n;
	client_show(app, &line);
	free(all);
}

static void give_up(struct held *h, const char *cause)
{
	atomic_store(&h->job.cancel, true);
	h->given_up = true;
	h->ready = true;
	h->cause = cause;
}

static void on_deadline(uv_timer_t *timer);

/* Shows every line whose turn has come; the timer then watches the head
 * picture's deadline. */
static void flush(struct picture_order *q)
{
	while (q->head != NULL && !q->closing) {
		struct held *h = q->head;
		if (h->is_picture && !h->ready) {
			if (image_clock_ns() < h->deadline_ns && q->lines <= PICTURE_MAX_HELD_LINES)
				break;
			give_up(h, N_("trop longue à décoder"));
		}
		q->head = h->next;
		if (q->head == NULL)
			q->tail = &q->head;
		q->lines--;
		if (h->is_picture)
			show_picture_line(q->app, h);
		else
			client_show(q->app, &h->line);
		if (h->out) {
			h->next = q->gone;
			q->gone = h;
		} else {
			held_free(h);
		}
	}
	if (q->head == NULL || q->closing) {
		uv_timer_stop(&q->timer);
		return;
	}
	uint64_t now = image_clock_ns();
	uint64_t left = q->head->deadline_ns > now ? q->head->deadline_ns - now : 0;
	uv_timer_start(&q->timer, on_deadline, left / 1000000 + 1, 0);
}

static void on_deadline(uv_timer_t *timer)
{
	flush(timer->data);
}

static void decode_on_thread(struct image_job *job)
{
	struct held *h = job->data;
	struct image_budget budget = {.deadline_ns = h->deadline_ns, .cancel = &job->cancel};
	int w, ht;
	unsigned char *rgba = image_decode(h->data, h->len, &h->info, IMAGE_KEEP_WIDTH,
					   IMAGE_KEEP_HEIGHT, &budget, &w, &ht, &h->thread_cause);
	if (rgba != NULL)
		h->picture = (struct chat_picture){.rgba = rgba, .width = w, .height = ht,
						   .source = h->info};
}

static void decoded(struct image_job *job)
{
	struct held *h = job->data;
	struct picture_order *q = h->order;
	h->out = false;
	q->decoding--;
	q->decoding_bytes -= h->len;
	if (h->given_up) {
		/* Shown already: only its memory was left. */
		for (struct held **p = &q->gone; *p != NULL; p = &(*p)->next) {
			if (*p == h) {
				*p = h->next;
				break;
			}
		}
		held_free(h);
		return;
	}
	h->ready = true;
	h->cause = h->picture.rgba == NULL ? (h->thread_cause ? h->thread_cause : N_("image illisible"))
					   : NULL;
	flush(q);
}

static struct held *hold(struct picture_order *q, const struct chat_line *line)
{
	struct held *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	h->order = q;
	h->line = *line;
	h->line.picture = NULL;
	h->line.pseudo = line->pseudo ? strndup(line->pseudo, line->pseudo_len) : NULL;
	h->line.text = strndup(line->text, line->text_len);
	if ((line->pseudo != NULL && h->line.pseudo == NULL) || h->line.text == NULL) {
		held_free(h);
		return NULL;
	}
	return h;
}

static void append(struct picture_order *q, struct held *h)
{
	*q->tail = h;
	q->tail = &h->next;
	q->lines++;
}

void picture_show_in_order(struct client_app *app, const struct chat_line *line)
{
	struct picture_order *q = app->pictures;
	struct held *h = q != NULL && q->head != NULL ? hold(q, line) : NULL;
	if (h == NULL) {
		client_show(app, line); /* nothing to wait for (or no memory to wait) */
		return;
	}
	append(q, h);
	if (q->lines > PICTURE_MAX_HELD_LINES)
		flush(q);
}

void picture_info_in_order(struct client_app *app, enum chat_kind kind, const char *text)
{
	struct chat_line line = {.kind = kind, .colour = -1, .text = text,
				 .text_len = strlen(text)};
	picture_show_in_order(app, &line);
}

static bool start_threads(struct picture_order *q)
{
	if (!q->threads_started && image_pool_init(&q->threads, q->app->loop, 1) == 0) {
		q->threads_started = true;
		q->open_handles++;
	}
	return q->threads_started;
}

/* Sends the picture to the thread, or says why it is not drawn. */
static void decode_later(struct picture_order *q, struct held *h, const void *data, size_t len)
{
	h->len = len;
	h->ready = true;
	if (len == 0)
		return; /* remembered by its drawing only */
	if (image_check(data, len, q->app->cfg.image_max, &h->info, &h->cause) < 0)
		return;
	if (q->decoding >= PICTURE_MAX_PENDING ||
	    q->decoding_bytes + len > PICTURE_MAX_PENDING_BYTES) {
		h->cause = N_("trop d'images à la fois");
		return;
	}
	h->data = malloc(len);
	if (h->data == NULL || !start_threads(q)) {
		h->cause = N_("plus de mémoire");
		return;
	}
	memcpy(h->data, data, len);
	h->deadline_ns = deadline_from_now();
	h->ready = false;
	h->out = true;
	h->job.work = decode_on_thread;
	h->job.done = decoded;
	h->job.data = h;
	q->decoding++;
	q->decoding_bytes += len;
	image_pool_submit(&q->threads, &h->job);
}

void picture_show_received(struct client_app *app, const struct chat_line *header,
			   const void *data, size_t len, const char *drawing,
			   size_t drawing_len)
{
	struct picture_order *q = order_of(app);
	struct held *h = q != NULL ? hold(q, header) : NULL;
	if (h != NULL && drawing_len > 0) {
		h->drawing = malloc(drawing_len);
		if (h->drawing != NULL) {
			memcpy(h->drawing, drawing, drawing_len);
			h->drawing_len = drawing_len;
		}
	}
	if (h == NULL) {
		client_show(app, header); /* its header at least */
		return;
	}
	h->is_picture = true;
	decode_later(q, h, data, len);
	append(q, h);
	flush(q);
}

void picture_queue_close(struct client_app *app)
{
	struct picture_order *q = app->pictures;
	if (q == NULL)
		return;
	app->pictures = NULL;
	q->closing = true;
	if (q->threads_started) {
		/* Every decode stops at its next row; their done callbacks run
		 * while the thread is joined (imagepool.c). */
		image_pool_cancel_all(&q->threads);
		image_pool_close(&q->threads, on_pool_closed);
	}
	while (q->head != NULL) {
		struct held *h = q->head;
		q->head = h->next;
		held_free(h);
	}
	uv_close((uv_handle_t *)&q->timer, on_handle_closed);
}
