#include "binpeer.h"
#include "binhistory.h"
#include "binresume.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "clock.h"
#include "commands.h"
#include "conn.h"
#include "hub.h"
#include "lasting.h"
#include "log.h"
#include "moderation.h"
#include "msgack.h"
#include "picture.h"
#include "sanitize.h"
#include "server_config.h"
#include "social.h"
#include "textproto.h"
#include "wire.h"

_Static_assert(CONN_TOKEN_LEN == WIRE_TOKEN_LEN, "one length of a resume token");

/* A frame from a peer: a message is at most 16 KiB of text, so nothing
 * legitimate comes near; pictures, once welcomed, go up to
 * --image-max-bytes with room for the frame's other fields. */
#define BINPEER_MAX_FRAME (64u * 1024)
#define BINPEER_IMAGE_HEADROOM 4096
/* Unfinished picture frames (larger than BINPEER_MAX_FRAME) keep their
 * bytes in the decoder's stash: at most this much server-wide, a dozen
 * pictures on their way at once. A frame that stalls for the handshake
 * timeout, or comes slower than BINPEER_MIN_FRAME_RATE bytes a second on
 * the whole, is cut: nothing is held forever. */
#define BINPEER_MAX_STASHED (64u * 1024 * 1024)
#define BINPEER_MIN_FRAME_RATE (16u * 1024)
/* Of a message, this much is shown in the console log. */
#define BINPEER_LOGGED_BYTES 512

/* What it keeps per peer (c->proto_data) while it is needed: from its
 * start until its hello's magic is whole, while a frame is unfinished or
 * a resume waits; an idle peer between frames has none (NULL), as the
 * text peer's line reader (docs/benchmarks.md, "Idle memory"). */
struct binpeer {
	char magic[WIRE_MAGIC_LEN]; /* the hello's bytes so far */
	size_t magic_seen;
	struct wire_decoder frames;
	int64_t frame_since_ms; /* a large frame on its way since (clock_ms) */
	bool resuming; /* its HELLO's session is being read (binresume.h) */
};

static struct binpeer *state_new(struct conn *c)
{
	struct binpeer *b = lasting_alloc(sizeof(*b));
	if (b == NULL)
		return NULL;
	wire_decoder_init(&b->frames, BINPEER_MAX_FRAME);
	if (c->seen_line) /* welcomed: see binpeer_welcome */
		b->frames.max_image_frame = c->set->cfg->image_max_bytes + BINPEER_IMAGE_HEADROOM;
	c->proto_data = b;
	return b;
}

static struct binpeer *state_of(struct conn *c)
{
	return c->proto_data;
}

static void state_free(struct conn *c)
{
	struct binpeer *b = state_of(c);
	if (b == NULL)
		return;
	wire_decoder_free(&b->frames);
	lasting_free(b, sizeof(*b));
	c->proto_data = NULL;
}

/* Between frames, nothing unfinished and nothing awaited: let it go. */
static void state_idle(struct conn *c)
{
	const struct binpeer *b = state_of(c);
	if (b != NULL && b->magic_seen == WIRE_MAGIC_LEN && b->frames.stash.len == 0 &&
	    !b->resuming && c->held_input == 0)
		state_free(c);
}

static struct wire_str str(const char *s)
{
	return (struct wire_str){s, strlen(s)};
}

static void send_msg(struct conn *c, const struct wire_msg *m)
{
	conn_reply(c, wire_encode(m));
}

static void reply_error(struct conn *c, uint16_t code, const char *text)
{
	send_msg(c, &(struct wire_msg){.type = WIRE_ERROR, .code = code, .text = str(text)});
}

/* An error, then c goes once it has read it. */
static void refuse(struct conn *c, uint16_t code, const char *text, const char *why)
{
	reply_error(c, code, text);
	conn_close_after_flush(c, why);
}

static void refuse_version(struct conn *c, const char *why)
{
	char text[96];
	snprintf(text, sizeof(text), TEXT_ERR_VERSION, WIRE_VERSION);
	refuse(c, WIRE_ERR_VERSION, text, why);
}

/* A line of text from the server, in c's room. */
static void info(struct conn *c, const char *text)
{
	struct wire_msg m = {.type = WIRE_NOTICE, .kind = WIRE_NOTICE_INFO,
			     .time_ms = (uint64_t)clock_wall_ms(), .colour = -1,
			     .room = str(c->room->name), .text = str(text)};
	send_msg(c, &m);
}

