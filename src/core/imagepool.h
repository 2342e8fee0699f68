/*
 * imagepool: a few threads of our own that decode pictures, so a decode
 * never takes libuv's shared thread pool (the history's writes and fsyncs
 * run there) nor the loop thread. Like uv_queue_work: `work` runs on a
 * pool thread, `done` back on the loop thread, always, once per job,
 * cancelled or not.
 *
 * The owner (the server's picture.c, the client's chatpicture.c) embeds
 * one struct image_pool and each job's struct image_job. A job's cancel
 * flag (and the pool's, for all) is what the decode's budget watches
 * (image.h): image_pool_cancel_all makes every decode stop within a row,
 * so a stopping program never waits for one.
 */
#ifndef CHATROOM_IMAGEPOOL_H
#define CHATROOM_IMAGEPOOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <uv.h>

#define IMAGE_POOL_MAX_THREADS 4

struct image_job;
typedef void (*image_job_cb)(struct image_job *job);

struct image_job {
	image_job_cb work; /* on a pool thread */
	image_job_cb done; /* on the loop thread; the job is the owner's again */
	atomic_bool cancel;
	void *data;
	struct image_job *next;               /* the pool's queues, under its lock */
	struct image_job *prev_out, *next_out; /* the pool's list of jobs out */
};

struct image_pool {
	uv_loop_t *loop;
	uv_async_t wake_loop;
	uv_mutex_t lock;
	uv_cond_t wake_worker;
	uv_thread_t threads[IMAGE_POOL_MAX_THREADS];
	unsigned thread_count;
	/* Under lock. */
	struct image_job *todo, **todo_tail;
	struct image_job *finished, **finished_tail;
	bool quitting;
	/* Loop thread only: jobs queued, running or finished but not yet
	 * given back (done). */
	struct image_job *out;
	unsigned pending;
	bool open;
};

/* Starts `threads` threads (1..IMAGE_POOL_MAX_THREADS). 0 or a UV_E* code. */
int image_pool_init(struct image_pool *p, uv_loop_t *loop, unsigned threads);

/* Queues a job (its work and done set). */
void image_pool_submit(struct image_pool *p, struct image_job *job);

/* Every queued and running job is told to stop; their done callbacks
 * still come. */
void image_pool_cancel_all(struct image_pool *p);

/* Joins the threads, which first finish what they were given (cancel it
 * first, or call once pending is 0), gives back every job (their done
 * callbacks run here), and closes the loop handle: `closed` (may be NULL)
 * says when the struct may be freed. */
void image_pool_close(struct image_pool *p, uv_close_cb closed);

#endif
