/*
 * The structure of a PNG (chunks) or a JPEG (marker segments and scans),
 * walked without decoding: image_check judges it, image_strip keeps only
 * what draws the picture. Both walk with the same readers, so what one
 * accepts the other understands.
 */
#include "image.h"

#include <errno.h>
#include <string.h>

static const unsigned char png_signature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const unsigned char jpeg_signature[] = {0xff, 0xd8, 0xff};

static const char damaged[] = "image illisible (fichier abîmé ou tronqué)";

static uint32_t read_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static unsigned read_be16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static bool sane_size(uint32_t width, uint32_t height, const char **cause)
{
	if (width < 1 || height < 1) {
		*cause = "image sans pixels";
		return false;
	}
	if (width > IMAGE_MAX_SIDE || height > IMAGE_MAX_SIDE ||
	    (uint64_t)width * height > IMAGE_MAX_PIXELS) {
		*cause = "dimensions trop grandes (au plus 8192 de côté, 32 mégapixels)";
		return false;
	}
	return true;
}

/* ---- PNG ------------------------------------------------------------------ */

/* One chunk at p[0..left): its data length, or false when it does not fit. */
static bool png_chunk(const unsigned char *p, size_t left, size_t *data_len)
{
	if (left < 12)
		return false;
	uint32_t n = read_be32(p);
	if (n > left - 12)
		return false;
	*data_len = n;
	return true;
}

/* Chunks that draw the picture; the rest (text, time, EXIF, colour
 * profiles our renderer ignores) is dropped. */
static bool png_keeps(const unsigned char *type)
{
	static const char kept[][5] = {"IHDR", "PLTE", "tRNS", "IDAT", "IEND"};
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (memcmp(type, kept[i], 4) == 0)
			return true;
	return false;
}

static int png_check(const unsigned char *p, size_t len, struct image_info *info,
		     const char **cause)
{
	size_t n;
	/* A PNG says its size first: judged before anything else. */
	if (len < 8 + 25 || !png_chunk(p + 8, len - 8, &n) || n != 13 ||
	    memcmp(p + 12, "IHDR", 4) != 0) {
		*cause = "image illisible";
		return -EINVAL;
	}
	if (!sane_size(read_be32(p + 16), read_be32(p + 20), cause))
		return -EINVAL;
	info->width = (int)read_be32(p + 16);
	info->height = (int)read_be32(p + 20);
	info->layered = p[28] != 0; /* Adam7: decoded whole */
	size_t at = 8;
	bool idat = false, end = false;
	while (at < len && !end) {
		if (!png_chunk(p + at, len - at, &n)) {
			*cause = damaged;
			return -EINVAL;
		}
		idat |= memcmp(p + at + 4, "IDAT", 4) == 0;
		end = memcmp(p + at + 4, "IEND", 4) == 0;
		at += 12 + n;
	}
	if (!idat || !end) {
		*cause = damaged;
		return -EINVAL;
	}
	return 0;
}

/* Whole chunks from the signature to IEND, or nothing is changed. */
static size_t png_strip(unsigned char *p, size_t len)
{
	size_t at = 8, n, end = 0;
	while (at < len && end == 0) {
		if (!png_chunk(p + at, len - at, &n))
			return len;
		if (memcmp(p + at + 4, "IEND", 4) == 0)
			end = at + 12 + n;
		at += 12 + n;
	}
	if (end == 0)
		return len;
	/* The output never gets ahead of the input: memmove is safe. */
	size_t out = 8;
	for (at = 8; at < end; at += 12 + n) {
		png_chunk(p + at, end - at, &n);
		if (png_keeps(p + at + 4)) {
			memmove(p + out, p + at, 12 + n);
			out += 12 + n;
		}
	}
	return out; /* what follows the end is not the picture */
}

/* ---- JPEG ----------------------------------------------------------------- */

/* Walks a JPEG's markers: each segment (and each scan's entropy-coded
 * data, which ends at the next marker) is handed to `visit`, which may
 * stop the walk by returning false. Returns false when the file is
 * malformed or cut short before EOI. */
struct jpeg_walk {
	const unsigned char *p;
	size_t len;
	bool (*visit)(struct jpeg_walk *w, unsigned marker, size_t at, size_t seg_len);
	void *data;
};

