#include "i18n.h"

#include <libgen.h>
#include <limits.h>
#include <locale.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#ifndef CHATROOM_LOCALEDIR
#define CHATROOM_LOCALEDIR "/usr/local/share/locale"
#endif

/* "fr" or "en" for a name of one of them ("en", "en_GB.UTF-8", "FR"),
 * else NULL. */
static const char *known_language(const char *s)
{
	static const char *const known[] = {"fr", "en"};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strncasecmp(s, known[i], 2) == 0 && strchr("_-.@", s[2]) != NULL)
			return known[i]; /* strchr finds the terminator too */
	return NULL;
}

static const char *pick_language(const char *lang, const char **origin)
{
	const char *asked[] = {lang, getenv("CHATROOM_LANG")};
	const char *names[] = {"--lang", "CHATROOM_LANG"};
	for (size_t i = 0; i < 2; i++) {
		if (asked[i] == NULL || asked[i][0] == '\0')
			continue;
		const char *l = known_language(asked[i]);
		if (l != NULL)
			return l;
		/* Said as an error, in the language the next source picks. */
		if (*origin == NULL)
			*origin = names[i];
	}
	/* The locale: English when it says so, else the course's French. */
	const char *sources[] = {getenv("LANGUAGE"), getenv("LC_ALL"), getenv("LC_MESSAGES"),
				 getenv("LANG")};
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		const char *s = sources[i];
		if (s == NULL || s[0] == '\0')
			continue;
		return strncmp(s, "en", 2) == 0 ? "en" : "fr";
	}
	return "fr";
}

