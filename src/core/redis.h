/*
 * redis: one connection to a Redis server on the program's libuv loop,
 * kept up for as long as it is open.
 *
 * Our own uv_tcp_t carries the bytes; hiredis only formats commands
 * (redisFormatCommandArgv) and reads replies (through resp.h's bounds).
 * Its libuv adapter and async context are not used: with hiredis 0.14.1 a
 * connect to a closed port never calls back, and neither bounds what it
 * buffers.
 *
 * Every wait has a deadline: name resolution, connect and the setup
 * commands together (connect_timeout_ms), each command's reply
 * (command_timeout_ms; replies come in order, so an overdue reply resets
 * the connection). An idle connection is checked with PING every
 * ping_interval_ms. After any failure the connection is reset and tried
 * again after an exponential backoff with jitter.
 *
 * A command is given a callback, called exactly once: with the reply, or
 * with an error when the connection is reset before the reply came
 * (UV_ECONNRESET, UV_ETIMEDOUT...) or when the connection is closed
 * (UV_ECANCELED). Commands are refused (no callback) while the connection
 * is not ready, and beyond the bounds of the queue.
 *
 * A subscriber connection (options.subscriber) takes no commands: it holds
 * a set of channels and patterns, subscribes to them again after every
 * reconnection, and hands each message to the message callback. It is
 * ready once every subscription is confirmed, so a message published
 * after `ready` is never missed while the connection lasts.
 *
 * Ownership: redis_open makes the struct; redis_close ends it and frees it
 * once its handles are closed (the loop must run). Replies and messages
 * are the module's, valid during the callback only.
 */
#ifndef CHATROOM_REDIS_H
#define CHATROOM_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <uv.h>

/* ---- the server's address: redis://[[user]:password@]host[:port][/db] -- */

#define REDIS_DEFAULT_PORT 6379

struct redis_url {
	char host[256];      /* a name, an IPv4 or an IPv6 address (no brackets) */
	uint16_t port;
	char user[128];      /* "" for none (AUTH with the password only) */
	char password[512];  /* "" for none (no AUTH) */
	int db;              /* SELECT'ed when not 0 */
};

/* 0, or -EINVAL with *cause saying what is wrong. Percent-escapes are
 * decoded in the user and password. rediss:// (TLS) and unix sockets are
 * refused: not supported. */
int redis_url_parse(const char *url, struct redis_url *out, const char **cause);

/* The delay before reconnection attempt `attempt` (0 for the first retry):
 * min_ms doubled per attempt, at most max_ms, then "equal jitter": half of
 * it fixed, the other half scaled by random (0..UINT32_MAX), so that the
 * nodes of a cluster do not all come back at the same instant. */
uint64_t redis_backoff_ms(unsigned attempt, uint64_t min_ms, uint64_t max_ms,
			  uint32_t random);

/* ---- the connection ---------------------------------------------------- */

struct redis_options {
	struct redis_url url;
	const char *name;           /* for causes ("redis", "redis-sub"); copied */
	bool subscriber;
	uint64_t connect_timeout_ms; /* resolve, connect, AUTH, SELECT, SUBSCRIBEs */
	uint64_t command_timeout_ms;
	uint64_t ping_interval_ms;   /* 0: never */
	uint64_t backoff_min_ms, backoff_max_ms;
	size_t max_reply_bytes;      /* one reply, as resp.h counts it */
	size_t max_queue_bytes;      /* commands formatted and not yet written */
	size_t max_pending;          /* commands awaiting their reply */
};

/* Fills every field but url with the defaults. */
void redis_options_default(struct redis_options *o);

struct redis;

/* status 0: reply is Redis's answer, which may be an error reply
 * (REDIS_REPLY_ERROR). status < 0: no answer (reply NULL). */
typedef void (*redis_reply_cb)(struct redis *r, int status, redisReply *reply, void *data);

struct redis_message {
	const char *pattern;  /* the PSUBSCRIBE pattern that matched, or NULL */
	size_t pattern_len;
	const char *channel;
	size_t channel_len;
	const char *payload;
	size_t payload_len;
};

struct redis_events {
	/* Connected, authenticated, and (subscriber) every subscription
	 * confirmed. Optional. */
	void (*ready)(struct redis *r, void *data);
	/* An attempt failed or a ready connection was lost (after the callbacks
	 * of its commands); another attempt follows. cause is sanitised.
	 * Optional. */
	void (*down)(struct redis *r, int status, const char *cause, void *data);
	/* A message on a subscribed channel (subscriber only). */
	void (*message)(struct redis *r, const struct redis_message *m, void *data);
};

/* Starts connecting at once. 0, or a negative errno (nothing made). */
int redis_open(struct redis **out, uv_loop_t *loop, const struct redis_options *o,
	       const struct redis_events *ev, void *data);

/* Ends the connection: every command still waiting gets UV_ECANCELED
 * before this returns; nothing is called after. The struct is freed once
 * its handles are closed. */
void redis_close(struct redis *r);

bool redis_is_ready(const struct redis *r);

/* Sends a command (argv as given, binary-safe; argvlen NULL: C strings).
 * 0: cb will be called exactly once, never before this returns. Otherwise
 * no callback: UV_ENOTCONN (not ready), UV_ENOBUFS (queue bounds),
 * UV_EINVAL (a subscriber connection, or no arguments), UV_ENOMEM. */
int redis_command_argv(struct redis *r, int argc, const char **argv, const size_t *argvlen,
		       redis_reply_cb cb, void *data);

/* The same, formatted like redisFormatCommand ("SET %s %b", key, val, len). */
int redis_command(struct redis *r, redis_reply_cb cb, void *data, const char *fmt, ...);

/* A command sent at the start of every connection, after AUTH and SELECT
 * (SCRIPT LOAD, say): ready waits for its answer, and an error answer
 * fails the attempt. Sent at once as well when already connected. 0, or
 * UV_ENOMEM. */
int redis_add_setup(struct redis *r, int argc, const char **argv, const size_t *argvlen);

/* Drops the connection as after a failure (commands waiting get
 * UV_ECONNRESET, down is called with cause) and connects again after the
 * backoff. For an owner that finds the server's state unusable. */
void redis_reset(struct redis *r, const char *cause);

/* Adds a channel (pattern: a PSUBSCRIBE pattern) to the subscriber's set,
 * sent at once when connected, else with the next connection's setup, and
 * again after each reconnection. cb, when not NULL, is called once: 0 with
 * the first confirmation, an error when the connection went down after
 * sending it (the channel stays in the set), or UV_ECANCELED when it is
 * unsubscribed or closed before. 0, -EEXIST (already in the set, no
 * callback), UV_EINVAL (not a subscriber), UV_ENOMEM. */
int redis_subscribe(struct redis *r, const char *channel, bool pattern,
		    redis_reply_cb cb, void *data);

/* Takes a channel out of the set (UNSUBSCRIBE when connected). 0, or
 * -ENOENT. */
int redis_unsubscribe(struct redis *r, const char *channel, bool pattern);

/* For tests and logs: commands awaiting replies, and bytes not written. */
size_t redis_pending_count(const struct redis *r);
size_t redis_queued_bytes(const struct redis *r);

#endif