static size_t skip_entropy_data(const unsigned char *p, size_t len, size_t at)
{
	while (at + 1 < len) {
		const unsigned char *ff = memchr(p + at, 0xff, len - at - 1);
		if (ff == NULL)
			return len;
		at = (size_t)(ff - p);
		unsigned next = p[at + 1];
		if (next == 0x00 || (next >= 0xd0 && next <= 0xd7) || next == 0xff) {
			at += next == 0xff ? 1 : 2; /* stuffing, restart, fill */
			continue;
		}
		return at;
	}
	return len;
}

static bool jpeg_walk(struct jpeg_walk *w)
{
	const unsigned char *p = w->p;
	size_t at = 2;
	while (at + 1 < w->len) {
		if (p[at] != 0xff)
			return false;
		unsigned marker = p[at + 1];
		if (marker == 0xff) {
			at++; /* fill byte */
			continue;
		}
		if (marker == 0xd9) {
			w->visit(w, marker, at, 2);
			return true;
		}
		if ((marker >= 0xd0 && marker <= 0xd7) || marker == 0x01) {
			if (!w->visit(w, marker, at, 2))
				return true;
			at += 2;
			continue;
		}
		if (at + 4 > w->len)
			return false;
		size_t seg = 2 + read_be16(p + at + 2);
		if (seg < 4 || seg > w->len - at)
			return false;
		size_t end = seg + at;
		if (marker == 0xda)
			end = skip_entropy_data(p, w->len, end);
		if (!w->visit(w, marker, at, end - at))
			return true;
		at = end;
	}
	return false; /* no EOI */
}

struct jpeg_facts {
	bool sof, bad_sof, progressive;
	unsigned width, height, components, scans;
	unsigned char sampling[4]; /* each component's H (high nibble) and V */
	bool scan_before_frame;
};

static bool learn(struct jpeg_walk *w, unsigned marker, size_t at, size_t seg_len)
{
	struct jpeg_facts *f = w->data;
	const unsigned char *s = w->p + at;
	if (marker == 0xda) {
		f->scan_before_frame |= !f->sof;
		f->scans++;
		return true;
	}
	bool frame = marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 &&
		     marker != 0xcc;
	if (!frame)
		return true;
	/* Huffman baseline, extended or progressive, 8-bit samples, one
	 * frame: what every camera and browser writes. */
	if (f->sof || marker > 0xc2 || seg_len < 10 || s[4] != 8) {
		f->bad_sof = true;
		return false;
	}
	f->sof = true;
	f->progressive = marker == 0xc2;
	f->height = read_be16(s + 5);
	f->width = read_be16(s + 7);
	f->components = s[9];
	if (seg_len != 10 + 3 * (size_t)f->components ||
	    (f->components != 1 && f->components != 3 && f->components != 4)) {
		f->bad_sof = true;
		return false;
	}
	for (unsigned i = 0; i < f->components; i++) {
		f->sampling[i] = s[11 + 3 * i];
		unsigned h = f->sampling[i] >> 4, v = f->sampling[i] & 15;
		if (h < 1 || h > 4 || v < 1 || v > 4)
			f->bad_sof = true;
	}
	return !f->bad_sof;
}

static uint64_t round_up(uint64_t n, uint64_t to)
{
	return (n + to - 1) / to * to;
}

/* What a decoder holds for a JPEG it cannot stream: every component's
 * blocks of 64 two-byte coefficients, as libjpeg sizes them. */
static uint64_t coefficient_bytes(const struct jpeg_facts *f)
{
	unsigned hmax = 1, vmax = 1;
	for (unsigned i = 0; i < f->components; i++) {
		hmax = (f->sampling[i] >> 4) > hmax ? f->sampling[i] >> 4 : hmax;
		vmax = (f->sampling[i] & 15) > vmax ? f->sampling[i] & 15 : vmax;
	}
	uint64_t bytes = 0;
	for (unsigned i = 0; i < f->components; i++) {
		unsigned h = f->sampling[i] >> 4, v = f->sampling[i] & 15;
		uint64_t bw = ((uint64_t)f->width * h + 8ull * hmax - 1) / (8ull * hmax);
		uint64_t bh = ((uint64_t)f->height * v + 8ull * vmax - 1) / (8ull * vmax);
		bytes += round_up(bw, h) * round_up(bh, v) * 128;
	}
	return bytes;
}

