/* A conn's compact parts, without a loop: its address's three strings at
 * offsets into one buffer (src/server/conn_addr.c), inline or in a block
 * of their own, and its extras (conn_extras.c: budgets, social), made at
 * the first need and gone once empty. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "conn.h"
#include "server_config.h"
#include "social.h"

static struct conn *address_of(const struct sockaddr *sa)
{
	struct conn *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	conn_set_address(c, sa);
	return c;
}

static void free_conn(struct conn *c)
{
	if (c->addr_in_block)
		free(c->address.block);
	free(c);
}

static struct conn *ipv6(const char *ip, unsigned port)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
	assert_int_equal(inet_pton(AF_INET6, ip, &sa.sin6_addr), 1);
	return address_of((const struct sockaddr *)&sa);
}

static void empty_until_set(void **state)
{
	(void)state;
	struct conn *c = calloc(1, sizeof(*c));
	assert_string_equal(conn_ip(c), "");
	assert_string_equal(conn_addr(c), "");
	assert_string_equal(conn_addr_key(c), "");
	free_conn(c);
}

static void ipv4_inline(void **state)
{
	(void)state;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(65535)};
	assert_int_equal(inet_pton(AF_INET, "255.255.255.255", &sa.sin_addr), 1);
	struct conn *c = address_of((const struct sockaddr *)&sa);
	assert_false(c->addr_in_block); /* the longest IPv4 fits */
	assert_string_equal(conn_ip(c), "255.255.255.255");
	assert_string_equal(conn_addr(c), "255.255.255.255:65535");
	assert_string_equal(conn_addr_key(c), "255.255.255.255");
	assert_int_equal(c->port, 65535);
	free_conn(c);
}

static void ipv6_keyed_by_its_prefix(void **state)
{
	(void)state;
	struct conn *c = ipv6("::1", 5);
	assert_false(c->addr_in_block);
	assert_string_equal(conn_ip(c), "::1");
	assert_string_equal(conn_addr(c), "::1:5");
	assert_string_equal(conn_addr_key(c), "::/64");
	free_conn(c);

	c = ipv6("2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff", 65535);
	assert_true(c->addr_in_block); /* too long for the conn: a block */
	assert_string_equal(conn_ip(c), "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff");
	assert_string_equal(conn_addr(c), "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff:65535");
	assert_string_equal(conn_addr_key(c), "2001:db8:aaaa:bbbb::/64");
	assert_int_equal(c->port, 65535);
	free_conn(c);

	/* An IPv4 client of a dual-stack socket is counted by its IP. */
	c = ipv6("::ffff:192.0.2.1", 80);
	assert_string_equal(conn_ip(c), "::ffff:192.0.2.1");
	assert_string_equal(conn_addr(c), "::ffff:192.0.2.1:80");
	assert_string_equal(conn_addr_key(c), "::ffff:192.0.2.1");
	free_conn(c);
}

static void no_address(void **state)
{
	(void)state;
	struct conn *c = address_of(NULL);
	assert_string_equal(conn_ip(c), "");
	assert_string_equal(conn_addr(c), ":0");
	assert_string_equal(conn_addr_key(c), "");
	free_conn(c);
}

static void nothing(struct conn *c)
{
	(void)c;
}

static void extras_while_used(void **state)
{
	(void)state;
	static const struct conn_hooks hooks = {nothing, nothing, nothing};
	struct server_config cfg = {0};
	struct conns set;
	conns_init(&set, NULL, &cfg, NULL, NULL, &hooks, NULL);
	struct conn *c = calloc(1, sizeof(*c));
	c->set = &set;
	assert_null(c->extras); /* an idle peer: none */
	assert_null(conn_budgets_held(c));
	assert_null(conn_social(c));

	struct conn_budgets *b = conn_budgets(c);
	assert_non_null(b);
	assert_ptr_equal(conn_budgets_held(c), b);
	assert_ptr_equal(conn_budgets(c), b); /* made once */
	struct social *s = social_of(c);
	assert_non_null(s);
	assert_ptr_equal(conn_social(c), s);
	assert_null(conn_pictures(c));

	conn_budgets_forget(c); /* its social keeps the block */
	assert_null(conn_budgets_held(c));
	assert_ptr_equal(conn_social(c), s);
	social_free(c);
	assert_null(c->extras); /* empty: gone */

	assert_non_null(conn_budgets(c));
	conn_budgets_forget(c);
	assert_null(c->extras);
	conn_budgets_forget(c); /* none: nothing to do */
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_until_set),
		cmocka_unit_test(ipv4_inline),
		cmocka_unit_test(ipv6_keyed_by_its_prefix),
		cmocka_unit_test(no_address),
		cmocka_unit_test(extras_while_used),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
