#include "ui.h"

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <term.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

#include "display.h"
#include "i18n.h"
#include "textwidth.h"

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
#define PROMPT "> "

static void note(struct ui *ui, enum chat_kind kind, const char *text);

/* ---- drawing ------------------------------------------------------------ */

static void draw_status(struct ui *ui, int y, int cols)
{
	char line[1100];
	const struct pane *p = windows_pane(&ui->wins);
	/* "[2:jeux]" before, "[Act: 1,3*]" after (windows.h). */
	const struct window *w = windows_current(&ui->wins);
	char status[sizeof(ui->status_text) + CHAT_ROOM_MAX + 180], act[160];
	windows_activity(&ui->wins, act, sizeof(act));
	snprintf(status, sizeof(status), " [%zu:%s]%s%s", ui->wins.current + 1,
		 w->kind == WINDOW_SEARCH ? _("recherche") : w->name, ui->status_text, act);
	if (ui->pending_paste != NULL) {
		snprintf(line, sizeof(line), " %s", _("Envoyer ce collage de plusieurs lignes ? (o/n)"));
	} else if (p->scroll > 0 && p->unread > 0) {
		char waiting[160];
		snprintf(waiting, sizeof(waiting),
			 ngettext("%u nouveau message plus bas (PgDn)",
				  "%u nouveaux messages plus bas (PgDn)", p->unread),
			 p->unread);
		snprintf(line, sizeof(line), " ── %s ──%s", waiting, status);
	} else if (p->scroll > 0) {
		snprintf(line, sizeof(line), " ── %s ──%s", _("historique (PgDn)"), status);
	} else {
		snprintf(line, sizeof(line), "%s", status);
	}
	move(y, 0);
	attrset(A_REVERSE);
	pane_draw_text(line, strlen(line));
	for (int x = tw_width(line, strlen(line)); x < cols; x++)
		addch(' ');
	attrset(A_NORMAL);
}

/* Ctrl+R's row: "(recherche) «query» : the line found". */
static void draw_search(struct ui *ui, int y, int cols)
{
	char head[300];
	snprintf(head, sizeof(head), "(%s) «%.*s» : ", _("recherche"), (int)ui->search_len,
		 ui->search);
	const struct inputline *il = &ui->input;
	const char *found = ui->search_match >= 0 ? il->history[ui->search_match] : "";
	if (ui->search_match < 0 && ui->search_len > 0)
		found = _("(rien)");
	int used = tw_width(head, strlen(head));
	pane_draw_text(head, strlen(head));
	size_t end = 0, len = strlen(found);
	while (end < len) {
		int w;
		size_t n = tw_cluster(found + end, len - end, &w);
		if (used + w >= cols || found[end] == '\n')
			break;
		used += w;
		end += n;
	}
	pane_draw_text(found, end);
	int at = tw_width(head, strlen(head)) - tw_width("» : ", strlen("» : "));
	move(y, at < cols ? at : cols - 1);
}

/* The input row scrolls sideways to keep the cursor in view. It is drawn
 * whole at every change, from its first column, and the cursor put after
 * the cells drawn before it (textwidth.h: every terminal agrees on them).
 * Linear in the line's length: a pasted page is redrawn at every key. */
static void draw_input(struct ui *ui, int y, int cols)
{
	move(y, 0);
	clrtoeol();
	if (ui->searching) {
		draw_search(ui, y, cols);
		return;
	}
	addstr(PROMPT);
	int room = cols - (int)strlen(PROMPT) - 1;
	struct inputline *il = &ui->input;
	size_t start = 0;
	int before = tw_width(il->buf, il->cursor);
	while (before > room && start < il->cursor) {
		int w;
		start += tw_cluster(il->buf + start, il->len - start, &w);
		before -= w;
	}
	size_t end = start;
	int used = 0;
	while (end < il->len) {
		int w;
		size_t n = tw_cluster(il->buf + end, il->len - end, &w);
		if (used + w > room)
			break;
		used += w;
		end += n;
	}
	pane_draw_text(il->buf + start, end - start);
	move(y, (int)strlen(PROMPT) + before);
}

