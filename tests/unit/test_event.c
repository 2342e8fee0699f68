/* Events and their encoders (src/server/event.c): the text protocol's
 * line and the binary protocol's frame for each kind, byte for byte, and
 * the owned copies a room keeps. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "event.h"
#include "frame.h"
#include "wire.h"

/* 2026-11-24T14:12:05Z */
#define STAMP 1795529525000ll

static struct event said(const char *text)
{
	return (struct event){
		.kind = EVENT_MESSAGE, .id = 42, .time_ms = STAMP, .sender_id = 7,
		.pseudo = "alice", .colour = 28, .room = "jeux",
		.text = text, .text_len = strlen(text),
	};
}

static struct event presence(enum event_kind kind, bool default_room)
{
	return (struct event){
		.kind = kind, .id = 43, .time_ms = STAMP, .sender_id = 7, .pseudo = "alice",
		.colour = 28, .room = default_room ? "general" : "jeux",
		.default_room = default_room,
	};
}

static void expect_text(struct frame *f, const char *want)
{
	assert_non_null(f);
	assert_int_equal(f->len, strlen(want));
	assert_memory_equal(f->data, want, f->len);
	frame_unref(f);
}

static void text_lines_for_each_kind(void **state)
{
	(void)state;
	struct event ev = said("salut");
	expect_text(event_text_frame(&ev), "alice a dit : salut\n");
	ev = presence(EVENT_JOIN, true);
	expect_text(event_text_frame(&ev), "Annonce : alice a rejoint la chatroom\n");
	ev = presence(EVENT_JOIN, false);
	expect_text(event_text_frame(&ev), "Annonce : alice a rejoint le salon jeux\n");
	ev = presence(EVENT_LEAVE, true);
	expect_text(event_text_frame(&ev), "Annonce : alice a quitté la chatroom\n");
	ev = presence(EVENT_LEAVE, false);
	expect_text(event_text_frame(&ev), "Annonce : alice a quitté le salon jeux\n");
	ev = presence(EVENT_RETURN, false);
	expect_text(event_text_frame(&ev), "alice est de retour !\n");
}

/* A binary client's message of several lines reaches text peers as one
 * block: no line of it can pass for a line of the protocol. */
static void several_lines_are_indented(void **state)
{
	(void)state;
	struct event ev = said("un\nAnnonce : faux\ntrois");
	expect_text(event_text_frame(&ev),
		    "alice a dit : un\n    Annonce : faux\n    trois\n");
}

static void a_picture_is_its_header_and_drawing(void **state)
{
	(void)state;
	static const unsigned char png[] = {0x89, 'P', 'N', 'G'};
	struct event ev = {
		.kind = EVENT_IMAGE, .id = 44, .time_ms = STAMP, .sender_id = 7,
		.pseudo = "alice", .colour = 28, .room = "jeux", .text = "#.\n.#",
		.text_len = 5, .mime = "image/png", .width = 2, .height = 2,
		.image = png, .image_len = sizeof(png),
	};
	expect_text(event_text_frame(&ev), "alice a envoyé une image (2×2) :\n    #.\n    .#\n");
}

static void history_lines_carry_the_local_time(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	struct event ev = said("salut");
	expect_text(event_text_history_frame(&ev), "[14:12] alice a dit : salut\n");
	ev = presence(EVENT_JOIN, true);
	expect_text(event_text_history_frame(&ev), "[14:12] Annonce : alice a rejoint la chatroom\n");
}

/* Decodes one whole frame as the client would. */
static struct frame *decode(struct frame *f, struct wire_msg *m, struct wire_decoder *d)
{
	assert_non_null(f);
	wire_decoder_init(d, WIRE_MAX_FRAME);
	wire_feed(d, f->data, f->len);
	assert_int_equal(wire_next(d, m), 1);
	return f;
}

static void expect_str(struct wire_str s, const char *want)
{
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.ptr, want, s.len);
}

static void wire_frames_for_each_kind(void **state)
{
	(void)state;
	struct wire_decoder d;
	struct wire_msg m;
	struct event ev = said("un\ndeux");
	struct frame *f = decode(event_wire_frame(&ev), &m, &d);
	assert_int_equal(m.type, WIRE_MESSAGE);
	assert_int_equal(m.id, 42);
	assert_int_equal(m.time_ms, STAMP);
	assert_int_equal(m.user_id, 7);
	assert_int_equal(m.colour, 28);
	expect_str(m.pseudo, "alice");
	expect_str(m.room, "jeux");
	expect_str(m.text, "un\ndeux"); /* lines travel as they are */
	wire_decoder_free(&d);
	frame_unref(f);

	static const struct { enum event_kind kind; uint8_t notice; } notices[] = {
		{EVENT_JOIN, WIRE_NOTICE_JOIN}, {EVENT_LEAVE, WIRE_NOTICE_LEAVE},
		{EVENT_RETURN, WIRE_NOTICE_RETURN},
	};
	for (size_t i = 0; i < 3; i++) {
		ev = presence(notices[i].kind, false);
		f = decode(event_wire_frame(&ev), &m, &d);
		assert_int_equal(m.type, WIRE_NOTICE);
		assert_int_equal(m.kind, notices[i].notice);
		assert_int_equal(m.id, 43);
		expect_str(m.pseudo, "alice");
		expect_str(m.room, "jeux");
		wire_decoder_free(&d);
		frame_unref(f);
	}
}

