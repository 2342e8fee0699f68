#include "textproto.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <utf8proc.h>

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

/* The first and the last code point of valid UTF-8 text, and their
 * lengths in bytes (0, with cp 0, for empty text). */
static size_t first_cp(const char *s, size_t len, unsigned *cp)
{
	*cp = 0;
	return len > 0 ? utf8_decode((const unsigned char *)s, len, cp) : 0;
}

static size_t last_cp(const char *s, size_t len, unsigned *cp)
{
	size_t start = len;
	while (start > 0 && len - start < 4) {
		start--;
		if (((unsigned char)s[start] & 0xc0) != 0x80)
			break;
	}
	return first_cp(s + start, len - start, cp);
}

/* Any blank but U+0020: NBSP, U+3000, U+2800 look like nothing or like an
 * ordinary space, and make "alice " or "a b" twins that nobody can tell. */
static bool has_odd_blank(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		unsigned cp;
		size_t n = utf8_decode(u + i, len - i, &cp);
		if (n == 0 || (cp != ' ' && names_is_blank(cp)))
			return true;
		i += n;
	}
	return false;
}

static bool same_skeleton(const char *a, size_t a_len, const char *b)
{
	char sa[NAMES_SKELETON_MAX], sb[NAMES_SKELETON_MAX];
	return names_skeleton(a, a_len, sa, sizeof(sa)) == 0 &&
	       names_skeleton(b, strlen(b), sb, sizeof(sb)) == 0 && strcmp(sa, sb) == 0;
}

/* What stands before a ':' in an anonymous peer's label: an IPv4 address,
 * or an IPv6 one (hex groups, '[' or a leading ':'). */
static bool looks_like_address(const char *s, size_t len)
{
	if (len == 0 || s[0] == '[')
		return true;
	bool digit = false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		digit = digit || (c >= '0' && c <= '9');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		      (c >= 'A' && c <= 'F') || c == '.'))
			return false;
	}
	return digit;
}

/*
 * '|' separates the text protocol's fields and ':' ends the "{IP}:{Port}"
 * label of anonymous peers and the server's "Annonce :"; their look-alikes
 * ('：', '∶', '｜'...) would let a pseudo pass for either. compat is the
 * NFKC form. Returns NULL or the reason.
 */
static const char *imitation(const char *compat, size_t len)
{
	const unsigned char *u = (const unsigned char *)compat;
	for (size_t i = 0; i < len;) {
		unsigned cp;
		size_t n = utf8_decode(u + i, len - i, &cp);
		if (n == 0)
			return "le pseudo contient un caractère interdit";
		if (cp == '|')
			return "le pseudo contient un caractère interdit";
		if (names_is_colon_like(cp)) {
			size_t end = i;
			while (end > 0 && compat[end - 1] == ' ')
				end--;
			if (same_skeleton(compat, end, "Annonce"))
				return "le pseudo imite une annonce du serveur (« Annonce : »)";
			if (looks_like_address(compat, end))
				return "le pseudo imite l'étiquette {IP}:{Port} d'un pair anonyme";
			return "le pseudo contient un caractère interdit";
		}
		i += n;
	}
	return NULL;
}

enum name_kind { NAME_IS_PSEUDO, NAME_IS_ROOM };

/* Why a name that could pass for another is refused, by kind of name. */
static const char *const spoof_causes[][4] = {
	[NAME_IS_PSEUDO] = {
		[NAMES_SPOOF_SCRIPTS] = "le pseudo mélange des écritures (latin et cyrillique, par exemple)",
		[NAMES_SPOOF_NUMBERS] = "le pseudo mélange des chiffres de systèmes différents",
		[NAMES_SPOOF_MARKS] = "le pseudo contient des accents qui se cachent ou s'empilent",
	},
	[NAME_IS_ROOM] = {
		[NAMES_SPOOF_SCRIPTS] = "le nom du salon mélange des écritures (latin et cyrillique, par exemple)",
		[NAMES_SPOOF_NUMBERS] = "le nom du salon mélange des chiffres de systèmes différents",
		[NAMES_SPOOF_MARKS] = "le nom du salon contient des accents qui se cachent ou s'empilent",
	},
};

