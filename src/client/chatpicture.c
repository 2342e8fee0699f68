#include "chatpicture.h"

#include <stdlib.h>
#include <string.h>

#include <stb_image_resize.h>

int picture_load(const void *data, size_t len, size_t max_bytes, struct chat_picture *out,
		 const char **cause)
{
	struct image_info info;
	memset(out, 0, sizeof(*out));
	if (image_check(data, len, max_bytes, &info, cause) < 0)
		return -1;
	unsigned char *pixels = image_decode(data, len, &info, cause);
	if (pixels == NULL)
		return -1;
	int w = info.width, h = info.height;
	if (w > PICTURE_KEEP_WIDTH) {
		h = (int)((long long)h * PICTURE_KEEP_WIDTH / w);
		w = PICTURE_KEEP_WIDTH;
		if (h < 1)
			h = 1;
	}
	out->rgba = malloc((size_t)w * (size_t)h * 4);
	if (out->rgba == NULL) {
		image_free_pixels(pixels);
		*cause = "plus de mémoire";
		return -1;
	}
	if (w == info.width)
		memcpy(out->rgba, pixels, (size_t)w * (size_t)h * 4);
	else
		stbir_resize_uint8(pixels, info.width, info.height, 0, out->rgba, w, h, 0, 4);
	image_free_pixels(pixels);
	out->width = w;
	out->height = h;
	out->source = info;
	return 0;
}

bool picture_copy(struct chat_picture *to, const struct chat_picture *from)
{
	*to = *from;
	size_t n = (size_t)from->width * (size_t)from->height * 4;
	to->rgba = malloc(n);
	if (to->rgba == NULL)
		return false;
	memcpy(to->rgba, from->rgba, n);
	return true;
}

void picture_free(struct chat_picture *p)
{
	free(p->rgba);
	p->rgba = NULL;
}

void picture_print(FILE *out, const struct chat_picture *p, bool ascii, int cols)
{
	if (ascii) {
		size_t len;
		char *text = image_ascii(p->rgba, p->width, p->height, cols, &len);
		if (text == NULL)
			return;
		fputs("    ", out);
		for (size_t i = 0; i < len; i++) {
			fputc(text[i], out);
			if (text[i] == '\n')
				fputs("    ", out);
		}
		fputc('\n', out);
		free(text);
		return;
	}
	int width, rows;
	ChafaCanvas *canvas = image_canvas(p->rgba, p->width, p->height, cols, 256, &width, &rows);
	if (canvas == NULL)
		return;
	GString *s = chafa_canvas_print(canvas, NULL);
	fputs("    ", out);
	for (gsize i = 0; i < s->len; i++) {
		fputc(s->str[i], out);
		if (s->str[i] == '\n')
			fputs("    ", out);
	}
	fputs("\033[0m\n", out);
	g_string_free(s, TRUE);
	chafa_canvas_unref(canvas);
}
