#include "names.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/uspoof.h>
#include <utf8proc.h>

#include "sanitize.h"

/* Room for the intermediate forms of a skeleton: NFKC and the confusable
 * prototypes may each make a name a few times longer. */
#define NAMES_WORK_MAX (4 * NAMES_SKELETON_MAX)

/* ---- the spoof checker: opened once ----------------------------------- */

/* The program's one global (see names.h): opening costs about 3 ms (the
 * confusables data), a check or a skeleton a few µs, and nothing changes
 * it after checker_open, so every thread may share it. */
static USpoofChecker *checker;
static pthread_once_t checker_once = PTHREAD_ONCE_INIT;

static void checker_open(void)
{
	UErrorCode status = U_ZERO_ERROR;
	USpoofChecker *sc = uspoof_open(&status);
	/* Invisible characters are textproto's own rule (names_has_invisible);
	 * ICU's INVISIBLE check adds repeated non-spacing marks. */
	uspoof_setChecks(sc, USPOOF_RESTRICTION_LEVEL | USPOOF_MIXED_NUMBERS |
			 USPOOF_HIDDEN_OVERLAY | USPOOF_INVISIBLE, &status);
	uspoof_setRestrictionLevel(sc, USPOOF_MODERATELY_RESTRICTIVE);
	if (U_FAILURE(status)) {
		uspoof_close(sc);
		return; /* checker stays NULL: every name is refused */
	}
	checker = sc;
}

static const USpoofChecker *spoof(void)
{
	pthread_once(&checker_once, checker_open);
	return checker;
}

/* ---- the skeleton ------------------------------------------------------ */

/* NFKC, case folded, marks and default-ignorables stripped; unassigned
 * code points refused so that a skeleton never changes meaning when
 * Unicode assigns them. */
static const utf8proc_option_t fold_options =
	UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
	UTF8PROC_IGNORE | UTF8PROC_STRIPMARK | UTF8PROC_REJECTNA;

static int map(const char *name, size_t len, utf8proc_option_t options,
	       char *out, size_t cap, size_t *out_len)
{
	utf8proc_uint8_t *mapped = NULL;
	utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)name,
					  (utf8proc_ssize_t)len, &mapped, options);
	if (n < 0)
		return -EINVAL;
	int rc = 0;
	if ((size_t)n + 1 > cap)
		rc = -EINVAL;
	else
		memcpy(out, mapped, (size_t)n + 1);
	*out_len = (size_t)n;
	free(mapped);
	return rc;
}

/* TR39's prototypes, through ICU (its output is NFD). */
static int confusable(const char *in, size_t len, char *out, size_t cap, size_t *out_len)
{
	const USpoofChecker *sc = spoof();
	if (sc == NULL || len > INT32_MAX || cap > INT32_MAX)
		return -EINVAL;
	UErrorCode status = U_ZERO_ERROR;
	int32_t n = uspoof_getSkeletonUTF8(sc, 0, in, (int32_t)len, out,
					   (int32_t)cap, &status);
	/* A full buffer leaves no terminator: refused like an overflow. */
	if (U_FAILURE(status) || n < 0 || (size_t)n >= cap)
		return -EINVAL;
	out[n] = '\0';
	*out_len = (size_t)n;
	return 0;
}

static int upper(const char *in, size_t len, char *out, size_t cap, size_t *out_len)
{
	const utf8proc_uint8_t *s = (const utf8proc_uint8_t *)in;
	size_t i = 0, pos = 0;
	while (i < len) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t n = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &cp);
		if (n <= 0)
			return -EINVAL;
		i += (size_t)n;
		if (pos + 4 + 1 > cap)
			return -EINVAL;
		pos += (size_t)utf8proc_encode_char(utf8proc_toupper(cp),
						    (utf8proc_uint8_t *)out + pos);
	}
	out[pos] = '\0';
	*out_len = pos;
	return 0;
}

