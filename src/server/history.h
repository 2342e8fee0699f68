/*
 * history: the conversation on disk, one JSON object per line (JSON Lines),
 * append-only, like Redis's AOF.
 *
 * Events are serialised on the loop thread into a pending buffer; once per
 * loop turn (history_kick) the buffer goes to the thread pool in one write,
 * so there is never a disk write per message and never one on the loop
 * thread. The fsync policy is Redis's appendfsync: `always` (each batch is
 * fdatasync'ed before on_durable reports it), `everysec` (a timer syncs
 * once a second) or `no` (the kernel decides). Past max_bytes the file is
 * rewritten with what the rooms still remember (compaction), into a fresh
 * temporary file (mkostemp: never a name someone else made) renamed over
 * the old one. When what the rooms remember is itself larger than
 * max_bytes, the next compaction waits until the file has doubled, so a
 * rewrite costs at most as much disk work as the appends since the last.
 *
 * A loaded record is checked as a live event is (history_load): a bad one
 * is skipped with a warning, its text sanitised, its numbers in range.
 *
 * history.c owns the appender (file and buffers) and its timer; the caller
 * owns struct history_log and frees nothing inside it.
 */
#ifndef CHATROOM_HISTORY_H
#define CHATROOM_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "appender.h"
#include "event.h"

enum history_fsync { HISTORY_FSYNC_NO, HISTORY_FSYNC_EVERYSEC, HISTORY_FSYNC_ALWAYS };

struct history_log;

/* Appends the JSON lines of what must survive a compaction (every event
 * the rooms remember with an id <= up_to_id) to the buffer via
 * history_serialise. */
typedef void (*history_snapshot_cb)(struct history_log *log, uint64_t up_to_id);
/* Every event with an id <= id is on disk (policy `always` only). */
typedef void (*history_durable_cb)(struct history_log *log, uint64_t id);

struct history_log {
	struct appender file;
	enum history_fsync policy;
	size_t max_bytes;    /* --history-max-bytes */
	size_t compact_at;   /* compact past this: max_bytes, or twice the last
				rewrite when the rooms remember more than that */
	uint64_t durable_id; /* highest event id written and synced */
	bool dirty;          /* written since the last sync */
	bool closing;

	uv_fs_t sync_req;
	uv_work_t compact_work;
	struct buffer compact; /* the rewritten file's content */
	unsigned compact_mode; /* the rewritten file's permissions: the old one's */
	uv_file compact_fd;
	int compact_error;
	uv_timer_t timer;    /* everysec syncs and write retries */

	history_durable_cb on_durable;
	history_snapshot_cb on_snapshot;
	void *data;
};

/* Reads the file (if any) and calls on_event for each record, oldest
 * first; a torn or corrupt line is skipped with a warning, and a torn tail
 * is cut off so appends start on a clean line. *last_id gets the highest
 * id seen. Blocking: for start-up only. 0, or a negative errno. */
int history_load(const char *path, void (*on_event)(void *data, const struct event *ev),
		 void *data, uint64_t *last_id);

/* One record (without its newline), checked as history_load checks a
 * line but with id 0 allowed (the Redis bus's events: docs/cluster.md):
 * on_event gets the event, valid during the call. NULL, or why it is no
 * record (on_event not called). */
const char *history_parse(const char *record, size_t len,
			  void (*on_event)(void *data, struct event *ev), void *data);

/* Opens for appending. 0, or a UV_E* code with *cause set. */
int history_open(struct history_log *log, uv_loop_t *loop, const char *path,
		 enum history_fsync policy, size_t max_bytes, const char **cause);
/* Every event up to last_id is in the file already (it was loaded): it is
 * durable, and a compaction's snapshot may take it. */
void history_loaded_up_to(struct history_log *log, uint64_t last_id);

/* Warns when this process may not write the file's directory: the
 * compaction makes its new file there (after --user, say). */
void history_check_dir(const struct history_log *log);

/* Serialises one event (with its id) for the next batch. */
void history_append(struct history_log *log, const struct event *ev);
/* Appends one event's JSON line to a buffer; used for snapshots too. */
void history_serialise(struct buffer *buf, const struct event *ev, bool skip_image_data);
/* Starts writing what is pending, unless a write is under way. */
void history_kick(struct history_log *log);
/* Writes and syncs what is left, then closes; the loop runs until done. */
void history_close(struct history_log *log);

int history_parse_fsync(const char *value, enum history_fsync *out);

#endif
