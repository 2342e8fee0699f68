#include "pane.h"

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <uv.h>
#include <wchar.h>

#include "chatpicture.h"
#include "display.h"
#include "sanitize.h"
#include "textwidth.h"

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
	ChafaCanvas *canvas;          /* the picture in a box of canvas_width x canvas_height */
	int canvas_width, canvas_height, canvas_cols, canvas_rows;
};

/* Pictures are drawn this many cells in, under the timestamp's width. */
#define PANE_PICTURE_INDENT 4
/* Continuation rows are indented under the text, after "[hh:mm] ". */
#define PANE_INDENT 8
/* Rows of one entry at most (a 16 KiB message in a narrow pane). */
#define PANE_MAX_ROWS 4096

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

static struct pane_entry *entry_at(struct pane *p, size_t i)
{
	return &p->entries[(p->first + i) % PANE_SCROLLBACK];
}

/* ---- geometry ------------------------------------------------------------- */

static struct tw_row row_buf[PANE_MAX_ROWS];

static size_t rows_of(const struct pane_entry *e, int cols, struct tw_row *rows, size_t max)
{
	return tw_wrap(e->text, e->len, cols, cols - e->indent > 8 ? cols - e->indent : cols,
		       rows, max);
}

/* The picture's rows in a pane this wide and high, its canvas made again
 * when either changed (a resize reflows pictures like text). The picture
 * fits under its header line, which stays in view with it. */
static int picture_rows(struct pane *p, struct pane_entry *e, int cols, int height)
{
	if (e->picture == NULL)
		return 0;
	int width = cols - PANE_PICTURE_INDENT, tall = height - 1;
	if (width < 4 || tall < 2)
		return 0;
	if (e->canvas == NULL || e->canvas_width != width || e->canvas_height != tall) {
		if (e->canvas != NULL)
			chafa_canvas_unref(e->canvas);
		const struct chat_picture *pic = e->picture;
		bool colour = p->colour && !p->ascii_pictures && COLORS >= 8;
		e->canvas = image_canvas_fit(pic->rgba, pic->width, pic->height, width, tall,
					     colour ? (COLORS >= 256 ? 256 : COLORS >= 16 ? 16 : 8) : 0,
					     &e->canvas_cols, &e->canvas_rows);
		e->canvas_width = width;
		e->canvas_height = tall;
	}
	return e->canvas != NULL ? e->canvas_rows : 0;
}

/* The geometry last drawn, else the screen's. */
static void geometry(const struct pane *p, int *height, int *cols)
{
	*height = p->height > 0 ? p->height : LINES - 2;
	*cols = p->cols > 0 ? p->cols : COLS;
}

static int entry_rows(struct pane *p, struct pane_entry *e, int height, int cols)
{
	return (int)rows_of(e, cols, row_buf, PANE_MAX_ROWS) + picture_rows(p, e, cols, height);
}

/* The highest offset: the first row of the oldest line at the top. */
static int max_scroll(struct pane *p)
{
	int height, cols;
	geometry(p, &height, &cols);
	if (height < 1 || cols < 10)
		return 0;
	long total = 0;
	for (size_t i = p->count; i-- > 0 && total < (long)p->scroll + 2L * height;)
		total += entry_rows(p, entry_at(p, i), height, cols);
	/* Counted only as far as needed: more than scroll + a page is enough
	 * to know the offset is in range. */
	if (total >= (long)p->scroll + 2L * height)
		return p->scroll + height;
	return total > height ? (int)(total - height) : 0;
}

static void clamp(struct pane *p)
{
	if (p->scroll > 0) {
		int top = max_scroll(p);
		if (p->scroll > top)
			p->scroll = top;
	}
	if (p->scroll <= 0) {
		p->scroll = 0;
		p->unread = 0;
	}
}

void pane_scroll(struct pane *p, int rows)
{
	p->scroll += rows;
	clamp(p);
}

void pane_bottom(struct pane *p)
{
	p->scroll = 0;
	p->unread = 0;
}

/* ---- drawing --------------------------------------------------------------- */

