/*
 * link: the client's connection to the server, in the binary protocol:
 * connecting, the hello, the frames that come back, and reconnecting with
 * a resume token when the connection drops (--reconnect).
 */
#include <cJSON.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatpicture.h"
#include "client.h"
#include "i18n.h"
#include "sanitize.h"

/* The server's default room: its arrivals use the course's wording. */
#define DEFAULT_ROOM "general"
/* Reconnection: 0.5 s, doubling up to 8 s, ten tries in all. */
#define RETRY_FIRST_MS 500
#define RETRY_MAX_MS 8000
#define RETRY_TRIES 10

/* ---- sending -------------------------------------------------------------- */

struct outgoing {
	uv_write_t req;
	struct frame *frame;
};

static void on_sent(uv_write_t *req, int status)
{
	struct outgoing *out = (struct outgoing *)req;
	frame_unref(out->frame);
	free(out);
	(void)status; /* a failed write shows up as a failed read too */
}

static void send_bytes(struct client_app *app, struct frame *f)
{
	if (f == NULL || !app->connected) {
		frame_unref(f);
		return;
	}
	struct outgoing *out = malloc(sizeof(*out));
	if (out == NULL) {
		frame_unref(f);
		return;
	}
	out->frame = f;
	uv_buf_t buf = uv_buf_init(f->data, f->len);
	if (uv_write(&out->req, (uv_stream_t *)&app->tcp, &buf, 1, on_sent) < 0) {
		frame_unref(f);
		free(out);
	}
}

void link_send(struct client_app *app, const struct wire_msg *m)
{
	send_bytes(app, wire_encode(m));
}

void link_hello(struct client_app *app)
{
	struct wire_msg m = {
		.type = WIRE_HELLO,
		.version = WIRE_VERSION,
		.pseudo = {app->pseudo, strlen(app->pseudo)},
		.room = {app->room, strlen(app->room)},
		.id = app->last_event_id,
	};
	if (app->have_token)
		m.token = (struct wire_str){(const char *)app->token, sizeof(app->token)};
	link_send(app, &m);
}

void link_wait(struct client_app *app, const bool *flag)
{
	while (!*flag && !app->ending)
		if (uv_run(app->loop, UV_RUN_ONCE) == 0)
			break;
}

/* ---- showing what the server says ---------------------------------------- */

/* Sanitises a network string into app->clean at `at`; returns its length. */
static size_t clean(struct client_app *app, size_t at, struct wire_str s, unsigned flags)
{
	return sanitize_text(s.ptr, s.len, app->clean + at, sizeof(app->clean) - at, flags);
}

static void show_event(struct client_app *app, enum wire_type type, uint8_t kind,
		       uint64_t id, uint64_t time_ms, int colour, struct wire_str pseudo,
		       struct wire_str room, struct wire_str text, bool history)
{
	if (id > app->last_event_id)
		app->last_event_id = id;
	size_t p = clean(app, 0, pseudo, 0);
	size_t r = clean(app, p, room, 0);
	char *who = app->clean, *where = app->clean + p;
	struct chat_line line = {.time_ms = (int64_t)time_ms, .colour = colour,
				 .history = history};
	char notice[200];
	if (type == WIRE_MESSAGE) {
		size_t t = clean(app, p + r, text, SANITIZE_KEEP_NEWLINES);
		line.kind = CHAT_MESSAGE;
		line.pseudo = who;
		line.pseudo_len = p;
		line.text = app->clean + p + r;
		line.text_len = t;
		picture_show_in_order(app, &line);
		return;
	}
	bool in_default = r == strlen(DEFAULT_ROOM) && memcmp(where, DEFAULT_ROOM, r) == 0;
	int n;
	switch (kind) {
	case WIRE_NOTICE_JOIN:
		n = in_default ? snprintf(notice, sizeof(notice), _("Annonce : %.*s a rejoint la chatroom"), (int)p, who)
			       : snprintf(notice, sizeof(notice), _("Annonce : %.*s a rejoint le salon %.*s"), (int)p, who, (int)r, where);
		break;
	case WIRE_NOTICE_LEAVE:
		n = in_default ? snprintf(notice, sizeof(notice), _("Annonce : %.*s a quitté la chatroom"), (int)p, who)
			       : snprintf(notice, sizeof(notice), _("Annonce : %.*s a quitté le salon %.*s"), (int)p, who, (int)r, where);
		break;
	case WIRE_NOTICE_RETURN:
		n = snprintf(notice, sizeof(notice), _("%.*s est de retour !"), (int)p, who);
		break;
	default:
		n = (int)sanitize_text(text.ptr, text.len, notice, sizeof(notice) - 1, 0);
		break;
	}
	line.kind = CHAT_NOTICE;
	line.text = notice;
	line.text_len = n < 0 ? 0 : (size_t)n < sizeof(notice) ? (size_t)n : sizeof(notice) - 1;
	picture_show_in_order(app, &line);
}

