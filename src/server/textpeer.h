/*
 * textpeer: the course's text protocol as a protocol handler (proto.h),
 * what nc, telnet and the course's Python clients speak: lines in (a
 * greeting, a pseudo, a command, a message), lines out. The wire strings
 * are core/textproto.h's; the commands are commands.c's table; the chat's
 * work is the hub's.
 *
 * Per peer it keeps a line reader (c->proto_data), made by on_start and
 * freed by on_stop.
 */
#ifndef CHATROOM_TEXTPEER_H
#define CHATROOM_TEXTPEER_H

#include "proto.h"

extern const struct proto_ops textpeer_proto;

#endif
