/* cli_text.c - values typed on a command line: shown safely, parsed
 * strictly, session names checked (see cli_text.h). Shared by synctop and
 * synctop-demo, so that their messages about a bad flag agree. */
#include "config.h"

#include "cli_text.h"
#include "i18n.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synctop/result.h>

/* The room one escaped byte may take ("\xHH"). */
#define ESCAPED_BYTE_MAX 4

const char *cli_shown(const char *text, char *buffer, size_t size)
{
    if (size == 0)
        return buffer;
    size_t used = 0;
    const unsigned char *p = (const unsigned char *)text;
    for (; *p != '\0'; p++) {
        char piece[ESCAPED_BYTE_MAX + 1];
        if (*p == '\\')
            snprintf(piece, sizeof piece, "\\\\");
        else if (*p < 0x20 || *p >= 0x7f)
            snprintf(piece, sizeof piece, "\\x%02x", *p);
        else
            snprintf(piece, sizeof piece, "%c", *p);
        size_t length = strlen(piece);
        /* Keep room for "..." and the NUL while more may follow. */
        if (used + length + 4 > size)
            break;
        memcpy(buffer + used, piece, length);
        used += length;
    }
    if (*p != '\0' && used + 4 <= size) {
        memcpy(buffer + used, "...", 3);
        used += 3;
    }
    buffer[used] = '\0';
    return buffer;
}

/* Whether getopt_long's error was about a long option: optopt is 0 for an
 * unknown one and the option's value for a known one, while for a short
 * option it is the letter (and argv[optind - 1] may be an earlier word,
 * when the letter is inside a cluster). */
static bool refused_long_option(char **argv, const struct option *long_options)
{
    const char *word = argv[optind - 1];
    if (strncmp(word, "--", 2) != 0)
        return false;
    if (optopt == 0)
        return true;
    size_t length = strcspn(word + 2, "=");
    for (const struct option *o = long_options; o->name != NULL; o++)
        if (o->val == optopt && strncmp(o->name, word + 2, length) == 0)
            return true;   /* a prefix: getopt_long accepts abbreviations */
    return false;
}

void cli_refused_option(char **argv, const struct option *long_options, char *out, size_t size)
{
    if (refused_long_option(argv, long_options)) {
        const char *word = argv[optind - 1];
        snprintf(out, size, "%.*s", (int)strcspn(word, "="), word);
    } else {
        snprintf(out, size, "-%c", optopt > 0 && optopt < 256 ? optopt : '?');
    }
}

bool cli_refused_option_took_a_value(char **argv)
{
    const char *word = argv[optind - 1];
    return optopt != 0 && strncmp(word, "--", 2) == 0 && strchr(word, '=') != NULL;
}

/* Digits, at most one '.', then an optional exponent: what a person types. */
static bool looks_decimal(const char *text)
{
    const char *p = text;
    size_t digits = 0;
    while (*p >= '0' && *p <= '9')
        p++, digits++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++, digits++;
    }
    if (digits == 0)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

bool cli_parse_number(const char *text, double min, double max, double *out)
{
    if (!looks_decimal(text))
        return false;
    errno = 0;
    double value = strtod(text, NULL);
    if (errno != 0 || !isfinite(value) || value < min || value > max)
        return false;
    *out = value;
    return true;
}

bool cli_parse_whole(const char *text, long min, long max, long *out)
{
    if (*text == '\0' || strspn(text, "0123456789") != strlen(text))
        return false;
    errno = 0;
    long value = strtol(text, NULL, 10);
    if (errno != 0 || value < min || value > max)
        return false;
    *out = value;
    return true;
}

bool cli_session_name_problem(const char *flag, const char *name, char *message, size_t size)
{
    char resolved[ST_SESSION_NAME_MAX + 1];
    /* st_session_resolve reads "" as "not given": an empty flag is ours to refuse. */
    if (name[0] != '\0' && st_session_resolve(name, resolved) == ST_OK)
        return false;
    char shown[CLI_MESSAGE_BYTES / 2];
    snprintf(message, size, _("invalid session name '%s' (%s): give 1 to %d letters, digits, '-' or '_'"),
             cli_shown(name, shown, sizeof shown), flag, ST_SESSION_NAME_MAX);
    return true;
}

bool cli_resolve_session(const char *flag_value, char out[ST_SESSION_NAME_MAX + 1], char *message,
                         size_t size)
{
    const char *from_environment = getenv("SYNCTOP_SESSION");
    if (flag_value == NULL && from_environment != NULL && from_environment[0] != '\0' &&
        cli_session_name_problem(_("from SYNCTOP_SESSION"), from_environment, message, size))
        return false;
    if (flag_value != NULL && cli_session_name_problem("-s/--session", flag_value, message, size))
        return false;
    if (st_session_resolve(flag_value, out) != ST_OK) {
        snprintf(message, size, _("cannot resolve the session name: %s"), st_error_detail());
        return false;
    }
    return true;
}
