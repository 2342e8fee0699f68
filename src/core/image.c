/*
 * Decoding within a budget (libspng, libjpeg-turbo), rows streamed into a
 * small bitmap, and drawing it (libchafa). image_check has walked the file
 * first (imagecheck.c): its limits are what make the buffers here small.
 */
#include "image.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jpeglib.h>
#include <spng.h>

/* A PNG's ancillary chunks that libspng keeps (text, ICC profile), and
 * what it may inflate for them: a zTXt bomb costs no more. */
#define PNG_CHUNK_LIMIT (256u * 1024)
#define PNG_CHUNK_CACHE (1024u * 1024)

static const char damaged[] = "image illisible (fichier abîmé ou tronqué)";

uint64_t image_clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* NULL while the budget holds, else why it does not. */
static const char *spent(const struct image_budget *b)
{
	if (b == NULL)
		return NULL;
	if (b->cancel != NULL && atomic_load_explicit(b->cancel, memory_order_relaxed))
		return "abandonnée";
	if (b->deadline_ns != 0 && image_clock_ns() > b->deadline_ns)
		return "trop longue à décoder";
	return NULL;
}

/* ---- rows into a smaller bitmap ----------------------------------------- */

/* Each output pixel is the mean of the input pixels it covers, summed as
 * the rows go by: only one row of sums is kept. */
struct shrink {
	int in_w, in_h, out_w, out_h;
	int in_row;          /* rows taken so far */
	int out_row;         /* the output row being summed */
	int rows_summed;
	uint64_t *sums;      /* out_w * 4 */
	unsigned *cols;      /* input pixels per output column */
	unsigned char *out;  /* out_w * out_h * 4 */
};

static void fit_box(int width, int height, int max_w, int max_h, int *w, int *h)
{
	*w = width;
	*h = height;
	if (width <= max_w && height <= max_h)
		return;
	double sx = (double)max_w / width, sy = (double)max_h / height;
	double s = sx < sy ? sx : sy;
	*w = (int)(width * s + 0.5);
	*h = (int)(height * s + 0.5);
	*w = *w < 1 ? 1 : *w > max_w ? max_w : *w;
	*h = *h < 1 ? 1 : *h > max_h ? max_h : *h;
}

static bool shrink_init(struct shrink *s, int in_w, int in_h, int out_w, int out_h)
{
	memset(s, 0, sizeof(*s));
	s->in_w = in_w;
	s->in_h = in_h;
	s->out_w = out_w;
	s->out_h = out_h;
	s->sums = calloc((size_t)out_w * 4, sizeof(*s->sums));
	s->cols = calloc((size_t)out_w, sizeof(*s->cols));
	s->out = malloc((size_t)out_w * (size_t)out_h * 4);
	if (s->sums == NULL || s->cols == NULL || s->out == NULL)
		return false;
	for (int x = 0; x < in_w; x++)
		s->cols[(int64_t)x * out_w / in_w]++;
	return true;
}

static void shrink_emit(struct shrink *s)
{
	unsigned char *o = s->out + (size_t)s->out_row * (size_t)s->out_w * 4;
	for (int x = 0; x < s->out_w; x++) {
		uint64_t n = (uint64_t)s->cols[x] * (uint64_t)s->rows_summed;
		for (int c = 0; c < 4; c++)
			o[4 * x + c] = n ? (unsigned char)((s->sums[4 * x + c] + n / 2) / n) : 0;
	}
	memset(s->sums, 0, (size_t)s->out_w * 4 * sizeof(*s->sums));
	s->rows_summed = 0;
}

/* One more input row of RGBA pixels, top to bottom. */
static void shrink_row(struct shrink *s, const unsigned char *rgba)
{
	if (s->in_row >= s->in_h)
		return;
	int oy = (int)((int64_t)s->in_row * s->out_h / s->in_h);
	if (oy != s->out_row && s->rows_summed > 0)
		shrink_emit(s);
	s->out_row = oy;
	if (s->out_w == s->in_w) {
		for (int i = 0; i < 4 * s->in_w; i++)
			s->sums[i] += rgba[i];
	} else {
		for (int x = 0; x < s->in_w; x++) {
			uint64_t *sum = s->sums + 4 * ((int64_t)x * s->out_w / s->in_w);
			const unsigned char *px = rgba + 4 * x;
			sum[0] += px[0];
			sum[1] += px[1];
			sum[2] += px[2];
			sum[3] += px[3];
		}
	}
	s->rows_summed++;
	if (++s->in_row == s->in_h)
		shrink_emit(s);
}

