/*
 * idem: the numbered messages one server published lately (issue 19), so
 * that a retry of one (the client sent it again after a reconnection) is
 * acknowledged, not published twice: what Redis's `{R}:idem:` keys do for
 * a cluster, for a server alone (bus_local.c).
 *
 * Keys "<sender key>:<message id>" (msgack.h), each kept keep_ms; at most
 * max of them: past that the oldest goes first (its retry would be
 * published again), so memory stays bounded whatever the peers send.
 * The struct is its maker's.
 */
#ifndef CHATROOM_IDEM_H
#define CHATROOM_IDEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds its memory: about 8 MiB when full (test_cluster_ack.py
 * measures it). */
#define IDEM_MAX 65536

struct idem;

struct idem *idem_new(size_t max, int64_t keep_ms);
void idem_free(struct idem *d);
/* True when sender's msg_id was recorded less than keep_ms before now;
 * *event_id is the id it got. */
bool idem_find(struct idem *d, const char *sender, uint64_t msg_id, int64_t now,
	       uint64_t *event_id);
/* Records it (now). 0, or -ENOMEM (then a retry would be published again). */
int idem_add(struct idem *d, const char *sender, uint64_t msg_id, uint64_t event_id,
	     int64_t now);
size_t idem_count(const struct idem *d);

#endif
