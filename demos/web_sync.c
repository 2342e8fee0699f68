/*
 * web_sync URL: downloads a page with a blocking HTTP GET (libcurl's easy
 * API) and writes it to /tmp/web_page (-o DIR or $WEB_OUTPUT_DIR moves it).
 */
#include <curl/curl.h>
#include <stdio.h>

#include "web.h"

int main(int argc, char **argv)
{
	const char *dir = web_output_dir(&argc, argv);
	if (argc != 2) {
		fprintf(stderr, "usage: web_sync [-o DIR] URL\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	char err[CURL_ERROR_SIZE], file[4096];
	snprintf(file, sizeof(file), "%s/web_page", dir);
	int status = 0;
	struct content *content = get_content(argv[1], err);
	if (content == NULL || write_content(content, file, err, sizeof(err)) < 0) {
		fprintf(stderr, "web_sync: %s: %s\n", argv[1], err);
		status = 1;
	} else {
		printf("%s -> %s (%zu bytes)\n", argv[1], file, content->len);
	}
	content_free(content);
	curl_global_cleanup();
	return status;
}