/* 0, or -EINVAL with *cause when the name mixes what a look-alike needs. */
static int refuse_spoof(const char *name, size_t len, enum name_kind kind, const char **cause)
{
	enum names_spoof spoof = names_spoof_check(name, len);
	if (spoof == NAMES_SPOOF_NONE)
		return 0;
	*cause = spoof_causes[kind][spoof];
	return -EINVAL;
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
	if (!sanitize_is_clean(pseudo, len)) {
		*cause = "le pseudo contient un caractère interdit";
		return -EINVAL;
	}
	if (names_has_invisible(pseudo, len)) {
		*cause = "le pseudo contient un caractère invisible";
		return -EINVAL;
	}
	if (names_has_unassigned(pseudo, len)) {
		*cause = "le pseudo contient un caractère non attribué ou à usage privé";
		return -EINVAL;
	}
	if (names_looks_empty(pseudo, len)) {
		*cause = "le pseudo semble vide";
		return -EINVAL;
	}
	unsigned first, last;
	first_cp(pseudo, len, &first);
	last_cp(pseudo, len, &last);
	if (names_is_blank(first) || names_is_blank(last)) {
		*cause = "le pseudo commence ou finit par une espace";
		return -EINVAL;
	}
	if (has_odd_blank(pseudo, len)) {
		*cause = "le pseudo contient une espace autre que l'espace ordinaire";
		return -EINVAL;
	}
	/* The rules hold for what the pseudo stands for, not only its bytes:
	 * NFKC makes '：' a ':' and 'ａ' an 'a'. */
	char compat[NAMES_SKELETON_MAX], skeleton[NAMES_SKELETON_MAX];
	size_t n;
	if (names_normalise(pseudo, len, true, compat, sizeof(compat), &n) < 0 ||
	    names_skeleton(pseudo, len, skeleton, sizeof(skeleton)) < 0) {
		*cause = "le pseudo contient un caractère interdit";
		return -EINVAL;
	}
	const char *imitates = imitation(compat, n);
	if (imitates != NULL) {
		*cause = imitates;
		return -EINVAL;
	}
	return refuse_spoof(compat, n, NAME_IS_PSEUDO, cause);
}

/* Letters of any script with their combining marks, digits, '-', '_', '.'. */
static bool room_char_ok(unsigned cp, bool first)
{
	if (cp == '-' || cp == '_' || cp == '.')
		return true;
	if (cp < 0x80) /* ASCII's letters and digits, without utf8proc's tables */
		return (cp >= '0' && cp <= '9') || (cp >= 'A' && cp <= 'Z') ||
		       (cp >= 'a' && cp <= 'z');
	switch (utf8proc_category((utf8proc_int32_t)cp)) {
	case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
	case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
		return true;
	case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC:
		/* Devanagari, Thai... need them; alone they would draw
		 * on whatever precedes the name. */
		return !first;
	default:
		return false;
	}
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
	if (names_has_invisible(room, len)) {
		*cause = "le nom du salon contient un caractère invisible";
		return -EINVAL;
	}
	if (names_has_unassigned(room, len)) {
		*cause = "le nom du salon contient un caractère non attribué ou à usage privé";
		return -EINVAL;
	}
	const unsigned char *u = (const unsigned char *)room;
	for (size_t i = 0; i < len;) {
		unsigned cp;
		size_t n = utf8_decode(u + i, len - i, &cp);
		if (!room_char_ok(cp, i == 0)) {
			*cause = "le nom du salon ne prend que lettres, chiffres, '-', '_' et '.'";
			return -EINVAL;
		}
		i += n;
	}
	char skeleton[NAMES_SKELETON_MAX];
	if (names_skeleton(room, len, skeleton, sizeof(skeleton)) < 0) {
		*cause = "le nom du salon contient un caractère interdit";
		return -EINVAL;
	}
	return refuse_spoof(room, len, NAME_IS_ROOM, cause);
}

static bool is_room_blank(unsigned cp)
{
	return cp == '\t' || names_is_blank(cp);
}

int textproto_normalise_room(const char *room, size_t len, char *out, size_t cap,
			     size_t *out_len, const char **cause)
{
	if (!utf8_is_valid(room, len)) {
		*cause = "le nom du salon contient un caractère interdit";
		return -EINVAL;
	}
	unsigned cp;
	size_t n;
	while ((n = first_cp(room, len, &cp)) > 0 && is_room_blank(cp)) {
		room += n;
		len -= n;
	}
	while ((n = last_cp(room, len, &cp)) > 0 && is_room_blank(cp))
		len -= n;
	if (len > 0 && room[0] == '#') {
		room++;
		len--;
	}
	if (len == 0) {
		*cause = "le nom du salon est vide";
		return -EINVAL;
	}
	/* NFC shortens a name three times at most (Hangul jamo): past that
	 * it cannot fit, and is not worth normalising. */
	if (len > 4 * TEXT_MAX_ROOM ||
	    names_normalise(room, len, false, out, cap, out_len) < 0 ||
	    *out_len > TEXT_MAX_ROOM) {
		*cause = "le nom du salon dépasse 32 octets";
		return -EINVAL;
	}
	return 0;
}
