#include "ratelimit.h"

void bucket_init(struct token_bucket *b, double rate, double burst, int64_t now_ms)
{
	b->rate = rate;
	b->burst = burst;
	b->tokens = burst;
	b->last_ms = now_ms;
}

bool bucket_take(struct token_bucket *b, double cost, int64_t now_ms)
{
	if (b->rate <= 0)
		return true;
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * b->rate / 1000.0;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
		b->last_ms = now_ms;
	}
	if (b->tokens < cost)
		return false;
	b->tokens -= cost;
	return true;
}

bool bucket_full(const struct token_bucket *b, int64_t now_ms)
{
	if (b->rate <= 0)
		return true;
	double elapsed = now_ms > b->last_ms ? (double)(now_ms - b->last_ms) : 0.0;
	return b->tokens + elapsed * b->rate / 1000.0 >= b->burst;
}
