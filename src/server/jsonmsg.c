#include "jsonmsg.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <string.h>

int jsonmsg_parse(struct jsonmsg *m, const char *bytes, size_t len)
{
	m->root = cJSON_ParseWithLength(bytes, len);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(m->root, "type");
	if (!cJSON_IsObject(m->root) || !cJSON_IsString(t)) {
		cJSON_Delete(m->root);
		m->root = NULL;
		m->type = NULL;
		return -EINVAL;
	}
	m->type = t->valuestring;
	return 0;
}

void jsonmsg_free(struct jsonmsg *m)
{
	cJSON_Delete(m->root);
	m->root = NULL;
	m->type = NULL;
}

const char *jsonmsg_text(const struct jsonmsg *m, const char *name, size_t *len)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(m->root, name);
	if (!cJSON_IsString(f))
		return NULL;
	/* A "\u0000" ends the string here: what follows it is not seen. */
	*len = strlen(f->valuestring);
	return f->valuestring;
}

uint64_t jsonmsg_id(const struct jsonmsg *m, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(m->root, name);
	if (!cJSON_IsNumber(f))
		return 0;
	double v = f->valuedouble;
	if (!isfinite(v) || v < 0 || v > (double)JSONMSG_MAX_ID || (double)(uint64_t)v != v)
		return 0;
	return (uint64_t)v;
}
