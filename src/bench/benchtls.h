/*
 * benchtls: chatroom-bench --tls. Each connection's TLS session runs over
 * two memory BIOs on the bench's loop, as the server's does: ciphertext
 * read is fed in, plaintext comes out to the adapter; plaintext to send is
 * encrypted and the ciphertext taken for the socket. The server is
 * verified against --ca (its name or IP: --host) or, with --tls-pin, its
 * key's SHA256:<base64> fingerprint alone.
 */
#ifndef CHATROOM_BENCHTLS_H
#define CHATROOM_BENCHTLS_H

#include <stdbool.h>
#include <stddef.h>

#include "buffer.h"

struct bench_tls;
struct tls_link;

typedef void (*plain_cb)(void *arg, const char *data, size_t len);

/* NULL with a message on stderr when the CA file cannot be read. */
struct bench_tls *benchtls_new(const char *ca, const char *pin, const char *host);
void benchtls_free(struct bench_tls *t);

/* A session in its first flight (benchtls_take has the ClientHello). */
struct tls_link *benchtls_link(struct bench_tls *t);
void benchtls_link_free(struct tls_link *l);
/* Plaintext to send: encrypted now, or once the handshake is done. -1 on failure. */
int benchtls_write(struct tls_link *l, const char *data, size_t len);
/* Ciphertext received: the plaintext in it goes to cb. -1 when the
 * session failed (a verification, a bad record), with a message. */
int benchtls_feed(struct tls_link *l, const char *data, size_t len, plain_cb cb, void *arg);
/* The ciphertext to send now, appended to out (moved out of the session). */
void benchtls_take(struct tls_link *l, struct buffer *out);

#endif
