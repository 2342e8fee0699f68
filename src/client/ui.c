#include "ui.h"

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "chatpicture.h"
#include "display.h"
#include "i18n.h"
#include "sanitize.h"
#include "textwidth.h"

/* Bracketed paste: the terminal wraps pasted text in these. */
#define KEY_PASTE_START (KEY_MAX + 1)
#define KEY_PASTE_END (KEY_MAX + 2)
/* A paste of more lines than this is sent only once the user says so. */
#define UI_PASTE_ASK_LINES 3
#define PROMPT "> "

struct pane_entry {
	char *text;          /* the whole line as display_format writes it */
	size_t len;
	size_t pseudo_start; /* the speaker's pseudo in text, for its colour */
	size_t pseudo_len;
	int colour;
	enum chat_kind kind;
	bool history;
	bool mention;
	int indent;          /* cells under which continuation rows start */
	struct chat_picture *picture; /* CHAT_IMAGE: drawn under the text */
	ChafaCanvas *canvas;          /* the picture at canvas_width cells */
	int canvas_width, canvas_cols, canvas_rows;
};

/* Pictures are drawn this many cells in, under the timestamp's width. */
#define UI_PICTURE_INDENT 4

static void free_entry(struct pane_entry *e)
{
	free(e->text);
	if (e->picture != NULL) {
		picture_free(e->picture);
		free(e->picture);
	}
	if (e->canvas != NULL)
		chafa_canvas_unref(e->canvas);
}

/* ---- drawing ------------------------------------------------------------ */

static short pair_for(struct ui *ui, int colour)
{
	if (!ui->colour || colour < 0 || colour > 255)
		return 0;
	if (COLORS < 256)
		colour = colour % 8 == 0 ? 7 : colour % 8; /* the nearest of eight, roughly */
	if (ui->pairs[colour] == 0 && ui->next_pair < COLOR_PAIRS - 1) {
		ui->pairs[colour] = ++ui->next_pair;
		init_pair(ui->pairs[colour], (short)colour, -1);
	}
	return ui->pairs[colour];
}

static struct pane_entry *entry_at(struct ui *ui, size_t i)
{
	return &ui->entries[(ui->first + i) % UI_SCROLLBACK];
}

/* Text at the cursor, each cluster in its drawn form (textwidth.h), so
 * that curses, the terminal and the cursor arithmetic count alike. */
static void draw_text(const char *s, size_t len)
{
	char drawn[TW_DRAWN_MAX];
	size_t i = 0;
	while (i < len) {
		size_t n;
		int cells;
		i += tw_cluster_drawn(s + i, len - i, drawn, &n, &cells);
		addnstr(drawn, (int)n);
	}
}

/* Draws bytes [from, to) of an entry at the cursor, the pseudo in colour. */
static void draw_span(struct ui *ui, const struct pane_entry *e, size_t from, size_t to)
{
	attr_t base = e->history ? A_DIM : A_NORMAL;
	if (e->kind == CHAT_ERROR && ui->colour)
		base |= COLOR_PAIR(pair_for(ui, 1));
	if (e->mention)
		base |= A_BOLD | A_REVERSE;
	size_t p0 = e->pseudo_start, p1 = e->pseudo_start + e->pseudo_len;
	size_t cuts[4] = {from, from > p0 ? from : p0, to < p1 ? to : p1, to};
	if (e->pseudo_len == 0 || cuts[1] >= cuts[2]) {
		attrset(base);
		draw_text(e->text + from, to - from);
		return;
	}
	attrset(base);
	draw_text(e->text + cuts[0], cuts[1] - cuts[0]);
	attrset(base | A_BOLD | COLOR_PAIR(pair_for(ui, e->colour)));
	draw_text(e->text + cuts[1], cuts[2] - cuts[1]);
	attrset(base);
	draw_text(e->text + cuts[2], cuts[3] - cuts[2]);
}

static size_t rows_of(const struct pane_entry *e, int cols, struct tw_row *rows, size_t max)
{
	return tw_wrap(e->text, e->len, cols, cols - e->indent > 8 ? cols - e->indent : cols,
		       rows, max);
}

/* The picture's rows at this width, its canvas made again when the width
 * changed (a resize reflows pictures like text). */
