/*
 * web_async_multiple FILE: every URL of FILE at once, on one libuv loop;
 * each page is written, without blocking, as soon as it has arrived.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "web.h"

struct job {
	uv_loop_t *loop;
	char url[2048];
	char file[4096];
	int *failed;
};

static void on_written(void *data, const char *err)
{
	struct job *job = data;
	if (err != NULL) {
		fprintf(stderr, "web_async_multiple: %s: %s\n", job->url, err);
		(*job->failed)++;
	} else {
		printf("%s -> %s\n", job->url, job->file);
	}
}

static void on_downloaded(struct transfer *t, struct content *content, const char *err)
{
	struct job *job = transfer_data(t);
	if (content == NULL) {
		fprintf(stderr, "web_async_multiple: %s: %s\n", job->url, err);
		(*job->failed)++;
		return;
	}
	if (write_content_async(job->loop, content, job->file, on_written, job) < 0) {
		fprintf(stderr, "web_async_multiple: %s: cannot write %s\n", job->url, job->file);
		(*job->failed)++;
	}
}

int main(int argc, char **argv)
{
	const char *dir = web_output_dir(&argc, argv);
	if (argc != 2) {
		fprintf(stderr, "usage: web_async_multiple [-o DIR] FILE\n");
		return 2;
	}
	char **urls;
	int count = web_read_urls("web_async_multiple", argv[1], &urls);
	if (count < 0)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	uv_loop_t *loop = uv_default_loop();
	int failed = 0;
	struct job *jobs = calloc((size_t)count + 1, sizeof(*jobs));
	struct fetcher *f = fetcher_new(loop, on_downloaded);
	for (int i = 0; i < count; i++) {
		jobs[i] = (struct job){.loop = loop, .failed = &failed};
		snprintf(jobs[i].url, sizeof(jobs[i].url), "%s", urls[i]);
		web_output_path(dir, urls[i], jobs[i].file, sizeof(jobs[i].file));
		fetcher_add(f, urls[i], &jobs[i]);
	}
	fetcher_close(f);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	free(jobs);
	web_free_urls(urls, count);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
