#include "ratelimit.h"

#include <math.h>

void bucket_init(struct token_bucket *b, double rate, double burst, int64_t now_ms)
{
	b->rate = rate;
	b->burst = burst;
	b->tokens = burst;
	b->last_ms = now_ms;
}

static bool take(double *tokens, int64_t *last_ms, double rate, double burst, double cost,
		 int64_t now_ms)
{
	if (rate <= 0)
		return true;
	if (now_ms > *last_ms) {
		*tokens += (double)(now_ms - *last_ms) * rate / 1000.0;
		*last_ms = now_ms;
	}
	if (*tokens > burst)
		*tokens = burst; /* (a level_init_full one's first take too) */
	if (*tokens < cost)
		return false;
	*tokens -= cost;
	return true;
}

bool bucket_take(struct token_bucket *b, double cost, int64_t now_ms)
{
	return take(&b->tokens, &b->last_ms, b->rate, b->burst, cost, now_ms);
}

void level_init(struct token_level *l, double burst, int64_t now_ms)
{
	l->tokens = burst;
	l->last_ms = now_ms;
}

bool level_take(struct token_level *l, double rate, double burst, double cost, int64_t now_ms)
{
	return take(&l->tokens, &l->last_ms, rate, burst, cost, now_ms);
}

void level_init_full(struct token_level *l, int64_t now_ms)
{
	l->tokens = HUGE_VAL;
	l->last_ms = now_ms;
}

bool level_full(const struct token_level *l, double rate, double burst, int64_t now_ms)
{
	if (rate <= 0)
		return true;
	double elapsed = now_ms > l->last_ms ? (double)(now_ms - l->last_ms) : 0.0;
	return l->tokens + elapsed * rate / 1000.0 >= burst;
}

bool bucket_full(const struct token_bucket *b, int64_t now_ms)
{
	if (b->rate <= 0)
		return true;
	double elapsed = now_ms > b->last_ms ? (double)(now_ms - b->last_ms) : 0.0;
	return b->tokens + elapsed * b->rate / 1000.0 >= b->burst;
}
