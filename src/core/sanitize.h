/*
 * sanitize: makes untrusted text safe to show on a terminal or in a log.
 *
 * Nothing a peer sends may drive another user's terminal: invalid UTF-8
 * becomes U+FFFD, C0 control bytes and DEL are shown in caret notation
 * ("^[" for ESC), C1 controls become U+FFFD, and the bidirectional override
 * and isolate marks (which can disguise text) are dropped. TAB becomes a
 * space. No I/O, no allocation.
 */
#ifndef CHATROOM_SANITIZE_H
#define CHATROOM_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>

/* Worst case growth: every input byte turned into a 3-byte U+FFFD. */
#define SANITIZE_BOUND(len) ((len) * 3)

/* Keep '\n' (multi-line messages); otherwise it is shown as "^J". */
#define SANITIZE_KEEP_NEWLINES 1u

/*
 * Writes the safe form of in[0..len) into out (cap bytes, no terminator)
 * and returns its length. Output is cut at a character boundary when cap
 * is too small; SANITIZE_BOUND(len) is always enough.
 */
size_t sanitize_text(const char *in, size_t len, char *out, size_t cap,
		     unsigned flags);

/* True when sanitize_text would return its input unchanged. */
bool sanitize_is_clean(const char *in, size_t len);

bool utf8_is_valid(const char *in, size_t len);

/*
 * Decodes one UTF-8 character at s[0..len). Returns its length in bytes
 * (1..4) and the code point in *cp, or 0 for an invalid or truncated
 * sequence (overlongs, surrogates and values past U+10FFFF included).
 */
size_t utf8_decode(const unsigned char *s, size_t len, unsigned *cp);

#endif
