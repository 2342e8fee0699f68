/*
 * names: the identity of a pseudo, so that nobody can pass for somebody
 * else with a look-alike. Two pseudos are the same person when their
 * skeletons match: NFKC compatibility forms, case folded, accents and
 * default-ignorable (invisible) characters stripped (libutf8proc). A
 * pseudo holding invisible characters is refused outright.
 */
#ifndef CHATROOM_NAMES_H
#define CHATROOM_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* A skeleton of a 32-byte pseudo always fits. */
#define NAMES_SKELETON_MAX 160

/* Writes the skeleton (terminated) into out; 0, or -EINVAL for text that
 * is not valid UTF-8 or does not fit. */
int names_skeleton(const char *name, size_t len, char *out, size_t cap);

/* True when the text holds a default-ignorable (invisible) code point,
 * such as U+200B ZERO WIDTH SPACE or U+2060 WORD JOINER. */
bool names_has_invisible(const char *name, size_t len);

#endif
