#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"

/* ---- primitives ---------------------------------------------------------- */

static size_t varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

struct writer {
	char *p;
};

static void put_u8(struct writer *w, uint8_t v)
{
	*w->p++ = (char)v;
}

static void put_be(struct writer *w, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--)
		*w->p++ = (char)(v >> (8 * i));
}

static void put_varint(struct writer *w, uint64_t v)
{
	while (v >= 0x80) {
		*w->p++ = (char)(0x80 | (v & 0x7f));
		v >>= 7;
	}
	*w->p++ = (char)v;
}

static void put_str(struct writer *w, struct wire_str s)
{
	put_varint(w, s.len);
	if (s.len > 0)
		memcpy(w->p, s.ptr, s.len);
	w->p += s.len;
}

static size_t str_size(struct wire_str s)
{
	return varint_size(s.len) + s.len;
}

struct reader {
	const unsigned char *p;
	size_t left;
	const char *cause;
	uint16_t code;
};

static bool fail(struct reader *r, const char *cause, uint16_t code)
{
	if (r->cause == NULL) {
		r->cause = cause;
		r->code = code;
	}
	r->left = 0;
	return false;
}

static bool get_be(struct reader *r, int bytes, uint64_t *out)
{
	if (r->left < (size_t)bytes)
		return fail(r, "frame shorter than its fields", WIRE_ERR_MALFORMED);
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v = (v << 8) | r->p[i];
	r->p += bytes;
	r->left -= (size_t)bytes;
	*out = v;
	return true;
}

int wire_varint_decode(const unsigned char *p, size_t len, uint64_t *out, size_t *used)
{
	uint64_t v = 0;
	for (size_t i = 0; i < 4; i++) {
		if (i == len)
			return 0; /* need more */
		v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			*out = v;
			*used = i + 1;
			return 1;
		}
	}
	return -1;
}

static bool get_len(struct reader *r, size_t max, size_t *out)
{
	uint64_t v;
	size_t used;
	int rc = wire_varint_decode(r->p, r->left, &v, &used);
	if (rc <= 0)
		return fail(r, "bad length field", WIRE_ERR_MALFORMED);
	r->p += used;
	r->left -= used;
	if (v > max)
		return fail(r, "field longer than allowed", WIRE_ERR_TOO_LARGE);
	if (v > r->left)
		return fail(r, "field longer than its frame", WIRE_ERR_MALFORMED);
	*out = (size_t)v;
	return true;
}

static bool get_bytes(struct reader *r, size_t max, struct wire_str *out)
{
	size_t len;
	if (!get_len(r, max, &len))
		return false;
	out->ptr = (const char *)r->p;
	out->len = len;
	r->p += len;
	r->left -= len;
	return true;
}

static bool get_str(struct reader *r, size_t max, struct wire_str *out)
{
	if (!get_bytes(r, max, out))
		return false;
	if (!utf8_is_valid(out->ptr, out->len))
		return fail(r, "string is not valid UTF-8", WIRE_ERR_BAD_UTF8);
	return true;
}

/* ---- the fields of each type -------------------------------------------- */

/* Limits of names: generous against the server's own rules (which it
 * checks), tight enough that no name costs memory. */
#define NAME_MAX_BYTES 256

static size_t payload_size(const struct wire_msg *m)
{
	switch (m->type) {
	case WIRE_HELLO:
		return 1 + str_size(m->pseudo) + str_size(m->room) + str_size(m->token) + 8 +
		       (m->features != 0 || m->identity.len > 0 ? 1 : 0) +
		       (m->identity.len > 0 ? str_size(m->identity) : 0);
	case WIRE_WELCOME:
		return 1 + 8 + 2 + 1 + str_size(m->token) + str_size(m->pseudo) + str_size(m->room) +
		       (m->features != 0 ? 1 : 0);
	case WIRE_SAY:
		if (m->msg_id != 0) /* the room, even empty, then the id */
			return str_size(m->text) + str_size(m->room) + 8;
		/* fall through */
	case WIRE_COMMAND:
		return str_size(m->text) + (m->room.len > 0 ? str_size(m->room) : 0);
	case WIRE_ACK:
		return 8 + 8;
	case WIRE_MESSAGE:
		return 8 + 8 + 8 + 2 + str_size(m->pseudo) + str_size(m->room) + str_size(m->text);
	case WIRE_NOTICE:
		return 8 + 8 + 1 + 8 + 2 + str_size(m->pseudo) + str_size(m->room) + str_size(m->text);
	case WIRE_ROOMS_ASK:
		return 0;
	case WIRE_WHO_ASK:
		return m->room.len > 0 ? str_size(m->room) : 0;
	case WIRE_PART:
		return str_size(m->room);
	case WIRE_SEARCH:
		return str_size(m->query);
	case WIRE_FOUND:
		return 1 + str_size(m->query) + str_size(m->text);
	case WIRE_ROOMS:
	case WIRE_WHO: {
		size_t n = (m->type == WIRE_WHO ? str_size(m->room) : 0) + varint_size(m->entry_count);
		for (size_t i = 0; i < m->entry_count; i++)
			n += str_size(m->entries[i].name) + 4;
		return n;
	}
	case WIRE_JOIN:
		return str_size(m->room);
	case WIRE_HISTORY:
		return str_size(m->room) + str_size(m->text);
	case WIRE_HISTORY_ASK:
		return str_size(m->room) + 8;
	case WIRE_IMAGE:
		return 8 + 8 + 8 + 2 + str_size(m->pseudo) + str_size(m->room) +
		       str_size(m->mime) + 4 + 4 + str_size(m->data);
	case WIRE_ERROR:
		return 2 + str_size(m->text);
	case WIRE_PING:
	case WIRE_PONG:
		return 8;
	case WIRE_UNKNOWN:
		break;
	}
	return 0;
}

