/* Pictures (image.h, imagepool.h): the checks refuse the review's bombs
 * before any decoding, stripping keeps the image and drops the rest, a
 * decode is fitted to the box, keeps to its budget and can be cancelled,
 * and the decoding threads give every job back. The files are made here
 * (zlib, libjpeg). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jpeglib.h>
#include <zlib.h>

#include "image.h"
#include "imagepool.h"

/* ---- files made here ------------------------------------------------------ */

struct bytes {
	unsigned char *p;
	size_t len;
};

static void put(struct bytes *b, const void *data, size_t len)
{
	b->p = realloc(b->p, b->len + len);
	assert_non_null(b->p);
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void put32(struct bytes *b, uint32_t v)
{
	unsigned char q[4] = {v >> 24, v >> 16, v >> 8, v};
	put(b, q, 4);
}

static void png_chunk(struct bytes *b, const char *type, const void *data, size_t len)
{
	put32(b, (uint32_t)len);
	put(b, type, 4);
	put(b, data, len);
	uLong crc = crc32(crc32(0, (const Bytef *)type, 4), data, (uInt)len);
	put32(b, (uint32_t)crc);
}

/* A zlib stream of `mib` MiB of zeros: one compressed MiB repeated (a
 * full flush makes each copy stand alone), as the review's bomb. */
static struct bytes zeros_stream(size_t mib)
{
	static unsigned char zeros[1 << 20], block[1 << 16];
	z_stream z = {0};
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = zeros;
	z.avail_in = sizeof(zeros);
	z.next_out = block;
	z.avail_out = sizeof(block);
	assert_int_equal(deflate(&z, Z_FULL_FLUSH), Z_OK);
	size_t n = sizeof(block) - z.avail_out;
	deflateEnd(&z);
	struct bytes b = {0};
	put(&b, "\x78\xda", 2);
	for (size_t i = 0; i < mib; i++)
		put(&b, block, n);
	put(&b, "\x03\x00", 2); /* an empty final block */
	uLong sum = adler32(0, NULL, 0);
	for (size_t i = 0; i < mib; i++)
		sum = adler32(sum, zeros, sizeof(zeros));
	put32(&b, (uint32_t)sum);
	return b;
}

/* An RGB PNG of width x height from raw filtered rows (NULL: `raw_len`
 * MiB of zeros), with an optional text chunk. */
static struct bytes png(uint32_t width, uint32_t height, const unsigned char *raw,
			size_t raw_len, const char *text, size_t text_len)
{
	struct bytes b = {0};
	put(&b, "\x89PNG\r\n\x1a\n", 8);
	unsigned char ihdr[13] = {width >> 24, width >> 16, width >> 8, width,
				  height >> 24, height >> 16, height >> 8, height, 8, 2, 0, 0, 0};
	png_chunk(&b, "IHDR", ihdr, sizeof(ihdr));
	if (text != NULL)
		png_chunk(&b, "tEXt", text, text_len);
	if (raw == NULL) {
		struct bytes z = zeros_stream(raw_len);
		png_chunk(&b, "IDAT", z.p, z.len);
		free(z.p);
	} else {
		uLongf zlen = compressBound((uLong)raw_len);
		unsigned char *z = malloc(zlen);
		assert_int_equal(compress2(z, &zlen, raw, (uLong)raw_len, 9), Z_OK);
		png_chunk(&b, "IDAT", z, zlen);
		free(z);
	}
	png_chunk(&b, "IEND", "", 0);
	return b;
}

/* Two vertical stripes, red then blue, each `width / 2` wide. */
static struct bytes striped_png(uint32_t width, uint32_t height)
{
	size_t row = 1 + 3 * (size_t)width;
	unsigned char *raw = calloc(height, row);
	for (uint32_t y = 0; y < height; y++)
		for (uint32_t x = 0; x < width; x++)
			raw[y * row + 1 + 3 * x + (x < width / 2 ? 0 : 2)] = 255;
	struct bytes b = png(width, height, raw, height * row, NULL, 0);
	free(raw);
	return b;
}

/* A grey JPEG from libjpeg itself, baseline or progressive. */
static struct bytes jpeg(int width, int height, bool progressive, const char *comment)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	c.err = jpeg_std_error(&err);
	jpeg_create_compress(&c);
	unsigned char *out = NULL;
	unsigned long len = 0;
	jpeg_mem_dest(&c, &out, &len);
	c.image_width = (JDIMENSION)width;
	c.image_height = (JDIMENSION)height;
	c.input_components = 1;
	c.in_color_space = JCS_GRAYSCALE;
	jpeg_set_defaults(&c);
	if (progressive)
		jpeg_simple_progression(&c);
	jpeg_start_compress(&c, TRUE);
	if (comment != NULL) {
		jpeg_write_marker(&c, JPEG_APP0 + 1, (const JOCTET *)comment, (unsigned)strlen(comment));
		jpeg_write_marker(&c, JPEG_COM, (const JOCTET *)comment, (unsigned)strlen(comment));
	}
	unsigned char *row = malloc((size_t)width);
	while (c.next_scanline < c.image_height) {
		for (int x = 0; x < width; x++)
			row[x] = (unsigned char)(x * 255 / width);
		JSAMPROW rows[1] = {row};
		jpeg_write_scanlines(&c, rows, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	free(row);
	struct bytes b = {out, len};
	return b;
}

/* The review's scan bomb: `scans` empty DC scans of a grey SOF2. */
static struct bytes scan_bomb(unsigned width, unsigned height, int scans)
{
	static const unsigned char dqt[] = {0xff, 0xdb, 0, 67, 0};
	static const unsigned char dht[] = {0xff, 0xc4, 0, 20, 0x00, 1, 0, 0, 0, 0, 0, 0, 0,
					    0, 0, 0, 0, 0, 0, 0, 0, 0x00};
	static const unsigned char sos[] = {0xff, 0xda, 0, 8, 1, 1, 0, 0, 0, 0};
	unsigned char sof[] = {0xff, 0xc2, 0, 11, 8, height >> 8, height, width >> 8, width, 1,
			       1, 0x11, 0};
	struct bytes b = {0};
	put(&b, "\xff\xd8", 2);
	put(&b, dqt, sizeof(dqt));
	unsigned char ones[64];
	memset(ones, 1, sizeof(ones));
	put(&b, ones, sizeof(ones));
	put(&b, sof, sizeof(sof));
	put(&b, dht, sizeof(dht));
	for (int i = 0; i < scans; i++)
		put(&b, sos, sizeof(sos));
	put(&b, "\xff\xd9", 2);
	return b;
}

/* Just a progressive frame of three components sampled `hv` each, and
 * one scan: what image_check reads. */
static struct bytes progressive_frame(unsigned width, unsigned height, unsigned char hv)
{
	unsigned char sof[] = {0xff, 0xc2, 0, 17, 8, height >> 8, height, width >> 8, width, 3,
			       1, hv, 0, 2, hv, 0, 3, hv, 0};
	static const unsigned char sos[] = {0xff, 0xda, 0, 12, 3, 1, 0, 2, 0, 3, 0, 0, 0, 0};
	struct bytes b = {0};
	put(&b, "\xff\xd8", 2);
	put(&b, sof, sizeof(sof));
	put(&b, sos, sizeof(sos));
	put(&b, "\xff\xd9", 2);
	return b;
}

static const char *refusal(const struct bytes *b)
{
	struct image_info info;
	const char *cause = NULL;
	return image_check(b->p, b->len, IMAGE_DEFAULT_MAX_BYTES, &info, &cause) < 0 ? cause : NULL;
}

/* ---- checks ---------------------------------------------------------------- */

static void the_review_bombs_are_refused_before_decoding(void **state)
{
	(void)state;
	/* H1: says 1x1, inflates to 1 GiB (a 1 MB file). */
	struct bytes bomb = png(1, 1, NULL, 1024, NULL, 0);
	assert_string_equal(refusal(&bomb), "fichier bien plus lourd que ses pixels");
	/* H2: 600 scans, and a progressive picture over 12 megapixels. */
	struct bytes scans = scan_bomb(8192, 4096, 600);
	assert_string_equal(refusal(&scans), "trop de passes (JPEG progressif)");
	struct bytes wide = scan_bomb(4096, 4096, 2);
	assert_string_equal(refusal(&wide),
			    "image progressive ou entrelacée trop grande (au plus 12 mégapixels)");
	/* Pixels times scans: 12 megapixels may not have 64 scans. */
	struct bytes work = scan_bomb(4096, 3072, 40);
	assert_string_equal(refusal(&work), "trop de passes (JPEG progressif)");
	/* A 12 MP progressive photo: 36 MiB of coefficients in 4:2:0 (its
	 * luma sampled 2x2), 72 MiB in 4:4:4. */
	struct bytes photo = progressive_frame(4000, 3000, 0x22);
	photo.p[16] = 0x11; /* the second component */
	photo.p[19] = 0x11; /* the third */
	assert_null(refusal(&photo));
	struct bytes full = progressive_frame(4000, 3000, 0x11);
	assert_string_equal(refusal(&full), "JPEG progressif trop lourd à décoder (au plus 64 Mio)");
	free(bomb.p);
	free(scans.p);
	free(wide.p);
	free(work.p);
	free(photo.p);
	free(full.p);
}

static void damaged_files_are_refused(void **state)
{
	(void)state;
	struct bytes good = striped_png(64, 32);
	assert_null(refusal(&good));
	struct bytes cut = {good.p, good.len - 20}; /* IEND and more gone */
	assert_string_equal(refusal(&cut), "image illisible (fichier abîmé ou tronqué)");
	struct bytes j = jpeg(64, 32, false, NULL);
	assert_null(refusal(&j));
	struct bytes jcut = {j.p, j.len - 2}; /* no EOI */
	assert_string_equal(refusal(&jcut), "image illisible (fichier abîmé ou tronqué)");
	free(good.p);
	free(j.p);
}

/* ---- stripping ------------------------------------------------------------- */

static void stripping_keeps_the_image_and_drops_the_rest(void **state)
{
	(void)state;
	static const char secret[] = "GPS 48.8584N 2.2945E";
	struct bytes j = jpeg(64, 32, false, secret);
	put(&j, "trailing junk", 13);
	assert_non_null(memmem(j.p, j.len, secret, strlen(secret)));
	j.len = image_strip(j.p, j.len);
	assert_null(memmem(j.p, j.len, secret, strlen(secret)));
	assert_memory_equal(j.p + j.len - 2, "\xff\xd9", 2);
	assert_null(refusal(&j));

	static const char text[] = "Comment\0GPS 48.8584N 2.2945E";
	struct bytes p = png(16, 16, NULL, 1, text, sizeof(text) - 1);
	put(&p, "trailing junk", 13);
	assert_non_null(memmem(p.p, p.len, "GPS", 3));
	p.len = image_strip(p.p, p.len);
	assert_null(memmem(p.p, p.len, "GPS", 3));
	assert_memory_equal(p.p + p.len - 8, "IEND", 4);
	assert_null(refusal(&p));
	/* Stripped twice: nothing more goes. */
	size_t once = p.len;
	assert_int_equal(image_strip(p.p, p.len), once);
	free(j.p);
	free(p.p);
}

/* ---- decoding -------------------------------------------------------------- */

static unsigned char *decode(const struct bytes *b, const struct image_budget *budget,
			     int *w, int *h, const char **cause)
{
	struct image_info info;
	assert_int_equal(image_check(b->p, b->len, IMAGE_DEFAULT_MAX_BYTES, &info, cause), 0);
	return image_decode(b->p, b->len, &info, IMAGE_KEEP_WIDTH, IMAGE_KEEP_HEIGHT, budget,
			    w, h, cause);
}

static void a_large_picture_comes_back_fitted_and_averaged(void **state)
{
	(void)state;
	struct bytes b = striped_png(1280, 64);
	int w, h;
	const char *cause = NULL;
	unsigned char *rgba = decode(&b, NULL, &w, &h, &cause);
	assert_non_null(rgba);
	assert_int_equal(w, 320);
	assert_int_equal(h, 16);
	/* Left half red, right half blue, opaque, each pixel the mean of 4x4. */
	assert_memory_equal(rgba, "\xff\x00\x00\xff", 4);
	assert_memory_equal(rgba + 4 * (w - 1), "\x00\x00\xff\xff", 4);
	image_free_pixels(rgba);
	free(b.p);

	/* A JPEG is scaled while decoding, progressive or not. */
	for (int progressive = 0; progressive < 2; progressive++) {
		struct bytes j = jpeg(2000, 1000, progressive, NULL);
		rgba = decode(&j, NULL, &w, &h, &cause);
		assert_non_null(rgba);
		assert_int_equal(w, 320);
		assert_int_equal(h, 160);
		assert_true(rgba[0] < 16 && rgba[4 * (w - 1)] > 230); /* the grey ramp */
		image_free_pixels(rgba);
		free(j.p);
	}
}

static void a_zlib_stream_longer_than_its_rows_costs_only_its_rows(void **state)
{
	(void)state;
	/* Says 512x512, inflates to 1 GiB: decoded within its size. */
	struct bytes b = png(512, 512, NULL, 1024, NULL, 0);
	int w, h;
	const char *cause = NULL;
	uint64_t start = image_clock_ns();
	unsigned char *rgba = decode(&b, NULL, &w, &h, &cause);
	assert_non_null(rgba);
	assert_true(image_clock_ns() - start < 1000000000u); /* inflating it all would not */
	image_free_pixels(rgba);
	free(b.p);
}

static void a_decode_keeps_to_its_budget(void **state)
{
	(void)state;
	struct bytes b = striped_png(640, 480);
	struct bytes j = jpeg(640, 480, true, NULL);
	int w, h;
	const char *cause = NULL;
	struct image_budget late = {.deadline_ns = image_clock_ns() - 1};
	assert_null(decode(&b, &late, &w, &h, &cause));
	assert_string_equal(cause, "trop longue à décoder");
	assert_null(decode(&j, &late, &w, &h, &cause));
	assert_string_equal(cause, "trop longue à décoder");
	atomic_bool cancel = true;
	struct image_budget cancelled = {.cancel = &cancel};
	assert_null(decode(&b, &cancelled, &w, &h, &cause));
	assert_string_equal(cause, "abandonnée");
	assert_null(decode(&j, &cancelled, &w, &h, &cause));
	assert_string_equal(cause, "abandonnée");
	free(b.p);
	free(j.p);
}

/* ---- the decoding threads -------------------------------------------------- */

static int done_count;

static void wait_for_cancel(struct image_job *job)
{
	/* A decode that never ends by itself, until cancelled. */
	while (!atomic_load(&job->cancel))
		usleep(1000);
	job->data = "cancelled";
}

static void count_done(struct image_job *job)
{
	assert_string_equal(job->data, "cancelled");
	done_count++;
}

static void on_tick(uv_timer_t *timer)
{
	image_pool_cancel_all(timer->data);
}

static void the_pool_gives_every_job_back_when_cancelled(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct image_pool pool;
	assert_int_equal(image_pool_init(&pool, &loop, 2), 0);
	struct image_job jobs[5];
	memset(jobs, 0, sizeof(jobs));
	for (int i = 0; i < 5; i++) {
		jobs[i].work = wait_for_cancel;
		jobs[i].done = count_done;
		jobs[i].data = "";
		image_pool_submit(&pool, &jobs[i]);
	}
	uv_timer_t timer;
	uv_timer_init(&loop, &timer);
	timer.data = &pool;
	uv_timer_start(&timer, on_tick, 50, 0);
	while (done_count < 5)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(pool.pending, 0);
	image_pool_close(&pool, NULL);
	uv_close((uv_handle_t *)&timer, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0); /* no handle left */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_review_bombs_are_refused_before_decoding),
		cmocka_unit_test(damaged_files_are_refused),
		cmocka_unit_test(stripping_keeps_the_image_and_drops_the_rest),
		cmocka_unit_test(a_large_picture_comes_back_fitted_and_averaged),
		cmocka_unit_test(a_zlib_stream_longer_than_its_rows_costs_only_its_rows),
		cmocka_unit_test(a_decode_keeps_to_its_budget),
		cmocka_unit_test(the_pool_gives_every_job_back_when_cancelled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