static void a_picture_travels_with_its_bytes_or_as_its_drawing(void **state)
{
	(void)state;
	static const unsigned char png[] = {0x89, 'P', 'N', 'G', 0, 1, 2};
	struct event ev = {
		.kind = EVENT_IMAGE, .id = 44, .time_ms = STAMP, .sender_id = 7,
		.pseudo = "alice", .colour = 28, .room = "jeux", .text = "#.\n.#",
		.text_len = 5, .mime = "image/png", .width = 2, .height = 2,
		.image = png, .image_len = sizeof(png),
	};
	struct wire_decoder d;
	struct wire_msg m;
	struct frame *f = decode(event_wire_frame(&ev), &m, &d);
	assert_int_equal(m.type, WIRE_IMAGE);
	expect_str(m.mime, "image/png");
	assert_int_equal(m.width, 2);
	assert_int_equal(m.height, 2);
	assert_int_equal(m.data.len, sizeof(png));
	assert_memory_equal(m.data.ptr, png, sizeof(png));
	wire_decoder_free(&d);
	frame_unref(f);

	/* Too large to have been kept: what a text peer sees, as a message. */
	ev.image = NULL;
	ev.image_len = 0;
	f = decode(event_wire_frame(&ev), &m, &d);
	assert_int_equal(m.type, WIRE_MESSAGE);
	expect_str(m.text, "[image 2×2]\n#.\n.#");
	wire_decoder_free(&d);
	frame_unref(f);
}

static void one_encoding_per_format(void **state)
{
	(void)state;
	struct event ev = said("salut");
	struct frame *text = event_encode(&ev, EVENT_FORMAT_TEXT);
	struct frame *wire = event_encode(&ev, EVENT_FORMAT_WIRE);
	struct frame *again = event_text_frame(&ev);
	assert_int_equal(text->len, again->len);
	assert_memory_equal(text->data, again->data, text->len);
	assert_int_equal((uint8_t)wire->data[0], WIRE_MESSAGE);
	frame_unref(text);
	frame_unref(wire);
	frame_unref(again);
}

static void a_copy_owns_its_strings(void **state)
{
	(void)state;
	char text[] = "salut";
	char pseudo[] = "alice";
	struct event ev = said(text);
	ev.pseudo = pseudo;
	struct event_copy copy;
	assert_int_equal(event_copy_init(&copy, &ev), 0);
	text[0] = 'X';
	pseudo[0] = 'X';
	assert_string_equal(copy.ev.text, "salut");
	assert_string_equal(copy.ev.pseudo, "alice");
	assert_string_equal(copy.ev.room, "jeux");
	assert_int_equal(copy.ev.id, 42);
	event_copy_free(&copy);

	/* An arrival has no text: its copy's is empty, not NULL. */
	ev = presence(EVENT_JOIN, true);
	assert_int_equal(event_copy_init(&copy, &ev), 0);
	assert_string_equal(copy.ev.text, "");
	event_copy_free(&copy);
}

static void a_copy_keeps_only_small_pictures(void **state)
{
	(void)state;
	size_t big = EVENT_IMAGE_KEEP_BYTES + 1;
	unsigned char *bytes = calloc(1, big);
	struct event ev = {
		.kind = EVENT_IMAGE, .pseudo = "alice", .room = "jeux", .text = "#",
		.text_len = 1, .mime = "image/png", .width = 1, .height = 1,
		.image = bytes, .image_len = EVENT_IMAGE_KEEP_BYTES,
	};
	struct event_copy copy;
	assert_int_equal(event_copy_init(&copy, &ev), 0);
	assert_non_null(copy.ev.image);
	assert_ptr_not_equal(copy.ev.image, bytes);
	assert_int_equal(copy.ev.image_len, EVENT_IMAGE_KEEP_BYTES);
	event_copy_free(&copy);
	ev.image_len = big;
	assert_int_equal(event_copy_init(&copy, &ev), 0);
	assert_null(copy.ev.image); /* remembered by its drawing only */
	assert_int_equal(copy.ev.image_len, 0);
	event_copy_free(&copy);
	free(bytes);
}

static void kinds_have_names_and_words(void **state)
{
	(void)state;
	enum event_kind k;
	for (k = EVENT_MESSAGE; k <= EVENT_IMAGE; k++) {
		enum event_kind back;
		assert_int_equal(event_kind_from_name(event_kind_name(k), &back), 0);
		assert_int_equal(back, k);
	}
	assert_int_equal(event_kind_from_name("message", &k), 0);
	assert_int_equal(k, EVENT_MESSAGE);
	assert_int_equal(event_kind_from_name("kick", &k), -EINVAL);
	struct event ev = said("x");
	assert_true(event_has_text(&ev));
	ev.kind = EVENT_IMAGE;
	assert_true(event_has_text(&ev));
	ev = presence(EVENT_LEAVE, true);
	assert_false(event_has_text(&ev));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(text_lines_for_each_kind),
		cmocka_unit_test(several_lines_are_indented),
		cmocka_unit_test(a_picture_is_its_header_and_drawing),
		cmocka_unit_test(history_lines_carry_the_local_time),
		cmocka_unit_test(wire_frames_for_each_kind),
		cmocka_unit_test(a_picture_travels_with_its_bytes_or_as_its_drawing),
		cmocka_unit_test(one_encoding_per_format),
		cmocka_unit_test(a_copy_owns_its_strings),
		cmocka_unit_test(a_copy_keeps_only_small_pictures),
		cmocka_unit_test(kinds_have_names_and_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
