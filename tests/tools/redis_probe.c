/*
 * redis_probe: drives the Redis modules (redis.h, redis_rooms.h,
 * gapfill.h, pseudoclaim.h) from lines on stdin, for the integration
 * tests; what happens is printed on stdout, one line each.
 *
 *   redis_probe [-c connect_ms] [-t command_ms] [-i ping_ms] [-b backoff_min_ms]
 *               [-B backoff_max_ms] [-m max_reply_bytes] [-n fetch_count]
 *               [-s stream_max] [-H max_held] [-T claim_ttl_ms] [-q max_queue_bytes]
 *               [-P max_pending] URL
 *
 * Two connections are opened, "cmd" and "sub" (a subscriber). Input lines
 * (words split on spaces, %XX decoded):
 *   cmd ID WORD...            any command       -> reply ID <json> | error ID <name> <cause>
 *   publish ID ROOM IDEM TEXT (IDEM "-": none)  -> published ID <seq> <dup> <epoch> | error
 *   last ID ROOM                                -> last ID <seq> <epoch>
 *   fetch ID ROOM FROM TO N                     -> entries ID <n> <full> [<seq> <json>]...
 *   follow ROOM LAST          gapfill + SUBSCRIBE {ROOM}:events
 *   drop ROOM N               lose the room's next N channel messages
 *   claim ID SKEL CONN                          -> claim ID granted|refused|error <name>
 *   release SKEL CONN
 *   pending                                     -> pending <n>
 *   quit                      (or end of input) closes all; the exit status
 *                             is 1 if a command's callback never came
 * Unprompted: ready cmd|sub, down cmd|sub <name> <cause>, deliver ROOM <seq>
 * <json>, truncated ROOM <first> <last>, restarted ROOM <old last>, fetch
 * ROOM <from> <to>, lost SKEL CONN, closed.
 * A callback called twice aborts.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gapfill.h"
#include "pseudoclaim.h"
#include "redis.h"
#include "redis_rooms.h"

#define PROBE_MAX_IDS 100000
#define PROBE_LINE_MAX (1u << 20)

struct probe {
	uv_loop_t *loop;
	struct redis *cmd, *sub;
	struct redis_rooms rooms;
	struct gapfill *gap;
	struct pseudoclaim *claims;
	uv_pipe_t in;
	char *line;
	size_t line_len;
	unsigned fetch_count;
	GHashTable *drops; /* room -> remaining messages to lose */
	unsigned char calls[PROBE_MAX_IDS]; /* callbacks seen per command id */
	bool asked[PROBE_MAX_IDS];
	bool quitting;
};

static struct probe P; /* a test tool: one probe per process */

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static void json_string(GString *s, const char *p, size_t len)
{
	g_string_append_c(s, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '"' || c == '\\')
			g_string_append_printf(s, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			g_string_append_printf(s, "\\u%04x", c);
		else
			g_string_append_c(s, (char)c);
	}
	g_string_append_c(s, '"');
}

static void json_reply(GString *s, const redisReply *x)
{
	switch (x->type) {
	case REDIS_REPLY_INTEGER:
		g_string_append_printf(s, "%lld", x->integer);
		break;
	case REDIS_REPLY_NIL:
		g_string_append(s, "null");
		break;
	case REDIS_REPLY_STRING:
		json_string(s, x->str, x->len);
		break;
	case REDIS_REPLY_STATUS:
		g_string_append(s, "{\"status\":");
		json_string(s, x->str, x->len);
		g_string_append_c(s, '}');
		break;
	case REDIS_REPLY_ERROR:
		g_string_append(s, "{\"error\":");
		json_string(s, x->str, x->len);
		g_string_append_c(s, '}');
		break;
	case REDIS_REPLY_ARRAY:
		g_string_append_c(s, '[');
		for (size_t i = 0; i < x->elements; i++) {
			if (i > 0)
				g_string_append_c(s, ',');
			json_reply(s, x->element[i]);
		}
		g_string_append_c(s, ']');
		break;
	}
}

static void called(unsigned id)
{
	if (id >= PROBE_MAX_IDS)
		return;
	if (P.calls[id]++ > 0) {
		out("double %u", id);
		abort();
	}
}

static const char *status_name(int status)
{
	return status < 0 ? uv_err_name(status) : "OK";
}

/* ---- connections ------------------------------------------------------- */

static void on_ready(struct redis *r, void *data)
{
	(void)data;
	out("ready %s", r == P.cmd ? "cmd" : "sub");
	if (r == P.sub)
		gapfill_resync(P.gap);
	else {
		gapfill_retry(P.gap);
		pseudoclaim_renew(P.claims);
	}
}

