#include "history.h"

#include <cJSON.h>
#include <errno.h>
#include <glib.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Retry a failed write (disk full, I/O error) and sync everysec this often. */
#define HISTORY_TICK_MS 1000

/* Appends s as a JSON string. The text is valid UTF-8 already (sanitised
 * on the way in); only the characters JSON reserves are escaped. */
static void add_json_string(struct buffer *buf, const char *s, size_t len)
{
	buffer_add(buf, "\"", 1);
	size_t plain = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buffer_add(buf, s + plain, i - plain);
		char esc[8];
		int n = c == '"' ? snprintf(esc, sizeof(esc), "\\\"")
			: c == '\\' ? snprintf(esc, sizeof(esc), "\\\\")
			: c == '\n' ? snprintf(esc, sizeof(esc), "\\n")
			: snprintf(esc, sizeof(esc), "\\u%04x", c);
		buffer_add(buf, esc, (size_t)n);
		plain = i + 1;
	}
	buffer_add(buf, s + plain, len - plain);
	buffer_add(buf, "\"", 1);
}

/* Written by hand rather than with cJSON: this runs for every message, and
 * building a cJSON tree costs a dozen allocations; reading back at start
 * (cJSON) checks the result. */
void history_serialise(struct buffer *buf, const struct event *ev, bool skip_image_data)
{
	char head[128];
	int n = snprintf(head, sizeof(head), "{\"id\":%llu,\"time\":%lld,\"room\":",
			 (unsigned long long)ev->id, (long long)ev->time_ms);
	buffer_add(buf, head, (size_t)n);
	add_json_string(buf, ev->room, strlen(ev->room));
	n = snprintf(head, sizeof(head), ",\"kind\":\"%s\",\"user\":%llu,\"pseudo\":",
		     event_kind_name(ev->kind), (unsigned long long)ev->sender_id);
	buffer_add(buf, head, (size_t)n);
	add_json_string(buf, ev->pseudo, strlen(ev->pseudo));
	n = snprintf(head, sizeof(head), ",\"colour\":%d", ev->colour);
	buffer_add(buf, head, (size_t)n);
	if (ev->kind == EVENT_MESSAGE || ev->kind == EVENT_IMAGE) {
		buffer_add(buf, ",\"text\":", 8);
		add_json_string(buf, ev->text, ev->text_len);
	}
	if (ev->kind == EVENT_IMAGE) {
		n = snprintf(head, sizeof(head), ",\"mime\":\"%s\",\"width\":%d,\"height\":%d",
			     ev->mime, ev->width, ev->height);
		buffer_add(buf, head, (size_t)n);
		if (ev->image != NULL && ev->image_len <= EVENT_IMAGE_KEEP_BYTES && !skip_image_data) {
			gchar *b64 = g_base64_encode(ev->image, ev->image_len);
			buffer_add(buf, ",\"data\":\"", 9);
			buffer_add(buf, b64, strlen(b64));
			buffer_add(buf, "\"", 1);
			g_free(b64);
		}
	}
	buffer_add(buf, "}\n", 2);
}

/* ---- loading ------------------------------------------------------------ */

static const char *string_field(const cJSON *o, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(f) ? f->valuestring : NULL;
}

/* An image record: its type and size, and its bytes when they were kept
 * (the caller frees ev->image with g_free). */
static int parse_image(const cJSON *o, struct event *ev)
{
	const char *mime = string_field(o, "mime"), *data = string_field(o, "data");
	const cJSON *width = cJSON_GetObjectItemCaseSensitive(o, "width");
	const cJSON *height = cJSON_GetObjectItemCaseSensitive(o, "height");
	if (mime == NULL || !cJSON_IsNumber(width) || !cJSON_IsNumber(height) ||
	    width->valueint < 1 || height->valueint < 1)
		return -EINVAL;
	/* The event points at static strings, as live ones do. */
	if (strcmp(mime, "image/png") == 0)
		ev->mime = "image/png";
	else if (strcmp(mime, "image/jpeg") == 0)
		ev->mime = "image/jpeg";
	else
		return -EINVAL;
	ev->width = width->valueint;
	ev->height = height->valueint;
	if (data != NULL) {
		gsize n = 0;
		ev->image = g_base64_decode(data, &n);
		ev->image_len = n;
		if (ev->image == NULL || n == 0) {
			g_free((void *)ev->image);
			ev->image = NULL;
			return -EINVAL;
		}
	}
	return 0;
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
	    ((ev->kind == EVENT_MESSAGE || ev->kind == EVENT_IMAGE) && text == NULL))
		return -EINVAL;
	if (ev->kind == EVENT_IMAGE && parse_image(o, ev) < 0)
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
		g_free((void *)ev.image);
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

