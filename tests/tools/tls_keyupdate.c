/*
 * tls_keyupdate PORT COUNT: an attacker for tests/integration/test_tls_bounds.py.
 * Over TLS 1.3 to 127.0.0.1:PORT it asks COUNT times for a key update
 * (each makes the server answer with one of its own) and never reads: the
 * answers pile up on the server's side. A byte of one never-ended text
 * line goes between every few requests (OpenSSL refuses more than 32 key
 * updates in a row without data). Prints "cut after N" when the server
 * closes it, "sent N" when all went. Python's ssl module cannot send a key
 * update, hence C.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: tls_keyupdate PORT COUNT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	long port = strtol(argv[1], NULL, 10), count = strtol(argv[2], NULL, 10);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	/* A small window: the server's answers stay on its side. */
	int small = 4096;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		return 1;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd); /* an attacker: it checks no certificate */
	if (SSL_connect(ssl) != 1) {
		fprintf(stderr, "handshake failed\n");
		return 1;
	}
	long i;
	for (i = 0; i < count; i++) {
		if (SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED) != 1 || SSL_do_handshake(ssl) != 1)
			break;
		if (i % 16 == 15 && SSL_write(ssl, "a", 1) != 1)
			break;
	}
	printf(i < count ? "cut after %ld\n" : "sent %ld\n", i);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return 0;
}