/* ---- what the chat sends ------------------------------------------------ */

/* Each error's code and words, and whether its detail follows them. */
static const struct {
	uint16_t code;
	const char *words;
	bool detail;
} errors[CHAT_ERRORS] = {
	[CHAT_ERR_SERVER_FULL] = {WIRE_ERR_FULL, TEXT_ERR_SERVER_FULL, false},
	[CHAT_ERR_ADDRESS_FULL] = {WIRE_ERR_FULL, TEXT_ERR_ADDRESS_FULL, false},
	[CHAT_ERR_UNKNOWN_PROTOCOL] = {WIRE_ERR_VERSION, TEXT_ERR_UNKNOWN_PROTOCOL, false},
	[CHAT_ERR_HANDSHAKE_TIMEOUT] = {WIRE_ERR_TIMEOUT, TEXT_ERR_HANDSHAKE_TIMEOUT, false},
	[CHAT_ERR_IDLE_TIMEOUT] = {WIRE_ERR_TIMEOUT, TEXT_ERR_IDLE_TIMEOUT, false},
	[CHAT_ERR_FLOODING] = {WIRE_ERR_FLOOD, TEXT_ERR_FLOODING, false},
	[CHAT_ERR_FLOODED] = {WIRE_ERR_FLOOD, TEXT_ERR_FLOODED, false},
	[CHAT_ERR_PSEUDO] = {WIRE_ERR_PSEUDO, "", true},
	[CHAT_ERR_ROOM] = {WIRE_ERR_ROOM, "", true},
	/* Its client shows the room it is in already. */
	[CHAT_ERR_ALREADY_HERE] = {WIRE_ERR_ROOM, TEXT_ERR_ALREADY_HERE, false},
	[CHAT_ERR_IMAGE] = {WIRE_ERR_IMAGE, TEXT_ERR_IMAGE, true},
	[CHAT_ERR_IMAGE_FLOOD] = {WIRE_ERR_FLOOD, TEXT_ERR_IMAGE_FLOOD, false},
	[CHAT_ERR_HELD_FULL] = {WIRE_ERR_FLOOD, TEXT_ERR_HELD_FULL, false},
	[CHAT_ERR_REFUSED] = {WIRE_ERR_REFUSED, "", true},
};

static void send_error(struct conn *c, enum chat_error e, const char *detail)
{
	char words[256];
	snprintf(words, sizeof(words), "%s%s", errors[e].words,
		 errors[e].detail && detail != NULL ? detail : "");
	reply_error(c, errors[e].code, words);
}

static void send_info(struct conn *c, enum chat_info what, const char *detail)
{
	char text[160];
	switch (what) {
	case CHAT_INFO_IN_ROOM:
		snprintf(text, sizeof(text), TEXT_IN_ROOM, detail);
		info(c, text);
		break;
	case CHAT_INFO_STOPPING:
		/* Of no room: every peer is told, wherever it is. */
		send_msg(c, &(struct wire_msg){
			.type = WIRE_NOTICE, .kind = WIRE_NOTICE_INFO, .colour = -1,
			.time_ms = (uint64_t)clock_wall_ms(), .text = str(TEXT_SERVER_STOP)});
		break;
	case CHAT_INFO_HELP:
	case CHAT_INFO_LINE:
	case CHAT_INFO_NOTICE:
		info(c, detail);
		break;
	case CHAT_INFO_LEFT:
		/* Its own departure, which its client closes the room's window on
		 * (not an event: the others' notice has the id). */
		send_msg(c, &(struct wire_msg){
			.type = WIRE_NOTICE, .kind = WIRE_NOTICE_LEAVE,
			.time_ms = (uint64_t)clock_wall_ms(), .user_id = c->user_id,
			.colour = (int16_t)c->colour, .pseudo = str(c->pseudo), .room = str(detail)});
		break;
	}
}

/* A NOTICE of kind PRIVATE: the text protocol's line, and the other end. */
static void send_private(struct conn *c, const struct chat_private *pm)
{
	struct frame *line = pm->sent
		? frame_printf(TEXT_PRIVATE_TO, pm->pseudo, (int)pm->len, pm->text)
		: frame_printf(TEXT_PRIVATE_FROM, pm->pseudo, (int)pm->len, pm->text);
	if (line == NULL)
		return;
	send_msg(c, &(struct wire_msg){
		.type = WIRE_NOTICE, .kind = WIRE_NOTICE_PRIVATE,
		.time_ms = (uint64_t)pm->time_ms, .user_id = pm->user_id,
		.colour = (int16_t)pm->colour, .pseudo = str(pm->pseudo),
		.room = str(c->room->name), .text = {line->data, line->len}});
	frame_unref(line);
}

