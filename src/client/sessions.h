/*
 * sessions: the resume tokens kept between runs of the client, so that
 * quitting and launching again within the server's grace period brings
 * you back as yourself (the course's bonus: "Welcome back alice !" for you,
 * "alice est de retour !" for the others) instead of finding your pseudo
 * held for your own interrupted session.
 *
 * One line per server ("address:port", as given) and pseudo:
 *
 *     SERVER <TAB> PSEUDO <TAB> TOKEN (64 hex digits) <LF>
 *
 * in $XDG_STATE_HOME/chatroom/sessions, else ~/.local/state/chatroom/
 * sessions. A token lets whoever holds it speak as you for a few minutes,
 * so the directory is made 0700 and the file 0600, and the file is never
 * written in place: a new one is written beside it and renamed over it.
 * The newest SESSIONS_MAX entries are kept. No I/O but on the file: the
 * session decides when to read and write.
 */
#ifndef CHATROOM_SESSIONS_H
#define CHATROOM_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "wire.h"

#define SESSIONS_MAX 64
/* A file larger than this is not ours: it is read no further. */
#define SESSIONS_FILE_MAX (64 * 1024)

/* The file's path into buf; NULL when neither XDG_STATE_HOME nor HOME is
 * set. */
const char *sessions_path(char *buf, size_t len);

/* The token kept for that server and pseudo; false when there is none. */
bool sessions_find(const char *path, const char *server, const char *pseudo,
		   unsigned char token[WIRE_TOKEN_LEN]);

/* Keeps (or replaces) the token for that server and pseudo; token NULL
 * forgets it. 0, or a negative errno. */
int sessions_store(const char *path, const char *server, const char *pseudo,
		   const unsigned char token[WIRE_TOKEN_LEN]);

#endif
