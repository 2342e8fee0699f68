/*
 * The text protocol on arbitrary bytes: the line splitter fed in pieces,
 * first-line parsing, pseudo and room checks with the names' skeletons
 * (ICU's spoof checker), room normalisation, and the sanitiser, whose
 * output must always be clean and fit its bound.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linereader.h"
#include "names.h"
#include "sanitize.h"
#include "textproto.h"

static void check_line(const char *line, size_t len)
{
	struct text_msg msg;
	textproto_parse_first(line, len, &msg);
	if (msg.text < line || msg.text + msg.len > line + len)
		abort();
	const char *cause;
	char skeleton[NAMES_SKELETON_MAX];
	if (textproto_check_pseudo(msg.text, msg.len, &cause) == 0) {
		/* An accepted pseudo always has an identity, and neither it
		 * nor its look holds the protocol's separators. */
		if (names_skeleton(msg.text, msg.len, skeleton, sizeof(skeleton)) < 0 ||
		    strchr(skeleton, ':') != NULL || strchr(skeleton, '|') != NULL ||
		    names_has_invisible(msg.text, msg.len) ||
		    names_looks_empty(msg.text, msg.len))
			abort();
	}
	/* Whatever the bytes, a skeleton fits its buffer or is refused. */
	if (names_skeleton(line, len, skeleton, sizeof(skeleton)) == 0 &&
	    strlen(skeleton) >= sizeof(skeleton))
		abort();
	names_spoof_check(line, len);

	/* A room name as a user types it: normalised, then checked. */
	char room[TEXT_MAX_ROOM + 1];
	size_t room_len;
	if (textproto_normalise_room(line, len, room, sizeof(room), &room_len, &cause) == 0) {
		if (room_len > TEXT_MAX_ROOM || room[room_len] != '\0' ||
		    !utf8_is_valid(room, room_len))
			abort();
		if (textproto_check_room(room, room_len, &cause) == 0 &&
		    (names_skeleton(room, room_len, skeleton, sizeof(skeleton)) < 0 ||
		     names_has_invisible(room, room_len)))
			abort(); /* an accepted room always has an identity */
	}
	textproto_check_room(line, len, &cause);

	size_t cap = SANITIZE_BOUND(len);
	char *clean = malloc(cap + 1);
	size_t n = sanitize_text(line, len, clean, cap, 0);
	if (n > cap || !utf8_is_valid(clean, n) || !sanitize_is_clean(clean, n))
		abort();
	free(clean);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = 1 + data[0] % 64;
	data++;
	size--;
	struct linereader lr;
	linereader_init(&lr, 512);
	size_t pos = 0;
	while (pos < size) {
		size_t n = size - pos < piece ? size - pos : piece;
		linereader_feed(&lr, (const char *)data + pos, n);
		pos += n;
		const char *line;
		size_t len;
		int rc;
		while ((rc = linereader_next(&lr, &line, &len)) == 1) {
			if (len > 512)
				abort();
			check_line(line, len);
		}
		if (rc < 0)
			break;
	}
	const char *line;
	size_t len;
	if (linereader_take_partial(&lr, &line, &len) == 1)
		check_line(line, len);
	linereader_free(&lr);
	return 0;
}
