/* The two protocol handlers (src/server/textpeer.c, binpeer.c) as the chat
 * sees them, through struct proto_ops alone, without a loop: every error
 * code and notice is worded (no code left without words), lists read as
 * the course's lines and as the binary frames, and each handler starts
 * and stops its per-peer state. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "binpeer.h"
#include "conn.h"
#include "room.h"
#include "server_config.h"
#include "sniff.h"
#include "textpeer.h"
#include "wire.h"

static void nothing(struct conn *c)
{
	(void)c;
}

struct fixture {
	struct server_config cfg;
	struct sniffer sniffer;
	struct conns set;
	struct room room;
	struct conn *c;
};

static struct fixture *open_fixture(const struct proto_ops *proto)
{
	static const struct conn_hooks hooks = {nothing, nothing, nothing};
	struct fixture *f = calloc(1, sizeof(*f));
	f->cfg.max_queue_bytes = 1 << 20;
	sniff_init(&f->sniffer, proto);
	conns_init(&f->set, NULL, &f->cfg, &f->sniffer, NULL, &hooks, f);
	snprintf(f->room.name, sizeof(f->room.name), "jeux");
	struct conn *c = calloc(1, sizeof(*c));
	c->set = &f->set;
	c->proto = proto;
	c->room = &f->room;
	outq_init(&c->out);
	assert_int_equal(proto->on_start(c), 0);
	c->proto_started = true;
	f->c = c;
	return f;
}

static void close_fixture(struct fixture *f)
{
	f->c->proto->on_stop(f->c);
	assert_null(f->c->proto_data);
	outq_clear(&f->c->out);
	if (f->c->pending)
		LIST_REMOVE(f->c, pending_link);
	free(f->c);
	free(f);
}

/* What was queued since the last call, as one string (and emptied). */
static size_t take(struct conn *c, char *out, size_t cap)
{
	uv_buf_t bufs[16];
	unsigned n = outq_peek(&c->out, bufs, 16);
	size_t len = 0;
	for (unsigned i = 0; i < n; i++) {
		assert_true(len + bufs[i].len < cap);
		memcpy(out + len, bufs[i].base, bufs[i].len);
		len += bufs[i].len;
	}
	out[len] = '\0';
	outq_consume(&c->out, len);
	return len;
}

/* The one frame queued, decoded into m (its strings in buf). */
static void take_frame(struct conn *c, char *buf, size_t cap, struct wire_msg *m)
{
	size_t len = take(c, buf, cap);
	struct wire_decoder d;
	wire_decoder_init(&d, WIRE_MAX_FRAME);
	wire_feed(&d, buf, len);
	assert_int_equal(wire_next(&d, m), 1);
	assert_int_equal(wire_next(&d, &(struct wire_msg){0}), 0);
	wire_decoder_free(&d);
}

static void text_words_every_error(void **state)
{
	(void)state;
	struct fixture *f = open_fixture(&textpeer_proto);
	char line[512];
	for (int e = 0; e < CHAT_ERRORS; e++) {
		textpeer_proto.send_error(f->c, (enum chat_error)e, "x");
		take(f->c, line, sizeof(line));
		assert_true(strncmp(line, "Erreur : ", 9) == 0);
		assert_true(strlen(line) > strlen("Erreur : \n")); /* a row for each code */
		assert_null(strstr(line, "(null)"));
		assert_int_equal(line[strlen(line) - 1], '\n');
	}
	textpeer_proto.send_error(f->c, CHAT_ERR_ALREADY_HERE, "jeux");
	take(f->c, line, sizeof(line));
	assert_string_equal(line, "Erreur : vous êtes déjà dans le salon jeux\n");
	textpeer_proto.send_error(f->c, CHAT_ERR_FLOODING, NULL);
	take(f->c, line, sizeof(line));
	assert_string_equal(line, "Erreur : trop de messages, ralentissez (message ignoré)\n");
	close_fixture(f);
}

static void binary_words_every_error(void **state)
{
	(void)state;
	struct fixture *f = open_fixture(&binpeer_proto);
	char buf[512];
	struct wire_msg m;
	for (int e = 0; e < CHAT_ERRORS; e++) {
		binpeer_proto.send_error(f->c, (enum chat_error)e, "x");
		take_frame(f->c, buf, sizeof(buf), &m);
		assert_int_equal(m.type, WIRE_ERROR);
		assert_true(m.code >= WIRE_ERR_VERSION && m.code <= WIRE_ERR_REFUSED);
		assert_true(m.text.len > 0); /* a row for each code */
		assert_null(memmem(m.text.ptr, m.text.len, "(null)", 6));
	}
	/* Its client shows the room already: the shorter words. */
	binpeer_proto.send_error(f->c, CHAT_ERR_ALREADY_HERE, "jeux");
	take_frame(f->c, buf, sizeof(buf), &m);
	assert_int_equal(m.code, WIRE_ERR_ROOM);
	assert_int_equal(m.text.len, strlen("vous êtes déjà dans ce salon"));
	binpeer_proto.send_error(f->c, CHAT_ERR_IMAGE, "image trop lourde");
	take_frame(f->c, buf, sizeof(buf), &m);
	assert_int_equal(m.code, WIRE_ERR_IMAGE);
	assert_memory_equal(m.text.ptr, "image refusée : image trop lourde", m.text.len);
	close_fixture(f);
}

