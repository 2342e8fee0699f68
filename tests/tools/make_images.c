/*
 * make_images DIR [--large]: the pictures the tests send, made here rather
 * than committed: a small landscape as PNG and JPEG (stb_image_write), as a
 * progressive JPEG and a CMYK one (libjpeg-turbo), and the bad ones (a
 * corrupt PNG, a truncated one, a PNG that claims 100000x100000 pixels,
 * a text file with a .png name, an empty file). With --large, legitimate
 * big ones too, for the memory and time figures: a 32-megapixel baseline
 * JPEG and a 12-megapixel progressive one.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <stb_image_write.h>

#define W 240
#define H 160

static int save(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len) {
		perror(path);
		return -1;
	}
	return fclose(f);
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	char *data = malloc(*len);
	if (data != NULL && fread(data, 1, *len, f) != *len) {
		free(data);
		data = NULL;
	}
	fclose(f);
	return data;
}

static uint32_t crc32(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return c ^ 0xffffffffu;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* A blue sky, a yellow sun, green hills, a red house with a dark door. */
static void landscape(unsigned char *rgb)
{
	for (int y = 0; y < H; y++) {
		for (int x = 0; x < W; x++) {
			unsigned char *p = rgb + 3 * (y * W + x);
			int hill = 100 + (x - 120) * (x - 120) / 400;
			int dx = x - 190, dy = y - 35;
			if (dx * dx + dy * dy < 20 * 20) {
				p[0] = 250; p[1] = 220; p[2] = 30;
			} else if (x >= 50 && x < 110 && y >= 70 && y < 120) {
				bool door = x >= 72 && x < 88 && y >= 95;
				p[0] = door ? 40 : 200; p[1] = door ? 20 : 30; p[2] = door ? 10 : 30;
			} else if (y >= hill) {
				p[0] = 30; p[1] = (unsigned char)(120 + y / 4); p[2] = 40;
			} else {
				p[0] = 90; p[1] = 150; p[2] = (unsigned char)(255 - y / 2);
			}
		}
	}
}

/* A JPEG written by libjpeg-turbo: progressive, or CMYK with Adobe's
 * marker (inverted, as Photoshop writes it). `pixel` gives RGB at x, y. */
static int write_jpeg(const char *dir, const char *name, int width, int height,
		      bool progressive, bool cmyk,
		      void (*pixel)(int x, int y, unsigned char *rgb))
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	unsigned char *row = malloc((size_t)width * 4);
	if (f == NULL || row == NULL) {
		perror(path);
		free(row);
		return -1;
	}
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	c.err = jpeg_std_error(&err);
	jpeg_create_compress(&c);
	jpeg_stdio_dest(&c, f);
	c.image_width = (JDIMENSION)width;
	c.image_height = (JDIMENSION)height;
	c.input_components = cmyk ? 4 : 3;
	c.in_color_space = cmyk ? JCS_CMYK : JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 90, TRUE);
	if (progressive)
		jpeg_simple_progression(&c);
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		for (int x = 0; x < width; x++) {
			unsigned char rgb[3];
			pixel(x, (int)c.next_scanline, rgb);
			if (cmyk) {
				/* Adobe's inverted CMYK with no black: C = 255 - (255 - R). */
				row[4 * x] = rgb[0];
				row[4 * x + 1] = rgb[1];
				row[4 * x + 2] = rgb[2];
				row[4 * x + 3] = 255;
			} else {
				memcpy(row + 3 * x, rgb, 3);
			}
		}
		JSAMPROW rows[1] = {row};
		jpeg_write_scanlines(&c, rows, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	free(row);
	return fclose(f);
}

static unsigned char the_landscape[W * H * 3];

static void landscape_pixel(int x, int y, unsigned char *rgb)
{
	memcpy(rgb, the_landscape + 3 * (y * W + x), 3);
}

/* A large photo-like picture: smooth gradients and a little texture. */
static void photo_pixel(int x, int y, unsigned char *rgb)
{
	rgb[0] = (unsigned char)(x / 32 + ((x * 7 + y * 13) & 15));
	rgb[1] = (unsigned char)(y / 16 + ((x ^ y) & 7));
	rgb[2] = (unsigned char)((x + y) / 48);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--large") != 0)) {
		fprintf(stderr, "usage: make_images DIR [--large]\n");
		return 2;
	}
	const char *dir = argv[1];
	static unsigned char rgb[W * H * 3];
	landscape(rgb);
	char path[4096];
	snprintf(path, sizeof(path), "%s/landscape.png", dir);
	if (!stbi_write_png(path, W, H, 3, rgb, W * 3))
		return 1;
	snprintf(path, sizeof(path), "%s/landscape.jpg", dir);
	if (!stbi_write_jpg(path, W, H, 3, rgb, 90))
		return 1;
	memcpy(the_landscape, rgb, sizeof(the_landscape));
	if (write_jpeg(dir, "progressive.jpg", W, H, true, false, landscape_pixel) != 0 ||
	    write_jpeg(dir, "cmyk.jpg", W, H, false, true, landscape_pixel) != 0)
		return 1;
	if (argc == 3 &&
	    (write_jpeg(dir, "photo-32mp.jpg", 8192, 4096, false, false, photo_pixel) != 0 ||
	     write_jpeg(dir, "photo-12mp-progressive.jpg", 4096, 3072, true, false,
			photo_pixel) != 0))
		return 1;

	size_t len;
	char *png = slurp(dir, "landscape.png", &len);
	if (png == NULL)
		return 1;
	/* The pixels' zlib stream overwritten: the header still reads. */
	char *bad = malloc(len);
	memcpy(bad, png, len);
	char *idat = memmem(bad, len, "IDAT", 4);
	if (idat == NULL)
		return 1;
	memset(idat + 4, 0xff, (size_t)(bad + len - (idat + 4)) > 64 ? 64 : 8);
	int rc = save(dir, "corrupt.png", bad, len);
	rc |= save(dir, "truncated.png", png, len / 2);
	free(bad);
	free(png);

	/* Signature, IHDR of 100000 x 100000 RGB, a tiny IDAT, IEND. */
	unsigned char bomb[8 + 25 + 12 + 12 + 12] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	unsigned char *c = bomb + 8;
	put32(c, 13);
	memcpy(c + 4, "IHDR", 4);
	put32(c + 8, 100000);
	put32(c + 12, 100000);
	c[16] = 8; c[17] = 2; c[18] = 0; c[19] = 0; c[20] = 0;
	put32(c + 21, crc32(c + 4, 17));
	c += 25;
	put32(c, 0);
	memcpy(c + 4, "IDAT", 4);
	put32(c + 8, crc32(c + 4, 4));
	c += 12;
	put32(c, 0);
	memcpy(c + 4, "IEND", 4);
	put32(c + 8, crc32(c + 4, 4));
	rc |= save(dir, "bomb.png", bomb, sizeof(bomb) - 12);

	static const char text[] = "Bonjour, ceci n'est pas une image.\n";
	rc |= save(dir, "not-an-image.png", text, sizeof(text) - 1);
	rc |= save(dir, "empty.png", "", 0);
	return rc == 0 ? 0 : 1;
}
