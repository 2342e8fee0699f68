/* The server's command table (src/server/commands.c): lookup in any case
 * and by alias, argument shapes, usage and /help written from the rows,
 * each row's flood cost; and the handlers run against a real hub, with no
 * loop, answering through a protocol that records what it is asked to
 * send (proto.h: a protocol is any struct proto_ops). */
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bus_local.h"
#include "commands.h"
#include "conn.h"
#include "hub.h"
#include "server_config.h"
#include "sniff.h"

static enum commands_match find(const char *line, const struct command **cmd, const char **arg,
				size_t *arg_len)
{
	return commands_find(line, strlen(line), cmd, arg, arg_len);
}

static void expect_found(const char *line, const char *name, const char *arg)
{
	const struct command *cmd;
	const char *got;
	size_t len;
	assert_int_equal(find(line, &cmd, &got, &len), COMMANDS_FOUND);
	assert_string_equal(cmd->name, name);
	if (arg == NULL) {
		assert_null(got);
		assert_int_equal(len, 0);
	} else {
		assert_int_equal(len, strlen(arg));
		assert_memory_equal(got, arg, len);
	}
}

static enum commands_match match_of(const char *line)
{
	const struct command *cmd;
	const char *arg;
	size_t len;
	return find(line, &cmd, &arg, &len);
}

static void every_row_is_found_in_any_case(void **state)
{
	(void)state;
	for (size_t i = 0; i < commands_count; i++) {
		char line[64], upper[64];
		snprintf(line, sizeof(line), "/%s", commands_table[i].name);
		for (size_t j = 0; j <= strlen(line); j++)
			upper[j] = (char)(line[j] >= 'a' && line[j] <= 'z' ? line[j] - 32 : line[j]);
		const struct command *cmd;
		const char *arg;
		size_t len;
		enum commands_match m = find(upper, &cmd, &arg, &len);
		assert_true(m == COMMANDS_FOUND || m == COMMANDS_BAD_ARGS);
		assert_ptr_equal(cmd, &commands_table[i]);
		assert_ptr_equal(commands_named(commands_table[i].name), &commands_table[i]);
	}
	expect_found("/WHO", "who", NULL);
	expect_found("/Rooms", "rooms", NULL);
	expect_found("/JoIn jeux", "join", "jeux");
	assert_ptr_equal(commands_named("JOIN"), commands_named("join"));
	assert_null(commands_named("nope"));
}

static void lines_that_are_not_commands(void **state)
{
	(void)state;
	assert_int_equal(match_of("bonjour /who"), COMMANDS_NONE);
	assert_int_equal(match_of(""), COMMANDS_NONE);
	assert_int_equal(match_of("/"), COMMANDS_UNKNOWN);
	assert_int_equal(match_of("/dance"), COMMANDS_UNKNOWN);
	assert_int_equal(match_of("/whom"), COMMANDS_UNKNOWN);
	assert_int_equal(match_of("/wh"), COMMANDS_UNKNOWN);
}

static void arguments_take_the_row_shape(void **state)
{
	(void)state;
	/* No argument: blanks are fine, a word is not. */
	expect_found("/who   ", "who", NULL);
	assert_int_equal(match_of("/who x"), COMMANDS_BAD_ARGS);
	/* The rest of the line, as typed (hub_room trims and checks it). */
	expect_found("/join  #Jeux vidéo ", "join", " #Jeux vidéo ");
	assert_int_equal(match_of("/join"), COMMANDS_BAD_ARGS);
	assert_int_equal(match_of("/join "), COMMANDS_BAD_ARGS);
	/* An optional word. */
	expect_found("/help", "help", NULL);
	expect_found("/help  join ", "help", "join");
	assert_int_equal(match_of("/help join who"), COMMANDS_BAD_ARGS);
}

static void run_nothing(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	(void)h, (void)c, (void)arg, (void)len;
}

/* A table of one's own: aliases, and the one-word shape. */
static const struct command mine[] = {
	{"msg", {"m", "tell"}, COMMAND_WORD, "PSEUDO", 1, run_nothing, "écrire à quelqu'un"},
	{"away", {NULL}, COMMAND_NO_ARGS, NULL, 1, run_nothing, "s'absenter"},
};

