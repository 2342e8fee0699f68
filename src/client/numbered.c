/*
 * numbered: message ids, ACKs and resends for the session (see numbered.h).
 */
#include "numbered.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "client.h"
#include "i18n.h"
#include "outbox.h"

void numbered_init(struct client_app *app)
{
	uint64_t first = 0;
	if (getrandom(&first, sizeof(first), 0) != (ssize_t)sizeof(first))
		first = (uint64_t)uv_hrtime(); /* still unlikely to meet another run's */
	/* 63 bits: room to count up without wrapping to 0. */
	outbox_init(&app->outbox, (first >> 1) | 1);
}

uint64_t numbered_id(struct client_app *app, struct wire_str room, const char *text,
		     size_t len)
{
	if (!app->server_acks)
		return 0;
	uint64_t id = outbox_add(&app->outbox, room.len > 0 ? room.ptr : "", room.len, text, len);
	if (id == 0) {
		char msg[256];
		snprintf(msg, sizeof(msg),
			 _("Le serveur n'a pas encore confirmé %zu messages : celui-ci part sans "
			   "être gardé, il ne sera pas renvoyé après une reconnexion."),
			 outbox_count(&app->outbox));
		client_info(app, CHAT_ERROR, msg);
	}
	return id;
}

void numbered_welcomed(struct client_app *app, const struct wire_msg *welcome)
{
	app->server_acks = (welcome->features & WIRE_SERVER_ACKS) != 0;
	/* Oldest first, as they were said; the server drops what it had. */
	for (size_t i = 0; i < outbox_count(&app->outbox); i++) {
		const struct outbox_msg *m = outbox_at(&app->outbox, i);
		link_send(&app->link, &(struct wire_msg){
			.type = WIRE_SAY, .text = {m->text, m->text_len},
			.room = {m->room, strlen(m->room)},
			.msg_id = app->server_acks ? m->id : 0});
	}
	if (!app->server_acks) /* no ACK will come: sent once more, as before */
		outbox_free(&app->outbox);
}

void numbered_end(struct client_app *app)
{
	for (size_t i = 0; i < outbox_count(&app->outbox); i++)
		fprintf(stderr, _("chatroom: pas confirmé par le serveur (peut-être perdu) : %s\n"),
			outbox_at(&app->outbox, i)->text);
	outbox_free(&app->outbox);
}

bool numbered_frame(struct client_app *app, const struct wire_msg *m)
{
	if (m->type != WIRE_ACK)
		return false;
	outbox_ack(&app->outbox, m->msg_id);
	return true;
}
