/* Lingering closes (src/server/linger.c) on real loopback sockets: the
 * peer reads the end (a FIN), never a reset, though it sent bytes nobody
 * read; the close waits for the peer's own end, no longer than LINGER_MS
 * however much it sends; the oldest is cut on demand; and at the stop
 * those whose peer has all they sent go at once, the loop closing with no
 * handle left. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "linger.h"

static int closed_count;
static void *closed_data;

static void on_closed(uv_handle_t *handle)
{
	closed_count++;
	closed_data = handle->data;
}

/* A connected pair on loopback: *ours is the server's end, *theirs the
 * peer's (blocking, with a timeout). */
static void connected_pair(int *ours, int *theirs)
{
	int listener = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	assert_int_equal(bind(listener, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(listener, 1), 0);
	assert_int_equal(getsockname(listener, (struct sockaddr *)&a, &len), 0);
	*theirs = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(*theirs, (struct sockaddr *)&a, sizeof(a)), 0);
	*ours = accept(listener, NULL, NULL);
	assert_true(*ours >= 0);
	close(listener);
	struct timeval wait = {.tv_sec = 5};
	setsockopt(*theirs, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
}

static void open_socket(uv_loop_t *loop, uv_tcp_t *sock, int fd, void *owner)
{
	assert_int_equal(uv_tcp_init(loop, sock), 0);
	assert_int_equal(uv_tcp_open(sock, fd), 0);
	sock->data = owner;
}

/* What the peer reads next: 0 for the end, -errno for a reset. */
static int peer_reads(int fd)
{
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	return n < 0 ? -errno : (int)n;
}

/* Each test's loop and lingering closes (40 KiB: static, off the stack). */
struct fixture {
	uv_loop_t loop;
	struct lingers lingers;
	uv_tcp_t sock; /* the server's end of the test's peer (a_peer) */
	int owner;
};

static int make_fixture(void **state)
{
	static struct fixture f;
	uv_loop_init(&f.loop);
	lingers_init(&f.lingers, &f.loop, on_closed);
	closed_count = 0;
	*state = &f;
	return 0;
}

/* The stop, then the loop closes with no handle left. */
static int end_fixture(void **state)
{
	struct fixture *f = *state;
	lingers_stop(&f->lingers);
	lingers_finish(&f->lingers);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	return 0;
}

/* A connected peer: the server's end in f->sock, owned by f->owner;
 * returns the peer's end. */
static int a_peer(struct fixture *f)
{
	int ours, theirs;
	connected_pair(&ours, &theirs);
	open_socket(&f->loop, &f->sock, ours, &f->owner);
	return theirs;
}

static void it_waits_for_the_peer_end_which_reads_a_fin(void **state)
{
	struct fixture *f = *state;
	uv_loop_t *loop = &f->loop;
	struct lingers *l = &f->lingers;
	int theirs = a_peer(f);
	assert_int_equal(send(theirs, "PING", 4, 0), 4); /* never read by the server */
	closed_count = 0;
	linger_close(l, &f->sock, true);
	assert_int_equal(linger_count(l), 1);
	assert_int_equal(peer_reads(theirs), 0);
	assert_int_equal(send(theirs, "more", 4, 0), 4); /* dropped */
	uv_run(loop, UV_RUN_NOWAIT);
	assert_int_equal(closed_count, 0);
	close(theirs);
	while (closed_count == 0)
		uv_run(loop, UV_RUN_ONCE);
	assert_ptr_equal(closed_data, &f->owner);
	assert_int_equal(linger_count(l), 0);
}

static void without_room_it_closes_at_once_with_a_fin(void **state)
{
	struct fixture *f = *state;
	uv_loop_t *loop = &f->loop;
	struct lingers *l = &f->lingers;
	int theirs = a_peer(f);
	assert_int_equal(send(theirs, "PING", 4, 0), 4);
	usleep(10000); /* it has arrived: unread, it would make a reset */
	closed_count = 0;
	linger_close(l, &f->sock, false);
	assert_int_equal(linger_count(l), 0);
	uv_run(loop, UV_RUN_NOWAIT);
	assert_int_equal(closed_count, 1);
	assert_int_equal(peer_reads(theirs), 0);
	close(theirs);
}

struct sender {
	uv_timer_t timer;
	int fd;
};

static void on_send_due(uv_timer_t *timer)
{
	struct sender *s = timer->data;
	(void)send(s->fd, "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (closed_count > 0)
		uv_timer_stop(timer);
}

static void a_peer_that_keeps_sending_is_cut_at_the_deadline(void **state)
{
	struct fixture *f = *state;
	uv_loop_t *loop = &f->loop;
	struct lingers *l = &f->lingers;
	int theirs = a_peer(f);
	struct sender sender = {.fd = theirs};
	uv_timer_init(loop, &sender.timer);
	sender.timer.data = &sender;
	uv_timer_start(&sender.timer, on_send_due, 0, 20);
	closed_count = 0;
	uint64_t start = uv_hrtime();
	linger_close(l, &f->sock, true);
	while (closed_count == 0)
		uv_run(loop, UV_RUN_ONCE);
	uint64_t took_ms = (uv_hrtime() - start) / 1000000;
	assert_true(took_ms >= LINGER_MS - 50);
	assert_true(took_ms < LINGER_MS + 1000);
	assert_int_equal(peer_reads(theirs), 0); /* its FIN came first */
	uv_close((uv_handle_t *)&sender.timer, NULL);
	uv_run(loop, UV_RUN_NOWAIT); /* its handle is on this stack */
	close(theirs);
}

static void the_oldest_is_cut_and_the_stop_ends_them_all(void **state)
{
	struct fixture *f = *state;
	uv_loop_t *loop = &f->loop;
	struct lingers *l = &f->lingers;
	int ours[3], theirs[3], owners[3];
	uv_tcp_t sockets[3];
	for (int i = 0; i < 3; i++) {
		connected_pair(&ours[i], &theirs[i]);
		open_socket(loop, &sockets[i], ours[i], &owners[i]);
		linger_close(l, &sockets[i], true);
	}
	assert_int_equal(linger_count(l), 3);
	closed_count = 0;
	assert_true(linger_cut_oldest(l));
	uv_run(loop, UV_RUN_NOWAIT);
	assert_int_equal(closed_count, 1);
	assert_ptr_equal(closed_data, &owners[0]);
	/* The second ends early: the third is the oldest then. */
	close(theirs[1]);
	while (closed_count < 2)
		uv_run(loop, UV_RUN_ONCE);
	assert_ptr_equal(closed_data, &owners[1]);
	assert_int_equal(linger_count(l), 1);
	/* Its peer has all it was sent: at the stop it goes at once. */
	lingers_stop(l);
	assert_int_equal(linger_count(l), 0);
	assert_false(linger_cut_oldest(l));
	lingers_finish(l);
	uv_run(loop, UV_RUN_DEFAULT);
	assert_int_equal(closed_count, 3);
	assert_ptr_equal(closed_data, &owners[2]);
	assert_int_equal(uv_loop_close(loop), 0);
	for (int i = 0; i < 3; i++) {
		if (i != 1)
			close(theirs[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(it_waits_for_the_peer_end_which_reads_a_fin,
						make_fixture, end_fixture),
		cmocka_unit_test_setup_teardown(without_room_it_closes_at_once_with_a_fin,
						make_fixture, end_fixture),
		cmocka_unit_test_setup_teardown(a_peer_that_keeps_sending_is_cut_at_the_deadline,
						make_fixture, end_fixture),
		/* Its own stop, checked as it goes. */
		cmocka_unit_test_setup(the_oldest_is_cut_and_the_stop_ends_them_all, make_fixture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
