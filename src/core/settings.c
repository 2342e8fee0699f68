#include "settings.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* getopt_long's value for a row without a short option: its index above
 * every character. */
#define OPTION_BASE 256

/* --help: descriptions start at this column and lines end before USAGE_WIDTH. */
#define USAGE_COLUMN 26
#define USAGE_WIDTH 80
/* Inside a default ("64 KiB"): a space no line breaks at. */
#define USAGE_NBSP '\x1f'

/* The largest number of milliseconds an unsigned field takes (seconds are
 * multiplied by 1000 into it). */
#define UINT_FIELD_MAX 4000000000u

/* ---- the types --------------------------------------------------------- */

static int parse_text(const struct setting *row, void *target, const char *value,
		      const char **cause)
{
	size_t cap = (size_t)row->max;
	if (value[0] == '\0' || strlen(value) >= cap) {
		*cause = row->cause ? row->cause : "empty or too long";
		return -EINVAL;
	}
	snprintf(settings_field(row, target), cap, "%s", value);
	return 0;
}

void settings_show_text(const struct setting *row, const void *target, char *buf, size_t len)
{
	snprintf(buf, len, "%s", (const char *)target + row->offset);
}

const struct setting_type settings_text = {parse_text, settings_show_text};

static int parse_port(const struct setting *row, void *target, const char *value,
		      const char **cause)
{
	char *end;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < row->min || v > 65535) {
		*cause = row->min == 0 ? "invalid port (0-65535)" : "invalid port (1-65535)";
		return -EINVAL;
	}
	*(int *)settings_field(row, target) = (int)v;
	return 0;
}

static void show_int(const struct setting *row, const void *target, char *buf, size_t len)
{
	snprintf(buf, len, "%d", *(const int *)((const char *)target + row->offset));
}

const struct setting_type settings_port = {parse_port, show_int};

/* A whole number of at least min, with nothing around it. */
static int parse_whole(const char *value, long long min, unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || value[0] == '-' ||
	    v < (unsigned long long)(min < 0 ? 0 : min))
		return -EINVAL;
	*out = v;
	return 0;
}

static unsigned long long max_or(const struct setting *row, unsigned long long own)
{
	return row->max > 0 ? (unsigned long long)row->max : own;
}

static int parse_bytes(const struct setting *row, void *target, const char *value,
		       const char **cause)
{
	unsigned long long v;
	if (parse_whole(value, row->min, &v) < 0 || v > SIZE_MAX) {
		*cause = "invalid size in bytes";
		return -EINVAL;
	}
	if (v > max_or(row, SIZE_MAX)) {
		*cause = row->cause ? row->cause : "invalid size in bytes";
		return -EINVAL;
	}
	*(size_t *)settings_field(row, target) = (size_t)v;
	return 0;
}

/* 5 MiB rather than 5242880: what a person reads in --help. */
static void show_bytes(const struct setting *row, const void *target, char *buf, size_t len)
{
	size_t v = *(const size_t *)((const char *)target + row->offset);
	if (v >= 1024 * 1024 && v % (1024 * 1024) == 0)
		snprintf(buf, len, "%zu MiB", v / (1024 * 1024));
	else if (v >= 1024 && v % 1024 == 0)
		snprintf(buf, len, "%zu KiB", v / 1024);
	else
		snprintf(buf, len, "%zu", v);
}

const struct setting_type settings_bytes = {parse_bytes, show_bytes};

static int parse_count(const struct setting *row, void *target, const char *value,
		       const char **cause)
{
	unsigned long long v;
	if (parse_whole(value, row->min, &v) < 0 || v > max_or(row, SIZE_MAX)) {
		*cause = row->cause ? row->cause : "invalid number";
		return -EINVAL;
	}
	*(size_t *)settings_field(row, target) = (size_t)v;
	return 0;
}

static void show_count(const struct setting *row, const void *target, char *buf, size_t len)
{
	snprintf(buf, len, "%zu", *(const size_t *)((const char *)target + row->offset));
}

const struct setting_type settings_count = {parse_count, show_count};