static void put_payload(struct writer *w, const struct wire_msg *m)
{
	switch (m->type) {
	case WIRE_HELLO:
		put_u8(w, m->version);
		put_str(w, m->pseudo);
		put_str(w, m->room);
		put_str(w, m->token);
		put_be(w, m->id, 8);
		/* Both came later, in this order: features, then identity. */
		if (m->features != 0 || m->identity.len > 0)
			put_u8(w, m->features);
		if (m->identity.len > 0)
			put_str(w, m->identity);
		break;
	case WIRE_WELCOME:
		put_u8(w, m->version);
		put_be(w, m->user_id, 8);
		put_be(w, (uint16_t)m->colour, 2);
		put_u8(w, m->returning ? 1 : 0);
		put_str(w, m->token);
		put_str(w, m->pseudo);
		put_str(w, m->room);
		if (m->features != 0) /* came later (issue 19) */
			put_u8(w, m->features);
		break;
	case WIRE_SAY:
	case WIRE_COMMAND:
		put_str(w, m->text);
		if (m->room.len > 0 || (m->type == WIRE_SAY && m->msg_id != 0))
			put_str(w, m->room);
		if (m->type == WIRE_SAY && m->msg_id != 0)
			put_be(w, m->msg_id, 8);
		break;
	case WIRE_ACK:
		put_be(w, m->msg_id, 8);
		put_be(w, m->id, 8);
		break;
	case WIRE_NOTICE:
	case WIRE_MESSAGE:
	case WIRE_IMAGE:
		put_be(w, m->id, 8);
		put_be(w, m->time_ms, 8);
		if (m->type == WIRE_NOTICE)
			put_u8(w, m->kind);
		put_be(w, m->user_id, 8);
		put_be(w, (uint16_t)m->colour, 2);
		put_str(w, m->pseudo);
		put_str(w, m->room);
		if (m->type == WIRE_IMAGE) {
			put_str(w, m->mime);
			put_be(w, m->width, 4);
			put_be(w, m->height, 4);
			put_str(w, m->data);
		} else {
			put_str(w, m->text);
		}
		break;
	case WIRE_ROOMS_ASK:
	case WIRE_UNKNOWN:
		break;
	case WIRE_WHO_ASK:
		if (m->room.len > 0)
			put_str(w, m->room);
		break;
	case WIRE_PART:
		put_str(w, m->room);
		break;
	case WIRE_SEARCH:
		put_str(w, m->query);
		break;
	case WIRE_FOUND:
		put_u8(w, m->cut ? 1 : 0);
		put_str(w, m->query);
		put_str(w, m->text);
		break;
	case WIRE_ROOMS:
	case WIRE_WHO:
		if (m->type == WIRE_WHO)
			put_str(w, m->room);
		put_varint(w, m->entry_count);
		for (size_t i = 0; i < m->entry_count; i++) {
			put_str(w, m->entries[i].name);
			put_be(w, m->entries[i].count, 4);
		}
		break;
	case WIRE_JOIN:
		put_str(w, m->room);
		break;
	case WIRE_HISTORY:
		put_str(w, m->room);
		put_str(w, m->text);
		break;
	case WIRE_HISTORY_ASK:
		put_str(w, m->room);
		put_be(w, m->id, 8);
		break;
	case WIRE_ERROR:
		put_be(w, m->code, 2);
		put_str(w, m->text);
		break;
	case WIRE_PING:
	case WIRE_PONG:
		put_be(w, m->nonce, 8);
		break;
	}
}

