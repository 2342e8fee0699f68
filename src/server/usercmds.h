/*
 * usercmds: the handlers of the chat commands people expect (issue 16):
 * /msg, /reply, /me, /nick, /away, /topic, /ignore, /unignore,
 * /ignore-list, /whois. Their rows are in commands.c's table, with the
 * others; each has the shape of struct command's run.
 *
 * A private message is no event: it goes from one conn to another through
 * their protocols (send_private), never to the room, never into the
 * history, into the conversation log only with --log-private. It reaches
 * its receiver in whatever room it is, on this server.
 */
#ifndef CHATROOM_USERCMDS_H
#define CHATROOM_USERCMDS_H

#include <stddef.h>

struct conn;
struct hub;

void usercmds_msg(struct hub *h, struct conn *c, const char *arg, size_t len);
void usercmds_reply(struct hub *h, struct conn *c, const char *arg, size_t len);
void usercmds_me(struct hub *h, struct conn *c, const char *arg, size_t len);
void usercmds_nick(struct hub *h, struct conn *c, const char *arg, size_t len);
void usercmds_away(struct hub *h, struct conn *c, const char *arg, size_t len);
void usercmds_topic(struct hub *h, struct conn *c, const char *arg, size_t len);
void usercmds_ignore(struct hub *h, struct conn *c, const char *arg, size_t len);
void usercmds_unignore(struct hub *h, struct conn *c, const char *arg, size_t len);
void usercmds_ignore_list(struct hub *h, struct conn *c, const char *arg, size_t len);
void usercmds_identify(struct hub *h, struct conn *c, const char *arg, size_t len);
void usercmds_whois(struct hub *h, struct conn *c, const char *arg, size_t len);

#endif
