/* Rooms (src/server/room.c): found by the skeleton of their name, capped,
 * reaped when they hold no conversation, evicted at the cap when quiet,
 * their last events kept in a ring, their members counted. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "conn.h"
#include "frame.h"
#include "room.h"

static struct room *make(struct rooms *r, const char *name, int64_t now)
{
	struct room *room = NULL;
	assert_int_equal(rooms_make(r, name, strlen(name), now, 100, 1000, &room), 0);
	return room;
}

static struct room *find(struct rooms *r, const char *name)
{
	return rooms_find(r, name, strlen(name));
}

static void remember(struct rooms *r, struct room *room, enum event_kind kind, uint64_t id,
		     int64_t now)
{
	struct event ev = {.kind = kind, .id = id, .pseudo = "alice", .room = room->name,
			   .text = "salut", .text_len = kind == EVENT_MESSAGE ? 5 : 0};
	assert_int_equal(room_remember(r, room, &ev, now), 0);
}

static void the_default_room_is_there_from_the_start(void **state)
{
	(void)state;
	struct rooms r;
	assert_int_equal(rooms_init(&r, 3, 4), 0);
	assert_int_equal(r.count, 1);
	assert_string_equal(r.default_room->name, ROOM_DEFAULT_NAME);
	assert_true(r.default_room->is_default);
	assert_ptr_equal(find(&r, "General"), r.default_room);
	assert_ptr_equal(find(&r, "ｇｅｎｅｒａｌ"), r.default_room);
	rooms_free(&r);
}

static void look_alike_names_are_one_room(void **state)
{
	(void)state;
	struct rooms r;
	rooms_init(&r, 3, 10);
	struct room *jeux = make(&r, "Jeux", 0);
	assert_string_equal(jeux->name, "Jeux"); /* as its maker spelt it */
	assert_ptr_equal(find(&r, "jeux"), jeux);
	assert_ptr_equal(find(&r, "JEUX"), jeux);
	assert_ptr_equal(find(&r, "ｊｅｕｘ"), jeux);
	assert_null(find(&r, "jeu"));
	struct room *again = NULL;
	assert_int_equal(rooms_make(&r, "jeux", 4, 0, 100, 1000, &again), -EEXIST);
	char long_name[TEXT_MAX_ROOM + 2];
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(rooms_make(&r, long_name, strlen(long_name), 0, 100, 1000, &again),
			 -EINVAL);
	assert_int_equal(r.count, 2);
	rooms_free(&r);
}

/* At the cap a new room first reaps rooms that hold no conversation and
 * have been empty for reap_ms, then evicts the least recently active empty
 * room quiet for evict_ms; else it is refused. */
static void the_cap_reaps_then_evicts_then_refuses(void **state)
{
	(void)state;
	struct rooms r;
	rooms_init(&r, 3, 3);
	struct conn *alice = calloc(1, sizeof(*alice));
	struct room *talk = make(&r, "talk", 0);
	struct room *empty = make(&r, "empty", 0);
	room_add_member(talk, &alice->home);
	remember(&r, talk, EVENT_MESSAGE, 1, 0);
	room_remove_member(talk, &alice->home, 5);

	struct room *out = NULL;
	assert_int_equal(rooms_make(&r, "new", 3, 50, 100, 1000, &out), -ENOSPC);
	assert_int_equal(r.count, 3);
	/* "empty" has been empty 100 ms: reaped. */
	assert_int_equal(rooms_make(&r, "new", 3, 100, 100, 1000, &out), 0);
	assert_null(find(&r, "empty"));
	assert_ptr_equal(find(&r, "talk"), talk);
	(void)empty;
	remember(&r, out, EVENT_MESSAGE, 2, 100); /* "new" holds conversation too */
	/* "talk" holds conversation: never reaped, evicted once quiet 1000 ms. */
	assert_int_equal(rooms_make(&r, "newer", 5, 999, 100, 1000, &out), -ENOSPC);
	assert_int_equal(rooms_make(&r, "newer", 5, 1000, 100, 1000, &out), 0);
	assert_null(find(&r, "talk"));
	assert_non_null(find(&r, "new"));
	assert_ptr_equal(find(&r, "general"), r.default_room);
	free(alice);
	rooms_free(&r);
}