static void redraw(struct ui *ui)
{
	if (!ui->started || ui->closing)
		return;
	int height = LINES - 2, cols = COLS;
	if (height < 1 || cols < 10)
		return;
	pane_draw(windows_pane(&ui->wins), height, cols);
	draw_status(ui, height, cols);
	draw_input(ui, height + 1, cols);
	refresh();
}

/* ---- the pane's lines ------------------------------------------------------ */

/* A private line goes to the window of the one at the other end; a line
 * of a room to its window (opened if missing: its history comes before
 * our arrival); any other to the current one. */
void ui_show(struct ui *ui, const struct chat_line *line)
{
	int i = -1;
	if (line->kind == CHAT_PRIVATE && line->pseudo != NULL && line->pseudo_len > 0 &&
	    line->pseudo_len < CHAT_ROOM_MAX) {
		char who[CHAT_ROOM_MAX];
		snprintf(who, sizeof(who), "%.*s", (int)line->pseudo_len, line->pseudo);
		i = windows_open(&ui->wins, WINDOW_PRIVATE, who);
	} else if (line->room[0] != '\0') {
		i = windows_open(&ui->wins, WINDOW_ROOM, line->room);
	}
	bool rings = windows_add(&ui->wins, i >= 0 ? (size_t)i : ui->wins.current, line, ui->pseudo);
	redraw(ui);
	if (rings && ui->opt.ring && ui->started && !ui->closing)
		beep();
}

static void note(struct ui *ui, enum chat_kind kind, const char *text)
{
	struct chat_line line = {.kind = kind, .colour = -1, .text = text,
				 .text_len = strlen(text)};
	windows_add(&ui->wins, ui->wins.current, &line, ui->pseudo);
}

/* ---- windows ----------------------------------------------------------------- */

const struct window *ui_window(const struct ui *ui)
{
	return windows_current(&ui->wins);
}

static void switch_to(struct ui *ui, size_t i)
{
	if (i >= ui->wins.count || i == ui->wins.current)
		return;
	windows_switch(&ui->wins, i);
	if (ui->cb.on_switch != NULL)
		ui->cb.on_switch(ui);
	redraw(ui);
}

/* Ctrl+N/P, Alt+Right/Left: the next or previous window, round. */
static void switch_by(struct ui *ui, int step)
{
	size_t n = ui->wins.count;
	switch_to(ui, (ui->wins.current + n + (size_t)(step + (int)n)) % n);
}

void ui_focus(struct ui *ui, enum window_kind kind, const char *name)
{
	int i = windows_open(&ui->wins, kind, name);
	if (i >= 0)
		switch_to(ui, (size_t)i);
}

void ui_close_window(struct ui *ui, enum window_kind kind, const char *name)
{
	int i = windows_find(&ui->wins, kind, name);
	if (i < 0)
		return;
	size_t before = ui->wins.current;
	windows_close(&ui->wins, (size_t)i);
	if ((size_t)i == before && ui->cb.on_switch != NULL)
		ui->cb.on_switch(ui);
	redraw(ui);
}

void ui_reset_window(struct ui *ui, enum window_kind kind, const char *name)
{
	int i = windows_open(&ui->wins, kind, name);
	if (i < 0)
		return;
	windows_clear(&ui->wins, (size_t)i);
	switch_to(ui, (size_t)i);
	redraw(ui);
}

void ui_note(struct ui *ui, enum chat_kind kind, const char *text)
{
	note(ui, kind, text);
	redraw(ui);
}

void ui_set_status(struct ui *ui, const struct ui_status *s)
{
	char users[64] = "", lag[32] = "";
	if (s->users >= 0) {
		snprintf(users, sizeof(users), " | ");
		snprintf(users + 3, sizeof(users) - 3,
			 ngettext("%d présent", "%d présents", (unsigned long)s->users), s->users);
	}
	if (s->lag_ms >= 0)
		snprintf(lag, sizeof(lag), " | %d ms", s->lag_ms);
	snprintf(ui->status_text, sizeof(ui->status_text), " %s | #%s | %s%s | %s%s ",
		 s->server ? s->server : "", s->room ? s->room : "", s->pseudo ? s->pseudo : "",
		 users, s->state ? s->state : "", lag);
	snprintf(ui->pseudo, sizeof(ui->pseudo), "%s", s->pseudo ? s->pseudo : "");
	redraw(ui);
}

