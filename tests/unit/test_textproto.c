/* The text protocol's first line, and pseudo and room rules (the security
 * review's M3, L7 and I3 cases, and issue 17's room names). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <utf8proc.h>

#include "textproto.h"

static struct text_msg parse(const char *line)
{
	struct text_msg m;
	textproto_parse_first(line, strlen(line), &m);
	return m;
}

static void first_lines(void **state)
{
	(void)state;
	assert_int_equal(parse("Hello").kind, TEXT_HELLO);
	struct text_msg m = parse("Hello|it4");
	assert_int_equal(m.kind, TEXT_HELLO_PSEUDO);
	assert_int_equal(m.len, 3);
	assert_memory_equal(m.text, "it4", 3);
	m = parse("Hello|");
	assert_int_equal(m.kind, TEXT_HELLO_PSEUDO);
	assert_int_equal(m.len, 0);
	const char *messages[] = {"Hellox", "hello", "Hello ", "salut", "", "Hell"};
	for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
		m = parse(messages[i]);
		assert_int_equal(m.kind, TEXT_MESSAGE);
		assert_int_equal(m.len, strlen(messages[i]));
	}
}

static void pseudos(void **state)
{
	(void)state;
	const char *cause;
	const char *good[] = {"it4", "Zoé", "日本", "a", "x-y_z.1"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(textproto_check_pseudo(good[i], strlen(good[i]), &cause), 0);
	char long_one[34];
	memset(long_one, 'p', 33);
	long_one[33] = '\0';
	const char *bad[] = {"", long_one, "\xff\xfe", " lead", "trail ", "a|b", "a:b",
			     "bel\x07", "esc\x1b[31m", "\xe2\x80\xae" "evil", "bo\xe2\x80\x8b" "b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cause = NULL;
		assert_int_not_equal(textproto_check_pseudo(bad[i], strlen(bad[i]), &cause), 0);
		assert_non_null(cause);
	}
	assert_int_equal(textproto_check_pseudo(long_one, 32, &cause), 0);
}

static void rooms(void **state)
{
	(void)state;
	const char *cause;
	assert_int_equal(textproto_check_room("general", 7, &cause), 0);
	assert_int_equal(textproto_check_room("salle-2_b.c", 11, &cause), 0);
	assert_int_equal(textproto_check_room("café", 5, &cause), 0);
	const char *bad[] = {"", "a b", "../x", "a/b", "\xe2\x80\xae", "x\x1b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(textproto_check_room(bad[i], strlen(bad[i]), &cause), 0);
	char long_one[33];
	memset(long_one, 'r', 33);
	assert_int_not_equal(textproto_check_room(long_one, 33, &cause), 0);
	assert_int_equal(textproto_check_room(long_one, 32, &cause), 0);
}

static void pseudo_refused(const char *pseudo, const char *why)
{
	const char *cause = NULL;
	if (textproto_check_pseudo(pseudo, strlen(pseudo), &cause) == 0)
		fail_msg("pseudo '%s' accepted", pseudo);
	if (strcmp(cause, why) != 0)
		fail_msg("pseudo '%s': '%s', not '%s'", pseudo, cause, why);
}

static void pseudo_accepted(const char *pseudo)
{
	const char *cause = NULL;
	if (textproto_check_pseudo(pseudo, strlen(pseudo), &cause) != 0)
		fail_msg("pseudo '%s' refused: %s", pseudo, cause);
}

static const char mixed_pseudo[] =
	"le pseudo mélange des écritures (latin et cyrillique, par exemple)";
static const char edge_blank[] = "le pseudo commence ou finit par une espace";
static const char looks_empty[] = "le pseudo semble vide";
static const char invisible_pseudo[] = "le pseudo contient un caractère invisible";

/* M3, literally the review's t_identity.py list: each was accepted. */
static void look_alike_pseudos_are_refused(void **state)
{
	(void)state;
	pseudo_refused("\xd0\xb0lice", mixed_pseudo);                        /* Cyrillic а */
	pseudo_refused("\xd0\xb0l\xd1\x96\xd1\x81\xd0\xb5", mixed_pseudo);   /* а і с е */
	pseudo_refused("alice\xc2\xa0", edge_blank);                         /* NBSP */
	pseudo_refused("alice\xe3\x80\x80", edge_blank);                     /* U+3000 */
	pseudo_refused("alice\xe2\xa0\x80", edge_blank);                     /* U+2800 */
	pseudo_refused("\xe2\xa0\x80", looks_empty);
	pseudo_refused("\xe3\x80\x80", looks_empty);
	pseudo_refused("\xc2\xa0", looks_empty);
	pseudo_refused("\xe2\xa0\x80\xe3\x80\x80\xc2\xa0 ", looks_empty);
	pseudo_refused("127.0.0.1\xef\xbc\x9a" "40000",
		       "le pseudo imite l'étiquette {IP}:{Port} d'un pair anonyme");
	pseudo_refused("Annonce \xef\xbc\x9a bob",
		       "le pseudo imite une annonce du serveur (« Annonce : »)");
	/* "aIice" passes the rules: it is refused as taken, by its skeleton
	 * (test_names), since 'I' alone is honest. */
	pseudo_accepted("aIice");
}

