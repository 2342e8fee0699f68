#include "textwidth.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <utf8proc.h>
#include <wchar.h>

/* Code points that join their neighbours in some terminals and not in
 * others: never drawn (see textwidth.h). A skin tone alone is a colour
 * swatch, drawn. */
static bool is_joiner(utf8proc_int32_t cp, bool first)
{
	return cp == 0x200d || cp == 0xfe0e || cp == 0xfe0f ||
	       (!first && cp >= 0x1f3fb && cp <= 0x1f3ff);
}

static size_t put_drawn(char *drawn, size_t at, int *cells, utf8proc_int32_t cp)
{
	int w = wcwidth((wchar_t)cp);
	if (w < 0) {
		cp = 0xfffd; /* unknown to the C library, so to ncurses */
		w = 1;
	}
	utf8proc_uint8_t bytes[4];
	size_t n = (size_t)utf8proc_encode_char(cp, bytes);
	if (at + n > TW_DRAWN_MAX)
		return at;
	memcpy(drawn + at, bytes, n);
	*cells += w;
	return at + n;
}

size_t tw_cluster_drawn(const char *s, size_t len, char *drawn, size_t *drawn_len,
			int *cells)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	utf8proc_int32_t cp, prev = 0, state = 0;
	size_t used = 0, at = 0;
	*cells = 0;
	while (used < len) {
		utf8proc_ssize_t n = utf8proc_iterate(p + used, (utf8proc_ssize_t)(len - used), &cp);
		if (n <= 0) {
			if (used == 0) {
				/* A stray byte: a cluster of its own, one U+FFFD. */
				at = put_drawn(drawn, at, cells, 0xfffd);
				used = 1;
			}
			break;
		}
		if (used > 0 && utf8proc_grapheme_break_stateful(prev, cp, &state))
			break;
		if (!is_joiner(cp, used == 0))
			at = put_drawn(drawn, at, cells, cp);
		used += (size_t)n;
		prev = cp;
	}
	*drawn_len = at;
	return used;
}

size_t tw_cluster(const char *s, size_t len, int *cells)
{
	char drawn[TW_DRAWN_MAX];
	size_t drawn_len;
	return tw_cluster_drawn(s, len, drawn, &drawn_len, cells);
}

int tw_width(const char *s, size_t len)
{
	int total = 0;
	size_t i = 0;
	while (i < len) {
		int w;
		i += tw_cluster(s + i, len - i, &w);
		total += w;
	}
	return total;
}

/* The byte past the URL that starts at s[i], or i when none does. */
static size_t url_end(const char *s, size_t len, size_t i)
{
	size_t j = i;
	if (j < len && strchr("(<[\"'", s[j]) != NULL && s[j] != '\0')
		j++;
	size_t scheme = j;
	while (j < len && (isalnum((unsigned char)s[j]) || strchr("+.-", s[j]) != NULL) &&
	       s[j] != '\0')
		j++;
	if (j == scheme || !isalpha((unsigned char)s[scheme]) || len - j < 4 ||
	    memcmp(s + j, "://", 3) != 0 || s[j + 3] == ' ' || s[j + 3] == '\n')
		return i;
	while (j < len && s[j] != ' ' && s[j] != '\n')
		j++;
	return j;
}

size_t tw_wrap(const char *s, size_t len, int first, int rest,
	       struct tw_row *rows, size_t max)
{
	size_t count = 0, i = 0;
	size_t in_url_until = 0; /* a URL broken across rows goes on to here */
	while (count < max) {
		bool bare = count > 0 && (i < in_url_until || url_end(s, len, i) > i);
		int limit = count == 0 || bare ? first : rest;
		if (limit < 1)
			limit = 1;
		size_t start = i, end = i, last_space = (size_t)-1;
		int cells = 0, cells_at_space = 0;
		while (end < len && s[end] != '\n') {
			int w;
			size_t n = tw_cluster(s + end, len - end, &w);
			if (cells + w > limit && end > start)
				break;
			if (s[end] == ' ') {
				last_space = end;
				cells_at_space = cells;
			}
			cells += w;
			end += n;
		}
		size_t next = end;
		if (end < len && s[end] != '\n' && last_space != (size_t)-1 && last_space > start) {
			/* Break after the last space rather than inside a word. */
			end = last_space;
			cells = cells_at_space;
			next = last_space + 1;
		} else if (end < len && s[end] == '\n') {
			next = end + 1;
		} else if (end < len) {
			/* Inside a word: a URL's next row is bare too. */
			size_t word = end;
			while (word > start && s[word - 1] != ' ')
				word--;
			size_t u = url_end(s, len, word);
			if (u > end)
				in_url_until = u;
		}
		rows[count++] = (struct tw_row){start, end - start, cells, bare};
		if (next >= len)
			break;
		i = next;
	}
	return count;
}
