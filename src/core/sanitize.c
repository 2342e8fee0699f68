#include "sanitize.h"

#include <stdint.h>
#include <string.h>

size_t utf8_decode(const unsigned char *s, size_t len, unsigned *cp)
{
	if (len == 0)
		return 0;
	unsigned c = s[0];
	size_t n;
	unsigned min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2;
		min = 0x80;
		c &= 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		min = 0x800;
		c &= 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		min = 0x10000;
		c &= 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

bool utf8_is_valid(const char *in, size_t len)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0;
	unsigned cp;
	while (i < len) {
		/* Chat is mostly ASCII: eight plain bytes at a time. */
		uint64_t word;
		if (len - i >= sizeof(word)) {
			memcpy(&word, s + i, sizeof(word));
			if ((word & 0x8080808080808080ull) == 0) {
				i += sizeof(word);
				continue;
			}
		}
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		size_t n = utf8_decode(s + i, len - i, &cp);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/* Marks that reorder text (U+202A..U+202E, U+2066..U+2069): a peer could
 * make its message read backwards or hide part of it. */
static bool is_bidi_control(unsigned cp)
{
	return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

static bool put(char *out, size_t cap, size_t *pos, const char *bytes, size_t n)
{
	if (*pos + n > cap)
		return false;
	memcpy(out + *pos, bytes, n);
	*pos += n;
	return true;
}

static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

size_t sanitize_text(const char *in, size_t len, char *out, size_t cap,
		     unsigned flags)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, pos = 0;
	while (i < len) {
		unsigned cp;
		size_t n = utf8_decode(s + i, len - i, &cp);
		bool ok;
		if (n == 0) {
			ok = put(out, cap, &pos, replacement, 3);
			n = 1;
		} else if (cp == '\n' && (flags & SANITIZE_KEEP_NEWLINES)) {
			ok = put(out, cap, &pos, "\n", 1);
		} else if (cp == '\t') {
			ok = put(out, cap, &pos, " ", 1);
		} else if (cp < 0x20 || cp == 0x7f) {
			char caret[2] = {'^', (char)(cp == 0x7f ? '?' : cp + 0x40)};
			ok = put(out, cap, &pos, caret, 2);
		} else if (cp >= 0x80 && cp < 0xa0) {
			ok = put(out, cap, &pos, replacement, 3);
		} else if (is_bidi_control(cp)) {
			ok = true;
		} else {
			ok = put(out, cap, &pos, in + i, n);
		}
		if (!ok)
			break;
		i += n;
	}
	return pos;
}

bool sanitize_is_clean(const char *in, size_t len)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0;
	while (i < len) {
		unsigned cp;
		size_t n = utf8_decode(s + i, len - i, &cp);
		if (n == 0 || cp < 0x20 || cp == 0x7f ||
		    (cp >= 0x80 && cp < 0xa0) || is_bidi_control(cp))
			return false;
		i += n;
	}
	return true;
}