static void finish_close(struct history_log *log)
{
	appender_close(&log->file, true);
	log->durable_id = log->file.written_mark;
}

static bool start_compaction(struct history_log *log);

/* The follow-up of a batch is over: compact if the file grew too big,
 * else let the next batch go. */
static void batch_done(struct history_log *log)
{
	if (!log->closing && log->max_bytes > 0 && log->file.file_bytes > log->max_bytes &&
	    start_compaction(log))
		return;
	if (log->closing) {
		log->file.busy = false;
		finish_close(log);
		return;
	}
	appender_done(&log->file);
}

static void on_synced(uv_fs_t *req)
{
	struct history_log *log = req->data;
	if (req->result < 0)
		log_error("history %s: sync failed: %s", log->file.path,
			  uv_strerror((int)req->result));
	uv_fs_req_cleanup(req);
	log->dirty = false;
	log->durable_id = log->file.written_mark;
	if (log->on_durable != NULL)
		log->on_durable(log, log->durable_id);
	batch_done(log);
}

static void start_sync(struct history_log *log)
{
	log->sync_req.data = log;
	if (uv_fs_fdatasync(log->file.loop, &log->sync_req, log->file.fd, on_synced) < 0)
		batch_done(log);
}

static void on_batch_written(struct appender *file)
{
	struct history_log *log = file->data;
	log->dirty = true;
	if (log->policy == HISTORY_FSYNC_ALWAYS)
		start_sync(log);
	else
		batch_done(log);
}

void history_kick(struct history_log *log)
{
	if (!log->closing)
		appender_kick(&log->file);
}

/* ---- compaction --------------------------------------------------------- */

static void compact_on_thread(uv_work_t *work)
{
	struct history_log *log = work->data;
	char tmp[sizeof(log->file.path) + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", log->file.path);
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
			break;
		}
		done += (size_t)n;
	}
	/* The new file replaces the old only once it is whole and on disk. */
	if (log->compact_error == 0 && (fdatasync(fd) < 0 || rename(tmp, log->file.path) < 0))
		log->compact_error = -errno;
	if (log->compact_error < 0) {
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
		log_error("history %s: compaction failed: %s", log->file.path,
			  uv_strerror(status < 0 ? status : log->compact_error));
		/* Not again before the file has grown by as much once more. */
		log->max_bytes = log->file.file_bytes * 2;
	} else {
		log_info("history %s: compacted from %zu to %zu bytes", log->file.path,
			 log->file.file_bytes, log->compact.len);
		appender_adopt(&log->file, log->compact_fd, log->compact.len);
	}
	buffer_free(&log->compact);
	log->dirty = false;
	batch_done(log);
}

static bool start_compaction(struct history_log *log)
{
	if (log->on_snapshot == NULL)
		return false;
	log->compact.len = 0;
	log->on_snapshot(log, log->file.written_mark);
	log->compact_work.data = log;
	return uv_queue_work(log->file.loop, &log->compact_work, compact_on_thread,
			     compact_done) == 0;
}

static void on_tick(uv_timer_t *timer)
{
	struct history_log *log = timer->data;
	if (log->file.failing) {
		appender_retry(&log->file);
		return;
	}
	if (log->policy == HISTORY_FSYNC_EVERYSEC && log->dirty && !log->file.busy) {
		log->file.busy = true; /* no batch starts while we sync */
		start_sync(log);
	}
}

int history_open(struct history_log *log, uv_loop_t *loop, const char *path,
		 enum history_fsync policy, size_t max_bytes, const char **cause)
{
	int rc = appender_open(&log->file, loop, path);
	if (rc < 0) {
		*cause = uv_strerror(rc);
		return rc;
	}
	log->file.on_written = on_batch_written;
	log->file.data = log;
	log->policy = policy;
	log->max_bytes = max_bytes;
	uv_timer_init(loop, &log->timer);
	log->timer.data = log;
	uv_timer_start(&log->timer, on_tick, HISTORY_TICK_MS, HISTORY_TICK_MS);
	return 0;
}

void history_append(struct history_log *log, const struct event *ev)
{
	if (log->file.fd < 0 || log->closing)
		return;
	size_t before = log->file.pending.len;
	history_serialise(&log->file.pending, ev, false);
	if (log->file.pending.len > before)
		log->file.pending_mark = ev->id;
}

void history_close(struct history_log *log)
{
	if (log->closing)
		return;
	log->closing = true;
	uv_close((uv_handle_t *)&log->timer, NULL);
	/* A batch under way finishes the close in batch_done. */
	if (!log->file.busy || log->file.failing)
		finish_close(log);
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
