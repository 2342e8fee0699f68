#include "web.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *web_output_dir(int *argc, char **argv)
{
	const char *dir = getenv("WEB_OUTPUT_DIR");
	for (int i = 1; i + 1 < *argc; i++) {
		if (strcmp(argv[i], "-o") == 0) {
			dir = argv[i + 1];
			memmove(&argv[i], &argv[i + 2], (size_t)(*argc - i - 1) * sizeof(*argv));
			*argc -= 2;
			break;
		}
	}
	return dir != NULL && dir[0] != '\0' ? dir : "/tmp";
}

void web_output_path(const char *dir, const char *url, char *out, size_t cap)
{
	const char *rest = strstr(url, "://");
	rest = rest ? rest + 3 : url;
	int n = snprintf(out, cap, "%s/web_", dir);
	for (size_t i = (size_t)n; *rest != '\0' && i + 1 < cap; rest++, i++) {
		out[i] = *rest == '/' ? '_' : *rest;
		out[i + 1] = '\0';
	}
}

int web_read_urls(const char *program, const char *file, char ***urls)
{
	FILE *f = fopen(file, "r");
	if (f == NULL) {
		fprintf(stderr, "%s: cannot read %s: %s\n", program, file, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int count = 0;
	*urls = NULL;
	while ((len = getline(&line, &cap, f)) >= 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
				   line[len - 1] == ' ' || line[len - 1] == '\t'))
			line[--len] = '\0';
		char *start = line;
		while (*start == ' ' || *start == '\t')
			start++;
		if (*start == '\0' || *start == '#')
			continue;
		char **grown = realloc(*urls, (size_t)(count + 1) * sizeof(**urls));
		if (grown == NULL)
			break;
		*urls = grown;
		(*urls)[count++] = strdup(start);
	}
	free(line);
	fclose(f);
	return count;
}

void web_free_urls(char **urls, int count)
{
	for (int i = 0; i < count; i++)
		free(urls[i]);
	free(urls);
}

void content_free(struct content *c)
{
	if (c != NULL)
		free(c->data);
	free(c);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct content *c = userdata;
	size_t n = size * nmemb;
	char *grown = realloc(c->data, c->len + n + 1);
	if (grown == NULL)
		return 0; /* curl reports a write error */
	c->data = grown;
	memcpy(c->data + c->len, ptr, n);
	c->len += n;
	c->data[c->len] = '\0';
	return n;
}

