/*
 * make_images DIR: the pictures the tests send, made here rather than
 * committed: a small landscape as PNG and JPEG, and the bad ones (a
 * corrupt PNG, a truncated one, a PNG that claims 100000x100000 pixels,
 * a text file with a .png name, an empty file).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: make_images DIR\n");
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
