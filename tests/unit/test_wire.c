/* The binary protocol: every type round-trips, at boundary lengths and
 * split at every byte; bad frames get the right error before any harm. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "wire.h"

#define S(lit) ((struct wire_str){(lit), sizeof(lit) - 1})

static const char token[WIRE_TOKEN_LEN] = "0123456789abcdef0123456789ABCDEF";

static void assert_str(struct wire_str got, struct wire_str want)
{
	assert_int_equal(got.len, want.len);
	if (want.len > 0)
		assert_memory_equal(got.ptr, want.ptr, want.len);
}

static void assert_same(const struct wire_msg *a, const struct wire_msg *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->returning, b->returning);
	assert_int_equal(a->code, b->code);
	assert_int_equal(a->colour, b->colour);
	assert_int_equal(a->width, b->width);
	assert_int_equal(a->height, b->height);
	assert_true(a->id == b->id);
	assert_true(a->time_ms == b->time_ms);
	assert_true(a->user_id == b->user_id);
	assert_true(a->nonce == b->nonce);
	assert_true(a->msg_id == b->msg_id);
	assert_int_equal(a->features, b->features);
	assert_str(a->pseudo, b->pseudo);
	assert_str(a->room, b->room);
	assert_str(a->text, b->text);
	assert_str(a->token, b->token);
	assert_str(a->mime, b->mime);
	assert_str(a->data, b->data);
	assert_int_equal(a->entry_count, b->entry_count);
	if (a->entry_count > 0) {
		struct wire_entry got[8];
		size_t n = wire_entries(b, got, 8);
		assert_int_equal(n, a->entry_count);
		for (size_t i = 0; i < n; i++) {
			assert_str(got[i].name, a->entries[i].name);
			assert_int_equal(got[i].count, a->entries[i].count);
		}
	}
}

static const struct wire_entry rooms[] = {{S("general"), 3}, {S("jeux"), 0}, {S("日本"), 70000}};

/* One of each type, with every field set. */
static struct wire_msg samples[32];
static size_t sample_count;

static int setup(void **state)
{
	(void)state;
	struct wire_msg m;
	sample_count = 0;
#define ADD(...) do { memset(&m, 0, sizeof(m)); m.colour = -1; __VA_ARGS__; samples[sample_count++] = m; } while (0)
	ADD(m.type = WIRE_HELLO; m.version = 1; m.pseudo = S("it4"); m.room = S("jeux");
	    m.token = (struct wire_str){token, WIRE_TOKEN_LEN}; m.id = 41);
	ADD(m.type = WIRE_HELLO; m.version = 1; m.pseudo = S("zoé"));
	ADD(m.type = WIRE_WELCOME; m.version = 1; m.user_id = 0x1fffffffffffffull; m.colour = 160;
	    m.returning = true; m.token = (struct wire_str){token, WIRE_TOKEN_LEN};
	    m.pseudo = S("it4"); m.room = S("general"));
	ADD(m.type = WIRE_WELCOME; m.version = 1; m.user_id = 3; m.colour = 1;
	    m.token = (struct wire_str){token, WIRE_TOKEN_LEN}; m.pseudo = S("a");
	    m.room = S("general"); m.features = WIRE_SERVER_ACKS);
	ADD(m.type = WIRE_SAY; m.text = S("bonjour\nà tous"));
	ADD(m.type = WIRE_SAY; m.text = S("numéroté"); m.msg_id = 0x7fffffffffffff01ull);
	ADD(m.type = WIRE_SAY; m.text = S("ici"); m.room = S("jeux"); m.msg_id = 1);
	ADD(m.type = WIRE_ACK; m.msg_id = 0x7fffffffffffff01ull; m.id = 77);
	ADD(m.type = WIRE_COMMAND; m.text = S("/msg bob salut"));
	ADD(m.type = WIRE_MESSAGE; m.id = 7; m.time_ms = 1764000000123ull; m.user_id = 99;
	    m.colour = 28; m.pseudo = S("alice"); m.room = S("general"); m.text = S("salut 😀"));
	ADD(m.type = WIRE_NOTICE; m.id = 8; m.time_ms = 1; m.kind = WIRE_NOTICE_RETURN;
	    m.user_id = 5; m.colour = 26; m.pseudo = S("bob"); m.room = S("jeux"));
	ADD(m.type = WIRE_ROOMS_ASK);
	ADD(m.type = WIRE_ROOMS; m.entries = rooms; m.entry_count = 3);
	ADD(m.type = WIRE_JOIN; m.room = S("salle-2"));
	ADD(m.type = WIRE_WHO_ASK);
	ADD(m.type = WIRE_WHO; m.room = S("jeux"); m.entries = rooms; m.entry_count = 2);
	ADD(m.type = WIRE_HISTORY; m.room = S("general"); m.text = S("[{\"id\":1}]"));
	ADD(m.type = WIRE_HISTORY_ASK; m.room = S("general"); m.id = 123456789012ull);
	ADD(m.type = WIRE_IMAGE; m.id = 9; m.time_ms = 2; m.user_id = 3; m.colour = 91;
	    m.pseudo = S("p"); m.room = S("r"); m.mime = S("image/png"); m.width = 640;
	    m.height = 480; m.data = S("\x89PNG\r\n\x1a\n\0\0binary"));
	ADD(m.type = WIRE_ERROR; m.code = WIRE_ERR_PSEUDO; m.text = S("le pseudo est pris"));
	ADD(m.type = WIRE_PING; m.nonce = 0xdeadbeefcafef00dull);
#undef ADD
	return 0;
}

