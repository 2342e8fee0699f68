#include "image.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>

static const unsigned char png_signature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const unsigned char jpeg_signature[] = {0xff, 0xd8, 0xff};

static uint32_t read_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
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

int image_check(const void *data, size_t len, size_t max_bytes, struct image_info *info,
		const char **cause)
{
	const unsigned char *p = data;
	if (len == 0) {
		*cause = "fichier vide";
		return -EINVAL;
	}
	if (len > max_bytes || len > INT32_MAX) {
		*cause = "image trop lourde";
		return -EINVAL;
	}
	if (len >= sizeof(png_signature) && memcmp(p, png_signature, sizeof(png_signature)) == 0) {
		info->mime = "image/png";
	} else if (len >= sizeof(jpeg_signature) &&
		   memcmp(p, jpeg_signature, sizeof(jpeg_signature)) == 0) {
		info->mime = "image/jpeg";
	} else {
		*cause = "ce n'est pas une image PNG ou JPEG";
		return -EINVAL;
	}
	/* A PNG says its size first (IHDR): judged before stb_image, which
	 * refuses the largest claims with a vaguer reason. */
	if (info->mime[6] == 'p' && len >= 24 && memcmp(p + 12, "IHDR", 4) == 0 &&
	    !sane_size(read_be32(p + 16), read_be32(p + 20), cause))
		return -EINVAL;
	int comp;
	if (!stbi_info_from_memory(p, (int)len, &info->width, &info->height, &comp)) {
		*cause = "image illisible";
		return -EINVAL;
	}
	if (!sane_size((uint32_t)info->width, (uint32_t)info->height, cause))
		return -EINVAL;
	return 0;
}

unsigned char *image_decode(const void *data, size_t len, const struct image_info *info,
			    const char **cause)
{
	int w, h, comp;
	unsigned char *pixels = stbi_load_from_memory(data, (int)len, &w, &h, &comp, 4);
	if (pixels == NULL) {
		*cause = "image illisible (fichier abîmé ou tronqué)";
		return NULL;
	}
	if (w != info->width || h != info->height) {
		stbi_image_free(pixels);
		*cause = "image illisible";
		return NULL;
	}
	return pixels;
}

void image_free_pixels(unsigned char *pixels)
{
	stbi_image_free(pixels);
}

static void fit(int width, int height, int max_cols, int *cols, int *rows)
{
	int w = max_cols < 1 ? 1 : max_cols, h = IMAGE_MAX_ROWS;
	chafa_calc_canvas_geometry(width, height, &w, &h, 0.5f, FALSE, FALSE);
	*cols = w < 1 ? 1 : w;
	*rows = h < 1 ? 1 : h;
}

ChafaCanvas *image_canvas(const unsigned char *rgba, int width, int height, int max_cols,
			  int colours, int *cols_out, int *rows_out)
{
	int cols, rows;
	fit(width, height, max_cols, &cols, &rows);
	*cols_out = cols;
	*rows_out = rows;
	/* Drawn on the calling thread: the server already calls from libuv's
	 * pool, and a terminal's worth of cells needs no more. */
	chafa_set_n_threads(1);
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