static void aliases_find_their_row(void **state)
{
	(void)state;
	const struct command *cmd;
	const char *arg;
	size_t len;
	const char *lines[] = {"/msg bob", "/M bob", "/tell  bob ", "/TELL bob"};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(commands_parse(mine, 2, lines[i], strlen(lines[i]), &cmd, &arg, &len),
				 COMMANDS_FOUND);
		assert_ptr_equal(cmd, &mine[0]);
		assert_int_equal(len, 3);
		assert_memory_equal(arg, "bob", 3);
	}
	assert_int_equal(commands_parse(mine, 2, "/m bob alice", 12, &cmd, &arg, &len),
			 COMMANDS_BAD_ARGS);
	assert_int_equal(commands_parse(mine, 2, "/m", 2, &cmd, &arg, &len), COMMANDS_BAD_ARGS);
	assert_int_equal(commands_parse(mine, 2, "/te", 3, &cmd, &arg, &len), COMMANDS_UNKNOWN);
}

static void usage_and_help_come_from_the_rows(void **state)
{
	(void)state;
	char buf[512];
	commands_usage(commands_named("join"), buf, sizeof(buf));
	assert_string_equal(buf, "/join SALON");
	commands_usage(commands_named("who"), buf, sizeof(buf));
	assert_string_equal(buf, "/who");
	commands_usage(commands_named("help"), buf, sizeof(buf));
	assert_string_equal(buf, "/help [COMMANDE]");
	commands_describe(commands_named("join"), buf, sizeof(buf));
	assert_string_equal(buf, "/join SALON : y aller, le créer s'il n'existe pas (aussi /j)");
	commands_describe(&mine[0], buf, sizeof(buf));
	assert_string_equal(buf, "/msg PSEUDO : écrire à quelqu'un (aussi /m, /tell)");

	char all[2048];
	commands_help("Commandes : ", all, sizeof(all));
	assert_true(strncmp(all, "Commandes : /rooms (les salons), "
			    "/join SALON (y aller, le créer s'il n'existe pas), /who (qui est là), "
			    "/msg PSEUDO TEXTE (un message privé, où qu'il soit), ", 146) == 0);
	assert_non_null(strstr(all, ", /help [COMMANDE] (cette liste, ou l'aide d'une commande)"));
	assert_non_null(strstr(all, "/part [SALON] (quitter ce salon ou celui nommé ; du dernier, retour à "
				    "general), /search [from:PSEUDO] [in:SALON] MOTS (chercher dans "
				    "l'historique de vos salons), /help"));
	commands_list(mine, 2, "", buf, sizeof(buf));
	assert_string_equal(buf, "/msg PSEUDO (écrire à quelqu'un), /away (s'absenter)");
	/* Cut, never overrun, and always terminated. */
	char small[16];
	assert_int_equal(commands_help("Commandes : ", small, sizeof(small)), sizeof(small) - 1);
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

static void each_command_costs_its_work(void **state)
{
	(void)state;
	assert_int_equal(commands_named("rooms")->cost, CONN_COST_LIST);
	assert_int_equal(commands_named("who")->cost, CONN_COST_LIST);
	assert_int_equal(commands_named("join")->cost, CONN_COST_JOIN);
	assert_int_equal(commands_named("help")->cost, CONN_COST_LINE);
}

/* ---- the handlers, on a hub without a loop ------------------------------ */

/* What the recording protocol was asked to send, last call only. */
static struct {
	int lists, errors, infos, histories;
	enum chat_list list_kind;
	char list[512];
	enum chat_error error;
	char detail[128];
	enum chat_info info;
} seen;

static void record_history(struct conn *c, struct room *room, uint64_t after_id)
{
	(void)c, (void)room, (void)after_id;
	seen.histories++;
}

static void record_error(struct conn *c, enum chat_error error, const char *detail)
{
	(void)c;
	seen.errors++;
	seen.error = error;
	snprintf(seen.detail, sizeof(seen.detail), "%s", detail != NULL ? detail : "");
}

static void record_info(struct conn *c, enum chat_info info, const char *detail)
{
	(void)c;
	seen.infos++;
	seen.info = info;
	snprintf(seen.detail, sizeof(seen.detail), "%s", detail != NULL ? detail : "");
}

static void record_list(struct conn *c, enum chat_list kind, const char *room,
			const struct chat_entry *entries, size_t count)
{
	(void)c;
	seen.lists++;
	seen.list_kind = kind;
	size_t used = (size_t)snprintf(seen.list, sizeof(seen.list), "%s:", room ? room : "");
	for (size_t i = 0; i < count; i++)
		used += (size_t)snprintf(seen.list + used, sizeof(seen.list) - used, " %s=%zu/%d",
					 entries[i].name, entries[i].count, entries[i].colour);
}

static const struct proto_ops recorder = {
	.name = "recorder",
	.format = EVENT_FORMAT_TEXT,
	.send_history = record_history,
	.send_error = record_error,
	.send_info = record_info,
	.send_list = record_list,
};

static void nothing(struct conn *c)
{
	(void)c;
}

struct chat {
	struct server_config cfg;
	struct sniffer sniffer;
	struct conns set;
	struct hub hub;
	struct bus_local bus;
	char clean[256];
};

static void chat_open(struct chat *t)
{
	memset(t, 0, sizeof(*t));
	t->cfg.max_queue_bytes = 1 << 20;
	static const struct conn_hooks hooks = {nothing, nothing, nothing};
	sniff_init(&t->sniffer, &recorder);
	conns_init(&t->set, NULL, &t->cfg, &t->sniffer, &t->hub, &hooks, t);
	assert_int_equal(hub_init(&t->hub, 10, 10, 1000, 4, t->clean, sizeof(t->clean)), 0);
	bus_local_init(&t->bus, 0);
	hub_attach_bus(&t->hub, &t->bus.bus);
}

/* A peer as a transport would hand it over, in the default room. */
static struct conn *peer(struct chat *t, const char *pseudo)
{
	struct conn *c = calloc(1, sizeof(*c));
	c->set = &t->set;
	c->id = ++t->set.last_id;
	c->proto = &recorder;
	c->proto_started = true;
	c->hears = true;
	c->colour = -1;
	/* 192.0.2.{id}:4000 (TEST-NET-1, on into 192.0.3.x past 255) */
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(4000),
				 .sin_addr.s_addr = htonl(0xc0000200u + (uint32_t)c->id)};
	conn_set_address(c, (const struct sockaddr *)&sa);
	outq_init(&c->out);
	hub_add(&t->hub, c);
	if (pseudo != NULL) {
		char skeleton[NAMES_SKELETON_MAX], why[128];
		assert_int_equal(hub_check_pseudo(&t->hub, c, pseudo, strlen(pseudo), skeleton,
						  why, sizeof(why)), 0);
		hub_name(&t->hub, c, pseudo, strlen(pseudo), skeleton, 0, 28);
	}
	return c;
}