/* A COMMAND frame: a "/…" line for the server's table, as a text peer
 * types it; what does not name a row is refused with the list. */
static void command(struct hub *h, struct conn *c, const struct command *cmd,
		    enum commands_match match, const char *arg, size_t arg_len,
		    const struct wire_msg *m)
{
	if (match == COMMANDS_FOUND) {
		cmd->run(h, c, arg, arg_len);
		return;
	}
	char help[2048], why[2200];
	commands_help(TEXT_COMMANDS, help, sizeof(help));
	size_t shown = m->text.len < 32 ? m->text.len : 32;
	size_t n = sanitize_text(m->text.ptr, shown, h->clean, h->clean_cap, 0);
	snprintf(why, sizeof(why), "commande inconnue %.*s. %s", (int)n, h->clean, help);
	reply_error(c, WIRE_ERR_REFUSED, why);
}

static void send_list(struct conn *c, enum chat_list kind, const char *room,
		      const struct chat_entry *entries, size_t count)
{
	struct wire_entry out[HUB_LIST_MAX];
	size_t n = count < HUB_LIST_MAX ? count : HUB_LIST_MAX;
	for (size_t i = 0; i < n; i++)
		out[i] = (struct wire_entry){
			str(entries[i].name),
			/* WHO: the colour + 1, so that none is 0 */
			kind == CHAT_LIST_ROOMS ? (uint32_t)entries[i].count
						: (uint32_t)(entries[i].colour + 1)};
	struct wire_msg m = {.type = kind == CHAT_LIST_ROOMS ? WIRE_ROOMS : WIRE_WHO,
			     .room = room != NULL ? str(room) : (struct wire_str){NULL, 0},
			     .entries = out, .entry_count = n};
	send_msg(c, &m);
}

void binpeer_welcome(struct conn *c, bool returning, const unsigned char *token)
{
	c->seen_line = true; /* its handshake is done */
	c->hears = true;     /* its room's events from now on */
	/* From its welcome on it may send IMAGE frames as large as a picture
	 * may be; before, every frame is held to BINPEER_MAX_FRAME, so an
	 * unknown peer cannot make the server buffer megabytes. */
	if (state_of(c) != NULL) /* else made so when a frame comes */
		state_of(c)->frames.max_image_frame =
			c->set->cfg->image_max_bytes + BINPEER_IMAGE_HEADROOM;
	struct wire_msg m = {
		.type = WIRE_WELCOME,
		.version = WIRE_VERSION,
		.user_id = c->user_id,
		.colour = (int16_t)c->colour,
		.returning = returning,
		.token = {(const char *)token, WIRE_TOKEN_LEN},
		.pseudo = str(c->pseudo),
		.room = str(c->room->name),
		.features = WIRE_SERVER_ACKS, /* msgack.h */
	};
	send_msg(c, &m);
}