static void reaping_keeps_people_conversation_and_the_default(void **state)
{
	(void)state;
	struct rooms r;
	rooms_init(&r, 3, 10);
	struct conn *bob = calloc(1, sizeof(*bob));
	struct room *arrivals = make(&r, "arrivals", 0);
	struct room *talk = make(&r, "talk", 0);
	struct room *busy = make(&r, "busy", 0);
	remember(&r, arrivals, EVENT_JOIN, 1, 0);
	remember(&r, arrivals, EVENT_LEAVE, 2, 0);
	remember(&r, talk, EVENT_MESSAGE, 3, 0);
	room_add_member(busy, &bob->home);
	assert_int_equal(rooms_reap(&r, 99, 100), 0);
	assert_int_equal(rooms_reap(&r, 100, 100), 1);
	assert_null(find(&r, "arrivals"));
	assert_ptr_equal(find(&r, "talk"), talk);
	assert_ptr_equal(find(&r, "busy"), busy);
	assert_int_equal(r.count, 3);
	room_remove_member(busy, &bob->home, 100);
	free(bob);
	rooms_free(&r);
}

static void the_ring_keeps_the_last_events_in_order(void **state)
{
	(void)state;
	struct rooms r;
	rooms_init(&r, 3, 10);
	struct room *room = make(&r, "ring", 0);
	remember(&r, room, EVENT_JOIN, 1, 0);
	remember(&r, room, EVENT_MESSAGE, 2, 0);
	assert_int_equal(room->said, 1);
	remember(&r, room, EVENT_MESSAGE, 3, 0);
	remember(&r, room, EVENT_LEAVE, 4, 0);
	remember(&r, room, EVENT_MESSAGE, 5, 0);
	assert_int_equal(room->recent_count, 3);
	assert_int_equal(room_recent_id(&r, room, 0), 3);
	assert_int_equal(room_recent_id(&r, room, 1), 4);
	assert_int_equal(room_recent_id(&r, room, 2), 5);
	struct event ev;
	room_recent_event(&r, room, 0, &ev);
	assert_string_equal(ev.text, "salut");
	assert_int_equal(room->said, 2); /* what left the ring no longer counts */
	rooms_free(&r);
}

/* Past the cap many times over: the oldest go, the order stays, and what
 * is read back is exactly what was kept, field by field. */
static void kept_events_read_back_exactly_after_wrapping(void **state)
{
	(void)state;
	struct rooms r;
	rooms_init(&r, 5, 10);
	struct room *room = make(&r, "ring", 0);
	for (uint64_t id = 1; id <= 23; id++)
		remember(&r, room, id % 2 ? EVENT_MESSAGE : EVENT_JOIN, id, 0);
	assert_int_equal(room->recent_count, 5);
	for (size_t i = 0; i < 5; i++) {
		struct event ev;
		room_recent_event(&r, room, i, &ev);
		assert_int_equal(ev.id, 19 + i);
		assert_int_equal(room_recent_id(&r, room, i), 19 + i);
		assert_int_equal(ev.kind, (19 + i) % 2 ? EVENT_MESSAGE : EVENT_JOIN);
		assert_string_equal(ev.pseudo, "alice");
		assert_string_equal(ev.room, "ring");
		assert_int_equal(ev.text_len, ev.kind == EVENT_MESSAGE ? 5 : 0);
	}
	assert_int_equal(room->said, 3);

	static const unsigned char png[] = {0x89, 'P', 'N', 'G', 0, 1, 2, 3};
	char *long_text = malloc(10001);
	for (size_t i = 0; i < 10000; i++)
		long_text[i] = (char)('a' + i % 26);
	long_text[10000] = '\0';
	struct event picture = {
		.kind = EVENT_IMAGE, .id = 30, .time_ms = 1700000000123, .sender_id = 77,
		.pseudo = "bob", .colour = 203, .room = "ring", .text = "##\n##", .text_len = 5,
		.mime = "image/png", .width = 640, .height = 480, .image = png,
		.image_len = sizeof(png), .msg_id = 9, .sender_key = "k",
	};
	struct event said = {
		.kind = EVENT_MESSAGE, .id = 31, .time_ms = -5, .sender_id = UINT64_MAX,
		.pseudo = "127.0.0.1:54321", .colour = -1, .room = "Ring", /* a look-alike */
		.text = long_text, .text_len = 10000, .default_room = true,
	};
	assert_int_equal(room_remember(&r, room, &picture, 1), 0);
	assert_int_equal(room_remember(&r, room, &said, 2), 0);
	free(long_text); /* kept copies do not borrow */
	struct event ev;
	room_recent_event(&r, room, 3, &ev);
	assert_int_equal(ev.kind, EVENT_IMAGE);
	assert_int_equal(ev.id, 30);
	assert_int_equal(ev.time_ms, 1700000000123);
	assert_int_equal(ev.sender_id, 77);
	assert_string_equal(ev.pseudo, "bob");
	assert_int_equal(ev.colour, 203);
	assert_string_equal(ev.room, "ring");
	assert_int_equal(ev.text_len, 5);
	assert_memory_equal(ev.text, "##\n##", 6);
	assert_string_equal(ev.mime, "image/png");
	assert_int_equal(ev.width, 640);
	assert_int_equal(ev.height, 480);
	assert_int_equal(ev.image_len, sizeof(png));
	assert_memory_equal(ev.image, png, sizeof(png));
	assert_false(ev.default_room);
	assert_int_equal(ev.msg_id, 0); /* publishing only */
	assert_null(ev.sender_key);
	room_recent_event(&r, room, 4, &ev);
	assert_int_equal(ev.kind, EVENT_MESSAGE);
	assert_int_equal(ev.id, 31);
	assert_int_equal(ev.time_ms, -5);
	assert_true(ev.sender_id == UINT64_MAX);
	assert_string_equal(ev.pseudo, "127.0.0.1:54321");
	assert_int_equal(ev.colour, -1);
	assert_string_equal(ev.room, "Ring"); /* as the event spelt it */
	assert_int_equal(ev.text_len, 10000);
	assert_int_equal(strlen(ev.text), 10000);
	for (size_t i = 0; i < 10000; i++)
		assert_int_equal(ev.text[i], 'a' + i % 26);
	assert_true(ev.default_room);
	assert_null(ev.image);
	assert_null(ev.mime);
	rooms_free(&r);
}

