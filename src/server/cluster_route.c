/*
 * cluster_route: private messages across nodes (see cluster_route.h).
 */
#include "cluster_route.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "clock.h"
#include "cluster_list.h"
#include "conn.h"
#include "hub.h"
#include "log.h"
#include "moderation.h"
#include "names.h"
#include "redis_rooms.h"
#include "redis_script.h"
#include "sanitize.h"
#include "social.h"
#include "strcount.h"
#include "textproto.h"

#define CHANNEL_PREFIX "{cluster}:node:"
#define NODE_MAX 64

/* KEYS: the pseudo's claim. ARGV: this node, the channels' prefix, the
 * message after its first line. Receivers reached: 0 when nobody holds
 * the pseudo, or this node does (its user is gone: the claim is stale),
 * or the holder's node hears nothing (dead). */
static const char route_lua[] =
	"local v = redis.call('GET', KEYS[1])\n"
	"if not v then return 0 end\n"
	"local node, conn = string.match(v, '^([^:]+):(%d+)$')\n"
	"if node == nil or node == ARGV[1] then return 0 end\n"
	"return redis.call('PUBLISH', ARGV[2] .. node, conn .. '\\n' .. ARGV[3])\n";

struct cluster_route {
	struct redis *cmd, *sub;
	struct bus *bus;
	struct redis_script route;
	char node[NODE_MAX + 1];
	char channel[sizeof(CHANNEL_PREFIX) + NODE_MAX];
	unsigned out;
	struct shares out_by_sender; /* of `out` */
	bool closed;
};

struct sending {
	struct cluster_route *cr;
	char kind;
	uint64_t conn_id;
	char address[CONN_ADDR_KEY_MAX]; /* the sender's address key */
	char from[CONN_MAX_PSEUDO + 1];
	char to[CONN_MAX_PSEUDO + 1];
	size_t len;
	char text[]; /* cleaned, for the echo */
};

#define TEXT_ERR_PRIVATE_BUSY "message privé à %.*s non envoyé : trop de messages " \
	"privés encore en route, réessayez"

static void route_free(struct cluster_route *cr)
{
	shares_free(&cr->out_by_sender);
	free(cr);
}

/* Nobody of that name (or, link: the link to the others is lost). */
static void refuse(struct conn *c, bool link, const char *pseudo)
{
	char why[256];
	if (link)
		snprintf(why, sizeof(why), TEXT_ERR_PRIVATE_LINK, (int)strlen(pseudo), pseudo);
	else
		snprintf(why, sizeof(why), TEXT_ERR_NO_SUCH_USER, (int)strlen(pseudo), pseudo);
	conn_error(c, CHAT_ERR_REFUSED, why);
}

static void on_routed(struct redis *r, int status, redisReply *x, void *data)
{
	struct sending *q = data;
	struct cluster_route *cr = q->cr;
	(void)r;
	cr->out--;
	shares_give_back(&cr->out_by_sender, q->conn_id, q->address);
	struct hub *h = cr->closed ? NULL : cr->bus->data;
	struct conn *c = h != NULL ? hub_find_named(h, q->from, strlen(q->from)) : NULL;
	if (c != NULL && c->id == q->conn_id && !c->closing) {
		if (status < 0 || x->type != REDIS_REPLY_INTEGER)
			refuse(c, true, q->to);
		else if (x->integer < 1)
			refuse(c, false, q->to);
		else if (q->kind == BUS_TO_PRIVATE)
			c->proto->send_private(c, &(struct chat_private){
				.pseudo = q->to, .colour = -1, .user_id = 0, .text = q->text,
				.len = q->len, .sent = true, .time_ms = clock_wall_ms()});
		else if (q->kind == BUS_TO_MUTE)
			moderation_mute_done(c, q->to, q->text, q->len);
		/* A kick or a ban shows as its departure, as on one server. */
	}
	free(q);
	if (cr->closed && cr->out == 0)
		route_free(cr);
}

int cluster_route_send(struct cluster_route *cr, struct conn *c, char kind,
		       const char *pseudo, size_t len, const char *text, size_t text_len)
{
	char skeleton[NAMES_SKELETON_MAX], key[REDIS_ROOMS_KEY_MAX];
	if (cr->closed || len > CONN_MAX_PSEUDO || text_len > CLUSTER_LIST_TEXT_MAX ||
	    names_skeleton(pseudo, len, skeleton, sizeof(skeleton)) < 0 ||
	    redis_rooms_pseudo_key(key, sizeof(key), skeleton) < 0)
		return -EINVAL;
	struct sending *q = malloc(sizeof(*q) + text_len);
	if (q == NULL)
		return -ENOMEM;
	q->cr = cr;
	q->kind = kind;
	q->conn_id = c->id;
	snprintf(q->from, sizeof(q->from), "%s", c->pseudo);
	snprintf(q->to, sizeof(q->to), "%.*s", (int)len, pseudo);
	q->len = text_len;
	memcpy(q->text, text, text_len);
	if (!redis_is_ready(cr->cmd) || cr->out >= CLUSTER_ROUTE_MAX_OUT) {
		refuse(c, true, q->to);
		free(q);
		return 0;
	}
	/* One sender's share of them: the others' messages still go. */
	snprintf(q->address, sizeof(q->address), "%s", conn_addr_key(c));
	if (shares_full(&cr->out_by_sender, c->id, q->address)) {
		char why[256];
		snprintf(why, sizeof(why), TEXT_ERR_PRIVATE_BUSY, (int)strlen(q->to), q->to);
		conn_error(c, CHAT_ERR_REFUSED, why);
		free(q);
		return 0;
	}
	/* "<kind>\n<to pseudo>\n<from user id>\n<colour>\n<from pseudo>\n<text>" */
	char head[CONN_MAX_PSEUDO * 2 + 64];
	int n = snprintf(head, sizeof(head), "%c\n%s\n%" PRIu64 "\n%d\n%s\n", kind, q->to,
			 c->user_id, c->colour, c->pseudo);
	char *payload = malloc((size_t)n + text_len);
	if (payload == NULL) {
		free(q);
		return -ENOMEM;
	}
	memcpy(payload, head, (size_t)n);
	memcpy(payload + n, text, text_len);
	const char *argv[] = {key, cr->node, CHANNEL_PREFIX, payload};
	const size_t argvlen[] = {strlen(key), strlen(cr->node), strlen(CHANNEL_PREFIX),
				  (size_t)n + text_len};
	int rc = redis_script_call(cr->cmd, &cr->route, 1, 3, argv, argvlen, on_routed, q);
	free(payload);
	if (rc < 0) {
		refuse(c, true, q->to);
		free(q);
		return 0;
	}
	cr->out++;
	shares_take(&cr->out_by_sender, c->id, q->address);
	return 0;
}

