/*
 * picture: a picture sent by a binary peer (IMAGE), charged to its
 * sender, stripped of what is not the image, checked again (never trust
 * the client), decoded and drawn in ASCII for text peers on picture.c's own
 * threads (never libuv's pool, which the history's disk work needs, nor
 * the loop), then published to the room it was sent from.
 *
 * Order is kept per sender: while one of its pictures is being decoded,
 * what it says next (messages, more pictures) waits in its queue and is
 * published after the picture, as it was sent. The queue keeps the conn's
 * memory (conn_job_begin) until it is empty, even if the peer has gone.
 *
 * Bounds: each sender's pictures cost bytes from its own budget
 * (struct conn_budgets); what waits behind a picture is bounded per sender
 * and server-wide; a decode has a deadline and is cancelled when the
 * server stops, so neither a slow picture nor SIGTERM waits on another.
 */
#ifndef CHATROOM_PICTURE_H
#define CHATROOM_PICTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "imagepool.h"

struct hub;
struct conn;

/* Columns of the drawing text peers (and the history) get. */
#define PICTURE_ASCII_COLS 60
/* Decoding threads: the machine's cores are the chat's first. */
#define PICTURE_THREADS 2
/* Senders whose picture is decoding or waiting for a thread, server-wide;
 * more are refused. */
#define PICTURE_MAX_JOBS 16
/* One decode's deadline: the largest legitimate picture takes well under
 * a second (docs/protocol.md). */
#define PICTURE_DECODE_MS 3000
/* What one sender may have waiting behind its picture being decoded. */
#define PICTURE_MAX_WAITING 64
#define PICTURE_MAX_WAITING_BYTES (10u * 1024 * 1024)
/* Picture bytes waiting or being decoded, server-wide. */
#define PICTURE_MAX_HELD_BYTES (64u * 1024 * 1024)
/* Each sender's picture budget in bytes: two of the largest at once, then
 * about one a minute (a reader on a slow link keeps up with that). */
#define PICTURE_BYTES_BURST (10.0 * 1024 * 1024)
#define PICTURE_BYTES_RATE (96.0 * 1024)

/* The decoding threads and what they hold: one per server, its owner's
 * (struct server), reached by the protocols through hub->pictures. */
struct picture_pool {
	uv_loop_t *loop;
	struct image_pool threads;
	bool started;       /* the threads come with the first picture */
	bool stopping;
	unsigned jobs;      /* senders with a picture decoding or queued */
	size_t held_bytes;  /* of pictures waiting or decoding */
	/* Called each time a sender's last picture is done (a stopping
	 * server may then be finished). */
	void (*on_job_done)(void *data);
	void *data;
};

void picture_pool_init(struct picture_pool *pp, uv_loop_t *loop,
		       void (*on_job_done)(void *data), void *data);

/* A picture file from c (its bytes are copied): charged, checked, then
 * decoded off the loop and published in the room c sent it from. */
void picture_receive(struct hub *h, struct conn *c, const char *bytes, size_t len);

/* A message checked and cleaned, to be published: false when nothing of
 * c's waits (publish it now), true when it was queued behind a picture.
 * msg_id: a numbered message's (msgack.h), published as such; 0: none. */
bool picture_hold_message(struct conn *c, const char *text, size_t len, uint64_t msg_id);

/* Pictures still being decoded (the server stops once there are none). */
unsigned picture_jobs_running(const struct picture_pool *pp);
/* The server stops: every decode is abandoned at its next row. */
void picture_stop(struct picture_pool *pp);
/* Once no job runs: the threads are joined, the loop handle closed. */
void picture_close(struct picture_pool *pp);

#endif