static short pair_for(struct pane *p, int colour)
{
	if (!p->colour || colour < 0 || colour > 255)
		return 0;
	if (COLORS < 256)
		colour = colour % 8 == 0 ? 7 : colour % 8; /* the nearest of eight, roughly */
	/* One pair a colour, the same in every pane (one a window): a pair
	 * is the screen's, not the pane's. */
	if (p->pairs[colour] == 0 && colour + 1 < COLOR_PAIRS) {
		p->pairs[colour] = (short)(colour + 1);
		init_pair(p->pairs[colour], (short)colour, -1);
	}
	return p->pairs[colour];
}

/* Text at the cursor, each cluster in its drawn form (textwidth.h), so
 * that curses, the terminal and the cursor arithmetic count alike. */
void pane_draw_text(const char *s, size_t len)
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
static void draw_span(struct pane *p, const struct pane_entry *e, size_t from, size_t to)
{
	attr_t base = e->history ? A_DIM : A_NORMAL;
	if (e->kind == CHAT_ERROR && p->colour)
		base |= COLOR_PAIR(pair_for(p, 1));
	if (e->mention)
		base |= A_BOLD | A_REVERSE;
	if (e->kind == CHAT_ACTION)
		base |= A_ITALIC;
	if (e->kind == CHAT_PRIVATE)
		base |= A_BOLD | (p->colour ? COLOR_PAIR(pair_for(p, 5)) : A_UNDERLINE);
	size_t p0 = e->pseudo_start, p1 = e->pseudo_start + e->pseudo_len;
	size_t cuts[4] = {from, from > p0 ? from : p0, to < p1 ? to : p1, to};
	if (e->pseudo_len == 0 || cuts[1] >= cuts[2]) {
		attrset(base);
		pane_draw_text(e->text + from, to - from);
		return;
	}
	attrset(base);
	pane_draw_text(e->text + cuts[0], cuts[1] - cuts[0]);
	attrset(base | A_BOLD | COLOR_PAIR(pair_for(p, e->colour)));
	pane_draw_text(e->text + cuts[1], cuts[2] - cuts[1]);
	attrset(base);
	pane_draw_text(e->text + cuts[2], cuts[3] - cuts[2]);
}

/* One row of a picture, cell by cell from the chafa canvas: its symbol
 * in its colours, never chafa's escape sequences. */
