#include "usercmds.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "bus.h"
#include "conn.h"
#include "hub.h"
#include "identities.h"
#include "log.h"
#include "moderation.h"
#include "names.h"
#include "sanitize.h"
#include "server_config.h"
#include "social.h"
#include "textlog.h"
#include "textproto.h"

/* A refusal's words, formatted. */
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

__attribute__((format(printf, 2, 3)))
static void tell(struct conn *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->proto->send_info(c, CHAT_INFO_LINE, line);
}

/* These commands speak for somebody: a peer without a pseudo is told
 * how to get one. */
static bool named(struct conn *c)
{
	if (!c->has_pseudo)
		conn_error(c, CHAT_ERR_REFUSED, TEXT_ERR_NEEDS_PSEUDO);
	return c->has_pseudo;
}

/* The text, safe for any terminal, in the hub's scratch space (the raw
 * line it came from is elsewhere). */
static const char *clean_text(struct hub *h, const char *text, size_t len, size_t *out_len)
{
	*out_len = sanitize_text(text, len, h->clean, h->clean_cap, 0);
	return h->clean;
}

/* "PSEUDO rest": the first word and what follows it. */
static bool split(const char *arg, size_t len, size_t *word_len, const char **rest,
		  size_t *rest_len)
{
	const char *space = memchr(arg, ' ', len);
	if (space == NULL)
		return false;
	*word_len = (size_t)(space - arg);
	*rest = space + 1;
	*rest_len = len - *word_len - 1;
	while (*rest_len > 0 && (*rest)[0] == ' ')
		(*rest)++, (*rest_len)--;
	return *word_len > 0 && *rest_len > 0;
}

/* The named peer present as `pseudo`; NULL when it is not here: raw (a
 * private message; NULL for none) went to another server's user of that
 * name (the bus answers c), or c is refused. */
static struct conn *target(struct hub *h, struct conn *c, const char *pseudo, size_t len,
			   const char *raw, size_t raw_len)
{
	struct conn *to = hub_find_named(h, pseudo, len);
	if (to != NULL && !to->closing)
		return to;
	if (raw != NULL && h->bus != NULL && h->bus->ops->send_to != NULL) {
		size_t n;
		const char *text = clean_text(h, raw, raw_len, &n);
		if (h->bus->ops->send_to(h->bus, c, BUS_TO_PRIVATE, pseudo, len, text, n) == 0)
			return NULL;
	}
	refuse(c, TEXT_ERR_NO_SUCH_USER, (int)len, pseudo);
	return NULL;
}

