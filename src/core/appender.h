/*
 * appender: an append-only file written off the loop thread, in batches.
 *
 * Callers append bytes on the loop thread; appender_kick (once per loop
 * turn) hands everything pending to the thread pool as one write. A failed
 * write (disk full, I/O error) is kept and retried by appender_retry, so a
 * full disk loses nothing while it lasts and the program goes on. Each
 * append carries a caller's mark (an event id, say): written_mark tells
 * how far the file has got.
 *
 * Files are made 0640 (the conversation and the addresses are nobody
 * else's business) and an existing one readable by others is tightened.
 *
 * appender.c owns the descriptor and buffers; the caller owns the struct.
 */
#ifndef CHATROOM_APPENDER_H
#define CHATROOM_APPENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "buffer.h"

/* The owner writes, its group (say, for logrotate) reads. */
#define APPENDER_FILE_MODE 0640

struct appender;
/* A batch reached the file (written, not synced). */
typedef void (*appender_written_cb)(struct appender *a);

struct appender {
	uv_loop_t *loop;
	char path[4096];
	uv_file fd;
	size_t file_bytes;

	struct buffer pending;
	uint64_t pending_mark;
	struct buffer writing;
	size_t writing_done;
	uint64_t writing_mark;
	uint64_t written_mark;

	bool busy;    /* a write, or the owner's follow-up, is under way */
	bool failing; /* the last write failed; appender_retry tries again */
	uv_fs_t req;

	appender_written_cb on_written; /* NULL: just go on */
	void *data;
};

/* Opens (creating) for appending. 0, or a UV_E* code. */
int appender_open(struct appender *a, uv_loop_t *loop, const char *path);
/* Reopens the same path (after logrotate moved the file). 0 or UV_E*. */
int appender_reopen(struct appender *a);
/* Takes over another descriptor for the same path (after a rewrite). */
void appender_adopt(struct appender *a, uv_file fd, size_t file_bytes);

int appender_append(struct appender *a, const char *data, size_t len, uint64_t mark);
/* The buffer of the next batch, for an owner that serialises straight
 * into it (no copy); appender_mark then says how far it got. */
struct buffer *appender_next_batch(struct appender *a);
void appender_mark(struct appender *a, uint64_t mark);
/* Everything up to mark is in the file already (it was read at start). */
void appender_set_written(struct appender *a, uint64_t mark);
/* Starts writing what is pending unless busy. */
void appender_kick(struct appender *a);
/* The owner's own work on the file (a sync) holds the next batch: false
 * when a batch is under way, else true and busy until appender_done. */
bool appender_hold(struct appender *a);
/* The owner's follow-up to a batch is done: the next batch may go. */
void appender_done(struct appender *a);
/* Tries a failed write again. */
void appender_retry(struct appender *a);
/* Writes what is left synchronously, syncs if asked, closes. For exit,
 * and only when no write is on the thread pool: !busy, failing, or from
 * the owner's follow-up to the last batch (on_written). */
void appender_close(struct appender *a, bool sync);


#endif
