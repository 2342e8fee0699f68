/*
 * web_sync_multiple FILE: downloads each URL of FILE (one a line) in turn,
 * blocking, into /tmp/web_<URL without scheme, '/' made '_'>.
 */
#include <curl/curl.h>
#include <stdio.h>

#include "web.h"

int main(int argc, char **argv)
{
	const char *dir = web_output_dir(&argc, argv);
	if (argc != 2) {
		fprintf(stderr, "usage: web_sync_multiple [-o DIR] FILE\n");
		return 2;
	}
	char **urls;
	int count = web_read_urls("web_sync_multiple", argv[1], &urls);
	if (count < 0)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int failed = 0;
	for (int i = 0; i < count; i++) {
		char err[CURL_ERROR_SIZE + 4200], file[4096];
		web_output_path(dir, urls[i], file, sizeof(file));
		struct content *content = get_content(urls[i], err);
		if (content == NULL || write_content(content, file, err, sizeof(err)) < 0) {
			fprintf(stderr, "web_sync_multiple: %s: %s\n", urls[i], err);
			failed++;
		} else {
			printf("%s -> %s\n", urls[i], file);
		}
		content_free(content);
	}
	web_free_urls(urls, count);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
