/*
 * msgack: numbered messages and their acknowledgements (see msgack.h).
 */
#include "msgack.h"

#include <glib.h>
#include <string.h>

#include "conn.h"
#include "event.h"
#include "hub.h"
#include "names.h"
#include "social.h"
#include "wire.h"

/* Peers that numbered a message: the bus's acknowledgement may come after
 * the SAY's turn (Redis), by conn id; the key points into the conn. */
static GHashTable *peers;

void msgack_sender_key(const struct conn *c, char out[MSGACK_KEY_MAX])
{
	gchar *hex;
	char kind;
	const struct social *social = conn_social(c);
	if (social != NULL && social->has_identity) {
		/* Already a hash (SHA-256 of the secret): shortened, hex. */
		kind = 'i';
		hex = g_compute_checksum_for_data(G_CHECKSUM_SHA256, social->identity,
						  sizeof(social->identity));
	} else {
		/* The pseudo, up to look-alikes: what the cluster keeps unique. */
		char skeleton[NAMES_SKELETON_MAX];
		if (names_skeleton(c->pseudo, strlen(c->pseudo), skeleton, sizeof(skeleton)) < 0)
			g_strlcpy(skeleton, c->pseudo, sizeof(skeleton));
		kind = 'p';
		hex = g_compute_checksum_for_string(G_CHECKSUM_SHA256, skeleton, -1);
	}
	out[0] = kind;
	g_strlcpy(out + 1, hex != NULL ? hex : "", 25);
	g_free(hex);
}

static void send_ack(struct conn *c, uint64_t msg_id, uint64_t event_id)
{
	if (c->closing || msg_id == 0)
		return;
	conn_reply(c, wire_encode(&(struct wire_msg){.type = WIRE_ACK, .msg_id = msg_id,
						     .id = event_id, .colour = -1}));
}

void msgack_say(struct hub *h, struct conn *c, struct room *room, const char *text,
		size_t len, uint64_t msg_id)
{
	if (msg_id == 0) {
		hub_say(h, c, room, text, len);
		return;
	}
	if (peers == NULL)
		peers = g_hash_table_new(g_int64_hash, g_int64_equal);
	/* Out of memory: no table, the ACK goes nowhere; the client sends the
	 * message again after a reconnection, and the bus knows it then. */
	if (peers != NULL)
		g_hash_table_insert(peers, &c->id, c);
	char key[MSGACK_KEY_MAX];
	msgack_sender_key(c, key);
	if (hub_say_numbered(h, c, room, text, len, msg_id, key) < 0)
		send_ack(c, msg_id, 0); /* refused, and told why: not to be sent again */
}

void msgack_settle(struct conn *c, uint64_t msg_id)
{
	send_ack(c, msg_id, 0);
}

void msgack_acked(void *data, uint64_t conn_id, uint64_t msg_id, uint64_t event_id)
{
	(void)data;
	struct conn *c = peers != NULL ? g_hash_table_lookup(peers, &conn_id) : NULL;
	if (c != NULL)
		send_ack(c, msg_id, event_id);
}

void msgack_forget(struct conn *c)
{
	if (peers != NULL)
		g_hash_table_remove(peers, &c->id);
}

void msgack_close(void)
{
	if (peers != NULL)
		g_hash_table_destroy(peers);
	peers = NULL;
}
