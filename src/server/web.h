/*
 * web: the browser's way in, on the server's one port.
 *
 * A peer whose first bytes are "GET " (sniff.h) is an HTTP client: the
 * handover protocol below takes its socket from the TCP transport, with
 * the bytes already read, and gives both to libwebsockets, which runs on
 * our own libuv loop. It serves the files of the web root (the page) and
 * upgrades "/ws" to a WebSocket after checking its Origin. Each WebSocket
 * is then a conn of its own, with this file's transport (a message in, a
 * line of bytes to the protocol; a frame out, a message) and the JSON
 * protocol (jsonpeer.h).
 *
 * libwebsockets is used in web.c only, so another WebSocket library could
 * replace it there. struct web is web.c's: made by web_start, freed by
 * web_free once uv_run has returned (the context closes on the loop).
 */
#ifndef CHATROOM_WEB_H
#define CHATROOM_WEB_H

#include <stddef.h>
#include <uv.h>

struct conns;
struct proto_ops;
struct web;

/* The sniffer's protocol for "GET ": hands the peer to the web server. */
extern const struct proto_ops web_handover_proto;

/* The web server on `loop`, serving the files under `root`, its
 * WebSockets speaking `ws_proto`. 0, or a negative errno with *cause when
 * libwebsockets cannot run on our loop (its libuv plugin missing, out of
 * memory). Either way *out is for web_free. */
int web_start(struct web **out, uv_loop_t *loop, struct conns *conns, const char *root,
	      const struct proto_ops *ws_proto, const char **cause);

/* Closes every HTTP peer and the context, on the loop. Call when no
 * WebSocket conn is left. */
void web_stop(struct web *w);
/* After uv_run: the memory (NULL: nothing). */
void web_free(struct web *w);

#endif
