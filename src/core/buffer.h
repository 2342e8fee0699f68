/*
 * buffer: a growable run of bytes (it doubles as it fills). The owner of
 * the struct owns the bytes and frees them with buffer_free.
 */
#ifndef CHATROOM_BUFFER_H
#define CHATROOM_BUFFER_H

#include <stddef.h>

struct buffer {
	char *data;
	size_t len;
	size_t cap;
};

/* Appends len bytes; 0, or -ENOMEM with the buffer unchanged. */
int buffer_add(struct buffer *b, const void *data, size_t len);
void buffer_free(struct buffer *b);

#endif
