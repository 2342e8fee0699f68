/*
 * uikeys: what the keyboard does in the full-screen interface (ui.h):
 * keys and their bindings, bracketed paste (and the question a long one
 * asks), Tab's completion, Ctrl+R's search of what was sent, the mouse's
 * wheel, and Enter sending the input line.
 *
 * It owns struct ui's key state (the paste buffers, Tab's and Ctrl+R's
 * fields, escape, said_full), freed by ui_keys_free from ui_close. ui.c
 * owns the screen and draws that state; it reads stdin through
 * ui_keys_read.
 */
#include "ui.h"

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "i18n.h"

/* Keys of our own, past curses' (define_key). */
enum {
	KEY_PASTE_START = KEY_MAX + 1, /* bracketed paste: the terminal wraps */
	KEY_PASTE_END,                 /* pasted text in these */
	KEY_TO_BOTTOM,                 /* Alt+End, Ctrl+End */
	KEY_TO_TOP,                    /* Alt+Home, Ctrl+Home */
	KEY_WINDOW_PREV,               /* Alt+Left */
	KEY_WINDOW_NEXT,               /* Alt+Right */
};
/* A paste of more lines than this is sent only once the user says so. */
#define UI_PASTE_ASK_LINES 3

/* Ctrl+N/P, Alt+Right/Left: the next or previous window, round. */
static void switch_by(struct ui *ui, int step)
{
	size_t n = ui->wins.count;
	ui_switch_to(ui, (ui->wins.current + n + (size_t)(step + (int)n)) % n);
}

/* ---- sending ----------------------------------------------------------------- */

static void submit(struct ui *ui)
{
	static char line[INPUTLINE_MAX + 1];
	size_t n = il_take(&ui->input, line, sizeof(line));
	pane_bottom(windows_pane(&ui->wins));
	ui_redraw(ui);
	if (n > 0)
		ui->cb.on_line(ui, line, n);
}

/* A line that would not fit one message: said, and nothing sent. */
static void refuse_long(struct ui *ui, size_t bytes)
{
	char text[200];
	snprintf(text, sizeof(text),
		 _("Trop long : %zu octets, au plus %u par message ; rien n'est envoyé, rien "
		   "n'est ajouté à la ligne."), bytes, (unsigned)INPUTLINE_MAX);
	ui_note_quiet(ui, CHAT_ERROR, text);
}

static void paste_done(struct ui *ui)
{
	ui->pasting = false;
	size_t line_count = 1;
	for (size_t i = 0; i < ui->paste_len; i++)
		line_count += ui->paste[i] == '\n';
	while (ui->paste_len > 0 && ui->paste[ui->paste_len - 1] == '\n')
		ui->paste_len--, line_count--;
	if (ui->paste_too_long) {
		refuse_long(ui, ui->paste_bytes);
	} else if (line_count <= 1) {
		/* One line: it joins what is being typed, if it all fits. */
		if (!il_insert(&ui->input, ui->paste, ui->paste_len))
			refuse_long(ui, ui->input.len + ui->paste_len);
	} else if (line_count > UI_PASTE_ASK_LINES) {
		ui->pending_paste = strndup(ui->paste, ui->paste_len);
	} else {
		ui->cb.on_line(ui, ui->paste, ui->paste_len);
	}
	free(ui->paste);
	ui->paste = NULL;
	ui->paste_len = ui->paste_cap = ui->paste_bytes = 0;
	ui->paste_too_long = false;
}