static void run(struct chat *t, struct conn *c, const char *line)
{
	const struct command *cmd;
	const char *arg;
	size_t len;
	assert_int_equal(find(line, &cmd, &arg, &len), COMMANDS_FOUND);
	cmd->run(&t->hub, c, arg, len);
}

static void chat_close(struct chat *t, struct conn **peers, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		t->hub.quiet = true; /* nobody is told, as when the server stops */
		hub_remove(&t->hub, peers[i]);
		outq_clear(&peers[i]->out);
		conn_budgets_forget(peers[i]); /* made by its first JOIN */
		if (peers[i]->pending)
			LIST_REMOVE(peers[i], pending_link);
		free(peers[i]);
	}
	hub_free(&t->hub);
}

static void the_handlers_answer_through_the_protocol(void **state)
{
	(void)state;
	struct chat t;
	chat_open(&t);
	struct conn *alice = peer(&t, "alice"), *anon = peer(&t, NULL);
	memset(&seen, 0, sizeof(seen));

	run(&t, alice, "/who");
	assert_int_equal(seen.list_kind, CHAT_LIST_WHO);
	assert_true(strstr(seen.list, "general:") == seen.list);
	assert_non_null(strstr(seen.list, " alice=0/28"));
	assert_non_null(strstr(seen.list, " 192.0.2.2:4000=0/-1"));

	/* Somebody without a pseudo moves silently, and is told where it is. */
	run(&t, anon, "/join  #Jeux ");
	assert_int_equal(seen.histories, 1);
	assert_int_equal(seen.infos, 1);
	assert_int_equal(seen.info, CHAT_INFO_IN_ROOM);
	assert_string_equal(seen.detail, "Jeux");
	assert_string_equal(anon->room->name, "Jeux");

	run(&t, anon, "/join jeux");
	assert_int_equal(seen.errors, 1);
	assert_int_equal(seen.error, CHAT_ERR_ALREADY_HERE);
	assert_string_equal(seen.detail, "Jeux");

	run(&t, anon, "/join a/b");
	assert_int_equal(seen.error, CHAT_ERR_ROOM);
	assert_string_equal(seen.detail,
			    "le nom du salon ne prend que lettres, chiffres, '-', '_' et '.'");

	run(&t, alice, "/rooms");
	assert_int_equal(seen.list_kind, CHAT_LIST_ROOMS);
	assert_string_equal(seen.list, ": general=1/-1 Jeux=1/-1");

	/* A named peer's move is an event: its arrival reaches the room
	 * (anon's queue), encoded once. */
	run(&t, alice, "/join jeux");
	assert_int_equal(seen.histories, 2);
	assert_int_equal(anon->out.count, 1);
	assert_true(anon->pending);

	run(&t, alice, "/help join");
	assert_int_equal(seen.info, CHAT_INFO_HELP);
	assert_string_equal(seen.detail, "/join SALON : y aller, le créer s'il n'existe pas (aussi /j)");
	run(&t, alice, "/help");
	assert_true(strncmp(seen.detail, "Commandes : /rooms (les salons), ", 33) == 0);

	struct conn *all[] = {alice, anon};
	chat_close(&t, all, 2);
}