/* The bitmap, once every row came; the rest is freed. */
static unsigned char *shrink_finish(struct shrink *s, bool whole)
{
	unsigned char *out = whole && s->in_row == s->in_h ? s->out : NULL;
	if (out == NULL)
		free(s->out);
	free(s->sums);
	free(s->cols);
	return out;
}

/* ---- PNG: libspng, row by row ---------------------------------------------- */

static unsigned char *decode_png(const void *data, size_t len, const struct image_info *info,
				 struct shrink *s, const struct image_budget *budget,
				 const char **cause)
{
	spng_ctx *ctx = spng_ctx_new(0);
	if (ctx == NULL) {
		*cause = "plus de mémoire";
		return NULL;
	}
	const char *why = damaged;
	unsigned char *row = NULL;
	bool whole = false;
	struct spng_ihdr ihdr;
	size_t total;
	if (spng_set_image_limits(ctx, IMAGE_MAX_SIDE, IMAGE_MAX_SIDE) != 0 ||
	    spng_set_chunk_limits(ctx, PNG_CHUNK_LIMIT, PNG_CHUNK_CACHE) != 0 ||
	    spng_set_png_buffer(ctx, data, len) != 0 || spng_get_ihdr(ctx, &ihdr) != 0 ||
	    ihdr.width != (uint32_t)info->width || ihdr.height != (uint32_t)info->height ||
	    spng_decoded_image_size(ctx, SPNG_FMT_RGBA8, &total) != 0 ||
	    spng_decode_image(ctx, NULL, 0, SPNG_FMT_RGBA8,
			      SPNG_DECODE_TRNS | SPNG_DECODE_PROGRESSIVE) != 0)
		goto out;
	size_t row_len = (size_t)info->width * 4;
	bool interlaced = ihdr.interlace_method != SPNG_INTERLACE_NONE;
	/* Adam7 rows come back in seven passes: held whole (image_check
	 * bounded it to IMAGE_MAX_LAYERED_PIXELS). */
	row = malloc(interlaced ? total : row_len);
	if (row == NULL) {
		why = "plus de mémoire";
		goto out;
	}
	int rc;
	do {
		const char *late = spent(budget);
		if (late != NULL) {
			why = late;
			goto out;
		}
		struct spng_row_info ri;
		if (spng_get_row_info(ctx, &ri) != 0)
			goto out;
		unsigned char *dest = interlaced ? row + (size_t)ri.row_num * row_len : row;
		rc = spng_decode_row(ctx, dest, row_len);
		if (rc != 0 && rc != SPNG_EOI)
			goto out;
		if (!interlaced)
			shrink_row(s, row);
	} while (rc == 0);
	for (int y = 0; interlaced && y < info->height; y++)
		shrink_row(s, row + (size_t)y * row_len);
	whole = true;
out:
	free(row);
	spng_ctx_free(ctx);
	if (!whole)
		*cause = why;
	return whole ? s->out : NULL;
}

/* ---- JPEG: libjpeg-turbo, scaled while decoding ------------------------------ */

struct jpeg_guard {
	struct jpeg_error_mgr err;
	struct jpeg_progress_mgr progress;
	jmp_buf jump;
	const struct image_budget *budget;
	const char *cause;
};

static void jpeg_failed(j_common_ptr cinfo)
{
	struct jpeg_guard *g = (struct jpeg_guard *)cinfo->err;
	if (g->cause == NULL)
		g->cause = damaged;
	longjmp(g->jump, 1);
}

/* A warning is libjpeg going on through damaged data (and paying for
 * it): the picture is refused instead. Traces (level > 0) are nothing. */
static void jpeg_message(j_common_ptr cinfo, int level)
{
	if (level < 0)
		jpeg_failed(cinfo);
}

static void jpeg_silent(j_common_ptr cinfo)
{
	(void)cinfo;
}

/* Called between rows of every scan: the budget is checked there, and the
 * scans are counted again (image_check counted the file's). */
