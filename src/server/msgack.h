/*
 * msgack: a binary peer's numbered messages (issue 19). A SAY that carries
 * a message id is published with it and the sender's key; the bus says
 * when it is safe (bus.h's acked) and the peer gets ACK (message id, event
 * id); a retry of it (after a reconnection, here or on another server) is
 * acknowledged and not published again (idem.h, or Redis's `{R}:idem:`).
 *
 * msgack.c owns the table of the peers that may still get an ACK (conn id
 * -> conn): one entry per binary peer that numbered a message, taken out
 * when the peer stops.
 */
#ifndef CHATROOM_MSGACK_H
#define CHATROOM_MSGACK_H

#include <stddef.h>
#include <stdint.h>

struct conn;
struct hub;
struct room;

/* "i<24 hex>" (its identity's hash) or "p<24 hex>" (its pseudo's
 * skeleton's SHA-256): the same for the same user on every server. */
#define MSGACK_KEY_MAX 32

void msgack_sender_key(const struct conn *c, char out[MSGACK_KEY_MAX]);

/* Publishes what c said in room under msg_id (0: none, as hub_say). */
void msgack_say(struct hub *h, struct conn *c, struct room *room, const char *text,
		size_t len, uint64_t msg_id);
/* A numbered SAY refused (an ERROR told why): ACK with event id 0, so
 * that the client does not send it again (msg_id 0: nothing). */
void msgack_settle(struct conn *c, uint64_t msg_id);
/* The bus's acked hook (bus.h). */
void msgack_acked(void *data, uint64_t conn_id, uint64_t msg_id, uint64_t event_id);
/* c stops: no ACK reaches it any more. */
void msgack_forget(struct conn *c);
/* At the server's end: the table goes. */
void msgack_close(void);

#endif