static void notices_in_both_protocols(void **state)
{
	(void)state;
	struct fixture *t = open_fixture(&textpeer_proto), *b = open_fixture(&binpeer_proto);
	char buf[512];
	struct wire_msg m;
	textpeer_proto.send_info(t->c, CHAT_INFO_STOPPING, NULL);
	take(t->c, buf, sizeof(buf));
	assert_string_equal(buf, "Annonce : le serveur s'arrête\n");
	textpeer_proto.send_info(t->c, CHAT_INFO_IN_ROOM, "jeux");
	take(t->c, buf, sizeof(buf));
	assert_string_equal(buf, "Annonce : vous êtes dans le salon jeux\n");
	textpeer_proto.send_info(t->c, CHAT_INFO_HELP, "Commandes : /who (qui est là)");
	take(t->c, buf, sizeof(buf));
	assert_string_equal(buf, "Commandes : /who (qui est là)\n");

	binpeer_proto.send_info(b->c, CHAT_INFO_STOPPING, NULL);
	take_frame(b->c, buf, sizeof(buf), &m);
	assert_int_equal(m.type, WIRE_NOTICE);
	assert_int_equal(m.kind, WIRE_NOTICE_INFO);
	assert_int_equal(m.room.len, 0); /* of no room */
	assert_memory_equal(m.text.ptr, "Annonce : le serveur s'arrête", m.text.len);
	binpeer_proto.send_info(b->c, CHAT_INFO_HELP, "aide");
	take_frame(b->c, buf, sizeof(buf), &m);
	assert_memory_equal(m.room.ptr, "jeux", 4);
	assert_memory_equal(m.text.ptr, "aide", 4);
	close_fixture(t);
	close_fixture(b);
}

static const struct chat_entry rooms[] = {{"general", 3, -1, NULL}, {"jeux", 1, -1, NULL}};
static const struct chat_entry who[] = {{"alice", 0, 28, NULL}, {"192.0.2.7:4000", 0, -1, NULL}};

static void lists_in_both_protocols(void **state)
{
	(void)state;
	struct fixture *t = open_fixture(&textpeer_proto), *b = open_fixture(&binpeer_proto);
	char buf[512];
	textpeer_proto.send_list(t->c, CHAT_LIST_ROOMS, NULL, rooms, 2);
	take(t->c, buf, sizeof(buf));
	assert_string_equal(buf, "Salons : general (3), jeux (1)\n");
	textpeer_proto.send_list(t->c, CHAT_LIST_WHO, "jeux", who, 2);
	take(t->c, buf, sizeof(buf));
	assert_string_equal(buf, "Présents dans jeux : alice, 192.0.2.7:4000\n");

	struct wire_msg m;
	struct wire_entry e[2];
	binpeer_proto.send_list(b->c, CHAT_LIST_ROOMS, NULL, rooms, 2);
	take_frame(b->c, buf, sizeof(buf), &m);
	assert_int_equal(m.type, WIRE_ROOMS);
	assert_int_equal(wire_entries(&m, e, 2), 2);
	assert_memory_equal(e[0].name.ptr, "general", 7);
	assert_int_equal(e[0].count, 3);
	binpeer_proto.send_list(b->c, CHAT_LIST_WHO, "jeux", who, 2);
	take_frame(b->c, buf, sizeof(buf), &m);
	assert_int_equal(m.type, WIRE_WHO);
	assert_memory_equal(m.room.ptr, "jeux", 4);
	assert_int_equal(wire_entries(&m, e, 2), 2);
	assert_int_equal(e[0].count, 29); /* colour + 1 */
	assert_int_equal(e[1].count, 0);  /* no colour */
	close_fixture(t);
	close_fixture(b);
}

/* A binary peer reads nothing before its welcome, and what was queued
 * for the text peer it was taken for is dropped; a text one hears at once. */
static void starting_sets_who_hears(void **state)
{
	(void)state;
	struct fixture *t = open_fixture(&textpeer_proto);
	assert_true(t->c->hears);
	assert_int_equal(t->c->proto->format, EVENT_FORMAT_TEXT);
	struct fixture *b = open_fixture(&textpeer_proto);
	struct frame *line = frame_copy("Annonce : x\n", 12);
	conn_send(b->c, line);
	frame_unref(line);
	textpeer_proto.on_stop(b->c);
	b->c->proto = &binpeer_proto;
	assert_int_equal(binpeer_proto.on_start(b->c), 0);
	assert_false(b->c->hears);
	assert_int_equal(b->c->out.count, 0);
	assert_int_equal(b->c->proto->format, EVENT_FORMAT_WIRE);
	close_fixture(t);
	close_fixture(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(text_words_every_error),
		cmocka_unit_test(binary_words_every_error),
		cmocka_unit_test(notices_in_both_protocols),
		cmocka_unit_test(lists_in_both_protocols),
		cmocka_unit_test(starting_sets_who_hears),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