bool cluster_route_message(struct cluster_route *cr, const char *channel, size_t channel_len,
			   const char *payload, size_t len)
{
	if (channel_len != strlen(cr->channel) || memcmp(channel, cr->channel, channel_len) != 0)
		return false;
	struct cluster_private pm;
	struct hub *h = cr->bus->data;
	if (cr->closed || h == NULL)
		return true;
	if (cluster_list_private(payload, len, &pm) < 0) {
		log_warn("cluster: a private message on this node's channel is malformed: skipped");
		return true;
	}
	struct conn *to = hub_find_named(h, pm.to, strlen(pm.to));
	if (to == NULL || to->id != pm.to_conn_id || to->closing) {
		log_info("cluster: a private message for a user gone: dropped");
		return true;
	}
	size_t n = sanitize_text(pm.text, pm.len, h->clean, h->clean_cap, 0);
	if (pm.kind == BUS_TO_KICK) {
		log_info("%s (another server) kicked %s", pm.from, to->pseudo);
		moderation_kick_here(to, pm.from, h->clean, n);
		return true;
	}
	if (pm.kind == BUS_TO_BAN) {
		/* "<ms, 0 for ever> <reason>" */
		size_t i = 0;
		int64_t ms = 0;
		while (i < n && i < 15 && h->clean[i] >= '0' && h->clean[i] <= '9')
			ms = ms * 10 + (h->clean[i++] - '0');
		if (i > 0 && (i == n || h->clean[i] == ' ')) {
			size_t skip = i < n ? i + 1 : n;
			log_info("%s (another server) banned %s", pm.from, to->pseudo);
			moderation_ban_here(to, pm.from, ms, h->clean + skip, n - skip);
		}
		return true;
	}
	if (pm.kind == BUS_TO_MUTE) {
		/* "<ms> <duration as typed>" (cleaned: digits and a space stay) */
		size_t i = 0;
		int64_t ms = 0;
		while (i < n && i < 15 && h->clean[i] >= '0' && h->clean[i] <= '9')
			ms = ms * 10 + (h->clean[i++] - '0');
		if (i > 0 && i < n && h->clean[i] == ' ' && ms > 0)
			moderation_mute_here(to, pm.from, ms, h->clean + i + 1, n - i - 1);
		return true;
	}
	char skeleton[NAMES_SKELETON_MAX];
	uint64_t hash = names_skeleton(pm.from, strlen(pm.from), skeleton, sizeof(skeleton)) == 0
		? social_hash(skeleton) : 0;
	/* Ignored: dropped without a word, as on one server. */
	if (social_ignores(to, pm.from_user_id, hash))
		return true;
	to->proto->send_private(to, &(struct chat_private){
		.pseudo = pm.from, .colour = pm.colour, .user_id = pm.from_user_id,
		.text = h->clean, .len = n, .sent = false, .time_ms = clock_wall_ms()});
	struct social *s = social_of(to);
	if (s != NULL)
		snprintf(s->reply_to, sizeof(s->reply_to), "%.*s", (int)sizeof(s->reply_to) - 1,
			 pm.from);
	return true;
}

int cluster_route_new(struct cluster_route **out, struct redis *cmd, struct redis *sub,
		      const char *node, struct bus *bus)
{
	if (strlen(node) > NODE_MAX)
		return UV_EINVAL;
	struct cluster_route *cr = calloc(1, sizeof(*cr));
	if (cr == NULL)
		return UV_ENOMEM;
	cr->cmd = cmd;
	cr->sub = sub;
	cr->bus = bus;
	snprintf(cr->node, sizeof(cr->node), "%s", node);
	snprintf(cr->channel, sizeof(cr->channel), CHANNEL_PREFIX "%s", node);
	redis_script_init(&cr->route, route_lua, sizeof(route_lua) - 1);
	if (shares_init(&cr->out_by_sender, CLUSTER_ROUTE_MAX_OUT_PER_CONN,
			CLUSTER_ROUTE_MAX_OUT_PER_ADDRESS) < 0) {
		free(cr);
		return UV_ENOMEM;
	}
	int rc = redis_script_load(cmd, &cr->route);
	if (rc == 0)
		rc = redis_subscribe(sub, cr->channel, false, NULL, NULL);
	if (rc < 0) {
		route_free(cr);
		return rc;
	}
	*out = cr;
	return 0;
}

void cluster_route_close(struct cluster_route *cr)
{
	cr->closed = true;
	if (cr->out == 0)
		route_free(cr);
}