static void pseudos_in_other_disguises(void **state)
{
	(void)state;
	const char *forbidden = "le pseudo contient un caractère interdit";
	pseudo_refused("a:b", forbidden);
	pseudo_refused("a|b", forbidden);
	pseudo_refused("a\xef\xbd\x9c" "b", forbidden);              /* fullwidth | */
	pseudo_refused("a\xe2\x88\xb6" "b", forbidden);              /* ratio ∶ */
	pseudo_refused("127.0.0.1:40000",
		       "le pseudo imite l'étiquette {IP}:{Port} d'un pair anonyme");
	pseudo_refused("[::1]\xef\xb9\x95" "40000",                  /* small colon */
		       "le pseudo imite l'étiquette {IP}:{Port} d'un pair anonyme");
	pseudo_refused("\xef\xbc\x91\xef\xbc\x92\xef\xbc\x97.0.0.1\xe2\x88\xb6" "1",
		       "le pseudo imite l'étiquette {IP}:{Port} d'un pair anonyme");
	pseudo_refused("\xce\x91nnonce\xcb\x90",                     /* Greek Α, ː */
		       "le pseudo imite une annonce du serveur (« Annonce : »)");
	pseudo_refused("ANNONCE:x",
		       "le pseudo imite une annonce du serveur (« Annonce : »)");
	pseudo_refused("jean\xc2\xa0pierre",
		       "le pseudo contient une espace autre que l'espace ordinaire");
	pseudo_refused("a\xe2\xa0\x80" "b",
		       "le pseudo contient une espace autre que l'espace ordinaire");
	pseudo_refused(" alice", edge_blank);
	pseudo_refused("\xe2\x80\x83" "alice", edge_blank);          /* em space */
	pseudo_refused("\xcc\x81", looks_empty);                     /* a lone accent */
	pseudo_refused("\xce\xbdictor", mixed_pseudo);               /* Greek ν */
	pseudo_refused("1\xd9\xa2",
		       "le pseudo mélange des chiffres de systèmes différents");
	pseudo_refused("i\xcc\x87",
		       "le pseudo contient des accents qui se cachent ou s'empilent");
	pseudo_refused("a\xee\x80\x80",
		       "le pseudo contient un caractère non attribué ou à usage privé");
	/* What held up: invisible characters (I3: the bidi marks too). */
	pseudo_refused("bo\xe2\x80\x8b" "b", invisible_pseudo);      /* ZWSP */
	pseudo_refused("b\xcd\x8f" "ob", invisible_pseudo);          /* CGJ */
	pseudo_refused("bob\xe2\x80\x8e", invisible_pseudo);         /* LRM */
	pseudo_refused("bob\xe2\x80\x8f", invisible_pseudo);         /* RLM */
	pseudo_refused("bob\xd8\x9c", invisible_pseudo);             /* ALM */
	pseudo_refused("\xe3\x85\xa4", invisible_pseudo);            /* Hangul filler */
	pseudo_refused("b\xef\xbe\xa0ob", invisible_pseudo);         /* U+FFA0 */
	pseudo_refused("\xe1\x85\x9f" "bob", invisible_pseudo);      /* U+115F */
}

