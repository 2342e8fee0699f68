#include "lineedit.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

/* Terminal width in cells, 80 when it cannot be asked. */
static int terminal_columns(void)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* Width in cells of UTF-8 text, by the C library's wcwidth. */
static int text_width(const char *s, size_t len)
{
	mbstate_t st;
	memset(&st, 0, sizeof(st));
	int width = 0;
	size_t i = 0;
	while (i < len) {
		wchar_t wc;
		size_t n = mbrtowc(&wc, s + i, len - i, &st);
		if (n == 0 || n == (size_t)-1 || n == (size_t)-2) {
			memset(&st, 0, sizeof(st));
			width++;
			i++;
			continue;
		}
		int w = wcwidth(wc);
		width += w > 0 ? w : 0;
		i += n;
	}
	return width;
}

/* Redraws the input row. When the text is wider than the terminal only its
 * end is shown, so the row never wraps and can always be cleared whole. */
static void draw_input(struct lineedit *le)
{
	int room = terminal_columns() - text_width(le->prompt, strlen(le->prompt)) - 1;
	size_t start = 0;
	while (start < le->len && text_width(le->buf + start, le->len - start) > room) {
		start++;
		while (start < le->len && ((unsigned char)le->buf[start] & 0xc0) == 0x80)
			start++;
	}
	fputs("\r\033[K", stdout);
	fputs(le->prompt, stdout);
	fwrite(le->buf + start, 1, le->len - start, stdout);
	fflush(stdout);
}

void lineedit_print(struct lineedit *le, const char *text, size_t len)
{
	/* Clear the input row, print the message there, draw the input below. */
	fputs("\r\033[K", stdout);
	fwrite(text, 1, len, stdout);
	fputs("\r\n", stdout);
	draw_input(le);
}

/* Drops the last UTF-8 character. */
static void erase_char(struct lineedit *le)
{
	while (le->len > 0) {
		unsigned char c = (unsigned char)le->buf[--le->len];
		if ((c & 0xc0) != 0x80)
			break;
	}
}

/* Ctrl+W: drops the word before the cursor and the spaces after it. */
static void erase_word(struct lineedit *le)
{
	while (le->len > 0 && le->buf[le->len - 1] == ' ')
		le->len--;
	while (le->len > 0 && le->buf[le->len - 1] != ' ')
		le->len--;
}

static void submit(struct lineedit *le)
{
	char line[LINEEDIT_MAX];
	size_t len = le->len;
	memcpy(line, le->buf, len);
	le->len = 0;
	draw_input(le);
	if (len > 0)
		le->cb.on_line(le, line, len);
}

/* Escape sequences from special keys (arrows, Home, F-keys) are skipped
 * whole: this simple line has no cursor to move. */
enum { ESC_NONE, ESC_START, ESC_CSI };

static void on_key(struct lineedit *le, unsigned char c)
{
	if (le->escape_state == ESC_START) {
		le->escape_state = (c == '[' || c == 'O') ? ESC_CSI : ESC_NONE;
		return;
	}
	if (le->escape_state == ESC_CSI) {
		if (c >= 0x40 && c <= 0x7e)
			le->escape_state = ESC_NONE;
		return;
	}
	switch (c) {
	case 0x03: /* Ctrl+C */
		le->cb.on_quit(le);
		return;
	case 0x04: /* Ctrl+D */
		if (le->len == 0)
			le->cb.on_quit(le);
		return;
	case '\r':
	case '\n':
		submit(le);
		return;
	case 0x7f:
	case 0x08:
		erase_char(le);
		break;
	case 0x15: /* Ctrl+U */
		le->len = 0;
		break;
	case 0x17: /* Ctrl+W */
		erase_word(le);
		break;
	case 0x0c: /* Ctrl+L */
		fputs("\033[H\033[2J", stdout);
		break;
	case 0x1b:
		le->escape_state = ESC_START;
		return;
	default:
		if (c < 0x20 || le->len >= sizeof(le->buf))
			return;
		le->buf[le->len++] = (char)c;
		break;
	}
	draw_input(le);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct lineedit *le = handle->data;
	*buf = uv_buf_init(le->keys, sizeof(le->keys));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct lineedit *le = stream->data;
	if (nread < 0) {
		le->cb.on_quit(le);
		return;
	}
	for (ssize_t i = 0; i < nread && !le->closing; i++)
		on_key(le, (unsigned char)buf->base[i]);
}

int lineedit_start(struct lineedit *le, uv_loop_t *loop, const char *prompt,
		   const struct lineedit_callbacks *cb, void *data)
{
	memset(le, 0, sizeof(*le));
	le->cb = *cb;
	le->data = data;
	le->prompt = prompt;
	int rc = uv_tty_init(loop, &le->tty, STDIN_FILENO, 1);
	if (rc < 0)
		return rc;
	le->tty.data = le;
	rc = uv_tty_set_mode(&le->tty, UV_TTY_MODE_RAW);
	if (rc == 0)
		le->raw = true;
	if (rc == 0)
		rc = uv_read_start((uv_stream_t *)&le->tty, on_alloc, on_read);
	if (rc < 0) {
		lineedit_close(le, NULL);
		return rc;
	}
	draw_input(le);
	return 0;
}

void lineedit_close(struct lineedit *le, uv_close_cb on_closed)
{
	if (le->closing)
		return;
	le->closing = true;
	fputs("\r\033[K", stdout);
	fflush(stdout);
	if (le->raw)
		uv_tty_reset_mode();
	le->raw = false;
	uv_close((uv_handle_t *)&le->tty, on_closed);
}
