#include "hub.h"

#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "frame.h"
#include "log.h"
#include "sanitize.h"
#include "textproto.h"

void hub_init(struct hub *h, char *clean_buf, size_t clean_cap)
{
	memset(h, 0, sizeof(*h));
	h->clean = clean_buf;
	h->clean_cap = clean_cap;
}

void hub_add(struct hub *h, struct conn *c)
{
	c->member = true;
	c->member_prev = NULL;
	c->member_next = h->members;
	if (h->members != NULL)
		h->members->member_prev = c;
	h->members = c;
	h->member_count++;
}

void hub_broadcast(struct hub *h, struct frame *f, const struct conn *except)
{
	if (f == NULL)
		return;
	/* conn_send never closes or frees a conn (it defers that to the
	 * flush), so the member links stay valid while we walk them. */
	for (struct conn *m = h->members; m != NULL; m = m->member_next)
		if (m != except)
			conn_send(m, f);
}

/* Sends one text line to everyone but `except`, encoded once. */
#define broadcast_line(h, except, ...)                                 \
	do {                                                           \
		struct frame *f_ = frame_printf(__VA_ARGS__);          \
		hub_broadcast((h), f_, (except));                      \
		frame_unref(f_);                                       \
	} while (0)

#define reply_line(c, ...)                                             \
	do {                                                           \
		struct frame *f_ = frame_printf(__VA_ARGS__);          \
		if (f_ != NULL)                                        \
			conn_send((c), f_);                            \
		frame_unref(f_);                                       \
	} while (0)

void hub_remove(struct hub *h, struct conn *c)
{
	if (!c->member)
		return;
	if (c->member_prev != NULL)
		c->member_prev->member_next = c->member_next;
	else
		h->members = c->member_next;
	if (c->member_next != NULL)
		c->member_next->member_prev = c->member_prev;
	c->member = false;
	c->member_prev = c->member_next = NULL;
	h->member_count--;

	/* Only a departure whose arrival was announced is announced. */
	if (c->has_pseudo && !h->quiet) {
		log_info("%s (%s) left the chatroom", c->pseudo, c->addr);
		broadcast_line(h, c, TEXT_LEFT "\n", c->pseudo);
	}
}

static bool pseudo_taken(const struct hub *h, const char *pseudo, size_t len)
{
	for (const struct conn *m = h->members; m != NULL; m = m->member_next)
		if (m->has_pseudo && strlen(m->pseudo) == len &&
		    memcmp(m->pseudo, pseudo, len) == 0)
			return true;
	return false;
}

static void take_pseudo(struct hub *h, struct conn *c, const char *pseudo,
			size_t len)
{
	const char *cause;
	if (textproto_check_pseudo(pseudo, len, &cause) < 0) {
		reply_line(c, TEXT_ERROR "\n", cause);
		return;
	}
	if (pseudo_taken(h, pseudo, len)) {
		char why[80];
		snprintf(why, sizeof(why), "le pseudo %.*s est déjà pris",
			 (int)len, pseudo);
		reply_line(c, TEXT_ERROR "\n", why);
		return;
	}
	memcpy(c->pseudo, pseudo, len);
	c->pseudo[len] = '\0';
	c->has_pseudo = true;
	log_info("%s joined the chatroom as %s", c->addr, c->pseudo);
	/* Everyone, the newcomer included: it confirms the pseudo. */
	broadcast_line(h, NULL, TEXT_JOINED "\n", c->pseudo);
}

void hub_on_line(struct hub *h, struct conn *c, const char *line, size_t len)
{
	/* Everything below works on text that is safe for any terminal. */
	size_t n = sanitize_text(line, len, h->clean, h->clean_cap, 0);
	const char *text = h->clean;

	log_info(TEXT_RECEIVED, c->ip, c->port, (int)n, text);

	if (!c->has_pseudo) {
		/* Until it has a pseudo a peer may greet or pick one, as the
		 * course's clients do with their first message. The raw line
		 * is parsed so a bad pseudo is refused, not silently mended. */
		struct text_msg msg;
		textproto_parse_first(line, len, &msg);
		if (msg.kind == TEXT_HELLO) {
			reply_line(c, TEXT_HELLO_REPLY "\n", c->ip, c->port);
			return;
		}
		if (msg.kind == TEXT_HELLO_PSEUDO) {
			take_pseudo(h, c, msg.text, msg.len);
			return;
		}
	}
	broadcast_line(h, c, TEXT_SAID "\n", conn_label(c), (int)n, text);
}
