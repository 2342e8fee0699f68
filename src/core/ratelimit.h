/*
 * ratelimit: a token bucket, the flood control of IRC servers: `burst`
 * tokens at most, refilled at `rate` tokens a second; each action takes
 * its cost or is refused. Pure: the caller passes the time.
 */
#ifndef CHATROOM_RATELIMIT_H
#define CHATROOM_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct token_bucket {
	double tokens;
	double rate;  /* tokens a second; 0 means no limit */
	double burst; /* the most tokens it can hold */
	int64_t last_ms;
};

/* A bucket without its rate and burst, for one of many alike that all
 * take them from the same settings (each connection's budgets): 16 bytes
 * where a token_bucket takes 32. The same arithmetic as bucket_take. */
struct token_level {
	double tokens;
	int64_t last_ms;
};

/* Starts full. */
void level_init(struct token_level *l, double burst, int64_t now_ms);
bool level_take(struct token_level *l, double rate, double burst, double cost, int64_t now_ms);
/* Starts full whatever its burst (which is not known here): the first
 * take caps it at the burst it is given. */
void level_init_full(struct token_level *l, int64_t now_ms);
/* True when it would be full by now: a new level would be the same. */
bool level_full(const struct token_level *l, double rate, double burst, int64_t now_ms);

/* Starts full. */
void bucket_init(struct token_bucket *b, double rate, double burst, int64_t now_ms);
/* Takes `cost` tokens if there are enough; false (and nothing taken) if not. */
bool bucket_take(struct token_bucket *b, double cost, int64_t now_ms);
/* True when it would be full by now: its owner may forget it, as a new
 * bucket would be the same. */
bool bucket_full(const struct token_bucket *b, int64_t now_ms);

#endif
