#include "textwidth.h"

#include <utf8proc.h>

size_t tw_cluster(const char *s, size_t len, int *cells)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	utf8proc_int32_t cp, prev;
	utf8proc_ssize_t n = utf8proc_iterate(p, (utf8proc_ssize_t)len, &cp);
	if (n <= 0) {
		*cells = 1; /* a stray byte: shown as one replacement cell */
		return 1;
	}
	int width = utf8proc_charwidth(cp);
	/* A flag is a pair of regional indicators, drawn two cells wide. */
	if (cp >= 0x1f1e6 && cp <= 0x1f1ff)
		width = 2;
	utf8proc_int32_t state = 0;
	size_t used = (size_t)n;
	prev = cp;
	while (used < len) {
		n = utf8proc_iterate(p + used, (utf8proc_ssize_t)(len - used), &cp);
		if (n <= 0 || utf8proc_grapheme_break_stateful(prev, cp, &state))
			break;
		/* VS16 asks for the emoji (two-cell) form. */
		if (cp == 0xfe0f)
			width = 2;
		else if (utf8proc_charwidth(cp) > width)
			width = utf8proc_charwidth(cp);
		used += (size_t)n;
		prev = cp;
	}
	*cells = width < 0 ? 0 : width;
	return used;
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

size_t tw_wrap(const char *s, size_t len, int first, int rest,
	       struct tw_row *rows, size_t max)
{
	size_t count = 0, i = 0;
	while (count < max) {
		int limit = count == 0 ? first : rest;
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
		}
		rows[count++] = (struct tw_row){start, end - start, cells};
		if (next >= len)
			break;
		i = next;
	}
	return count;
}
