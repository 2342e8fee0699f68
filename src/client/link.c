/*
 * link: the client's connection to the server, in the binary protocol:
 * connecting, the hello, the frames that come back, and reconnecting with
 * a resume token when the connection drops (--reconnect).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "i18n.h"
#include "sanitize.h"

/* Reconnection: 0.5 s, doubling up to 8 s, ten tries in all. */
#define RETRY_FIRST_MS 500
#define RETRY_MAX_MS 8000
#define RETRY_TRIES 10

/* ---- sending -------------------------------------------------------------- */

struct outgoing {
	uv_write_t req;
	struct frame *frame;
	bool pong;
};

static void on_sent(uv_write_t *req, int status)
{
	struct outgoing *out = (struct outgoing *)req;
	struct client_app *app = req->handle->data;
	if (out->pong)
		app->pong_outstanding = false;
	frame_unref(out->frame);
	free(out);
	(void)status; /* a failed write shows up as a failed read too */
}

static int send_bytes(struct client_app *app, struct frame *f, bool pong)
{
	if (f == NULL || !app->connected) {
		frame_unref(f);
		return UV_ENOTCONN;
	}
	struct outgoing *out = malloc(sizeof(*out));
	if (out == NULL) {
		frame_unref(f);
		return UV_ENOMEM;
	}
	out->frame = f;
	out->pong = pong;
	uv_buf_t buf = uv_buf_init(f->data, f->len);
	int rc = uv_write(&out->req, (uv_stream_t *)&app->tcp, &buf, 1, on_sent);
	if (rc < 0) {
		frame_unref(f);
		free(out);
	}
	return rc;
}

void link_send(struct client_app *app, const struct wire_msg *m)
{
	send_bytes(app, wire_encode(m), false);
}

/* A server's PING is answered while no PONG of ours waits to be written:
 * one that PINGs without reading would otherwise fill our memory with
 * answers (security review L5); the ones skipped meanwhile need none. */
static void answer_ping(struct client_app *app, uint64_t nonce)
{
	if (app->pong_outstanding)
		return;
	struct wire_msg pong = {.type = WIRE_PONG, .nonce = nonce};
	app->pong_outstanding = send_bytes(app, wire_encode(&pong), true) == 0;
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

/* The room the server says we are in: shown in the status line and
 * compared with every notice's, so checked as the server checks a name; a
 * server that names another (escape sequences, say: security review M2)
 * is broken or hostile, and the session ends. False when it did. */
static bool take_room(struct client_app *app, struct wire_str room)
{
	const char *cause = "";
	if (textproto_check_room(room.ptr, room.len, &cause) < 0 || room.len > TEXT_MAX_ROOM) {
		char why[200];
		snprintf(why, sizeof(why), "chatroom: the server sent an invalid room name (%s)",
			 room.len > TEXT_MAX_ROOM ? "too long" : cause);
		client_end(app, 1, why);
		return false;
	}
	memcpy(app->room, room.ptr, room.len);
	app->room[room.len] = '\0';
	return true;
}

static void on_frame(struct client_app *app, const struct wire_msg *m)
{
	switch (m->type) {
	case WIRE_WELCOME:
		if (!take_room(app, m->room))
			return;
		app->welcomed = true;
		client_catch_signals(app);
		app->user_id = m->user_id;
		memcpy(app->token, m->token.ptr, sizeof(app->token));
		app->have_token = true;
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
		client_info(app, CHAT_ERROR, text);
		break;
	}
	case WIRE_MESSAGE:
	case WIRE_NOTICE:
		incoming_event(app, m->type, m->kind, m->id, m->time_ms, m->colour, m->pseudo,
			       m->room, m->text, false);
		if (m->type == WIRE_NOTICE && m->kind == WIRE_NOTICE_JOIN && m->user_id == app->user_id &&
		    app->welcomed && (m->room.len != strlen(app->room) ||
				      memcmp(m->room.ptr, app->room, m->room.len) != 0)) {
			/* We moved (/join): a new room, and its people to count. */
			if (!take_room(app, m->room))
				return;
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
		incoming_history(app, m);
		break;
	case WIRE_IMAGE:
		incoming_picture(app, m->id, m->time_ms, m->colour, m->pseudo, m->data.ptr,
				 m->data.len, m->width > INT_MAX ? INT_MAX : (int)m->width,
				 m->height > INT_MAX ? INT_MAX : (int)m->height,
				 (struct wire_str){"", 0}, false);
		break;
	case WIRE_ROOMS:
		if (!app->welcomed && !app->rooms_known)
			incoming_rooms(app, m);
		else
			incoming_list(app, m);
		break;
	case WIRE_WHO:
		app->users = (int)m->entry_count;
		if (app->quiet_who > 0)
			app->quiet_who--;
		else
			incoming_list(app, m);
		client_status(app);
		break;
	case WIRE_PONG: {
		/* The nonce is our clock when we pinged, unless the server lies. */
		uint64_t now = uv_now(app->loop);
		app->lag_ms = m->nonce <= now && now - m->nonce < 3600000 ? (int)(now - m->nonce) : -1;
		client_status(app);
		break;
	}
	case WIRE_PING:
		answer_ping(app, m->nonce);
		break;
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
	if (app->ping_timer.type == UV_TIMER && !uv_is_closing((uv_handle_t *)&app->ping_timer))
		uv_close((uv_handle_t *)&app->ping_timer, NULL);
	if (uv_is_active((uv_handle_t *)&app->retry_timer) || app->retry_timer.type == UV_TIMER)
		if (!uv_is_closing((uv_handle_t *)&app->retry_timer))
			uv_close((uv_handle_t *)&app->retry_timer, NULL);
	if (app->tcp_open && !uv_is_closing((uv_handle_t *)&app->tcp))
		uv_close((uv_handle_t *)&app->tcp, NULL);
}
