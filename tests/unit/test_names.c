/* Name identity: look-alikes share a skeleton (TR39 through ICU and
 * utf8proc); invisible, blank and mixed-script text is seen. The cases
 * are the security review's (2026-11, M3, L7, I3 and "what held up"). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unicode/uchar.h>
#include <utf8proc.h>

#include "names.h"

static void same(const char *a, const char *b)
{
	char sa[NAMES_SKELETON_MAX], sb[NAMES_SKELETON_MAX];
	assert_int_equal(names_skeleton(a, strlen(a), sa, sizeof(sa)), 0);
	assert_int_equal(names_skeleton(b, strlen(b), sb, sizeof(sb)), 0);
	if (strcmp(sa, sb) != 0)
		fail_msg("'%s' (%s) and '%s' (%s) should be one name", a, sa, b, sb);
}

static void differ(const char *a, const char *b)
{
	char sa[NAMES_SKELETON_MAX], sb[NAMES_SKELETON_MAX];
	assert_int_equal(names_skeleton(a, strlen(a), sa, sizeof(sa)), 0);
	assert_int_equal(names_skeleton(b, strlen(b), sb, sizeof(sb)), 0);
	if (strcmp(sa, sb) == 0)
		fail_msg("'%s' and '%s' should be two names (both %s)", a, b, sa);
}

/* What already worked and must keep working. */
static void held_up_look_alikes_collide(void **state)
{
	(void)state;
	same("alice", "Alice");                    /* case */
	same("alice", "ALICE");
	same("alice", "\xef\xbd\x81lice");         /* fullwidth a */
	same("alice", "\xef\xbd\x81\xef\xbd\x8c\xef\xbd\x89\xef\xbd\x83\xef\xbd\x85");
	same("zoe", "Zo\xc3\xa9");                 /* é */
	same("zo\xc3\xa9", "zoe\xcc\x81");         /* NFC and NFD */
	same("alice", "\xf0\x9d\x90\x9a\xf0\x9d\x90\xa5\xf0\x9d\x90\xa2\xf0\x9d\x90\x9c"
		      "\xf0\x9d\x90\x9e");         /* mathematical bold */
	same("alice", "alice\xcc\x85");            /* combining overline */
	same("alice", "alice\xcc\xb8");            /* combining long solidus */
	same("strasse", "Stra\xc3\x9f" "e");       /* ß folds to ss */
	same("bob", "b\xe2\x80\x8bob");            /* zero width space */
}

/* M3: the homoglyphs that passed at af2bd34. */
static void homoglyphs_collide(void **state)
{
	(void)state;
	same("alice", "\xd0\xb0lice");                     /* Cyrillic а */
	same("alice", "\xd0\xb0l\xd1\x96\xd1\x81\xd0\xb5"); /* Cyrillic а і с е */
	same("alice", "aIice");                            /* capital I for l */
	same("alice", "AL1CE");                            /* digit one */
	same("victor", "\xce\xbdictor");                   /* Greek ν */
	same("bob", "b0b");                                /* digit zero */
	same("Annonce", "\xce\x91nnonce");                 /* Greek Α */
	same("m", "rn");
}

/* L7 and issue 17: room names fold as pseudos do. */
static void room_names_collide(void **state)
{
	(void)state;
	same("general", "General");
	same("general", "g\xd0\xb5neral");                 /* Cyrillic е */
	same("general", "general\xe2\x80\x8b");            /* ZWSP */
	same("general", "gen\xc2\xad" "eral");             /* soft hyphen */
	same("general", "\xef\xbd\x87\xef\xbd\x85\xef\xbd\x8e\xef\xbd\x85\xef\xbd\x92"
			"\xef\xbd\x81\xef\xbd\x8c");      /* fullwidth */
	same("general", "general\xe2\x80\x8d");            /* ZWJ */
	same("general", "general\xe2\x81\xa0");            /* word joiner */
	same("general", "\xef\xbb\xbfgeneral");            /* BOM */
	same("general", "general\xe2\x80\x8f");            /* RLM */
	same("caf\xc3\xa9", "cafe\xcc\x81");               /* NFC and NFD */
	same("jeux", "JEUX");
}

static void different_names_stay_different(void **state)
{
	(void)state;
	differ("alice", "alicia");
	differ("alice", "bob");
	differ("bob", "bob2");
	differ("jeux", "general");
	differ("\xe6\x97\xa5\xe6\x9c\xac", "\xe4\xb8\xad\xe5\x9b\xbd");  /* 日本, 中国 */
	differ("\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0", "moskva"); /* Москва */
	differ("jean pierre", "jeanpierre");
}

