/*
 * chatroom: the terminal client of the chat room.
 *
 * It connects, asks for a pseudo (before anything runs concurrently, as
 * the course asks), then reads the user's input and the server's messages
 * at the same time on one libuv loop. See client.h. Settings (the table
 * below) come from options, then CHATROOM_* environment variables, then the
 * config file.
 */
#include <errno.h>
#include <signal.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "client.h"
#include "config.h"
#include "settings.h"
#include "i18n.h"
#include "image.h"
#include "trust.h"

#define DEFAULT_LOG_FILE "/var/log/chat_room/client.log"

/* Values from a file or the environment do not outlive their parsing; an
 * empty string is a value not given. */
struct settings {
	struct client_config client;
	char address[256];
	char nick[64];
	char log[4096];
	char room[64];
	char ca[4096];
	char pin[64];
};

#define FIELD(f) offsetof(struct settings, f)
#define SIZE_OF(f) ((long long)sizeof(((struct settings *)0)->f))

/* --tls-pin: a key's fingerprint as the client shows it. */
static int set_pin(const struct setting *row, void *target, const char *value,
		   const char **cause)
{
	if (!trust_pin_valid(value)) {
		*cause = N_("pas une empreinte SHA256:… (43 caractères base64)");
		return -EINVAL;
	}
	snprintf(settings_field(row, target), sizeof(((struct settings *)0)->pin), "%s", value);
	return 0;
}

static const struct setting_type pin_type = {set_pin, NULL};

/* Every setting, in --help's order. The help and the causes are French
 * msgids (the client's language), said through the catalogue. */
static const struct setting rows[] = {
	{"HOST", "address", 'a', "ADDR", &settings_text, FIELD(address), .max = SIZE_OF(address),
	 .help = N_("adresse ou nom d'hôte du serveur")},
	{"PORT", "port", 'p', "PORT", &settings_port, FIELD(client.port), .min = 1,
	 .help = N_("port du serveur")},
	{"NICK", "nick", 'n', "PSEUDO", &settings_text, FIELD(nick), .max = SIZE_OF(nick),
	 .help = N_("votre pseudo ; sinon il est demandé, ou lu sur la première ligne en mode "
		    "ligne")},
	{NULL, "config", 'c', "FILE", NULL, 0, .role = SETTING_CONFIG_FILE,
	 .default_text = "$XDG_CONFIG_HOME/chatroom/client.conf", .help = N_("fichier de réglages")},
	{"LOG", "log", 0, "FILE", &settings_text, FIELD(log), .max = SIZE_OF(log),
	 .default_text = N_("/var/log/chat_room/client.log, sinon $XDG_STATE_HOME/chatroom/"),
	 .help = N_("le journal de la conversation ; 'none' n'en garde aucun")},
	{"ROOM", "room", 'r', "ROOM", &settings_text, FIELD(room), .max = SIZE_OF(room),
	 .help = N_("le salon à rejoindre ; sinon il est demandé sur un terminal, ou le salon "
		    "par défaut")},
	{"RECONNECT", "reconnect", 0, NULL, &settings_yes_no, FIELD(client.reconnect),
	 .help = N_("quand la connexion tombe, revenir (délais croissants) et reprendre ; "
		    "serveur redémarré : rejoindre le salon sous le même pseudo")},
	/* Read before everything, in main(), so that every word is in it. */
	{NULL, "lang", 0, "fr|en", &settings_ignore, 0,
	 .help = N_("la langue du chat : le français (celle du cours), sauf si ceci, "
		    "CHATROOM_LANG ou la locale disent l'anglais")},
	{NULL, "plain", 0, NULL, &settings_yes_no, FIELD(client.plain),
	 .help = N_("mode ligne même sur un terminal : un message par ligne lue, les messages "
		    "reçus sur la sortie standard")},
	{NULL, "ascii", 0, NULL, &settings_yes_no, FIELD(client.ascii),
	 .help = N_("images en ASCII simple même sur un terminal")},
	{"BELL", "no-bell", 0, NULL, &settings_yes_no, FIELD(client.bell), .flag_value = "no",
	 .help = N_("sans sonnerie : ni une mention de votre pseudo ni un message privé ne font "
		    "sonner le terminal")},
	{"MOUSE", "no-mouse", 0, NULL, &settings_yes_no, FIELD(client.mouse), .flag_value = "no",
	 .help = N_("sans la souris : la molette ne fait plus défiler, et le terminal "
		    "sélectionne sans Maj")},
	{"IMAGE_MAX", "image-max", 0, "BYTES", &settings_bytes, FIELD(client.image_max), .min = 1,
	 .max = WIRE_MAX_FRAME - 64 * 1024, .cause = N_("au plus 6225920 (6 Mio moins 64 Kio)"),
	 .help = N_("la plus grande image envoyée ou montrée")},
	{"TLS", "tls", 0, NULL, &settings_yes_no, FIELD(client.tls),
	 .help = N_("chiffrer avec TLS (le port TLS du serveur, souvent 8443) ; son certificat "
		    "est vérifié, ou sa clé retenue à la première connexion comme ssh")},
	{"CA", "ca", 0, "FILE", &settings_text, FIELD(ca), .max = SIZE_OF(ca),
	 .help = N_("TLS : les autorités de confiance (PEM) au lieu de celles du système")},
	{"TLS_PIN", "tls-pin", 0, "SHA256:…", &pin_type, FIELD(pin),
	 .help = N_("TLS : la seule clé acceptée (son empreinte), pour les scripts")},
	{NULL, "help", 'h', NULL, NULL, 0, .role = SETTING_HELP, .help = N_("cette aide")},
	{NULL, "version", 0, NULL, NULL, 0, .role = SETTING_VERSION, .help = N_("la version")},
};

