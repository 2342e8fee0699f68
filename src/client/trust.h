/*
 * trust: whether to talk to a TLS server whose certificate the handshake
 * showed (tlslink.h), as ssh decides for host keys.
 *
 *  - --tls-pin SHA256:…: that key and no other, whoever signed it;
 *  - a certificate that verifies (a trusted authority, the right name, in
 *    its dates): yes;
 *  - one that fails for another reason than its authority (expired, the
 *    wrong name): no, with the reason;
 *  - one no known authority signed (self-signed): the key remembered for
 *    this server in known_servers must be the same (else a loud refusal
 *    showing both and the line to delete); a server never seen is shown
 *    and asked about on a terminal, and remembered on a yes; with no
 *    terminal to ask on it is refused, and the pin to give is shown.
 *
 * known_servers: $XDG_STATE_HOME/chatroom/known_servers (else
 * ~/.local/state/chatroom/), a line per server, "HOST:PORT SHA256:…",
 * appended to (0600, in a 0700 directory).
 */
#ifndef CHATROOM_TRUST_H
#define CHATROOM_TRUST_H

#include <stdbool.h>
#include <stddef.h>

#include "tlslink.h"

/* A known_servers file past this is not ours: read no further. */
#define TRUST_FILE_MAX (256 * 1024)

struct trust_request {
	const char *server;     /* "HOST:PORT", as given */
	const char *pin;        /* --tls-pin, or NULL */
	const char *known_path; /* the known_servers file; NULL: none */
	bool can_ask;           /* a terminal on stdin and stdout */
};

/* The known_servers path into buf; NULL when there is no state directory. */
const char *trust_known_path(char *buf, size_t len);

/* True for a well-formed "SHA256:" and 43 base64 characters. */
bool trust_pin_valid(const char *pin);

/* Go on or not; when not, why (lines to print) in why. May ask on the
 * terminal (synchronously: before the session's tasks start, as the
 * pseudo is asked) and append to known_servers. */
bool trust_decide(const struct trust_request *r, const struct tls_cert_check *check,
		  char *why, size_t why_len);

#endif
