#include "uring_send.h"

#include <errno.h>
#include <stdint.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"

/* libuv's uv_buf_t is a struct iovec on Unix (its documented ABI), so an
 * output queue's buffers go to the kernel as they are. */
_Static_assert(sizeof(uv_buf_t) == sizeof(struct iovec) &&
		       offsetof(uv_buf_t, base) == offsetof(struct iovec, iov_base) &&
		       offsetof(uv_buf_t, len) == offsetof(struct iovec, iov_len),
	       "uv_buf_t is not a struct iovec");

struct uring_slot {
	struct msghdr msg;
	void *who;
	size_t asked;
};

struct uring_send {
	struct io_uring ring;
	unsigned queued;
	unsigned bufs_used; /* of pool, by the queued sends */
	size_t bytes_used;  /* of gathered, by the queued sends */
	/* The most of pool and of gathered a run used since the last trim. */
	unsigned bufs_peak;
	size_t bytes_peak;
	struct uring_slot slots[URING_SEND_ENTRIES];
	uv_buf_t pool[URING_SEND_POOL];
	char gathered[URING_SEND_GATHER_POOL];
};

struct uring_send *uring_send_new(const char **cause)
{
	struct uring_send *u = calloc(1, sizeof(*u));
	if (u == NULL) {
		*cause = strerror(ENOMEM);
		return NULL;
	}
	/* One thread submits, and only while it waits for the completions:
	 * the kernel need not interrupt it with their work (6.1 and later);
	 * an older kernel refuses the flags, and gets none. */
	unsigned flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
			 IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	int rc = io_uring_queue_init(URING_SEND_ENTRIES, &u->ring, flags);
	if (rc == -EINVAL)
		rc = io_uring_queue_init(URING_SEND_ENTRIES, &u->ring, 0);
	if (rc < 0) {
		*cause = strerror(-rc);
		free(u);
		return NULL;
	}
	return u;
}

void uring_send_free(struct uring_send *u)
{
	if (u == NULL)
		return;
	io_uring_queue_exit(&u->ring);
	free(u);
}

/* The whole pages of the first `touched` bytes at start, inside our own
 * allocation; they come back zeroed on the next burst's first use. */
static void give_back(void *start, size_t touched)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t from = ((uintptr_t)start + page - 1) & ~(page - 1);
	uintptr_t to = ((uintptr_t)start + touched) & ~(page - 1);
	if (to > from)
		madvise((void *)from, to - from, MADV_DONTNEED);
}

void uring_send_trim(struct uring_send *u)
{
	if (u == NULL)
		return;
	if (u->bufs_peak > 0)
		give_back(u->pool, u->bufs_peak * sizeof(*u->pool));
	if (u->bytes_peak > 0)
		give_back(u->gathered, u->bytes_peak);
	u->bufs_peak = 0;
	u->bytes_peak = 0;
}

bool uring_send_full(const struct uring_send *u)
{
	return u->queued == URING_SEND_ENTRIES ||
	       URING_SEND_POOL - u->bufs_used < URING_SEND_MIN_BUFS ||
	       URING_SEND_GATHER_POOL - u->bytes_used < URING_SEND_GATHER_MAX;
}

uv_buf_t *uring_send_bufs(struct uring_send *u, unsigned *room)
{
	unsigned left = URING_SEND_POOL - u->bufs_used;
	*room = left < URING_SEND_MAX_BUFS ? left : URING_SEND_MAX_BUFS;
	return &u->pool[u->bufs_used];
}

void uring_send_queue(struct uring_send *u, int fd, unsigned n, void *who)
{
	struct uring_slot *slot = &u->slots[u->queued];
	/* The SQ has as many entries as there are slots, and is empty
	 * between runs: there is always one. */
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	uv_buf_t *bufs = &u->pool[u->bufs_used];
	u->bufs_used += n;
	slot->who = who;
	slot->asked = 0;
	for (unsigned i = 0; i < n; i++)
		slot->asked += bufs[i].len;
	memset(&slot->msg, 0, sizeof(slot->msg));
	slot->msg.msg_iov = (struct iovec *)bufs;
	slot->msg.msg_iovlen = n;
	/* MSG_DONTWAIT: a full socket answers -EAGAIN now instead of being
	 * polled by the ring; MSG_NOSIGNAL: a closed peer is an error, not a
	 * SIGPIPE. */
	io_uring_prep_sendmsg(sqe, fd, &slot->msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	io_uring_sqe_set_data(sqe, slot);
	u->queued++;
}

char *uring_send_gather(struct uring_send *u, size_t *room)
{
	size_t left = URING_SEND_GATHER_POOL - u->bytes_used;
	*room = left < URING_SEND_GATHER_MAX ? left : URING_SEND_GATHER_MAX;
	return &u->gathered[u->bytes_used];
}

void uring_send_queue_gathered(struct uring_send *u, int fd, size_t len, void *who)
{
	struct uring_slot *slot = &u->slots[u->queued];
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring); /* as in uring_send_queue */
	char *bytes = &u->gathered[u->bytes_used];
	u->bytes_used += len;
	slot->who = who;
	slot->asked = len;
	io_uring_prep_send(sqe, fd, bytes, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	io_uring_sqe_set_data(sqe, slot);
	u->queued++;
}

/* Reaps completions until `want` are in; false on a failed wait. */
static bool reap(struct uring_send *u, unsigned want, uring_send_done_cb *done, void *arg)
{
	while (want > 0) {
		struct io_uring_cqe *cqe;
		int rc = io_uring_wait_cqe(&u->ring, &cqe);
		if (rc == -EINTR)
			continue;
		if (rc < 0) {
			log_warn("io_uring: waiting for sends: %s", strerror(-rc));
			return false;
		}
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&u->ring, head, cqe) {
			struct uring_slot *slot = io_uring_cqe_get_data(cqe);
			done(slot->who, cqe->res, slot->asked, arg);
			slot->who = NULL;
			if (++seen == want)
				break;
		}
		io_uring_cq_advance(&u->ring, seen);
		want -= seen;
	}
	return true;
}

bool uring_send_run(struct uring_send *u, uring_send_done_cb *done, void *arg)
{
	unsigned queued = u->queued;
	if (queued == 0)
		return true;
	u->queued = 0;
	if (u->bufs_used > u->bufs_peak)
		u->bufs_peak = u->bufs_used;
	if (u->bytes_used > u->bytes_peak)
		u->bytes_peak = u->bytes_used;
	u->bufs_used = 0;
	u->bytes_used = 0;
	int rc;
	do
		rc = io_uring_submit_and_wait(&u->ring, queued);
	while (rc == -EINTR);
	unsigned submitted = rc < 0 ? 0 : (unsigned)rc;
	if (rc < 0)
		log_warn("io_uring: submitting sends: %s", strerror(-rc));
	else if (submitted < queued)
		log_warn("io_uring: %u of %u sends submitted", submitted, queued);
	bool ok = reap(u, submitted, done, arg) && submitted == queued;
	if (ok)
		return true;
	/* A send submitted but not reported may have gone out, in part: its
	 * conn cannot go on (-EIO). One never submitted is left to writev.
	 * The caller frees the ring, which cancels what is still in it. */
	for (unsigned i = 0; i < queued; i++) {
		if (u->slots[i].who != NULL)
			done(u->slots[i].who, i < submitted ? -EIO : -ECANCELED, u->slots[i].asked,
			     arg);
		u->slots[i].who = NULL;
	}
	return false;
}