static void paste_add(struct ui *ui, const char *bytes, size_t n)
{
	ui->paste_bytes += n;
	/* Past one message's worth the rest is only counted, never kept. */
	if (ui->paste_too_long || ui->paste_len + n > INPUTLINE_MAX) {
		ui->paste_too_long = true;
		return;
	}
	if (ui->paste_len + n + 1 > ui->paste_cap) {
		size_t cap = ui->paste_cap ? 2 * ui->paste_cap : 256;
		while (cap < ui->paste_len + n + 1)
			cap *= 2;
		char *grown = realloc(ui->paste, cap);
		if (grown == NULL) {
			ui->paste_too_long = true;
			return;
		}
		ui->paste = grown;
		ui->paste_cap = cap;
	}
	memcpy(ui->paste + ui->paste_len, bytes, n);
	ui->paste_len += n;
}

/* ---- Tab and Ctrl+R ------------------------------------------------------- */

static void complete(struct ui *ui)
{
	struct inputline *il = &ui->input;
	if (!ui->completing) {
		struct complete_word w;
		complete_word_at(il->buf, il->cursor, &w);
		if (w.len >= sizeof(ui->complete_prefix))
			return;
		memcpy(ui->complete_prefix, il->buf + w.start, w.len);
		ui->complete_prefix[w.len] = '\0';
		ui->complete_word = w;
		ui->complete_index = 0;
	} else {
		ui->complete_index++; /* the next candidate instead of the last */
	}
	const struct complete_word *w = &ui->complete_word;
	const char *cands[64];
	size_t n = complete_candidates(ui->opt.names, ui->opt.commands, ui->opt.command_count,
				       ui->complete_prefix, w->len, w->command, cands, 64);
	if (n == 0) {
		ui->completing = false;
		beep();
		return;
	}
	char text[TEXT_MAX_PSEUDO + 8];
	size_t len = complete_text(cands[ui->complete_index % n], w, text, sizeof(text));
	/* From the word's start to the cursor: the prefix, or the last candidate. */
	if (il_replace(il, w->start, il->cursor, text, len))
		ui->completing = true;
}

static void search_again(struct ui *ui, size_t before)
{
	ui->search_match = il_search(&ui->input, ui->search, ui->search_len, before);
}

static void search_start(struct ui *ui)
{
	ui->searching = true;
	ui->search_len = 0;
	ui->search_match = -1;
	free(ui->search_saved);
	ui->search_saved = strndup(ui->input.buf, ui->input.len);
}

/* Ends the search: the line found (take) or the line as it was. */
static void search_end(struct ui *ui, bool take)
{
	ui->searching = false;
	if (take && ui->search_match >= 0)
		il_set(&ui->input, ui->input.history[ui->search_match]);
	else if (ui->search_saved != NULL)
		il_set(&ui->input, ui->search_saved);
	free(ui->search_saved);
	ui->search_saved = NULL;
}

/* The query's last character goes; the newest match again. */
static void search_backspace(struct ui *ui)
{
	while (ui->search_len > 0 && ((unsigned char)ui->search[ui->search_len - 1] & 0xc0) == 0x80)
		ui->search_len--;
	if (ui->search_len > 0)
		ui->search_len--;
	search_again(ui, ui->input.history_count);
}

/* A key while searching; true when it was the search's. */
static bool search_key(struct ui *ui, bool code, wint_t ch, const char *bytes, size_t n)
{
	if (code) {
		if (ch == KEY_BACKSPACE) {
			search_backspace(ui);
			return true;
		}
		if (ch == KEY_ENTER)
			search_end(ui, true);
		else if (ch == KEY_LEFT || ch == KEY_RIGHT || ch == KEY_HOME || ch == KEY_END ||
			 ch == KEY_PASTE_START)
			search_end(ui, true); /* and the key does what it does */
		else
			return true; /* paging and the rest wait */
		return ch == KEY_ENTER;
	}
	switch (ch) {
	case 18: /* Ctrl+R: further back */
		if (ui->search_match > 0)
			search_again(ui, (size_t)ui->search_match);
		return true;
	case 7:  /* Ctrl+G */
	case 27: /* Esc */
	case 3:  /* Ctrl+C: cancels here, as in bash */
		search_end(ui, false);
		return true;
	case '\r':
	case '\n':
		search_end(ui, true);
		return true;
	case 8:
	case 127:
		search_backspace(ui);
		return true;
	default:
		if (ch >= 0x20 && ui->search_len + n <= sizeof(ui->search)) {
			memcpy(ui->search + ui->search_len, bytes, n);
			ui->search_len += n;
			search_again(ui, ui->input.history_count);
		}
		return true;
	}
}

