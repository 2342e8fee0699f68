/*
 * link: the client's connection to the server, in the binary protocol
 * (wire.h, docs/protocol.md): resolving and connecting, the frames both
 * ways, the server's PINGs answered, the lag PINGs, and reconnecting with
 * backoff and the resume token when the connection drops.
 *
 * link.c owns everything below: the TCP handle, its requests, the frame
 * decoder and its read buffer, the retry and ping timers, the token and the
 * newest event id (for a resume). Of it, linkconn.c keeps the node list,
 * the attempts and the retries with backoff; link.c the rest. It knows nothing of the session: what the
 * frames mean, what is shown and when the program ends go through struct
 * link_callbacks, as the interface's keys go through struct ui_callbacks.
 * The session reads the link's state through the functions below only.
 */
#ifndef CHATROOM_LINK_H
#define CHATROOM_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "tlslink.h"
#include "wire.h"

struct link;

struct link_options {
	/* One server, numeric or a host name, or several nodes of a cluster:
	 * "host[:port],host[:port],..." (an IPv6 address with a port in
	 * brackets, "[::1]:8888"); port is the default. The link starts on the
	 * first and, on a drop or a failed connection, tries the next. */
	const char *address;
	int port;
	bool reconnect;      /* on a dropped connection, resume with backoff */
	bool tls;            /* TLS over the connection (tlslink.h) */
	const char *ca_file; /* the authorities TLS trusts; NULL: the system's */
};

struct link_callbacks {
	/* The first connection is up (status 0: say the hello), or could not
	 * be made (a UV_E* code). After a drop, a connection back up (status
	 * 0 and link_reconnecting): say the hello again to resume. */
	void (*on_connected)(struct link *link, int status);
	/* The server's WELCOME; the link has kept its token. resumed: it took
	 * us back after a drop. */
	void (*on_welcome)(struct link *link, const struct wire_msg *m, bool resumed);
	/* Every other frame but PING, which the link answers itself. */
	void (*on_frame)(struct link *link, const struct wire_msg *m);
	/* The connection is gone (why: a sentence). retrying: the link tries
	 * again; else, or when it gives up, the session is over. */
	void (*on_lost)(struct link *link, const char *why, bool retrying);
	/* What was sent before link_shutdown has reached the server. */
	void (*on_shut)(struct link *link);
	/* TLS: the server's certificate, once the handshake is done. True to
	 * go on (verified, pinned, known, or the user said yes). */
	bool (*on_certificate)(struct link *link, const struct tls_cert_check *check, char *why,
			       size_t why_len);
};

/* Reconnection: 0.5 s, doubling up to 8 s, ten tries in all. Once
 * welcomed, the link always comes back after a drop when asked to: with
 * its token to resume, or, when the server refuses the token (it was
 * restarted, or the token expired), the session says a fresh hello. */
#define LINK_RETRY_FIRST_MS 500
#define LINK_RETRY_MAX_MS 8000
#define LINK_RETRY_TRIES 10
/* The status line's lag: a first PING soon after the interface is up, then
 * one every few seconds. */
#define LINK_PING_FIRST_MS 100
#define LINK_PING_EVERY_MS 5000

/* Nodes in an address list at most. */
#define LINK_MAX_ADDRESSES 8

struct link_address {
	char host[256];
	int port;
};

/* Splits an address list (link_options.address): how many, or -EINVAL
 * with *cause. */
int link_parse_addresses(const char *list, int default_port, struct link_address *out,
			 size_t max, const char **cause);

struct link {
	void *data; /* the session's, as with a libuv handle */

	/* link.c's own, below. */
	uv_loop_t *loop;
	struct link_options opt;
	struct link_address addresses[LINK_MAX_ADDRESSES];
	size_t address_count;     /* 0: opt.address taken whole */
	size_t current;           /* the node connected or tried */
	size_t first_failures;    /* nodes that failed the first connection */
	struct link_callbacks cb;
	uv_tcp_t tcp;
	bool tcp_open;            /* initialised and not yet closed */
	uv_connect_t connect_req;
	uv_getaddrinfo_t resolve_req;
	uv_shutdown_t shutdown_req;
	bool connected;
	bool welcomed;            /* once welcomed, for the rest of the session */
	bool in_room;             /* welcomed on this connection */
	bool reconnecting;        /* between a drop and the welcome back */
	bool closed;              /* link_close: nothing more starts */
	struct wire_decoder from_server;
	char read_buf[64 * 1024];
	uv_timer_t retry_timer;
	unsigned retries;         /* since the last welcome */
	uv_timer_t ping_timer;
	bool pong_outstanding;    /* a PONG of ours waits to be written */
	unsigned char token[WIRE_TOKEN_LEN];
	bool have_token;
	/* The user's identity (identity.c), proved at every hello. */
	unsigned char identity[WIRE_TOKEN_LEN];
	bool have_identity;
	uint64_t last_event_id;   /* the newest event the session showed */
	uint8_t features;         /* HELLO's (wire.h's WIRE_FEATURE_*) */
	/* TLS: the session, and the handshake of the connection that is up. */
	struct tls_link tls;
	bool tls_ready;           /* tls.ctx made */
	bool tls_shaking;
	char tls_plain[16 * 1024 + 256]; /* decrypted, for the decoder */
	char error[1024];         /* why the last attempt failed, when TLS says */
};

/* Sets the link up (its timers, the TLS context) without connecting. 0,
 * or -1 with the reason in link->error (the authorities do not load). */
int link_init(struct link *link, uv_loop_t *loop, const struct link_options *opt,
	      const struct link_callbacks *cb, void *data);
/* Resolves and connects; cb.on_connected says how it went. 0, or a UV_E*
 * code when it could not even start. */
int link_connect(struct link *link);
/* The binary hello, with the resume token and the newest event id once we
 * have them. */
void link_hello(struct link *link, const char *pseudo, const char *room);
/* A token kept from an earlier session (sessions.h), for the first hello. */
void link_set_token(struct link *link, const unsigned char token[WIRE_TOKEN_LEN]);
/* The token the last welcome gave; false when there is none. */
bool link_token(const struct link *link, unsigned char token[WIRE_TOKEN_LEN]);
/* Sends a frame (dropped when not connected). */
void link_send(struct link *link, const struct wire_msg *m);
/* The lag PINGs, from now on. */
void link_start_pings(struct link *link);
/* An event the session showed: a resume asks for what follows it. */
void link_saw_event(struct link *link, uint64_t id);
/* Ends the sending side once what was sent has gone (cb.on_shut). 0, or a
 * UV_E* code (not connected, say): nothing will follow. */
int link_shutdown(struct link *link);
/* Closes every handle; the memory may go once the loop has run dry. */
void link_close(struct link *link);
/* Once the loop has run dry. */
void link_free(struct link *link);

bool link_connected(const struct link *link);
/* Welcomed once in this session (a drop does not undo it). */
bool link_welcomed(const struct link *link);
/* Welcomed on the connection that is up now: in a room, able to chat. */
bool link_in_room(const struct link *link);
bool link_reconnecting(const struct link *link);

/* Between link.c (the connection up) and linkconn.c (connecting) only. */
/* uv_tcp_connect's callback: TLS's handshake begins, or frames flow. */
void link_on_connect(uv_connect_t *req, int status);
/* An attempt failed: the next node, a retry after a drop, or cb.on_connected. */
void link_attempt_failed(struct link *link, int status);
/* The connection dropped (why, for the user): a retry when asked for. */
void link_lost(struct link *link, const char *why);

#endif
