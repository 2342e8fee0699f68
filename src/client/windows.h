/*
 * windows: the full-screen client's windows, as irssi's: one per room the
 * session is in, one for /search's results, and (later) one per private
 * conversation. Each has its own pane (pane.h), an activity level while
 * it is not shown (the status line's "[Act: 2,3*]", `*` for a line that
 * names us) and an unread marker: the first line that comes while it is
 * not shown is preceded by a marker line.
 *
 * Window 1 is the first one opened; closing one moves those after it down.
 * windows.c owns the windows and their panes; ui.c draws the current one
 * and switches on the user's keys.
 */
#ifndef CHATROOM_WINDOWS_H
#define CHATROOM_WINDOWS_H

#include <stdbool.h>
#include <stddef.h>

#include "chatline.h"
#include "pane.h"

enum window_kind {
	WINDOW_ROOM,    /* a room the session is in: name is the room */
	WINDOW_SEARCH,  /* /search's results */
	WINDOW_PRIVATE, /* a conversation with one person: name is the pseudo */
};

enum window_activity {
	WINDOW_SEEN,    /* nothing new, or it is shown */
	WINDOW_NOTICE,  /* arrivals, departures */
	WINDOW_TALK,    /* messages */
	WINDOW_MENTION, /* a message that names us */
};

#define WINDOWS_MAX 32

struct window {
	enum window_kind kind;
	char name[CHAT_ROOM_MAX];
	struct pane pane;
	enum window_activity activity;
	bool marked; /* its unread marker is there, below the lines read */
};

struct windows {
	struct window *list[WINDOWS_MAX];
	size_t count;
	size_t current; /* index into list (windows are numbered from 1) */
	bool colour, ascii_pictures;
};

void windows_init(struct windows *ws, bool colour, bool ascii_pictures);
/* Frees them; the current one's last `keep` lines printed to out first
 * (pane_free). */
void windows_free(struct windows *ws, FILE *out, size_t keep);

/* The index of that window, or -1. */
int windows_find(const struct windows *ws, enum window_kind kind, const char *name);
/* That window, opened at the end if missing; its index, or -1 when there
 * are WINDOWS_MAX already (or no memory). */
int windows_open(struct windows *ws, enum window_kind kind, const char *name);
/* Closes window i (not the last one left). */
void windows_close(struct windows *ws, size_t i);
/* Empties window i's pane. */
void windows_clear(struct windows *ws, size_t i);
/* Shows window i: its activity is seen, its marker will be placed anew. */
void windows_switch(struct windows *ws, size_t i);

struct pane *windows_pane(struct windows *ws);
const struct window *windows_current(const struct windows *ws);

/* A line into window i; pseudo is ours (mentions). True when it should
 * ring the bell (see pane_add). */
bool windows_add(struct windows *ws, size_t i, const struct chat_line *line, const char *pseudo);

/* " [Act: 2,3*]" for the windows with something new (none: ""), lowest
 * first as irssi lists them. */
void windows_activity(const struct windows *ws, char *buf, size_t cap);

#endif
