/*
 * names: the identity of a pseudo or a room name, so that nobody can pass
 * for somebody else (or another room) with a look-alike, and the character
 * classes that textproto's rules are made of.
 *
 * Two names are the same when their skeletons match (Unicode TR39):
 * NFKC compatibility forms, case folded, accents and default-ignorable
 * (invisible) characters stripped (libutf8proc), then mapped through the
 * confusables data of ICU's spoof checker, so that "Alice", "ａｌｉｃｅ",
 * "аlice" (Cyrillic а) and "aIice" (capital I) are one name.
 *
 * ICU's spoof checker is opened once, on first use, and never changed
 * after: the one global of the program, because opening it loads the
 * confusables data, and a const checker is thread-safe for checks and
 * skeletons (ICU, uspoof.h "Thread Safety"). If ICU cannot open it, every
 * name is refused rather than compared loosely, but for the short ASCII
 * names answered from a table of ICU's answers (names.c), without ICU.
 */
#ifndef CHATROOM_NAMES_H
#define CHATROOM_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* A skeleton of a 32-byte pseudo or room name that is not refused for
 * other reasons fits; larger ones are refused as not fitting. */
#define NAMES_SKELETON_MAX 160

/* Writes the skeleton (terminated) into out; 0, or -EINVAL for text that
 * is not valid UTF-8, holds unassigned code points or does not fit. */
int names_skeleton(const char *name, size_t len, char *out, size_t cap);
/* The same through ICU and utf8proc whatever the name: names_skeleton
 * takes this path for all but short ASCII names (a table of ICU's
 * answers: no ICU pages touched); the tests compare the two. */
int names_skeleton_unicode(const char *name, size_t len, char *out, size_t cap);

/* True when the text holds a default-ignorable (invisible) code point,
 * such as U+200B ZERO WIDTH SPACE, U+2060 WORD JOINER, the bidi marks
 * LRM, RLM and ALM, or the Hangul fillers. */
bool names_has_invisible(const char *name, size_t len);

/* True for a character that shows as blank: any space separator (Zs:
 * U+0020, NBSP, U+3000...) and U+2800 BRAILLE PATTERN BLANK. */
bool names_is_blank(unsigned cp);

/* True when nothing in the text would show: only blanks, invisible
 * characters, marks without a base, controls. */
bool names_looks_empty(const char *name, size_t len);

/* True when the text holds an unassigned or private-use code point: no
 * stable identity, no agreed look. */
bool names_has_unassigned(const char *name, size_t len);

/* What ICU's spoof checker finds in a single name, at the "moderately
 * restrictive" level of TR39: Latin may go with one other script except
 * Cyrillic, Greek and Cherokee, whose letters imitate it. */
enum names_spoof {
	NAMES_SPOOF_NONE,
	NAMES_SPOOF_SCRIPTS, /* mixed scripts, such as Latin with Cyrillic */
	NAMES_SPOOF_NUMBERS, /* digits of several numbering systems */
	NAMES_SPOOF_MARKS,   /* marks that hide or pile up (i + U+0307) */
};
enum names_spoof names_spoof_check(const char *name, size_t len);
/* The same through ICU whatever the name (names_spoof_check answers short
 * ASCII names itself); for the tests. */
enum names_spoof names_spoof_check_unicode(const char *name, size_t len);

/* Writes the NFC form (compat false) or the NFKC form (compat true) of
 * name, terminated, into out; 0 with its length in *out_len, or -EINVAL
 * for invalid UTF-8 or a form that does not fit. */
int names_normalise(const char *name, size_t len, bool compat, char *out,
		    size_t cap, size_t *out_len);

/* True when the character would read as ':' (':', '：', '∶', 'ː'...). */
bool names_is_colon_like(unsigned cp);

#endif
