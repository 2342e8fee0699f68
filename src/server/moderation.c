#include "moderation.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bus.h"
#include "clock.h"
#include "conn.h"
#include "hub.h"
#include "identities.h"
#include "log.h"
#include "social.h"
#include "textproto.h"

struct ban {
	bool has_identity;
	unsigned char identity[IDENTITIES_HASH_LEN];
	char address[56];
	int64_t until_ms; /* wall clock; 0: never ends */
	char pseudo[TEXT_MAX_PSEUDO + 1];
	char reason[MODERATION_REASON_MAX + 1];
};

/* The server's one list of each (one server a process). */
static struct {
	unsigned char (*operators)[IDENTITIES_HASH_LEN];
	size_t operator_count;
	struct ban *bans;
	size_t ban_count;
	char *path;
} mod;

static bool parse_hex(const char *hex, size_t len, unsigned char *out, size_t n)
{
	if (len != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return false;
		out[i] = (unsigned char)v;
	}
	return true;
}

static void save(void)
{
	if (mod.path == NULL)
		return;
	GString *out = g_string_new(NULL);
	for (size_t i = 0; i < mod.ban_count; i++) {
		const struct ban *b = &mod.bans[i];
		if (b->has_identity)
			for (size_t k = 0; k < IDENTITIES_HASH_LEN; k++)
				g_string_append_printf(out, "%02x", b->identity[k]);
		else
			g_string_append(out, "-");
		g_string_append_printf(out, "\t%s\t%lld\t%s\t%s\n", b->address,
				       (long long)b->until_ms, b->pseudo, b->reason);
	}
	GString *tmp = g_string_new(mod.path);
	g_string_append(tmp, ".tmp");
	/* Made anew, never through a link planted in its place. */
	unlink(tmp->str);
	int fd = open(tmp->str, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	bool ok = fd >= 0 && write(fd, out->str, out->len) == (ssize_t)out->len &&
		  fsync(fd) == 0;
	if (fd >= 0)
		close(fd);
	if (!ok || rename(tmp->str, mod.path) < 0)
		log_warn("bans: cannot write %s: %s", mod.path, strerror(errno));
	g_string_free(tmp, TRUE);
	g_string_free(out, TRUE);
}

static void load_bans(const char *path)
{
	gchar *text = NULL;
	gsize len = 0;
	if (!g_file_get_contents(path, &text, &len, NULL))
		return;
	gchar **lines = g_strsplit(text, "\n", -1);
	for (gchar **l = lines; *l != NULL && mod.ban_count < MODERATION_BANS_MAX; l++) {
		gchar **f = g_strsplit(*l, "\t", 5);
		if (g_strv_length(f) == 5) {
			struct ban *b = &mod.bans[mod.ban_count];
			memset(b, 0, sizeof(*b));
			b->has_identity = parse_hex(f[0], strlen(f[0]), b->identity,
						    IDENTITIES_HASH_LEN);
			snprintf(b->address, sizeof(b->address), "%s", f[1]);
			b->until_ms = g_ascii_strtoll(f[2], NULL, 10);
			snprintf(b->pseudo, sizeof(b->pseudo), "%s", f[3]);
			snprintf(b->reason, sizeof(b->reason), "%s", f[4]);
			mod.ban_count++;
		}
		g_strfreev(f);
	}
	g_strfreev(lines);
	g_free(text);
}

int moderation_open(const char *operators, const char *history)
{
	mod.operators = calloc(MODERATION_OPERATORS_MAX, sizeof(*mod.operators));
	mod.bans = calloc(MODERATION_BANS_MAX, sizeof(*mod.bans));
	if (mod.operators == NULL || mod.bans == NULL)
		return -ENOMEM;
	if (history != NULL) {
		mod.path = g_strdup_printf("%s.bans", history);
		load_bans(mod.path);
	}
	if (operators == NULL)
		return 0;
	gchar *text = NULL;
	gsize len = 0;
	GError *err = NULL;
	if (!g_file_get_contents(operators, &text, &len, &err)) {
		log_error("cannot read the operators file %s: %s", operators, err->message);
		g_error_free(err);
		return -EIO;
	}
	gchar **lines = g_strsplit(text, "\n", -1);
	for (gchar **l = lines; *l != NULL; l++) {
		gchar *line = g_strstrip(*l);
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (mod.operator_count == MODERATION_OPERATORS_MAX ||
		    !parse_hex(line, strlen(line), mod.operators[mod.operator_count],
			       IDENTITIES_HASH_LEN))
			log_warn("operators: line skipped (not a SHA-256 in hex, or too many)");
		else
			mod.operator_count++;
	}
	g_strfreev(lines);
	g_free(text);
	log_info("operators: %zu", mod.operator_count);
	return 0;
}

void moderation_close(void)
{
	free(mod.operators);
	free(mod.bans);
	g_free(mod.path);
	memset(&mod, 0, sizeof(mod));
}

static const unsigned char *identity_of(const struct conn *c)
{
	const struct social *s = conn_social(c);
	return s != NULL && s->has_identity ? s->identity : NULL;
}

bool moderation_is_operator(const struct conn *c)
{
	const unsigned char *id = identity_of(c);
	for (size_t i = 0; id != NULL && i < mod.operator_count; i++)
		if (memcmp(mod.operators[i], id, IDENTITIES_HASH_LEN) == 0)
			return true;
	return false;
}

const char *moderation_banned(const struct conn *c, const unsigned char *identity)
{
	int64_t now = clock_wall_ms();
	if (identity == NULL)
		identity = identity_of(c);
	for (size_t i = 0; i < mod.ban_count; i++) {
		const struct ban *b = &mod.bans[i];
		if (b->until_ms != 0 && b->until_ms <= now)
			continue;
		if (strcmp(b->address, conn_addr_key(c)) == 0 ||
		    (b->has_identity && identity != NULL &&
		     memcmp(b->identity, identity, IDENTITIES_HASH_LEN) == 0))
			return b->reason[0] != '\0' ? b->reason : "sans raison donnée";
	}
	return NULL;
}

/* ---- the commands ------------------------------------------------------- */

__attribute__((format(printf, 2, 3)))
static void refuse(struct conn *c, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	conn_error(c, CHAT_ERR_REFUSED, why);
}

static void tell(struct conn *c, const char *line)
{
	c->proto->send_info(c, CHAT_INFO_LINE, line);
}

static int64_t duration_ms(const char *s, size_t len);

/* Not here: to another server's user (kick: the reason; mute: the
 * duration), through the bus; true when it answers c. */
static bool elsewhere(struct hub *h, struct conn *c, char kind, const char *pseudo,
		      size_t len, const char *rest, size_t rest_len)
{
	if (h->bus == NULL || h->bus->ops->send_to == NULL)
		return false;
	char text[MODERATION_REASON_MAX + 32];
	int n;
	if (kind == BUS_TO_MUTE) {
		int64_t ms = duration_ms(rest, rest_len);
		if (ms <= 0) {
			refuse(c, TEXT_ERR_USAGE, "/mute PSEUDO DURÉE (30s, 10m, 2h, 1j)");
			return true;
		}
		n = snprintf(text, sizeof(text), "%" PRId64 " %.*s", ms, (int)rest_len, rest);
	} else if (kind == BUS_TO_BAN) {
		/* "<ms, 0 for ever> <reason>" */
		const char *space = memchr(rest, ' ', rest_len);
		size_t first = space != NULL ? (size_t)(space - rest) : rest_len;
		int64_t ms = duration_ms(rest, first);
		if (ms > 0) {
			rest_len -= first;
			rest += first;
		}
		while (rest_len > 0 && rest[0] == ' ')
			rest++, rest_len--;
		n = snprintf(text, sizeof(text), "%" PRId64 " %.*s", ms > 0 ? ms : 0,
			     (int)(rest_len < MODERATION_REASON_MAX ? rest_len
				   : MODERATION_REASON_MAX), rest);
	} else {
		n = snprintf(text, sizeof(text), "%.*s", (int)(rest_len < MODERATION_REASON_MAX
			     ? rest_len : MODERATION_REASON_MAX), rest);
	}
	if (n < 0 || (size_t)n >= sizeof(text))
		return false;
	return h->bus->ops->send_to(h->bus, c, kind, pseudo, len, text, (size_t)n) == 0;
}

/* "PSEUDO [rest]": the operator's target, present; NULL after a refusal,
 * or when it went to another server (kind: BUS_TO_KICK, _MUTE or _BAN, 0 for
 * not there). */
static struct conn *operand(struct hub *h, struct conn *c, const char *arg, size_t len,
			    const char **rest, size_t *rest_len, char kind)
{
	if (!moderation_is_operator(c)) {
		conn_error(c, CHAT_ERR_REFUSED, TEXT_ERR_NOT_OPERATOR);
		return NULL;
	}
	const char *space = memchr(arg, ' ', len);
	size_t word = space != NULL ? (size_t)(space - arg) : len;
	*rest = space != NULL ? space + 1 : arg + len;
	*rest_len = len - (size_t)(*rest - arg);
	struct conn *who = hub_find_named(h, arg, word);
	if (who == NULL || who->closing) {
		if (kind == 0 || !elsewhere(h, c, kind, arg, word, *rest, *rest_len))
			refuse(c, TEXT_ERR_NO_SUCH_USER, (int)word, arg);
		return NULL;
	}
	return who;
}

/* "10s", "5m", "2h", "3j" or "3d", or seconds: ms, or -1. */
static int64_t duration_ms(const char *s, size_t len)
{
	if (len == 0 || len > 12)
		return -1;
	int64_t n = 0;
	size_t i = 0;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		n = n * 10 + (s[i] - '0');
	if (i == 0 || n == 0)
		return -1;
	int64_t unit = 1000;
	if (i + 1 == len) {
		switch (s[i]) {
		case 's': unit = 1000; break;
		case 'm': unit = 60 * 1000; break;
		case 'h': unit = 3600 * 1000; break;
		case 'j': case 'd': unit = 86400 * 1000; break;
		default: return -1;
		}
	} else if (i != len) {
		return -1;
	}
	return n * unit;
}

static void out(struct conn *who, bool banned, const char *by, const char *reason,
		size_t reason_len, const char *why)
{
	char line[512];
	if (reason_len == 0)
		reason = "sans raison donnée", reason_len = strlen(reason);
	if (banned)
		snprintf(line, sizeof(line), TEXT_BANNED_BY, by, (int)reason_len, reason);
	else
		snprintf(line, sizeof(line), TEXT_KICKED, by, (int)reason_len, reason);
	conn_refuse(who, CHAT_ERR_REFUSED, line, why);
}

void moderation_kick(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	const char *reason;
	size_t reason_len;
	struct conn *who = operand(h, c, arg, len, &reason, &reason_len, BUS_TO_KICK);
	if (who == NULL)
		return;
	log_info("%s kicked %s", c->pseudo, who->pseudo);
	out(who, false, c->pseudo, reason, reason_len, "kicked");
}

void moderation_mute(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	const char *rest;
	size_t rest_len;
	struct conn *who = operand(h, c, arg, len, &rest, &rest_len, BUS_TO_MUTE);
	if (who == NULL)
		return;
	int64_t ms = duration_ms(rest, rest_len);
	struct social *s = ms > 0 ? social_of(who) : NULL;
	if (s == NULL) {
		refuse(c, TEXT_ERR_USAGE, "/mute PSEUDO DURÉE (30s, 10m, 2h, 1j)");
		return;
	}
	s->muted_until_ms = clock_ms() + ms;
	char line[256];
	snprintf(line, sizeof(line), TEXT_MUTED, c->pseudo, (int)rest_len, rest);
	tell(who, line);
	snprintf(line, sizeof(line), TEXT_MUTE_DONE, who->pseudo, (int)rest_len, rest);
	tell(c, line);
}

void moderation_kick_here(struct conn *who, const char *by, const char *reason, size_t len)
{
	out(who, false, by, reason, len, "kicked");
}

void moderation_mute_here(struct conn *who, const char *by, int64_t ms, const char *typed,
			  size_t typed_len)
{
	struct social *s = social_of(who);
	if (s == NULL)
		return;
	s->muted_until_ms = clock_ms() + ms;
	char line[256];
	snprintf(line, sizeof(line), TEXT_MUTED, by, (int)typed_len, typed);
	tell(who, line);
}

void moderation_mute_done(struct conn *c, const char *pseudo, const char *typed, size_t len)
{
	/* typed: "<ms> <duration as typed>" as sent */
	const char *space = memchr(typed, ' ', len);
	size_t skip = space != NULL ? (size_t)(space + 1 - typed) : 0;
	char line[256];
	snprintf(line, sizeof(line), TEXT_MUTE_DONE, pseudo, (int)(len - skip), typed + skip);
	tell(c, line);
}

bool moderation_muted(struct conn *c)
{
	const struct social *s = conn_social(c);
	if (s == NULL || s->muted_until_ms <= clock_ms())
		return false;
	conn_error(c, CHAT_ERR_REFUSED, TEXT_ERR_MUTED);
	return true;
}

/* Records the ban of who (ms 0: for ever) and puts who out. */
static void ban(struct conn *who, const char *by, int64_t ms, const char *rest,
		size_t rest_len)
{
	struct ban *b = &mod.bans[mod.ban_count++];
	memset(b, 0, sizeof(*b));
	const unsigned char *id = identity_of(who);
	b->has_identity = id != NULL;
	if (id != NULL)
		memcpy(b->identity, id, IDENTITIES_HASH_LEN);
	snprintf(b->address, sizeof(b->address), "%s", conn_addr_key(who));
	b->until_ms = ms > 0 ? clock_wall_ms() + ms : 0;
	snprintf(b->pseudo, sizeof(b->pseudo), "%s", who->pseudo);
	size_t n = rest_len < MODERATION_REASON_MAX ? rest_len : MODERATION_REASON_MAX;
	for (size_t i = 0; i < n; i++)
		b->reason[i] = rest[i] == '\t' ? ' ' : rest[i];
	b->reason[n] = '\0';
	save();
	log_info("%s banned %s (%s)", by, who->pseudo, conn_addr_key(who));
	out(who, true, by, b->reason, strlen(b->reason), "banned");
}

void moderation_ban(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	const char *rest;
	size_t rest_len;
	struct conn *who = operand(h, c, arg, len, &rest, &rest_len, BUS_TO_BAN);
	if (who == NULL)
		return;
	if (mod.ban_count == MODERATION_BANS_MAX) {
		refuse(c, TEXT_ERR_BANS_FULL, MODERATION_BANS_MAX);
		return;
	}
	/* An optional duration first, then the reason. */
	const char *space = memchr(rest, ' ', rest_len);
	size_t first = space != NULL ? (size_t)(space - rest) : rest_len;
	int64_t ms = duration_ms(rest, first);
	if (ms > 0 && space != NULL) {
		rest_len -= first + 1;
		rest = space + 1;
	} else if (ms > 0) {
		rest += first;
		rest_len = 0;
	}
	while (rest_len > 0 && rest[0] == ' ')
		rest++, rest_len--;
	ban(who, c->pseudo, ms, rest, rest_len);
}

void moderation_ban_here(struct conn *who, const char *by, int64_t ms, const char *reason,
			 size_t len)
{
	if (mod.ban_count == MODERATION_BANS_MAX) {
		/* Full: put out all the same, as a kick. */
		log_warn("bans: full (%d): %s's ban by %s kept as a kick", MODERATION_BANS_MAX,
			 who->pseudo, by);
		out(who, false, by, reason, len, "kicked");
		return;
	}
	ban(who, by, ms, reason, len);
}

void moderation_unban(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	(void)h;
	if (!moderation_is_operator(c)) {
		conn_error(c, CHAT_ERR_REFUSED, TEXT_ERR_NOT_OPERATOR);
		return;
	}
	size_t removed = 0;
	for (size_t i = 0; i < mod.ban_count;) {
		if (strlen(mod.bans[i].pseudo) == len &&
		    strncasecmp(mod.bans[i].pseudo, arg, len) == 0) {
			mod.bans[i] = mod.bans[--mod.ban_count];
			removed++;
		} else {
			i++;
		}
	}
	if (removed == 0) {
		refuse(c, TEXT_ERR_NOT_BANNED, (int)len, arg);
		return;
	}
	save();
	char line[128];
	snprintf(line, sizeof(line), TEXT_UNBANNED, (int)len, arg);
	tell(c, line);
}

void moderation_bans(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	(void)h, (void)arg, (void)len;
	if (!moderation_is_operator(c)) {
		conn_error(c, CHAT_ERR_REFUSED, TEXT_ERR_NOT_OPERATOR);
		return;
	}
	GString *list = g_string_new(TEXT_BANS);
	int64_t now = clock_wall_ms();
	size_t shown = 0;
	for (size_t i = 0; i < mod.ban_count && list->len < 1500; i++) {
		const struct ban *b = &mod.bans[i];
		if (b->until_ms != 0 && b->until_ms <= now)
			continue;
		g_string_append_printf(list, "%s%s (%s)", shown++ ? ", " : "", b->pseudo,
				       b->reason[0] != '\0' ? b->reason : "sans raison donnée");
	}
	if (shown == 0)
		g_string_append(list, "personne");
	tell(c, list->str);
	g_string_free(list, TRUE);
}