static void every_type_round_trips(void **state)
{
	(void)state;
	for (size_t i = 0; i < sample_count; i++) {
		struct frame *f = wire_encode(&samples[i]);
		assert_non_null(f);
		struct wire_decoder d;
		wire_decoder_init(&d, WIRE_MAX_FRAME);
		wire_feed(&d, f->data, f->len);
		struct wire_msg got;
		assert_int_equal(wire_next(&d, &got), 1);
		assert_same(&samples[i], &got);
		assert_int_equal(wire_next(&d, &got), 0);
		assert_null(d.stash.data);
		wire_decoder_free(&d);
		frame_unref(f);
	}
}

static void every_split_point_of_every_type(void **state)
{
	(void)state;
	for (size_t i = 0; i < sample_count; i++) {
		struct frame *f = wire_encode(&samples[i]);
		for (size_t cut = 0; cut <= f->len; cut++) {
			struct wire_decoder d;
			wire_decoder_init(&d, WIRE_MAX_FRAME);
			struct wire_msg got;
			wire_feed(&d, f->data, cut);
			int rc = wire_next(&d, &got);
			if (cut < f->len) {
				assert_int_equal(rc, 0);
				wire_feed(&d, f->data + cut, f->len - cut);
				rc = wire_next(&d, &got);
			}
			assert_int_equal(rc, 1);
			assert_same(&samples[i], &got);
			assert_int_equal(wire_next(&d, &got), 0);
			assert_null(d.stash.data); /* released once handed out */
			wire_decoder_free(&d);
		}
		frame_unref(f);
	}
}

static void byte_by_byte_stream_of_all_types(void **state)
{
	(void)state;
	char stream[8192];
	size_t len = 0;
	for (size_t i = 0; i < sample_count; i++) {
		struct frame *f = wire_encode(&samples[i]);
		memcpy(stream + len, f->data, f->len);
		len += f->len;
		frame_unref(f);
	}
	struct wire_decoder d;
	wire_decoder_init(&d, WIRE_MAX_FRAME);
	size_t seen = 0;
	for (size_t b = 0; b < len; b++) {
		wire_feed(&d, stream + b, 1);
		struct wire_msg got;
		int rc;
		while ((rc = wire_next(&d, &got)) == 1)
			assert_same(&samples[seen++], &got);
		assert_int_equal(rc, 0);
	}
	assert_int_equal(seen, sample_count);
	/* And all of them in one chunk. */
	wire_feed(&d, stream, len);
	struct wire_msg got;
	for (size_t i = 0; i < sample_count; i++) {
		assert_int_equal(wire_next(&d, &got), 1);
		assert_same(&samples[i], &got);
	}
	assert_int_equal(wire_next(&d, &got), 0);
	wire_decoder_free(&d);
}