/* ---- keys ------------------------------------------------------------------ */

/* A key past the line's limit is refused, said once until the line is
 * shorter again (a key held down says it once). */
static void insert_typed(struct ui *ui, const char *bytes, size_t n)
{
	if (il_insert(&ui->input, bytes, n)) {
		ui->said_full = false;
	} else if (!ui->said_full) {
		ui->said_full = true;
		refuse_long(ui, ui->input.len + n);
	}
}

static void on_char(struct ui *ui, wint_t ch)
{
	char bytes[8];
	mbstate_t st;
	memset(&st, 0, sizeof(st));
	size_t n = wcrtomb(bytes, (wchar_t)ch, &st);
	if (n == (size_t)-1)
		return;
	if (ui->pasting) {
		paste_add(ui, ch == '\r' ? "\n" : bytes, ch == '\r' ? 1 : n);
		return;
	}
	if (ui->pending_paste != NULL) {
		char *text = ui->pending_paste;
		ui->pending_paste = NULL;
		if (ch == 'o' || ch == 'O' || ch == 'y' || ch == 'Y')
			ui->cb.on_line(ui, text, strlen(text));
		free(text);
		return;
	}
	if (ui->searching && search_key(ui, false, ch, bytes, n))
		return;
	if (ch != '\t')
		ui->completing = false;
	switch (ch) {
	case 3: /* Ctrl+C */
		ui->cb.on_quit(ui);
		return;
	case 4: /* Ctrl+D */
		if (ui->input.len == 0)
			ui->cb.on_quit(ui);
		else
			il_delete(&ui->input);
		return;
	case '\r':
	case '\n':
		submit(ui);
		return;
	case '\t': complete(ui); return;
	case 18: search_start(ui); return; /* Ctrl+R */
	case 14: switch_by(ui, 1); return;  /* Ctrl+N */
	case 16: switch_by(ui, -1); return; /* Ctrl+P */
	case 27: ui->escape = true; return;
	case 1: il_home(&ui->input); return;
	case 5: il_end(&ui->input); return;
	case 21: il_kill_line(&ui->input); return;
	case 23: il_kill_word(&ui->input); return;
	case 8:
	case 127: il_backspace(&ui->input); return;
	case 12: clearok(curscr, TRUE); return;
	default:
		if (ch >= 0x20)
			insert_typed(ui, bytes, n);
	}
}

/* The mouse's wheel as ncurses reports it: rows to scroll back
 * (positive), forward (negative), or 0 for any other mouse event (a
 * click, which the terminal reports once the wheel is asked for). */
static int wheel_rows(mmask_t bstate)
{
	if (bstate & BUTTON4_PRESSED)
		return UI_WHEEL_ROWS;
	if (bstate & BUTTON5_PRESSED)
		return -UI_WHEEL_ROWS;
	return 0;
}

static void on_mouse(struct ui *ui)
{
	MEVENT ev;
	while (getmouse(&ev) == OK) {
		int rows = wheel_rows(ev.bstate);
		if (rows != 0)
			pane_scroll(windows_pane(&ui->wins), rows);
	}
}

