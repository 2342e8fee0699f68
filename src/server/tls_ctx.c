/*
 * tls_ctx: the TLS port's context, apart from its peers (tls.c). tls_init
 * sets the port up and makes the SSL_CTX from --tls-cert and --tls-key
 * (TLS 1.2 at least, no renegotiation, no tickets); tls_reload makes it
 * again on SIGHUP (a file that does not load keeps the one in use);
 * tls_free frees it at the end.
 * It owns t->ctx; sessions under way hold their own reference to the one
 * they started with.
 *
 * Its own file because it changes with the certificates and the TLS
 * policy, not with how a peer's bytes move.
 */
#include "tls.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

/* OpenSSL's last reason, or `otherwise`; the thread's queue is emptied. */
const char *tls_ssl_reason(const char *otherwise)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
	ERR_clear_error();
	return r != NULL ? r : otherwise;
}

/* ---- certificates -------------------------------------------------------- */

static struct ssl_ctx_st *make_ctx(const char *cert, const char *key, char *cause,
				   size_t cause_len)
{
	ERR_clear_error();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		snprintf(cause, cause_len, "%s", tls_ssl_reason("cannot make a TLS context"));
		return NULL;
	}
	/* TLS 1.2 at least, 1.3 when the peer has it (OpenSSL prefers the
	 * highest version both speak). No renegotiation, no session tickets:
	 * chat sessions are long, and tickets would cost bytes per peer. */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
				 SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* An idle peer's session gives its record buffers back. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	const char *what = cert;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) == 1) {
		what = key;
		if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 &&
		    SSL_CTX_check_private_key(ctx) == 1)
			return ctx;
	}
	snprintf(cause, cause_len, "TLS %s %s: %s", what == cert ? "certificate" : "key", what,
		 tls_ssl_reason("cannot be read"));
	SSL_CTX_free(ctx);
	return NULL;
}

int tls_init(struct tls_server *t, const char *cert, const char *key, unsigned handshake_ms,
	     unsigned max_handshakes, char *cause, size_t cause_len)
{
	memset(t, 0, sizeof(*t));
	LIST_INIT(&t->shaking);
	tls_bridges_init(&t->bridges, UINT_MAX); /* the owner sets its bound */
	t->cert_path = cert;
	t->key_path = key;
	t->handshake_ms = handshake_ms;
	t->max_handshakes = max_handshakes;
	t->max_per_address = max_handshakes;
	t->ctx = make_ctx(cert, key, cause, cause_len);
	return t->ctx != NULL ? 0 : UV_EINVAL;
}

void tls_reload(struct tls_server *t)
{
	char cause[512];
	SSL_CTX *ctx = make_ctx(t->cert_path, t->key_path, cause, sizeof(cause));
	if (ctx == NULL) {
		log_error("TLS certificate not reloaded (%s): keeping the one in use", cause);
		return;
	}
	SSL_CTX_free(t->ctx); /* sessions under way hold their own reference */
	t->ctx = ctx;
	log_notice("TLS certificate reloaded from %s", t->cert_path);
}

void tls_free(struct tls_server *t)
{
	SSL_CTX_free(t->ctx);
	t->ctx = NULL;
}