/* A client skips the lines a server sent while it took it for a text peer,
 * whichever way the bytes are split, and then decodes frames as usual. */
static void text_lines_before_the_first_frame_are_skipped(void **state)
{
	(void)state;
	static const char lines[] = "Annonce : a a rejoint la chatroom\n\n[10:02] a a dit : x\n";
	struct wire_msg welcome = {.type = WIRE_WELCOME, .version = 1, .pseudo = {"lent", 4},
				   .room = {"general", 7}, .user_id = 7, .colour = 33,
				   .token = {"0123456789abcdef0123456789abcdef", 32}};
	struct wire_msg notice = {.type = WIRE_NOTICE, .kind = WIRE_NOTICE_INFO,
				  .text = {"ok\n", 3}};
	struct frame *w = wire_encode(&welcome), *n = wire_encode(&notice);
	char stream[512];
	size_t len = sizeof(lines) - 1;
	memcpy(stream, lines, len);
	memcpy(stream + len, w->data, w->len);
	len += w->len;
	memcpy(stream + len, n->data, n->len);
	len += n->len;
	for (size_t piece = 1; piece <= len; piece++) {
		struct wire_decoder d;
		wire_decoder_init(&d, WIRE_MAX_FRAME);
		d.skip_text_preamble = true;
		int seen = 0;
		for (size_t at = 0; at < len; at += piece) {
			wire_feed(&d, stream + at, at + piece <= len ? piece : len - at);
			struct wire_msg got;
			int rc;
			while ((rc = wire_next(&d, &got)) == 1)
				assert_same(seen++ == 0 ? &welcome : &notice, &got);
			assert_int_equal(rc, 0);
		}
		assert_int_equal(seen, 2);
		wire_decoder_free(&d);
	}
	frame_unref(w);
	frame_unref(n);
}

static int decode_one(const char *bytes, size_t len, struct wire_msg *m, struct wire_decoder *d)
{
	wire_decoder_init(d, WIRE_MAX_FRAME);
	wire_feed(d, bytes, len);
	int rc = wire_next(d, m);
	wire_decoder_free(d);
	return rc;
}

static void text_length_boundaries(void **state)
{
	(void)state;
	char *text = malloc(WIRE_MAX_TEXT + 1);
	memset(text, 'x', WIRE_MAX_TEXT + 1);
	size_t lens[] = {0, 1, WIRE_MAX_TEXT, WIRE_MAX_TEXT + 1};
	for (size_t i = 0; i < 4; i++) {
		struct wire_msg m = {.type = WIRE_SAY, .text = {text, lens[i]}, .colour = -1};
		struct frame *f = wire_encode(&m);
		assert_non_null(f);
		struct wire_decoder d;
		struct wire_msg got;
		int rc = decode_one(f->data, f->len, &got, &d);
		if (lens[i] <= WIRE_MAX_TEXT) {
			assert_int_equal(rc, 1);
			assert_int_equal(got.text.len, lens[i]);
		} else {
			assert_int_equal(rc, -E2BIG);
			assert_int_equal(d.error_code, WIRE_ERR_TOO_LARGE);
			assert_non_null(d.cause);
		}
		frame_unref(f);
	}
	free(text);
}

static void frame_size_boundaries(void **state)
{
	(void)state;
	/* The limit is checked on the header, before any byte is kept. */
	struct wire_decoder d;
	wire_decoder_init(&d, 100);
	char header[] = {WIRE_PING, 100};
	wire_feed(&d, header, 2);
	struct wire_msg m;
	assert_int_equal(wire_next(&d, &m), 0); /* 100 is allowed: wait for it */
	wire_decoder_free(&d);

	wire_decoder_init(&d, 100);
	char big[] = {WIRE_PING, 101};
	wire_feed(&d, big, 2);
	assert_int_equal(wire_next(&d, &m), -E2BIG);
	assert_null(d.stash.data);
	wire_decoder_free(&d);

	/* A 4 GiB claim in a lone header, split: refused at the header. */
	wire_decoder_init(&d, WIRE_MAX_FRAME);
	char huge[] = {WIRE_SAY, (char)0xff, (char)0xff, (char)0xff, 0x7f};
	wire_feed(&d, huge, 2);
	assert_int_equal(wire_next(&d, &m), 0);
	wire_feed(&d, huge + 2, 3);
	assert_int_equal(wire_next(&d, &m), -E2BIG);
	wire_decoder_free(&d);

	/* A fifth length byte is never valid. */
	char five[] = {WIRE_SAY, (char)0x80, (char)0x80, (char)0x80, (char)0x80, 0x01};
	assert_int_equal(decode_one(five, sizeof(five), &m, &d), -EBADMSG);
}

