#include "event.h"

#include <errno.h>
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buffer.h"
#include "frame.h"
#include "lasting.h"
#include "textproto.h"
#include "wire.h"

/* The bytes of a copy's one allocation. */
static size_t copy_size(const struct event *ev, size_t image_len)
{
	return strlen(ev->pseudo) + 1 + strlen(ev->room) + 1 + ev->text_len + 1 + image_len;
}

/* A room keeps its copies for as long as its next 100 events take: made
 * by malloc, in the middle of a burst's notices, each pinned a page of
 * the heap (100 pages for one busy room). From lasting.h, packed with
 * their like. */
int event_copy_init(struct event_copy *c, const struct event *ev)
{
	size_t pseudo_len = strlen(ev->pseudo), room_len = strlen(ev->room);
	size_t image_len = ev->image != NULL && ev->image_len <= EVENT_IMAGE_KEEP_BYTES
		? ev->image_len : 0;
	char *s = lasting_alloc(copy_size(ev, image_len));
	if (s == NULL)
		return -ENOMEM;
	c->ev = *ev;
	c->strings = s;
	memcpy(s, ev->pseudo, pseudo_len + 1);
	c->ev.pseudo = s;
	s += pseudo_len + 1;
	memcpy(s, ev->room, room_len + 1);
	c->ev.room = s;
	s += room_len + 1;
	if (ev->text_len > 0)
		memcpy(s, ev->text, ev->text_len);
	s[ev->text_len] = '\0';
	c->ev.text = s;
	s += ev->text_len + 1;
	if (image_len > 0)
		memcpy(s, ev->image, image_len);
	c->ev.image = image_len > 0 ? (const unsigned char *)s : NULL;
	c->ev.image_len = image_len;
	return 0;
}

void event_copy_free(struct event_copy *c)
{
	if (c->strings != NULL)
		lasting_free(c->strings, copy_size(&c->ev, c->ev.image_len));
	c->strings = NULL;
}

/* A message of several lines (binary clients send them) reaches a text
 * peer as one block: each line after the first indented, so none of them
 * can pass for a line of the protocol. */
static struct frame *said_frame(const struct event *ev, const char *prefix)
{
	static const char indent[] = "\n    ";
	size_t breaks = 0;
	for (size_t i = 0; i < ev->text_len; i++)
		breaks += ev->text[i] == '\n';
	if (breaks == 0)
		return frame_printf("%s" TEXT_SAID "\n", prefix, ev->pseudo,
				    (int)ev->text_len, ev->text);
	size_t len = ev->text_len + breaks * (sizeof(indent) - 2);
	char *text = malloc(len);
	if (text == NULL)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < ev->text_len; i++) {
		if (ev->text[i] == '\n') {
			memcpy(text + o, indent, sizeof(indent) - 1);
			o += sizeof(indent) - 1;
		} else {
			text[o++] = ev->text[i];
		}
	}
	struct frame *f = frame_printf("%s" TEXT_SAID "\n", prefix, ev->pseudo, (int)o, text);
	free(text);
	return f;
}

/* The header line, then the drawing's rows indented as a message's lines. */
static struct frame *image_frame(const struct event *ev, const char *prefix)
{
	struct buffer out = {0};
	/* Built to its full length: a pseudo (from a file, say) longer than
	 * any fixed buffer must not make us read past one. */
	struct frame *head = frame_printf("%s" TEXT_IMAGE "\n", prefix, ev->pseudo,
					  ev->width, ev->height);
	if (head == NULL)
		return NULL;
	buffer_add(&out, head->data, head->len);
	frame_unref(head);
	size_t start = 0;
	for (size_t i = 0; i <= ev->text_len; i++) {
		if (i < ev->text_len && ev->text[i] != '\n')
			continue;
		buffer_add(&out, "    ", 4);
		buffer_add(&out, ev->text + start, i - start);
		buffer_add(&out, "\n", 1);
		start = i + 1;
	}
	struct frame *f = out.data != NULL ? frame_copy(out.data, out.len) : NULL;
	buffer_free(&out);
	return f;
}

