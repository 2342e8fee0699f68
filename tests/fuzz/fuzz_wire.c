/*
 * The binary frame decoder on arbitrary bytes, fed in arbitrary pieces:
 * it must never read out of bounds, loop or leak, and whatever it decodes
 * must encode again to a frame that decodes to the same message.
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
	return 0;
}
