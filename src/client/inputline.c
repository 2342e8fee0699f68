#include "inputline.h"

#include <stdlib.h>
#include <string.h>

#include "textwidth.h"

void il_init(struct inputline *il)
{
	memset(il, 0, sizeof(*il));
}

void il_free(struct inputline *il)
{
	for (size_t i = 0; i < il->history_count; i++)
		free(il->history[i]);
	free(il->draft);
	il_init(il);
}

bool il_insert(struct inputline *il, const char *text, size_t len)
{
	if (il->len + len > sizeof(il->buf))
		return false;
	memmove(il->buf + il->cursor + len, il->buf + il->cursor, il->len - il->cursor);
	memcpy(il->buf + il->cursor, text, len);
	il->len += len;
	il->cursor += len;
	return true;
}

/* Offset of the cluster boundary before `at`. */
static size_t boundary_before(const struct inputline *il, size_t at)
{
	size_t i = 0, last = 0;
	while (i < at) {
		int w;
		last = i;
		i += tw_cluster(il->buf + i, il->len - i, &w);
	}
	return last;
}

static size_t boundary_after(const struct inputline *il, size_t at)
{
	if (at >= il->len)
		return il->len;
	int w;
	return at + tw_cluster(il->buf + at, il->len - at, &w);
}

static void cut(struct inputline *il, size_t from, size_t to)
{
	memmove(il->buf + from, il->buf + to, il->len - to);
	il->len -= to - from;
	il->cursor = from;
}

void il_backspace(struct inputline *il)
{
	if (il->cursor > 0)
		cut(il, boundary_before(il, il->cursor), il->cursor);
}

void il_delete(struct inputline *il)
{
	if (il->cursor < il->len) {
		size_t at = il->cursor;
		cut(il, at, boundary_after(il, at));
	}
}

void il_left(struct inputline *il)
{
	if (il->cursor > 0)
		il->cursor = boundary_before(il, il->cursor);
}

void il_right(struct inputline *il)
{
	il->cursor = boundary_after(il, il->cursor);
}

void il_home(struct inputline *il)
{
	il->cursor = 0;
}

void il_end(struct inputline *il)
{
	il->cursor = il->len;
}

void il_kill_line(struct inputline *il)
{
	il->len = il->cursor = 0;
}

void il_kill_word(struct inputline *il)
{
	size_t from = il->cursor;
	while (from > 0 && il->buf[from - 1] == ' ')
		from--;
	while (from > 0 && il->buf[from - 1] != ' ')
		from--;
	cut(il, from, il->cursor);
}

static void show(struct inputline *il, const char *text)
{
	size_t n = strlen(text);
	if (n > sizeof(il->buf))
		n = sizeof(il->buf);
	memcpy(il->buf, text, n);
	il->len = il->cursor = n;
}

void il_set(struct inputline *il, const char *text)
{
	show(il, text);
}

bool il_replace(struct inputline *il, size_t from, size_t to, const char *text, size_t len)
{
	if (from > to || to > il->len || il->len - (to - from) + len > sizeof(il->buf))
		return false;
	memmove(il->buf + from + len, il->buf + to, il->len - to);
	memcpy(il->buf + from, text, len);
	il->len = il->len - (to - from) + len;
	il->cursor = from + len;
	return true;
}

long il_search(const struct inputline *il, const char *query, size_t len, size_t before)
{
	if (before > il->history_count)
		before = il->history_count;
	for (size_t i = before; i-- > 0;)
		if (len == 0 || memmem(il->history[i], strlen(il->history[i]), query, len) != NULL)
			return (long)i;
	return -1;
}

void il_history_prev(struct inputline *il)
{
	if (il->browsing == 0)
		return;
	if (il->browsing == il->history_count) {
		free(il->draft);
		il->draft = strndup(il->buf, il->len);
	}
	show(il, il->history[--il->browsing]);
}

void il_history_next(struct inputline *il)
{
	if (il->browsing >= il->history_count)
		return;
	if (++il->browsing == il->history_count)
		show(il, il->draft ? il->draft : "");
	else
		show(il, il->history[il->browsing]);
}

size_t il_take(struct inputline *il, char *out, size_t cap)
{
	size_t n = il->len < cap - 1 ? il->len : cap - 1;
	memcpy(out, il->buf, n);
	out[n] = '\0';
	if (n > 0) {
		if (il->history_count == INPUTLINE_HISTORY) {
			free(il->history[0]);
			memmove(il->history, il->history + 1,
				(INPUTLINE_HISTORY - 1) * sizeof(il->history[0]));
			il->history_count--;
		}
		il->history[il->history_count++] = strndup(out, n);
	}
	il->browsing = il->history_count;
	free(il->draft);
	il->draft = NULL;
	il->len = il->cursor = 0;
	return n;
}

int il_cursor_cells(const struct inputline *il)
{
	return tw_width(il->buf, il->cursor);
}