static void hello(struct hub *h, struct conn *c, const struct wire_msg *m)
{
	if (c->has_pseudo || state_of(c)->resuming) {
		refuse(c, WIRE_ERR_STATE, TEXT_ERR_SECOND_HELLO, "second hello");
		return;
	}
	if (m->version != WIRE_VERSION) {
		refuse_version(c, "wrong protocol version");
		return;
	}
	if (m->token.len > 0) {
		state_of(c)->resuming = binresume_hello(h, c, m);
		return;
	}
	char skeleton[NAMES_SKELETON_MAX], why[160];
	if (hub_check_pseudo(h, c, m->pseudo.ptr, m->pseudo.len, skeleton, why,
			     sizeof(why)) < 0) {
		send_error(c, CHAT_ERR_PSEUDO, why); /* it may try another */
		return;
	}
	/* An owned pseudo is its identity's only (identities.h). */
	unsigned char identity[IDENTITIES_HASH_LEN];
	bool identified = m->identity.len == IDENTITIES_SECRET_LEN;
	if (identified)
		identities_hash((const unsigned char *)m->identity.ptr, identity);
	const unsigned char *owner = identities_owner(&h->identities, skeleton);
	bool owner_back = owner != NULL && identified &&
		memcmp(owner, identity, IDENTITIES_HASH_LEN) == 0;
	const char *banned = moderation_banned(c, identified ? identity : NULL);
	if (banned != NULL) {
		snprintf(why, sizeof(why), TEXT_ERR_BANNED, banned);
		refuse(c, WIRE_ERR_REFUSED, why, "banned");
		return;
	}
	if (owner != NULL && !owner_back) {
		snprintf(why, sizeof(why), TEXT_ERR_PSEUDO_OWNED, (int)m->pseudo.len,
			 m->pseudo.ptr);
		send_error(c, CHAT_ERR_PSEUDO, why);
		return;
	}
	const char *cause;
	struct room *room = hub_room(h, c, m->room.ptr, m->room.len, &cause);
	if (room == NULL) {
		send_error(c, CHAT_ERR_ROOM, cause);
		return;
	}
	unsigned char token[WIRE_TOKEN_LEN];
	if (getrandom(token, sizeof(token), 0) != (ssize_t)sizeof(token)) {
		refuse(c, WIRE_ERR_STATE, TEXT_ERR_NO_RANDOM, "getrandom failed");
		return;
	}
	/* A session is kept for every binary user, or it is not let in: its
	 * client counts on resuming. */
	char pseudo[TEXT_MAX_PSEUDO + 1];
	snprintf(pseudo, sizeof(pseudo), "%.*s", (int)m->pseudo.len, m->pseudo.ptr);
	uint64_t user_id = hub_new_user_id();
	int colour = hub_pick_colour(h, -1);
	if (users_session_open(&h->users, token, conn_addr_key(c), &c->session) < 0) {
		log_warn("no session could be kept for %s (%s)", pseudo, conn_addr(c));
		reply_error(c, WIRE_ERR_FULL, TEXT_ERR_NO_SESSION);
		return;
	}
	/* Nothing reached it before its welcome: its history is everything. */
	hub_place(h, c, room);
	c->several_rooms = (m->features & WIRE_FEATURE_ROOMS) != 0;
	hub_name(h, c, m->pseudo.ptr, m->pseudo.len, skeleton, user_id, colour);
	log_info("%s joined the chatroom as %s", conn_addr(c), c->pseudo);
	struct social *social = identified ? social_of(c) : NULL;
	if (social != NULL) {
		memcpy(social->identity, identity, IDENTITIES_HASH_LEN);
		social->has_identity = true;
		if (owner == NULL &&
		    identities_claim(&h->identities, skeleton, c->pseudo, identity) < 0)
			log_warn("identities: full, %s owns no pseudo", c->pseudo);
	}
	binresume_keep(h, c);
	binpeer_welcome(c, false, token);
	binhistory_send(c, room, 0);
	hub_publish_presence(h, c, EVENT_JOIN);
	if (owner_back) {
		/* Its owner, relaunched (or after a restart): the course's
		 * welcome back. */
		char back[80];
		snprintf(back, sizeof(back), TEXT_WELCOME_BACK, c->pseudo);
		info(c, back);
	}
	hub_tell_topic(c, room);
}

/* A SAY or IMAGE that names a room makes it c's current room: one of
 * its rooms, else it is refused. */
static bool speak_in(struct hub *h, struct conn *c, const struct wire_msg *m)
{
	if (m->room.len == 0)
		return true;
	struct room *room = hub_find_room(h, m->room.ptr, m->room.len);
	if (room == NULL || hub_seat(c, room) == NULL) {
		reply_error(c, WIRE_ERR_ROOM, TEXT_ERR_NOT_IN_ROOM);
		return false;
	}
	c->room = room;
	return true;
}

/* Charged in on_frame, with its bytes. */
static void say(struct hub *h, struct conn *c, const struct wire_msg *m)
{
	/* Several lines are one message; nothing else unsafe goes through. */
	size_t n = sanitize_text(m->text.ptr, m->text.len, h->clean, h->clean_cap,
				 SANITIZE_KEEP_NEWLINES);
	char shown[BINPEER_LOGGED_BYTES];
	size_t shown_len = sanitize_text(m->text.ptr, m->text.len, shown, sizeof(shown), 0);
	log_info(TEXT_RECEIVED, conn_ip(c), c->port, (int)shown_len, shown);
	if (moderation_muted(c) || !speak_in(h, c, m)) {
		msgack_settle(c, m->msg_id); /* refused: not to be sent again */
		return;
	}
	if (!picture_hold_message(c, h->clean, n, m->msg_id))
		msgack_say(h, c, c->room, h->clean, n, m->msg_id);
}

