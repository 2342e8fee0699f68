/*
 * jsonpeer: the browser's protocol (docs/protocol.md, "JSON"): one JSON
 * object a message, a line to it (web.c makes each WebSocket message one),
 * the same chat, commands, limits and flood control as the text and
 * binary protocols. Events are the history file's records
 * (event_json_frame), each with its room and id, so a page resumes
 * exactly where it left off.
 *
 * Per peer it keeps a line reader (c->proto_data), from on_start to
 * on_stop.
 */
#ifndef CHATROOM_JSONPEER_H
#define CHATROOM_JSONPEER_H

#include "proto.h"

extern const struct proto_ops jsonpeer_proto;

#endif
