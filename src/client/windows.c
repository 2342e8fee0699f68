#include "windows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"

void windows_init(struct windows *ws, bool colour, bool ascii_pictures)
{
	memset(ws, 0, sizeof(*ws));
	ws->colour = colour;
	ws->ascii_pictures = ascii_pictures;
}

static void window_free(struct window *w, FILE *out, size_t keep)
{
	pane_free(&w->pane, out, keep);
	free(w);
}

void windows_free(struct windows *ws, FILE *out, size_t keep)
{
	for (size_t i = 0; i < ws->count; i++)
		window_free(ws->list[i], i == ws->current ? out : NULL, keep);
	ws->count = 0;
}

int windows_find(const struct windows *ws, enum window_kind kind, const char *name)
{
	for (size_t i = 0; i < ws->count; i++)
		if (ws->list[i]->kind == kind && strcmp(ws->list[i]->name, name) == 0)
			return (int)i;
	return -1;
}

int windows_open(struct windows *ws, enum window_kind kind, const char *name)
{
	int found = windows_find(ws, kind, name);
	if (found >= 0)
		return found;
	if (ws->count == WINDOWS_MAX)
		return -1;
	struct window *w = calloc(1, sizeof(*w));
	if (w == NULL || pane_init(&w->pane, ws->colour, ws->ascii_pictures) < 0) {
		free(w);
		return -1;
	}
	w->kind = kind;
	snprintf(w->name, sizeof(w->name), "%s", name);
	ws->list[ws->count] = w;
	return (int)ws->count++;
}

void windows_close(struct windows *ws, size_t i)
{
	if (i >= ws->count || ws->count == 1)
		return;
	window_free(ws->list[i], NULL, 0);
	memmove(&ws->list[i], &ws->list[i + 1], (ws->count - i - 1) * sizeof(ws->list[0]));
	ws->count--;
	if (ws->current > i || ws->current == ws->count)
		ws->current = ws->current > 0 ? ws->current - 1 : 0;
	ws->list[ws->current]->activity = WINDOW_SEEN;
}

void windows_clear(struct windows *ws, size_t i)
{
	if (i >= ws->count)
		return;
	struct window *w = ws->list[i];
	struct pane fresh;
	if (pane_init(&fresh, ws->colour, ws->ascii_pictures) < 0)
		return;
	pane_free(&w->pane, NULL, 0);
	w->pane = fresh;
	w->marked = false;
}

void windows_switch(struct windows *ws, size_t i)
{
	if (i >= ws->count)
		return;
	/* The one left: what comes next is unread, below a new marker. */
	ws->list[ws->current]->marked = false;
	ws->current = i;
	ws->list[i]->activity = WINDOW_SEEN;
	ws->list[i]->marked = false;
}

struct pane *windows_pane(struct windows *ws)
{
	return &ws->list[ws->current]->pane;
}

const struct window *windows_current(const struct windows *ws)
{
	return ws->list[ws->current];
}

bool windows_add(struct windows *ws, size_t i, const struct chat_line *line, const char *pseudo)
{
	if (i >= ws->count)
		return false;
	struct window *w = ws->list[i];
	bool away = i != ws->current;
	if (away && !w->marked && !line->history && w->pane.count > 0) {
		/* Where the user stopped reading. */
		pane_add_text(&w->pane, CHAT_INFO, _("──────── non lus ────────"));
		w->marked = true;
	}
	bool mention = pane_add(&w->pane, line, pseudo);
	if (!away || line->history)
		return mention;
	enum window_activity level = mention ? WINDOW_MENTION
				    : line->kind == CHAT_MESSAGE || line->kind == CHAT_IMAGE ||
						line->kind == CHAT_PRIVATE
					? WINDOW_TALK
					: WINDOW_NOTICE;
	if (level > w->activity)
		w->activity = level;
	return mention;
}

void windows_activity(const struct windows *ws, char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < ws->count && used + 16 < cap; i++) {
		const struct window *w = ws->list[i];
		if (w->activity == WINDOW_SEEN || w->activity == WINDOW_NOTICE)
			continue; /* arrivals and departures are not activity */
		int n = snprintf(buf + used, cap - used, "%s%zu%s", used == 0 ? " [Act: " : ",",
				 i + 1, w->activity == WINDOW_MENTION ? "*" : "");
		if (n > 0)
			used += (size_t)n;
	}
	if (used > 0 && used + 2 < cap)
		snprintf(buf + used, cap - used, "]");
}