static void invisible_characters_are_seen(void **state)
{
	(void)state;
	assert_true(names_has_invisible("b\xe2\x80\x8bob", 6));     /* U+200B */
	assert_true(names_has_invisible("bob\xe2\x81\xa0", 6));     /* U+2060 */
	assert_true(names_has_invisible("\xef\xbb\xbf" "bob", 6));  /* U+FEFF */
	assert_true(names_has_invisible("bo\xc2\xad" "b", 5));      /* soft hyphen */
	assert_true(names_has_invisible("b\xcd\x8f" "ob", 5));      /* CGJ U+034F */
	assert_true(names_has_invisible("bob\xe2\x80\x8e", 6));     /* LRM (I3) */
	assert_true(names_has_invisible("bob\xe2\x80\x8f", 6));     /* RLM (I3) */
	assert_true(names_has_invisible("bob\xd8\x9c", 5));         /* ALM U+061C (I3) */
	assert_true(names_has_invisible("\xe3\x85\xa4", 3));        /* Hangul filler U+3164 */
	assert_true(names_has_invisible("\xef\xbe\xa0", 3));        /* halfwidth U+FFA0 */
	assert_true(names_has_invisible("\xe1\x85\x9f", 3));        /* U+115F */
	assert_true(names_has_invisible("\xe1\x85\xa0", 3));        /* U+1160 */
	assert_false(names_has_invisible("bob", 3));
	assert_false(names_has_invisible("Zo\xc3\xa9", 4));
	assert_false(names_has_invisible("\xe6\x97\xa5\xe6\x9c\xac", 6));
	assert_false(names_has_invisible("a b", 3));
}

static void blanks_and_empty_looks(void **state)
{
	(void)state;
	assert_true(names_is_blank(' '));
	assert_true(names_is_blank(0xa0));    /* NBSP */
	assert_true(names_is_blank(0x3000));  /* ideographic space */
	assert_true(names_is_blank(0x2800));  /* braille blank */
	assert_true(names_is_blank(0x2007));  /* figure space */
	assert_false(names_is_blank('a'));
	assert_false(names_is_blank(0x2801));
	assert_true(names_looks_empty("\xe2\xa0\x80", 3));           /* U+2800 */
	assert_true(names_looks_empty("\xe3\x80\x80\xe3\x80\x80", 6)); /* U+3000 x2 */
	assert_true(names_looks_empty("\xc2\xa0", 2));               /* NBSP */
	assert_true(names_looks_empty("\xcc\x81\xcc\x81", 4));       /* marks alone */
	assert_true(names_looks_empty("\xe3\x85\xa4", 3));           /* Hangul filler */
	assert_true(names_looks_empty("\xe2\x80\x8b ", 4));
	assert_false(names_looks_empty("\xe2\xa0\x80x", 4));
	assert_false(names_looks_empty(".", 1));
	assert_false(names_looks_empty("\xe2\x98\x95", 3));          /* ☕ */
}

static void scripts_are_not_mixed(void **state)
{
	(void)state;
	const char *mixed[] = {
		"\xd0\xb0lice",            /* Latin with a Cyrillic а */
		"\xce\xbdictor",           /* Latin with a Greek ν */
		"g\xd0\xb5neral",
		"Ivan \xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd",
	};
	for (size_t i = 0; i < sizeof(mixed) / sizeof(mixed[0]); i++)
		assert_int_equal(names_spoof_check(mixed[i], strlen(mixed[i])), NAMES_SPOOF_SCRIPTS);
	const char *fine[] = {
		"alice", "Zo\xc3\xa9", "\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd", /* Иван */
		"Yuki \xe9\x9b\xaa",       /* Latin and Han */
		"x-y_z.1", "caf\xc3\xa9 \xe2\x98\x95",
	};
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++)
		assert_int_equal(names_spoof_check(fine[i], strlen(fine[i])), NAMES_SPOOF_NONE);
	/* ASCII 1 with Arabic-Indic ٢ */
	assert_int_equal(names_spoof_check("1\xd9\xa2", 3), NAMES_SPOOF_NUMBERS);
	/* i with a combining dot above: the dot hides in the i's own */
	assert_int_equal(names_spoof_check("i\xcc\x87", 3), NAMES_SPOOF_MARKS);
}

static void colons_are_seen_in_disguise(void **state)
{
	(void)state;
	assert_true(names_is_colon_like(':'));
	assert_true(names_is_colon_like(0xff1a));  /* fullwidth colon */
	assert_true(names_is_colon_like(0x2236));  /* ratio */
	assert_true(names_is_colon_like(0xfe55));  /* small colon */
	assert_true(names_is_colon_like(0x02d0));  /* modifier triangular colon */
	assert_true(names_is_colon_like(0x0589));  /* Armenian full stop */
	assert_false(names_is_colon_like(';'));
	assert_false(names_is_colon_like('.'));
	assert_false(names_is_colon_like('a'));
}

