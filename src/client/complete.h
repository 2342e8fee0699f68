/*
 * complete: what Tab completes in the input line, without I/O: the
 * pseudos the session has heard of (the most recent speaker first, then
 * the others, the most recently seen first) and the slash commands.
 *
 * The session owns a struct complete_names and tells it who spoke, came
 * and went; the interface asks for the candidates of the word before the
 * cursor and cycles through them on each Tab.
 */
#ifndef CHATROOM_COMPLETE_H
#define CHATROOM_COMPLETE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "textproto.h"

/* Names remembered; the least recent goes first when full. */
#define COMPLETE_NAMES 128

struct complete_name {
	char name[TEXT_MAX_PSEUDO + 1];
	uint64_t spoke; /* when it last spoke (a counter), 0: never */
	uint64_t seen;  /* when it was last heard of */
};

struct complete_names {
	struct complete_name names[COMPLETE_NAMES];
	size_t count;
	uint64_t clock;
};

/* A pseudo spoke (spoke), or came, came back, or is in a WHO answer. */
void complete_heard(struct complete_names *c, const char *name, size_t len, bool spoke);
/* A pseudo left the room. */
void complete_forget(struct complete_names *c, const char *name, size_t len);
/* We moved to another room: only its people count now. */
void complete_clear(struct complete_names *c);

/* The word before the cursor: from the last space before it (or the line's
 * start) to the cursor. */
struct complete_word {
	size_t start, len;
	bool command;    /* a first word starting with '/' */
	bool line_start; /* the line's first word: "pseudo: " */
};

void complete_word_at(const char *line, size_t cursor, struct complete_word *w);

/*
 * The candidates for a prefix (prefix_len bytes), compared without case
 * (ASCII): commands ("/jo" -> "join", without the slash) when command,
 * else pseudos, in the order above; an empty pseudo prefix has none.
 * Returns how many went into out (at most max).
 */
size_t complete_candidates(const struct complete_names *c, const char *const *commands,
			   size_t command_count, const char *prefix, size_t prefix_len,
			   bool command, const char **out, size_t max);

/* What replaces the word: "/join ", "alice: " at the line's start, "alice "
 * elsewhere. Returns its length (out always terminated). */
size_t complete_text(const char *candidate, const struct complete_word *w, char *out,
		     size_t cap);

#endif
