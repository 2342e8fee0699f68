/*
 * redis_int: what redis.c (the connection: states, connecting, reading,
 * deadlines) and redis_send.c (commands, subscriptions, the write queue)
 * share. Private to them: nothing else includes it.
 */
#ifndef CHATROOM_REDIS_INT_H
#define CHATROOM_REDIS_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "buffer.h"
#include "redis.h"
#include "resp.h"

/* One read's worth: 16 TCP segments of a 4 KiB-page loopback MTU. */
#define REDIS_READ_BYTES (64u * 1024)

enum redis_state { REDIS_WAITING, REDIS_CONNECTING, REDIS_READY, REDIS_CLOSED };

enum pending_kind { PENDING_USER, PENDING_SETUP, PENDING_SUBSCRIBE, PENDING_UNSUBSCRIBE,
		    PENDING_PING };

struct pending {
	STAILQ_ENTRY(pending) link;
	enum pending_kind kind;
	bool setup;        /* ready waits for it */
	const char *label; /* for causes: "AUTH", "SELECT"... */
	redis_reply_cb cb;
	void *data;
	uint64_t deadline;
};

struct sub {
	TAILQ_ENTRY(sub) link;
	bool pattern;
	redis_reply_cb cb; /* redis_subscribe's, until the SUBSCRIBE is sent */
	void *data;
	char name[]; /* terminated */
};

/* A command of every connection's setup, formatted once. */
struct setup_cmd {
	STAILQ_ENTRY(setup_cmd) link;
	size_t len;
	char cmd[];
};

struct resolve {
	uv_getaddrinfo_t req;
	struct redis *r;
	uint64_t gen;
};

struct redis {
	uv_loop_t *loop;
	struct redis_options o;
	char name[32];
	struct redis_events ev;
	void *data;
	enum redis_state state;
	uint64_t gen;
	uv_timer_t timer;
	uv_tcp_t tcp;
	uv_connect_t connect_req;
	uv_write_t write_req;
	bool tcp_open;    /* initialised, close callback still to come */
	bool timer_open;
	bool connected;   /* this gen's connect succeeded */
	bool writing;
	bool in_read;
	bool ping_out;
	unsigned resolving; /* getaddrinfo requests not yet called back */
	struct addrinfo *ai_list, *ai_next;
	struct sockaddr_storage addr; /* the numeric address, when it is one */
	bool numeric;
	struct resp_reader *reader;
	struct buffer out;    /* formatted, not yet handed to uv_write */
	struct buffer wbuf;   /* being written */
	STAILQ_HEAD(, pending) pending;
	size_t n_user;        /* PENDING_USER entries */
	TAILQ_HEAD(, sub) subs;
	STAILQ_HEAD(, setup_cmd) setup;
	unsigned setup_left;
	int failed_soon;      /* an error to reset for at the next timer run */
	unsigned attempt;
	uint64_t attempt_deadline, retry_at, last_io;
	uint64_t rng;
	char cause[256];
	char rbuf[REDIS_READ_BYTES];
};

/* redis.c */
uint64_t redis_now(const struct redis *r);
/* Formats a cause into r->cause, sanitised (it may quote Redis). */
const char *redis_cause(struct redis *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Sets the one timer for the earliest deadline of the current state. */
void redis_rearm(struct redis *r);
/* The connection (or attempt) failed: commands fail, the owner is told,
 * another attempt follows. */
void redis_drop(struct redis *r, int status, const char *cause);
/* Resets for err from the timer, at once but not from within a command
 * call: no command's callback runs before its call has returned. */
void redis_drop_soon(struct redis *r, int err);
/* Frees a closed connection once its handles and requests are back. */
void redis_maybe_free(struct redis *r);

/* redis_send.c */
void redis_flush(struct redis *r);
/* Queues a formatted command and its pending entry; 0 or UV_ENOMEM. */
int redis_push(struct redis *r, const char *cmd, size_t len, enum pending_kind kind,
	       const char *label, redis_reply_cb cb, void *data);
int redis_push_argv(struct redis *r, int argc, const char **argv, const size_t *argvlen,
		    enum pending_kind kind, const char *label, redis_reply_cb cb, void *data);
int redis_send_subscription(struct redis *r, struct sub *s, bool on);
void redis_cancel_subscription(struct redis *r, struct sub *s, int status);

#endif