static void jpeg_progress(j_common_ptr cinfo)
{
	struct jpeg_guard *g = (struct jpeg_guard *)cinfo->err;
	const char *why = spent(g->budget);
	if (why == NULL && ((j_decompress_ptr)cinfo)->input_scan_number > IMAGE_MAX_SCANS)
		why = "trop de passes (JPEG progressif)";
	if (why != NULL) {
		g->cause = why;
		longjmp(g->jump, 1);
	}
}

/* Adobe's CMYK is stored inverted; libjpeg gives it as such. */
static void cmyk_to_rgba(unsigned char *row, int width, bool inverted)
{
	for (int x = 0; x < width; x++) {
		unsigned char *p = row + 4 * x;
		unsigned c = p[0], m = p[1], y = p[2], k = p[3];
		if (!inverted) {
			c = 255 - c;
			m = 255 - m;
			y = 255 - y;
			k = 255 - k;
		}
		p[0] = (unsigned char)(c * k / 255);
		p[1] = (unsigned char)(m * k / 255);
		p[2] = (unsigned char)(y * k / 255);
		p[3] = 255;
	}
}

/* The largest DCT scaling (1/8, 1/4, 1/2) that still gives at least the
 * box's pixels: the rest is averaged by the shrink. */
static unsigned jpeg_denominator(int width, int height, int want_w, int want_h)
{
	for (unsigned d = 8; d > 1; d /= 2)
		if ((width + (int)d - 1) / (int)d >= want_w && (height + (int)d - 1) / (int)d >= want_h)
			return d;
	return 1;
}

static unsigned char *decode_jpeg(const void *data, size_t len, const struct image_info *info,
				  int want_w, int want_h, struct shrink *s,
				  const struct image_budget *budget, const char **cause)
{
	struct jpeg_decompress_struct cinfo;
	/* volatile: changed between setjmp and a longjmp back to it. */
	struct jpeg_guard g = {.budget = budget};
	unsigned char *volatile row = NULL;
	volatile bool whole = false;
	cinfo.err = jpeg_std_error(&g.err);
	g.err.error_exit = jpeg_failed;
	g.err.emit_message = jpeg_message;
	g.err.output_message = jpeg_silent;
	if (setjmp(g.jump) != 0)
		goto out;
	jpeg_create_decompress(&cinfo);
	cinfo.mem->max_memory_to_use = IMAGE_DECODE_MEMORY;
	g.progress.progress_monitor = jpeg_progress;
	cinfo.progress = &g.progress;
	jpeg_mem_src(&cinfo, data, (unsigned long)len);
	if (jpeg_read_header(&cinfo, TRUE) != JPEG_HEADER_OK ||
	    cinfo.image_width != (JDIMENSION)info->width ||
	    cinfo.image_height != (JDIMENSION)info->height)
		jpeg_failed((j_common_ptr)&cinfo);
	bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
	cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_EXT_RGBA;
	cinfo.scale_num = 1;
	cinfo.scale_denom = jpeg_denominator(info->width, info->height, want_w, want_h);
	jpeg_start_decompress(&cinfo);
	int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
	if (cinfo.output_components != 4 || !shrink_init(s, w, h, want_w < w ? want_w : w,
							  want_h < h ? want_h : h)) {
		g.cause = "plus de mémoire";
		jpeg_failed((j_common_ptr)&cinfo);
	}
	row = malloc((size_t)w * 4);
	if (row == NULL) {
		g.cause = "plus de mémoire";
		jpeg_failed((j_common_ptr)&cinfo);
	}
	while (cinfo.output_scanline < cinfo.output_height) {
		JSAMPROW rows[1] = {row};
		if (jpeg_read_scanlines(&cinfo, rows, 1) != 1)
			jpeg_failed((j_common_ptr)&cinfo);
		if (cmyk)
			cmyk_to_rgba(row, w, cinfo.saw_Adobe_marker);
		shrink_row(s, row);
	}
	whole = true;
out:
	/* What follows the last row is not read: abort, not finish. */
	jpeg_destroy_decompress(&cinfo);
	free(row);
	if (!whole)
		*cause = g.cause;
	return whole ? s->out : NULL;
}

