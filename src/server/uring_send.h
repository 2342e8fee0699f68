/*
 * uring_send: a loop turn's socket sends submitted together through
 * io_uring (the default; --no-io-uring: writev), one system call for many peers instead of one
 * writev each. Every send is non-blocking (MSG_DONTWAIT): a full socket
 * completes at once with -EAGAIN rather than waiting in the ring, so the
 * ring holds nothing between turns and libuv keeps the event loop.
 *
 * The caller fills the next slot's buffers (uring_send_bufs), queues it
 * (uring_send_queue), and runs the lot (uring_send_run), which submits
 * them, waits for every completion and reports each. Buffers must stay
 * valid until uring_send_run returns.
 */
#ifndef CHATROOM_URING_SEND_H
#define CHATROOM_URING_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

/* Sends one submission holds at most (more are run in chunks). */
#define URING_SEND_ENTRIES 256
/* Buffers of all the sends of one submission (256 KiB of iovecs): a
 * saturated turn queues more than tcp.c's 64 for a peer, and what one
 * send leaves would take a writev of its own. */
#define URING_SEND_POOL 16384
/* Buffers one send holds at most (the kernel's UIO_MAXIOV). */
#define URING_SEND_MAX_BUFS 1024
/* Fewer left than this in the pool: the submission is full. */
#define URING_SEND_MIN_BUFS 64
/* A send of this many bytes at most is copied into one buffer and goes
 * out as one IORING_OP_SEND: a turn's frames to a peer are many and small
 * (~30 chat lines), and the kernel takes one buffer for less than it
 * takes their iovecs (docs/benchmarks.md). The submission's buffer holds
 * URING_SEND_GATHER_POOL bytes. */
#define URING_SEND_GATHER_MAX (16u * 1024)
#define URING_SEND_GATHER_POOL (128u * 1024)

struct uring_send;

/* A ring, or NULL with *cause (io_uring refused: an old kernel, a
 * container's seccomp filter, kernel.io_uring_disabled). */
struct uring_send *uring_send_new(const char **cause);
void uring_send_free(struct uring_send *u);
/* Gives back to the system the pages of the buffer pool and of the copy
 * buffer the runs since the last call touched: a burst's turns fill up to
 * 256 + 128 KiB of them, which a server gone quiet need not keep
 * resident. Called now and then (the server's 5 s trim); NULL: nothing. */
void uring_send_trim(struct uring_send *u);
/* True when no slot is left: run what is queued first. */
bool uring_send_full(const struct uring_send *u);
/* The next send's buffers, for the caller to fill: *room of them (at
 * least URING_SEND_MIN_BUFS unless full). */
uv_buf_t *uring_send_bufs(struct uring_send *u, unsigned *room);
/* Queues the next slot: its first n buffers, to fd, on behalf of who. */
void uring_send_queue(struct uring_send *u, int fd, unsigned n, void *who);
/* Room for the next send's bytes, copied by the caller: *room of them
 * (at least URING_SEND_GATHER_MAX unless full). */
char *uring_send_gather(struct uring_send *u, size_t *room);
/* Queues the next slot: the first len bytes of uring_send_gather's room. */
void uring_send_queue_gathered(struct uring_send *u, int fd, size_t len, void *who);

/* A send's outcome: bytes sent (maybe fewer than asked), or -errno
 * (-EAGAIN: the socket took nothing). */
typedef void uring_send_done_cb(void *who, int result, size_t asked, void *arg);

/* Submits every queued send, waits for them all and calls done for each.
 * Returns false if the ring failed as a whole: a send never submitted is
 * reported -ECANCELED (nothing went out), one whose outcome is unknown
 * -EIO; the ring must not be used again (uring_send_free it). */
bool uring_send_run(struct uring_send *u, uring_send_done_cb *done, void *arg);

#endif
