/*
 * hub: the chat itself. It knows who is in the chatroom, what a line from
 * a peer means (greeting, pseudo, message) and relays each message, encoded
 * once, to every other member.
 *
 * hub.c owns the membership list (the member_* links inside struct conn);
 * it never frees a conn.
 */
#ifndef CHATROOM_HUB_H
#define CHATROOM_HUB_H

#include <stdbool.h>
#include <stddef.h>

struct conn;
struct frame;

struct hub {
	struct conn *members;
	size_t member_count;
	/* Set while the server stops: departures are no longer announced. */
	bool quiet;
	/* Scratch space for one sanitised line. */
	char *clean;
	size_t clean_cap;
};

void hub_init(struct hub *h, char *clean_buf, size_t clean_cap);

void hub_add(struct hub *h, struct conn *c);
/* Takes c out of the chatroom and tells the others if it had joined. */
void hub_remove(struct hub *h, struct conn *c);

/* A complete line (no '\n') from c, exactly as received. */
void hub_on_line(struct hub *h, struct conn *c, const char *line, size_t len);

/* Sends f to every member but `except` (which may be NULL). */
void hub_broadcast(struct hub *h, struct frame *f, const struct conn *except);

#endif
