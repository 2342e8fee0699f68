/*
 * redis_url: the parts of redis.h with no I/O: the server's URL and the
 * reconnection delay. Unit-tested alone.
 */
#include "redis.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* Room for any port and database number, and for nothing sillier. */
#define REDIS_URL_MAX_DB 1000000

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Copies s[0..len) into out (cap bytes, terminated), decoding %XX. A
 * decoded NUL is refused: AUTH would see a shorter password. */
static int decode(const char *s, size_t len, char *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= len)
				return -EINVAL;
			int hi = hex_value(s[i + 1]);
			int lo = hex_value(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -EINVAL;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (n + 1 >= cap)
			return -EINVAL;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

/* A decimal number of 1 to 7 digits within [min, max]. */
static int number(const char *s, size_t len, long min, long max, long *out)
{
	long v = 0;
	if (len == 0 || len > 7)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int bad(const char **cause, const char *why)
{
	*cause = why;
	return -EINVAL;
}

int redis_url_parse(const char *url, struct redis_url *out, const char **cause)
{
	static const char scheme[] = "redis://";
	memset(out, 0, sizeof(*out));
	out->port = REDIS_DEFAULT_PORT;
	if (strncasecmp(url, "rediss://", 9) == 0)
		return bad(cause, "TLS (rediss://) is not supported");
	if (strncasecmp(url, "unix:", 5) == 0 || strncasecmp(url, "redis+unix:", 11) == 0 ||
	    strncasecmp(url, "redis-socket:", 13) == 0)
		return bad(cause, "unix sockets are not supported: give redis://host:port");
	if (strncasecmp(url, scheme, sizeof(scheme) - 1) != 0)
		return bad(cause, "expected redis://[[user]:password@]host[:port][/db]");
	const char *p = url + sizeof(scheme) - 1;
	if (strpbrk(p, "?#") != NULL)
		return bad(cause, "query strings and fragments are not supported");
	for (const char *c = p; *c != '\0'; c++)
		if ((unsigned char)*c <= ' ' || (unsigned char)*c == 0x7f)
			return bad(cause, "spaces and control characters are not allowed");

	const char *slash = strchr(p, '/');
	size_t auth_len = slash != NULL ? (size_t)(slash - p) : strlen(p);
	/* The last '@': a password may hold '@' only percent-encoded, but be
	 * lenient where it costs nothing. */
	const char *at = memrchr(p, '@', auth_len);
	const char *host = p;
	if (at != NULL) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if (colon == NULL)
			return bad(cause, "give the password as :password@ (or user:password@)");
		if (decode(p, (size_t)(colon - p), out->user, sizeof(out->user)) < 0)
			return bad(cause, "the user name is too long or badly escaped");
		if (decode(colon + 1, (size_t)(at - colon - 1), out->password,
			   sizeof(out->password)) < 0)
			return bad(cause, "the password is too long or badly escaped");
		if (out->password[0] == '\0')
			return bad(cause, "the password is empty");
		host = at + 1;
	}
	size_t host_len = (size_t)(p + auth_len - host);
	const char *port = NULL;
	size_t name_len;
	if (host_len > 0 && host[0] == '[') {
		const char *close = memchr(host, ']', host_len);
		if (close == NULL)
			return bad(cause, "an IPv6 address needs its closing ']'");
		name_len = (size_t)(close - host - 1);
		host++;
		if (close + 1 < p + auth_len) {
			if (close[1] != ':')
				return bad(cause, "expected ':port' after the IPv6 address");
			port = close + 2;
		}
	} else {
		const char *colon = memchr(host, ':', host_len);
		name_len = colon != NULL ? (size_t)(colon - host) : host_len;
		if (colon != NULL)
			port = colon + 1;
	}
	if (name_len == 0)
		return bad(cause, "the host is missing");
	if (name_len >= sizeof(out->host))
		return bad(cause, "the host name is too long");
	if (memchr(host, '%', name_len) != NULL || memchr(host, '@', name_len) != NULL)
		return bad(cause, "the host holds a character a host name cannot");
	memcpy(out->host, host, name_len);
	out->host[name_len] = '\0';
	if (port != NULL) {
		long v;
		if (number(port, (size_t)(p + auth_len - port), 1, 65535, &v) < 0)
			return bad(cause, "the port must be a number from 1 to 65535");
		out->port = (uint16_t)v;
	}
	if (slash != NULL && slash[1] != '\0') {
		long v;
		if (number(slash + 1, strlen(slash + 1), 0, REDIS_URL_MAX_DB, &v) < 0)
			return bad(cause, "the database must be a number (/0, /1...)");
		out->db = (int)v;
	}
	return 0;
}

uint64_t redis_backoff_ms(unsigned attempt, uint64_t min_ms, uint64_t max_ms, uint32_t random)
{
	if (min_ms == 0)
		min_ms = 1;
	if (max_ms > UINT32_MAX)
		max_ms = UINT32_MAX; /* 49 days: keeps the product below */
	if (min_ms > max_ms)
		min_ms = max_ms;
	if (max_ms < min_ms)
		max_ms = min_ms;
	uint64_t d = min_ms;
	for (unsigned i = 0; i < attempt && d < max_ms; i++)
		d = d > max_ms / 2 ? max_ms : d * 2;
	if (d > max_ms)
		d = max_ms;
	uint64_t half = d / 2;
	/* (d - half) * random / 2^32 stays below d - half; both factors are
	 * under 2^32. */
	return half + ((d - half) * (uint64_t)random >> 32);
}