/* An unsigned field of value * scale. */
static int parse_scaled(const struct setting *row, void *target, const char *value,
			unsigned scale, const char **cause)
{
	unsigned long long v;
	if (parse_whole(value, row->min, &v) < 0 || v > UINT_FIELD_MAX / scale) {
		*cause = "invalid number";
		return -EINVAL;
	}
	if (v > max_or(row, UINT_FIELD_MAX / scale)) {
		*cause = row->cause ? row->cause : "invalid number";
		return -EINVAL;
	}
	*(unsigned *)settings_field(row, target) = (unsigned)(v * scale);
	return 0;
}

static int parse_uint(const struct setting *row, void *target, const char *value,
		      const char **cause)
{
	return parse_scaled(row, target, value, 1, cause);
}

static void show_uint(const struct setting *row, const void *target, char *buf, size_t len)
{
	snprintf(buf, len, "%u", *(const unsigned *)((const char *)target + row->offset));
}

const struct setting_type settings_uint = {parse_uint, show_uint};

static int parse_seconds(const struct setting *row, void *target, const char *value,
			 const char **cause)
{
	return parse_scaled(row, target, value, 1000, cause);
}

static void show_seconds(const struct setting *row, const void *target, char *buf, size_t len)
{
	snprintf(buf, len, "%u s",
		 *(const unsigned *)((const char *)target + row->offset) / 1000);
}

const struct setting_type settings_seconds = {parse_seconds, show_seconds};

static int parse_number(const struct setting *row, void *target, const char *value,
			const char **cause)
{
	char *end;
	errno = 0;
	double v = strtod(value, &end);
	/* strtod takes "inf" and "nan": a limit of inf is no limit at all. */
	if (errno != 0 || end == value || *end != '\0' || !isfinite(v) || v < (double)row->min) {
		*cause = "invalid number (a finite one is needed)";
		return -EINVAL;
	}
	*(double *)settings_field(row, target) = v;
	return 0;
}

static void show_number(const struct setting *row, const void *target, char *buf, size_t len)
{
	snprintf(buf, len, "%g", *(const double *)((const char *)target + row->offset));
}

const struct setting_type settings_number = {parse_number, show_number};

static int parse_yes_no(const struct setting *row, void *target, const char *value,
			const char **cause)
{
	bool *field = settings_field(row, target);
	if (strcmp(value, "yes") == 0 || strcmp(value, "1") == 0)
		*field = true;
	else if (strcmp(value, "no") == 0 || strcmp(value, "0") == 0)
		*field = false;
	else {
		*cause = "not yes or no";
		return -EINVAL;
	}
	return 0;
}

static void show_yes_no(const struct setting *row, const void *target, char *buf, size_t len)
{
	snprintf(buf, len, "%s", *(const bool *)((const char *)target + row->offset) ? "yes" : "no");
}

const struct setting_type settings_yes_no = {parse_yes_no, show_yes_no};

static int parse_ignore(const struct setting *row, void *target, const char *value,
			const char **cause)
{
	(void)row, (void)target, (void)value, (void)cause;
	return 0;
}

const struct setting_type settings_ignore = {parse_ignore, NULL};

/* ---- applying values --------------------------------------------------- */

/* A word of ours in the program's language (settings_program.translate). */
__attribute__((format_arg(2)))
static const char *tr(const struct settings_program *p, const char *text)
{
	return p->translate != NULL ? p->translate(text) : text;
}

static const struct setting *find_key(const struct settings_program *p, const char *key)
{
	for (size_t i = 0; i < p->count; i++)
		if (p->rows[i].key != NULL && strcmp(p->rows[i].key, key) == 0)
			return &p->rows[i];
	return NULL;
}

/* One value through its row; origin names it in the error. 0 or -1. */
static int apply(const struct settings_program *p, const struct setting *row, void *target,
		 const char *value, const char *origin, struct settings_error *err)
{
	const char *cause = "invalid value";
	if (row->type->parse(row, target, value, &cause) == 0)
		return 0;
	snprintf(err->text, sizeof(err->text), tr(p, "%s '%s': %s"), origin, value, tr(p, cause));
	return -1;
}

/* What the libinih handler needs; the first error wins. */
struct file_read {
	const struct settings_program *program;
	void *target;
	char first_error[256];
	bool failed;
};

