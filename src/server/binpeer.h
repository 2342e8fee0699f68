/*
 * binpeer: chatroom's binary protocol (core/wire.h, docs/protocol.md) as a
 * protocol handler (proto.h), what the chatroom client speaks: the hello
 * and resume, messages, pictures, rooms, history, pings. Frames that are
 * commands (ROOMS_ASK, WHO_ASK, JOIN) run the server's command table.
 *
 * Per peer it keeps (c->proto_data, from on_start to on_stop) the hello's
 * bytes read so far and the frame decoder, with what an unfinished large
 * frame holds (counted server-wide through conn_hold_input). The HISTORY
 * and FOUND frames it sends are binhistory.c's.
 */
#ifndef CHATROOM_BINPEER_H
#define CHATROOM_BINPEER_H

#include "proto.h"

extern const struct proto_ops binpeer_proto;

#endif
