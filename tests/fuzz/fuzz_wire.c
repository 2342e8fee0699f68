/*
 * The binary frame decoder on arbitrary bytes, fed in arbitrary pieces:
 * it must never read out of bounds, loop or leak, and whatever it decodes
 * must encode again to a frame that decodes to the same message. The
 * frames cut by wire_next_frame give wire_peek_text the same text as the
 * full decoder wherever that one succeeds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

static void check_round_trip(const struct wire_msg *m)
{
	if (m->type == WIRE_UNKNOWN || m->type == WIRE_ROOMS || m->type == WIRE_WHO)
		return;
	struct frame *f = wire_encode(m);
	if (f == NULL)
		return;
	struct wire_decoder d;
	wire_decoder_init(&d, WIRE_MAX_FRAME);
	wire_feed(&d, f->data, f->len);
	struct wire_msg again;
	if (wire_next(&d, &again) != 1 || again.type != m->type ||
	    again.text.len != m->text.len || again.pseudo.len != m->pseudo.len ||
	    again.id != m->id || again.nonce != m->nonce || again.msg_id != m->msg_id ||
	    again.features != m->features ||
	    again.room.len != m->room.len)
		abort();
	wire_decoder_free(&d);
	frame_unref(f);
}

static void check_peek(uint8_t type, struct wire_str payload)
{
	struct wire_msg m;
	const char *cause;
	uint16_t code;
	int full = wire_decode_payload(type, payload.ptr, payload.len, &m, &cause, &code);
	if (type != WIRE_MESSAGE)
		return;
	struct wire_str text;
	int peek = wire_peek_text(payload.ptr, payload.len, &text);
	if (full == 0 && (peek != 0 || text.ptr != m.text.ptr || text.len != m.text.len))
		abort();
	if (peek == 0 && (text.ptr < payload.ptr || text.ptr + text.len > payload.ptr + payload.len))
		abort();
}

/* The same bytes, the same pieces, through wire_next_frame. */
static void check_frames(const uint8_t *data, size_t size, size_t piece, bool preamble)
{
	struct wire_decoder d;
	wire_decoder_init(&d, 64 * 1024);
	d.skip_text_preamble = preamble;
	for (size_t pos = 0; pos < size;) {
		size_t n = size - pos < piece ? size - pos : piece;
		wire_feed(&d, (const char *)data + pos, n);
		pos += n;
		uint8_t type;
		struct wire_str payload;
		int rc;
		while ((rc = wire_next_frame(&d, &type, &payload)) == 1)
			check_peek(type, payload);
		if (rc < 0)
			break;
	}
	wire_decoder_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* The first byte picks the piece size, so splits get explored too,
	 * and whether the client's text preamble is skipped. */
	size_t piece = 1 + data[0] % 64;
	bool preamble = data[0] & 0x80;
	data++;
	size--;
	struct wire_decoder d;
	wire_decoder_init(&d, 64 * 1024);
	d.skip_text_preamble = preamble;
	size_t pos = 0;
	while (pos < size) {
		size_t n = size - pos < piece ? size - pos : piece;
		wire_feed(&d, (const char *)data + pos, n);
		pos += n;
		struct wire_msg m;
		int rc;
		while ((rc = wire_next(&d, &m)) == 1) {
			check_round_trip(&m);
			struct wire_entry entries[16];
			wire_entries(&m, entries, 16);
		}
		if (rc < 0) {
			if (d.cause == NULL)
				abort(); /* every error has a reason */
			break;
		}
	}
	wire_decoder_free(&d);
	check_frames(data, size, piece, preamble);
	return 0;
}