static int on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct file_read *r = user;
	if (r->failed)
		return 0;
	r->failed = true;
	if (section[0] != '\0') {
		snprintf(r->first_error, sizeof(r->first_error),
			 tr(r->program, "sections are not used (found [%s])"), section);
		return 0;
	}
	const struct setting *row = find_key(r->program, name);
	if (row == NULL) {
		snprintf(r->first_error, sizeof(r->first_error), tr(r->program, "unknown key '%s'"),
			 name);
		return 0;
	}
	const char *cause = "invalid value";
	if (row->type->parse(row, r->target, value, &cause) < 0) {
		snprintf(r->first_error, sizeof(r->first_error), tr(r->program, "%s '%s': %s"), name,
			 value, tr(r->program, cause));
		return 0;
	}
	r->failed = false;
	return 1;
}

/* The file; one that does not exist is no error when missing_ok (a default
 * location). 0 or -1. */
static int read_file(const struct settings_program *p, void *target, const char *path,
		     bool missing_ok, struct settings_error *err)
{
	if (missing_ok && access(path, F_OK) != 0 && errno == ENOENT)
		return 0;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err->text, sizeof(err->text), tr(p, "cannot read %s: %s"), path,
			 strerror(errno));
		return -1;
	}
	struct file_read r = {.program = p, .target = target};
	int line = ini_parse_file(f, on_pair, &r);
	fclose(f);
	if (line == 0)
		return 0;
	if (!r.failed)
		snprintf(r.first_error, sizeof(r.first_error), "%s", tr(p, "not a KEY=VALUE line"));
	snprintf(err->text, sizeof(err->text), "%s:%d: %s", path, line, r.first_error);
	return -1;
}

static int read_env(const struct settings_program *p, void *target, struct settings_error *err)
{
	for (size_t i = 0; i < p->count; i++) {
		const struct setting *row = &p->rows[i];
		if (row->key == NULL)
			continue;
		char var[64];
		snprintf(var, sizeof(var), "CHATROOM_%s", row->key);
		const char *value = getenv(var);
		if (value != NULL && apply(p, row, target, value, var, err) < 0)
			return -1;
	}
	return 0;
}

/* "--port" (or "-p" for a row with no long name), as errors name it. */
static void option_name(const struct setting *row, char *buf, size_t len)
{
	if (row->long_opt != NULL)
		snprintf(buf, len, "--%s", row->long_opt);
	else
		snprintf(buf, len, "-%c", row->short_opt);
}

/* ---- the command line -------------------------------------------------- */

/* getopt_long's tables, made from the rows. */
struct getopt_tables {
	struct option *longs;
	char *shorts;
};

static int make_getopt_tables(const struct settings_program *p, struct getopt_tables *g)
{
	g->longs = calloc(p->count + 1, sizeof(*g->longs));
	g->shorts = malloc(2 * p->count + 1);
	if (g->longs == NULL || g->shorts == NULL)
		return -ENOMEM;
	size_t nl = 0, ns = 0;
	for (size_t i = 0; i < p->count; i++) {
		const struct setting *row = &p->rows[i];
		if (row->long_opt != NULL)
			g->longs[nl++] = (struct option){
				row->long_opt, row->metavar ? required_argument : no_argument, NULL,
				row->short_opt ? row->short_opt : OPTION_BASE + (int)i};
		if (row->short_opt != 0) {
			g->shorts[ns++] = row->short_opt;
			if (row->metavar != NULL)
				g->shorts[ns++] = ':';
		}
	}
	g->shorts[ns] = '\0';
	return 0;
}

static void free_getopt_tables(struct getopt_tables *g)
{
	free(g->longs);
	free(g->shorts);
}

/* The row getopt_long's answer stands for, or NULL ('?': getopt said why). */
static const struct setting *row_for(const struct settings_program *p, int opt)
{
	if (opt >= OPTION_BASE && (size_t)(opt - OPTION_BASE) < p->count)
		return &p->rows[opt - OPTION_BASE];
	for (size_t i = 0; opt > 0 && i < p->count; i++)
		if (p->rows[i].short_opt == opt)
			return &p->rows[i];
	return NULL;
}

/* Reads the command line: a keyed value is kept in given[] (the last one
 * counts), to be applied after the file and the environment; an option
 * without a key is applied at once. */