/* The options both ways share: follow redirects, fail on HTTP errors. */
static void set_options(CURL *easy, const char *url, struct content *c, char *err)
{
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(easy, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	err[0] = '\0';
}

static void describe(CURLcode rc, char *err)
{
	if (err[0] == '\0')
		snprintf(err, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
}

struct content *get_content(const char *url, char *err)
{
	struct content *c = calloc(1, sizeof(*c));
	CURL *easy = curl_easy_init();
	if (c == NULL || easy == NULL) {
		snprintf(err, CURL_ERROR_SIZE, "out of memory");
		curl_easy_cleanup(easy);
		free(c);
		return NULL;
	}
	set_options(easy, url, c, err);
	CURLcode rc = curl_easy_perform(easy);
	curl_easy_cleanup(easy);
	if (rc != CURLE_OK) {
		describe(rc, err);
		content_free(c);
		return NULL;
	}
	return c;
}

int write_content(const struct content *content, const char *file, char *err, size_t errlen)
{
	FILE *f = fopen(file, "wb");
	if (f == NULL || fwrite(content->data, 1, content->len, f) != content->len ||
	    fclose(f) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", file, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- libcurl's multi-socket API on the libuv loop ------------------------- */

struct fetcher {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timeout;
	fetch_done_cb done;
	int transfers;
	bool closing;
};

struct transfer {
	struct fetcher *fetcher;
	CURL *easy;
	char *url;
	void *data;
	struct content *content;
	char err[CURL_ERROR_SIZE];
};

/* One per socket curl watches; freed when its poll handle has closed. */
struct socket_watch {
	uv_poll_t poll;
	curl_socket_t fd;
	struct fetcher *fetcher;
};

const char *transfer_url(const struct transfer *t)
{
	return t->url;
}

void *transfer_data(const struct transfer *t)
{
	return t->data;
}

static void free_fetcher_if_done(struct fetcher *f);

static void report_finished(struct fetcher *f)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(f->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct transfer *t;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		CURLcode rc = msg->data.result;
		curl_multi_remove_handle(f->multi, t->easy);
		curl_easy_cleanup(t->easy);
		f->transfers--;
		if (rc == CURLE_OK) {
			f->done(t, t->content, NULL);
		} else {
			describe(rc, t->err);
			content_free(t->content);
			f->done(t, NULL, t->err);
		}
		free(t->url);
		free(t);
	}
	free_fetcher_if_done(f);
}

static void on_poll(uv_poll_t *handle, int status, int events)
{
	struct socket_watch *w = handle->data;
	int flags = 0;
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	int running;
	struct fetcher *f = w->fetcher;
	curl_multi_socket_action(f->multi, w->fd, flags, &running);
	report_finished(f);
}

static void on_watch_closed(uv_handle_t *handle)
{
	free(handle->data);
}

/* curl tells which sockets to watch, and for what. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	(void)easy;
	struct fetcher *f = userp;
	struct socket_watch *w = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (w != NULL) {
			uv_poll_stop(&w->poll);
			curl_multi_assign(f->multi, fd, NULL);
			uv_close((uv_handle_t *)&w->poll, on_watch_closed);
		}
		return 0;
	}
	if (w == NULL) {
		w = calloc(1, sizeof(*w));
		if (w == NULL)
			return -1;
		w->fd = fd;
		w->fetcher = f;
		uv_poll_init_socket(f->loop, &w->poll, fd);
		w->poll.data = w;
		curl_multi_assign(f->multi, fd, w);
	}
	int events = 0;
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	uv_poll_start(&w->poll, events, on_poll);
	return 0;
}

static void on_timeout(uv_timer_t *timer)
{
	struct fetcher *f = timer->data;
	int running;
	curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	report_finished(f);
}

/* curl tells when it next wants to be called without socket activity. */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	(void)multi;
	struct fetcher *f = userp;
	if (timeout_ms < 0)
		uv_timer_stop(&f->timeout);
	else
		uv_timer_start(&f->timeout, on_timeout, (uint64_t)timeout_ms, 0);
	return 0;
}

struct fetcher *fetcher_new(uv_loop_t *loop, fetch_done_cb done)
{
	struct fetcher *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	f->loop = loop;
	f->done = done;
	f->multi = curl_multi_init();
	uv_timer_init(loop, &f->timeout);
	f->timeout.data = f;
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
	return f;
}

int fetcher_add(struct fetcher *f, const char *url, void *data)
{
	struct transfer *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -1;
	t->fetcher = f;
	t->url = strdup(url);
	t->data = data;
	t->content = calloc(1, sizeof(*t->content));
	t->easy = curl_easy_init();
	set_options(t->easy, url, t->content, t->err);
	curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
	f->transfers++;
	curl_multi_add_handle(f->multi, t->easy);
	return 0;
}

static void on_timer_closed(uv_handle_t *handle)
{
	struct fetcher *f = handle->data;
	curl_multi_cleanup(f->multi);
	free(f);
}

static void free_fetcher_if_done(struct fetcher *f)
{
	if (f->closing && f->transfers == 0 && !uv_is_closing((uv_handle_t *)&f->timeout))
		uv_close((uv_handle_t *)&f->timeout, on_timer_closed);
}

void fetcher_close(struct fetcher *f)
{
	f->closing = true;
	free_fetcher_if_done(f);
}

/* ---- writing on the loop ---------------------------------------------------- */

struct file_write {
	uv_fs_t req;
	uv_file fd;
	struct content *content;
	char path[4096];
	char err[4200];
	void (*done)(void *data, const char *err);
	void *data;
};

static void write_finished(struct file_write *w, const char *err)
{
	w->done(w->data, err);
	content_free(w->content);
	free(w);
}

static void on_closed(uv_fs_t *req)
{
	struct file_write *w = req->data;
	int rc = (int)req->result;
	uv_fs_req_cleanup(req);
	if (rc < 0 && w->err[0] == '\0')
		snprintf(w->err, sizeof(w->err), "cannot write %s: %s", w->path, uv_strerror(rc));
	write_finished(w, w->err[0] ? w->err : NULL);
}

static void on_written(uv_fs_t *req)
{
	struct file_write *w = req->data;
	ssize_t rc = req->result;
	uv_fs_req_cleanup(req);
	if (rc < 0)
		snprintf(w->err, sizeof(w->err), "cannot write %s: %s", w->path,
			 uv_strerror((int)rc));
	uv_fs_close(req->loop, &w->req, w->fd, on_closed);
}

static void on_opened(uv_fs_t *req)
{
	struct file_write *w = req->data;
	int fd = (int)req->result;
	uv_fs_req_cleanup(req);
	if (fd < 0) {
		snprintf(w->err, sizeof(w->err), "cannot write %s: %s", w->path, uv_strerror(fd));
		write_finished(w, w->err);
		return;
	}
	w->fd = fd;
	uv_buf_t buf = uv_buf_init(w->content->data ? w->content->data : "",
				   (unsigned)w->content->len);
	uv_fs_write(req->loop, &w->req, fd, &buf, 1, 0, on_written);
}

int write_content_async(uv_loop_t *loop, struct content *content, const char *file,
			void (*done)(void *data, const char *err), void *data)
{
	struct file_write *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -1;
	w->content = content;
	w->done = done;
	w->data = data;
	w->req.data = w;
	snprintf(w->path, sizeof(w->path), "%s", file);
	return uv_fs_open(loop, &w->req, file, O_WRONLY | O_CREAT | O_TRUNC, 0644, on_opened);
}