static void draw_picture_row(struct pane *p, const struct pane_entry *e, int y)
{
	bool colour = p->colour && !p->ascii_pictures && COLORS >= 8;
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

void pane_draw(struct pane *p, int height, int cols)
{
	p->height = height;
	p->cols = cols;
	clamp(p); /* a resize, or lines gone from the ring */
	/* Walk back from the newest line, skipping `scroll` rows. */
	int row = height - 1 + p->scroll;
	for (size_t i = p->count; i-- > 0 && row >= 0;) {
		struct pane_entry *e = entry_at(p, i);
		size_t n = rows_of(e, cols, row_buf, PANE_MAX_ROWS);
		size_t picture = (size_t)picture_rows(p, e, cols, height);
		if (row - (int)(n + picture) >= height) {
			row -= (int)(n + picture); /* wholly below the pane */
			continue;
		}
		for (size_t r = n + picture; r-- > 0; row--) {
			if (row >= height || row < 0)
				continue;
			move(row, 0);
			clrtoeol();
			if (r >= n) {
				move(row, PANE_PICTURE_INDENT);
				draw_picture_row(p, e, (int)(r - n));
				continue;
			}
			if (r > 0 && !row_buf[r].bare && cols - e->indent > 8)
				move(row, e->indent);
			draw_span(p, e, row_buf[r].start, row_buf[r].start + row_buf[r].len);
		}
	}
	for (; row >= 0; row--) {
		move(row, 0);
		clrtoeol();
	}
	attrset(A_NORMAL);
}

/* ---- the lines -------------------------------------------------------------- */

static void add_entry(struct pane *p, struct pane_entry *e)
{
	if (p->count == PANE_SCROLLBACK) {
		free_entry(entry_at(p, 0));
		p->first = (p->first + 1) % PANE_SCROLLBACK;
		p->count--;
	}
	*entry_at(p, p->count++) = *e;
	if (p->scroll > 0) {
		/* The view stays where it was: the offset counts from the bottom. */
		int height, cols;
		geometry(p, &height, &cols);
		if (height >= 1 && cols >= 10)
			p->scroll += entry_rows(p, entry_at(p, p->count - 1), height, cols);
		p->unread++;
	}
}

void pane_add_text(struct pane *p, enum chat_kind kind, const char *text)
{
	struct pane_entry e = {.text = strdup(text), .len = strlen(text), .colour = -1,
			       .kind = kind, .indent = PANE_INDENT};
	if (e.text != NULL)
		add_entry(p, &e);
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

bool pane_add(struct pane *p, const struct chat_line *line, const char *pseudo)
{
	time_t secs = line->time_ms > 0 ? (time_t)(line->time_ms / 1000) : time(NULL);
	struct tm tm;
	localtime_r(&secs, &tm);
	int day = tm.tm_year * 1000 + tm.tm_yday;
	if (p->last_day != 0 && day != p->last_day) {
		char sep[96];
		strftime(sep, sizeof(sep), "── %A %d %B %Y ──", &tm);
		pane_add_text(p, CHAT_INFO, sep);
	}
	p->last_day = day;

	static char text[4 * 16384];
	size_t len = display_format(line, false, text, sizeof(text) - 1);
	text[len] = '\0';
	struct pane_entry e = {.len = len, .colour = line->colour, .kind = line->kind,
			       .history = line->history, .indent = PANE_INDENT};
	e.text = strdup(text);
	if (e.text == NULL)
		return false;
	if (line->kind == CHAT_MESSAGE || (line->kind == CHAT_IMAGE && line->pseudo != NULL)) {
		e.pseudo_start = PANE_INDENT; /* after "[hh:mm] " */
		e.pseudo_len = line->pseudo_len;
		if (line->kind == CHAT_MESSAGE)
			e.mention = mentions(line->text, line->text_len, pseudo);
	}
	/* Somebody wrote to us in private (not our own echo, which starts
	 * with our words, not the other's pseudo). */
	bool to_us = line->kind == CHAT_PRIVATE && line->pseudo != NULL &&
		line->text_len > line->pseudo_len &&
		memcmp(line->text, line->pseudo, line->pseudo_len) == 0 &&
		line->text[line->pseudo_len] == ' ';
	bool rings = !line->history && (e.mention || to_us);
	if (line->picture != NULL) {
		e.picture = malloc(sizeof(*e.picture));
		if (e.picture != NULL && !picture_copy(e.picture, line->picture)) {
			free(e.picture);
			e.picture = NULL;
		}
	}
	add_entry(p, &e);
	return rings;
}

int pane_init(struct pane *p, bool colour, bool ascii_pictures)
{
	memset(p, 0, sizeof(*p));
	p->entries = calloc(PANE_SCROLLBACK, sizeof(*p->entries));
	if (p->entries == NULL)
		return UV_ENOMEM;
	p->colour = colour;
	p->ascii_pictures = ascii_pictures;
	return 0;
}

void pane_free(struct pane *p, FILE *out, size_t keep)
{
	if (p->entries == NULL)
		return;
	/* The last words of the conversation stay on the terminal: printed
	 * raw, outside curses, so made safe once more whatever they hold
	 * (security review M2). */
	if (keep > p->count)
		keep = p->count;
	for (size_t i = p->count - keep; out != NULL && i < p->count; i++) {
		const struct pane_entry *e = entry_at(p, i);
		char *safe = malloc(SANITIZE_BOUND(e->len) + 1);
		if (safe == NULL)
			continue;
		size_t n = sanitize_text(e->text, e->len, safe, SANITIZE_BOUND(e->len),
					 SANITIZE_KEEP_NEWLINES);
		fwrite(safe, 1, n, out);
		fputc('\n', out);
		free(safe);
	}
	if (out != NULL)
		fflush(out);
	for (size_t i = 0; i < p->count; i++)
		free_entry(entry_at(p, i));
	free(p->entries);
	p->entries = NULL;
}
