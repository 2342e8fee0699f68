/*
 * i18n: the client's words through gettext. The French catalogue (the
 * course's strings) is the default; an English one ships too. --lang, then
 * CHATROOM_LANG, then the locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG)
 * pick; a locale in any language other than English gets French, but
 * --lang or CHATROOM_LANG naming a language we lack is an error.
 *
 * The client's own words have French msgids (the course's language) and
 * an English translation in po/en.po; the settings module's (core, shared
 * with the English-only server) have English msgids and a French
 * translation in po/fr.po. Words that come from elsewhere go through this
 * module too: the C library's error texts, libuv's, and the server's fixed
 * French sentences (i18n_server).
 */
#ifndef CHATROOM_I18N_H
#define CHATROOM_I18N_H

#include <libintl.h>
#include <stddef.h>

#define _(text) gettext(text)
/* Marks a string for the catalogues where it is defined, not used. */
#define N_(text) text

/* The languages there are catalogues for, as --lang names them. */
#define I18N_KNOWN "fr, en"

/* Binds the catalogues next to the executable (build/locale), else the
 * installed ones, and picks the language. lang (--lang) may be NULL. 0, or
 * -1 when lang or CHATROOM_LANG names a language we have no words for
 * (*origin says which: "--lang" or "CHATROOM_LANG"); the next source's
 * language is then in force, so the error can be said. */
int i18n_init(const char *lang, const char **origin);

/* gettext, for tables that translate through a pointer (settings). */
const char *i18n_translate(const char *text) __attribute__((format_arg(1)));

/* A libuv error code (UV_E*, an errno on Unix) in the chosen language. */
const char *i18n_strerror(int code);

/* The server's words (it speaks French) in the chosen language: a fixed
 * sentence, or one of its sentences with one name in it ("le pseudo alice
 * est déjà pris"); anything else as it came. Returns text or buf. */
const char *i18n_server(const char *text, char *buf, size_t cap);

#endif