/* A room's history only for who is in it: nobody reads (or polls) a room
 * without being counted there, and asking makes no room. */
static void history_ask(struct hub *h, struct conn *c, const struct wire_msg *m)
{
	struct room *room = m->room.len ? hub_find_room(h, m->room.ptr, m->room.len) : c->room;
	if (room == NULL || hub_seat(c, room) == NULL) {
		reply_error(c, WIRE_ERR_ROOM, TEXT_ERR_NOT_IN_ROOM);
		return;
	}
	binhistory_send(c, room, m->id);
}

/* The frames that are commands run their row of the server's table
 * (commands.c), at its cost. */
static const struct command *frame_command(enum wire_type type)
{
	switch (type) {
	case WIRE_ROOMS_ASK:
		return commands_named("rooms");
	case WIRE_WHO_ASK:
		return commands_named("who");
	case WIRE_JOIN:
		return commands_named("join");
	case WIRE_PART:
		return commands_named("part");
	case WIRE_SEARCH:
		return commands_named("search");
	default:
		return NULL;
	}
}

/* What the other frames cost their sender (conn.h): pictures are charged
 * apart, with their bytes (picture.c). */
static unsigned frame_cost(const struct wire_msg *m)
{
	if (m->type == WIRE_HISTORY_ASK)
		return m->id == 0 ? CONN_COST_HISTORY : CONN_COST_GAP;
	return CONN_COST_LINE;
}

static void on_frame(struct conn *c, const struct wire_msg *m)
{
	struct hub *h = c->set->hub;
	/* Before its welcome a peer may only say hello, ask the rooms (to
	 * choose one) or ping. */
	if (!c->has_pseudo && m->type != WIRE_HELLO && m->type != WIRE_ROOMS_ASK &&
	    m->type != WIRE_PING && m->type != WIRE_UNKNOWN) {
		refuse(c, WIRE_ERR_STATE, TEXT_ERR_HELLO_FIRST, "frame before hello");
		return;
	}
	/* Every frame costs, whatever it is: refused ones too. */
	const struct command *cmd = frame_command(m->type);
	enum commands_match match = COMMANDS_NONE;
	const char *arg = NULL;
	size_t arg_len = 0;
	if (m->type == WIRE_COMMAND)
		match = commands_find(m->text.ptr, m->text.len, &cmd, &arg, &arg_len);
	if (m->type != WIRE_IMAGE &&
	    !conn_charge(c, cmd != NULL ? cmd->cost : frame_cost(m),
			 m->type == WIRE_SAY || m->type == WIRE_COMMAND ? m->text.len : 0)) {
		if (m->type == WIRE_SAY)
			msgack_settle(c, m->msg_id); /* dropped, ERROR 7 said so */
		return;
	}
	if (m->type == WIRE_COMMAND) {
		/* Run where it was typed: a room it names becomes current. */
		if (speak_in(h, c, m))
			command(h, c, cmd, match, arg, arg_len, m);
		return;
	}
	if (cmd != NULL) {
		/* JOIN's, PART's and WHO_ASK's room as typed, SEARCH's words;
		 * ROOMS_ASK takes no argument. */
		struct wire_str given = m->type == WIRE_SEARCH ? m->query : m->room;
		if (m->type == WIRE_ROOMS_ASK || given.len == 0)
			given = (struct wire_str){NULL, 0};
		cmd->run(h, c, given.ptr, given.len);
		return;
	}
	switch (m->type) {
	case WIRE_HELLO:
		hello(h, c, m);
		break;
	case WIRE_SAY:
		say(h, c, m);
		break;
	case WIRE_HISTORY_ASK:
		history_ask(h, c, m);
		break;
	case WIRE_PING:
		send_msg(c, &(struct wire_msg){.type = WIRE_PONG, .nonce = m->nonce});
		break;
	case WIRE_PONG:
	case WIRE_UNKNOWN:
		break; /* a later version's frame: skipped */
	case WIRE_IMAGE:
		if (speak_in(h, c, m))
			picture_receive(h, c, m->data.ptr, m->data.len);
		break;
	default:
		refuse(c, WIRE_ERR_STATE, TEXT_ERR_SERVER_ONLY, "server-only frame");
		break;
	}
}

