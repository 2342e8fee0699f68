#include "history.h"

#include <cJSON.h>
#include <errno.h>
#include <glib.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "sanitize.h"
#include "textproto.h"
#include "wire.h"

/* Retry a failed write (disk full, I/O error) and sync everysec this often. */
#define HISTORY_TICK_MS 1000


void history_serialise(struct buffer *buf, const struct event *ev, bool skip_image_data)
{
	event_json(buf, ev, skip_image_data ? 0 : EVENT_IMAGE_KEEP_BYTES);
}

/* ---- loading ------------------------------------------------------------ */

/* JSON numbers are doubles: an ID stays within their 53 exact bits. */
#define HISTORY_MAX_ID 9007199254740991.0
/* 9999-12-31T23:59:59.999Z, in milliseconds since the epoch. */
#define HISTORY_MAX_TIME_MS 253402300799999.0
/* The longest text a live event can hold: a binary peer's message, grown
 * by sanitising. */
#define HISTORY_MAX_TEXT SANITIZE_BOUND(WIRE_MAX_TEXT)

static const char *string_field(const cJSON *o, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(f) ? f->valuestring : NULL;
}

/* A whole number within [min, max], checked before any cast: a file may
 * say 1e300 or -5 where an ID belongs. */
static bool integer_field(const cJSON *o, const char *name, double min, double max,
			  double *out)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!cJSON_IsNumber(f))
		return false;
	double v = f->valuedouble;
	/* In range first: only then is the cast defined. */
	if (!isfinite(v) || v < min || v > max || (double)(int64_t)v != v)
		return false;
	*out = v;
	return true;
}

/* An anonymous text peer's label, "{IP}:{Port}" as conn.c writes it. */
static bool is_address_label(const char *label)
{
	const char *colon = strrchr(label, ':');
	if (colon == NULL || colon == label || colon - label >= 46)
		return false;
	char ip[46];
	memcpy(ip, label, (size_t)(colon - label));
	ip[colon - label] = '\0';
	unsigned char addr[16];
	if (uv_inet_pton(AF_INET, ip, addr) != 0 && uv_inet_pton(AF_INET6, ip, addr) != 0)
		return false;
	const char *port = colon + 1;
	size_t digits = strspn(port, "0123456789");
	if (digits == 0 || digits > 5 || port[digits] != '\0')
		return false;
	long value = strtol(port, NULL, 10);
	return value >= 1 && value <= 65535;
}

/* An image record: its type and size, and its bytes when they were kept
 * (the caller frees ev->image with g_free). The size is within what a
 * live picture may have, and kept bytes are a picture of that type and
 * size. */
static const char *parse_image(const cJSON *o, struct event *ev)
{
	const char *mime = string_field(o, "mime"), *data = string_field(o, "data");
	double width, height;
	if (mime == NULL || !integer_field(o, "width", 1, IMAGE_MAX_SIDE, &width) ||
	    !integer_field(o, "height", 1, IMAGE_MAX_SIDE, &height) ||
	    width * height > IMAGE_MAX_PIXELS)
		return "bad picture size";
	/* The event points at static strings, as live ones do. */
	if (strcmp(mime, "image/png") == 0)
		ev->mime = "image/png";
	else if (strcmp(mime, "image/jpeg") == 0)
		ev->mime = "image/jpeg";
	else
		return "bad picture type";
	ev->width = (int)width;
	ev->height = (int)height;
	if (data == NULL)
		return NULL;
	gsize n = 0;
	ev->image = g_base64_decode(data, &n);
	ev->image_len = n;
	struct image_info info;
	const char *cause;
	if (ev->image == NULL || n == 0 ||
	    image_check(ev->image, n, EVENT_IMAGE_KEEP_BYTES, &info, &cause) < 0 ||
	    strcmp(info.mime, ev->mime) != 0 || info.width != ev->width ||
	    info.height != ev->height)
		return "the picture's bytes do not match the record";
	return NULL;
}

