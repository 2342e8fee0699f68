/*
 * tls: the TLS transport (--tls-cert, --tls-key, --tls-port). A second
 * listening socket; for each peer a uv_tcp_t inside its conn
 * (conn_transport) and an OpenSSL session over two memory BIOs, so that
 * the loop never blocks: ciphertext read from the socket is written into
 * one BIO, what OpenSSL writes into the other goes to the socket.
 *
 * A peer is a conn like any other only once its handshake is done: then
 * conn_open() seats it, and what it says, decrypted, goes to
 * conn_received(), where the sniffer tells text from binary as on the plain
 * port. Until then it is tls.c's alone: the handshakes in progress are
 * bounded (--tls-max-handshakes, and per address
 * --tls-max-handshakes-per-address) and each has a deadline
 * (--tls-handshake-timeout); bytes that are no TLS record (a chat line, a
 * binary hello, an HTTP request in clear) are refused with a log line.
 * A peer whose first bytes are "GET " is given to the web server as on the
 * plain port (give_socket), through a bridge (tlsbridge.h): HTTPS and WSS.
 *
 * struct tls_server is its owner's (struct server); tls.c owns the
 * listener, every peer's handles, SSL session and write buffer, freed in
 * the handles' close callbacks before the conn is told. tls_ctx.c owns
 * the SSL_CTX (replaced by tls_reload on SIGHUP: sessions keep a
 * reference to the one they started with).
 */
#ifndef CHATROOM_TLS_H
#define CHATROOM_TLS_H

#include <stdbool.h>
#include <sys/queue.h>
#include <uv.h>

#include "tlsbridge.h"

struct conns;
struct ssl_ctx_st;
struct tls_peer;

/* Ciphertext is fed to OpenSSL a record at a time (16 KiB and its
 * header), so its memory BIOs never grow past one record. */
#define TLS_RECORD_MAX (16 * 1024 + 512)
#define TLS_DEFAULT_PORT 8443
/* A handshake is two round trips: seconds are plenty even far away. */
#define TLS_DEFAULT_HANDSHAKE_MS 10000
/* Each handshake costs a private-key operation and a session's memory;
 * past this many at once, new peers are turned away until some finish. */
#define TLS_DEFAULT_MAX_HANDSHAKES 256
/* One address cannot take them all: a few users behind one NAT connect
 * at once now and then, an attacker's hundreds are its own. */
#define TLS_DEFAULT_MAX_HANDSHAKES_PER_ADDRESS 16

LIST_HEAD(tls_peer_list, tls_peer);

struct tls_server {
	uv_tcp_t listener;
	bool listening;
	struct conns *conns;       /* where peers go once their handshake is done */
	struct ssl_ctx_st *ctx;    /* for new peers */
	const char *cert_path, *key_path;
	unsigned handshake_ms;
	unsigned max_handshakes;
	unsigned max_per_address;  /* of them from one address (its addr_key) */
	unsigned handshakes;       /* in progress: the peers in `shaking` */
	struct tls_peer_list shaking;
	struct tls_bridges bridges; /* HTTPS peers (tlsbridge.h) */
	char cipher_in[TLS_RECORD_MAX];  /* one read from a peer's socket */
	char plain_buf[TLS_RECORD_MAX]; /* decrypted, lent to conn_received */
	char stage[16 * 1024];          /* small frames gathered into one record */
};

/* Loads the certificate chain and key (PEM) into a new SSL_CTX. 0, or a
 * UV_E* code with the reason in cause (cause_len bytes). */
int tls_init(struct tls_server *t, const char *cert, const char *key, unsigned handshake_ms,
	     unsigned max_handshakes, char *cause, size_t cause_len);
/* Listens on address:port (0 picks one). 0, or a UV_E* code with *cause. */
int tls_listen(struct tls_server *t, uv_loop_t *loop, const char *address, int port,
	       struct conns *conns, const char **cause);
/* "listening for TLS on ADDRESS:PORT" on the console. */
void tls_log_address(struct tls_server *t);
/* SIGHUP: the files read again; new peers get the new certificate. A
 * file that does not load keeps the old one, with an error logged. */
void tls_reload(struct tls_server *t);
/* No new peers; handshakes in progress are abandoned. */
void tls_stop(struct tls_server *t);
/* Once the loop has run dry. */
void tls_free(struct tls_server *t);

/* Between tls.c and tls_ctx.c: OpenSSL's last reason, or `otherwise`;
 * the thread's queue of errors is emptied. */
const char *tls_ssl_reason(const char *otherwise);

#endif
