#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "i18n.h"

const char *trust_known_path(char *buf, size_t len)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	if (state != NULL && state[0] == '/')
		snprintf(buf, len, "%s/chatroom/known_servers", state);
	else if (home != NULL && home[0] != '\0')
		snprintf(buf, len, "%s/.local/state/chatroom/known_servers", home);
	else
		return NULL;
	return buf;
}

bool trust_pin_valid(const char *pin)
{
	if (strncmp(pin, "SHA256:", 7) != 0 || strlen(pin) != TLS_FINGERPRINT_LEN)
		return false;
	for (const char *p = pin + 7; *p != '\0'; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '+' || *p == '/'))
			return false;
	return true;
}

/* The key remembered for server: into found (and its line number), or
 * false when none is. */
static bool known_key(const char *path, const char *server, char *found, size_t len,
		      unsigned *line_no)
{
	FILE *f = path != NULL ? fopen(path, "r") : NULL;
	if (f == NULL)
		return false;
	char line[512];
	size_t server_len = strlen(server);
	unsigned n = 0;
	long read = 0;
	bool hit = false;
	while (!hit && read < TRUST_FILE_MAX && fgets(line, sizeof(line), f) != NULL) {
		read += (long)strlen(line);
		n++;
		line[strcspn(line, "\r\n")] = '\0';
		if (strncmp(line, server, server_len) == 0 && line[server_len] == ' ') {
			snprintf(found, len, "%s", line + server_len + 1);
			*line_no = n;
			hit = true;
		}
	}
	fclose(f);
	return hit;
}

/* mkdir -p of the file's directory, 0700: a state directory. */
static int make_dirs(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(dir, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

static int remember(const char *path, const char *server, const char *fingerprint)
{
	int rc = make_dirs(path);
	if (rc < 0)
		return rc;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	char line[512];
	int n = snprintf(line, sizeof(line), "%s %s\n", server, fingerprint);
	rc = write(fd, line, (size_t)n) == n ? 0 : -EIO;
	close(fd);
	return rc;
}

/* The user's answer on the terminal: yes or not. */
static bool ask(const char *server, const struct tls_cert_check *check)
{
	fprintf(stdout,
		_("Le certificat de %s n'est garanti par aucune autorité connue (%s).\n"
		  "Empreinte de sa clé : %s\n"
		  "Vérifiez-la auprès de l'administrateur du serveur.\n"
		  "Faire confiance à ce serveur et retenir sa clé (oui/non) ? "),
		server, check->problem, check->fingerprint);
	fflush(stdout);
	char answer[16];
	size_t n = 0;
	for (;;) {
		char c;
		ssize_t r = read(STDIN_FILENO, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n')
			break;
		if (n < sizeof(answer) - 1)
			answer[n++] = c;
	}
	while (n > 0 && (answer[n - 1] == '\r' || answer[n - 1] == ' '))
		n--;
	answer[n] = '\0';
	return strcasecmp(answer, "oui") == 0 || strcasecmp(answer, "o") == 0 ||
	       strcasecmp(answer, "yes") == 0 || strcasecmp(answer, "y") == 0 ||
	       strcasecmp(answer, _("oui")) == 0;
}

bool trust_decide(const struct trust_request *r, const struct tls_cert_check *check,
		  char *why, size_t why_len)
{
	if (r->pin != NULL) {
		if (strcmp(r->pin, check->fingerprint) == 0)
			return true;
		snprintf(why, why_len,
			 _("la clé de %s (%s) n'est pas celle de --tls-pin (%s) : connexion refusée"),
			 r->server, check->fingerprint, r->pin);
		return false;
	}
	if (check->verified)
		return true;
	if (!check->untrusted_only) {
		snprintf(why, why_len, _("certificat de %s refusé : %s"), r->server, check->problem);
		return false;
	}
	char known[128];
	unsigned line_no = 0;
	if (known_key(r->known_path, r->server, known, sizeof(known), &line_no)) {
		if (strcmp(known, check->fingerprint) == 0)
			return true;
		snprintf(why, why_len,
			 _("ATTENTION : LA CLÉ DU SERVEUR %s A CHANGÉ ! Quelqu'un intercepte peut-être "
			   "la connexion, ou le serveur a une nouvelle clé.\n"
			   "  clé retenue : %s\n"
			   "  clé reçue   : %s\n"
			   "Si le changement est voulu, supprimez la ligne %u de %s :\n"
			   "  %s %s\n"
			   "Connexion refusée."),
			 r->server, known, check->fingerprint, line_no, r->known_path, r->server, known);
		return false;
	}
	if (!r->can_ask) {
		snprintf(why, why_len,
			 _("certificat de %s non vérifié (%s), clé %s : connexion refusée. Pour lui "
			   "faire confiance : --tls-pin %s, ou --ca avec le certificat de son autorité"),
			 r->server, check->problem, check->fingerprint, check->fingerprint);
		return false;
	}
	if (!ask(r->server, check)) {
		snprintf(why, why_len, _("clé de %s non acceptée : connexion refusée"), r->server);
		return false;
	}
	int rc = r->known_path != NULL ? remember(r->known_path, r->server, check->fingerprint)
				       : -ENOENT;
	if (rc < 0)
		fprintf(stderr, _("chatroom: clé acceptée pour cette fois, mais pas retenue (%s : %s)\n"),
			r->known_path != NULL ? r->known_path : "known_servers", i18n_strerror(rc));
	else
		fprintf(stdout, _("Clé de %s retenue dans %s\n"), r->server, r->known_path);
	return true;
}
