/*
 * chatline: one thing the client shows, whatever mode it shows it in (the
 * full-screen UI, the simple line editor, plain stdout).
 *
 * The connection code fills a struct chat_line from what the server sent
 * (or from a local event) and hands it to the display; the display owns
 * nothing in it beyond the call. Every text field is already sanitised
 * (sanitize.h): valid UTF-8, no control bytes except '\n' inside text.
 */
#ifndef CHATROOM_CHATLINE_H
#define CHATROOM_CHATLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum chat_kind {
	CHAT_MESSAGE, /* "<pseudo> a dit : <text>" */
	CHAT_OWN,     /* "Vous avez dit : <text>" */
	CHAT_NOTICE,  /* server announcements: "Annonce : ...", "... est de retour !" */
	CHAT_INFO,    /* the client's own remarks: help, connection state */
	CHAT_ERROR,   /* errors from the server or the client */
	CHAT_IMAGE,   /* "<pseudo> a envoyé une image (W×H) :" then the picture */
	CHAT_ACTION,  /* "* <pseudo> <text>" (/me): text is the whole line */
	CHAT_PRIVATE, /* "<pseudo> a dit en privé : …" or its echo: the whole line */
};

struct chat_picture;

/* A room's name as a line carries it, sanitised (3 bytes a character at
 * most for 32 characters). */
#define CHAT_ROOM_MAX 100

struct chat_line {
	enum chat_kind kind;
	int64_t time_ms;    /* server's time, ms since the epoch; 0 if unknown */
	const char *pseudo; /* speaker, NULL when none */
	size_t pseudo_len;
	int colour;         /* the speaker's xterm-256 colour index, -1 for none */
	const char *text;
	size_t text_len;
	bool history;       /* replayed from the room's history */
	/* CHAT_IMAGE: text is what follows the pseudo (or the whole line
	 * when pseudo is NULL: our own picture). */
	const struct chat_picture *picture;
	/* The room it is of ("" when of none: the current window's). A
	 * copy, so that a line held or kept keeps it. */
	char room[CHAT_ROOM_MAX];
};

#endif