static void on_down(struct redis *r, int status, const char *cause, void *data)
{
	(void)data;
	out("down %s %s %s", r == P.cmd ? "cmd" : "sub", status_name(status), cause);
}

static void on_message(struct redis *r, const struct redis_message *m, void *data)
{
	char room[REDIS_ROOMS_KEY_MAX];
	uint64_t epoch, seq;
	const char *ev;
	size_t len;
	(void)r;
	(void)data;
	if (redis_rooms_from_channel(m->channel, m->channel_len, room, sizeof(room)) < 0 ||
	    redis_rooms_parse_message(m->payload, m->payload_len, &epoch, &seq, &ev, &len) < 0) {
		out("badmessage");
		return;
	}
	gpointer left = g_hash_table_lookup(P.drops, room);
	if (left != NULL) {
		unsigned n = GPOINTER_TO_UINT(left) - 1;
		if (n == 0)
			g_hash_table_remove(P.drops, room);
		else
			g_hash_table_insert(P.drops, g_strdup(room), GUINT_TO_POINTER(n));
		out("dropped %s %llu", room, (unsigned long long)seq);
		return;
	}
	gapfill_published(P.gap, room, epoch, seq, ev, len);
}

/* ---- the gap filler's calls -------------------------------------------- */

static void on_deliver(void *data, const char *room, uint64_t seq, const char *p, size_t len)
{
	(void)data;
	GString *s = g_string_new(NULL);
	json_string(s, p, len);
	out("deliver %s %llu %s", room, (unsigned long long)seq, s->str);
	g_string_free(s, TRUE);
}

static void on_truncated(void *data, const char *room, uint64_t first, uint64_t last)
{
	(void)data;
	out("truncated %s %llu %llu", room, (unsigned long long)first, (unsigned long long)last);
}

static void on_restarted(void *data, const char *room, uint64_t old_last)
{
	(void)data;
	out("restarted %s %llu", room, (unsigned long long)old_last);
}

struct gap_fetch {
	char *room;
	uint64_t token;
};

static void on_gap_range(int status, const struct redis_rooms_entry *e, size_t n, bool full,
			 const char *cause, void *data)
{
	struct gap_fetch *f = data;
	if (status < 0) {
		out("fetchfailed %s %s %s", f->room, status_name(status), cause);
		gapfill_fetch_failed(P.gap, f->room, f->token);
	} else {
		struct gapfill_entry *ge = g_new0(struct gapfill_entry, n + 1);
		for (size_t i = 0; i < n; i++)
			ge[i] = (struct gapfill_entry){ e[i].epoch, e[i].seq, e[i].event, e[i].len };
		out("fetched %s %zu", f->room, n);
		gapfill_fetched(P.gap, f->room, f->token, ge, n, full);
		g_free(ge);
	}
	g_free(f->room);
	g_free(f);
}

static int on_gap_fetch(void *data, const char *room, uint64_t from, uint64_t to, uint64_t token)
{
	(void)data;
	struct gap_fetch *f = g_new0(struct gap_fetch, 1);
	f->room = g_strdup(room);
	f->token = token;
	out("fetch %s %llu %llu", room, (unsigned long long)from, (unsigned long long)to);
	int rc = redis_rooms_fetch(&P.rooms, room, from, to, P.fetch_count, on_gap_range, f);
	if (rc < 0) {
		g_free(f->room);
		g_free(f);
	}
	return rc;
}

/* ---- commands from stdin ----------------------------------------------- */

static void on_cmd_reply(struct redis *r, int status, redisReply *x, void *data)
{
	unsigned id = GPOINTER_TO_UINT(data);
	(void)r;
	called(id);
	if (status < 0) {
		out("error %u %s %s", id, status_name(status), uv_strerror(status));
		return;
	}
	GString *s = g_string_new(NULL);
	json_reply(s, x);
	out("reply %u %s", id, s->str);
	g_string_free(s, TRUE);
}

static void on_published(int status, uint64_t epoch, uint64_t seq, bool dup, const char *cause,
			 void *data)
{
	unsigned id = GPOINTER_TO_UINT(data);
	called(id);
	if (status < 0)
		out("error %u %s %s", id, status_name(status), cause);
	else
		out("published %u %llu %d %llu", id, (unsigned long long)seq, dup,
		    (unsigned long long)epoch);
}

static void on_last(int status, uint64_t epoch, uint64_t seq, const char *cause, void *data)
{
	unsigned id = GPOINTER_TO_UINT(data);
	called(id);
	if (status < 0)
		out("error %u %s %s", id, status_name(status), cause);
	else
		out("last %u %llu %llu", id, (unsigned long long)seq, (unsigned long long)epoch);
}