static void honest_pseudos_pass(void **state)
{
	(void)state;
	const char *good[] = {
		"alice", "Alice", "\xef\xbd\x81lice",                 /* ａlice */
		"\xf0\x9d\x90\x9a\xf0\x9d\x90\xa5\xf0\x9d\x90\xa2\xf0\x9d\x90\x9c\xf0\x9d\x90\x9e",
		"zo\xc3\xa9", "zoe\xcc\x81", "jean pierre", "Zo\xc3\xa9 \xe2\x98\x95",
		"\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd",                   /* Иван */
		"Yuki \xe9\x9b\xaa", "Annonce", "Annonce-bob", "192.168.0.1", "x-y_z.1",
		"\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\x82\xe0\xa4\xa6\xe0\xa5\x80", /* हिंदी */
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		pseudo_accepted(good[i]);
}

static void room_refused(const char *room, const char *why)
{
	const char *cause = NULL;
	if (textproto_check_room(room, strlen(room), &cause) == 0)
		fail_msg("room '%s' accepted", room);
	if (strcmp(cause, why) != 0)
		fail_msg("room '%s': '%s', not '%s'", room, cause, why);
}

static void room_accepted(const char *room)
{
	const char *cause = NULL;
	if (textproto_check_room(room, strlen(room), &cause) != 0)
		fail_msg("room '%s' refused: %s", room, cause);
}

/* L7, literally the review's list: each made a room of its own. Those
 * still accepted fold onto "general" or "café" (test_names). */
static void look_alike_rooms(void **state)
{
	(void)state;
	const char *invisible = "le nom du salon contient un caractère invisible";
	const char *mixed = "le nom du salon mélange des écritures (latin et cyrillique, par exemple)";
	room_accepted("General");
	room_refused("g\xd0\xb5neral", mixed);
	room_refused("general\xe2\x80\x8b", invisible);
	room_refused("gen\xc2\xad" "eral", invisible);
	room_accepted("caf\xc3\xa9");
	room_accepted("cafe\xcc\x81");
	room_accepted("\xef\xbd\x87\xef\xbd\x85\xef\xbd\x8e\xef\xbd\x85\xef\xbd\x92"
		      "\xef\xbd\x81\xef\xbd\x8c");
	room_refused("general\xe2\x80\x8d", invisible);
	room_refused("general\xe2\x81\xa0", invisible);
	room_refused("\xef\xbb\xbfgeneral", invisible);
	room_refused("\xe3\x85\xa4", invisible);
	room_refused("general\xe2\x80\x8f", invisible);
	/* I3: the other bidi marks. */
	room_refused("general\xe2\x80\x8e", invisible);
	room_refused("general\xd8\x9c", invisible);
}

static void rooms_are_letters_digits_and_three_signs(void **state)
{
	(void)state;
	const char *only = "le nom du salon ne prend que lettres, chiffres, '-', '_' et '.'";
	room_refused("cafe\xe2\x98\x95", only);       /* issue 17: cafe☕ */
	room_refused("#jeux", only);                  /* textproto_normalise_room drops it */
	room_refused("jeux ", only);
	room_refused("a\xc2\xa0" "b", only);
	room_refused("\xcc\x81" "abc", only);         /* a mark with nothing before */
	room_refused("a\xef\xbc\x8d" "b", only);      /* fullwidth hyphen */
	room_accepted("JEUX");
	room_accepted("\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0"); /* Москва */
	room_accepted("\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\x82\xe0\xa4\xa6\xe0\xa5\x80");
	room_accepted("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	room_accepted("salle-2_b.c");
}

static void normalise(const char *in, const char *want)
{
	char out[TEXT_MAX_ROOM + 1];
	size_t n;
	const char *cause = NULL;
	if (textproto_normalise_room(in, strlen(in), out, sizeof(out), &n, &cause) != 0)
		fail_msg("'%s' not normalised: %s", in, cause);
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

static void normalise_refused(const char *in, const char *why)
{
	char out[TEXT_MAX_ROOM + 1];
	size_t n;
	const char *cause = NULL;
	assert_int_not_equal(textproto_normalise_room(in, strlen(in), out, sizeof(out), &n,
						      &cause), 0);
	assert_string_equal(cause, why);
}

/* Issue 17: "/join #jeux" and "/join jeux " mean jeux. */
static void typed_room_names_are_normalised(void **state)
{
	(void)state;
	normalise("#jeux", "jeux");
	normalise("jeux ", "jeux");
	normalise("  #jeux\t", "jeux");
	normalise("\xe3\x80\x80jeux\xc2\xa0", "jeux");
	normalise("cafe\xcc\x81", "caf\xc3\xa9");      /* NFC */
	normalise("##x", "#x");                         /* one '#' only: then refused */
	normalise("# jeux", " jeux");
	normalise("JEUX", "JEUX");                      /* case: the skeleton's job */
	char long_nfd[48];                              /* 16 × "e" U+0301: 48 bytes, NFC 32 */
	for (int i = 0; i < 16; i++)
		memcpy(long_nfd + 3 * i, "e\xcc\x81", 3);
	char want[33];
	for (int i = 0; i < 16; i++)
		memcpy(want + 2 * i, "\xc3\xa9", 2);
	want[32] = '\0';
	char out[TEXT_MAX_ROOM + 1];
	size_t n;
	const char *cause;
	assert_int_equal(textproto_normalise_room(long_nfd, sizeof(long_nfd), out, sizeof(out),
						  &n, &cause), 0);
	assert_string_equal(out, want);
	normalise_refused("", "le nom du salon est vide");
	normalise_refused(" # ", "le nom du salon est vide");
	normalise_refused("#", "le nom du salon est vide");
	normalise_refused("\xff", "le nom du salon contient un caractère interdit");
	normalise_refused("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "le nom du salon dépasse 32 octets");
}

/* ASCII room letters are judged without utf8proc (textproto.c): as its
 * categories say, letters and digits, and '-', '_', '.'. */
static void ascii_room_letters_are_utf8procs(void **state)
{
	(void)state;
	const char *cause;
	for (unsigned cp = 0x21; cp < 0x7f; cp++) {
		utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
		bool ok = c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL ||
			  c == UTF8PROC_CATEGORY_ND || cp == '-' || cp == '_' || cp == '.';
		char name[3] = {'a', (char)cp, 'b'};
		if ((textproto_check_room(name, 3, &cause) == 0) != ok)
			fail_msg("room 'a%cb': %s", (char)cp, ok ? "refused" : "accepted");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_lines),
		cmocka_unit_test(pseudos),
		cmocka_unit_test(rooms),
		cmocka_unit_test(look_alike_pseudos_are_refused),
		cmocka_unit_test(pseudos_in_other_disguises),
		cmocka_unit_test(honest_pseudos_pass),
		cmocka_unit_test(look_alike_rooms),
		cmocka_unit_test(rooms_are_letters_digits_and_three_signs),
		cmocka_unit_test(typed_room_names_are_normalised),
		cmocka_unit_test(ascii_room_letters_are_utf8procs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
