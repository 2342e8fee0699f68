#include "display.h"

#include "i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool display_colour_wanted(void)
{
	const char *no_color = getenv("NO_COLOR");
	return isatty(STDOUT_FILENO) && (no_color == NULL || no_color[0] == '\0');
}

struct out {
	char *p;
	size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n > o->cap) {
		n = o->cap - o->len;
		/* Never end in the middle of a UTF-8 character. */
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* The text, each line after the first indented under the first. */
static void put_text(struct out *o, const char *text, size_t len, size_t indent)
{
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && text[i] != '\n')
			continue;
		if (start > 0) {
			puts_(o, "\n");
			for (size_t k = 0; k < indent; k++)
				puts_(o, " ");
		}
		put(o, text + start, i - start);
		start = i + 1;
	}
}

size_t display_format(const struct chat_line *line, bool colour, char *out, size_t cap)
{
	struct out o = {out, 0, cap};
	char stamp[16];
	time_t secs = line->time_ms > 0 ? (time_t)(line->time_ms / 1000) : time(NULL);
	struct tm tm;
	localtime_r(&secs, &tm);
	strftime(stamp, sizeof(stamp), "[%H:%M] ", &tm);
	size_t indent = strlen(stamp);
	if (colour && line->history)
		puts_(&o, "\033[2m"); /* history is dim */
	puts_(&o, stamp);
	switch (line->kind) {
	case CHAT_MESSAGE: {
		char on[24] = "";
		if (colour && line->colour >= 0)
			snprintf(on, sizeof(on), "\033[1;38;5;%dm", line->colour);
		puts_(&o, on);
		put(&o, line->pseudo, line->pseudo_len);
		if (on[0] != '\0')
			puts_(&o, line->history ? "\033[0m\033[2m" : "\033[0m");
		puts_(&o, _(" a dit : "));
		put_text(&o, line->text, line->text_len, indent);
		break;
	}
	case CHAT_IMAGE: {
		char on[24] = "";
		if (colour && line->colour >= 0 && line->pseudo != NULL)
			snprintf(on, sizeof(on), "\033[1;38;5;%dm", line->colour);
		puts_(&o, on);
		if (line->pseudo != NULL)
			put(&o, line->pseudo, line->pseudo_len);
		if (on[0] != '\0')
			puts_(&o, line->history ? "\033[0m\033[2m" : "\033[0m");
		put_text(&o, line->text, line->text_len, indent);
		break;
	}
	case CHAT_OWN:
		puts_(&o, _("Vous avez dit : "));
		put_text(&o, line->text, line->text_len, indent);
		break;
	case CHAT_ERROR:
		if (colour)
			puts_(&o, "\033[31m");
		put_text(&o, line->text, line->text_len, indent);
		break;
	case CHAT_NOTICE:
	case CHAT_INFO:
		put_text(&o, line->text, line->text_len, indent);
		break;
	case CHAT_ACTION: /* italic */
	case CHAT_PRIVATE: /* bold magenta */
		if (colour)
			puts_(&o, line->kind == CHAT_ACTION ? "\033[3m" : "\033[1;35m");
		put_text(&o, line->text, line->text_len, indent);
		break;
	}
	if (colour && (line->history || line->kind == CHAT_ERROR || line->kind == CHAT_ACTION ||
		       line->kind == CHAT_PRIVATE))
		puts_(&o, "\033[0m");
	return o.len;
}
