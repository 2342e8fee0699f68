/*
 * i18n: the client's words through gettext. The French catalogue (the
 * course's strings) is the default; an English one ships too. --lang, then
 * CHATROOM_LANG, then the locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG)
 * pick; any language other than English gets French.
 */
#ifndef CHATROOM_I18N_H
#define CHATROOM_I18N_H

#include <libintl.h>

#define _(text) gettext(text)
/* Marks a string for the catalogues where it is defined, not used. */
#define N_(text) text

/* Binds the catalogues next to the executable (build/locale), else the
 * installed ones. lang may be NULL. */
void i18n_init(const char *lang);

#endif