/* Someone's picture: checked and decoded like one we send, off the loop
 * thread and in order (chatpicture.h); when it cannot be (or came without
 * its bytes), what the server drew instead. */
static void show_picture(struct client_app *app, uint64_t id, uint64_t time_ms, int colour,
			 struct wire_str pseudo, const void *data, size_t len, int width,
			 int height, struct wire_str drawing, bool history)
{
	if (id > app->last_event_id)
		app->last_event_id = id;
	size_t p = clean(app, 0, pseudo, 0);
	char head[160];
	snprintf(head, sizeof(head), _(" a envoyé une image (%d×%d) :"), width, height);
	struct chat_line line = {.kind = CHAT_IMAGE, .time_ms = (int64_t)time_ms,
				 .colour = colour, .pseudo = app->clean, .pseudo_len = p,
				 .text = head, .text_len = strlen(head), .history = history};
	picture_show_received(app, &line, data, len, drawing.ptr, drawing.len);
}

static struct wire_str json_str(const cJSON *o, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!cJSON_IsString(f))
		return (struct wire_str){"", 0};
	return (struct wire_str){f->valuestring, strlen(f->valuestring)};
}

static double json_num(const cJSON *o, const char *name, double otherwise)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNumber(f) ? f->valuedouble : otherwise;
}

/* The room's history, as the course asks: JSON, shown before live lines. */
static void show_history(struct client_app *app, const struct wire_msg *m)
{
	cJSON *events = cJSON_ParseWithLength(m->text.ptr, m->text.len);
	if (!cJSON_IsArray(events) || cJSON_GetArraySize(events) == 0) {
		cJSON_Delete(events);
		return;
	}
	char room[3 * 32 + 1], head[160];
	size_t n = sanitize_text(m->room.ptr, m->room.len > 32 ? 32 : m->room.len, room,
				 sizeof(room) - 1, 0);
	snprintf(head, sizeof(head), _("── historique du salon %.*s ──"), (int)n, room);
	picture_info_in_order(app, CHAT_INFO, head);
	const cJSON *ev;
	cJSON_ArrayForEach(ev, events) {
		struct wire_str kind = json_str(ev, "kind");
		enum wire_type type = WIRE_NOTICE;
		uint8_t notice = WIRE_NOTICE_INFO;
		if (kind.len == 7 && memcmp(kind.ptr, "message", 7) == 0)
			type = WIRE_MESSAGE;
		else if (kind.len == 4 && memcmp(kind.ptr, "join", 4) == 0)
			notice = WIRE_NOTICE_JOIN;
		else if (kind.len == 5 && memcmp(kind.ptr, "leave", 5) == 0)
			notice = WIRE_NOTICE_LEAVE;
		else if (kind.len == 6 && memcmp(kind.ptr, "return", 6) == 0)
			notice = WIRE_NOTICE_RETURN;
		else if (kind.len == 5 && memcmp(kind.ptr, "image", 5) == 0) {
			struct wire_str data = json_str(ev, "data");
			gsize len = 0;
			guchar *bytes = data.len > 0 ? g_base64_decode(data.ptr, &len) : NULL;
			show_picture(app, (uint64_t)json_num(ev, "id", 0),
				     (uint64_t)json_num(ev, "time", 0), (int)json_num(ev, "colour", -1),
				     json_str(ev, "pseudo"), bytes, len, (int)json_num(ev, "width", 0),
				     (int)json_num(ev, "height", 0), json_str(ev, "text"), true);
			g_free(bytes);
			continue;
		} else
			continue;
		show_event(app, type, notice, (uint64_t)json_num(ev, "id", 0),
			   (uint64_t)json_num(ev, "time", 0), (int)json_num(ev, "colour", -1),
			   json_str(ev, "pseudo"), json_str(ev, "room"), json_str(ev, "text"), true);
	}
	cJSON_Delete(events);
	picture_info_in_order(app, CHAT_INFO, _("── fin de l'historique ──"));
}

