/*
 * textproto: the plain-text protocol of the course (what nc, telnet and the
 * course's Python clients speak), without I/O.
 *
 * One message per line. A new peer's first line decides who it is:
 *   "Hello"           -> the server answers "Hello {IP}:{Port}"
 *   "Hello|<PSEUDO>"  -> the peer joins under that pseudo
 *   anything else     -> an ordinary message from an anonymous peer
 * Every wire string below is part of the protocol: byte for byte.
 */
#ifndef CHATROOM_TEXTPROTO_H
#define CHATROOM_TEXTPROTO_H

#include <stddef.h>

/* Longest line a text peer may send, '\n' excluded. */
#define TEXT_MAX_LINE 4096
/* A pseudo is 1 to 32 bytes of printable UTF-8 (see textproto_check_pseudo). */
#define TEXT_MAX_PSEUDO 32
/* A room name is 1 to 32 bytes of letters, digits, '-', '_' and '.'. */
#define TEXT_MAX_ROOM 32
/* Everyone starts in this room; its arrivals and departures use the
 * course's words ("a rejoint la chatroom"). */
#define ROOM_DEFAULT_NAME "general"

#define TEXT_HELLO_REPLY   "Hello %s:%u"
#define TEXT_RECEIVED      "Message received from %s:%u : %.*s"
#define TEXT_SAID          "%s a dit : %.*s"
#define TEXT_JOINED        "Annonce : %s a rejoint la chatroom"
#define TEXT_LEFT          "Annonce : %s a quitté la chatroom"
#define TEXT_JOINED_ROOM   "Annonce : %s a rejoint le salon %s"
#define TEXT_LEFT_ROOM     "Annonce : %s a quitté le salon %s"
#define TEXT_RETURNED      "%s est de retour !"
#define TEXT_IMAGE         "%s a envoyé une image (%d×%d) :"
#define TEXT_WELCOME_BACK  "Welcome back %s !"
#define TEXT_HISTORY_START "Annonce : historique du salon %s (%zu)"
#define TEXT_HISTORY_END   "Annonce : fin de l'historique"
#define TEXT_ROOM_LIST     "Salons : %s"
#define TEXT_WHO           "Présents dans %s : %s"
#define TEXT_SERVER_STOP   "Annonce : le serveur s'arrête"
#define TEXT_ERROR         "Erreur : %s"
#define TEXT_IN_ROOM       "Annonce : vous êtes dans le salon %s"
#define TEXT_YOU_LEFT_ROOM "Annonce : vous avez quitté le salon %s"
/* /search: a block like the history's, each line "#salon [hh:mm] …". */
#define TEXT_SEARCH_START  "Annonce : recherche « %s » (%zu résultats)"
#define TEXT_SEARCH_END    "Annonce : fin de la recherche"
#define TEXT_SEARCH_CUT    "Annonce : fin de la recherche (il y en a d'autres : précisez-la)"
#define TEXT_SEARCH_NONE   "Annonce : recherche « %s » : aucun résultat"
#define TEXT_COMMANDS      "Commandes : "
#define TEXT_UNKNOWN_COMMAND "Erreur : commande inconnue %.*s. %s"

/* The chat commands of issue 16 (what people expect from irssi, weechat,
 * ssh-chat). A %s is a pseudo, a room or the text as typed. */
