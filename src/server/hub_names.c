/*
 * hub_names: who goes by which pseudo. It checks a new pseudo against
 * those present (by skeleton: "Alice" and "ａｌｉｃｅ" are one) and those
 * held for users away, names and renames a conn, finds a named conn, and
 * hands out user ids and colours. It owns the hub's table of pseudos
 * present (h->named: skeleton -> its count and conn) and the count of
 * wearers of each colour (h->colour_wearers).
 *
 * Its own file because names change for their own reasons (look-alikes,
 * held pseudos, the cluster's claims), apart from rooms and events.
 */
#include "hub.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "bus.h"
#include "clock.h"
#include "conn.h"
#include "lasting.h"
#include "log.h"
#include "textproto.h"

/* xterm-256 colours that read well on dark and on light backgrounds. */
static const int palette[HUB_PALETTE_SIZE] = {160, 28, 26, 130, 91, 31,
					       166, 64, 133, 37, 94, 62};

static int palette_index(int colour)
{
	for (int i = 0; i < HUB_PALETTE_SIZE; i++)
		if (palette[i] == colour)
			return i;
	return -1;
}

uint64_t hub_random_u64(void)
{
	uint64_t v = 0;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint64_t)clock_wall_ms() * 6364136223846793005ull; /* never in practice */
	return v;
}

/* A pseudo present, by skeleton: how many named conns wear it (one, but
 * for a moment of a cluster's claims) and the last of them to take it
 * (NULL once that one went). The table holds its key as both key and
 * value (one GLib array), and it replaces a count entry and a key copy:
 * 32 bytes a peer for a skeleton under 20 characters, lasting.h's. */
struct named {
	struct conn *conn;
	unsigned count;
	char skeleton[];
};

static struct named *named_of_key(char *key)
{
	return (struct named *)(void *)(key - offsetof(struct named, skeleton));
}

static void named_free(void *key)
{
	lasting_free(named_of_key(key), offsetof(struct named, skeleton) + strlen(key) + 1);
}

GHashTable *hub_names_new(void)
{
	return g_hash_table_new_full(g_str_hash, g_str_equal, named_free, NULL);
}

static struct named *named_find(const struct hub *h, const char *skeleton)
{
	char *key = g_hash_table_lookup(h->named, skeleton);
	return key != NULL ? named_of_key(key) : NULL;
}

/* c wears skeleton now (out of memory: uncounted, not refused). */
static void named_add(struct hub *h, struct conn *c, const char *skeleton)
{
	struct named *n = named_find(h, skeleton);
	if (n == NULL) {
		size_t len = strlen(skeleton);
		n = lasting_alloc(offsetof(struct named, skeleton) + len + 1);
		if (n == NULL)
			return;
		memcpy(n->skeleton, skeleton, len + 1);
		g_hash_table_add(h->named, n->skeleton);
	}
	n->count++;
	n->conn = c;
}

/* c wears skeleton no more. */
static void named_remove(struct hub *h, const struct conn *c, const char *skeleton)
{
	struct named *n = named_find(h, skeleton);
	if (n == NULL)
		return;
	if (n->conn == c)
		n->conn = NULL;
	if (--n->count == 0)
		g_hash_table_remove(h->named, n->skeleton); /* frees n */
}

struct conn *hub_named_conn(const struct hub *h, const char *skeleton)
{
	const struct named *n = named_find(h, skeleton);
	return n != NULL ? n->conn : NULL;
}

void hub_forget_name(struct hub *h, struct conn *c, const char *skeleton)
{
	if (skeleton != NULL)
		named_remove(h, c, skeleton);
	int worn = palette_index(c->colour);
	if (worn >= 0)
		h->colour_wearers[worn]--;
}

/* Taken when someone present has the same skeleton: "Alice", "alice" and
 * "ａｌｉｃｅ" are one pseudo. */
bool hub_pseudo_taken(const struct hub *h, const char *skeleton)
{
	return named_find(h, skeleton) != NULL;
}