static const struct settings_program program = {
	.name = "chatroom",
	.synopsis = "chatroom [-a ADDRESS] [-p PORT] [-n PSEUDO] [-r ROOM] [-c FILE] [--lang fr|en] "
		    "[--reconnect] [--plain] [--no-mouse] [--no-bell] [--tls [--ca FILE] [--tls-pin SHA256:…]]",
	.epilogue = N_("\nDans le chat : /quit, Ctrl+C ou Ctrl+D pour partir ; /help liste les "
		       "commandes et les touches.\n"),
	.rows = rows,
	.count = sizeof(rows) / sizeof(rows[0]),
	.translate = i18n_translate,
};

/* An explicit path ('none' for nothing), else the system-wide default,
 * else the per-user state directory, said once. */
static void choose_log_path(struct settings *s)
{
	if (s->log[0] != '\0') {
		s->client.log_path = strcmp(s->log, "none") == 0 ? NULL : s->log;
		return;
	}
	bool fell_back;
	s->client.log_path = config_state_path(DEFAULT_LOG_FILE, "client.log", s->log,
					       sizeof(s->log), &fell_back);
	if (s->client.log_path == NULL)
		fprintf(stderr, "%s", _("chatroom: aucun endroit où écrire le journal : pas de "
					"journal\n"));
	else if (fell_back)
		fprintf(stderr, _("chatroom: %s n'est pas accessible en écriture ; le journal va "
				  "dans %s\n"),
			DEFAULT_LOG_FILE, s->client.log_path);
}

int main(int argc, char **argv)
{
	const char *lang = NULL;
	for (int i = 1; i < argc; i++) /* before anything is said */
		if (strncmp(argv[i], "--lang=", 7) == 0)
			lang = argv[i] + 7;
		else if (strcmp(argv[i], "--lang") == 0 && i + 1 < argc)
			lang = argv[i + 1];
	const char *origin;
	if (i18n_init(lang, &origin) < 0) {
		fprintf(stderr, _("chatroom: %s '%s' : langue inconnue (connues : %s)\n"), origin,
			strcmp(origin, "--lang") == 0 ? lang : getenv("CHATROOM_LANG"), I18N_KNOWN);
		return 2;
	}
	/* A peer that vanished must cost an EPIPE from write(), not the
	 * process: libuv leaves SIGPIPE to the program. */
	signal(SIGPIPE, SIG_IGN);
	struct settings settings = {
		.client = {
			.port = CLIENT_DEFAULT_PORT,
			.image_max = IMAGE_DEFAULT_MAX_BYTES,
			.mouse = true,
			.bell = true,
		},
		.address = "127.0.0.1",
	};
	char default_path[512];
	int status = settings_main(&program, argc, argv, &settings,
				   config_user_path("client.conf", default_path, sizeof(default_path)));
	if (status >= 0)
		return status;
	settings.client.address = settings.address;
	settings.client.nick = settings.nick[0] != '\0' ? settings.nick : NULL;
	settings.client.room = settings.room[0] != '\0' ? settings.room : NULL;
	settings.client.ca_file = settings.ca[0] != '\0' ? settings.ca : NULL;
	settings.client.tls_pin = settings.pin[0] != '\0' ? settings.pin : NULL;
	if ((settings.client.ca_file != NULL || settings.client.tls_pin != NULL) &&
	    !settings.client.tls) {
		fprintf(stderr, "%s", _("chatroom: --ca et --tls-pin vont avec --tls\n"));
		return 2;
	}
	choose_log_path(&settings);

	uv_loop_t loop;
	uv_loop_init(&loop);
	struct client_app *app = malloc(sizeof(*app));
	if (app == NULL) {
		fprintf(stderr, "%s", _("chatroom: plus de mémoire\n"));
		return 1;
	}
	if (client_connect(app, &loop, &settings.client) < 0) {
		status = 1;
	} else {
		client_open_log(app);
		if (client_introduce(app) < 0)
			status = app->ending ? app->exit_code : 2;
		else
			status = client_run(app);
	}
	/* Whatever path we took, every handle is closed before the loop goes. */
	client_end(app, status, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	client_free(app);
	if (uv_loop_close(&loop) != 0)
		fprintf(stderr, "chatroom: loop closed with handles open\n"); /* a bug of ours */
	free(app);
	return status;
}