static struct frame *text_frame(const struct event *ev, const char *prefix)
{
	switch (ev->kind) {
	case EVENT_MESSAGE:
		return said_frame(ev, prefix);
	case EVENT_IMAGE:
		return image_frame(ev, prefix);
	case EVENT_JOIN:
		return ev->default_room
			? frame_printf("%s" TEXT_JOINED "\n", prefix, ev->pseudo)
			: frame_printf("%s" TEXT_JOINED_ROOM "\n", prefix, ev->pseudo, ev->room);
	case EVENT_LEAVE:
		return ev->default_room
			? frame_printf("%s" TEXT_LEFT "\n", prefix, ev->pseudo)
			: frame_printf("%s" TEXT_LEFT_ROOM "\n", prefix, ev->pseudo, ev->room);
	case EVENT_RETURN:
		return frame_printf("%s" TEXT_RETURNED "\n", prefix, ev->pseudo);
	case EVENT_ACTION:
		return frame_printf("%s" TEXT_ACTION "\n", prefix, ev->pseudo, (int)ev->text_len,
				    ev->text);
	case EVENT_NICK:
		return frame_printf("%s" TEXT_NICK "\n", prefix, ev->pseudo, (int)ev->text_len,
				    ev->text);
	case EVENT_TOPIC:
		return frame_printf("%s" TEXT_TOPIC_SET "\n", prefix, ev->pseudo,
				    (int)ev->text_len, ev->text);
	}
	return NULL;
}

struct frame *event_text_frame(const struct event *ev)
{
	return text_frame(ev, "");
}

struct frame *event_text_history_frame(const struct event *ev)
{
	time_t secs = (time_t)(ev->time_ms / 1000);
	struct tm tm;
	localtime_r(&secs, &tm);
	char prefix[16];
	strftime(prefix, sizeof(prefix), "[%H:%M] ", &tm);
	return text_frame(ev, prefix);
}

/* The kinds of issue 16 travel as a NOTICE whose text is the text
 * protocol's whole line (an older client shows it as it is); the pseudo
 * is who did it, for a rename the new name. */
static struct frame *line_notice_frame(const struct event *ev)
{
	struct frame *line = event_text_frame(ev);
	if (line == NULL)
		return NULL;
	static const uint8_t kinds[] = {
		[EVENT_ACTION] = WIRE_NOTICE_ACTION,
		[EVENT_NICK] = WIRE_NOTICE_NICK,
		[EVENT_TOPIC] = WIRE_NOTICE_TOPIC,
	};
	bool nick = ev->kind == EVENT_NICK;
	struct wire_msg m = {
		.type = WIRE_NOTICE,
		.kind = kinds[ev->kind],
		.id = ev->id,
		.time_ms = (uint64_t)ev->time_ms,
		.user_id = ev->sender_id,
		.colour = (int16_t)ev->colour,
		.pseudo = nick ? (struct wire_str){ev->text, ev->text_len}
			       : (struct wire_str){ev->pseudo, strlen(ev->pseudo)},
		.room = {ev->room, strlen(ev->room)},
		.text = {line->data, line->len - 1}, /* without its '\n' */
	};
	struct frame *f = wire_encode(&m);
	frame_unref(line);
	return f;
}

struct frame *event_wire_frame(const struct event *ev)
{
	if (ev->kind == EVENT_IMAGE) {
		/* Without its bytes (too large to keep) it comes back as what
		 * a text peer sees. */
		struct buffer text = {0};
		if (ev->image == NULL) {
			char head[64];
			snprintf(head, sizeof(head), "[image %d×%d]\n", ev->width, ev->height);
			buffer_add(&text, head, strlen(head));
			buffer_add(&text, ev->text, ev->text_len);
		}
		struct wire_msg m = {
			.type = ev->image != NULL ? WIRE_IMAGE : WIRE_MESSAGE,
			.id = ev->id, .time_ms = (uint64_t)ev->time_ms, .user_id = ev->sender_id,
			.colour = (int16_t)ev->colour,
			.pseudo = {ev->pseudo, strlen(ev->pseudo)},
			.room = {ev->room, strlen(ev->room)},
			.text = {text.data, text.len},
			.mime = {ev->mime, strlen(ev->mime)},
			.width = (uint32_t)ev->width, .height = (uint32_t)ev->height,
			.data = {(const char *)ev->image, ev->image_len},
		};
		struct frame *f = wire_encode(&m);
		buffer_free(&text);
		return f;
	}
	if (ev->kind == EVENT_ACTION || ev->kind == EVENT_NICK || ev->kind == EVENT_TOPIC)
		return line_notice_frame(ev);
	static const uint8_t notice_kinds[] = {
		[EVENT_JOIN] = WIRE_NOTICE_JOIN,
		[EVENT_LEAVE] = WIRE_NOTICE_LEAVE,
		[EVENT_RETURN] = WIRE_NOTICE_RETURN,
	};
	struct wire_msg m = {
		.type = ev->kind == EVENT_MESSAGE ? WIRE_MESSAGE : WIRE_NOTICE,
		.kind = ev->kind == EVENT_MESSAGE ? 0 : notice_kinds[ev->kind],
		.id = ev->id,
		.time_ms = (uint64_t)ev->time_ms,
		.user_id = ev->sender_id,
		.colour = (int16_t)ev->colour,
		.pseudo = {ev->pseudo, strlen(ev->pseudo)},
		.room = {ev->room, strlen(ev->room)},
		.text = {ev->text, ev->text_len},
	};
	return wire_encode(&m);
}

