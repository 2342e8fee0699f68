/* The io_uring send pool (src/server/uring_send.c): a burst's buffers
 * reach the socket, and the pool's pages they touched are given back by
 * uring_send_trim (docs: scripts/bench_notes.md, "Idle memory"). Skipped
 * where the kernel refuses io_uring. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "uring_send.h"

#define SENDS 8

static size_t sent_total;

static void on_done(void *who, int result, size_t asked, void *arg)
{
	(void)who;
	(void)arg;
	assert_int_equal(result, (int)asked);
	sent_total += (size_t)result;
}

/* Pages of [p, p + len) the process holds resident. */
static size_t resident_pages(const void *p, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t from = (uintptr_t)p & ~(uintptr_t)(page - 1);
	size_t n = ((uintptr_t)p + len - from + page - 1) / page;
	unsigned char *vec = calloc(n, 1);
	assert_non_null(vec);
	assert_int_equal(mincore((void *)from, n * page, vec), 0);
	size_t resident = 0;
	for (size_t i = 0; i < n; i++)
		resident += vec[i] & 1;
	free(vec);
	return resident;
}

static void a_burst_is_sent_then_its_pages_given_back(void **state)
{
	(void)state;
	const char *cause = NULL;
	struct uring_send *u = uring_send_new(&cause);
	if (u == NULL)
		skip(); /* io_uring refused here: the server writes with writev */
	int fds[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	int size = 1 << 20;
	setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	static char byte = 'x';
	unsigned room;
	uv_buf_t *pool = uring_send_bufs(u, &room);
	size_t queued = 0;
	for (int s = 0; s < SENDS; s++) {
		uv_buf_t *bufs = uring_send_bufs(u, &room);
		assert_true(room >= 1000);
		for (unsigned i = 0; i < 1000; i++)
			bufs[i] = uv_buf_init(&byte, 1);
		uring_send_queue(u, fds[0], 1000, NULL);
		queued += 1000;
	}
	sent_total = 0;
	assert_true(uring_send_run(u, on_done, NULL));
	assert_int_equal(sent_total, queued);
	size_t bytes = queued * sizeof(uv_buf_t);
	assert_true(resident_pages(pool, bytes) >= bytes / (size_t)sysconf(_SC_PAGESIZE));
	uring_send_trim(u);
	/* All but the pages the pool shares with what lies around it. */
	assert_true(resident_pages(pool, bytes) <= 2);
	/* And it works on as before: the pages come back zeroed, then filled. */
	uv_buf_t *bufs = uring_send_bufs(u, &room);
	assert_ptr_equal(bufs, pool);
	bufs[0] = uv_buf_init(&byte, 1);
	uring_send_queue(u, fds[0], 1, NULL);
	sent_total = 0;
	assert_true(uring_send_run(u, on_done, NULL));
	assert_int_equal(sent_total, 1);
	uring_send_free(u);
	close(fds[0]);
	close(fds[1]);
}

/* The same for the buffer a turn's small sends are copied into. */
static void copied_sends_arrive_then_their_pages_given_back(void **state)
{
	(void)state;
	const char *cause = NULL;
	struct uring_send *u = uring_send_new(&cause);
	if (u == NULL)
		skip();
	int fds[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	int size = 1 << 20;
	setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	size_t room;
	char *gathered = uring_send_gather(u, &room);
	size_t queued = 0;
	while (!uring_send_full(u)) {
		char *bytes = uring_send_gather(u, &room);
		assert_true(room >= URING_SEND_GATHER_MAX);
		memset(bytes, 'y', URING_SEND_GATHER_MAX);
		uring_send_queue_gathered(u, fds[0], URING_SEND_GATHER_MAX, NULL);
		queued += URING_SEND_GATHER_MAX;
	}
	assert_true(queued >= URING_SEND_GATHER_POOL / 2);
	sent_total = 0;
	assert_true(uring_send_run(u, on_done, NULL));
	assert_int_equal(sent_total, queued);
	char *got = malloc(queued);
	assert_non_null(got);
	size_t have = 0;
	while (have < queued) {
		ssize_t n = read(fds[1], got + have, queued - have);
		assert_true(n > 0);
		have += (size_t)n;
	}
	assert_int_equal(got[0], 'y');
	assert_int_equal(got[queued - 1], 'y');
	free(got);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	assert_true(resident_pages(gathered, queued) >= queued / page);
	uring_send_trim(u);
	assert_true(resident_pages(gathered, queued) <= 2);
	uring_send_free(u);
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_burst_is_sent_then_its_pages_given_back),
		cmocka_unit_test(copied_sends_arrive_then_their_pages_given_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