static void send_private(struct hub *h, struct conn *c, struct conn *to, const char *raw,
			 size_t raw_len)
{
	if (to == c) {
		conn_error(c, CHAT_ERR_REFUSED, TEXT_ERR_TO_SELF);
		return;
	}
	size_t len;
	const char *text = clean_text(h, raw, raw_len, &len);
	int64_t now = clock_wall_ms();
	char skeleton[NAMES_SKELETON_MAX];
	uint64_t hash = names_skeleton(c->pseudo, strlen(c->pseudo), skeleton,
				       sizeof(skeleton)) == 0 ? social_hash(skeleton) : 0;
	/* Ignored: dropped without a word, as IRC does (the sender is not
	 * told whom it is ignored by). */
	if (!social_ignores(to, c->user_id, hash)) {
		to->proto->send_private(to, &(struct chat_private){
			.pseudo = c->pseudo, .colour = c->colour, .user_id = c->user_id,
			.text = text, .len = len, .sent = false, .time_ms = now});
		struct social *s = social_of(to);
		if (s != NULL)
			snprintf(s->reply_to, sizeof(s->reply_to), "%s", c->pseudo);
	}
	c->proto->send_private(c, &(struct chat_private){
		.pseudo = to->pseudo, .colour = to->colour, .user_id = to->user_id,
		.text = text, .len = len, .sent = true, .time_ms = now});
	const char *away = social_away(to);
	if (away != NULL)
		tell(c, TEXT_IS_AWAY, to->pseudo, away);
	if (c->set->cfg->log_private && h->chatlog != NULL) {
		char line[TEXT_MAX_LINE + 128];
		int n = snprintf(line, sizeof(line), "%s -> %s : %.*s", c->pseudo, to->pseudo,
				 (int)len, text);
		if (n > 0)
			textlog_line(h->chatlog, now, "[privé]", line,
				     (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	}
}

void usercmds_msg(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	size_t word;
	const char *text;
	size_t text_len;
	if (!named(c))
		return;
	if (!split(arg, len, &word, &text, &text_len)) {
		refuse(c, TEXT_ERR_USAGE, "/msg PSEUDO TEXTE");
		return;
	}
	struct conn *to = target(h, c, arg, word, text, text_len);
	if (to != NULL)
		send_private(h, c, to, text, text_len);
}

void usercmds_reply(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	if (!named(c))
		return;
	const struct social *social = conn_social(c);
	const char *who = social != NULL ? social->reply_to : "";
	if (who[0] == '\0') {
		conn_error(c, CHAT_ERR_REFUSED, TEXT_ERR_NO_REPLY);
		return;
	}
	struct conn *to = target(h, c, who, strlen(who), arg, len);
	if (to != NULL)
		send_private(h, c, to, arg, len);
}

void usercmds_me(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	if (!named(c) || moderation_muted(c))
		return;
	size_t n;
	const char *text = clean_text(h, arg, len, &n);
	int rc = hub_publish(h, c->room, &(struct event){
		.kind = EVENT_ACTION, .sender_id = c->user_id, .pseudo = c->pseudo,
		.colour = c->colour, .text = text, .text_len = n}, c->id);
	if (rc < 0)
		conn_error(c, CHAT_ERR_REFUSED, hub_unpublished_why(rc));
}

void usercmds_nick(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	if (!named(c))
		return;
	if (strlen(c->pseudo) == len && memcmp(c->pseudo, arg, len) == 0) {
		refuse(c, TEXT_ERR_SAME_PSEUDO, (int)len, arg);
		return;
	}
	char skeleton[NAMES_SKELETON_MAX], mine[NAMES_SKELETON_MAX], why[160];
	const char *cause;
	/* Another spelling of one's own pseudo ("Alice" for "alice") is no
	 * other user's. */
	bool respell = textproto_check_pseudo(arg, len, &cause) == 0 &&
		names_skeleton(arg, len, skeleton, sizeof(skeleton)) == 0 &&
		names_skeleton(c->pseudo, strlen(c->pseudo), mine, sizeof(mine)) == 0 &&
		strcmp(skeleton, mine) == 0;
	if (!respell && hub_check_pseudo(h, c, arg, len, skeleton, why, sizeof(why)) < 0) {
		conn_error(c, CHAT_ERR_REFUSED, why);
		return;
	}
	const unsigned char *owner = identities_owner(&h->identities, skeleton);
	const struct social *social = conn_social(c);
	if (owner != NULL && (social == NULL || !social->has_identity ||
			      memcmp(owner, social->identity, IDENTITIES_HASH_LEN) != 0)) {
		refuse(c, TEXT_ERR_PSEUDO_OWNED, (int)len, arg);
		return;
	}
	hub_rename(h, c, arg, len, skeleton);
}

void usercmds_away(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	if (!named(c))
		return;
	if (len > SOCIAL_AWAY_MAX) {
		refuse(c, TEXT_ERR_TEXT_TOO_LONG, SOCIAL_AWAY_MAX);
		return;
	}
	struct social *s = social_of(c);
	if (s == NULL) {
		conn_error(c, CHAT_ERR_REFUSED, TEXT_ERR_NO_MEMORY);
		return;
	}
	size_t n = 0;
	const char *text = arg != NULL ? clean_text(h, arg, len, &n) : "";
	if (n > SOCIAL_AWAY_MAX)
		n = SOCIAL_AWAY_MAX; /* a control character drawn wider */
	snprintf(s->away, sizeof(s->away), "%.*s", (int)n, text);
	if (n > 0)
		tell(c, TEXT_AWAY_ON, (int)n, text);
	else
		tell(c, TEXT_AWAY_OFF);
}

void usercmds_topic(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	if (arg == NULL) {
		if (c->room->topic[0] != '\0')
			hub_tell_topic(c, c->room);
		else
			tell(c, TEXT_NO_TOPIC, c->room->name);
		return;
	}
	if (!named(c))
		return;
	if (len > ROOM_TOPIC_MAX) {
		refuse(c, TEXT_ERR_TEXT_TOO_LONG, ROOM_TOPIC_MAX);
		return;
	}
	size_t n;
	const char *text = clean_text(h, arg, len, &n);
	if (n > ROOM_TOPIC_MAX)
		n = ROOM_TOPIC_MAX;
	hub_publish(h, c->room, &(struct event){
		.kind = EVENT_TOPIC, .sender_id = c->user_id, .pseudo = c->pseudo,
		.colour = c->colour, .text = text, .text_len = n}, 0);
}

void usercmds_ignore(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	if (arg == NULL) {
		usercmds_ignore_list(h, c, NULL, 0);
		return;
	}
	if (!named(c))
		return;
	const char *cause;
	char skeleton[NAMES_SKELETON_MAX], mine[NAMES_SKELETON_MAX];
	if (textproto_check_pseudo(arg, len, &cause) < 0 ||
	    names_skeleton(arg, len, skeleton, sizeof(skeleton)) < 0) {
		refuse(c, TEXT_ERR_NO_SUCH_USER, (int)len, arg);
		return;
	}
	if (names_skeleton(c->pseudo, strlen(c->pseudo), mine, sizeof(mine)) == 0 &&
	    strcmp(mine, skeleton) == 0) {
		conn_error(c, CHAT_ERR_REFUSED, TEXT_ERR_IGNORE_SELF);
		return;
	}
	/* Present: ignored as the user it is (whatever it is called next);
	 * absent: by its pseudo. */
	struct conn *who = hub_named_conn(h, skeleton);
	switch (social_ignore(c, who != NULL ? who->user_id : 0, social_hash(skeleton), arg, len)) {
	case -ENOSPC:
		refuse(c, TEXT_ERR_IGNORE_FULL, SOCIAL_IGNORE_MAX);
		return;
	case -ENOMEM:
		conn_error(c, CHAT_ERR_REFUSED, TEXT_ERR_NO_MEMORY);
		return;
	default:
		tell(c, TEXT_IGNORING, (int)len, arg);
	}
}

void usercmds_unignore(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	(void)h;
	char skeleton[NAMES_SKELETON_MAX];
	if (names_skeleton(arg, len, skeleton, sizeof(skeleton)) < 0 ||
	    social_unignore(c, social_hash(skeleton)) < 0) {
		refuse(c, TEXT_ERR_NOT_IGNORED, (int)len, arg);
		return;
	}
	tell(c, TEXT_UNIGNORED, (int)len, arg);
}

void usercmds_ignore_list(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	(void)h, (void)arg, (void)len;
	const struct social *s = conn_social(c);
	if (s == NULL || s->ignored_count == 0) {
		tell(c, TEXT_IGNORE_NONE);
		return;
	}
	char list[SOCIAL_IGNORE_MAX * (SOCIAL_PSEUDO_MAX + 2) + 1];
	size_t used = 0;
	list[0] = '\0';
	for (size_t i = 0; i < s->ignored_count; i++) {
		int n = snprintf(list + used, sizeof(list) - used, "%s%s", i > 0 ? ", " : "",
				 s->ignored[i].pseudo);
		if (n < 0 || (size_t)n >= sizeof(list) - used)
			break;
		used += (size_t)n;
	}
	char line[sizeof(list) + 32];
	snprintf(line, sizeof(line), TEXT_IGNORE_LIST, list);
	c->proto->send_info(c, CHAT_INFO_LINE, line);
}

/* "3 min", "12 s", "2 h 05". */
static void duration(char *buf, size_t cap, int64_t ms)
{
	int64_t s = ms / 1000;
	if (s < 60)
		snprintf(buf, cap, "%lld s", (long long)s);
	else if (s < 3600)
		snprintf(buf, cap, "%lld min", (long long)(s / 60));
	else
		snprintf(buf, cap, "%lld h %02lld", (long long)(s / 3600), (long long)(s / 60 % 60));
}

void usercmds_whois(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	struct conn *who = target(h, c, arg, len, NULL, 0);
	if (who == NULL)
		return;
	int64_t now = clock_ms();
	time_t since = (time_t)((clock_wall_ms() - (now - who->connected_ms)) / 1000);
	struct tm tm;
	localtime_r(&since, &tm);
	char at[16], idle[32];
	strftime(at, sizeof(at), "%H:%M", &tm);
	duration(idle, sizeof(idle), now - who->last_heard_ms);
	const char *away = social_away(who);
	/* The address is an operator's business only. */
	bool op = moderation_is_operator(c);
	tell(c, TEXT_WHOIS, who->pseudo, who->room->name, at, idle,
	     away != NULL ? TEXT_WHOIS_AWAY : "", away != NULL ? away : "",
	     op ? TEXT_WHOIS_ADDRESS : "", op ? conn_ip(who) : "");
}

static int hex_value(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
		: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The secret as the terminal client keeps it (its identity file): 64 hex
 * digits; its hash into out. */
static bool secret_hash(const char *hex, size_t len, unsigned char out[IDENTITIES_HASH_LEN])
{
	unsigned char secret[IDENTITIES_SECRET_LEN];
	if (len != 2 * IDENTITIES_SECRET_LEN)
		return false;
	for (size_t i = 0; i < IDENTITIES_SECRET_LEN; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		secret[i] = (unsigned char)(hi << 4 | lo);
	}
	identities_hash(secret, out);
	return true;
}

/* "/identify PSEUDO SECRET": a text peer's hello with proof. Without a
 * pseudo yet it takes PSEUDO (its owner's, or free: then owned from now
 * on); with one, PSEUDO must be it, and it becomes owned. */
void usercmds_identify(struct hub *h, struct conn *c, const char *arg, size_t len)
{
	size_t word, secret_len;
	const char *secret;
	unsigned char hash[IDENTITIES_HASH_LEN];
	if (!split(arg, len, &word, &secret, &secret_len)) {
		refuse(c, TEXT_ERR_USAGE, "/identify PSEUDO SECRET");
		return;
	}
	while (secret_len > 0 && secret[secret_len - 1] == ' ')
		secret_len--;
	if (!secret_hash(secret, secret_len, hash)) {
		conn_error(c, CHAT_ERR_REFUSED, TEXT_ERR_SECRET);
		return;
	}
	char skeleton[NAMES_SKELETON_MAX], why[160];
	const char *cause;
	if (textproto_check_pseudo(arg, word, &cause) < 0 ||
	    names_skeleton(arg, word, skeleton, sizeof(skeleton)) < 0) {
		conn_error(c, CHAT_ERR_REFUSED, TEXT_ERR_PSEUDO_BAD_CHAR);
		return;
	}
	const unsigned char *owner = identities_owner(&h->identities, skeleton);
	if (owner != NULL && memcmp(owner, hash, IDENTITIES_HASH_LEN) != 0) {
		refuse(c, TEXT_ERR_PSEUDO_OWNED, (int)word, arg);
		return;
	}
	if (c->has_pseudo) {
		char mine[NAMES_SKELETON_MAX];
		if (names_skeleton(c->pseudo, strlen(c->pseudo), mine, sizeof(mine)) < 0 ||
		    strcmp(mine, skeleton) != 0) {
			conn_error(c, CHAT_ERR_REFUSED, TEXT_ERR_NOT_YOURS);
			return;
		}
	} else if (hub_check_pseudo(h, c, arg, word, skeleton, why, sizeof(why)) < 0) {
		conn_error(c, CHAT_ERR_REFUSED, why);
		return;
	}
	struct social *s = social_of(c);
	if (s == NULL || (owner == NULL && c->has_pseudo &&
			  identities_claim(&h->identities, skeleton, c->pseudo, hash) < 0)) {
		conn_error(c, CHAT_ERR_REFUSED, TEXT_ERR_NO_MEMORY);
		return;
	}
	memcpy(s->identity, hash, IDENTITIES_HASH_LEN);
	s->has_identity = true;
	if (c->has_pseudo) {
		tell(c, TEXT_IDENTIFIED, c->pseudo);
		return;
	}
	hub_name(h, c, arg, word, skeleton, 0, -1);
	if (owner == NULL && identities_claim(&h->identities, skeleton, c->pseudo, hash) < 0)
		log_warn("identities: full, %s owns no pseudo", c->pseudo);
	log_info("%s joined the chatroom as %s (identified)", conn_addr(c), c->pseudo);
	c->proto->send_history(c, c->room, 0);
	hub_publish_presence(h, c, EVENT_JOIN);
	if (owner != NULL)
		tell(c, TEXT_WELCOME_BACK, c->pseudo);
	else
		tell(c, TEXT_IDENTIFIED, c->pseudo);
	hub_tell_topic(c, c->room);
}