/* ---- JSON (the history file, the browser) ------------------------------ */

/* Appends s as a JSON string. The text is valid UTF-8 already (sanitised
 * on the way in); only the characters JSON reserves are escaped. */
static void add_json_string(struct buffer *buf, const char *s, size_t len)
{
	buffer_add(buf, "\"", 1);
	size_t plain = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buffer_add(buf, s + plain, i - plain);
		char esc[8];
		int n = c == '"' ? snprintf(esc, sizeof(esc), "\\\"")
			: c == '\\' ? snprintf(esc, sizeof(esc), "\\\\")
			: c == '\n' ? snprintf(esc, sizeof(esc), "\\n")
			: snprintf(esc, sizeof(esc), "\\u%04x", c);
		buffer_add(buf, esc, (size_t)n);
		plain = i + 1;
	}
	buffer_add(buf, s + plain, len - plain);
	buffer_add(buf, "\"", 1);
}

/* Written by hand rather than with cJSON: this runs for every message, and
 * building a cJSON tree costs a dozen allocations; reading back at start
 * (cJSON) checks the result. */
static void json_fields(struct buffer *buf, const struct event *ev, size_t max_image_bytes)
{
	char head[128];
	int n = snprintf(head, sizeof(head), "\"id\":%llu,\"time\":%lld,\"room\":",
			 (unsigned long long)ev->id, (long long)ev->time_ms);
	buffer_add(buf, head, (size_t)n);
	add_json_string(buf, ev->room, strlen(ev->room));
	n = snprintf(head, sizeof(head), ",\"kind\":\"%s\",\"user\":%llu,\"pseudo\":",
		     event_kind_name(ev->kind), (unsigned long long)ev->sender_id);
	buffer_add(buf, head, (size_t)n);
	add_json_string(buf, ev->pseudo, strlen(ev->pseudo));
	n = snprintf(head, sizeof(head), ",\"colour\":%d", ev->colour);
	buffer_add(buf, head, (size_t)n);
	/* The default room's arrivals read "la chatroom", as in text. */
	if ((ev->kind == EVENT_JOIN || ev->kind == EVENT_LEAVE) && ev->default_room)
		buffer_add(buf, ",\"default\":true", 15);
	if (event_keeps_text(ev)) {
		buffer_add(buf, ",\"text\":", 8);
		add_json_string(buf, ev->text, ev->text_len);
	}
	if (ev->kind == EVENT_IMAGE) {
		n = snprintf(head, sizeof(head), ",\"mime\":\"%s\",\"width\":%d,\"height\":%d",
			     ev->mime, ev->width, ev->height);
		buffer_add(buf, head, (size_t)n);
		if (ev->image != NULL && ev->image_len <= max_image_bytes) {
			gchar *b64 = g_base64_encode(ev->image, ev->image_len);
			buffer_add(buf, ",\"data\":\"", 9);
			buffer_add(buf, b64, strlen(b64));
			buffer_add(buf, "\"", 1);
			g_free(b64);
		}
	}
}

void event_json(struct buffer *buf, const struct event *ev, size_t max_image_bytes)
{
	buffer_add(buf, "{", 1);
	json_fields(buf, ev, max_image_bytes);
	buffer_add(buf, "}\n", 2);
}

struct frame *event_json_frame(const struct event *ev)
{
	struct buffer json = {0};
	buffer_add(&json, "{\"type\":\"event\",", 16);
	json_fields(&json, ev, SIZE_MAX); /* live: the whole picture */
	buffer_add(&json, "}\n", 2);
	struct frame *f = json.data != NULL ? frame_copy(json.data, json.len) : NULL;
	buffer_free(&json);
	return f;
}

struct frame *event_encode(const struct event *ev, enum event_format format)
{
	switch (format) {
	case EVENT_FORMAT_TEXT:
		return event_text_frame(ev);
	case EVENT_FORMAT_WIRE:
		return event_wire_frame(ev);
	case EVENT_FORMAT_JSON:
		return event_json_frame(ev);
	case EVENT_FORMATS:
		break;
	}
	return NULL;
}

static const char *const kind_names[] = {"message", "join", "leave", "return", "image",
					 "action", "nick", "topic"};

const char *event_kind_name(enum event_kind kind)
{
	return kind_names[kind];
}

int event_kind_from_name(const char *name, enum event_kind *out)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		if (strcmp(kind_names[i], name) == 0) {
			*out = (enum event_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}
