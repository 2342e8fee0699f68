/*
 * web_async URL: the same download without ever blocking: libcurl's
 * multi-socket API runs on the libuv loop, and the page is written with
 * libuv's asynchronous file operations (C's aiohttp + aiofiles).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <uv.h>

#include "web.h"

struct job {
	uv_loop_t *loop;
	char file[4096];
	int status;
};

static void on_written(void *data, const char *err)
{
	struct job *job = data;
	if (err != NULL) {
		fprintf(stderr, "web_async: %s\n", err);
		job->status = 1;
	} else {
		printf("-> %s\n", job->file);
	}
}

static void on_downloaded(struct transfer *t, struct content *content, const char *err)
{
	struct job *job = transfer_data(t);
	if (content == NULL) {
		fprintf(stderr, "web_async: %s: %s\n", transfer_url(t), err);
		job->status = 1;
		return;
	}
	if (write_content_async(job->loop, content, job->file, on_written, job) < 0) {
		fprintf(stderr, "web_async: cannot write %s\n", job->file);
		job->status = 1;
	}
}

int main(int argc, char **argv)
{
	const char *dir = web_output_dir(&argc, argv);
	if (argc != 2) {
		fprintf(stderr, "usage: web_async [-o DIR] URL\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	uv_loop_t *loop = uv_default_loop();
	struct job job = {.loop = loop};
	snprintf(job.file, sizeof(job.file), "%s/web_page", dir);
	struct fetcher *f = fetcher_new(loop, on_downloaded);
	fetcher_add(f, argv[1], &job);
	fetcher_close(f);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	curl_global_cleanup();
	return job.status;
}
