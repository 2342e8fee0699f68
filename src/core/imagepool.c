#include "imagepool.h"

#include <pthread.h>
#include <signal.h>

static void worker(void *arg)
{
	struct image_pool *p = arg;
	uv_mutex_lock(&p->lock);
	for (;;) {
		while (p->todo == NULL && !p->quitting)
			uv_cond_wait(&p->wake_worker, &p->lock);
		if (p->todo == NULL)
			break; /* quitting, with nothing left */
		struct image_job *job = p->todo;
		p->todo = job->next;
		if (p->todo == NULL)
			p->todo_tail = &p->todo;
		uv_mutex_unlock(&p->lock);
		job->work(job);
		uv_mutex_lock(&p->lock);
		job->next = NULL;
		*p->finished_tail = job;
		p->finished_tail = &job->next;
		uv_async_send(&p->wake_loop);
	}
	uv_mutex_unlock(&p->lock);
}

static void on_finished(uv_async_t *async)
{
	struct image_pool *p = async->data;
	uv_mutex_lock(&p->lock);
	struct image_job *job = p->finished;
	p->finished = NULL;
	p->finished_tail = &p->finished;
	uv_mutex_unlock(&p->lock);
	while (job != NULL) {
		struct image_job *next = job->next;
		if (job->prev_out != NULL)
			job->prev_out->next_out = job->next_out;
		else
			p->out = job->next_out;
		if (job->next_out != NULL)
			job->next_out->prev_out = job->prev_out;
		p->pending--;
		job->done(job); /* may free the job, or submit it again */
		job = next;
	}
}

int image_pool_init(struct image_pool *p, uv_loop_t *loop, unsigned threads)
{
	p->loop = loop;
	p->todo = NULL;
	p->todo_tail = &p->todo;
	p->finished = NULL;
	p->finished_tail = &p->finished;
	p->quitting = false;
	p->out = NULL;
	p->pending = 0;
	p->thread_count = 0;
	if (threads < 1)
		threads = 1;
	if (threads > IMAGE_POOL_MAX_THREADS)
		threads = IMAGE_POOL_MAX_THREADS;
	int rc = uv_mutex_init(&p->lock);
	if (rc < 0)
		return rc;
	rc = uv_cond_init(&p->wake_worker);
	if (rc < 0) {
		uv_mutex_destroy(&p->lock);
		return rc;
	}
	rc = uv_async_init(loop, &p->wake_loop, on_finished);
	if (rc < 0) {
		uv_cond_destroy(&p->wake_worker);
		uv_mutex_destroy(&p->lock);
		return rc;
	}
	p->wake_loop.data = p;
	/* The loop's signal handles expect signals on the loop thread: the
	 * workers are made with every signal blocked. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i < threads; i++) {
		if (uv_thread_create(&p->threads[i], worker, p) < 0)
			break;
		p->thread_count++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	p->open = true;
	if (p->thread_count == 0) {
		image_pool_close(p, NULL);
		return UV_EAGAIN;
	}
	return 0;
}

void image_pool_submit(struct image_pool *p, struct image_job *job)
{
	atomic_store(&job->cancel, false);
	job->next = NULL;
	job->prev_out = NULL;
	job->next_out = p->out;
	if (p->out != NULL)
		p->out->prev_out = job;
	p->out = job;
	p->pending++;
	uv_mutex_lock(&p->lock);
	*p->todo_tail = job;
	p->todo_tail = &job->next;
	uv_cond_signal(&p->wake_worker);
	uv_mutex_unlock(&p->lock);
}

void image_pool_cancel_all(struct image_pool *p)
{
	/* A job out stays valid until its done callback, which runs on this
	 * thread: the flags are set without the lock. */
	for (struct image_job *job = p->out; job != NULL; job = job->next_out)
		atomic_store(&job->cancel, true);
}

void image_pool_close(struct image_pool *p, uv_close_cb closed)
{
	if (!p->open)
		return;
	p->open = false;
	uv_mutex_lock(&p->lock);
	p->quitting = true;
	uv_cond_broadcast(&p->wake_worker);
	uv_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->thread_count; i++)
		uv_thread_join(&p->threads[i]);
	on_finished(&p->wake_loop); /* the threads are gone: no lock needed */
	uv_cond_destroy(&p->wake_worker);
	uv_mutex_destroy(&p->lock);
	uv_close((uv_handle_t *)&p->wake_loop, closed);
}
