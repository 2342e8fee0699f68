#include "textproto.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "names.h"
#include "sanitize.h"

static const char hello[] = "Hello";
#define HELLO_LEN (sizeof(hello) - 1)

void textproto_parse_first(const char *line, size_t len, struct text_msg *out)
{
	if (len == HELLO_LEN && memcmp(line, hello, HELLO_LEN) == 0) {
		out->kind = TEXT_HELLO;
		out->text = line + len;
		out->len = 0;
		return;
	}
	if (len > HELLO_LEN && memcmp(line, hello, HELLO_LEN) == 0 &&
	    line[HELLO_LEN] == '|') {
		out->kind = TEXT_HELLO_PSEUDO;
		out->text = line + HELLO_LEN + 1;
		out->len = len - HELLO_LEN - 1;
		return;
	}
	out->kind = TEXT_MESSAGE;
	out->text = line;
	out->len = len;
}

int textproto_check_pseudo(const char *pseudo, size_t len, const char **cause)
{
	if (len == 0) {
		*cause = "le pseudo est vide";
		return -EINVAL;
	}
	if (len > TEXT_MAX_PSEUDO) {
		*cause = "le pseudo dépasse 32 octets";
		return -EINVAL;
	}
	if (!utf8_is_valid(pseudo, len)) {
		*cause = "le pseudo n'est pas de l'UTF-8 valide";
		return -EINVAL;
	}
	if (pseudo[0] == ' ' || pseudo[len - 1] == ' ') {
		*cause = "le pseudo commence ou finit par une espace";
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)pseudo[i];
		/* '|' separates fields of the text protocol; ':' is the
		 * "{IP}:{Port}" label of anonymous peers. */
		if (c < 0x20 || c == 0x7f || c == '|' || c == ':') {
			*cause = "le pseudo contient un caractère interdit";
			return -EINVAL;
		}
	}
	if (!sanitize_is_clean(pseudo, len)) {
		*cause = "le pseudo contient un caractère interdit";
		return -EINVAL;
	}
	if (names_has_invisible(pseudo, len)) {
		*cause = "le pseudo contient un caractère invisible";
		return -EINVAL;
	}
	return 0;
}

int textproto_check_room(const char *room, size_t len, const char **cause)
{
	if (len == 0) {
		*cause = "le nom du salon est vide";
		return -EINVAL;
	}
	if (len > TEXT_MAX_ROOM) {
		*cause = "le nom du salon dépasse 32 octets";
		return -EINVAL;
	}
	if (!utf8_is_valid(room, len) || !sanitize_is_clean(room, len)) {
		*cause = "le nom du salon contient un caractère interdit";
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)room[i];
		bool ascii_ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				(c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
		if (c < 0x80 && !ascii_ok) {
			*cause = "le nom du salon ne prend que lettres, chiffres, '-', '_' et '.'";
			return -EINVAL;
		}
	}
	return 0;
}
