/*
 * picture: a picture sent by a binary peer (IMAGE), checked again (never
 * trust the client), decoded and drawn in ASCII for text peers off the
 * loop thread, then published to the room it was sent from.
 *
 * Order is kept per sender: while one of its pictures is being decoded,
 * what it says next (messages, more pictures) waits in its queue and is
 * published after the picture, as it was sent. The queue keeps the conn's
 * memory (conn_job_begin) until it is empty, even if the peer has gone.
 */
#ifndef CHATROOM_PICTURE_H
#define CHATROOM_PICTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "wire.h"

struct hub;
struct conn;

/* Columns of the drawing text peers (and the history) get. */
#define PICTURE_ASCII_COLS 60
/* Pictures being decoded at once, server-wide; more wait their turn. */
#define PICTURE_MAX_JOBS 4
/* What one sender may have waiting behind its picture. */
#define PICTURE_MAX_WAITING 64

void picture_receive(struct hub *h, struct conn *c, const struct wire_msg *m);

/* A message checked and cleaned, to be published: false when nothing of
 * c's waits (publish it now), true when it was queued behind a picture. */
bool picture_hold_message(struct conn *c, const char *text, size_t len);

/* Pictures still being decoded (the server stops once there are none). */
unsigned picture_jobs_running(void);

#endif
