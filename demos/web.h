/*
 * web: what the Part I download demos share: the list of URLs, the name
 * each page is saved under, a blocking download and write (libcurl's easy
 * API, plain stdio) and a non-blocking one (libcurl's multi-socket API
 * driven by a libuv loop, files written with libuv's file operations).
 */
#ifndef DEMOS_WEB_H
#define DEMOS_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct content {
	char *data;
	size_t len;
};

/* Where pages go: -o DIR, else $WEB_OUTPUT_DIR, else /tmp. */
const char *web_output_dir(int *argc, char **argv);

/* "<dir>/web_<URL without its scheme, '/' made '_'>". */
void web_output_path(const char *dir, const char *url, char *out, size_t cap);

/* Reads a file of URLs, one a line; blank lines and '#' comments are
 * skipped. Returns the count (urls owned by the caller: web_free_urls),
 * or -1 with a message printed. */
int web_read_urls(const char *program, const char *file, char ***urls);
void web_free_urls(char **urls, int count);

/* ---- blocking ------------------------------------------------------------ */

/* The page's body, or NULL with a reason in err (CURL_ERROR_SIZE bytes). */
struct content *get_content(const char *url, char *err);
/* 0, or -1 with a reason in err. */
int write_content(const struct content *content, const char *file, char *err, size_t errlen);
void content_free(struct content *c);

/* ---- on the loop ------------------------------------------------------------ */

struct fetcher;
struct transfer;

/* Called once per URL: content NULL and err set on failure. */
typedef void (*fetch_done_cb)(struct transfer *t, struct content *content,
			      const char *err);

struct fetcher *fetcher_new(uv_loop_t *loop, fetch_done_cb done);
/* Starts one download; several run at once. 0 or -1. */
int fetcher_add(struct fetcher *f, const char *url, void *data);
/* Frees the fetcher once every download has ended (from a done callback
 * or after the loop has run dry). */
void fetcher_close(struct fetcher *f);
const char *transfer_url(const struct transfer *t);
void *transfer_data(const struct transfer *t);

/* Writes content to file without blocking the loop, then calls done with
 * NULL or an error text. The content is freed here. */
int write_content_async(uv_loop_t *loop, struct content *content, const char *file,
			void (*done)(void *data, const char *err), void *data);

#endif