int i18n_init(const char *lang, const char **origin)
{
	setlocale(LC_ALL, "");
	/* gettext ignores LANGUAGE under the plain "C" locale: C.UTF-8 is
	 * always there and lets it work. */
	const char *messages = setlocale(LC_MESSAGES, NULL);
	if (messages == NULL || strcmp(messages, "C") == 0 || strcmp(messages, "POSIX") == 0)
		setlocale(LC_MESSAGES, "C.UTF-8");
	*origin = NULL;
	setenv("LANGUAGE", pick_language(lang, origin), 1);

	char exe[PATH_MAX], dir[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct stat st;
	const char *where = CHATROOM_LOCALEDIR;
	if (n > 0) {
		exe[n] = '\0';
		snprintf(dir, sizeof(dir), "%s/locale", dirname(exe));
		/* A directory: beside /usr/bin/chatroom, "locale" is glibc's program. */
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
			where = dir;
	}
	bindtextdomain("chatroom", where);
	bind_textdomain_codeset("chatroom", "UTF-8");
	textdomain("chatroom");
	return *origin == NULL ? 0 : -1;
}

const char *i18n_translate(const char *text)
{
	return gettext(text);
}

const char *i18n_strerror(int code)
{
	/* libuv's codes are negated errnos on Unix, but for its own (EOF) and
	 * the resolver's (UV_EAI_*), which the C library says as well. */
	static const struct {
		int uv, eai;
	} resolver[] = {
		{UV_EAI_NONAME, EAI_NONAME}, {UV_EAI_AGAIN, EAI_AGAIN}, {UV_EAI_FAIL, EAI_FAIL},
		{UV_EAI_NODATA, EAI_NODATA}, {UV_EAI_FAMILY, EAI_FAMILY},
		{UV_EAI_SERVICE, EAI_SERVICE}, {UV_EAI_MEMORY, EAI_MEMORY},
	};
	if (code == UV_EOF)
		return _("fin de la connexion");
	for (size_t i = 0; i < sizeof(resolver) / sizeof(resolver[0]); i++)
		if (code == resolver[i].uv)
			return gai_strerror(resolver[i].eai);
	if (code < 0 && code > -1000)
		return strerror(-code);
	return uv_strerror(code);
}

/* The server's fixed sentences a user may read (docs/protocol.md, its
 * errors and notices), for the catalogues: gettext finds them as they
 * come. Unused but by xgettext. */
static const char *const server_words[] __attribute__((unused)) = {
	N_("Annonce : le serveur s'arrête"),
	N_("jeton de reprise inconnu ou expiré"),
	N_("vous êtes déjà dans ce salon"),
	N_("vous n'êtes pas dans ce salon"),
	N_("trop de messages, ralentissez (message ignoré)"),
	N_("trop de messages : déconnexion"),
	N_("trop d'images, ralentissez (image ignorée)"),
	N_("trop de messages en attente derrière une image"),
	N_("trop de salons créés, réessayez dans une minute"),
	N_("plus de place pour une session, réessayez plus tard"),
	N_("dites d'abord bonjour (HELLO)"),
	N_("déjà connecté"),
	N_("délai dépassé : envoyez une première ligne (Hello|pseudo)"),
	N_("image reçue trop lentement"),
	N_("le serveur reçoit trop d'images à la fois, réessayez"),
	N_("mémoire insuffisante"),
	N_("version du protocole inconnue (ce serveur parle la 1)"),
	N_("trame réservée au serveur"),
	N_("ligne trop longue (plus de 4096 octets)"),
	N_("rien à chercher : /search [from:PSEUDO] [in:SALON] MOTS"),
	N_("from: veut un pseudo (from:alice)"),
	N_("in: veut un salon où vous êtes (in:jeux)"),
	N_("recherche trop longue (512 octets au plus)"),
	/* textproto.c's reasons, which the server and the client both give. */
	N_("le pseudo est vide"),
	N_("le pseudo dépasse 32 octets"),
	N_("le pseudo n'est pas de l'UTF-8 valide"),
	N_("le pseudo contient un caractère interdit"),
	N_("le pseudo contient un caractère invisible"),
	N_("le pseudo contient un caractère non attribué ou à usage privé"),
	N_("le pseudo semble vide"),
	N_("le pseudo commence ou finit par une espace"),
	N_("le pseudo contient une espace autre que l'espace ordinaire"),
	N_("le pseudo mélange des écritures (latin et cyrillique, par exemple)"),
	N_("le pseudo mélange des chiffres de systèmes différents"),
	N_("le pseudo contient des accents qui se cachent ou s'empilent"),
	N_("le pseudo imite une annonce du serveur (« Annonce : »)"),
	N_("le pseudo imite l'étiquette {IP}:{Port} d'un pair anonyme"),
	N_("le nom du salon est vide"),
	N_("le nom du salon dépasse 32 octets"),
	N_("le nom du salon contient un caractère interdit"),
	N_("le nom du salon contient un caractère invisible"),
	N_("le nom du salon contient un caractère non attribué ou à usage privé"),
	N_("le nom du salon ne prend que lettres, chiffres, '-', '_' et '.'"),
	N_("le nom du salon mélange des écritures (latin et cyrillique, par exemple)"),
	N_("le nom du salon mélange des chiffres de systèmes différents"),
	N_("le nom du salon contient des accents qui se cachent ou s'empilent"),
	/* imagecheck.c's and image.c's reasons for a picture refused. */
	N_("fichier vide"),
	N_("image trop lourde"),
	N_("ce n'est pas une image PNG ou JPEG"),
	N_("image illisible"),
	N_("image sans pixels"),
	N_("dimensions trop grandes (au plus 8192 de côté, 32 mégapixels)"),
	N_("image illisible (fichier abîmé ou tronqué)"),
	N_("plus de mémoire"),
	N_("fichier bien plus lourd que ses pixels"),
	N_("trop de passes (JPEG progressif)"),
	N_("JPEG progressif trop lourd à décoder (au plus 64 Mio)"),
	N_("type de JPEG non pris en charge"),
	N_("image progressive ou entrelacée trop grande (au plus 12 mégapixels)"),
	N_("abandonnée"),
	/* settings.c's reasons (English, the module's own), said through the
	 * catalogue (settings_program.translate). */
	N_("invalid value"),
	N_("empty or too long"),
	N_("invalid port (0-65535)"),
	N_("invalid port (1-65535)"),
	N_("invalid size in bytes"),
	N_("invalid number"),
	N_("invalid number (a finite one is needed)"),
	N_("not yes or no"),
};

/* The server's sentences with one name in them, as templates. Its fixed
 * sentences are catalogue entries of their own (po/en.po: "the server's
 * words"), found by gettext as they come. */
static const char *const server_templates[] = {
	N_("le pseudo %s est déjà pris"),
	N_("le pseudo %s est réservé à une session interrompue, réessayez plus tard"),
	N_("le pseudo %s est réservé quelques minutes à son adresse"),
	N_("image refusée : %s"),
	N_("trop de salons sur ce serveur (%s) : rejoignez-en un"),
	N_("%s est votre seul salon : on ne le quitte pas (/quit pour partir)"),
	N_("vous êtes déjà dans %s salons, le plus permis : quittez-en un (/part)"),
};

/* buf = translated template with its %s replaced by the name (itself
 * translated when it is a sentence of the server's, as a picture's cause). */
static const char *fill(const char *template, const char *name, size_t name_len, char *buf,
			size_t cap)
{
	char copy[256];
	snprintf(copy, sizeof(copy), "%.*s", (int)name_len, name);
	const char *middle = gettext(copy);
	const char *tr = gettext(template);
	const char *hole = strstr(tr, "%s");
	if (hole == NULL)
		return tr;
	snprintf(buf, cap, "%.*s%s%s", (int)(hole - tr), tr, middle, hole + 2);
	return buf;
}

const char *i18n_server(const char *text, char *buf, size_t cap)
{
	const char *fixed = gettext(text);
	if (fixed != text)
		return fixed;
	size_t len = strlen(text);
	for (size_t i = 0; i < sizeof(server_templates) / sizeof(server_templates[0]); i++) {
		const char *t = server_templates[i];
		const char *hole = strstr(t, "%s");
		size_t pre = (size_t)(hole - t), post = strlen(hole + 2);
		if (len > pre + post && strncmp(text, t, pre) == 0 &&
		    strcmp(text + len - post, hole + 2) == 0)
			return fill(t, text + pre, len - pre - post, buf, cap);
	}
	return text;
}