static int picture_rows(struct ui *ui, struct pane_entry *e, int cols)
{
	if (e->picture == NULL)
		return 0;
	int width = cols - UI_PICTURE_INDENT;
	if (width < 4)
		return 0;
	if (e->canvas == NULL || e->canvas_width != width) {
		if (e->canvas != NULL)
			chafa_canvas_unref(e->canvas);
		const struct chat_picture *p = e->picture;
		bool colour = ui->colour && !ui->ascii_pictures && COLORS >= 8;
		e->canvas = image_canvas(p->rgba, p->width, p->height, width,
					 colour ? (COLORS >= 256 ? 256 : COLORS >= 16 ? 16 : 8) : 0,
					 &e->canvas_cols, &e->canvas_rows);
		e->canvas_width = width;
	}
	return e->canvas != NULL ? e->canvas_rows : 0;
}

/* One row of a picture, cell by cell from the chafa canvas: its symbol
 * in its colours, never chafa's escape sequences. */
static void draw_picture_row(struct ui *ui, const struct pane_entry *e, int y)
{
	bool colour = ui->colour && !ui->ascii_pictures && COLORS >= 8;
	for (int x = 0; x < e->canvas_cols; x++) {
		wchar_t wc[2] = {(wchar_t)chafa_canvas_get_char_at(e->canvas, x, y), 0};
		int pair = 0;
		if (colour) {
			gint fg, bg;
			/* Raw: palette indexes in the indexed modes (get_colors_at
			 * answers packed RGB). */
			chafa_canvas_get_raw_colors_at(e->canvas, x, y, &fg, &bg);
			pair = alloc_pair(fg >= 0 && fg < COLORS ? fg : -1, bg >= 0 && bg < COLORS ? bg : -1);
			if (pair < 0)
				pair = 0;
		}
		cchar_t cell;
		setcchar(&cell, wc, e->history ? A_DIM : A_NORMAL, 0, &pair);
		add_wch(&cell);
	}
}

static void draw_pane(struct ui *ui, int height, int cols)
{
	/* Walk back from the newest line, skipping `scroll` rows. */
	int row = height - 1 + ui->scroll;
	struct tw_row rows[256];
	for (size_t i = ui->count; i-- > 0 && row >= 0;) {
		struct pane_entry *e = entry_at(ui, i);
		size_t n = rows_of(e, cols, rows, 256);
		size_t picture = (size_t)picture_rows(ui, e, cols);
		for (size_t r = n + picture; r-- > 0; row--) {
			if (row >= height || row < 0)
				continue;
			move(row, 0);
			clrtoeol();
			if (r >= n) {
				move(row, UI_PICTURE_INDENT);
				draw_picture_row(ui, e, (int)(r - n));
				continue;
			}
			if (r > 0 && cols - e->indent > 8)
				move(row, e->indent);
			draw_span(ui, e, rows[r].start, rows[r].start + rows[r].len);
		}
	}
	for (; row >= 0; row--) {
		move(row, 0);
		clrtoeol();
	}
	attrset(A_NORMAL);
}

static void draw_status(struct ui *ui, int y, int cols)
{
	char line[700];
	if (ui->pending_paste != NULL)
		snprintf(line, sizeof(line), " %s", _("Envoyer ce collage de plusieurs lignes ? (o/n)"));
	else if (ui->scroll > 0 && ui->unread > 0)
		snprintf(line, sizeof(line), " ── %u %s ──%s", ui->unread,
			 _("nouveaux messages plus bas (PgDn)"), ui->status_text);
	else if (ui->scroll > 0)
		snprintf(line, sizeof(line), " ── %s ──%s", _("historique (PgDn)"), ui->status_text);
	else
		snprintf(line, sizeof(line), "%s", ui->status_text);
	move(y, 0);
	attrset(A_REVERSE);
	draw_text(line, strlen(line));
	for (int x = tw_width(line, strlen(line)); x < cols; x++)
		addch(' ');
	attrset(A_NORMAL);
}

/* The input row scrolls sideways to keep the cursor in view. It is drawn
 * whole at every change, from its first column, and the cursor put after
 * the cells drawn before it (textwidth.h: every terminal agrees on them). */