/* The text, sanitised as a live message is, into a malloc'd *clean. */
static const char *parse_text(const char *text, struct event *ev, char **clean)
{
	size_t len = strlen(text);
	if (len > HISTORY_MAX_TEXT)
		return "text too long";
	*clean = malloc(SANITIZE_BOUND(len) + 1);
	if (*clean == NULL)
		return "out of memory";
	ev->text_len = sanitize_text(text, len, *clean, SANITIZE_BOUND(len),
				     SANITIZE_KEEP_NEWLINES);
	(*clean)[ev->text_len] = '\0';
	ev->text = *clean;
	return NULL;
}

/* NULL and *ev filled, or why the line is no record. *root and *clean
 * (the sanitised text) are the caller's to free either way. */
static const char *parse_record(const char *line, size_t len, double min_id, cJSON **root,
				char **clean, struct event *ev)
{
	memset(ev, 0, sizeof(*ev));
	*clean = NULL;
	cJSON *o = cJSON_ParseWithLength(line, len);
	*root = o;
	if (o == NULL)
		return "not JSON";
	const char *room = string_field(o, "room"), *kind = string_field(o, "kind");
	const char *pseudo = string_field(o, "pseudo"), *text = string_field(o, "text");
	const char *cause;
	double id, time, user = 0, colour = -1;
	if (!integer_field(o, "id", min_id, HISTORY_MAX_ID, &id))
		return "bad id";
	if (!integer_field(o, "time", 0, HISTORY_MAX_TIME_MS, &time))
		return "bad time";
	if (cJSON_GetObjectItemCaseSensitive(o, "user") != NULL &&
	    !integer_field(o, "user", 0, HISTORY_MAX_ID, &user))
		return "bad user id";
	if (cJSON_GetObjectItemCaseSensitive(o, "colour") != NULL &&
	    !integer_field(o, "colour", -1, 255, &colour))
		return "bad colour";
	if (kind == NULL || event_kind_from_name(kind, &ev->kind) < 0)
		return "bad kind";
	if (room == NULL || textproto_check_room(room, strlen(room), &cause) < 0)
		return "bad room name";
	if (pseudo == NULL || (textproto_check_pseudo(pseudo, strlen(pseudo), &cause) < 0 &&
			       !is_address_label(pseudo)))
		return "bad pseudo";
	ev->id = (uint64_t)id;
	ev->time_ms = (int64_t)time;
	ev->sender_id = (uint64_t)user;
	ev->colour = (int)colour;
	ev->room = room;
	ev->pseudo = pseudo;
	ev->text = "";
	if (event_keeps_text(ev)) {
		if (text == NULL)
			return "no text";
		if ((cause = parse_text(text, ev, clean)) != NULL)
			return cause;
	}
	if (ev->kind == EVENT_IMAGE)
		return parse_image(o, ev);
	return NULL;
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
		char *clean;
		struct event ev;
		const char *why = parse_record(line, (size_t)len - 1, 1, &root, &clean, &ev);
		if (why != NULL) {
			skipped++;
			log_warn("history %s: line %u is not a valid record, skipped (%s)",
				 path, lineno, why);
		} else {
			if (ev.id > *last_id)
				*last_id = ev.id;
			on_event(data, &ev);
		}
		g_free((void *)ev.image);
		free(clean);
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

const char *history_parse(const char *record, size_t len,
			  void (*on_event)(void *data, struct event *ev), void *data)
{
	cJSON *root;
	char *clean;
	struct event ev;
	const char *why = parse_record(record, len, 0, &root, &clean, &ev);
	if (why == NULL)
		on_event(data, &ev);
	g_free((void *)ev.image);
	free(clean);
	cJSON_Delete(root);
	return why;
}

/* ---- writing ------------------------------------------------------------ */

static void finish_close(struct history_log *log)
{
	appender_close(&log->file, true);
	log->durable_id = log->file.written_mark;
}

static bool start_compaction(struct history_log *log);

/* The next batch may go (or the close may end). */
static void next_batch(struct history_log *log)
{
	if (log->closing) {
		finish_close(log);
		return;
	}
	appender_done(&log->file);
}

/* The follow-up of a batch is over: compact if the file grew too big,
 * else let the next batch go. */
static void batch_done(struct history_log *log)
{
	if (!log->closing && log->max_bytes > 0 && log->file.file_bytes > log->compact_at &&
	    start_compaction(log))
		return;
	next_batch(log);
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
	/* A name nobody else made: mkostemp creates it with O_CREAT|O_EXCL,
	 * which never follows a link, so one planted in a shared directory is
	 * neither followed nor truncated. */
	char tmp[sizeof(log->file.path) + 8];
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", log->file.path);
	log->compact_error = 0;
	int fd = mkostemp(tmp, O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		log->compact_error = -errno;
		return;
	}
	if (fchmod(fd, log->compact_mode) < 0)
		log->compact_error = -errno;
	size_t done = 0;
	while (log->compact_error == 0 && done < log->compact.len) {
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
	size_t grown;
	if (status < 0 || log->compact_error < 0) {
		log_error("history %s: compaction failed: %s", log->file.path,
			  uv_strerror(status < 0 ? status : log->compact_error));
		/* Not again before the file has grown by as much once more. */
		grown = log->file.file_bytes;
	} else {
		log_info("history %s: compacted from %zu to %zu bytes", log->file.path,
			 log->file.file_bytes, log->compact.len);
		appender_adopt(&log->file, log->compact_fd, log->compact.len);
		grown = log->compact.len;
		if (grown > log->max_bytes)
			log_warn("history %s: the rooms remember %zu bytes, more than the %zu "
				 "of --history-max-bytes; next compaction past twice that",
				 log->file.path, grown, log->max_bytes);
	}
	/* Past the limit with what the rooms remember, a rewrite would still
	 * be too big: the next waits until the file has doubled, so rewriting
	 * never costs more than the appends did. */
	log->compact_at = grown > SIZE_MAX / 2 ? SIZE_MAX : 2 * grown;
	if (log->compact_at < log->max_bytes)
		log->compact_at = log->max_bytes;
	buffer_free(&log->compact);
	log->dirty = false;
	/* Never a compaction from here: the batch waiting behind this one goes. */
	next_batch(log);
}

static bool start_compaction(struct history_log *log)
{
	if (log->on_snapshot == NULL)
		return false;
	/* The new file gets the old one's permissions (0640 at most). */
	struct stat st;
	log->compact_mode = fstat(log->file.fd, &st) == 0 ? (st.st_mode & APPENDER_FILE_MODE)
							  : APPENDER_FILE_MODE;
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
	/* No batch starts while we sync. */
	if (log->policy == HISTORY_FSYNC_EVERYSEC && log->dirty && appender_hold(&log->file))
		start_sync(log);
}

static void dir_of(const char *path, char *dir, size_t len)
{
	snprintf(dir, len, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, len, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
}

/* Others who may write to the directory may replace the file: said, not
 * refused (a shared /tmp is the user's choice, and the compaction's own
 * file is safe from them either way). */
static void warn_if_shared(const char *path)
{
	char dir[4096];
	dir_of(path, dir, sizeof(dir));
	struct stat st;
	if (stat(dir, &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)))
		log_warn("history %s: its directory %s may be written by others than its "
			 "owner, who could replace the file", path, dir);
}

void history_check_dir(const struct history_log *log)
{
	char dir[4096];
	dir_of(log->file.path, dir, sizeof(dir));
	if (access(dir, W_OK | X_OK) != 0)
		log_warn("history %s: this user may not write in %s, so compactions will "
			 "fail: %s", log->file.path, dir, strerror(errno));
}

void history_loaded_up_to(struct history_log *log, uint64_t last_id)
{
	log->durable_id = last_id;
	appender_set_written(&log->file, last_id);
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
	log->compact_at = max_bytes;
	warn_if_shared(path);
	uv_timer_init(loop, &log->timer);
	log->timer.data = log;
	uv_timer_start(&log->timer, on_tick, HISTORY_TICK_MS, HISTORY_TICK_MS);
	return 0;
}

void history_append(struct history_log *log, const struct event *ev)
{
	if (log->file.fd < 0 || log->closing)
		return;
	struct buffer *batch = appender_next_batch(&log->file);
	size_t before = batch->len;
	history_serialise(batch, ev, false);
	if (batch->len > before)
		appender_mark(&log->file, ev->id);
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
