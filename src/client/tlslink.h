/*
 * tlslink: the client's TLS session (chatroom --tls), OpenSSL over two
 * memory BIOs and no socket: the link (link.c) feeds it what the socket
 * read and writes to the socket what it says, all on the loop, never
 * blocking. It checks the server's certificate against the system's
 * authorities or --ca, and its name (SSL_set1_host, or the IP address), and
 * says what it found; whether to go on (a pin, a known server, the user's
 * yes) is the session's choice (trust.h).
 *
 * struct tls_link is the link's; tls_link_free frees the context, and
 * tls_link_end the session of one connection.
 */
#ifndef CHATROOM_TLSLINK_H
#define CHATROOM_TLSLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct ssl_ctx_st;
struct ssl_st;
struct bio_st;

/* "SHA256:" and 43 characters of base64, unpadded, as ssh shows keys. */
#define TLS_FINGERPRINT_LEN 50

/* What the handshake showed of the server's certificate. */
struct tls_cert_check {
	bool verified;       /* trusted chain, right name, in its dates */
	/* Not verified only for want of a trusted authority (self-signed, an
	 * unknown CA): the case for a pin, or trust on first use. */
	bool untrusted_only;
	char problem[160];   /* the first reason it does not verify */
	char fingerprint[TLS_FINGERPRINT_LEN + 1]; /* of its public key (SPKI) */
};

struct tls_link {
	struct ssl_ctx_st *ctx;
	struct ssl_st *ssl;       /* this connection's; NULL between them */
	struct bio_st *in, *out;  /* ciphertext from and for the socket */
	bool up;                  /* handshake done */
	struct tls_cert_check check;
};

/* The context: TLS 1.2 at least, the authorities of ca_file, or the
 * system's when NULL. 0, or -1 with the reason in cause. */
int tls_link_init(struct tls_link *t, const char *ca_file, char *cause, size_t len);
/* A session for a new connection to host (a name or an IP address). */
int tls_link_begin(struct tls_link *t, const char *host);
/* Ciphertext read from the socket. 0, or -1 (out of memory). */
int tls_link_feed(struct tls_link *t, const char *data, size_t len);
/* Drives the handshake: 1 when done (t->check filled), 0 when it waits
 * for the server, -1 with the reason in cause. */
int tls_link_handshake(struct tls_link *t, char *cause, size_t len);
/* Plaintext: > 0 bytes, 0 when none waits, -1 at the end (cause: NULL for
 * the server's close_notify). */
ssize_t tls_link_read(struct tls_link *t, char *buf, size_t cap, const char **cause);
/* Encrypts data. 0, or -1. */
int tls_link_write(struct tls_link *t, const char *data, size_t len);
/* A close_notify for the server. */
void tls_link_close_notify(struct tls_link *t);
/* What waits for the socket, moved into a new malloc'd buffer (*len
 * bytes; NULL and 0 when nothing waits). */
char *tls_link_take(struct tls_link *t, size_t *len);
/* The connection's session goes (the context stays). */
void tls_link_end(struct tls_link *t);
void tls_link_free(struct tls_link *t);

#endif