/* Pseudos present, by skeleton (hub_names.c): one entry each, its count
 * and the conn that took it last. */
static void names_are_found_by_skeleton_and_given_up(void **state)
{
	(void)state;
	struct chat t;
	chat_open(&t);
	struct conn *peers[3];
	peers[0] = peer(&t, "Alice");
	peers[1] = peer(&t, "bob");
	assert_ptr_equal(hub_find_named(&t.hub, "ALICE", 5), peers[0]);
	char alice[NAMES_SKELETON_MAX], carol[NAMES_SKELETON_MAX];
	assert_int_equal(names_skeleton("alice", 5, alice, sizeof(alice)), 0);
	assert_int_equal(names_skeleton("carol", 5, carol, sizeof(carol)), 0);
	assert_ptr_equal(hub_named_conn(&t.hub, alice), peers[0]);
	assert_true(hub_pseudo_taken(&t.hub, alice));
	char skeleton[NAMES_SKELETON_MAX], why[128];
	assert_int_equal(hub_check_pseudo(&t.hub, peers[1], "alice", 5, skeleton, why,
					  sizeof(why)), -EEXIST);
	/* A rename gives the old pseudo up. */
	assert_int_equal(hub_check_pseudo(&t.hub, peers[0], "Carol", 5, skeleton, why,
					  sizeof(why)), 0);
	hub_rename(&t.hub, peers[0], "Carol", 5, skeleton);
	assert_false(hub_pseudo_taken(&t.hub, alice));
	assert_null(hub_find_named(&t.hub, "alice", 5));
	assert_ptr_equal(hub_find_named(&t.hub, "carol", 5), peers[0]);
	/* Two wear one skeleton (two servers' claims crossing): the last is
	 * found; it is taken while either wears it. */
	peers[2] = peer(&t, NULL);
	hub_name(&t.hub, peers[2], "CAROL", 5, carol, 0, 28);
	assert_ptr_equal(hub_named_conn(&t.hub, carol), peers[2]);
	assert_ptr_equal(hub_find_named(&t.hub, "Carol", 5), peers[2]);
	hub_forget_name(&t.hub, peers[2], carol);
	peers[2]->has_pseudo = false;
	assert_true(hub_pseudo_taken(&t.hub, carol));
	assert_null(hub_named_conn(&t.hub, carol));
	hub_forget_name(&t.hub, peers[0], carol);
	peers[0]->has_pseudo = false;
	assert_false(hub_pseudo_taken(&t.hub, carol));
	assert_int_equal(g_hash_table_size(t.hub.named), 1); /* bob's */
	chat_close(&t, peers, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_row_is_found_in_any_case),
		cmocka_unit_test(lines_that_are_not_commands),
		cmocka_unit_test(arguments_take_the_row_shape),
		cmocka_unit_test(aliases_find_their_row),
		cmocka_unit_test(usage_and_help_come_from_the_rows),
		cmocka_unit_test(each_command_costs_its_work),
		cmocka_unit_test(the_handlers_answer_through_the_protocol),
		cmocka_unit_test(names_are_found_by_skeleton_and_given_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
