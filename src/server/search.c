#include "search.h"

#include <glib.h>
#include <string.h>

#include "event.h"
#include "room.h"

void search_query_free(struct search_query *q)
{
	g_strfreev(q->words);
	q->words = NULL;
	q->word_count = 0;
}

/* One "key:value" filter into dst (NUL-terminated); false when empty. */
static bool take_filter(const char *word, size_t len, size_t key_len, char *dst, size_t cap)
{
	size_t n = len - key_len;
	if (n == 0 || n >= cap)
		return false;
	memcpy(dst, word + key_len, n);
	dst[n] = '\0';
	return true;
}

enum search_parse search_parse(const char *text, size_t len, struct search_query *q)
{
	memset(q, 0, sizeof(*q));
	if (len > SEARCH_MAX_QUERY)
		return SEARCH_TOO_LONG;
	/* The words that are not filters, for GLib to fold. */
	char rest[SEARCH_MAX_QUERY + 1];
	size_t rest_len = 0;
	size_t i = 0;
	while (i < len) {
		while (i < len && (text[i] == ' ' || text[i] == '\t'))
			i++;
		size_t start = i;
		while (i < len && text[i] != ' ' && text[i] != '\t')
			i++;
		const char *word = text + start;
		size_t wlen = i - start;
		if (wlen == 0)
			break;
		if (wlen >= 5 && strncmp(word, "from:", 5) == 0) {
			char pseudo[TEXT_MAX_PSEUDO + 1];
			if (!take_filter(word, wlen, 5, pseudo, sizeof(pseudo)) ||
			    names_skeleton(pseudo, wlen - 5, q->from, sizeof(q->from)) < 0)
				return SEARCH_BAD_FROM;
		} else if (wlen >= 3 && strncmp(word, "in:", 3) == 0) {
			if (!take_filter(word, wlen, 3, q->in, sizeof(q->in)))
				return SEARCH_BAD_IN;
		} else {
			if (rest_len > 0)
				rest[rest_len++] = ' ';
			memcpy(rest + rest_len, word, wlen);
			rest_len += wlen;
		}
	}
	rest[rest_len] = '\0';
	if (!g_utf8_validate(rest, (gssize)rest_len, NULL))
		return SEARCH_EMPTY;
	q->words = g_str_tokenize_and_fold(rest, NULL, NULL);
	q->word_count = q->words != NULL ? g_strv_length(q->words) : 0;
	if (q->word_count == 0) {
		search_query_free(q);
		return SEARCH_EMPTY;
	}
	return SEARCH_OK;
}

/* Each query word starts one of the text's words (or of their ASCII
 * alternates: "ecole" finds "école"). */
bool search_match(const struct search_query *q, const struct event *ev, size_t *scanned)
{
	if (ev->kind != EVENT_MESSAGE || ev->text == NULL)
		return false;
	if (q->from[0] != '\0') {
		char skeleton[NAMES_SKELETON_MAX];
		if (ev->pseudo == NULL ||
		    names_skeleton(ev->pseudo, strlen(ev->pseudo), skeleton, sizeof(skeleton)) < 0 ||
		    strcmp(skeleton, q->from) != 0)
			return false;
	}
	*scanned += ev->text_len;
	char *text = g_strndup(ev->text, ev->text_len);
	char **ascii = NULL;
	char **tokens = g_str_tokenize_and_fold(text, NULL, &ascii);
	g_free(text);
	bool all = true;
	for (size_t w = 0; w < q->word_count && all; w++) {
		bool found = false;
		for (size_t t = 0; tokens != NULL && tokens[t] != NULL && !found; t++)
			found = g_str_has_prefix(tokens[t], q->words[w]);
		for (size_t t = 0; ascii != NULL && ascii[t] != NULL && !found; t++)
			found = g_str_has_prefix(ascii[t], q->words[w]);
		all = found;
	}
	g_strfreev(tokens);
	g_strfreev(ascii);
	return all;
}

size_t search_run(const struct search_query *q, const struct rooms *r,
		  struct room *const *rooms, const uint64_t *visible, size_t room_count,
		  struct event *out, size_t max, bool *cut)
{
	/* A cursor per room, from its newest event back: a merge by id, so
	 * the newest matches come first whichever room holds them. */
	size_t next[SEARCH_MAX_ROOMS];
	if (room_count > SEARCH_MAX_ROOMS)
		room_count = SEARCH_MAX_ROOMS;
	for (size_t i = 0; i < room_count; i++)
		next[i] = rooms[i]->recent_count;
	size_t n = 0, scanned = 0;
	*cut = false;
	for (;;) {
		uint64_t newest_id = 0;
		size_t from = room_count;
		for (size_t i = 0; i < room_count; i++) {
			/* Past what it may see: skipped. */
			while (next[i] > 0 && room_recent_id(r, rooms[i], next[i] - 1) > visible[i])
				next[i]--;
			if (next[i] == 0)
				continue;
			uint64_t id = room_recent_id(r, rooms[i], next[i] - 1);
			if (from == room_count || id > newest_id) {
				newest_id = id;
				from = i;
			}
		}
		if (from == room_count)
			break;
		if (scanned >= SEARCH_MAX_SCAN_BYTES) {
			*cut = true;
			break;
		}
		next[from]--;
		struct event newest;
		room_recent_event(r, rooms[from], next[from], &newest);
		if (search_match(q, &newest, &scanned)) {
			if (n == max) {
				*cut = true;
				break;
			}
			out[n++] = newest;
		}
	}
	return n;
}