static void draw_input(struct ui *ui, int y, int cols)
{
	move(y, 0);
	clrtoeol();
	addstr(PROMPT);
	int room = cols - (int)strlen(PROMPT) - 1;
	struct inputline *il = &ui->input;
	size_t start = 0;
	while (tw_width(il->buf + start, il->cursor - start) > room) {
		int w;
		start += tw_cluster(il->buf + start, il->len - start, &w);
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
	draw_text(il->buf + start, end - start);
	move(y, (int)strlen(PROMPT) + tw_width(il->buf + start, il->cursor - start));
}

static void redraw(struct ui *ui)
{
	if (!ui->started || ui->closing)
		return;
	int height = LINES - 2, cols = COLS;
	if (height < 1 || cols < 10)
		return;
	draw_pane(ui, height, cols);
	draw_status(ui, height, cols);
	draw_input(ui, height + 1, cols);
	refresh();
}

/* ---- the pane's lines ---------------------------------------------------- */

static void add_entry(struct ui *ui, struct pane_entry *e)
{
	if (ui->count == UI_SCROLLBACK) {
		free_entry(entry_at(ui, 0));
		ui->first = (ui->first + 1) % UI_SCROLLBACK;
		ui->count--;
	}
	*entry_at(ui, ui->count++) = *e;
	if (ui->scroll > 0)
		ui->unread++;
}

static void add_text(struct ui *ui, enum chat_kind kind, const char *text)
{
	struct pane_entry e = {.text = strdup(text), .len = strlen(text), .colour = -1,
			       .kind = kind, .indent = 8};
	if (e.text != NULL)
		add_entry(ui, &e);
}

/* True when text names the pseudo (any case), as a word of its own. */
static bool mentions(const char *text, size_t len, const char *pseudo)
{
	size_t n = strlen(pseudo);
	if (n == 0)
		return false;
	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp(text + i, pseudo, n) == 0 &&
		    (i == 0 || text[i - 1] == ' ' || text[i - 1] == '@') &&
		    (i + n == len || strchr(" ,:!?.", text[i + n]) != NULL))
			return true;
	return false;
}

void ui_show(struct ui *ui, const struct chat_line *line)
{
	time_t secs = line->time_ms > 0 ? (time_t)(line->time_ms / 1000) : time(NULL);
	struct tm tm;
	localtime_r(&secs, &tm);
	int day = tm.tm_year * 1000 + tm.tm_yday;
	if (ui->last_day != 0 && day != ui->last_day) {
		char sep[96];
		strftime(sep, sizeof(sep), "── %A %d %B %Y ──", &tm);
		add_text(ui, CHAT_INFO, sep);
	}
	ui->last_day = day;

	char text[4 * 16384];
	size_t len = display_format(line, false, text, sizeof(text) - 1);
	text[len] = '\0';
	struct pane_entry e = {.len = len, .colour = line->colour, .kind = line->kind,
			       .history = line->history, .indent = 8};
	e.text = strdup(text);
	if (e.text == NULL)
		return;
	if (line->kind == CHAT_MESSAGE || (line->kind == CHAT_IMAGE && line->pseudo != NULL)) {
		e.pseudo_start = 8; /* after "[hh:mm] " */
		e.pseudo_len = line->pseudo_len;
		if (line->kind == CHAT_MESSAGE)
			e.mention = mentions(line->text, line->text_len, ui->pseudo);
	}
	if (line->picture != NULL) {
		e.picture = malloc(sizeof(*e.picture));
		if (e.picture != NULL && !picture_copy(e.picture, line->picture)) {
			free(e.picture);
			e.picture = NULL;
		}
	}
	add_entry(ui, &e);
	redraw(ui);
}

void ui_set_status(struct ui *ui, const struct ui_status *s)
{
	char users[32] = "", lag[32] = "";
	if (s->users >= 0)
		snprintf(users, sizeof(users), " | %d %s", s->users, _("présents"));
	if (s->lag_ms >= 0)
		snprintf(lag, sizeof(lag), " | %d ms", s->lag_ms);
	snprintf(ui->status_text, sizeof(ui->status_text), " %s | #%s | %s%s | %s%s ",
		 s->server ? s->server : "", s->room ? s->room : "", s->pseudo ? s->pseudo : "",
		 users, s->connected ? _("connecté") : _("déconnecté"), lag);
	snprintf(ui->pseudo, sizeof(ui->pseudo), "%s", s->pseudo ? s->pseudo : "");
	redraw(ui);
}

/* ---- keys ------------------------------------------------------------------ */

static void submit(struct ui *ui)
{
	char line[INPUTLINE_MAX + 1];
	size_t n = il_take(&ui->input, line, sizeof(line));
	ui->scroll = 0;
	ui->unread = 0;
	redraw(ui);
	if (n > 0)
		ui->cb.on_line(ui, line, n);
}