/*
 * TR39's confusables are case-sensitive: 'I' imitates 'l' only in capitals,
 * Greek 'ν' imitates 'v' only in small letters. Case must not matter
 * either ("Alice" is "alice"), so the prototypes are taken of the folded
 * (small) form, then of its capitals, and the result folded again: i, I, l
 * and L end up one letter, which costs a few distinct pseudos ("aiice" is
 * taken when "alice" is) and spares a look-alike.
 */
int names_skeleton_unicode(const char *name, size_t len, char *out, size_t cap)
{
	char a[NAMES_WORK_MAX], b[NAMES_WORK_MAX];
	size_t n;
	if (!utf8_is_valid(name, len) ||
	    map(name, len, fold_options, a, sizeof(a), &n) < 0 ||
	    confusable(a, n, b, sizeof(b), &n) < 0 ||
	    upper(b, n, a, sizeof(a), &n) < 0 ||
	    confusable(a, n, b, sizeof(b), &n) < 0)
		return -EINVAL;
	return map(b, n, fold_options, out, cap, &n);
}

/* ---- ASCII names, without ICU --------------------------------------- */

/*
 * Most names are ASCII, and for them the steps above come down to a
 * letter-by-letter table: ICU's code and data pages (about 200 KB, touched
 * by the first name a server sees) are then never needed. The tables are
 * ICU's own answers: tests/unit/test_names.c compares them with the
 * general path for every ASCII letter, pair and repetition.
 */

/* Longer ASCII names take the general path, whose work buffers then
 * decide what fits, as before. */
#define NAMES_ASCII_FAST_MAX 64

static bool is_short_ascii(const char *name, size_t len)
{
	if (len > NAMES_ASCII_FAST_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == 0 || c >= 0x80)
			return false; /* a NUL ends the general path's C strings */
	}
	return true;
}

/* The skeleton of one ASCII letter (1 to 127): folded small, then TR39's
 * prototype; `one` holds it when it is the letter itself. */
static const char *ascii_skeleton_of(unsigned char c, char one[2])
{
	switch (c) {
	case '"': return "''";
	case '%': return "o/0";
	case '`': return "'";
	case '0': case 'O': case 'o': return "o";
	case '1': case 'I': case 'i': case 'L': case 'l': case '|': return "l";
	case 'M': case 'm': return "rn";
	default:
		one[0] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
		one[1] = '\0';
		return one;
	}
}

int names_skeleton(const char *name, size_t len, char *out, size_t cap)
{
	if (!is_short_ascii(name, len))
		return names_skeleton_unicode(name, len, out, cap);
	size_t pos = 0;
	for (size_t i = 0; i < len; i++) {
		char one[2];
		const char *p = ascii_skeleton_of((unsigned char)name[i], one);
		size_t n = strlen(p);
		if (pos + n + 1 > cap)
			return -EINVAL;
		memcpy(out + pos, p, n);
		pos += n;
	}
	out[pos] = '\0';
	return 0;
}

/* ---- character classes -------------------------------------------------- */

/* Calls each code point of a valid UTF-8 text until visit returns true;
 * returns whether one did (invalid text counts as a hit: refuse it). */
static bool any(const char *name, size_t len, bool (*visit)(unsigned cp))
{
	const unsigned char *s = (const unsigned char *)name;
	size_t i = 0;
	while (i < len) {
		unsigned cp;
		size_t n = utf8_decode(s + i, len - i, &cp);
		if (n == 0 || visit(cp))
			return true;
		i += n;
	}
	return false;
}

/* ICU's property rather than utf8proc's: it also covers the unassigned
 * code points reserved as ignorable (U+2065, U+FFF0...). */
static bool is_invisible(unsigned cp)
{
	if (cp < 0x80)
		return false; /* no ASCII character is (ICU agrees: test_names.c) */
	return u_hasBinaryProperty((UChar32)cp, UCHAR_DEFAULT_IGNORABLE_CODE_POINT);
}

bool names_has_invisible(const char *name, size_t len)
{
	return any(name, len, is_invisible);
}

bool names_is_blank(unsigned cp)
{
	if (cp < 0x80)
		return cp == ' '; /* the one ASCII Zs: no utf8proc table pages */
	return cp == 0x2800 || utf8proc_category((utf8proc_int32_t)cp) == UTF8PROC_CATEGORY_ZS;
}