#define TEXT_PRIVATE_FROM  "%s a dit en privé : %.*s"
#define TEXT_PRIVATE_TO    "Vous avez dit en privé à %s : %.*s"
#define TEXT_ACTION        "* %s %.*s"
#define TEXT_NICK          "Annonce : %s s'appelle désormais %.*s"
#define TEXT_TOPIC_SET     "Annonce : %s a changé le sujet : %.*s"
#define TEXT_TOPIC         "Sujet de %s : %s"
#define TEXT_NO_TOPIC      "Pas de sujet dans %s"
#define TEXT_AWAY_ENTRY    "%s (absent : %s)"
#define TEXT_IS_AWAY       "Annonce : %s est absent : %s"
#define TEXT_AWAY_ON       "Annonce : vous êtes absent : %.*s"
#define TEXT_AWAY_OFF      "Annonce : vous n'êtes plus absent"
#define TEXT_IGNORING      "Annonce : vous ignorez désormais %.*s"
#define TEXT_UNIGNORED     "Annonce : vous n'ignorez plus %.*s"
#define TEXT_IGNORE_LIST   "Ignorés : %s"
#define TEXT_IGNORE_NONE   "Ignorés : personne"
#define TEXT_WHOIS         "%s : salon %s, connecté depuis %s, inactif depuis %s%s%s%s%s"
#define TEXT_WHOIS_AWAY    ", absent : "
#define TEXT_WHOIS_ADDRESS ", adresse "
#define TEXT_ERR_NO_SUCH_USER   "personne ne s'appelle %.*s ici"
#define TEXT_ERR_NO_REPLY       "personne ne vous a écrit en privé"
#define TEXT_ERR_NEEDS_PSEUDO   "choisissez d'abord un pseudo (Hello|pseudo)"
#define TEXT_ERR_TO_SELF        "vous ne pouvez pas vous écrire en privé"
#define TEXT_ERR_TEXT_TOO_LONG  "texte trop long (au plus %d octets)"
#define TEXT_ERR_SAME_PSEUDO    "vous vous appelez déjà %.*s"
#define TEXT_ERR_IGNORE_FULL    "vous ignorez déjà %d personnes, le maximum"
#define TEXT_ERR_IGNORE_SELF    "vous ne pouvez pas vous ignorer"
#define TEXT_ERR_NOT_IGNORED    "vous n'ignorez pas %.*s"
#define TEXT_ERR_USAGE          "usage : %s"
#define TEXT_ERR_PSEUDO_OWNED   "le pseudo %.*s appartient à une autre identité"
#define TEXT_ERR_SECRET         "le secret fait 64 chiffres hexadécimaux (openssl rand -hex 32)"
#define TEXT_ERR_NOT_YOURS      "identifiez-vous sous votre propre pseudo"
#define TEXT_ERR_NOT_OPERATOR   "réservé aux opérateurs (--operators)"
#define TEXT_KICKED             "vous avez été expulsé par %s : %.*s"
#define TEXT_BANNED_BY          "vous avez été banni par %s : %.*s"
#define TEXT_ERR_BANNED         "vous êtes banni : %s"
#define TEXT_MUTED              "Annonce : %s vous a rendu muet pour %.*s"
#define TEXT_MUTE_DONE          "Annonce : %s est muet pour %.*s"
#define TEXT_ERR_MUTED          "vous êtes muet pour l'instant"
#define TEXT_ERR_PRIVATE_LINK   "message privé à %.*s non envoyé : liaison avec les " \
	"autres serveurs perdue, réessayez à son retour"
#define TEXT_ERR_NOT_SENT       "message non envoyé (erreur du serveur)"
#define TEXT_ERR_NOT_SENT_BACKLOG "message non envoyé : trop de messages attendent déjà " \
	"la liaison avec les autres serveurs, réessayez à son retour"
#define TEXT_ERR_BANS_FULL      "trop de bannis (%d)"
#define TEXT_ERR_NOT_BANNED     "%.*s n'est pas banni"
#define TEXT_UNBANNED           "Annonce : %.*s n'est plus banni"
#define TEXT_BANS               "Bannis : "
#define TEXT_IDENTIFIED         "Annonce : le pseudo %s est à vous"

/*
 * What the server says to a peer besides the lines above. The binary
 * protocol carries the same words, in its ERROR and NOTICE frames; the
 * text protocol says an error as TEXT_ERROR. A word ending in ": " or
 * "salon " is followed by its detail (a cause, a room).
 */
#define TEXT_ERR_SERVER_FULL       "le serveur est plein"
#define TEXT_ERR_ADDRESS_FULL      "trop de connexions depuis votre adresse"
#define TEXT_ERR_UNKNOWN_PROTOCOL  "protocole inconnu"
#define TEXT_ERR_VERSION           "version du protocole inconnue (ce serveur parle la %d)"
#define TEXT_ERR_HANDSHAKE_TIMEOUT "délai dépassé : envoyez une première ligne (Hello|pseudo)"
#define TEXT_ERR_IDLE_TIMEOUT      "délai dépassé : inactif sans pseudo (Hello|pseudo)"
#define TEXT_ERR_FLOODING          "trop de messages, ralentissez (message ignoré)"
#define TEXT_ERR_FLOODED           "trop de messages : déconnexion"
#define TEXT_ERR_LINE_TOO_LONG     "ligne trop longue (plus de %d octets)"
#define TEXT_ERR_NO_MEMORY         "mémoire insuffisante"
#define TEXT_ERR_PSEUDO_BAD_CHAR   "le pseudo contient un caractère interdit"
#define TEXT_ERR_PSEUDO_TAKEN      "le pseudo %.*s est déjà pris"
#define TEXT_ERR_PSEUDO_HELD_SESSION \
	"le pseudo %.*s est réservé à une session interrompue, réessayez plus tard"
