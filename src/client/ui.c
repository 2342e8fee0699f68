#include "ui.h"

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <term.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "display.h"
#include "i18n.h"
#include "textwidth.h"

#define PROMPT "> "

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

void ui_redraw(struct ui *ui)
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
	ui_redraw(ui);
	if (rings && ui->opt.ring && ui->started && !ui->closing)
		beep();
}

void ui_note_quiet(struct ui *ui, enum chat_kind kind, const char *text)
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

void ui_switch_to(struct ui *ui, size_t i)
{
	if (i >= ui->wins.count || i == ui->wins.current)
		return;
	windows_switch(&ui->wins, i);
	if (ui->cb.on_switch != NULL)
		ui->cb.on_switch(ui);
	ui_redraw(ui);
}

void ui_focus(struct ui *ui, enum window_kind kind, const char *name)
{
	int i = windows_open(&ui->wins, kind, name);
	if (i >= 0)
		ui_switch_to(ui, (size_t)i);
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
	ui_redraw(ui);
}

void ui_reset_window(struct ui *ui, enum window_kind kind, const char *name)
{
	int i = windows_open(&ui->wins, kind, name);
	if (i < 0)
		return;
	windows_clear(&ui->wins, (size_t)i);
	ui_switch_to(ui, (size_t)i);
	ui_redraw(ui);
}

void ui_note(struct ui *ui, enum chat_kind kind, const char *text)
{
	ui_note_quiet(ui, kind, text);
	ui_redraw(ui);
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
	ui_redraw(ui);
}

void ui_resize(void)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
		resize_term(ws.ws_row, ws.ws_col);
	clearok(curscr, TRUE);
}

static void on_winch(uv_signal_t *sig, int signum)
{
	(void)signum;
	struct ui *ui = sig->data;
	ui_resize();
	ui_redraw(ui);
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
	ui_keys_define(ui);
	fputs("\033[?2004h", stdout); /* bracketed paste on */
	fflush(stdout);
	ui->started = true;

	uv_poll_init(loop, &ui->keys, STDIN_FILENO);
	ui->keys.data = ui;
	uv_poll_start(&ui->keys, UV_READABLE, ui_keys_read);
	uv_signal_init(loop, &ui->winch);
	ui->winch.data = ui;
	uv_signal_start(&ui->winch, on_winch, SIGWINCH);
	ui_redraw(ui);
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
	ui_keys_free(ui);
	il_free(&ui->input);
}
