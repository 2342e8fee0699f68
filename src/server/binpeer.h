/*
 * binpeer: what a frame from a binary-protocol peer (the chatroom client)
 * means: hello and resume, messages, rooms, history, pings. The codec is
 * wire.h; the shared work is the hub's.
 */
#ifndef CHATROOM_BINPEER_H
#define CHATROOM_BINPEER_H

#include <stddef.h>
#include <stdint.h>

struct conn;
struct hub;
struct room;
struct wire_msg;

void binpeer_on_frame(struct hub *h, struct conn *c, const struct wire_msg *m);

/* after_id 0: the room's recent events as one HISTORY frame (JSON); else
 * each event after that id as its own frame (a resumed client's gap). */
/* A message of c's, already checked and cleaned, to room. */
void binpeer_publish_message(struct hub *h, struct conn *c, struct room *room,
			     const char *text, size_t len);

void binpeer_send_history(struct hub *h, struct conn *c, struct room *room,
			  uint64_t after_id);

#endif
