#include "names.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static int map(const char *name, size_t len, utf8proc_option_t options,
	       char *out, size_t cap, size_t *out_len)
{
	utf8proc_uint8_t *mapped = NULL;
	utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)name,
					  (utf8proc_ssize_t)len, &mapped, options);
	if (n < 0)
		return -EINVAL;
	int rc = 0;
	if ((size_t)n + 1 > cap)
		rc = -EINVAL;
	else
		memcpy(out, mapped, (size_t)n + 1);
	*out_len = (size_t)n;
	free(mapped);
	return rc;
}

int names_skeleton(const char *name, size_t len, char *out, size_t cap)
{
	size_t n;
	return map(name, len,
		   UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
		   UTF8PROC_CASEFOLD | UTF8PROC_IGNORE | UTF8PROC_STRIPMARK,
		   out, cap, &n);
}

bool names_has_invisible(const char *name, size_t len)
{
	char kept[NAMES_SKELETON_MAX], stripped[NAMES_SKELETON_MAX];
	size_t kept_len, stripped_len;
	/* Decomposed both ways so that only the ignorables differ. */
	if (map(name, len, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE, kept,
		sizeof(kept), &kept_len) < 0 ||
	    map(name, len, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_IGNORE,
		stripped, sizeof(stripped), &stripped_len) < 0)
		return true; /* cannot tell: refuse */
	return kept_len != stripped_len;
}
