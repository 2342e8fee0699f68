/*
 * identity: the user's secret identity (issue 16), 32 random bytes in
 * $XDG_STATE_HOME/chatroom/identity (else ~/.local/state/chatroom/),
 * made on first run: the directory 0700, the file 0600. The client sends
 * it at every hello; the server keeps only its SHA-256, and a pseudo it
 * owns cannot be taken by anybody else, after a server restart too.
 */
#ifndef CHATROOM_IDENTITY_H
#define CHATROOM_IDENTITY_H

#include <stddef.h>

#include "wire.h"

/* Reads the identity, or makes it. 0, or a negative errno (no state
 * directory, an unreadable or malformed file: the client goes without). */
int identity_load(unsigned char out[WIRE_TOKEN_LEN], char *path, size_t path_cap);

#endif
