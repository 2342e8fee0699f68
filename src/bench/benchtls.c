#include "benchtls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bench_tls {
	SSL_CTX *ctx;
	const char *pin; /* "SHA256:..." or NULL */
	const char *host;
};

struct tls_link {
	struct bench_tls *t;
	SSL *ssl;
	BIO *in, *out;
	bool up;
	struct buffer waiting; /* plaintext said before the handshake was done */
};

static const char *reason(void)
{
	unsigned long e = ERR_get_error();
	ERR_clear_error();
	return e != 0 ? ERR_reason_error_string(e) : "unknown";
}

struct bench_tls *benchtls_new(const char *ca, const char *pin, const char *host)
{
	struct bench_tls *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->pin = pin;
	t->host = host;
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (t->ctx == NULL) {
		free(t);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	if (pin != NULL) {
		/* The key is checked after the handshake (check_pin). */
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
	} else {
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
		int ok = ca != NULL ? SSL_CTX_load_verify_locations(t->ctx, ca, NULL)
				    : SSL_CTX_set_default_verify_paths(t->ctx);
		if (ok != 1) {
			fprintf(stderr, "chatroom-bench: %s: %s\n", ca != NULL ? ca : "system CAs",
				reason());
			benchtls_free(t);
			return NULL;
		}
	}
	return t;
}

void benchtls_free(struct bench_tls *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

struct tls_link *benchtls_link(struct bench_tls *t)
{
	struct tls_link *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->t = t;
	l->ssl = SSL_new(t->ctx);
	l->in = BIO_new(BIO_s_mem());
	l->out = BIO_new(BIO_s_mem());
	if (l->ssl == NULL || l->in == NULL || l->out == NULL) {
		BIO_free(l->in);
		BIO_free(l->out);
		SSL_free(l->ssl);
		free(l);
		return NULL;
	}
	BIO_set_mem_eof_return(l->in, -1);
	SSL_set_bio(l->ssl, l->in, l->out);
	SSL_set_connect_state(l->ssl);
	if (t->pin == NULL) {
		X509_VERIFY_PARAM *param = SSL_get0_param(l->ssl);
		unsigned char ip[16];
		bool is_ip = inet_pton(AF_INET, t->host, ip) == 1 || inet_pton(AF_INET6, t->host, ip) == 1;
		if (is_ip)
			X509_VERIFY_PARAM_set1_ip_asc(param, t->host);
		else
			SSL_set1_host(l->ssl, t->host);
	}
	SSL_set_tlsext_host_name(l->ssl, t->host);
	(void)SSL_do_handshake(l->ssl); /* the ClientHello */
	ERR_clear_error();
	return l;
}

void benchtls_link_free(struct tls_link *l)
{
	if (l == NULL)
		return;
	SSL_free(l->ssl);
	buffer_free(&l->waiting);
	free(l);
}

/* --tls-pin: SHA256:<base64 of the key's SubjectPublicKeyInfo, unpadded>. */
static bool check_pin(struct tls_link *l)
{
	X509 *cert = SSL_get1_peer_certificate(l->ssl);
	if (cert == NULL)
		return false;
	unsigned char *der = NULL;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	X509_free(cert);
	if (len <= 0)
		return false;
	unsigned char digest[32];
	unsigned int dlen = 0;
	EVP_Digest(der, (size_t)len, digest, &dlen, EVP_sha256(), NULL);
	OPENSSL_free(der);
	char b64[64], got[80];
	int n = EVP_EncodeBlock((unsigned char *)b64, digest, (int)dlen);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	snprintf(got, sizeof(got), "SHA256:%.*s", n, b64);
	if (strcmp(got, l->t->pin) == 0)
		return true;
	fprintf(stderr, "chatroom-bench: the server's key is %s, not the pinned %s\n", got,
		l->t->pin);
	return false;
}

static int encrypt(struct tls_link *l, const char *data, size_t len)
{
	if (len > 0 && SSL_write(l->ssl, data, (int)len) <= 0) {
		fprintf(stderr, "chatroom-bench: TLS write: %s\n", reason());
		return -1;
	}
	return 0;
}

int benchtls_write(struct tls_link *l, const char *data, size_t len)
{
	if (!l->up)
		return buffer_add(&l->waiting, data, len) == 0 ? 0 : -1;
	return encrypt(l, data, len);
}

int benchtls_feed(struct tls_link *l, const char *data, size_t len, plain_cb cb, void *arg)
{
	if (BIO_write(l->in, data, (int)len) != (int)len)
		return -1;
	if (!l->up) {
		int rc = SSL_do_handshake(l->ssl);
		if (rc != 1) {
			if (SSL_get_error(l->ssl, rc) == SSL_ERROR_WANT_READ)
				return 0;
			long v = SSL_get_verify_result(l->ssl);
			fprintf(stderr, "chatroom-bench: TLS handshake: %s\n",
				v != X509_V_OK ? X509_verify_cert_error_string(v) : reason());
			return -1;
		}
		if (l->t->pin != NULL && !check_pin(l))
			return -1;
		l->up = true;
		int sent = encrypt(l, l->waiting.data, l->waiting.len);
		buffer_free(&l->waiting);
		if (sent < 0)
			return -1;
	}
	static char plain[16 * 1024 + 256];
	for (;;) {
		int n = SSL_read(l->ssl, plain, sizeof(plain));
		if (n > 0) {
			cb(arg, plain, (size_t)n);
			continue;
		}
		int err = SSL_get_error(l->ssl, n);
		if (err == SSL_ERROR_WANT_READ)
			return 0;
		fprintf(stderr, "chatroom-bench: TLS read: %s\n",
			err == SSL_ERROR_ZERO_RETURN ? "closed by the server" : reason());
		return -1;
	}
}

void benchtls_take(struct tls_link *l, struct buffer *out)
{
	char *data;
	long n = BIO_get_mem_data(l->out, &data);
	if (n > 0)
		buffer_add(out, data, (size_t)n);
	(void)BIO_reset(l->out);
}
