#include "appender.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

/* A file left wider by an older version (0644) or by hand loses what is
 * beyond APPENDER_FILE_MODE. Only regular files: --log /dev/null must
 * stay as it is. */
static void tighten(struct appender *a, const uv_stat_t *st)
{
	unsigned mode = (unsigned)st->st_mode & 07777;
	if (!S_ISREG(st->st_mode) || (mode & ~APPENDER_FILE_MODE) == 0)
		return;
	uv_fs_t req;
	int rc = uv_fs_fchmod(a->loop, &req, a->fd, (int)(mode & APPENDER_FILE_MODE), NULL);
	uv_fs_req_cleanup(&req);
	if (rc < 0)
		log_warn("%s: readable by others (mode %04o) and cannot be tightened: %s",
			 a->path, mode, uv_strerror(rc));
	else
		log_debug("%s: mode %04o tightened to %04o", a->path, mode,
			 mode & APPENDER_FILE_MODE);
}

static int open_file(struct appender *a)
{
	uv_fs_t req;
	int fd = uv_fs_open(a->loop, &req, a->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			    APPENDER_FILE_MODE, NULL);
	uv_fs_req_cleanup(&req);
	if (fd < 0)
		return fd;
	a->fd = fd;
	a->file_bytes = 0;
	if (uv_fs_fstat(a->loop, &req, fd, NULL) == 0) {
		a->file_bytes = (size_t)req.statbuf.st_size;
		tighten(a, &req.statbuf);
	}
	uv_fs_req_cleanup(&req);
	return 0;
}

static void close_fd(struct appender *a)
{
	if (a->fd < 0)
		return;
	uv_fs_t req;
	uv_fs_close(a->loop, &req, a->fd, NULL);
	uv_fs_req_cleanup(&req);
	a->fd = -1;
}

int appender_open(struct appender *a, uv_loop_t *loop, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->loop = loop;
	a->fd = -1;
	if (strlen(path) >= sizeof(a->path))
		return UV_ENAMETOOLONG;
	memcpy(a->path, path, strlen(path) + 1);
	return open_file(a);
}

int appender_reopen(struct appender *a)
{
	/* Only between batches: a write in flight holds the old descriptor. */
	if (a->busy)
		return UV_EBUSY;
	uv_file old = a->fd;
	int rc = open_file(a);
	if (rc < 0)
		return rc;
	if (old >= 0) {
		uv_fs_t req;
		uv_fs_close(a->loop, &req, old, NULL);
		uv_fs_req_cleanup(&req);
	}
	return 0;
}

void appender_adopt(struct appender *a, uv_file fd, size_t file_bytes)
{
	close_fd(a);
	a->fd = fd;
	a->file_bytes = file_bytes;
}

int appender_append(struct appender *a, const char *data, size_t len, uint64_t mark)
{
	int rc = buffer_add(&a->pending, data, len);
	if (rc == 0)
		a->pending_mark = mark;
	return rc;
}

struct buffer *appender_next_batch(struct appender *a)
{
	return &a->pending;
}

void appender_mark(struct appender *a, uint64_t mark)
{
	a->pending_mark = mark;
}

void appender_set_written(struct appender *a, uint64_t mark)
{
	a->written_mark = mark;
	a->pending_mark = mark;
}

static void start_write(struct appender *a);

static void on_write(uv_fs_t *req)
{
	struct appender *a = req->data;
	ssize_t result = req->result;
	uv_fs_req_cleanup(req);
	if (result < 0) {
		if (!a->failing)
			log_error("%s: write failed: %s; trying again every second",
				  a->path, uv_strerror((int)result));
		a->failing = true;
		return; /* busy stays set: appender_retry goes on from here */
	}
	if (a->failing)
		log_info("%s: writing again", a->path);
	a->failing = false;
	a->writing_done += (size_t)result;
	if (a->writing_done < a->writing.len) {
		start_write(a);
		return;
	}
	a->file_bytes += a->writing.len;
	a->writing.len = 0;
	a->writing_done = 0;
	a->written_mark = a->writing_mark;
	if (a->on_written != NULL)
		a->on_written(a); /* calls appender_done when it has finished */
	else
		appender_done(a);
}

static void start_write(struct appender *a)
{
	uv_buf_t buf = uv_buf_init(a->writing.data + a->writing_done,
				   (unsigned)(a->writing.len - a->writing_done));
	a->req.data = a;
	int rc = uv_fs_write(a->loop, &a->req, a->fd, &buf, 1, -1, on_write);
	if (rc < 0) {
		if (!a->failing)
			log_error("%s: cannot write: %s", a->path, uv_strerror(rc));
		a->failing = true;
	}
}

void appender_kick(struct appender *a)
{
	if (a->busy || a->fd < 0 || a->pending.len == 0)
		return;
	struct buffer swap = a->writing;
	a->writing = a->pending;
	a->pending = swap;
	a->pending.len = 0;
	a->writing_done = 0;
	a->writing_mark = a->pending_mark;
	a->busy = true;
	start_write(a);
}

bool appender_hold(struct appender *a)
{
	if (a->busy)
		return false;
	a->busy = true;
	return true;
}

void appender_done(struct appender *a)
{
	a->busy = false;
	appender_kick(a);
}

void appender_retry(struct appender *a)
{
	if (a->failing && a->busy)
		start_write(a);
}

/* Blocking: only at exit, when nothing else is left to do. */
static void write_all(struct appender *a, const struct buffer *b, size_t from)
{
	while (from < b->len) {
		uv_buf_t buf = uv_buf_init(b->data + from, (unsigned)(b->len - from));
		uv_fs_t req;
		int n = uv_fs_write(a->loop, &req, a->fd, &buf, 1, -1, NULL);
		uv_fs_req_cleanup(&req);
		if (n <= 0) {
			log_error("%s: %zu bytes could not be written at exit", a->path,
				  b->len - from);
			return;
		}
		from += (size_t)n;
	}
}

void appender_close(struct appender *a, bool sync)
{
	if (a->fd >= 0) {
		if (a->busy && a->failing)
			write_all(a, &a->writing, a->writing_done);
		write_all(a, &a->pending, 0);
		if (sync) {
			uv_fs_t req;
			uv_fs_fdatasync(a->loop, &req, a->fd, NULL);
			uv_fs_req_cleanup(&req);
		}
	}
	close_fd(a);
	a->busy = false;
	a->written_mark = a->pending_mark;
	buffer_free(&a->pending);
	buffer_free(&a->writing);
}