static int jpeg_check(const unsigned char *p, size_t len, struct image_info *info,
		      const char **cause)
{
	struct jpeg_facts f = {0};
	struct jpeg_walk w = {.p = p, .len = len, .visit = learn, .data = &f};
	bool whole = jpeg_walk(&w);
	if (f.bad_sof) {
		*cause = "type de JPEG non pris en charge";
		return -EINVAL;
	}
	/* The size first, as for a PNG, even for a file cut short. */
	if (f.sof && !sane_size(f.width, f.height, cause))
		return -EINVAL;
	if (!whole || !f.sof || f.scans == 0 || f.scan_before_frame) {
		*cause = f.sof ? damaged : "image illisible";
		return -EINVAL;
	}
	info->width = (int)f.width;
	info->height = (int)f.height;
	info->scans = f.scans;
	info->layered = f.progressive || f.scans > 1;
	if (f.scans > IMAGE_MAX_SCANS ||
	    (uint64_t)f.width * f.height * f.scans > IMAGE_MAX_SCAN_WORK) {
		*cause = "trop de passes (JPEG progressif)";
		return -EINVAL;
	}
	if (info->layered && coefficient_bytes(&f) > IMAGE_MAX_COEFFICIENT_BYTES) {
		*cause = "JPEG progressif trop lourd à décoder (au plus 64 Mio)";
		return -EINVAL;
	}
	return 0;
}

/* Segments that draw the picture: APP0 (JFIF) and APP14 (Adobe: how the
 * colours are coded) are kept; other APPn (EXIF, XMP, ICC profiles our
 * renderer ignores) and comments are dropped. */
static bool jpeg_keeps(unsigned marker)
{
	return !((marker >= 0xe1 && marker <= 0xef && marker != 0xee) || marker == 0xfe);
}

struct jpeg_copy {
	unsigned char *out;
	size_t used;
};

static bool copy_kept(struct jpeg_walk *w, unsigned marker, size_t at, size_t seg_len)
{
	struct jpeg_copy *c = w->data;
	if (jpeg_keeps(marker)) {
		/* The output never gets ahead of the input: memmove is safe. */
		memmove(c->out + c->used, w->p + at, seg_len);
		c->used += seg_len;
	}
	return marker != 0xd9;
}

static bool walk_on(struct jpeg_walk *w, unsigned marker, size_t at, size_t seg_len)
{
	(void)w;
	(void)at;
	(void)seg_len;
	return marker != 0xd9;
}

/* Walked once to see it whole (else nothing is changed), then copied. */
static size_t jpeg_strip(unsigned char *p, size_t len)
{
	struct jpeg_walk w = {.p = p, .len = len, .visit = walk_on};
	if (!jpeg_walk(&w))
		return len;
	struct jpeg_copy c = {.out = p, .used = 2};
	w.visit = copy_kept;
	w.data = &c;
	jpeg_walk(&w);
	return c.used;
}

/* ---- both ------------------------------------------------------------------ */

static const char *kind(const unsigned char *p, size_t len)
{
	if (len >= sizeof(png_signature) && memcmp(p, png_signature, sizeof(png_signature)) == 0)
		return "image/png";
	if (len >= sizeof(jpeg_signature) && memcmp(p, jpeg_signature, sizeof(jpeg_signature)) == 0)
		return "image/jpeg";
	return NULL;
}

size_t image_strip(unsigned char *data, size_t len)
{
	const char *mime = kind(data, len);
	if (mime == NULL)
		return len;
	return mime[6] == 'p' ? png_strip(data, len) : jpeg_strip(data, len);
}

int image_check(const void *data, size_t len, size_t max_bytes, struct image_info *info,
		const char **cause)
{
	const unsigned char *p = data;
	memset(info, 0, sizeof(*info));
	if (len == 0) {
		*cause = "fichier vide";
		return -EINVAL;
	}
	if (len > max_bytes || len > INT32_MAX) {
		*cause = "image trop lourde";
		return -EINVAL;
	}
	info->mime = kind(p, len);
	if (info->mime == NULL) {
		*cause = "ce n'est pas une image PNG ou JPEG";
		return -EINVAL;
	}
	int rc = info->mime[6] == 'p' ? png_check(p, len, info, cause)
				      : jpeg_check(p, len, info, cause);
	if (rc < 0)
		return rc;
	uint64_t pixels = (uint64_t)info->width * (uint64_t)info->height;
	if (info->layered && pixels > IMAGE_MAX_LAYERED_PIXELS) {
		*cause = "image progressive ou entrelacée trop grande (au plus 12 mégapixels)";
		return -EINVAL;
	}
	if (len > 8 * pixels + IMAGE_SLACK_BYTES) {
		*cause = "fichier bien plus lourd que ses pixels";
		return -EINVAL;
	}
	return 0;
}
