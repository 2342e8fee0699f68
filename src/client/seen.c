#include "seen.h"

#include <string.h>

/* Each field with its length before it: "ab"+"c" and "a"+"bc" differ. */
static void add_field(GChecksum *sum, const void *p, size_t len)
{
	uint64_t n = len;
	g_checksum_update(sum, (const guchar *)&n, sizeof(n));
	if (len > 0)
		g_checksum_update(sum, p, (gssize)len);
}

uint64_t seen_fingerprint(enum seen_kind kind, uint64_t time_ms, struct seen_str room,
			  struct seen_str pseudo, struct seen_str text)
{
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
	uint64_t head[2] = {(uint64_t)kind, kind == SEEN_OWN ? 0 : time_ms};
	g_checksum_update(sum, (const guchar *)head, sizeof(head));
	add_field(sum, room.ptr, room.len);
	add_field(sum, pseudo.ptr, pseudo.len);
	add_field(sum, text.ptr, text.len);
	guint8 digest[32];
	gsize n = sizeof(digest);
	g_checksum_get_digest(sum, digest, &n);
	g_checksum_free(sum);
	uint64_t fp;
	memcpy(&fp, digest, sizeof(fp));
	return fp;
}

void seen_init(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	s->set = g_hash_table_new(g_int64_hash, g_int64_equal);
}

void seen_free(struct seen *s)
{
	if (s->set != NULL)
		g_hash_table_destroy(s->set);
	s->set = NULL;
}

void seen_add(struct seen *s, uint64_t fingerprint)
{
	if (s->set == NULL || g_hash_table_contains(s->set, &fingerprint))
		return;
	uint64_t *slot = &s->ring[s->next];
	if (s->count == SEEN_MAX) {
		/* Only if the table's key is this slot (it always is: one slot
		 * per fingerprint). */
		if (g_hash_table_lookup(s->set, slot) == slot)
			g_hash_table_remove(s->set, slot);
	} else {
		s->count++;
	}
	*slot = fingerprint;
	g_hash_table_add(s->set, slot);
	s->next = (s->next + 1) % SEEN_MAX;
}

bool seen_has(const struct seen *s, uint64_t fingerprint)
{
	return s->set != NULL && g_hash_table_contains(s->set, &fingerprint);
}

void seen_own(struct seen *s, const char *room, const char *pseudo, const char *text,
	      size_t len)
{
	seen_add(s, seen_fingerprint(SEEN_OWN, 0, (struct seen_str){room, strlen(room)},
				     (struct seen_str){pseudo, strlen(pseudo)},
				     (struct seen_str){text, len}));
}

bool seen_shown(const struct seen *s, enum seen_kind kind, uint64_t time_ms,
		struct seen_str room, struct seen_str pseudo, struct seen_str text,
		struct seen_str own_pseudo)
{
	if (seen_has(s, seen_fingerprint(kind, time_ms, room, pseudo, text)))
		return true;
	return kind == SEEN_MESSAGE && own_pseudo.len > 0 && own_pseudo.len == pseudo.len &&
	       memcmp(own_pseudo.ptr, pseudo.ptr, pseudo.len) == 0 &&
	       seen_has(s, seen_fingerprint(SEEN_OWN, 0, room, pseudo, text));
}

enum seen_kind seen_kind_of_wire(enum wire_type type, uint8_t notice)
{
	if (type == WIRE_MESSAGE)
		return SEEN_MESSAGE;
	if (type == WIRE_IMAGE)
		return SEEN_IMAGE;
	switch (notice) {
	case WIRE_NOTICE_ACTION:
		return SEEN_ACTION;
	case WIRE_NOTICE_JOIN:
		return SEEN_JOIN;
	case WIRE_NOTICE_LEAVE:
		return SEEN_LEAVE;
	case WIRE_NOTICE_RETURN:
		return SEEN_RETURN;
	default:
		return SEEN_NONE;
	}
}

bool seen_history_kind(const char *kind, size_t len, enum wire_type *type, uint8_t *notice)
{
	static const struct {
		const char *name;
		enum wire_type type;
		uint8_t notice;
	} kinds[] = {
		{"message", WIRE_MESSAGE, WIRE_NOTICE_INFO},
		{"join", WIRE_NOTICE, WIRE_NOTICE_JOIN},
		{"leave", WIRE_NOTICE, WIRE_NOTICE_LEAVE},
		{"return", WIRE_NOTICE, WIRE_NOTICE_RETURN},
		{"image", WIRE_IMAGE, WIRE_NOTICE_INFO},
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strlen(kinds[i].name) == len && memcmp(kinds[i].name, kind, len) == 0) {
			*type = kinds[i].type;
			*notice = kinds[i].notice;
			return true;
		}
	return false;
}