struct frame *wire_encode(const struct wire_msg *m)
{
	if (m->type == WIRE_UNKNOWN || m->entry_count > WIRE_MAX_ENTRIES)
		return NULL;
	size_t len = payload_size(m);
	if (len > WIRE_MAX_FRAME)
		return NULL;
	struct frame *f = frame_new(1 + varint_size(len) + len);
	if (f == NULL)
		return NULL;
	struct writer w = {f->data};
	put_u8(&w, (uint8_t)m->type);
	put_varint(&w, len);
	put_payload(&w, m);
	return f;
}

static bool get_event_head(struct reader *r, struct wire_msg *m, bool with_kind)
{
	uint64_t v;
	if (!get_be(r, 8, &m->id) || !get_be(r, 8, &m->time_ms))
		return false;
	if (with_kind) {
		if (!get_be(r, 1, &v))
			return false;
		m->kind = (uint8_t)v;
	}
	if (!get_be(r, 8, &m->user_id) || !get_be(r, 2, &v))
		return false;
	m->colour = (int16_t)(uint16_t)v;
	return get_str(r, NAME_MAX_BYTES, &m->pseudo) && get_str(r, NAME_MAX_BYTES, &m->room);
}

static bool get_list(struct reader *r, struct wire_msg *m)
{
	uint64_t count;
	size_t used;
	if (wire_varint_decode(r->p, r->left, &count, &used) != 1)
		return fail(r, "bad list count", WIRE_ERR_MALFORMED);
	if (count > WIRE_MAX_ENTRIES)
		return fail(r, "list longer than allowed", WIRE_ERR_TOO_LARGE);
	r->p += used;
	r->left -= used;
	m->list = (const char *)r->p;
	const unsigned char *start = r->p;
	for (uint64_t i = 0; i < count; i++) {
		struct wire_str name;
		uint64_t n;
		if (!get_str(r, NAME_MAX_BYTES, &name) || !get_be(r, 4, &n))
			return false;
	}
	m->entry_count = (size_t)count;
	m->list_len = (size_t)(r->p - start);
	return true;
}