static enum settings_outcome scan(const struct settings_program *p, int argc, char **argv,
				  void *target, const char **given, const char **config,
				  struct settings_error *err)
{
	struct getopt_tables g;
	if (make_getopt_tables(p, &g) < 0) {
		free_getopt_tables(&g);
		snprintf(err->text, sizeof(err->text), "%s", tr(p, "out of memory"));
		return SETTINGS_FAILED;
	}
	enum settings_outcome outcome = SETTINGS_READY;
	optind = 0; /* glibc: start afresh, whoever read a command line before */
	int opt;
	while (outcome == SETTINGS_READY &&
	       (opt = getopt_long(argc, argv, g.shorts, g.longs, NULL)) != -1) {
		const struct setting *row = row_for(p, opt);
		if (row == NULL) {
			outcome = SETTINGS_BAD_USAGE;
			break;
		}
		const char *value = row->metavar ? optarg
				  : row->flag_value ? row->flag_value : "yes";
		char origin[64];
		switch (row->role) {
		case SETTING_HELP: outcome = SETTINGS_HELP; break;
		case SETTING_VERSION: outcome = SETTINGS_VERSION; break;
		case SETTING_CONFIG_FILE: *config = value; break;
		case SETTING_VALUE:
			if (row->key != NULL) {
				given[row - p->rows] = value;
				break;
			}
			option_name(row, origin, sizeof(origin));
			if (apply(p, row, target, value, origin, err) < 0)
				outcome = SETTINGS_FAILED;
			break;
		}
	}
	if (outcome == SETTINGS_READY && optind < argc) {
		snprintf(err->text, sizeof(err->text), tr(p, "unexpected argument '%s'"),
			 argv[optind]);
		outcome = SETTINGS_BAD_USAGE;
	}
	free_getopt_tables(&g);
	return outcome;
}

enum settings_outcome settings_read(const struct settings_program *p, int argc, char **argv,
				    void *target, const char *default_path,
				    struct settings_error *err)
{
	err->text[0] = '\0';
	const char **given = calloc(p->count, sizeof(*given));
	if (given == NULL) {
		snprintf(err->text, sizeof(err->text), "%s", tr(p, "out of memory"));
		return SETTINGS_FAILED;
	}
	const char *config = NULL;
	enum settings_outcome outcome = scan(p, argc, argv, target, given, &config, err);
	const char *path = config != NULL ? config : default_path;
	if (outcome == SETTINGS_READY &&
	    ((path != NULL && read_file(p, target, path, config == NULL, err) < 0) ||
	     read_env(p, target, err) < 0))
		outcome = SETTINGS_FAILED;
	for (size_t i = 0; outcome == SETTINGS_READY && i < p->count; i++) {
		char origin[64];
		option_name(&p->rows[i], origin, sizeof(origin));
		if (given[i] != NULL && apply(p, &p->rows[i], target, given[i], origin, err) < 0)
			outcome = SETTINGS_FAILED;
	}
	free(given);
	return outcome;
}

int settings_main(const struct settings_program *p, int argc, char **argv, void *target,
		  const char *default_path)
{
	struct settings_error err;
	switch (settings_read(p, argc, argv, target, default_path, &err)) {
	case SETTINGS_READY:
		return -1;
	case SETTINGS_HELP:
		settings_usage(p, target, stdout);
		return 0;
	case SETTINGS_VERSION:
		printf("%s %s\n", p->name, CHATROOM_VERSION);
		return 0;
	case SETTINGS_BAD_USAGE:
		if (err.text[0] != '\0')
			fprintf(stderr, "%s: %s\n", p->name, err.text);
		settings_usage(p, target, stderr);
		return 2;
	case SETTINGS_FAILED:
		break;
	}
	fprintf(stderr, "%s: %s\n", p->name, err.text);
	return 2;
}

/* ---- --help ------------------------------------------------------------- */

