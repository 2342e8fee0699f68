/*
 * jsonmsg: one message of the browser's JSON protocol, decoded (no I/O).
 *
 * A message is one JSON object with a string "type"; its other fields are
 * read by name, each checked for its JSON type, so what a page sends is
 * never taken for what it is not. The WebSocket peer (jsonpeer.c) says
 * what each type means; the fuzzer (tests/fuzz/fuzz_json.c) feeds this
 * arbitrary bytes.
 */
#ifndef CHATROOM_JSONMSG_H
#define CHATROOM_JSONMSG_H

#include <stddef.h>
#include <stdint.h>

/* Largest exact integer of a JSON number (a double): ids stop there. */
#define JSONMSG_MAX_ID 9007199254740991ULL

struct cJSON;

struct jsonmsg {
	struct cJSON *root; /* owned: jsonmsg_free */
	const char *type;   /* the "type" string, inside root */
};

/* 0, or -EINVAL when the bytes are no JSON object with a string "type"
 * (nothing to free then). */
int jsonmsg_parse(struct jsonmsg *m, const char *bytes, size_t len);
void jsonmsg_free(struct jsonmsg *m);

/* A string field and its length, or NULL when absent or not a string. */
const char *jsonmsg_text(const struct jsonmsg *m, const char *name, size_t *len);
/* An id field: a whole number in [0, JSONMSG_MAX_ID], else 0. */
uint64_t jsonmsg_id(const struct jsonmsg *m, const char *name);

#endif
