#include "identities.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "names.h"
#include "textproto.h"

struct identity_owner {
	unsigned char hash[IDENTITIES_HASH_LEN];
	char pseudo[TEXT_MAX_PSEUDO + 1];
	char skeleton[]; /* the key */
};

int identities_init(struct identities *ids)
{
	memset(ids, 0, sizeof(*ids));
	ids->by_skeleton = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free);
	return ids->by_skeleton != NULL ? 0 : -ENOMEM;
}

void identities_hash(const unsigned char secret[IDENTITIES_SECRET_LEN],
		     unsigned char out[IDENTITIES_HASH_LEN])
{
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(sum, secret, IDENTITIES_SECRET_LEN);
	gsize n = IDENTITIES_HASH_LEN;
	g_checksum_get_digest(sum, out, &n);
	g_checksum_free(sum);
}

const unsigned char *identities_owner(const struct identities *ids, const char *skeleton)
{
	const struct identity_owner *o = g_hash_table_lookup(ids->by_skeleton, skeleton);
	return o != NULL ? o->hash : NULL;
}

static int add(struct identities *ids, const char *skeleton, const char *pseudo, size_t len,
	       const unsigned char hash[IDENTITIES_HASH_LEN])
{
	if (g_hash_table_size(ids->by_skeleton) >= IDENTITIES_MAX)
		return -ENOSPC;
	size_t k = strlen(skeleton);
	struct identity_owner *o = malloc(sizeof(*o) + k + 1);
	if (o == NULL)
		return -ENOMEM;
	memcpy(o->hash, hash, IDENTITIES_HASH_LEN);
	snprintf(o->pseudo, sizeof(o->pseudo), "%.*s", (int)len, pseudo);
	memcpy(o->skeleton, skeleton, k + 1);
	g_hash_table_replace(ids->by_skeleton, o->skeleton, o);
	return 0;
}

int identities_claim(struct identities *ids, const char *skeleton, const char *pseudo,
		     const unsigned char hash[IDENTITIES_HASH_LEN])
{
	int rc = add(ids, skeleton, pseudo, strlen(pseudo), hash);
	if (rc == 0)
		ids->dirty = true;
	return rc;
}

static int hex_value(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "hash<TAB>pseudo": checked as a hello's pseudo is; a bad line is skipped. */
static void load_line(struct identities *ids, const char *line, size_t len)
{
	unsigned char hash[IDENTITIES_HASH_LEN];
	if (len < 2 * IDENTITIES_HASH_LEN + 2 || line[2 * IDENTITIES_HASH_LEN] != '\t')
		return;
	for (size_t i = 0; i < IDENTITIES_HASH_LEN; i++) {
		int hi = hex_value(line[2 * i]), lo = hex_value(line[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return;
		hash[i] = (unsigned char)(hi << 4 | lo);
	}
	const char *pseudo = line + 2 * IDENTITIES_HASH_LEN + 1, *cause;
	size_t plen = len - 2 * IDENTITIES_HASH_LEN - 1;
	char skeleton[NAMES_SKELETON_MAX];
	if (textproto_check_pseudo(pseudo, plen, &cause) < 0 ||
	    names_skeleton(pseudo, plen, skeleton, sizeof(skeleton)) < 0)
		return;
	add(ids, skeleton, pseudo, plen, hash);
}

int identities_open(struct identities *ids, const char *path)
{
	ids->path = strdup(path);
	if (ids->path == NULL)
		return -ENOMEM;
	gchar *text = NULL;
	gsize len = 0;
	GError *err = NULL;
	if (!g_file_get_contents(path, &text, &len, &err)) {
		bool missing = g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT);
		if (!missing)
			log_warn("identities: cannot read %s: %s", path, err->message);
		g_error_free(err);
		return missing ? 0 : -EIO;
	}
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl != NULL ? nl : end;
		load_line(ids, p, (size_t)(stop - p));
		p = stop + 1;
	}
	g_free(text);
	log_info("identities: %u pseudos owned", g_hash_table_size(ids->by_skeleton));
	return 0;
}

void identities_flush(struct identities *ids)
{
	if (!ids->dirty || ids->path == NULL)
		return;
	GString *out = g_string_new(NULL);
	GHashTableIter it;
	gpointer key, value;
	g_hash_table_iter_init(&it, ids->by_skeleton);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		const struct identity_owner *o = value;
		for (size_t i = 0; i < IDENTITIES_HASH_LEN; i++)
			g_string_append_printf(out, "%02x", o->hash[i]);
		g_string_append_printf(out, "\t%s\n", o->pseudo);
	}
	/* Another name, then a rename: a crash leaves the old file or the new. */
	GString *tmp = g_string_new(ids->path);
	g_string_append(tmp, ".tmp");
	/* Made anew, never through a link planted in its place. */
	unlink(tmp->str);
	int fd = open(tmp->str, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	bool ok = fd >= 0 && write(fd, out->str, out->len) == (ssize_t)out->len &&
		  fsync(fd) == 0;
	if (fd >= 0)
		close(fd);
	if (ok && rename(tmp->str, ids->path) == 0)
		ids->dirty = false;
	else
		log_warn("identities: cannot write %s: %s", ids->path, strerror(errno));
	g_string_free(tmp, TRUE);
	g_string_free(out, TRUE);
}

void identities_free(struct identities *ids)
{
	identities_flush(ids);
	if (ids->by_skeleton != NULL)
		g_hash_table_destroy(ids->by_skeleton);
	free(ids->path);
	memset(ids, 0, sizeof(*ids));
}