/* A letter, digit, punctuation or symbol that is not blank shows. */
static bool is_visible(unsigned cp)
{
	if (cp < 0x80)
		return cp > ' ' && cp < 0x7f; /* all but controls and the space */
	if (names_is_blank(cp) || is_invisible(cp))
		return false;
	switch (utf8proc_category((utf8proc_int32_t)cp)) {
	case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
	case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
	case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
	case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
	case UTF8PROC_CATEGORY_PO:
	case UTF8PROC_CATEGORY_SM: case UTF8PROC_CATEGORY_SC: case UTF8PROC_CATEGORY_SK:
	case UTF8PROC_CATEGORY_SO:
		return true;
	default:
		return false;
	}
}

bool names_looks_empty(const char *name, size_t len)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t i = 0;
	while (i < len) {
		unsigned cp;
		size_t n = utf8_decode(s + i, len - i, &cp);
		if (n == 0)
			return true; /* cannot tell: refuse */
		if (is_visible(cp))
			return false;
		i += n;
	}
	return true;
}

static bool is_unassigned(unsigned cp)
{
	if (cp < 0x80)
		return false;
	utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
	return c == UTF8PROC_CATEGORY_CN || c == UTF8PROC_CATEGORY_CO ||
	       c == UTF8PROC_CATEGORY_CS;
}

bool names_has_unassigned(const char *name, size_t len)
{
	return any(name, len, is_unassigned);
}

enum names_spoof names_spoof_check(const char *name, size_t len)
{
	/* One script (its restriction level is "ASCII"), one set of digits,
	 * no marks: nothing to find (ICU agrees: test_names.c). */
	if (is_short_ascii(name, len))
		return NAMES_SPOOF_NONE;
	return names_spoof_check_unicode(name, len);
}

enum names_spoof names_spoof_check_unicode(const char *name, size_t len)
{
	const USpoofChecker *sc = spoof();
	if (sc == NULL || len > INT32_MAX)
		return NAMES_SPOOF_SCRIPTS;
	UErrorCode status = U_ZERO_ERROR;
	int32_t found = uspoof_check2UTF8(sc, name, (int32_t)len, NULL, &status);
	if (U_FAILURE(status))
		return NAMES_SPOOF_SCRIPTS; /* invalid UTF-8: refuse */
	if (found & USPOOF_RESTRICTION_LEVEL)
		return NAMES_SPOOF_SCRIPTS;
	if (found & USPOOF_MIXED_NUMBERS)
		return NAMES_SPOOF_NUMBERS;
	if (found & (USPOOF_HIDDEN_OVERLAY | USPOOF_INVISIBLE))
		return NAMES_SPOOF_MARKS;
	return NAMES_SPOOF_NONE;
}

int names_normalise(const char *name, size_t len, bool compat, char *out,
		    size_t cap, size_t *out_len)
{
	if (is_short_ascii(name, len)) {
		/* ASCII is its own NFC and NFKC. */
		*out_len = len;
		if (len + 1 > cap)
			return -EINVAL;
		memcpy(out, name, len);
		out[len] = '\0';
		return 0;
	}
	if (!utf8_is_valid(name, len))
		return -EINVAL;
	return map(name, len,
		   UTF8PROC_STABLE | UTF8PROC_COMPOSE | (compat ? UTF8PROC_COMPAT : 0),
		   out, cap, out_len);
}

bool names_is_colon_like(unsigned cp)
{
	if (cp == ':')
		return true;
	if (cp < 0x80)
		return false;
	char one[8], prototype[NAMES_SKELETON_MAX];
	size_t n = (size_t)utf8proc_encode_char((utf8proc_int32_t)cp, (utf8proc_uint8_t *)one);
	char compat[NAMES_SKELETON_MAX];
	if (n == 0 || names_normalise(one, n, true, compat, sizeof(compat), &n) < 0)
		return false;
	if (memchr(compat, ':', n) != NULL)
		return true;
	return confusable(compat, n, prototype, sizeof(prototype), &n) == 0 &&
	       memchr(prototype, ':', n) != NULL;
}
