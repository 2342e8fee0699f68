/*
 * hub_names: who goes by which pseudo. It checks a new pseudo against
 * those present (by skeleton: "Alice" and "ａｌｉｃｅ" are one) and those
 * held for users away, names and renames a conn, finds a named conn, and
 * hands out user ids and colours. It owns the hub's count of pseudos
 * present (h->pseudos), the skeleton -> conn table (h->named) and the
 * count of wearers of each colour (h->colour_wearers).
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

void hub_forget_name(struct hub *h, struct conn *c, const char *skeleton)
{
	if (skeleton != NULL && g_hash_table_lookup(h->named, skeleton) == c)
		g_hash_table_remove(h->named, skeleton);
	if (skeleton != NULL)
		strcount_remove(&h->pseudos, skeleton);
	int worn = palette_index(c->colour);
	if (worn >= 0)
		h->colour_wearers[worn]--;
}

/* Taken when someone present has the same skeleton: "Alice", "alice" and
 * "ａｌｉｃｅ" are one pseudo. */
bool hub_pseudo_taken(const struct hub *h, const char *skeleton)
{
	return strcount_get(&h->pseudos, skeleton) > 0;
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
	strcount_add(&h->pseudos, skeleton); /* out of memory: unchecked, not refused */
	g_hash_table_insert(h->named, lasting_strdup(skeleton), c);
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
	return g_hash_table_lookup(h->named, skeleton);
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
	if (names_skeleton(old, strlen(old), old_skeleton, sizeof(old_skeleton)) == 0) {
		if (g_hash_table_lookup(h->named, old_skeleton) == c)
			g_hash_table_remove(h->named, old_skeleton);
		strcount_remove(&h->pseudos, old_skeleton);
	}
	memcpy(c->pseudo, pseudo, len);
	c->pseudo[len] = '\0';
	strcount_add(&h->pseudos, skeleton);
	g_hash_table_insert(h->named, lasting_strdup(skeleton), c);
	users_forget_departure(&h->users, skeleton);
	log_info("%s (%s) is now %s", old, conn_addr(c), c->pseudo);
}
