/*
 * sleep_and_print_async: the same count made asynchronous. Each count is a
 * libuv timer firing every half second; both run on one loop, no threads,
 * so they interleave (0 0 1 1 ...) and the whole run takes ~5 s.
 */
#include <stdio.h>
#include <uv.h>

struct counter {
	uv_timer_t timer;
	int next;
};

static void on_tick(uv_timer_t *timer)
{
	struct counter *c = timer->data;
	printf("%d\n", c->next);
	fflush(stdout);
	if (++c->next == 10) {
		uv_timer_stop(timer);
		uv_close((uv_handle_t *)timer, NULL);
	}
}

/* The asynchronous sleep_and_print: it starts the count and returns. */
static void sleep_and_print(uv_loop_t *loop, struct counter *c)
{
	c->next = 0;
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	uv_timer_start(&c->timer, on_tick, 0, 500);
}

int main(void)
{
	uv_loop_t *loop = uv_default_loop();
	struct counter first, second;
	sleep_and_print(loop, &first);
	sleep_and_print(loop, &second);
	uv_run(loop, UV_RUN_DEFAULT);
	return uv_loop_close(loop) == 0 ? 0 : 1;
}