static void empty_payloads_and_unknown_types(void **state)
{
	(void)state;
	char bytes[] = {WIRE_ROOMS_ASK, 0, 0x42, 3, 'a', 'b', 'c', WIRE_WHO_ASK, 0};
	struct wire_decoder d;
	wire_decoder_init(&d, WIRE_MAX_FRAME);
	wire_feed(&d, bytes, sizeof(bytes));
	struct wire_msg m;
	assert_int_equal(wire_next(&d, &m), 1);
	assert_int_equal(m.type, WIRE_ROOMS_ASK);
	assert_int_equal(wire_next(&d, &m), 1);
	assert_int_equal(m.type, WIRE_UNKNOWN);
	assert_int_equal(m.raw_type, 0x42);
	assert_int_equal(wire_next(&d, &m), 1);
	assert_int_equal(m.type, WIRE_WHO_ASK);
	assert_int_equal(wire_next(&d, &m), 0);
	wire_decoder_free(&d);
}

static void later_fields_are_ignored(void **state)
{
	(void)state;
	/* A PING with 3 extra bytes a later version might add. */
	char bytes[] = {WIRE_PING, 11, 0, 0, 0, 0, 0, 0, 0, 7, 'n', 'e', 'w'};
	struct wire_decoder d;
	struct wire_msg m;
	assert_int_equal(decode_one(bytes, sizeof(bytes), &m, &d), 1);
	assert_true(m.nonce == 7);
}

static void lying_lengths_and_bad_utf8(void **state)
{
	(void)state;
	struct wire_decoder d;
	struct wire_msg m;
	/* SAY whose string claims 10 bytes in a 4-byte payload. */
	char lie[] = {WIRE_SAY, 4, 10, 'a', 'b', 'c'};
	assert_int_equal(decode_one(lie, sizeof(lie), &m, &d), -EBADMSG);
	assert_int_equal(d.error_code, WIRE_ERR_MALFORMED);
	/* PING with a payload too short for its nonce. */
	char short_ping[] = {WIRE_PING, 3, 1, 2, 3};
	assert_int_equal(decode_one(short_ping, sizeof(short_ping), &m, &d), -EBADMSG);
	/* Truncated UTF-8 (é cut in half). */
	char cut[] = {WIRE_SAY, 3, 2, 'a', (char)0xc3};
	assert_int_equal(decode_one(cut, sizeof(cut), &m, &d), -EBADMSG);
	assert_int_equal(d.error_code, WIRE_ERR_BAD_UTF8);
	/* Overlong and surrogate encodings. */
	char overlong[] = {WIRE_SAY, 3, 2, (char)0xc0, (char)0xaf};
	assert_int_equal(decode_one(overlong, sizeof(overlong), &m, &d), -EBADMSG);
	/* A resume token of the wrong size. */
	char hello[] = {WIRE_HELLO, 14, 1, 1, 'x', 0, 3, 't', 'o', 'k', 0, 0, 0, 0, 0, 0};
	assert_int_equal(decode_one(hello, sizeof(hello), &m, &d), -EBADMSG);
	/* A list longer than allowed. */
	char list[] = {WIRE_ROOMS, 3, (char)0x81, (char)0x80, 0x01};
	assert_int_equal(decode_one(list, sizeof(list), &m, &d), -E2BIG);
}

static void hello_magic(void **state)
{
	(void)state;
	assert_true(wire_is_hello_prefix(WIRE_MAGIC, WIRE_MAGIC_LEN));
	assert_true(wire_is_hello_prefix("\0CH", 3));
	assert_false(wire_is_hello_prefix("Hello", 5));
	assert_false(wire_is_hello_prefix("\0CHAT\2", 6)); /* another version */
	assert_false(wire_is_hello_prefix("", 0));
}

