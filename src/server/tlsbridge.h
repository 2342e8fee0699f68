/*
 * tlsbridge: HTTPS and WSS on the TLS port. A TLS peer whose first bytes,
 * decrypted, are "GET " is handed to the web server (web.c) as a plain
 * port's is, but libwebsockets cannot read a decrypted stream from us: it
 * is given one end of a socketpair instead, and a bridge pumps between the
 * other end and the peer's TLS session on the loop, decrypting what the
 * peer sends and encrypting what lws writes. One TLS stack, one
 * certificate, one SIGHUP reload for the chat and the page.
 *
 * Each way holds at most TLS_BRIDGE_MAX_QUEUED bytes (and a read) in
 * writes under way: past it the bridge stops reading the side that feeds
 * it, so a browser that stops reading makes lws's socket choke (and its
 * WebSocket conn's queue grow to the usual slow-reader cut), and a peer
 * that sends faster than lws reads is read no faster. A peer that takes
 * nothing of what waits for it for TLS_BRIDGE_STALL_MS is cut.
 *
 * Bridges are no conns, so they are bounded here: at most max_per_address
 * (--max-per-address) from one address key, counted apart from its chat
 * connections; and once lws has closed its end a bridge that still holds
 * bytes for its peer lingers (lws counts it no more), at most
 * TLS_BRIDGE_MAX_LINGERING of them. Past either bound the oldest lingering
 * bridge (of the address, of all) is cut: a peer that asks and never reads
 * its answers holds a few; a newcomer whose address has only bridges lws
 * still serves is refused.
 *
 * struct tls_bridge is tlsbridge.c's, each in its owner's set (struct
 * tls_server's), which closes them at its stop.
 */
#ifndef CHATROOM_TLSBRIDGE_H
#define CHATROOM_TLSBRIDGE_H

#include <sys/queue.h>
#include <uv.h>

struct ssl_st;

#define TLS_BRIDGE_MAX_QUEUED (64 * 1024)
#define TLS_BRIDGE_STALL_MS 30000
/* Each holds up to TLS_BRIDGE_MAX_QUEUED and a record, and two
 * descriptors: about 10 MiB and 256 descriptors at most. */
#define TLS_BRIDGE_MAX_LINGERING 128

struct tls_bridge;

struct tls_bridges {
	TAILQ_HEAD(, tls_bridge) all; /* oldest first */
	unsigned lingering;           /* of them: lws is done, bytes wait */
	unsigned max_per_address;
};

void tls_bridges_init(struct tls_bridges *set, unsigned max_per_address);

/*
 * A bridge for the peer's socket `fd` (the bridge's from now on, even on
 * failure) and its session `ssl` (taken on success only), from address
 * key `key`. Returns the descriptor for lws (the socketpair's other end),
 * or a negative errno (-EUSERS: too many from its address).
 */
int tls_bridge_start(struct tls_bridges *set, uv_loop_t *loop, int fd, struct ssl_st *ssl,
		     const char *addr, const char *key);
/* The server stops: every bridge in the set closes. */
void tls_bridge_close_all(struct tls_bridges *set);

#endif
