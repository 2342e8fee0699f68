#include "tlslink.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *ssl_reason(const char *otherwise)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
	ERR_clear_error();
	return r != NULL ? r : otherwise;
}

/* Errors that only say no trusted authority vouches for the certificate. */
static bool untrusted_error(int err)
{
	switch (err) {
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		return true;
	default:
		return false;
	}
}

/* Every problem is noted and the handshake goes on: whether a certificate
 * that does not verify may still be trusted (a pin, a known server) is
 * decided once it is done, with its fingerprint. */
static int on_verify(int ok, X509_STORE_CTX *store)
{
	if (ok)
		return 1;
	SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_link *t = SSL_get_app_data(ssl);
	int err = X509_STORE_CTX_get_error(store);
	struct tls_cert_check *check = &t->check;
	if (check->problem[0] == '\0' || (untrusted_error(err) == false && check->untrusted_only))
		snprintf(check->problem, sizeof(check->problem), "%s",
			 X509_verify_cert_error_string(err));
	if (!untrusted_error(err))
		check->untrusted_only = false;
	return 1;
}

int tls_link_init(struct tls_link *t, const char *ca_file, char *cause, size_t len)
{
	memset(t, 0, sizeof(*t));
	ERR_clear_error();
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (t->ctx == NULL) {
		snprintf(cause, len, "%s", ssl_reason("no TLS context"));
		return -1;
	}
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, on_verify);
	int ok = ca_file != NULL ? SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL)
				 : SSL_CTX_set_default_verify_paths(t->ctx);
	if (ok != 1) {
		snprintf(cause, len, "%s: %s", ca_file != NULL ? ca_file : "system store",
			 ssl_reason("cannot be read"));
		SSL_CTX_free(t->ctx);
		t->ctx = NULL;
		return -1;
	}
	return 0;
}

int tls_link_begin(struct tls_link *t, const char *host)
{
	tls_link_end(t);
	memset(&t->check, 0, sizeof(t->check));
	t->check.untrusted_only = true;
	t->ssl = SSL_new(t->ctx);
	t->in = BIO_new(BIO_s_mem());
	t->out = BIO_new(BIO_s_mem());
	if (t->ssl == NULL || t->in == NULL || t->out == NULL) {
		BIO_free(t->in);
		BIO_free(t->out);
		SSL_free(t->ssl);
		t->ssl = NULL;
		ERR_clear_error();
		return -1;
	}
	BIO_set_mem_eof_return(t->in, -1); /* empty: more to come */
	SSL_set_bio(t->ssl, t->in, t->out);
	SSL_set_app_data(t->ssl, t);
	SSL_set_connect_state(t->ssl);
	unsigned char ip[16];
	bool literal = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
	if (literal) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host);
	} else {
		SSL_set_tlsext_host_name(t->ssl, host);
		SSL_set1_host(t->ssl, host);
	}
	ERR_clear_error();
	return 0;
}

int tls_link_feed(struct tls_link *t, const char *data, size_t len)
{
	return BIO_write(t->in, data, (int)len) == (int)len ? 0 : -1;
}

/* SHA-256 of the DER SubjectPublicKeyInfo, base64 without padding. */
static void fingerprint(X509 *cert, char *out, size_t len)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	unsigned char b64[2 * EVP_MAX_MD_SIZE];
	out[0] = '\0';
	if (n > 0 && EVP_Digest(der, (size_t)n, digest, &dlen, EVP_sha256(), NULL) == 1) {
		int m = EVP_EncodeBlock(b64, digest, (int)dlen);
		while (m > 0 && b64[m - 1] == '=')
			m--;
		snprintf(out, len, "SHA256:%.*s", m, (const char *)b64);
	}
	OPENSSL_free(der);
}

int tls_link_handshake(struct tls_link *t, char *cause, size_t len)
{
	ERR_clear_error();
	int rc = SSL_do_handshake(t->ssl);
	if (rc != 1) {
		int err = SSL_get_error(t->ssl, rc);
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
			return 0;
		snprintf(cause, len, "%s", ssl_reason("the server ended the handshake"));
		return -1;
	}
	t->up = true;
	X509 *cert = SSL_get1_peer_certificate(t->ssl);
	if (cert == NULL) {
		snprintf(cause, len, "no certificate");
		return -1;
	}
	fingerprint(cert, t->check.fingerprint, sizeof(t->check.fingerprint));
	X509_free(cert);
	t->check.verified = SSL_get_verify_result(t->ssl) == X509_V_OK;
	if (t->check.verified)
		t->check.untrusted_only = false;
	return 1;
}

ssize_t tls_link_read(struct tls_link *t, char *buf, size_t cap, const char **cause)
{
	ERR_clear_error();
	int n = SSL_read(t->ssl, buf, (int)cap);
	if (n > 0)
		return n;
	int err = SSL_get_error(t->ssl, n);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
		return 0;
	*cause = err == SSL_ERROR_ZERO_RETURN ? NULL : ssl_reason("bad record");
	return -1;
}

int tls_link_write(struct tls_link *t, const char *data, size_t len)
{
	ERR_clear_error();
	if (SSL_write(t->ssl, data, (int)len) <= 0) {
		ERR_clear_error();
		return -1;
	}
	return 0;
}

void tls_link_close_notify(struct tls_link *t)
{
	if (t->ssl != NULL && t->up)
		SSL_shutdown(t->ssl);
	ERR_clear_error();
}

char *tls_link_take(struct tls_link *t, size_t *len)
{
	*len = 0;
	if (t->out == NULL)
		return NULL;
	size_t n = BIO_ctrl_pending(t->out);
	if (n == 0)
		return NULL;
	char *buf = malloc(n);
	if (buf == NULL)
		return NULL;
	int got = BIO_read(t->out, buf, (int)n);
	if (got <= 0) {
		free(buf);
		return NULL;
	}
	*len = (size_t)got;
	return buf;
}

void tls_link_end(struct tls_link *t)
{
	SSL_free(t->ssl); /* and its BIOs */
	t->ssl = NULL;
	t->in = t->out = NULL;
	t->up = false;
}

void tls_link_free(struct tls_link *t)
{
	tls_link_end(t);
	SSL_CTX_free(t->ctx);
	t->ctx = NULL;
}
