/*
 * wire_stream: the incremental decoder of the binary protocol (wire.h):
 * frames cut out of a byte stream read in arbitrary chunks, a frame split
 * across reads stashed until whole, its length checked against the limit
 * before any byte of it is kept. wire.c decodes each frame's payload.
 */
#include "wire.h"

#include <errno.h>
#include <string.h>

void wire_decoder_init(struct wire_decoder *d, size_t max_frame)
{
	memset(d, 0, sizeof(*d));
	d->max_frame = max_frame;
}

void wire_decoder_free(struct wire_decoder *d)
{
	buffer_free(&d->stash);
}

void wire_feed(struct wire_decoder *d, const char *data, size_t len)
{
	d->chunk = data;
	d->chunk_len = len;
	d->chunk_pos = 0;
}

static int error(struct wire_decoder *d, int rc, const char *cause, uint16_t code)
{
	d->cause = cause;
	d->error_code = code;
	return rc;
}

/*
 * Reads a frame header at p[0..len): 1 when whole (*type, *payload_len,
 * *header_len set), 0 when more bytes are needed, < 0 on a bad header.
 */
static int read_header(struct wire_decoder *d, const char *p, size_t len, uint8_t *type,
		       size_t *payload_len, size_t *header_len)
{
	if (len == 0)
		return 0;
	uint64_t v;
	size_t used;
	int rc = wire_varint_decode((const unsigned char *)p + 1, len - 1, &v, &used);
	if (rc == 0)
		return 0;
	if (rc < 0)
		return error(d, -EBADMSG, "bad frame length", WIRE_ERR_MALFORMED);
	size_t limit = (uint8_t)p[0] == WIRE_IMAGE && d->max_image_frame > d->max_frame
		? d->max_image_frame : d->max_frame;
	if (v > limit)
		return error(d, -E2BIG, "frame larger than allowed", WIRE_ERR_TOO_LARGE);
	*type = (uint8_t)p[0];
	*payload_len = (size_t)v;
	*header_len = 1 + used;
	return 1;
}


/* Text lines start with a printable byte; every frame type is below 0x20. */
static void skip_text_preamble(struct wire_decoder *d)
{
	while (d->chunk_pos < d->chunk_len) {
		unsigned char b = (unsigned char)d->chunk[d->chunk_pos];
		if (!d->in_text_line && b < 0x20 && b != '\n') {
			d->skip_text_preamble = false;
			return;
		}
		d->in_text_line = b != '\n';
		d->chunk_pos++;
	}
}

int wire_next_frame(struct wire_decoder *d, uint8_t *type, struct wire_str *payload)
{
	if (d->stash_returned) {
		/* The frame handed out last time is done with: an idle peer
		 * keeps no buffer. */
		buffer_free(&d->stash);
		d->stash_returned = false;
	}
	if (d->skip_text_preamble && d->stash.len == 0) {
		skip_text_preamble(d);
		if (d->skip_text_preamble)
			return 0;
	}
	size_t payload_len, header_len;

	if (d->stash.len > 0) {
		/* Complete the stashed frame: first its header, then its payload. */
		int rc = read_header(d, d->stash.data, d->stash.len, type, &payload_len, &header_len);
		while (rc == 0 && d->chunk_pos < d->chunk_len) {
			if (buffer_add(&d->stash, d->chunk + d->chunk_pos, 1) < 0)
				return error(d, -ENOMEM, "out of memory", WIRE_ERR_TOO_LARGE);
			d->chunk_pos++;
			rc = read_header(d, d->stash.data, d->stash.len, type, &payload_len, &header_len);
		}
		if (rc <= 0)
			return rc;
		size_t want = header_len + payload_len - d->stash.len;
		size_t have = d->chunk_len - d->chunk_pos;
		size_t take = have < want ? have : want;
		if (buffer_add(&d->stash, d->chunk + d->chunk_pos, take) < 0)
			return error(d, -ENOMEM, "out of memory", WIRE_ERR_TOO_LARGE);
		d->chunk_pos += take;
		if (take < want)
			return 0;
		d->stash_returned = true;
		*payload = (struct wire_str){d->stash.data + header_len, payload_len};
		return 1;
	}

	const char *p = d->chunk + d->chunk_pos;
	size_t left = d->chunk_len - d->chunk_pos;
	int rc = read_header(d, p, left, type, &payload_len, &header_len);
	if (rc < 0)
		return rc;
	if (rc == 1 && header_len + payload_len <= left) {
		d->chunk_pos += header_len + payload_len;
		*payload = (struct wire_str){p + header_len, payload_len};
		return 1;
	}
	/* A frame split across reads: keep what there is (its length, when
	 * known, was checked against the limit above). */
	if (left > 0 && buffer_add(&d->stash, p, left) < 0)
		return error(d, -ENOMEM, "out of memory", WIRE_ERR_TOO_LARGE);
	d->chunk_pos = d->chunk_len;
	return 0;
}

int wire_next(struct wire_decoder *d, struct wire_msg *m)
{
	uint8_t type;
	struct wire_str payload;
	int rc = wire_next_frame(d, &type, &payload);
	if (rc <= 0)
		return rc;
	const char *cause = NULL;
	uint16_t code = 0;
	rc = wire_decode_payload(type, payload.ptr, payload.len, m, &cause, &code);
	if (rc < 0)
		return error(d, rc, cause, code);
	return 1;
}