/* ---- sending ----------------------------------------------------------------- */

static void submit(struct ui *ui)
{
	static char line[INPUTLINE_MAX + 1];
	size_t n = il_take(&ui->input, line, sizeof(line));
	pane_bottom(windows_pane(&ui->wins));
	redraw(ui);
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
	note(ui, CHAT_ERROR, text);
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

static void on_resize(void)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
		resize_term(ws.ws_row, ws.ws_col);
	clearok(curscr, TRUE);
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
	case KEY_RESIZE: on_resize(); return;
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
			switch_to(ui, ch == '0' ? 9 : (size_t)(ch - '1'));
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

static void on_input(uv_poll_t *handle, int status, int events)
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
	redraw(ui);
}

static void on_winch(uv_signal_t *sig, int signum)
{
	(void)signum;
	struct ui *ui = sig->data;
	on_resize();
	redraw(ui);
}

bool ui_terminal_usable(void)
{
	const char *term = getenv("TERM");
	if (term == NULL || term[0] == '\0' || strcmp(term, "dumb") == 0)
		return false;
	int err = 0;
	if (setupterm(NULL, STDOUT_FILENO, &err) != OK)
		return false;
	/* Full screen needs the cursor moved anywhere and the screen cleared. */
	const char *cup = tigetstr("cup"), *clear = tigetstr("clear");
	bool usable = cup != NULL && cup != (char *)-1 && clear != NULL && clear != (char *)-1;
	del_curterm(cur_term);
	cur_term = NULL;
	return usable;
}

int ui_start(struct ui *ui, uv_loop_t *loop, const struct ui_callbacks *cb,
	     const struct ui_options *opt, void *data)
{
	memset(ui, 0, sizeof(*ui));
	ui->loop = loop;
	ui->cb = *cb;
	ui->opt = *opt;
	ui->data = data;
	ui->search_match = -1;
	windows_init(&ui->wins, display_colour_wanted(), opt->ascii_pictures);
	if (windows_open(&ui->wins, WINDOW_ROOM, opt->room != NULL ? opt->room : "") < 0)
		return UV_ENOMEM;
	il_init(&ui->input);

	ESCDELAY = 25;
	if (initscr() == NULL)
		return UV_EIO;
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	if (ui->wins.colour && has_colors()) {
		start_color();
		use_default_colors();
	} else {
		ui->wins.colour = false;
	}
	define_key("\033[200~", KEY_PASTE_START);
	define_key("\033[201~", KEY_PASTE_END);
	/* xterm's modified End and Home, as tmux, xterm and VTE send them. */
	define_key("\033[1;3F", KEY_TO_BOTTOM);
	define_key("\033[1;5F", KEY_TO_BOTTOM);
	define_key("\033[1;3H", KEY_TO_TOP);
	define_key("\033[1;5H", KEY_TO_TOP);
	define_key("\033[1;3D", KEY_WINDOW_PREV);
	define_key("\033[1;3C", KEY_WINDOW_NEXT);
	if (opt->mouse) {
		/* The wheel only; a click or a drag stays the terminal's with
		 * Shift held (xterm, VTE, kitty, tmux). */
		mousemask(BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
		mouseinterval(0);
	}
	fputs("\033[?2004h", stdout); /* bracketed paste on */
	fflush(stdout);
	ui->started = true;

	uv_poll_init(loop, &ui->keys, STDIN_FILENO);
	ui->keys.data = ui;
	uv_poll_start(&ui->keys, UV_READABLE, on_input);
	uv_signal_init(loop, &ui->winch);
	ui->winch.data = ui;
	uv_signal_start(&ui->winch, on_winch, SIGWINCH);
	redraw(ui);
	return 0;
}

void ui_close(struct ui *ui)
{
	if (!ui->started || ui->closing)
		return;
	ui->closing = true;
	uv_close((uv_handle_t *)&ui->keys, NULL);
	uv_close((uv_handle_t *)&ui->winch, NULL);
	if (ui->opt.mouse)
		mousemask(0, NULL);
	fputs("\033[?2004l", stdout);
	endwin();
	windows_free(&ui->wins, stdout, 5);
	free(ui->paste);
	free(ui->pending_paste);
	free(ui->search_saved);
	il_free(&ui->input);
}