/* ---- bytes in ----------------------------------------------------------- */

void binpeer_resume_done(struct conn *c)
{
	state_of(c)->resuming = false; /* kept while it resumed */
	state_idle(c);
}

static void on_frame_stalled(struct conn *c)
{
	if (!c->closing)
		refuse(c, WIRE_ERR_TIMEOUT, TEXT_ERR_FRAME_TOO_SLOW, "picture frame too slow");
}

/* After a read: what the peer's unfinished frame holds, within the
 * server's budget and the frame's deadline (see BINPEER_MAX_STASHED). */
static void watch_stash(struct conn *c)
{
	struct binpeer *b = state_of(c);
	const struct server_config *cfg = c->set->cfg;
	size_t held = b->frames.stash.cap > BINPEER_MAX_FRAME ? b->frames.stash.cap : 0;
	if (held == 0 && c->held_input == 0)
		return; /* no picture on its way: the common case */
	int64_t now = clock_ms();
	if (c->held_input == 0)
		b->frame_since_ms = now;
	size_t all = conn_hold_input(c, held);
	if (held == 0) {
		conn_timer_stop(c); /* it came whole */
		return;
	}
	if (all > BINPEER_MAX_STASHED) {
		refuse(c, WIRE_ERR_FULL, TEXT_ERR_FRAMES_AT_ONCE, "too many pictures on their way");
		return;
	}
	int64_t stall = now + cfg->handshake_ms;
	int64_t end = b->frame_since_ms + cfg->handshake_ms +
		      (int64_t)(cfg->image_max_bytes / BINPEER_MIN_FRAME_RATE) * 1000;
	int64_t due = stall < end ? stall : end;
	conn_timer_start(c, due > now ? (uint64_t)(due - now) : 0, on_frame_stalled);
}

static void read_frames(struct conn *c, const char *data, size_t len)
{
	struct binpeer *b = state_of(c);
	wire_feed(&b->frames, data, len);
	while (!c->closing && c->doom == CONN_FINE) {
		struct wire_msg m;
		int rc = wire_next(&b->frames, &m);
		if (rc == 0)
			break;
		if (rc < 0) {
			char why[128];
			snprintf(why, sizeof(why), "bad frame: %s", b->frames.cause);
			refuse(c, b->frames.error_code, b->frames.cause, why);
			return;
		}
		/* Only its welcome counts as its first line: a peer that PINGs
		 * without a HELLO still times out. */
		c->last_heard_ms = clock_ms();
		on_frame(c, &m);
	}
	if (!c->closing) {
		watch_stash(c);
		state_idle(c);
	}
}

/* The hello first (the sniffer saw it up to its version byte), checked
 * whole, then frames. */
static void on_data(struct conn *c, const char *data, size_t len)
{
	struct binpeer *b = state_of(c);
	if (b == NULL) { /* idle since its last frame: its hello was whole */
		if ((b = state_new(c)) == NULL) {
			conn_close(c, "out of memory");
			return;
		}
		b->magic_seen = WIRE_MAGIC_LEN;
	}
	if (b->magic_seen < WIRE_MAGIC_LEN) {
		size_t n = WIRE_MAGIC_LEN - b->magic_seen < len ? WIRE_MAGIC_LEN - b->magic_seen : len;
		memcpy(b->magic + b->magic_seen, data, n);
		b->magic_seen += n;
		if (!wire_is_hello_prefix(b->magic, b->magic_seen)) {
			refuse_version(c, "unknown protocol hello");
			return;
		}
		data += n;
		len -= n;
	}
	if (len > 0)
		read_frames(c, data, len);
}

/* What was queued was meant for a text peer, which it is not. */
static int on_start(struct conn *c)
{
	if (state_new(c) == NULL)
		return -ENOMEM;
	c->hears = false; /* nothing before its welcome */
	conn_drop_unsent(c); /* a line already on its way is finished; the client skips it */
	return 0;
}

static void on_stop(struct conn *c)
{
	msgack_forget(c);
	state_free(c);
}

const struct proto_ops binpeer_proto = {
	.name = "binary",
	.format = EVENT_FORMAT_WIRE,
	.on_start = on_start,
	.on_stop = on_stop,
	.on_data = on_data,
	.send_history = binhistory_send,
	.send_error = send_error,
	.send_info = send_info,
	.send_list = send_list,
	.send_private = send_private,
	.send_found = binhistory_send_found,
};
