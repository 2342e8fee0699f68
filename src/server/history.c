#include "history.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Retry a failed write (disk full, I/O error) and sync everysec this often. */
#define HISTORY_TICK_MS 1000

static int buffer_append(struct history_buffer *b, const char *data, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len)
			cap *= 2;
		char *grown = realloc(b->data, cap);
		if (grown == NULL)
			return -ENOMEM;
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

static void buffer_free(struct history_buffer *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void history_serialise(struct history_buffer *buf, const struct event *ev)
{
	cJSON *o = cJSON_CreateObject();
	if (o == NULL)
		return;
	cJSON_AddNumberToObject(o, "id", (double)ev->id);
	cJSON_AddNumberToObject(o, "time", (double)ev->time_ms);
	cJSON_AddStringToObject(o, "room", ev->room);
	cJSON_AddStringToObject(o, "kind", event_kind_name(ev->kind));
	cJSON_AddNumberToObject(o, "user", (double)ev->sender_id);
	cJSON_AddStringToObject(o, "pseudo", ev->pseudo);
	cJSON_AddNumberToObject(o, "colour", ev->colour);
	if (ev->kind == EVENT_MESSAGE) {
		/* cJSON wants a terminated string; the text is not. */
		char *text = strndup(ev->text, ev->text_len);
		if (text != NULL)
			cJSON_AddStringToObject(o, "text", text);
		free(text);
	}
	char *json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (json == NULL)
		return;
	if (buffer_append(buf, json, strlen(json)) == 0)
		buffer_append(buf, "\n", 1);
	cJSON_free(json);
}

/* ---- loading ------------------------------------------------------------ */

static const char *string_field(const cJSON *o, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(f) ? f->valuestring : NULL;
}

static int parse_record(const char *line, size_t len, cJSON **root, struct event *ev)
{
	cJSON *o = cJSON_ParseWithLength(line, len);
	*root = o;
	if (o == NULL)
		return -EINVAL;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
	const cJSON *time = cJSON_GetObjectItemCaseSensitive(o, "time");
	const cJSON *user = cJSON_GetObjectItemCaseSensitive(o, "user");
	const cJSON *colour = cJSON_GetObjectItemCaseSensitive(o, "colour");
	const char *room = string_field(o, "room"), *kind = string_field(o, "kind");
	const char *pseudo = string_field(o, "pseudo"), *text = string_field(o, "text");
	memset(ev, 0, sizeof(*ev));
	if (!cJSON_IsNumber(id) || id->valuedouble < 1 || !cJSON_IsNumber(time) ||
	    room == NULL || kind == NULL || pseudo == NULL ||
	    event_kind_from_name(kind, &ev->kind) < 0 ||
	    (ev->kind == EVENT_MESSAGE && text == NULL))
		return -EINVAL;
	ev->id = (uint64_t)id->valuedouble;
	ev->time_ms = (int64_t)time->valuedouble;
	ev->sender_id = cJSON_IsNumber(user) ? (uint64_t)user->valuedouble : 0;
	ev->colour = cJSON_IsNumber(colour) ? colour->valueint : -1;
	ev->room = room;
	ev->pseudo = pseudo;
	ev->text = text ? text : "";
	ev->text_len = text ? strlen(text) : 0;
	return 0;
}

int history_load(const char *path, void (*on_event)(void *data, const struct event *ev),
		 void *data, uint64_t *last_id)
{
	*last_id = 0;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return errno == ENOENT ? 0 : -errno;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long good_end = 0;
	unsigned lineno = 0, skipped = 0;
	while ((len = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[len - 1] != '\n') {
			log_warn("history %s: torn last line %u (%zd bytes, no newline) cut off",
				 path, lineno, len);
			break;
		}
		good_end = ftell(f);
		cJSON *root;
		struct event ev;
		if (parse_record(line, (size_t)len - 1, &root, &ev) < 0) {
			skipped++;
			log_warn("history %s: line %u is not a valid record, skipped", path, lineno);
		} else {
			if (ev.id > *last_id)
				*last_id = ev.id;
			on_event(data, &ev);
		}
		cJSON_Delete(root);
	}
	free(line);
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fclose(f);
	if (size > good_end && truncate(path, good_end) < 0)
		return -errno;
	if (skipped > 0)
		log_warn("history %s: %u bad lines skipped", path, skipped);
	return 0;
}

/* ---- writing ------------------------------------------------------------ */

static void start_write(struct history_log *log);
static void after_batch(struct history_log *log);

static void finish_close(struct history_log *log)
{
	if (log->fd < 0)
		return;
	uv_fs_t req;
	uv_fs_fdatasync(log->loop, &req, log->fd, NULL); /* last act: may block */
	uv_fs_req_cleanup(&req);
	uv_fs_close(log->loop, &req, log->fd, NULL);
	uv_fs_req_cleanup(&req);
	log->fd = -1;
	log->durable_id = log->written_id;
	buffer_free(&log->pending);
	buffer_free(&log->writing);
}

static void on_synced(uv_fs_t *req)
{
	struct history_log *log = req->data;
	if (req->result < 0)
		log_error("history %s: sync failed: %s", log->path, uv_strerror((int)req->result));
	uv_fs_req_cleanup(req);
	log->dirty = false;
	log->durable_id = log->written_id;
	if (log->on_durable != NULL)
		log->on_durable(log, log->durable_id);
	after_batch(log);
}

static void on_written(uv_fs_t *req)
{
	struct history_log *log = req->data;
	ssize_t result = req->result;
	uv_fs_req_cleanup(req);
	if (result < 0) {
		if (!log->failing)
			log_error("history %s: write failed: %s; retrying every second",
				  log->path, uv_strerror((int)result));
		log->failing = true;
		return; /* the tick retries; busy stays set */
	}
	if (log->failing)
		log_info("history %s: writing again", log->path);
	log->failing = false;
	log->writing_done += (size_t)result;
	if (log->writing_done < log->writing.len) {
		start_write(log);
		return;
	}
	log->file_bytes += log->writing.len;
	log->writing.len = 0;
	log->writing_done = 0;
	log->written_id = log->writing_last_id;
	log->dirty = true;
	if (log->policy == HISTORY_FSYNC_ALWAYS) {
		log->req.data = log;
		if (uv_fs_fdatasync(log->loop, &log->req, log->fd, on_synced) == 0)
			return;
	}
	after_batch(log);
}

static void start_write(struct history_log *log)
{
	uv_buf_t buf = uv_buf_init(log->writing.data + log->writing_done,
				   (unsigned)(log->writing.len - log->writing_done));
	log->req.data = log;
	int rc = uv_fs_write(log->loop, &log->req, log->fd, &buf, 1, -1, on_written);
	if (rc < 0) {
		log->failing = true;
		log_error("history %s: cannot write: %s", log->path, uv_strerror(rc));
	}
}

void history_kick(struct history_log *log)
{
	if (log->busy || log->fd < 0 || log->pending.len == 0)
		return;
	struct history_buffer swap = log->writing;
	log->writing = log->pending;
	log->pending = swap;
	log->pending.len = 0;
	log->writing_done = 0;
	log->writing_last_id = log->pending_last_id;
	log->busy = true;
	start_write(log);
}

/* ---- compaction --------------------------------------------------------- */

static void compact_on_thread(uv_work_t *work)
{
	struct history_log *log = work->data;
	char tmp[sizeof(log->path) + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", log->path);
	log->compact_error = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		log->compact_error = -errno;
		return;
	}
	size_t done = 0;
	while (done < log->compact.len) {
		ssize_t n = write(fd, log->compact.data + done, log->compact.len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log->compact_error = -errno;
			close(fd);
			unlink(tmp);
			return;
		}
		done += (size_t)n;
	}
	if (fdatasync(fd) < 0 || rename(tmp, log->path) < 0) {
		log->compact_error = -errno;
		close(fd);
		unlink(tmp);
		return;
	}
	log->compact_fd = fd;
}

static void compact_done(uv_work_t *work, int status)
{
	struct history_log *log = work->data;
	if (status < 0 || log->compact_error < 0) {
		log_error("history %s: compaction failed: %s", log->path,
			  uv_strerror(status < 0 ? status : log->compact_error));
	} else {
		uv_fs_t req;
		uv_fs_close(log->loop, &req, log->fd, NULL);
		uv_fs_req_cleanup(&req);
		log->fd = log->compact_fd;
		log_info("history %s: compacted from %zu to %zu bytes", log->path,
			 log->file_bytes, log->compact.len);
		log->file_bytes = log->compact.len;
	}
	buffer_free(&log->compact);
	log->busy = false;
	after_batch(log);
}

static bool start_compaction(struct history_log *log)
{
	if (log->on_snapshot == NULL)
		return false;
	log->compact.len = 0;
	log->on_snapshot(log, log->written_id);
	log->compact_work.data = log;
	log->busy = true;
	if (uv_queue_work(log->loop, &log->compact_work, compact_on_thread, compact_done) < 0) {
		log->busy = false;
		return false;
	}
	return true;
}

/* A batch is done: compact if the file grew too big, else go on. */
static void after_batch(struct history_log *log)
{
	log->busy = false;
	if (!log->closing && log->max_bytes > 0 && log->file_bytes > log->max_bytes &&
	    start_compaction(log))
		return;
	history_kick(log);
	if (log->closing && !log->busy)
		finish_close(log);
}

static void on_tick(uv_timer_t *timer)
{
	struct history_log *log = timer->data;
	if (log->failing) {
		start_write(log); /* a retry of the same bytes */
		return;
	}
	if (log->policy == HISTORY_FSYNC_EVERYSEC && log->dirty && !log->busy) {
		log->busy = true;
		log->req.data = log;
		if (uv_fs_fdatasync(log->loop, &log->req, log->fd, on_synced) < 0)
			log->busy = false;
	}
}

int history_open(struct history_log *log, uv_loop_t *loop, const char *path,
		 enum history_fsync policy, size_t max_bytes, const char **cause)
{
	log->loop = loop;
	log->policy = policy;
	log->max_bytes = max_bytes;
	log->fd = -1;
	if (strlen(path) >= sizeof(log->path)) {
		*cause = "path too long";
		return UV_ENAMETOOLONG;
	}
	snprintf(log->path, sizeof(log->path), "%s", path);
	uv_fs_t req;
	int fd = uv_fs_open(loop, &req, path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			    0644, NULL);
	uv_fs_req_cleanup(&req);
	if (fd < 0) {
		*cause = uv_strerror(fd);
		return fd;
	}
	log->fd = fd;
	if (uv_fs_fstat(loop, &req, fd, NULL) == 0)
		log->file_bytes = (size_t)req.statbuf.st_size;
	uv_fs_req_cleanup(&req);
	uv_timer_init(loop, &log->timer);
	log->timer.data = log;
	uv_timer_start(&log->timer, on_tick, HISTORY_TICK_MS, HISTORY_TICK_MS);
	return 0;
}

void history_append(struct history_log *log, const struct event *ev)
{
	if (log->fd < 0 || log->closing)
		return;
	history_serialise(&log->pending, ev);
	log->pending_last_id = ev->id;
}

void history_close(struct history_log *log)
{
	if (log->closing)
		return;
	log->closing = true;
	if (log->fd >= 0)
		uv_close((uv_handle_t *)&log->timer, NULL);
	if (!log->busy) {
		history_kick(log);
		if (!log->busy)
			finish_close(log);
	}
}

int history_parse_fsync(const char *value, enum history_fsync *out)
{
	if (strcmp(value, "always") == 0)
		*out = HISTORY_FSYNC_ALWAYS;
	else if (strcmp(value, "everysec") == 0)
		*out = HISTORY_FSYNC_EVERYSEC;
	else if (strcmp(value, "no") == 0)
		*out = HISTORY_FSYNC_NO;
	else
		return -EINVAL;
	return 0;
}