int wire_decode_payload(uint8_t type, const char *p, size_t len,
			struct wire_msg *m, const char **cause, uint16_t *code)
{
	memset(m, 0, sizeof(*m));
	m->colour = -1;
	m->raw_type = type;
	m->type = (enum wire_type)type;
	struct reader r = {(const unsigned char *)p, len, NULL, 0};
	uint64_t v = 0;
	bool ok = true;
	switch (type) {
	case WIRE_HELLO:
		ok = get_be(&r, 1, &v) && get_str(&r, NAME_MAX_BYTES, &m->pseudo) &&
		     get_str(&r, NAME_MAX_BYTES, &m->room) &&
		     get_bytes(&r, WIRE_TOKEN_LEN, &m->token) && get_be(&r, 8, &m->id);
		m->version = (uint8_t)v;
		if (ok && m->token.len != 0 && m->token.len != WIRE_TOKEN_LEN)
			ok = fail(&r, "resume token of the wrong size", WIRE_ERR_MALFORMED);
		/* Features (the several rooms), then the identity (issue 16),
		 * came later: an older client sends neither. */
		if (ok && r.left > 0 && get_be(&r, 1, &v))
			m->features = (uint8_t)v;
		if (ok && r.left > 0)
			ok = get_bytes(&r, WIRE_TOKEN_LEN, &m->identity);
		if (ok && m->identity.len != 0 && m->identity.len != WIRE_TOKEN_LEN)
			ok = fail(&r, "identity of the wrong size", WIRE_ERR_MALFORMED);
		break;
	case WIRE_WELCOME:
		ok = get_be(&r, 1, &v);
		m->version = (uint8_t)v;
		ok = ok && get_be(&r, 8, &m->user_id) && get_be(&r, 2, &v);
		m->colour = (int16_t)(uint16_t)v;
		ok = ok && get_be(&r, 1, &v);
		m->returning = v != 0;
		ok = ok && get_bytes(&r, WIRE_TOKEN_LEN, &m->token) &&
		     get_str(&r, NAME_MAX_BYTES, &m->pseudo) && get_str(&r, NAME_MAX_BYTES, &m->room);
		if (ok && m->token.len != WIRE_TOKEN_LEN)
			ok = fail(&r, "resume token of the wrong size", WIRE_ERR_MALFORMED);
		/* The server's features came later (issue 19). */
		if (ok && r.left > 0 && get_be(&r, 1, &v))
			m->features = (uint8_t)v;
		break;
	case WIRE_SAY:
	case WIRE_COMMAND:
		/* The room came later: none is the sender's current room. */
		ok = get_str(&r, WIRE_MAX_TEXT, &m->text) &&
		     (r.left == 0 || get_str(&r, NAME_MAX_BYTES, &m->room));
		/* Then the message id (issue 19), a SAY's only. */
		if (ok && type == WIRE_SAY && r.left > 0)
			ok = get_be(&r, 8, &m->msg_id);
		break;
	case WIRE_ACK:
		ok = get_be(&r, 8, &m->msg_id) && get_be(&r, 8, &m->id);
		break;
	case WIRE_MESSAGE:
	case WIRE_NOTICE:
		ok = get_event_head(&r, m, type == WIRE_NOTICE) &&
		     get_str(&r, WIRE_MAX_TEXT, &m->text);
		break;
	case WIRE_IMAGE:
		ok = get_event_head(&r, m, false) && get_str(&r, NAME_MAX_BYTES, &m->mime) &&
		     get_be(&r, 4, &v);
		m->width = (uint32_t)v;
		ok = ok && get_be(&r, 4, &v);
		m->height = (uint32_t)v;
		ok = ok && get_bytes(&r, WIRE_MAX_FRAME, &m->data);
		break;
	case WIRE_ROOMS_ASK:
		break;
	case WIRE_WHO_ASK:
		ok = r.left == 0 || get_str(&r, NAME_MAX_BYTES, &m->room);
		break;
	case WIRE_PART:
		ok = get_str(&r, NAME_MAX_BYTES, &m->room);
		break;
	case WIRE_SEARCH:
		ok = get_str(&r, WIRE_MAX_QUERY, &m->query);
		break;
	case WIRE_FOUND:
		ok = get_be(&r, 1, &v) && get_str(&r, WIRE_MAX_QUERY, &m->query) &&
		     get_str(&r, WIRE_MAX_FRAME, &m->text);
		m->cut = v != 0;
		break;
	case WIRE_ROOMS:
		ok = get_list(&r, m);
		break;
	case WIRE_WHO:
		ok = get_str(&r, NAME_MAX_BYTES, &m->room) && get_list(&r, m);
		break;
	case WIRE_JOIN:
		ok = get_str(&r, NAME_MAX_BYTES, &m->room);
		break;
	case WIRE_HISTORY:
		ok = get_str(&r, NAME_MAX_BYTES, &m->room) && get_str(&r, WIRE_MAX_FRAME, &m->text);
		break;
	case WIRE_HISTORY_ASK:
		ok = get_str(&r, NAME_MAX_BYTES, &m->room) && get_be(&r, 8, &m->id);
		break;
	case WIRE_ERROR:
		ok = get_be(&r, 2, &v) && get_str(&r, WIRE_MAX_TEXT, &m->text);
		m->code = (uint16_t)v;
		break;
	case WIRE_PING:
	case WIRE_PONG:
		ok = get_be(&r, 8, &m->nonce);
		break;
	default:
		/* A later version's type: skipped whole, by its length. */
		m->type = WIRE_UNKNOWN;
		break;
	}
	/* Bytes after the known fields are a later version's additions. */
	if (!ok) {
		*cause = r.cause;
		*code = r.code;
		return r.code == WIRE_ERR_TOO_LARGE ? -E2BIG : -EBADMSG;
	}
	return 0;
}

/* Skips the event head of MESSAGE (get_event_head without its values nor
 * the UTF-8 checks), then reads the text's length. */
int wire_peek_text(const char *payload, size_t len, struct wire_str *text)
{
	struct reader r = {(const unsigned char *)payload, len, NULL, 0};
	struct wire_str skipped;
	const size_t fixed = 8 + 8 + 8 + 2; /* id, time, user id, colour */
	if (r.left < fixed)
		return -EBADMSG;
	r.p += fixed;
	r.left -= fixed;
	if (!get_bytes(&r, NAME_MAX_BYTES, &skipped) || !get_bytes(&r, NAME_MAX_BYTES, &skipped) ||
	    !get_bytes(&r, WIRE_MAX_TEXT, text))
		return r.code == WIRE_ERR_TOO_LARGE ? -E2BIG : -EBADMSG;
	return 0;
}

size_t wire_entries(const struct wire_msg *m, struct wire_entry *out, size_t max)
{
	struct reader r = {(const unsigned char *)m->list, m->list_len, NULL, 0};
	size_t n = 0;
	while (n < m->entry_count && n < max) {
		uint64_t count;
		if (!get_str(&r, NAME_MAX_BYTES, &out[n].name) || !get_be(&r, 4, &count))
			break;
		out[n].count = (uint32_t)count;
		n++;
	}
	return n;
}

bool wire_is_hello_prefix(const char *data, size_t len)
{
	size_t n = len < WIRE_MAGIC_LEN ? len : WIRE_MAGIC_LEN;
	return n > 0 && memcmp(data, WIRE_MAGIC, n) == 0;
}
