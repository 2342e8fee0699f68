/*
 * The browser protocol's message decoder (src/server/jsonmsg.c) on
 * arbitrary bytes: it must never read out of bounds, loop or leak; a
 * message it takes has a string type, and every field it hands out is a
 * string of the length it says or an id within JSON's exact integers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonmsg.h"

static const char *const fields[] = {"type", "text", "pseudo", "room", "token", "line", "data"};
static const char *const ids[] = {"after", "before", "text"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jsonmsg m;
	if (jsonmsg_parse(&m, (const char *)data, size) < 0) {
		if (m.root != NULL || m.type != NULL)
			abort();
		return 0;
	}
	if (m.type == NULL)
		abort();
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		size_t len = SIZE_MAX;
		const char *s = jsonmsg_text(&m, fields[i], &len);
		if (s != NULL && (len == SIZE_MAX || strlen(s) != len))
			abort();
	}
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (jsonmsg_id(&m, ids[i]) > JSONMSG_MAX_ID)
			abort();
	jsonmsg_free(&m);
	return 0;
}
