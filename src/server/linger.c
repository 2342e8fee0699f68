#include "linger.h"

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Every lingering socket's reads land here and are dropped: one at a time,
 * on the loop's thread, never looked at. */
static char dropped_bytes[64 * 1024];

/* At the stop, how often lingering sockets are checked for their peer
 * having it all: no event says so, and a delayed ACK takes up to 40 ms. */
#define LINGER_STOP_CHECK_MS 20

static struct linger_slot *slot_at(struct lingers *l, unsigned n)
{
	return &l->ring[n % LINGER_MAX];
}

static void on_due(uv_timer_t *timer);

/* The timer for the oldest's deadline; none when nothing lingers. */
static void arm(struct lingers *l)
{
	if (l->head == l->tail) {
		uv_timer_stop(&l->timer);
		return;
	}
	uint64_t now = uv_now(l->timer.loop), due = slot_at(l, l->head)->due_ms;
	uint64_t wait = due > now ? due - now : 0;
	if (l->stopping && wait > LINGER_STOP_CHECK_MS)
		wait = LINGER_STOP_CHECK_MS;
	uv_timer_start(&l->timer, on_due, wait, 0);
}

/* What the kernel holds of the peer's input is dropped, so that closing
 * sends no reset (its FIN went before). Bounded: a peer that sends as fast
 * as we read must not keep the loop here. */
static void drop_waiting(uv_tcp_t *socket)
{
	uv_os_fd_t fd;
	if (uv_fileno((uv_handle_t *)socket, &fd) < 0)
		return;
	for (size_t n = 0; n < LINGER_MAX_BYTES;) {
		ssize_t got = recv(fd, dropped_bytes, sizeof(dropped_bytes), MSG_DONTWAIT);
		if (got <= 0)
			return;
		n += (size_t)got;
	}
}

/* Its FIN, after what was written: libuv has no write under way (the
 * output is all written), so the descriptor is shut directly. False when
 * the connection is gone already. */
static bool shut_writing(uv_tcp_t *socket)
{
	uv_os_fd_t fd;
	return uv_fileno((uv_handle_t *)socket, &fd) == 0 && shutdown(fd, SHUT_WR) == 0;
}

/* Bytes sent that the peer has not acknowledged: while there are, a
 * reset could still destroy them. Once `shut`, the FIN counts one too (its
 * ACK may be delayed: the peer has it all the same). */
static bool output_unacked(uv_tcp_t *socket, bool shut)
{
	uv_os_fd_t fd;
	int n = 0;
	return uv_fileno((uv_handle_t *)socket, &fd) == 0 && ioctl(fd, SIOCOUTQ, &n) == 0 &&
	       n > (shut ? 1 : 0);
}

static void finish_if_done(struct lingers *l)
{
	if (!l->finishing || !l->open || l->head != l->tail)
		return;
	l->open = false;
	uv_close((uv_handle_t *)&l->timer, NULL);
}

/* The socket goes back to its owner and is closed; its slot is free. */
static void end(struct linger_slot *s)
{
	struct lingers *l = s->set;
	uv_tcp_t *socket = s->socket;
	socket->data = s->owner;
	s->socket = NULL;
	l->count--;
	while (l->head != l->tail && slot_at(l, l->head)->socket == NULL)
		l->head++;
	arm(l);
	uv_close((uv_handle_t *)socket, l->on_closed);
	finish_if_done(l);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	(void)handle, (void)suggested;
	*buf = uv_buf_init(dropped_bytes, sizeof(dropped_bytes));
}

/* Its end (or an error) ends the wait; what it sends before is dropped.
 * More is no reason to wait longer: the deadline stays. */
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	(void)buf;
	struct linger_slot *s = stream->data;
	if (nread < 0) {
		end(s);
		return;
	}
	s->dropped += (size_t)nread;
	if (s->dropped > LINGER_MAX_BYTES) {
		drop_waiting(s->socket);
		end(s);
	}
}

/* At the stop: those whose peer has all they sent go now. */
static void end_acknowledged(struct lingers *l)
{
	for (unsigned n = l->head; n != l->tail; n++) {
		struct linger_slot *s = slot_at(l, n);
		if (s->socket != NULL && !output_unacked(s->socket, true)) {
			drop_waiting(s->socket);
			end(s);
		}
	}
}

static void on_due(uv_timer_t *timer)
{
	struct lingers *l = timer->data;
	uint64_t now = uv_now(timer->loop);
	if (l->stopping)
		end_acknowledged(l);
	while (l->head != l->tail && slot_at(l, l->head)->due_ms <= now)
		linger_cut_oldest(l);
	if (l->open)
		arm(l); /* the next deadline, or the next check */
}

void lingers_init(struct lingers *l, uv_loop_t *loop, uv_close_cb on_closed)
{
	l->head = l->tail = l->count = 0;
	l->on_closed = on_closed;
	uv_timer_init(loop, &l->timer);
	l->timer.data = l;
	l->open = true;
	l->stopping = l->finishing = false;
}

void lingers_stop(struct lingers *l)
{
	l->stopping = true;
	end_acknowledged(l);
	if (l->open)
		arm(l);
}

void lingers_finish(struct lingers *l)
{
	l->finishing = true;
	finish_if_done(l);
}

void linger_close(struct lingers *l, uv_tcp_t *socket, bool may_linger)
{
	uv_read_stop((uv_stream_t *)socket);
	bool unacked = output_unacked(socket, false);
	if (!shut_writing(socket) || !may_linger || !l->open || (l->stopping && !unacked)) {
		drop_waiting(socket);
		uv_close((uv_handle_t *)socket, l->on_closed);
		return;
	}
	if (l->tail - l->head == LINGER_MAX)
		linger_cut_oldest(l);
	struct linger_slot *s = slot_at(l, l->tail++);
	*s = (struct linger_slot){.socket = socket, .owner = socket->data, .set = l,
				  .due_ms = uv_now(l->timer.loop) + LINGER_MS};
	socket->data = s;
	l->count++;
	if (uv_read_start((uv_stream_t *)socket, on_alloc, on_read) < 0) {
		end(s);
		return;
	}
	if (l->tail - l->head == 1)
		arm(l); /* the only one: the timer was idle */
}

bool linger_cut_oldest(struct lingers *l)
{
	if (l->head == l->tail)
		return false;
	struct linger_slot *s = slot_at(l, l->head);
	drop_waiting(s->socket);
	end(s);
	return true;
}