static void normal_forms(void **state)
{
	(void)state;
	char out[NAMES_SKELETON_MAX];
	size_t n;
	assert_int_equal(names_normalise("cafe\xcc\x81", 6, false, out, sizeof(out), &n), 0);
	assert_string_equal(out, "caf\xc3\xa9");
	assert_int_equal(n, 5);
	assert_int_equal(names_normalise("\xef\xbc\x9a", 3, true, out, sizeof(out), &n), 0);
	assert_string_equal(out, ":");
	assert_int_equal(names_normalise("\xef\xbc\x9a", 3, false, out, sizeof(out), &n), 0);
	assert_string_equal(out, "\xef\xbc\x9a");
	assert_int_not_equal(names_normalise("\xff", 1, false, out, sizeof(out), &n), 0);
	assert_int_not_equal(names_normalise("abc", 3, false, out, 3, &n), 0);
}

static void bad_text_has_no_skeleton(void **state)
{
	(void)state;
	char out[NAMES_SKELETON_MAX];
	assert_int_not_equal(names_skeleton("\xff" "abc", 4, out, sizeof(out)), 0);
	assert_int_not_equal(names_skeleton("abc", 3, out, 2), 0);
	assert_int_not_equal(names_skeleton("a\xcd\xb8" "b", 4, out, sizeof(out)), 0); /* U+0378 */
	assert_true(names_has_unassigned("a\xcd\xb8", 3));
	assert_true(names_has_unassigned("a\xee\x80\x80", 4));          /* private use U+E000 */
	assert_true(names_has_unassigned("\xef\xbf\xbe", 3));            /* noncharacter U+FFFE */
	assert_false(names_has_unassigned("caf\xc3\xa9", 5));
	/* U+FDFA is 3 bytes and 18 letters in NFKC: eleven do not fit. */
	char big[34];
	for (int i = 0; i < 11; i++)
		memcpy(big + 3 * i, "\xef\xb7\xba", 3);
	assert_int_not_equal(names_skeleton(big, 33, out, sizeof(out)), 0);
}

/* The checker is opened once, by whichever thread comes first, and then
 * shared: every thread must get the same skeletons. */
static void *skeletons_in_a_thread(void *arg)
{
	char *out = arg;
	for (int i = 0; i < 200; i++)
		if (names_skeleton("\xd0\xb0Iice", 6, out, NAMES_SKELETON_MAX) < 0)
			return arg;
	return NULL;
}

static void threads_share_one_checker(void **state)
{
	(void)state;
	pthread_t threads[4];
	char out[4][NAMES_SKELETON_MAX];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, skeletons_in_a_thread, out[i]), 0);
	for (int i = 0; i < 4; i++) {
		void *failed;
		assert_int_equal(pthread_join(threads[i], &failed), 0);
		assert_null(failed);
		assert_string_equal(out[i], out[0]);
	}
	char alice[NAMES_SKELETON_MAX];
	assert_int_equal(names_skeleton("alice", 5, alice, sizeof(alice)), 0);
	assert_string_equal(out[0], alice);
}

/* Short ASCII names are answered from a table, without ICU (names.c): it
 * must say what ICU says, letter by letter, at every boundary between two
 * letters, at the longest length the table takes, and when out is short. */
static void skeleton_paths_agree(const char *name, size_t len, size_t cap)
{
	char fast[NAMES_SKELETON_MAX * 2], general[NAMES_SKELETON_MAX * 2];
	int a = names_skeleton(name, len, fast, cap);
	int b = names_skeleton_unicode(name, len, general, cap);
	if (a != b || (a == 0 && strcmp(fast, general) != 0))
		fail_msg("'%.*s' (cap %zu): table %d '%s', ICU %d '%s'", (int)len, name, cap,
			 a, a == 0 ? fast : "", b, b == 0 ? general : "");
}