unsigned char *image_decode(const void *data, size_t len, const struct image_info *info,
			    int max_width, int max_height, const struct image_budget *budget,
			    int *width, int *height, const char **cause)
{
	int w, h;
	fit_box(info->width, info->height, max_width < 1 ? 1 : max_width,
		max_height < 1 ? 1 : max_height, &w, &h);
	struct shrink s = {0};
	unsigned char *pixels;
	if (info->mime[6] == 'p') {
		if (!shrink_init(&s, info->width, info->height, w, h)) {
			shrink_finish(&s, false);
			*cause = "plus de mémoire";
			return NULL;
		}
		pixels = decode_png(data, len, info, &s, budget, cause);
	} else {
		pixels = decode_jpeg(data, len, info, w, h, &s, budget, cause);
	}
	pixels = shrink_finish(&s, pixels != NULL);
	if (pixels == NULL) {
		if (*cause == NULL)
			*cause = damaged;
		return NULL;
	}
	*width = s.out_w;
	*height = s.out_h;
	return pixels;
}

void image_free_pixels(unsigned char *pixels)
{
	free(pixels);
}

/* ---- drawing -------------------------------------------------------------- */

static void fit(int width, int height, int max_cols, int max_rows, int *cols, int *rows)
{
	int w = max_cols < 1 ? 1 : max_cols;
	int h = max_rows < 1 ? 1 : max_rows < IMAGE_MAX_ROWS ? max_rows : IMAGE_MAX_ROWS;
	chafa_calc_canvas_geometry(width, height, &w, &h, 0.5f, FALSE, FALSE);
	*cols = w < 1 ? 1 : w;
	*rows = h < 1 ? 1 : h;
}

/* libchafa's thread count is a process-wide setting: set once, before any
 * thread draws (a terminal's worth of cells needs no more than one). */
static void one_chafa_thread(void)
{
	chafa_set_n_threads(1);
}

ChafaCanvas *image_canvas(const unsigned char *rgba, int width, int height, int max_cols,
			  int colours, int *cols_out, int *rows_out)
{
	return image_canvas_fit(rgba, width, height, max_cols, IMAGE_MAX_ROWS, colours, cols_out,
				rows_out);
}

ChafaCanvas *image_canvas_fit(const unsigned char *rgba, int width, int height, int max_cols,
			      int max_rows, int colours, int *cols_out, int *rows_out)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, one_chafa_thread);
	int cols, rows;
	fit(width, height, max_cols, max_rows, &cols, &rows);
	*cols_out = cols;
	*rows_out = rows;
	ChafaSymbolMap *map = chafa_symbol_map_new();
	ChafaCanvasConfig *cfg = chafa_canvas_config_new();
	if (colours == 0) {
		chafa_symbol_map_add_by_tags(map, CHAFA_SYMBOL_TAG_ASCII);
		chafa_canvas_config_set_canvas_mode(cfg, CHAFA_CANVAS_MODE_FGBG);
	} else {
		/* One cell wide each, in every font a terminal may use. */
		chafa_symbol_map_add_by_tags(map, CHAFA_SYMBOL_TAG_BLOCK | CHAFA_SYMBOL_TAG_SPACE);
		chafa_canvas_config_set_canvas_mode(cfg, colours >= 256 ? CHAFA_CANVAS_MODE_INDEXED_256
						    : colours >= 16 ? CHAFA_CANVAS_MODE_INDEXED_16
						    : CHAFA_CANVAS_MODE_INDEXED_8);
	}
	chafa_canvas_config_set_geometry(cfg, cols, rows);
	chafa_canvas_config_set_symbol_map(cfg, map);
	ChafaCanvas *canvas = chafa_canvas_new(cfg);
	if (canvas != NULL)
		chafa_canvas_draw_all_pixels(canvas, CHAFA_PIXEL_RGBA8_UNASSOCIATED, rgba, width,
					     height, width * 4);
	chafa_canvas_config_unref(cfg);
	chafa_symbol_map_unref(map);
	return canvas;
}

char *image_ascii(const unsigned char *rgba, int width, int height, int max_cols, size_t *len)
{
	int cols, rows;
	ChafaCanvas *canvas = image_canvas(rgba, width, height, max_cols, 0, &cols, &rows);
	if (canvas == NULL)
		return NULL;
	char *out = malloc((size_t)(cols + 1) * (size_t)rows);
	if (out != NULL) {
		size_t o = 0;
		for (int y = 0; y < rows; y++) {
			for (int x = 0; x < cols; x++) {
				gunichar c = chafa_canvas_get_char_at(canvas, x, y);
				out[o++] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
			}
			if (y + 1 < rows)
				out[o++] = '\n';
		}
		*len = o;
	}
	chafa_canvas_unref(canvas);
	return out;
}
