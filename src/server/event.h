/*
 * event: one thing that happens in a room (a message, a picture, an
 * arrival, a departure, a return), as the hub, the history and the
 * encoders see it.
 *
 * A struct event only borrows its strings; a room keeps owned copies of
 * its last events (struct event_copy, room.c). Encoders turn an event into
 * the bytes of one wire format, once per broadcast.
 */
#ifndef CHATROOM_EVENT_H
#define CHATROOM_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct frame;

enum event_kind {
	EVENT_MESSAGE, /* "<pseudo> a dit : <text>" */
	EVENT_JOIN,    /* "Annonce : <pseudo> a rejoint ..." */
	EVENT_LEAVE,   /* "Annonce : <pseudo> a quitté ..." */
	EVENT_RETURN,  /* "<pseudo> est de retour !" */
	EVENT_IMAGE,   /* "<pseudo> a envoyé une image (W×H) :" and the picture */
	EVENT_ACTION,  /* "* <pseudo> <text>" (/me) */
	EVENT_NICK,    /* "Annonce : <pseudo> s'appelle désormais <text>" */
	EVENT_TOPIC,   /* "Annonce : <pseudo> a changé le sujet : <text>" */
};

/* Pictures up to this size are kept with the room's history (memory and
 * file); a larger one is remembered by its text drawing only. */
#define EVENT_IMAGE_KEEP_BYTES (256u * 1024)

struct event {
	enum event_kind kind;
	uint64_t id;        /* server-assigned, increasing over the server's life */
	int64_t time_ms;    /* when the server received it, ms since the epoch */
	uint64_t sender_id; /* 0 for an anonymous text peer */
	const char *pseudo; /* the sender's label: pseudo or "{IP}:{Port}" */
	int colour;         /* xterm-256 index, -1 none */
	const char *room;
	const char *text;   /* what was said (event_has_text); else empty or NULL */
	size_t text_len;
	bool default_room;  /* arrivals and departures of the default room use
			       the course's "la chatroom" wording */
	/* EVENT_IMAGE: text holds the picture drawn in ASCII rows. */
	const char *mime;   /* "image/png" or "image/jpeg" (static strings) */
	int width, height;
	const unsigned char *image; /* the file's bytes; NULL when not kept */
	size_t image_len;
	/* A message the sender numbered (issue 19; 0: none): the bus tells
	 * bus->acked once it is safe, and a retry of the same sender_key and
	 * msg_id is not published again. Publishing only; never kept. */
	uint64_t msg_id;
	const char *sender_key;
};

/* Said by somebody (a message or a picture): it has a text, counts as
 * conversation (a room with one is kept), and is no mere arrival or
 * departure. */
static inline bool event_has_text(const struct event *ev)
{
	return ev->kind == EVENT_MESSAGE || ev->kind == EVENT_IMAGE || ev->kind == EVENT_ACTION;
}

/* It has a text to keep (history file, copies): what was said, a new
 * pseudo (EVENT_NICK), a topic (EVENT_TOPIC). */
static inline bool event_keeps_text(const struct event *ev)
{
	return event_has_text(ev) || ev->kind == EVENT_NICK || ev->kind == EVENT_TOPIC;
}

/* An event whose strings it owns, as kept in a room's history. */
struct event_copy {
	struct event ev;
	char *strings; /* one allocation: pseudo, room, text */
};

int event_copy_init(struct event_copy *c, const struct event *ev);
void event_copy_free(struct event_copy *c);

/* The formats events are encoded in, each at most once per broadcast: a
 * protocol reads one of them (proto.h's proto_ops.format), and several
 * protocols may share one. A new format is a value here and its encoder
 * in event_encode. */
enum event_format {
	EVENT_FORMAT_TEXT, /* event_text_frame: the course's lines */
	EVENT_FORMAT_WIRE, /* event_wire_frame: the binary protocol's frames */
	EVENT_FORMAT_JSON, /* event_json_frame: the browser's (jsonpeer.c) */
	EVENT_FORMATS
};

/* The event in that format (a new frame, one reference); NULL on ENOMEM. */
struct frame *event_encode(const struct event *ev, enum event_format format);

/* The text protocol's line for an event, '\n' included; NULL on ENOMEM. */
struct frame *event_text_frame(const struct event *ev);
/* The same as a history line: "[hh:mm] " (server local time) first. */
struct frame *event_text_history_frame(const struct event *ev);
/* The binary protocol's MESSAGE or NOTICE frame for an event. */
struct frame *event_wire_frame(const struct event *ev);

struct buffer;
/* The event as one JSON object and '\n' (the history file's record, the
 * browser's event): a picture's bytes in base64 when it has them and they
 * are at most max_image_bytes. */
void event_json(struct buffer *buf, const struct event *ev, size_t max_image_bytes);
/* The same as a frame, with the whole picture; NULL on ENOMEM. */
struct frame *event_json_frame(const struct event *ev);

const char *event_kind_name(enum event_kind kind);
int event_kind_from_name(const char *name, enum event_kind *out);

#endif