static void a_listing_puts_rooms_with_people_first(void **state)
{
	(void)state;
	struct rooms r;
	rooms_init(&r, 3, 10);
	struct conn *carol = calloc(1, sizeof(*carol));
	struct room *a = make(&r, "a", 0);
	struct room *b = make(&r, "b", 1);
	struct room *c = make(&r, "c", 2);
	room_add_member(a, &carol->home);
	remember(&r, b, EVENT_MESSAGE, 1, 3); /* b is now the most recently active */
	const struct room *out[10];
	assert_int_equal(rooms_listing(&r, out, 10), 4);
	assert_ptr_equal(out[0], r.default_room);
	assert_ptr_equal(out[1], a);
	assert_ptr_equal(out[2], b);
	assert_ptr_equal(out[3], c);
	assert_int_equal(rooms_listing(&r, out, 2), 2);
	assert_ptr_equal(out[1], a);
	room_remove_member(a, &carol->home, 4);
	free(carol);
	rooms_free(&r);
}

static void members_are_counted_and_the_room_knows_when_it_emptied(void **state)
{
	(void)state;
	struct rooms r;
	rooms_init(&r, 3, 10);
	struct conn *x = calloc(1, sizeof(*x)), *y = calloc(1, sizeof(*y));
	struct room *room = make(&r, "salle", 0);
	room_add_member(room, &x->home);
	room_add_member(room, &y->home);
	assert_int_equal(room->member_count, 2);
	assert_ptr_equal(x->home.room, room);
	size_t seen = 0;
	struct seat *m;
	LIST_FOREACH(m, &room->members, in_room)
		seen += m == &x->home || m == &y->home;
	assert_int_equal(seen, 2);
	room_remove_member(room, &x->home, 7);
	assert_null(x->home.room);
	assert_int_equal(room->empty_since_ms, 0);
	room_remove_member(room, &y->home, 9);
	assert_int_equal(room->member_count, 0);
	assert_int_equal(room->empty_since_ms, 9);
	assert_true(LIST_EMPTY(&room->members));
	free(x);
	free(y);
	rooms_free(&r);
}

static void a_history_frame_is_kept_within_the_budget(void **state)
{
	(void)state;
	struct rooms r;
	rooms_init(&r, 3, 10);
	struct room *room = make(&r, "salle", 0);
	struct frame *first = frame_copy("[1]", 3), *second = frame_copy("[1,2]", 5);
	room_keep_history(&r, room, first, 1, 10);
	assert_ptr_equal(room->history_frame, first);
	assert_int_equal(first->refs, 2);
	assert_int_equal(r.frame_bytes, 3);
	room_keep_history(&r, room, second, 2, 20);
	assert_int_equal(first->refs, 1); /* the older one is let go */
	assert_int_equal(r.frame_bytes, 5);
	assert_int_equal(room->history_upto, 2);
	assert_int_equal(room->history_built_ms, 20);
	frame_unref(first);
	frame_unref(second);
	rooms_free(&r); /* and the kept one with its room */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_default_room_is_there_from_the_start),
		cmocka_unit_test(look_alike_names_are_one_room),
		cmocka_unit_test(the_cap_reaps_then_evicts_then_refuses),
		cmocka_unit_test(reaping_keeps_people_conversation_and_the_default),
		cmocka_unit_test(the_ring_keeps_the_last_events_in_order),
		cmocka_unit_test(kept_events_read_back_exactly_after_wrapping),
		cmocka_unit_test(a_listing_puts_rooms_with_people_first),
		cmocka_unit_test(members_are_counted_and_the_room_knows_when_it_emptied),
		cmocka_unit_test(a_history_frame_is_kept_within_the_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
