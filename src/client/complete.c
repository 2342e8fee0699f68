#include "complete.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct complete_name *find(struct complete_names *c, const char *name, size_t len)
{
	for (size_t i = 0; i < c->count; i++)
		if (strlen(c->names[i].name) == len && memcmp(c->names[i].name, name, len) == 0)
			return &c->names[i];
	return NULL;
}

void complete_heard(struct complete_names *c, const char *name, size_t len, bool spoke)
{
	if (len == 0 || len > TEXT_MAX_PSEUDO)
		return;
	struct complete_name *n = find(c, name, len);
	if (n == NULL) {
		if (c->count < COMPLETE_NAMES) {
			n = &c->names[c->count++];
		} else {
			/* Full: the one heard of least recently makes way. */
			n = &c->names[0];
			for (size_t i = 1; i < c->count; i++)
				if (c->names[i].seen < n->seen)
					n = &c->names[i];
		}
		memset(n, 0, sizeof(*n));
		memcpy(n->name, name, len);
	}
	n->seen = ++c->clock;
	if (spoke)
		n->spoke = n->seen;
}

void complete_forget(struct complete_names *c, const char *name, size_t len)
{
	struct complete_name *n = find(c, name, len);
	if (n != NULL)
		*n = c->names[--c->count];
}

void complete_clear(struct complete_names *c)
{
	c->count = 0;
}

void complete_word_at(const char *line, size_t cursor, struct complete_word *w)
{
	size_t start = cursor;
	while (start > 0 && line[start - 1] != ' ')
		start--;
	size_t first = 0;
	while (first < cursor && line[first] == ' ')
		first++;
	w->start = start;
	w->len = cursor - start;
	w->line_start = start == first;
	w->command = w->line_start && w->len > 0 && line[start] == '/';
}

/* Speakers first, the most recent first; then the others, by when seen. */
static int by_recency(const void *a, const void *b)
{
	const struct complete_name *x = *(const struct complete_name *const *)a;
	const struct complete_name *y = *(const struct complete_name *const *)b;
	if (x->spoke != y->spoke)
		return x->spoke > y->spoke ? -1 : 1;
	return x->seen > y->seen ? -1 : x->seen < y->seen;
}

size_t complete_candidates(const struct complete_names *c, const char *const *commands,
			   size_t command_count, const char *prefix, size_t prefix_len,
			   bool command, const char **out, size_t max)
{
	size_t n = 0;
	if (command) {
		/* "/jo": the slash is not part of the names. */
		prefix++, prefix_len--;
		for (size_t i = 0; i < command_count && n < max; i++)
			if (strlen(commands[i]) >= prefix_len &&
			    strncasecmp(commands[i], prefix, prefix_len) == 0)
				out[n++] = commands[i];
		return n;
	}
	if (prefix_len == 0)
		return 0;
	const struct complete_name *sorted[COMPLETE_NAMES];
	size_t count = 0;
	for (size_t i = 0; i < c->count; i++)
		if (strlen(c->names[i].name) >= prefix_len &&
		    strncasecmp(c->names[i].name, prefix, prefix_len) == 0)
			sorted[count++] = &c->names[i];
	qsort(sorted, count, sizeof(sorted[0]), by_recency);
	for (size_t i = 0; i < count && n < max; i++)
		out[n++] = sorted[i]->name;
	return n;
}

size_t complete_text(const char *candidate, const struct complete_word *w, char *out,
		     size_t cap)
{
	int n = snprintf(out, cap, "%s%s%s", w->command ? "/" : "", candidate,
			 w->command ? " " : w->line_start ? ": " : " ");
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}
