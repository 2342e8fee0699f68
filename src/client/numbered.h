/*
 * numbered: the session's side of numbered messages (issue 19). A server
 * that says so in its WELCOME (WIRE_SERVER_ACKS) gets each SAY with the
 * next message id, kept in the session's outbox (outbox.h) until its ACK;
 * after a reconnection what was not acknowledged is said again, same ids,
 * shown nothing twice. A server without acknowledgements gets SAYs as
 * before.
 */
#ifndef CHATROOM_NUMBERED_H
#define CHATROOM_NUMBERED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct client_app;

/* The session starts: ids from a random point (outbox.h). */
void numbered_init(struct client_app *app);
/* The id for a message about to be said in room (0: none; a full outbox
 * is told to the user). */
uint64_t numbered_id(struct client_app *app, struct wire_str room, const char *text,
		     size_t len);
/* Welcomed (first time or again): what waits is said again. */
void numbered_welcomed(struct client_app *app, const struct wire_msg *welcome);
/* The session ends badly: what the server never confirmed is said (it
 * may be lost), on stderr. */
void numbered_end(struct client_app *app);
/* True when m was an ACK (then it is the outbox's only). */
bool numbered_frame(struct client_app *app, const struct wire_msg *m);

#endif