static void show_list(struct client_app *app, const struct wire_msg *m)
{
	struct wire_entry entries[256];
	size_t count = wire_entries(m, entries, 256);
	char list[4096];
	size_t used = 0;
	int n = m->type == WIRE_ROOMS ? snprintf(list, sizeof(list), _("Salons : "))
				      : snprintf(list, sizeof(list), _("Présents dans %.*s : "),
						 (int)(m->room.len > 32 ? 32 : m->room.len), m->room.ptr);
	used = (size_t)n;
	for (size_t i = 0; i < count && used < sizeof(list) - 64; i++) {
		char name[3 * 64];
		size_t len = sanitize_text(entries[i].name.ptr, entries[i].name.len, name,
					   sizeof(name), 0);
		n = m->type == WIRE_ROOMS
			? snprintf(list + used, sizeof(list) - used, "%s%.*s (%u)", i ? ", " : "",
				   (int)len, name, entries[i].count)
			: snprintf(list + used, sizeof(list) - used, "%s%.*s", i ? ", " : "",
				   (int)len, name);
		if (n < 0 || (size_t)n >= sizeof(list) - used)
			break;
		used += (size_t)n;
	}
	picture_info_in_order(app, CHAT_INFO, list);
}

static void remember_rooms(struct client_app *app, const struct wire_msg *m)
{
	struct wire_entry entries[CLIENT_MAX_ROOMS];
	app->room_count = wire_entries(m, entries, CLIENT_MAX_ROOMS);
	for (size_t i = 0; i < app->room_count; i++) {
		size_t len = entries[i].name.len > TEXT_MAX_ROOM ? TEXT_MAX_ROOM : entries[i].name.len;
		size_t n = sanitize_text(entries[i].name.ptr, len, app->rooms[i], TEXT_MAX_ROOM, 0);
		app->rooms[i][n] = '\0';
		app->room_members[i] = entries[i].count;
	}
	app->rooms_known = true;
}

