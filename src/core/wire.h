/*
 * wire: chatroom's binary protocol, version 1 (docs/protocol.md), without
 * I/O: an encoder into reference-counted frames and an incremental decoder.
 *
 * A binary peer opens with the 6-byte hello WIRE_MAGIC (its first byte is
 * NUL, which no text line starts with, so the server tells the protocols
 * apart from the first byte). Then both sides send frames:
 *
 *     type (1 byte) | payload length (LEB128 varint, at most 4 bytes) | payload
 *
 * Payload fields are fixed-size big-endian integers, and strings and byte
 * runs prefixed by a varint length. Every string is checked to be UTF-8.
 * A frame of an unknown type is skipped by its length (WIRE_UNKNOWN), so a
 * newer peer can talk to an older one.
 *
 * The decoder works like linereader.h: frames wholly inside the fed chunk
 * are decoded in place; only a frame split across chunks is stashed, in a
 * buffer freed as soon as the frame is complete. Decoded strings point into
 * the chunk or the stash and stay valid until the next wire_next call.
 */
#ifndef CHATROOM_WIRE_H
#define CHATROOM_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buffer.h"
#include "frame.h"

#define WIRE_VERSION 1
#define WIRE_MAGIC "\0CHAT\1"
#define WIRE_MAGIC_LEN 6
/* Large enough for a 5 MiB image and its header; nothing larger is read. */
#define WIRE_MAX_FRAME (6u * 1024 * 1024)
/* The longest text of a message (several lines may be one message). */
#define WIRE_MAX_TEXT (16u * 1024)
#define WIRE_TOKEN_LEN 32
/* A room list or member list never holds more entries than this. */
#define WIRE_MAX_ENTRIES 4096
/* The longest SEARCH: a few words and filters. */
#define WIRE_MAX_QUERY 512

enum wire_type {
	WIRE_HELLO = 0x01,      /* client: who I am */
	WIRE_WELCOME = 0x02,    /* server: you are in */
	WIRE_SAY = 0x03,        /* client: a message for my room */
	WIRE_MESSAGE = 0x04,    /* server: somebody said */
	WIRE_NOTICE = 0x05,     /* server: arrivals, departures, returns, info */
	WIRE_ROOMS_ASK = 0x06,  /* client: which rooms are there? */
	WIRE_ROOMS = 0x07,      /* server: the rooms and their member counts */
	WIRE_JOIN = 0x08,       /* client: move me to a room (made if missing) */
	WIRE_WHO_ASK = 0x09,    /* client: who is in my room? */
	WIRE_WHO = 0x0a,        /* server: the members of a room */
	WIRE_HISTORY = 0x0b,    /* server: a room's recent events, as JSON */
	WIRE_HISTORY_ASK = 0x0c,/* client: what followed event N in my room? */
	WIRE_IMAGE = 0x0d,      /* client: an image; server: somebody's image */
	WIRE_ERROR = 0x0e,      /* server: code and reason */
	WIRE_PING = 0x0f,       /* either side: are you there? */
	WIRE_PONG = 0x10,       /* the answer, same nonce */
	WIRE_COMMAND = 0x11,    /* client: a "/…" line for the server's command table */
	WIRE_PART = 0x12,       /* client: let me leave a room (several rooms) */
	WIRE_SEARCH = 0x13,     /* client: search the history */
	WIRE_FOUND = 0x14,      /* server: what a SEARCH found, as JSON */
	WIRE_ACK = 0x15,        /* server: your SAY of this message id is safe */
	WIRE_UNKNOWN = 0xff,    /* decoded only: a type this version ignores */
};

enum wire_notice_kind {
	WIRE_NOTICE_JOIN = 1,
	WIRE_NOTICE_LEAVE = 2,
	WIRE_NOTICE_RETURN = 3, /* "<pseudo> est de retour !" */
	WIRE_NOTICE_INFO = 4,   /* a line of text from the server */
	/* Since issue 16; text is the whole line as a text peer reads it, so
	 * an older client (which shows an unknown kind's text) shows it too. */
	WIRE_NOTICE_ACTION = 5, /* "* alice danse"; pseudo: who */
	WIRE_NOTICE_NICK = 6,   /* "Annonce : alice s'appelle désormais alicia"; pseudo: the new one */
	WIRE_NOTICE_TOPIC = 7,  /* "Annonce : alice a changé le sujet : …"; pseudo: who */
	WIRE_NOTICE_PRIVATE = 8,/* "alice a dit en privé : …", or the echo "Vous avez dit en
				   privé à bob : …"; pseudo: the other end */
};

enum wire_error_code {
	WIRE_ERR_VERSION = 1,    /* hello with a version this server lacks */
	WIRE_ERR_MALFORMED = 2,  /* a frame that does not parse */
	WIRE_ERR_TOO_LARGE = 3,  /* a frame or field past its limit */
	WIRE_ERR_BAD_UTF8 = 4,
	WIRE_ERR_PSEUDO = 5,     /* refused pseudo; the peer may try again */
	WIRE_ERR_ROOM = 6,       /* refused room name */
	WIRE_ERR_FLOOD = 7,
	WIRE_ERR_TOKEN = 8,      /* resume token unknown or in use */
	WIRE_ERR_STATE = 9,      /* a frame that makes no sense now */
	WIRE_ERR_FULL = 10,      /* no room for more peers */
	WIRE_ERR_IMAGE = 11,     /* an image refused */
	WIRE_ERR_TIMEOUT = 12,
	WIRE_ERR_REFUSED = 13,   /* a command refused; text says why */
};

/* HELLO's features: what a client understands beyond version 1's core. */
enum wire_feature {
	/* JOIN adds a room instead of moving; PART leaves one. */
	WIRE_FEATURE_ROOMS = 1,
};

