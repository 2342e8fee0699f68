#include "i18n.h"

#include <libgen.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CHATROOM_LOCALEDIR
#define CHATROOM_LOCALEDIR "/usr/local/share/locale"
#endif

static const char *pick_language(const char *lang)
{
	const char *sources[] = {lang, getenv("CHATROOM_LANG"), getenv("LANGUAGE"),
				 getenv("LC_ALL"), getenv("LC_MESSAGES"), getenv("LANG")};
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		const char *s = sources[i];
		if (s == NULL || s[0] == '\0')
			continue;
		return strncmp(s, "en", 2) == 0 ? "en" : "fr";
	}
	return "fr";
}

void i18n_init(const char *lang)
{
	setlocale(LC_ALL, "");
	/* gettext ignores LANGUAGE under the plain "C" locale: C.UTF-8 is
	 * always there and lets it work. */
	const char *messages = setlocale(LC_MESSAGES, NULL);
	if (messages == NULL || strcmp(messages, "C") == 0 || strcmp(messages, "POSIX") == 0)
		setlocale(LC_MESSAGES, "C.UTF-8");
	setenv("LANGUAGE", pick_language(lang), 1);

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
}