/* A colour nobody present wears (nor `avoid`), when one is left. */
int hub_pick_colour(const struct hub *h, int avoid)
{
	bool usable[HUB_PALETTE_SIZE];
	size_t usable_count = 0;
	for (int pass = 0; pass < 3 && usable_count == 0; pass++)
		for (size_t i = 0; i < HUB_PALETTE_SIZE; i++) {
			/* Pass 0: free and not avoided; 1: not avoided; 2: any. */
			usable[i] = (pass == 2 || palette[i] != avoid) &&
				    (pass >= 1 || h->colour_wearers[i] == 0);
			usable_count += usable[i];
		}
	uint64_t pick = hub_random_u64() % usable_count;
	for (size_t i = 0; i < HUB_PALETTE_SIZE; i++)
		if (usable[i] && pick-- == 0)
			return palette[i];
	return palette[0];
}

uint64_t hub_new_user_id(void)
{
	/* JSON numbers are doubles: keep IDs within their 53 exact bits. */
	return (hub_random_u64() & ((1ull << 53) - 1)) | 1;
}

int hub_check_pseudo(const struct hub *h, const struct conn *c, const char *pseudo,
		     size_t len, char *skeleton, char *why, size_t why_len)
{
	const char *cause;
	if (textproto_check_pseudo(pseudo, len, &cause) < 0) {
		snprintf(why, why_len, "%s", cause);
		return -EINVAL;
	}
	if (names_skeleton(pseudo, len, skeleton, NAMES_SKELETON_MAX) < 0) {
		snprintf(why, why_len, "%s", TEXT_ERR_PSEUDO_BAD_CHAR);
		return -EINVAL;
	}
	if (hub_pseudo_taken(h, skeleton)) {
		snprintf(why, why_len, TEXT_ERR_PSEUDO_TAKEN, (int)len, pseudo);
		return -EEXIST;
	}
	switch (users_held(&h->users, skeleton, conn_addr_key(c))) {
	case USERS_HELD_FOR_SESSION:
		snprintf(why, why_len, TEXT_ERR_PSEUDO_HELD_SESSION, (int)len, pseudo);
		return -EEXIST;
	case USERS_HELD_FOR_ADDRESS:
		snprintf(why, why_len, TEXT_ERR_PSEUDO_HELD_ADDRESS, (int)len, pseudo);
		return -EEXIST;
	case USERS_FREE:
		break;
	}
	return 0;
}

void hub_name(struct hub *h, struct conn *c, const char *pseudo, size_t len,
	      const char *skeleton, uint64_t user_id, int colour)
{
	memcpy(c->pseudo, pseudo, len);
	c->pseudo[len] = '\0';
	c->colour = colour >= 0 ? colour : hub_pick_colour(h, -1);
	c->has_pseudo = true;
	named_add(h, c, skeleton);
	if (h->bus != NULL && h->bus->ops->claim != NULL)
		h->bus->ops->claim(h->bus, skeleton, c);
	/* Whoever held it before has it no more (its address took it anew). */
	users_forget_departure(&h->users, skeleton);
	int worn = palette_index(c->colour);
	if (worn >= 0)
		h->colour_wearers[worn]++;
	c->user_id = user_id != 0 ? user_id : hub_new_user_id();
}

struct conn *hub_find_named(const struct hub *h, const char *pseudo, size_t len)
{
	char skeleton[NAMES_SKELETON_MAX];
	if (names_skeleton(pseudo, len, skeleton, sizeof(skeleton)) < 0)
		return NULL;
	return hub_named_conn(h, skeleton);
}

void hub_rename(struct hub *h, struct conn *c, const char *pseudo, size_t len,
		const char *skeleton)
{
	char old[CONN_MAX_PSEUDO + 1], old_skeleton[NAMES_SKELETON_MAX];
	snprintf(old, sizeof(old), "%s", c->pseudo);
	/* Announced under the old name, to each of its rooms and c itself. */
	struct seat *s;
	LIST_FOREACH(s, &c->seats, of_conn)
		hub_publish(h, s->room, &(struct event){
			.kind = EVENT_NICK, .sender_id = c->user_id, .pseudo = old,
			.colour = c->colour, .text = pseudo, .text_len = len}, 0);
	if (names_skeleton(old, strlen(old), old_skeleton, sizeof(old_skeleton)) == 0)
		named_remove(h, c, old_skeleton);
	memcpy(c->pseudo, pseudo, len);
	c->pseudo[len] = '\0';
	named_add(h, c, skeleton);
	users_forget_departure(&h->users, skeleton);
	log_info("%s (%s) is now %s", old, conn_addr(c), c->pseudo);
}