/* wire_peek_text: the text of a MESSAGE as wire_decode_payload reads it,
 * the other fields skipped, the lengths still checked, no UTF-8 check. */
static void peek_text_reads_only_the_text(void **state)
{
	(void)state;
	struct wire_msg said = {.type = WIRE_MESSAGE, .id = 7, .time_ms = 9, .user_id = 3,
				.colour = 12, .pseudo = S("alice"), .room = S("hall"),
				.text = S("h\xc3\xa9llo")};
	struct frame *f = wire_encode(&said);
	assert_non_null(f);
	/* Fed a byte at a time: the frame comes out of the stash whole. */
	struct wire_decoder d;
	wire_decoder_init(&d, WIRE_MAX_FRAME);
	uint8_t type = 0;
	struct wire_str payload = {0}, text;
	for (size_t i = 0; i < f->len; i++) {
		wire_feed(&d, f->data + i, 1);
		assert_int_equal(wire_next_frame(&d, &type, &payload), i + 1 == f->len ? 1 : 0);
	}
	assert_int_equal(type, WIRE_MESSAGE);
	assert_int_equal(wire_peek_text(payload.ptr, payload.len, &text), 0);
	assert_str(text, said.text);
	struct wire_msg m;
	const char *cause;
	uint16_t code;
	assert_int_equal(wire_decode_payload(type, payload.ptr, payload.len, &m, &cause, &code), 0);
	assert_ptr_equal(text.ptr, m.text.ptr);
	/* Every cut short is refused, as the full decoder refuses it. */
	for (size_t len = 0; len < payload.len; len++) {
		assert_int_equal(wire_peek_text(payload.ptr, len, &text), -EBADMSG);
		assert_int_equal(wire_decode_payload(type, payload.ptr, len, &m, &cause, &code),
				 -EBADMSG);
	}
	wire_decoder_free(&d);
	frame_unref(f);

	/* Bad UTF-8 passes (only the full decoder checks it). */
	char cut[26 + 3 + 2] = {[26] = 0, [27] = 0, [28] = 2, [29] = 'a', [30] = (char)0xc3};
	assert_int_equal(wire_peek_text(cut, sizeof(cut), &text), 0);
	assert_int_equal(text.len, 2);
	assert_int_equal(wire_decode_payload(WIRE_MESSAGE, cut, sizeof(cut), &m, &cause, &code),
			 -EBADMSG);
	/* A text past WIRE_MAX_TEXT, or a name past its limit, is too large. */
	size_t big = WIRE_MAX_TEXT + 1;
	char *huge = calloc(1, 26 + 2 + 3 + big);
	assert_non_null(huge);
	huge[28] = (char)(0x80 | (big & 0x7f));
	huge[29] = (char)(0x80 | ((big >> 7) & 0x7f));
	huge[30] = (char)(big >> 14);
	assert_int_equal(wire_peek_text(huge, 26 + 2 + 3 + big, &text), -E2BIG);
	assert_int_equal(wire_decode_payload(WIRE_MESSAGE, huge, 26 + 2 + 3 + big, &m, &cause,
					     &code), -E2BIG);
	huge[26] = (char)0x81;
	huge[27] = 0x02; /* a 257-byte pseudo */
	assert_int_equal(wire_peek_text(huge, 26 + 2 + 3 + big, &text), -E2BIG);
	free(huge);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(every_type_round_trips, setup),
		cmocka_unit_test_setup(every_split_point_of_every_type, setup),
		cmocka_unit_test_setup(byte_by_byte_stream_of_all_types, setup),
		cmocka_unit_test(text_length_boundaries),
		cmocka_unit_test(frame_size_boundaries),
		cmocka_unit_test(empty_payloads_and_unknown_types),
		cmocka_unit_test(later_fields_are_ignored),
		cmocka_unit_test(lying_lengths_and_bad_utf8),
		cmocka_unit_test(hello_magic),
		cmocka_unit_test(text_lines_before_the_first_frame_are_skipped),
		cmocka_unit_test(peek_text_reads_only_the_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
