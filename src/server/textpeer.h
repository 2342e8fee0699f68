/*
 * textpeer: what a line from a text-protocol peer (nc, telnet, the
 * course's Python clients) means, and how a room's history is told to one.
 * The wire strings are in textproto.h; the shared work is the hub's.
 */
#ifndef CHATROOM_TEXTPEER_H
#define CHATROOM_TEXTPEER_H

#include <stddef.h>

struct conn;
struct hub;
struct room;

/* A complete line (no '\n') from a text peer, exactly as received. */
void textpeer_on_line(struct hub *h, struct conn *c, const char *line, size_t len);

/* The room's recent events as plain lines between two notices. */
void textpeer_send_history(struct hub *h, struct conn *c, struct room *room);

#endif