/* Appends to buf (always terminated). */
__attribute__((format(printf, 3, 4)))
static void add(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	if (used + 1 >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

/* Prints text's words from column `at`, wrapped under USAGE_COLUMN. A word
 * that starts with '-' never begins a line: a line that does is an
 * option's (scripts read the help so). */
static void print_wrapped(FILE *out, const char *text, size_t at)
{
	bool line_empty = true;
	for (const char *p = text; *p != '\0';) {
		if (*p == ' ') {
			p++;
			continue;
		}
		size_t n = strcspn(p, " ");
		if (!line_empty && at + 1 + n >= USAGE_WIDTH && p[0] != '-') {
			fprintf(out, "\n%*s", USAGE_COLUMN, "");
			at = USAGE_COLUMN;
			line_empty = true;
		}
		if (!line_empty) {
			fputc(' ', out);
			at++;
		}
		for (size_t i = 0; i < n; i++)
			fputc(p[i] == USAGE_NBSP ? ' ' : p[i], out);
		at += n;
		line_empty = false;
		p += n;
	}
	fputc('\n', out);
}

/* What a row's default reads as, "" for none. */
static void default_of(const struct settings_program *p, const struct setting *row,
		       const void *target, char *buf, size_t len)
{
	buf[0] = '\0';
	if (row->default_text != NULL)
		snprintf(buf, len, "%s", tr(p, row->default_text));
	else if (row->metavar != NULL && row->type != NULL && row->type->show != NULL) {
		row->type->show(row, target, buf, len);
		for (char *c = buf; *c != '\0'; c++)
			if (*c == ' ')
				*c = USAGE_NBSP;
	}
}

/* One entry: the rows first..last (all but the last have no help). */
static void usage_entry(const struct settings_program *p, FILE *out,
			const struct setting *first, const struct setting *last,
			const void *target)
{
	char names[256] = "", keys[256] = "", defaults[256] = "", text[1024];
	for (const struct setting *row = first; row <= last; row++) {
		const char *sep = names[0] != '\0' ? ", " : "";
		const char *meta = row->metavar != NULL ? row->metavar : "";
		if (row->long_opt == NULL)
			add(names, sizeof(names), "%s%s=%s", sep, row->key, meta);
		else if (row->short_opt != 0)
			add(names, sizeof(names), "%s-%c, --%s%s%s", sep, row->short_opt,
			    row->long_opt, meta[0] ? " " : "", meta);
		else
			add(names, sizeof(names), "%s--%s%s%s", sep, row->long_opt,
			    meta[0] ? " " : "", meta);
		/* A flag's key takes the value the flag stands for. */
		if (row->key != NULL && row->long_opt != NULL)
			add(keys, sizeof(keys), "%s%s=%s", keys[0] ? ", " : "", row->key,
			    row->metavar ? "" : row->flag_value ? row->flag_value : "yes");
		char d[160];
		default_of(p, row, target, d, sizeof(d));
		if (d[0] != '\0')
			add(defaults, sizeof(defaults), "%s%s", defaults[0] ? ", " : "", d);
	}
	snprintf(text, sizeof(text), "%s", tr(p, last->help));
	if (keys[0] != '\0' && defaults[0] != '\0')
		add(text, sizeof(text), " (%s%s%s%s)", keys, first == last ? ", " : "; ",
		    tr(p, "default "), defaults);
	else if (keys[0] != '\0' || defaults[0] != '\0')
		add(text, sizeof(text), " (%s%s%s)", keys, defaults[0] ? tr(p, "default ") : "",
		    defaults);
	int at = fprintf(out, "%s%s", first->short_opt ? "  " : "      ", names);
	if (at + 2 <= USAGE_COLUMN)
		fprintf(out, "%*s", USAGE_COLUMN - at, "");
	else
		fprintf(out, "\n%*s", USAGE_COLUMN, "");
	print_wrapped(out, text, USAGE_COLUMN);
}

void settings_usage(const struct settings_program *p, const void *target, FILE *out)
{
	fprintf(out, tr(p, "usage: %s\n\n"), p->synopsis);
	bool keyed = false;
	const struct setting *first = p->rows;
	for (const struct setting *row = p->rows; row < p->rows + p->count; row++) {
		keyed = keyed || row->key != NULL;
		if (row->help == NULL)
			continue; /* described with the next */
		usage_entry(p, out, first, row, target);
		first = row + 1;
	}
	if (keyed)
		fprintf(out, "%s",
			tr(p, "\nEach KEY= above is also a KEY=VALUE line of the settings file and a\n"
			      "CHATROOM_KEY environment variable; options override the environment,\n"
			      "which overrides the file.\n"));
	if (p->epilogue != NULL)
		fprintf(out, "%s", tr(p, p->epilogue));
}