static void ascii_skeletons_are_icus(void **state)
{
	(void)state;
	char s[80];
	for (int c = 1; c < 128; c++) {
		s[0] = (char)c;
		skeleton_paths_agree(s, 1, NAMES_SKELETON_MAX);
		for (int d = 1; d < 128; d++) {
			s[1] = (char)d;
			skeleton_paths_agree(s, 2, NAMES_SKELETON_MAX);
		}
		/* 64 letters, the most the table takes; 65 go to ICU. */
		memset(s, c, 65);
		skeleton_paths_agree(s, 64, sizeof(s) * 4);
		skeleton_paths_agree(s, 65, sizeof(s) * 4);
		for (size_t cap = 1; cap < 8; cap++)
			skeleton_paths_agree(s, 3, cap);
	}
	/* Names as people write them, from a fixed pseudo-random sequence. */
	unsigned seed = 22;
	for (int n = 0; n < 20000; n++) {
		size_t len = 1 + (seed = seed * 1103515245u + 12345u) % 32;
		for (size_t i = 0; i < len; i++)
			s[i] = (char)(1 + (seed = seed * 1103515245u + 12345u) / 65536 % 127);
		skeleton_paths_agree(s, len, NAMES_SKELETON_MAX);
	}
	/* NUL and anything over 0x7f take ICU's path, as before. */
	skeleton_paths_agree("a\0b", 3, NAMES_SKELETON_MAX);
	skeleton_paths_agree("caf\xc3\xa9", 5, NAMES_SKELETON_MAX);
}

static void ascii_has_nothing_to_spoof(void **state)
{
	(void)state;
	for (unsigned cp = 0; cp < 0x80; cp++)
		assert_false(u_hasBinaryProperty((UChar32)cp, UCHAR_DEFAULT_IGNORABLE_CODE_POINT));
	char s[2];
	for (int c = 1; c < 128; c++) {
		s[0] = (char)c;
		assert_int_equal(names_spoof_check_unicode(s, 1), NAMES_SPOOF_NONE);
		for (int d = 1; d < 128; d++) {
			s[1] = (char)d;
			assert_int_equal(names_spoof_check_unicode(s, 2), NAMES_SPOOF_NONE);
			assert_int_equal(names_spoof_check(s, 2), NAMES_SPOOF_NONE);
		}
	}
	assert_int_equal(names_spoof_check_unicode("12\xd9\xa3", 4), NAMES_SPOOF_NUMBERS);
	assert_int_equal(names_spoof_check("12\xd9\xa3", 4), NAMES_SPOOF_NUMBERS);
}

/* ASCII's classes and normal forms are answered without utf8proc's
 * tables (names.c): they must be utf8proc's. */
static void ascii_classes_are_utf8procs(void **state)
{
	(void)state;
	for (unsigned cp = 0; cp < 0x80; cp++) {
		utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
		assert_int_equal(names_is_blank(cp), c == UTF8PROC_CATEGORY_ZS);
		char one[1] = {(char)cp};
		assert_int_equal(names_has_unassigned(one, 1), c == UTF8PROC_CATEGORY_CN);
		bool shows = c != UTF8PROC_CATEGORY_ZS && c != UTF8PROC_CATEGORY_CC;
		assert_int_equal(names_looks_empty(one, 1), !shows);
	}
	char s[2], out[8];
	for (int c = 1; c < 128; c++) {
		s[0] = (char)c;
		for (int d = 1; d < 128; d++) {
			s[1] = (char)d;
			for (int compat = 0; compat < 2; compat++) {
				utf8proc_uint8_t *ref = NULL;
				utf8proc_ssize_t n = utf8proc_map(
					(const utf8proc_uint8_t *)s, 2, &ref,
					UTF8PROC_STABLE | UTF8PROC_COMPOSE |
						(compat ? UTF8PROC_COMPAT : 0));
				size_t len = 0;
				assert_int_equal(names_normalise(s, 2, compat, out, sizeof(out), &len), 0);
				assert_int_equal(len, (size_t)n);
				assert_memory_equal(out, ref, (size_t)n + 1);
				free(ref);
			}
		}
	}
	size_t len = 0;
	assert_int_equal(names_normalise("abc", 3, true, out, 3, &len), -EINVAL);
	assert_int_equal(names_normalise("abc", 3, true, out, 4, &len), 0);
	assert_string_equal(out, "abc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* First, so that the checker is opened by the threads. */
		cmocka_unit_test(threads_share_one_checker),
		cmocka_unit_test(held_up_look_alikes_collide),
		cmocka_unit_test(homoglyphs_collide),
		cmocka_unit_test(room_names_collide),
		cmocka_unit_test(different_names_stay_different),
		cmocka_unit_test(invisible_characters_are_seen),
		cmocka_unit_test(blanks_and_empty_looks),
		cmocka_unit_test(scripts_are_not_mixed),
		cmocka_unit_test(colons_are_seen_in_disguise),
		cmocka_unit_test(normal_forms),
		cmocka_unit_test(bad_text_has_no_skeleton),
		cmocka_unit_test(ascii_skeletons_are_icus),
		cmocka_unit_test(ascii_has_nothing_to_spoof),
		cmocka_unit_test(ascii_classes_are_utf8procs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
