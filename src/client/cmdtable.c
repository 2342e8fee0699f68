#include "cmdtable.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "i18n.h"

static bool named(const struct command *cmd, const char *name, size_t len)
{
	if (strlen(cmd->name) == len && strncasecmp(cmd->name, name, len) == 0)
		return true;
	for (size_t i = 0; i < COMMAND_MAX_ALIASES && cmd->aliases[i] != NULL; i++)
		if (strlen(cmd->aliases[i]) == len && strncasecmp(cmd->aliases[i], name, len) == 0)
			return true;
	return false;
}

enum command_match cmdtable_find(const struct command *table, size_t count, const char *line,
				 size_t len, const struct command **cmd, const char **arg,
				 size_t *arg_len)
{
	*cmd = NULL;
	*arg = NULL;
	*arg_len = 0;
	if (len == 0 || line[0] != '/')
		return COMMAND_UNKNOWN;
	/* The name runs to the first space; the argument starts after it. */
	const char *space = memchr(line, ' ', len);
	size_t name_len = (space ? (size_t)(space - line) : len) - 1;
	for (size_t i = 0; i < count && *cmd == NULL; i++)
		if (named(&table[i], line + 1, name_len))
			*cmd = &table[i];
	if (*cmd == NULL)
		return COMMAND_UNKNOWN;
	const char *rest = space ? space + 1 : line + len;
	size_t rest_len = (size_t)(line + len - rest);
	switch ((*cmd)->args) {
	case COMMAND_NO_ARGS:
		return COMMAND_FOUND;
	case COMMAND_REST:
		if (rest_len == 0)
			return COMMAND_BAD_ARGS;
		break;
	case COMMAND_REST_OPTIONAL:
		if (rest_len == 0)
			return COMMAND_FOUND;
		break;
	case COMMAND_WORD:
		while (rest_len > 0 && rest[0] == ' ')
			rest++, rest_len--;
		while (rest_len > 0 && rest[rest_len - 1] == ' ')
			rest_len--;
		if (rest_len == 0 || memchr(rest, ' ', rest_len) != NULL)
			return COMMAND_BAD_ARGS;
		break;
	}
	*arg = rest;
	*arg_len = rest_len;
	return COMMAND_FOUND;
}

/* Appends to buf at *used, never past cap (always terminated). */
__attribute__((format(printf, 4, 5)))
static void add(char *buf, size_t cap, size_t *used, const char *fmt, ...)
{
	if (*used + 1 >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *used, cap - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used = *used + (size_t)n < cap ? *used + (size_t)n : cap - 1;
}

static void add_usage(const struct command *cmd, char *buf, size_t cap, size_t *used)
{
	add(buf, cap, used, "/%s", cmd->name);
	if (cmd->args != COMMAND_NO_ARGS && cmd->metavar != NULL)
		add(buf, cap, used, " %s", _(cmd->metavar));
}

size_t cmdtable_usage(const struct command *cmd, char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = '\0';
	add_usage(cmd, buf, cap, &used);
	return used;
}

size_t cmdtable_help(const struct command *table, size_t count, const char *prefix,
		     char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = '\0';
	add(buf, cap, &used, "%s", prefix);
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			add(buf, cap, &used, ", ");
		add_usage(&table[i], buf, cap, &used);
		add(buf, cap, &used, " (%s)", _(table[i].help));
	}
	add(buf, cap, &used, ".");
	return used;
}

size_t cmdtable_keys_help(const struct key_help *keys, size_t count, const char *prefix,
			  char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = '\0';
	add(buf, cap, &used, "%s", prefix);
	for (size_t i = 0; i < count; i++)
		add(buf, cap, &used, "%s%s (%s)", i > 0 ? ", " : "", _(keys[i].keys), _(keys[i].what));
	add(buf, cap, &used, ".");
	return used;
}

size_t cmdtable_path(const char *arg, size_t len, const char *home, char *out, size_t cap)
{
	while (len > 0 && (arg[0] == ' ' || arg[0] == '\t'))
		arg++, len--;
	while (len > 0 && (arg[len - 1] == ' ' || arg[len - 1] == '\t'))
		len--;
	if (len >= 2 && (arg[0] == '"' || arg[0] == '\'') && arg[len - 1] == arg[0])
		arg++, len -= 2;
	size_t used = 0;
	if (len > 0 && arg[0] == '~' && (len == 1 || arg[1] == '/') && home != NULL &&
	    home[0] != '\0') {
		used = strlen(home);
		if (used >= cap)
			return 0;
		memcpy(out, home, used);
		arg++, len--;
	}
	if (used + len == 0 || used + len >= cap)
		return 0;
	memcpy(out + used, arg, len);
	out[used + len] = '\0';
	return used + len;
}