/* WELCOME's features (issue 19): what the server does beyond version 1. */
enum wire_server_feature {
	/* A SAY with a message id gets ACK once safe, and its retries are
	 * acknowledged, not published again. */
	WIRE_SERVER_ACKS = 1,
};

struct wire_str {
	const char *ptr;
	size_t len;
};

struct wire_entry {
	struct wire_str name; /* a room, or a pseudo */
	uint32_t count;       /* members (rooms); colour + 1 (who) */
};

struct wire_msg {
	enum wire_type type;
	uint8_t raw_type;      /* the type byte as received (WIRE_UNKNOWN) */
	uint8_t version;       /* HELLO, WELCOME */
	uint8_t kind;          /* NOTICE: enum wire_notice_kind */
	bool returning;        /* WELCOME: a user coming back */
	uint8_t features;      /* HELLO: enum wire_feature bits; WELCOME: enum wire_server_feature */
	bool cut;              /* FOUND: more matched than it holds */
	uint16_t code;         /* ERROR */
	int16_t colour;        /* xterm-256 index, -1 for none */
	uint32_t width, height;/* IMAGE */
	uint64_t id;           /* event id (MESSAGE, NOTICE, IMAGE, ACK); after-id (HISTORY_ASK, HELLO) */
	uint64_t time_ms;      /* server time */
	uint64_t user_id;      /* WELCOME: yours; MESSAGE, NOTICE, IMAGE: the sender's */
	uint64_t nonce;        /* PING, PONG */
	uint64_t msg_id;       /* SAY (0: none, no ACK), ACK: the client's message id */
	struct wire_str pseudo;
	struct wire_str room;
	struct wire_str text;  /* SAY, MESSAGE, NOTICE, ERROR; HISTORY, FOUND: the JSON */
	struct wire_str query; /* SEARCH, FOUND: the words as typed */
	struct wire_str token; /* HELLO (0 or 32 bytes), WELCOME (32 bytes) */
	struct wire_str identity; /* HELLO, since issue 16: the user's secret (0 or 32 bytes) */
	struct wire_str mime;  /* IMAGE */
	struct wire_str data;  /* IMAGE bytes */
	/* ROOMS, WHO: entries[0..entry_count). Decoded lists are read with
	 * wire_entry_at (they stay in the frame); encoders pass an array. */
	const struct wire_entry *entries;
	size_t entry_count;
	const char *list;      /* decoded: where the entries start */
	size_t list_len;
};

/* ---- encoding ------------------------------------------------------------ */

/* One frame for the message; NULL when out of memory or past a limit. */
struct frame *wire_encode(const struct wire_msg *m);

/* ---- decoding ------------------------------------------------------------ */

struct wire_decoder {
	size_t max_frame;
	size_t max_image_frame; /* IMAGE frames may be this large (0: max_frame) */
	struct buffer stash;   /* a frame split across chunks */
	bool stash_returned;
	const char *chunk;
	size_t chunk_len;
	size_t chunk_pos;
	const char *cause;      /* why the last error happened */
	uint16_t error_code;    /* enum wire_error_code for the last error */
	/* A client's decoder: lines of text before the first frame are
	 * skipped. A server takes a binary peer whose hello is late (a lost
	 * segment, a busy client) for a text peer that listens and may have
	 * sent it a few lines before the hello arrived (docs/protocol.md). */
	bool skip_text_preamble;
	bool in_text_line;
};

/* LEB128 at p[0..len), at most 4 bytes (28 bits: every length accepted
 * fits): 1 with *out and *used, 0 when more bytes are needed, -1 when
 * longer than 4 bytes. */
int wire_varint_decode(const unsigned char *p, size_t len, uint64_t *out, size_t *used);

/* The incremental decoder (wire_stream.c). */
void wire_decoder_init(struct wire_decoder *d, size_t max_frame);
void wire_decoder_free(struct wire_decoder *d);
/* The chunk must stay valid until wire_next returns 0 or an error. */
void wire_feed(struct wire_decoder *d, const char *data, size_t len);
/*
 * 1 with the next message in *m, 0 when the chunk is used up (a partial
 * frame is stashed), or a negative errno-style code with d->cause (human
 * reason) and d->error_code set: -E2BIG (too large), -EBADMSG (malformed,
 * bad UTF-8). After an error the decoder must not be fed again.
 */
int wire_next(struct wire_decoder *d, struct wire_msg *m);

/*
 * wire_next without the decoding: 1 with the next frame's type byte and
 * payload (valid until the next call), 0 or an error as wire_next. For a
 * reader that decodes only some frames in full (chatroom-bench).
 */
int wire_next_frame(struct wire_decoder *d, uint8_t *type, struct wire_str *payload);

/*
 * The text of a MESSAGE payload, reading only the lengths before it: no
 * other field is decoded and the text is NOT checked to be UTF-8. Only for
 * a reader that counts and compares bytes (chatroom-bench); whatever is
 * shown goes through wire_decode_payload. 0 with *text set; -EBADMSG or
 * -E2BIG where wire_decode_payload would fail on the lengths.
 */
int wire_peek_text(const char *payload, size_t len, struct wire_str *text);

/* Decodes one frame's payload (no header); used by wire_next and tests. */
int wire_decode_payload(uint8_t type, const char *p, size_t len,
			struct wire_msg *m, const char **cause, uint16_t *code);

/* Copies up to max entries of a decoded ROOMS or WHO list into out;
 * returns how many. */
size_t wire_entries(const struct wire_msg *m, struct wire_entry *out, size_t max);

/* True when data starts like the binary hello (as far as it goes). */
bool wire_is_hello_prefix(const char *data, size_t len);

#endif