#define TEXT_ERR_PSEUDO_HELD_ADDRESS "le pseudo %.*s est réservé quelques minutes à son adresse"
#define TEXT_ERR_ROOMS_MADE        "trop de salons créés, réessayez dans une minute"
#define TEXT_ERR_TOO_MANY_ROOMS    "trop de salons sur ce serveur (%zu) : rejoignez-en un"
#define TEXT_ERR_ROOM_BAD_CHAR     "le nom du salon contient un caractère interdit"
#define TEXT_ERR_ALREADY_IN_ROOM   "vous êtes déjà dans le salon "
#define TEXT_ERR_ALREADY_HERE      "vous êtes déjà dans ce salon"
#define TEXT_ERR_NOT_IN_ROOM       "vous n'êtes pas dans ce salon"
#define TEXT_ERR_LAST_ROOM         "%s est votre seul salon : on ne le quitte pas (/quit pour partir)"
#define TEXT_ERR_SEATS             "vous êtes déjà dans %zu salons, le plus permis : quittez-en un (/part)"
#define TEXT_ERR_SEARCH_EMPTY      "rien à chercher : /search [from:PSEUDO] [in:SALON] MOTS"
#define TEXT_ERR_SEARCH_FROM       "from: veut un pseudo (from:alice)"
#define TEXT_ERR_SEARCH_IN         "in: veut un salon où vous êtes (in:jeux)"
#define TEXT_ERR_SEARCH_LONG       "recherche trop longue (512 octets au plus)"
#define TEXT_ERR_TOKEN             "jeton de reprise inconnu ou expiré"
#define TEXT_ERR_NO_RANDOM         "pas de hasard disponible"
#define TEXT_ERR_SECOND_HELLO      "déjà connecté"
#define TEXT_ERR_NO_SESSION        "plus de place pour une session, réessayez plus tard"
#define TEXT_ERR_HELLO_FIRST       "dites d'abord bonjour (HELLO)"
#define TEXT_ERR_SERVER_ONLY       "trame réservée au serveur"
#define TEXT_ERR_FRAME_TOO_SLOW    "image reçue trop lentement"
#define TEXT_ERR_FRAMES_AT_ONCE    "le serveur reçoit trop d'images à la fois, réessayez"
#define TEXT_ERR_IMAGE             "image refusée : "
#define TEXT_ERR_IMAGE_FLOOD       "trop d'images, ralentissez (image ignorée)"
#define TEXT_ERR_HELD_FULL         "trop de messages en attente derrière une image"
#define TEXT_IMAGE_TOO_HEAVY       "image trop lourde"
#define TEXT_IMAGE_BUSY            "le serveur en traite déjà d'autres, réessayez"
#define TEXT_IMAGE_NO_MEMORY       "plus de mémoire"
#define TEXT_IMAGE_NO_MEMORY_DRAW  "plus de mémoire pour la dessiner"
#define TEXT_IMAGE_QUEUE_FULL      "trop d'images en attente, patientez"

enum text_kind {
	TEXT_MESSAGE,      /* text = the message */
	TEXT_HELLO,        /* bare "Hello" */
	TEXT_HELLO_PSEUDO, /* text = the pseudo, unchecked */
};

struct text_msg {
	enum text_kind kind;
	const char *text;
	size_t len;
};

/* Classifies the first line a peer sends. */
void textproto_parse_first(const char *line, size_t len, struct text_msg *out);

/*
 * Returns 0 when pseudo is acceptable, or -EINVAL with a human reason in
 * *cause (a static string). Refused: control, invisible, unassigned or
 * private-use characters; blanks other than U+0020, or any blank at either
 * end; a pseudo that looks empty; '|' and ':' or anything whose NFKC form
 * or look is one (so nobody imitates "{IP}:{Port}" or "Annonce :"); mixed
 * scripts such as Latin with Cyrillic. Uniqueness is names_skeleton's.
 */
int textproto_check_pseudo(const char *pseudo, size_t len, const char **cause);

/*
 * The same for a room name: letters (any script, with their combining
 * marks), digits, '-', '_', '.'; no invisible characters (bidi marks
 * included), no mixed scripts. Rooms are one when their names_skeleton
 * matches. A name a user typed goes through textproto_normalise_room first.
 */
int textproto_check_room(const char *room, size_t len, const char **cause);

/*
 * Turns a room name as a user gave it into the name to check and look up:
 * blanks around it trimmed, one leading '#' dropped (the IRC habit: the
 * client shows "#general"), NFC (an accent typed as "e" + U+0301 is "é").
 * Writes it, terminated, into out (cap >= TEXT_MAX_ROOM + 1); 0 with its
 * length in *out_len, or -EINVAL with a human reason in *cause.
 */
int textproto_normalise_room(const char *room, size_t len, char *out, size_t cap,
			     size_t *out_len, const char **cause);

#endif
