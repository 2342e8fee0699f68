/* The sniffer (src/server/sniff.c): the protocol a peer speaks, from its
 * first bytes, by the longest rule they start with; waiting while a longer
 * rule could still match, unless no more bytes will come. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "sniff.h"

/* Only their addresses matter to the sniffer. */
static const char text_proto, binary_proto, http_proto;
#define TEXT ((const struct proto_ops *)&text_proto)
#define BINARY ((const struct proto_ops *)&binary_proto)
#define HTTP ((const struct proto_ops *)&http_proto)

/* The table server.c fills, with the HTTP rule to come. */
static void table(struct sniffer *s)
{
	sniff_init(s, TEXT);
	assert_int_equal(sniff_add(s, "\0CHAT", 5, BINARY), 0);
	assert_int_equal(sniff_add(s, "\0", 1, NULL), 0);
	assert_int_equal(sniff_add(s, "GET ", 4, HTTP), 0);
}

static enum sniff_verdict match(const struct sniffer *s, const char *data, size_t len,
				bool final, const struct proto_ops **p)
{
	*p = NULL;
	return sniff_match(s, data, len, final, p);
}

static void whole_starts_name_their_protocol(void **state)
{
	(void)state;
	struct sniffer s;
	table(&s);
	const struct proto_ops *p;
	assert_int_equal(match(&s, "\0CHAT\1\1\0", 8, false, &p), SNIFF_FOUND);
	assert_ptr_equal(p, BINARY);
	assert_int_equal(match(&s, "\0CHAT\2", 6, false, &p), SNIFF_FOUND);
	assert_ptr_equal(p, BINARY); /* its version is binpeer's to judge */
	assert_int_equal(match(&s, "GET / HTTP/1.1\r\n", 16, false, &p), SNIFF_FOUND);
	assert_ptr_equal(p, HTTP);
	assert_int_equal(match(&s, "Hello|alice\n", 12, false, &p), SNIFF_FOUND);
	assert_ptr_equal(p, TEXT);
	assert_int_equal(match(&s, "GETTING THERE", 13, false, &p), SNIFF_FOUND);
	assert_ptr_equal(p, TEXT);
}

static void a_start_that_could_grow_waits(void **state)
{
	(void)state;
	struct sniffer s;
	table(&s);
	const struct proto_ops *p;
	assert_int_equal(match(&s, "\0", 1, false, &p), SNIFF_MORE);
	assert_int_equal(match(&s, "\0CH", 3, false, &p), SNIFF_MORE);
	assert_int_equal(match(&s, "GE", 2, false, &p), SNIFF_MORE);
	/* Nothing more is coming: judged as it is. */
	assert_int_equal(match(&s, "GE", 2, true, &p), SNIFF_FOUND);
	assert_ptr_equal(p, TEXT);
	assert_int_equal(match(&s, "\0CH", 3, true, &p), SNIFF_REFUSED);
}

static void a_rule_without_a_protocol_refuses(void **state)
{
	(void)state;
	struct sniffer s;
	table(&s);
	const struct proto_ops *p;
	/* NUL starts no text line, and this is no binary hello. */
	assert_int_equal(match(&s, "\0CHAX", 5, false, &p), SNIFF_REFUSED);
	assert_int_equal(match(&s, "\0\0\0", 3, false, &p), SNIFF_REFUSED);
}

static void the_table_is_bounded(void **state)
{
	(void)state;
	struct sniffer s;
	sniff_init(&s, TEXT);
	assert_int_equal(sniff_add(&s, "", 0, TEXT), -EINVAL);
	assert_int_equal(sniff_add(&s, "123456789", 9, TEXT), -EINVAL);
	for (int i = 0; i < SNIFF_MAX_RULES; i++)
		assert_int_equal(sniff_add(&s, "x", 1, TEXT), 0);
	assert_int_equal(sniff_add(&s, "y", 1, TEXT), -ENOSPC);
	const struct proto_ops *p;
	/* No rule at all: everything is the fallback's. */
	sniff_init(&s, BINARY);
	assert_int_equal(match(&s, "anything", 8, false, &p), SNIFF_FOUND);
	assert_ptr_equal(p, BINARY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(whole_starts_name_their_protocol),
		cmocka_unit_test(a_start_that_could_grow_waits),
		cmocka_unit_test(a_rule_without_a_protocol_refuses),
		cmocka_unit_test(the_table_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