static void on_frame(struct client_app *app, const struct wire_msg *m)
{
	switch (m->type) {
	case WIRE_WELCOME:
		app->welcomed = true;
		client_catch_signals(app);
		app->user_id = m->user_id;
		memcpy(app->token, m->token.ptr, sizeof(app->token));
		app->have_token = true;
		snprintf(app->room, sizeof(app->room), "%.*s",
			 (int)(m->room.len > TEXT_MAX_ROOM ? TEXT_MAX_ROOM : m->room.len), m->room.ptr);
		if (app->reconnecting)
			client_info(app, CHAT_INFO, _("*** reconnecté"));
		app->reconnecting = false;
		app->retries = 0;
		/* Who is there, for the status line only. */
		app->quiet_who++;
		link_send(app, &(struct wire_msg){.type = WIRE_WHO_ASK});
		client_status(app);
		break;
	case WIRE_ERROR: {
		size_t n = sanitize_text(m->text.ptr, m->text.len, app->refusal,
					 sizeof(app->refusal) - 1, 0);
		app->refusal[n] = '\0';
		if (!app->welcomed && (m->code == WIRE_ERR_PSEUDO || m->code == WIRE_ERR_ROOM ||
				       m->code == WIRE_ERR_TOKEN)) {
			app->hello_refused = true;
			if (m->code == WIRE_ERR_TOKEN)
				app->have_token = false;
			if (app->reconnecting)
				client_end(app, 1, "chatroom: the server did not take us back");
			return;
		}
		char text[300];
		snprintf(text, sizeof(text), _("Erreur : %s"), app->refusal);
		picture_info_in_order(app, CHAT_ERROR, text);
		break;
	}
	case WIRE_MESSAGE:
	case WIRE_NOTICE:
		show_event(app, m->type, m->kind, m->id, m->time_ms, m->colour, m->pseudo,
			   m->room, m->text, false);
		if (m->type == WIRE_NOTICE && m->kind == WIRE_NOTICE_JOIN && m->user_id == app->user_id &&
		    app->welcomed && (m->room.len != strlen(app->room) ||
				      memcmp(m->room.ptr, app->room, m->room.len) != 0)) {
			/* We moved (/join): a new room, and its people to count. */
			snprintf(app->room, sizeof(app->room), "%.*s",
				 (int)(m->room.len > TEXT_MAX_ROOM ? TEXT_MAX_ROOM : m->room.len), m->room.ptr);
			app->users = -1;
			app->quiet_who++;
			link_send(app, &(struct wire_msg){.type = WIRE_WHO_ASK});
			client_status(app);
		} else if (m->type == WIRE_NOTICE && app->users >= 0 &&
		    m->room.len == strlen(app->room) && memcmp(m->room.ptr, app->room, m->room.len) == 0) {
			if (m->kind == WIRE_NOTICE_JOIN || m->kind == WIRE_NOTICE_RETURN)
				app->users++;
			else if (m->kind == WIRE_NOTICE_LEAVE && app->users > 0)
				app->users--;
			client_status(app);
		}
		break;
	case WIRE_HISTORY:
		show_history(app, m);
		break;
	case WIRE_IMAGE:
		show_picture(app, m->id, m->time_ms, m->colour, m->pseudo, m->data.ptr, m->data.len,
			     (int)m->width, (int)m->height, (struct wire_str){"", 0}, false);
		break;
	case WIRE_ROOMS:
		if (!app->welcomed && !app->rooms_known)
			remember_rooms(app, m);
		else
			show_list(app, m);
		break;
	case WIRE_WHO:
		app->users = (int)m->entry_count;
		if (app->quiet_who > 0)
			app->quiet_who--;
		else
			show_list(app, m);
		client_status(app);
		break;
	case WIRE_PONG:
		app->lag_ms = (int)(uv_now(app->loop) - m->nonce);
		client_status(app);
		break;
	case WIRE_PING: {
		struct wire_msg pong = {.type = WIRE_PONG, .nonce = m->nonce};
		link_send(app, &pong);
		break;
	}
	default:
		break; /* PONG, and what a later version may add */
	}
}

/* Every few seconds the status line's lag: a PING carrying the loop's
 * clock, which the PONG brings back. */
static void on_ping(uv_timer_t *timer)
{
	struct client_app *app = timer->data;
	if (app->connected && app->welcomed)
		link_send(app, &(struct wire_msg){.type = WIRE_PING, .nonce = uv_now(app->loop)});
}

void link_start_pings(struct client_app *app)
{
	uv_timer_start(&app->ping_timer, on_ping, 100, 5000);
}

/* ---- reading ---------------------------------------------------------------- */

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct client_app *app = handle->data;
	*buf = uv_buf_init(app->read_buf, sizeof(app->read_buf));
}

static void on_data(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct client_app *app = stream->data;
	if (nread < 0) {
		char why[160];
		snprintf(why, sizeof(why), nread == UV_EOF
			 ? "the server at %s:%d closed the connection"
			 : "lost the server at %s:%d: %s",
			 app->cfg.address, app->cfg.port, uv_strerror((int)nread));
		link_lost(app, why);
		return;
	}
	wire_feed(&app->from_server, buf->base, (size_t)nread);
	while (!app->ending && app->connected) {
		struct wire_msg m;
		int rc = wire_next(&app->from_server, &m);
		if (rc == 0)
			return;
		if (rc < 0) {
			char why[160];
			snprintf(why, sizeof(why), "the server sent a bad frame (%s)",
				 app->from_server.cause);
			link_lost(app, why);
			return;
		}
		on_frame(app, &m);
	}
}

/* ---- connecting --------------------------------------------------------------- */

