/*
 * wsframe: a WebSocket text message's frame header as a server writes it
 * (RFC 6455, 5.2): FIN and opcode 1, no mask, the length in 7, 16 or 64
 * bits. web.c frames a turn's messages itself to send them in one write;
 * the server negotiates no extension, so header and bytes are the frame.
 */
#ifndef CHATROOM_WSFRAME_H
#define CHATROOM_WSFRAME_H

#include <stddef.h>

/* The longest header: 2 bytes and a 64-bit length. */
#define WS_FRAME_HEADER_MAX 10

/* Writes the header of a text message of len bytes at h (room for
 * WS_FRAME_HEADER_MAX); returns its length. */
size_t ws_frame_text_header(unsigned char *h, size_t len);

#endif