static void on_range(int status, const struct redis_rooms_entry *e, size_t n, bool full,
		     const char *cause, void *data)
{
	unsigned id = GPOINTER_TO_UINT(data);
	called(id);
	if (status < 0) {
		out("error %u %s %s", id, status_name(status), cause);
		return;
	}
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "entries %u %zu %d", id, n, full);
	for (size_t i = 0; i < n; i++) {
		g_string_append_printf(s, " %llu ", (unsigned long long)e[i].seq);
		json_string(s, e[i].event, e[i].len);
	}
	out("%s", s->str);
	g_string_free(s, TRUE);
}

static void on_claim(int status, bool granted, void *data)
{
	unsigned id = GPOINTER_TO_UINT(data);
	called(id);
	if (status < 0)
		out("claim %u error %s", id, status_name(status));
	else
		out("claim %u %s", id, granted ? "granted" : "refused");
}

static void on_lost(void *data, const char *skeleton, uint64_t conn_id)
{
	(void)data;
	out("lost %s %llu", skeleton, (unsigned long long)conn_id);
}

/* Decodes %XX in place; returns the length (a %00 is a byte too). */
static size_t decode_word(char *w)
{
	char *o = w;
	for (char *p = w; *p != '\0'; p++) {
		unsigned v;
		if (p[0] == '%' && p[1] != '\0' && p[2] != '\0' && sscanf(p + 1, "%2x", &v) == 1) {
			*o++ = (char)v;
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return (size_t)(o - w);
}

static void quit(void)
{
	if (P.quitting)
		return;
	P.quitting = true;
	uv_close((uv_handle_t *)&P.in, NULL);
	pseudoclaim_close(P.claims);
	redis_close(P.cmd);
	redis_close(P.sub);
}

static bool take_id(char **w, int n, int need, unsigned *id)
{
	if (n < need) {
		out("usage");
		return false;
	}
	*id = (unsigned)strtoul(w[1], NULL, 10);
	if (*id >= PROBE_MAX_IDS)
		return false;
	P.asked[*id] = true;
	return true;
}

static void run_line(char *line)
{
	char *w[64];
	int n = 0;
	char *rest = NULL;
	char *p = line;
	while (*p != '\0' && n < 64) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if (n == 4 && strcmp(w[0], "publish") == 0) {
			rest = p; /* the text: the rest of the line */
			break;
		}
		w[n++] = p;
		p += strcspn(p, " ");
		if (*p == ' ')
			*p++ = '\0';
	}
	if (n == 0)
		return;
	unsigned id;
	int rc = 0;
	if (strcmp(w[0], "cmd") == 0 && take_id(w, n, 3, &id)) {
		size_t len[64];
		for (int i = 2; i < n; i++)
			len[i] = decode_word(w[i]);
		rc = redis_command_argv(P.cmd, n - 2, (const char **)w + 2, len + 2, on_cmd_reply,
					GUINT_TO_POINTER(id));
	} else if (strcmp(w[0], "publish") == 0 && take_id(w, n, 4, &id)) {
		const char *text = rest != NULL ? rest : "";
		rc = redis_rooms_publish(&P.rooms, w[2], strcmp(w[3], "-") == 0 ? NULL : w[3],
					 text, strlen(text), on_published, GUINT_TO_POINTER(id));
	} else if (strcmp(w[0], "fetch") == 0 && take_id(w, n, 6, &id)) {
		rc = redis_rooms_fetch(&P.rooms, w[2], strtoull(w[3], NULL, 10),
				       strtoull(w[4], NULL, 10), (unsigned)strtoul(w[5], NULL, 10),
				       on_range, GUINT_TO_POINTER(id));
	} else if (strcmp(w[0], "follow") == 0 && n >= 3) {
		char chan[REDIS_ROOMS_KEY_MAX];
		gapfill_follow(P.gap, w[1], 0, strtoull(w[2], NULL, 10));
		redis_rooms_key(chan, sizeof(chan), w[1], ":events");
		redis_subscribe(P.sub, chan, false, NULL, NULL);
		out("following %s", w[1]);
	} else if (strcmp(w[0], "last") == 0 && take_id(w, n, 3, &id)) {
		rc = redis_rooms_last(&P.rooms, w[2], on_last, GUINT_TO_POINTER(id));
	} else if (strcmp(w[0], "drop") == 0 && n >= 3) {
		g_hash_table_insert(P.drops, g_strdup(w[1]),
				    GUINT_TO_POINTER((unsigned)strtoul(w[2], NULL, 10)));
	} else if (strcmp(w[0], "claim") == 0 && take_id(w, n, 4, &id)) {
		rc = pseudoclaim_take(P.claims, w[2], strtoull(w[3], NULL, 10), on_claim,
				      GUINT_TO_POINTER(id));
	} else if (strcmp(w[0], "release") == 0 && n >= 3) {
		pseudoclaim_release(P.claims, w[1], strtoull(w[2], NULL, 10));
	} else if (strcmp(w[0], "pending") == 0) {
		out("pending %zu", redis_pending_count(P.cmd));
	} else if (strcmp(w[0], "quit") == 0) {
		quit();
	} else {
		out("unknown %s", w[0]);
	}
	if (rc < 0) {
		/* Refused: no callback will come. */
		P.asked[id] = false;
		out("refused %u %s", id, status_name(rc));
	}
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	static char chunk[65536];
	(void)h;
	(void)hint;
	*buf = uv_buf_init(chunk, sizeof(chunk));
}

static void on_stdin(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	(void)s;
	if (nread < 0) {
		quit();
		return;
	}
	for (ssize_t i = 0; i < nread && !P.quitting; i++) {
		char c = buf->base[i];
		if (c == '\n') {
			P.line[P.line_len] = '\0';
			P.line_len = 0;
			run_line(P.line);
		} else if (P.line_len + 1 < PROBE_LINE_MAX) {
			P.line[P.line_len++] = c;
		}
	}
}

int main(int argc, char **argv)
{
	struct redis_options o;
	size_t max_held = 1000;
	unsigned long stream_max = 1000;
	uint64_t claim_ttl = 3000;
	memset(&o, 0, sizeof(o));
	redis_options_default(&o);
	P.fetch_count = 100;
	int opt;
	while ((opt = getopt(argc, argv, "c:t:i:b:B:m:n:s:H:T:q:P:")) != -1) {
		unsigned long long v = optarg != NULL ? strtoull(optarg, NULL, 10) : 0;
		switch (opt) {
		case 'c': o.connect_timeout_ms = v; break;
		case 't': o.command_timeout_ms = v; break;
		case 'i': o.ping_interval_ms = v; break;
		case 'b': o.backoff_min_ms = v; break;
		case 'B': o.backoff_max_ms = v; break;
		case 'm': o.max_reply_bytes = v; break;
		case 'n': P.fetch_count = (unsigned)v; break;
		case 's': stream_max = v; break;
		case 'H': max_held = v; break;
		case 'T': claim_ttl = v; break;
		case 'q': o.max_queue_bytes = v; break;
		case 'P': o.max_pending = v; break;
		default: return 2;
		}
	}
	const char *cause;
	if (optind >= argc || redis_url_parse(argv[optind], &o.url, &cause) < 0) {
		fprintf(stderr, "redis_probe: %s\n", optind >= argc ? "URL?" : cause);
		return 2;
	}
	P.loop = uv_default_loop();
	P.line = malloc(PROBE_LINE_MAX);
	P.drops = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	const struct redis_events ev = { on_ready, on_down, on_message };
	const struct gapfill_callbacks gcb = { on_deliver, on_truncated, on_restarted, on_gap_fetch };
	P.gap = gapfill_new(&gcb, NULL, max_held, 1u << 20);
	o.name = "cmd";
	redis_open(&P.cmd, P.loop, &o, &ev, NULL);
	if (redis_rooms_init(&P.rooms, P.cmd, stream_max, 60) < 0)
		return 1;
	o.name = "sub";
	o.subscriber = true;
	redis_open(&P.sub, P.loop, &o, &ev, NULL);
	pseudoclaim_new(&P.claims, P.loop, P.cmd, "probe", claim_ttl, on_lost, NULL);
	uv_pipe_init(P.loop, &P.in, 0);
	uv_pipe_open(&P.in, 0);
	uv_read_start((uv_stream_t *)&P.in, on_alloc, on_stdin);
	uv_run(P.loop, UV_RUN_DEFAULT);
	int missing = 0;
	for (unsigned i = 0; i < PROBE_MAX_IDS; i++)
		if (P.asked[i] && P.calls[i] == 0) {
			out("missing %u", i);
			missing++;
		}
	out("closed");
	gapfill_free(P.gap);
	g_hash_table_destroy(P.drops);
	free(P.line);
	int rc = uv_loop_close(P.loop);
	if (rc != 0)
		out("loop not closed: %s", uv_err_name(rc));
	return missing > 0 || rc != 0 ? 1 : 0;
}