static void paste_done(struct ui *ui)
{
	ui->pasting = false;
	size_t lines = 1;
	for (size_t i = 0; i < ui->paste_len; i++)
		lines += ui->paste[i] == '\n';
	while (ui->paste_len > 0 && ui->paste[ui->paste_len - 1] == '\n')
		ui->paste_len--, lines--;
	if (lines <= 1) {
		/* One line: it joins what is being typed. */
		il_insert(&ui->input, ui->paste, ui->paste_len);
	} else if (lines > UI_PASTE_ASK_LINES) {
		ui->pending_paste = strndup(ui->paste, ui->paste_len);
	} else {
		ui->cb.on_line(ui, ui->paste, ui->paste_len);
	}
	free(ui->paste);
	ui->paste = NULL;
	ui->paste_len = 0;
}

static void paste_add(struct ui *ui, const char *bytes, size_t n)
{
	if (ui->paste_len + n > INPUTLINE_MAX)
		return; /* a paste this long is cut, not grown without bound */
	char *grown = realloc(ui->paste, ui->paste_len + n + 1);
	if (grown == NULL)
		return;
	ui->paste = grown;
	memcpy(ui->paste + ui->paste_len, bytes, n);
	ui->paste_len += n;
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
	case 1: il_home(&ui->input); return;
	case 5: il_end(&ui->input); return;
	case 21: il_kill_line(&ui->input); return;
	case 23: il_kill_word(&ui->input); return;
	case 8:
	case 127: il_backspace(&ui->input); return;
	case 12: clearok(curscr, TRUE); return;
	default:
		if (ch >= 0x20)
			il_insert(&ui->input, bytes, n);
	}
}

static void on_resize(void)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
		resize_term(ws.ws_row, ws.ws_col);
	clearok(curscr, TRUE);
}

static void on_key(struct ui *ui, int kind, wint_t ch)
{
	int page = LINES - 3 > 1 ? LINES - 3 : 1;
	if (kind == KEY_CODE_YES) {
		switch (ch) {
		case KEY_PASTE_START: ui->pasting = true; return;
		case KEY_PASTE_END: paste_done(ui); return;
		case KEY_LEFT: il_left(&ui->input); return;
		case KEY_RIGHT: il_right(&ui->input); return;
		case KEY_HOME: il_home(&ui->input); return;
		case KEY_END: il_end(&ui->input); return;
		case KEY_BACKSPACE: il_backspace(&ui->input); return;
		case KEY_DC: il_delete(&ui->input); return;
		case KEY_UP: il_history_prev(&ui->input); return;
		case KEY_DOWN: il_history_next(&ui->input); return;
		case KEY_ENTER: submit(ui); return;
		case KEY_PPAGE: ui->scroll += page; return;
		case KEY_NPAGE:
			ui->scroll = ui->scroll > page ? ui->scroll - page : 0;
			if (ui->scroll == 0)
				ui->unread = 0;
			return;
		case KEY_RESIZE: on_resize(); return;
		default: return;
		}
	}
	on_char(ui, ch);
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

int ui_start(struct ui *ui, uv_loop_t *loop, const struct ui_callbacks *cb, void *data)
{
	memset(ui, 0, sizeof(*ui));
	ui->loop = loop;
	ui->cb = *cb;
	ui->data = data;
	ui->entries = calloc(UI_SCROLLBACK, sizeof(*ui->entries));
	if (ui->entries == NULL)
		return UV_ENOMEM;
	il_init(&ui->input);
	ui->colour = display_colour_wanted();

	ESCDELAY = 25;
	if (initscr() == NULL)
		return UV_EIO;
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	if (ui->colour && has_colors()) {
		start_color();
		use_default_colors();
	} else {
		ui->colour = false;
	}
	define_key("\033[200~", KEY_PASTE_START);
	define_key("\033[201~", KEY_PASTE_END);
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
	fputs("\033[?2004l", stdout);
	endwin();
	/* The last words of the conversation stay on the terminal: now
	 * printed raw, outside curses, so made safe once more whatever they
	 * hold (security review M2). */
	size_t keep = ui->count < 5 ? ui->count : 5;
	for (size_t i = ui->count - keep; i < ui->count; i++) {
		const struct pane_entry *e = entry_at(ui, i);
		char *safe = malloc(SANITIZE_BOUND(e->len) + 1);
		if (safe == NULL)
			continue;
		size_t n = sanitize_text(e->text, e->len, safe, SANITIZE_BOUND(e->len),
					 SANITIZE_KEEP_NEWLINES);
		fwrite(safe, 1, n, stdout);
		fputc('\n', stdout);
		free(safe);
	}
	fflush(stdout);
	for (size_t i = 0; i < ui->count; i++)
		free_entry(entry_at(ui, i));
	free(ui->entries);
	free(ui->paste);
	free(ui->pending_paste);
	il_free(&ui->input);
}