static void on_code(struct ui *ui, wint_t ch, bool alt)
{
	int page = LINES - 3 > 1 ? LINES - 3 : 1;
	if (ch != KEY_MOUSE && ch != KEY_RESIZE)
		ui->completing = false;
	switch (ch) {
	case KEY_PASTE_START: ui->pasting = true; return;
	case KEY_PASTE_END: paste_done(ui); return;
	case KEY_LEFT:
		if (alt)
			switch_by(ui, -1);
		else
			il_left(&ui->input);
		return;
	case KEY_RIGHT:
		if (alt)
			switch_by(ui, 1);
		else
			il_right(&ui->input);
		return;
	case KEY_WINDOW_PREV: switch_by(ui, -1); return;
	case KEY_WINDOW_NEXT: switch_by(ui, 1); return;
	case KEY_HOME:
		if (alt)
			pane_scroll(windows_pane(&ui->wins), 1 << 30);
		else
			il_home(&ui->input);
		return;
	case KEY_END:
		/* End again, at the end of the line: back to the bottom. */
		if (alt || ui->input.cursor == ui->input.len)
			pane_bottom(windows_pane(&ui->wins));
		il_end(&ui->input);
		return;
	case KEY_TO_BOTTOM: pane_bottom(windows_pane(&ui->wins)); return;
	case KEY_TO_TOP: pane_scroll(windows_pane(&ui->wins), 1 << 30); return;
	case KEY_BACKSPACE: il_backspace(&ui->input); return;
	case KEY_DC: il_delete(&ui->input); return;
	case KEY_UP: il_history_prev(&ui->input); return;
	case KEY_DOWN: il_history_next(&ui->input); return;
	case KEY_ENTER: submit(ui); return;
	case KEY_PPAGE: pane_scroll(windows_pane(&ui->wins), page); return;
	case KEY_NPAGE: pane_scroll(windows_pane(&ui->wins), -page); return;
	case KEY_MOUSE: on_mouse(ui); return;
	case KEY_RESIZE: ui_resize(); return;
	default: return;
	}
}

static void on_key(struct ui *ui, int kind, wint_t ch)
{
	bool alt = ui->escape;
	ui->escape = false;
	if (kind != KEY_CODE_YES) {
		/* Alt+1…9, Alt+0: windows 1 to 10, as in irssi. */
		if (alt && !ui->pasting && ch >= '0' && ch <= '9') {
			ui_switch_to(ui, ch == '0' ? 9 : (size_t)(ch - '1'));
			return;
		}
		on_char(ui, ch);
		return;
	}
	if (ui->searching && !ui->pasting && ch != KEY_RESIZE && ch != KEY_MOUSE &&
	    search_key(ui, true, ch, "", 0))
		return;
	on_code(ui, ch, alt);
}

void ui_keys_read(uv_poll_t *handle, int status, int events)
{
	(void)events;
	struct ui *ui = handle->data;
	if (status < 0) {
		ui->cb.on_quit(ui);
		return;
	}
	wint_t ch;
	int kind;
	while (!ui->closing && (kind = get_wch(&ch)) != ERR)
		on_key(ui, kind, ch);
	ui_redraw(ui);
}

/* Our keys, as the terminals send them, and the mouse's wheel if asked. */
void ui_keys_define(struct ui *ui)
{
	define_key("\033[200~", KEY_PASTE_START);
	define_key("\033[201~", KEY_PASTE_END);
	/* xterm's modified End and Home, as tmux, xterm and VTE send them. */
	define_key("\033[1;3F", KEY_TO_BOTTOM);
	define_key("\033[1;5F", KEY_TO_BOTTOM);
	define_key("\033[1;3H", KEY_TO_TOP);
	define_key("\033[1;5H", KEY_TO_TOP);
	define_key("\033[1;3D", KEY_WINDOW_PREV);
	define_key("\033[1;3C", KEY_WINDOW_NEXT);
	if (ui->opt.mouse) {
		/* The wheel only; a click or a drag stays the terminal's with
		 * Shift held (xterm, VTE, kitty, tmux). */
		mousemask(BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
		mouseinterval(0);
	}
}

void ui_keys_free(struct ui *ui)
{
	free(ui->paste);
	free(ui->pending_paste);
	free(ui->search_saved);
}
