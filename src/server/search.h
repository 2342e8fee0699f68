/*
 * search: /search [from:PSEUDO] [in:SALON] WORDS over the rooms' recent
 * history (room.h's rings), without I/O.
 *
 * A query is parsed once (search_parse): the filters, and its words
 * tokenised and folded by GLib (g_str_tokenize_and_fold: case and accents
 * do not count). A message matches when each word starts one of its
 * words, as GLib's g_str_match_string does. Pseudos match by skeleton
 * (names.h), so look-alikes are one.
 *
 * Bounded: at most SEARCH_MAX_RESULTS events, newest first, and at most
 * SEARCH_MAX_SCAN_BYTES of text folded per search, whatever the history
 * holds: what was not reached counts as "cut", like results past the cap.
 *
 * Ownership: struct search_query owns its folded words (search_query_free);
 * the results point into the rings and are valid until the rooms change
 * (the caller sends them at once).
 */
#ifndef CHATROOM_SEARCH_H
#define CHATROOM_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "names.h"
#include "textproto.h"

struct event;
struct room;
struct rooms;

#define SEARCH_MAX_RESULTS 50
#define SEARCH_MAX_SCAN_BYTES (1024u * 1024)
/* Rooms one search looks through: --max-rooms-per-peer's own bound. */
#define SEARCH_MAX_ROOMS 256
/* A query longer than this is refused (wire.h's WIRE_MAX_QUERY agrees). */
#define SEARCH_MAX_QUERY 512

struct search_query {
	char from[NAMES_SKELETON_MAX]; /* skeleton of from:, or "" */
	char in[TEXT_MAX_ROOM + 1];    /* in:, as typed, or "" */
	char **words;                  /* folded (g_strfreev), NULL-terminated */
	size_t word_count;
};

enum search_parse {
	SEARCH_OK,
	SEARCH_EMPTY,    /* no word to look for */
	SEARCH_BAD_FROM, /* from: names no possible pseudo */
	SEARCH_BAD_IN,   /* in: names no possible room */
	SEARCH_TOO_LONG,
};

/* Parses "from:x in:y words…" (filters anywhere, once each: the last
 * one counts). */
enum search_parse search_parse(const char *text, size_t len, struct search_query *q);
void search_query_free(struct search_query *q);

/* True when ev (a message) matches q. Adds the bytes folded to *scanned. */
bool search_match(const struct search_query *q, const struct event *ev, size_t *scanned);

/* Looks through rooms[0..room_count), each up to visible[i], newest first
 * across rooms; fills out (at most max) and sets *cut when more may have
 * matched. Returns how many. */
size_t search_run(const struct search_query *q, const struct rooms *r,
		  struct room *const *rooms, const uint64_t *visible, size_t room_count,
		  struct event *out, size_t max, bool *cut);

#endif