static void schedule_retry(struct client_app *app);

static void on_connected(uv_connect_t *req, int status)
{
	struct client_app *app = req->data;
	app->connect_status = status;
	if (status < 0) {
		if (app->reconnecting)
			schedule_retry(app);
		return;
	}
	app->connected = true;
	/* Chat lines are small and must not wait for Nagle's delay. */
	uv_tcp_nodelay(&app->tcp, 1);
	wire_decoder_free(&app->from_server);
	wire_decoder_init(&app->from_server, WIRE_MAX_FRAME);
	app->from_server.skip_text_preamble = true;
	uv_buf_t magic = uv_buf_init((char *)WIRE_MAGIC, WIRE_MAGIC_LEN);
	uv_try_write((uv_stream_t *)&app->tcp, &magic, 1);
	uv_read_start((uv_stream_t *)&app->tcp, on_alloc, on_data);
	if (app->reconnecting)
		link_hello(app);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct client_app *app = req->data;
	int rc = status;
	if (status == 0) {
		rc = uv_tcp_connect(&app->connect_req, &app->tcp, res->ai_addr, on_connected);
		uv_freeaddrinfo(res);
	}
	if (rc < 0) {
		app->connect_status = rc;
		if (app->reconnecting)
			schedule_retry(app);
	}
}

int link_connect(struct client_app *app)
{
	uv_tcp_init(app->loop, &app->tcp);
	app->tcp.data = app;
	app->tcp_open = true;
	app->connect_req.data = app;
	app->resolve_req.data = app;
	app->connect_status = 0;
	char port[16];
	snprintf(port, sizeof(port), "%d", app->cfg.port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	return uv_getaddrinfo(app->loop, &app->resolve_req, on_resolved, app->cfg.address,
			      port, &hints);
}

static void on_retry(uv_timer_t *timer)
{
	struct client_app *app = timer->data;
	if (app->ending)
		return;
	if (link_connect(app) < 0)
		schedule_retry(app);
}

static void on_closed_for_retry(uv_handle_t *handle)
{
	struct client_app *app = handle->data;
	app->tcp_open = false;
	if (app->ending)
		return;
	unsigned delay = RETRY_FIRST_MS << (app->retries < 5 ? app->retries : 5);
	if (delay > RETRY_MAX_MS)
		delay = RETRY_MAX_MS;
	app->retries++;
	uv_timer_start(&app->retry_timer, on_retry, delay, 0);
}

static void schedule_retry(struct client_app *app)
{
	if (app->retries >= RETRY_TRIES) {
		client_end(app, 1, "chatroom: the server is still away; giving up");
		return;
	}
	app->connected = false;
	if (app->tcp_open && !uv_is_closing((uv_handle_t *)&app->tcp))
		uv_close((uv_handle_t *)&app->tcp, on_closed_for_retry);
}

void link_lost(struct client_app *app, const char *why)
{
	app->connected = false;
	app->lag_ms = -1;
	client_status(app);
	if (!app->cfg.reconnect || !app->have_token || app->ending || !app->welcomed) {
		char msg[200];
		snprintf(msg, sizeof(msg), "chatroom: %s", why);
		client_end(app, 1, msg);
		return;
	}
	char msg[240];
	snprintf(msg, sizeof(msg), _("*** %s ; reconnexion…"), why);
	client_info(app, CHAT_INFO, msg);
	app->reconnecting = true;
	schedule_retry(app);
}

void link_close(struct client_app *app)
{
	app->connected = false;
	picture_queue_close(app);
	if (app->ping_timer.type == UV_TIMER && !uv_is_closing((uv_handle_t *)&app->ping_timer))
		uv_close((uv_handle_t *)&app->ping_timer, NULL);
	if (uv_is_active((uv_handle_t *)&app->retry_timer) || app->retry_timer.type == UV_TIMER)
		if (!uv_is_closing((uv_handle_t *)&app->retry_timer))
			uv_close((uv_handle_t *)&app->retry_timer, NULL);
	if (app->tcp_open && !uv_is_closing((uv_handle_t *)&app->tcp))
		uv_close((uv_handle_t *)&app->tcp, NULL);
}
