/* /search (src/server/search.c): the query's filters and words, matching
 * at the start of words without case or accents, newest first across
 * rooms, and the caps on results and on text read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "event.h"
#include "room.h"
#include "search.h"

static struct room *make(struct rooms *r, const char *name)
{
	struct room *room = NULL;
	assert_int_equal(rooms_make(r, name, strlen(name), 0, 100, 1000, &room), 0);
	return room;
}

static void say(struct rooms *r, struct room *room, uint64_t id, const char *pseudo,
		const char *text)
{
	struct event ev = {.kind = EVENT_MESSAGE, .id = id, .pseudo = pseudo, .room = room->name,
			   .text = text, .text_len = strlen(text)};
	assert_int_equal(room_remember(r, room, &ev, 0), 0);
}

static void filters_and_words_are_parsed(void **state)
{
	(void)state;
	struct search_query q;
	assert_int_equal(search_parse("from:Alice in:jeux Rendez  ÉCOLE", 33, &q), SEARCH_OK);
	assert_string_equal(q.in, "jeux");
	assert_true(q.from[0] != '\0');
	assert_int_equal(q.word_count, 2);
	assert_string_equal(q.words[0], "rendez");
	assert_string_equal(q.words[1], "école");
	search_query_free(&q);
	assert_int_equal(search_parse("from:bob", 8, &q), SEARCH_EMPTY);
	assert_int_equal(search_parse("from: x", 7, &q), SEARCH_BAD_FROM);
	assert_int_equal(search_parse("in: x", 5, &q), SEARCH_BAD_IN);
	assert_int_equal(search_parse("   ", 3, &q), SEARCH_EMPTY);
	char big[SEARCH_MAX_QUERY + 2];
	memset(big, 'a', sizeof(big));
	assert_int_equal(search_parse(big, sizeof(big), &q), SEARCH_TOO_LONG);
}

static bool matches(const char *query, const char *pseudo, const char *text)
{
	struct search_query q;
	assert_int_equal(search_parse(query, strlen(query), &q), SEARCH_OK);
	struct event ev = {.kind = EVENT_MESSAGE, .pseudo = pseudo, .text = text,
			   .text_len = strlen(text)};
	size_t scanned = 0;
	bool yes = search_match(&q, &ev, &scanned);
	search_query_free(&q);
	return yes;
}

static void words_match_at_their_start_without_case_or_accents(void **state)
{
	(void)state;
	assert_true(matches("ecole", "a", "à l'École demain"));
	assert_true(matches("RENDEZ vous", "a", "rendez-vous"));
	assert_false(matches("endez", "a", "rendez-vous"));
	assert_false(matches("rendez cinema", "a", "rendez-vous"));
	assert_true(matches("from:ALICE salut", "alice", "salut"));
	assert_false(matches("from:bob salut", "alice", "salut"));
	struct search_query q;
	assert_int_equal(search_parse("x", 1, &q), SEARCH_OK);
	struct event join = {.kind = EVENT_JOIN, .pseudo = "x", .text = "x", .text_len = 1};
	size_t scanned = 0;
	assert_false(search_match(&q, &join, &scanned)); /* messages only */
	search_query_free(&q);
}

static void newest_first_across_rooms_and_capped(void **state)
{
	(void)state;
	struct rooms r;
	assert_int_equal(rooms_init(&r, 100, 10), 0);
	struct room *a = r.default_room, *b = make(&r, "jeux");
	say(&r, a, 1, "x", "carte un");
	say(&r, b, 2, "x", "carte deux");
	say(&r, a, 3, "x", "rien");
	say(&r, a, 4, "x", "carte quatre");
	say(&r, b, 5, "x", "carte cinq");
	struct room *rooms[] = {a, b};
	uint64_t visible[] = {UINT64_MAX, 4}; /* b's event 5 is not to be seen */
	struct search_query q;
	assert_int_equal(search_parse("carte", 5, &q), SEARCH_OK);
	struct event out[3];
	bool cut;
	size_t n = search_run(&q, &r, rooms, visible, 2, out, 3, &cut);
	assert_int_equal(n, 3);
	assert_false(cut);
	assert_int_equal(out[0].id, 4);
	assert_int_equal(out[1].id, 2);
	assert_int_equal(out[2].id, 1);
	n = search_run(&q, &r, rooms, visible, 2, out, 2, &cut);
	assert_int_equal(n, 2);
	assert_true(cut); /* "carte un" was left */
	visible[1] = UINT64_MAX;
	struct event all[8];
	n = search_run(&q, &r, rooms, visible, 2, all, 8, &cut);
	assert_int_equal(n, 4);
	assert_false(cut);
	assert_int_equal(all[0].id, 5);
	search_query_free(&q);
	rooms_free(&r);
}

static void the_text_read_is_bounded(void **state)
{
	(void)state;
	struct rooms r;
	size_t count = 3000;
	assert_int_equal(rooms_init(&r, count, 10), 0);
	char *text = malloc(1001);
	memset(text, 'f', 1000);
	text[1000] = '\0';
	memcpy(text, "aiguille ", 9);
	for (uint64_t i = 1; i <= count; i++)
		say(&r, r.default_room, i, "x", text);
	struct room *rooms[] = {r.default_room};
	uint64_t visible[] = {UINT64_MAX};
	struct search_query q;
	assert_int_equal(search_parse("nulle", 5, &q), SEARCH_OK);
	struct event out[SEARCH_MAX_RESULTS];
	bool cut;
	/* 3 MB held: it stops after 1 MiB, found nothing, and says so. */
	assert_int_equal(search_run(&q, &r, rooms, visible, 1, out, SEARCH_MAX_RESULTS, &cut), 0);
	assert_true(cut);
	search_query_free(&q);
	free(text);
	rooms_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(filters_and_words_are_parsed),
		cmocka_unit_test(words_match_at_their_start_without_case_or_accents),
		cmocka_unit_test(newest_first_across_rooms_and_capped),
		cmocka_unit_test(the_text_read_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
