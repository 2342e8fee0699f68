/*
 * tcp: the TCP transport. The listening socket (bound here, or passed by
 * systemd), and for each peer a uv_tcp_t inside its conn (conn_transport):
 * reads land in one loop-wide buffer and go to conn_received; c->out
 * leaves in one writev a loop turn (uv_try_write, the rest as a uv_write);
 * keepalive finds peers that vanished without a word. A peer closed once
 * it has been sent all it was owed (conn_close_after_flush) lingers
 * (linger.h): its FIN first, its input dropped until its own end.
 *
 * struct tcp_server is its owner's (struct server); tcp.c owns the
 * listener handle in it and every peer's handle and write request, freed
 * in the handle's close callback before the conn is told.
 */
#ifndef CHATROOM_TCP_H
#define CHATROOM_TCP_H

#include <stdbool.h>
#include <uv.h>

#include "linger.h"

struct conns;
struct uring_send;

/* One read lands here; protocols keep only the bytes of unfinished
 * messages. */
#define TCP_READ_BUF_SIZE (64 * 1024)

struct tcp_server {
	uv_tcp_t listener;
	bool listening;
	struct conns *conns; /* where accepted peers go */
	char read_buf[TCP_READ_BUF_SIZE];
	bool read_buf_lent;
	struct uring_send *uring; /* IO_URING's ring (uring_send.h); NULL: writev */
	/* Closes that linger (linger.h): each still holds a descriptor, so
	 * they count with the conns against --max-connections. */
	struct lingers lingers;
};

/* Listens on address:port (numeric or a host name; port 0 picks one), or
 * on the socket systemd passed (LISTEN_PID, LISTEN_FDS). 0, or a UV_E* code
 * with *cause. On failure the listener is closed already. */
int tcp_listen(struct tcp_server *t, uv_loop_t *loop, const char *address, int port,
	       struct conns *conns, const char **cause);
/* For another transport's listener (tls.c): an initialised handle bound
 * to address:port and listening, new peers to cb. 0, or a UV_E* code with
 * *cause (the handle is the caller's to close). */
int tcp_bind(uv_tcp_t *listener, const char *address, int port, uv_connection_cb cb,
	     const char **cause);
/* "listening on ADDRESS:PORT" on the console: the line that tells
 * whoever started the server (a test, a script) it is ready. */
void tcp_log_address(struct tcp_server *t);
/* "chatroom-server listening<what> on IP:port", of any listener (TLS's too). */
void tcp_log_listener(uv_tcp_t *listener, const char *what);
/* Bytes the kernel holds unread on this socket (0 when it cannot tell,
 * so a silence still ends): for every transport on a TCP socket. */
bool tcp_input_waiting_on(uv_handle_t *socket);
/* With io_uring, before the flush (conns_flush): the turn's sends of
 * every plain TCP peer with output, in one system call. What a socket
 * refused, its flush hands to libuv (uv_write) without trying again. */
void tcp_send_turn(struct tcp_server *t);
/* A newcomer was counted: lingering closes give their descriptors back
 * while they and the conns together are more than --max-connections. */
void tcp_make_room(struct tcp_server *t);
/* Gives back what a burst of sends left resident (uring_send_trim). */
void tcp_trim_memory(struct tcp_server *t);
/* No new peers from now on (the listener's handle closes); a close lingers
 * only while its peer has not acknowledged all of its output (lingers_stop). */
void tcp_stop(struct tcp_server *t);
/* Every conn is closed: the lingering closes' timer goes with the last. */
void tcp_finish(struct tcp_server *t);

#endif
