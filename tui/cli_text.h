/* cli_text.h - what synctop and synctop-demo say about a command line:
 * a typed value shown safely, and the checks of values both programs take
 * (numbers, session names), so that a bad flag reads the same in both.
 *
 * Every message built here names the flag, the value as typed (escaped:
 * a control character or a byte outside printable ASCII is shown as \xHH,
 * never sent raw to the terminal) and what is accepted.
 */
#ifndef SYNCTOP_TUI_CLI_TEXT_H
#define SYNCTOP_TUI_CLI_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include <synctop/table.h>

/* Room for a message about one value; longer values are cut ("..."). */
#define CLI_MESSAGE_BYTES 512

/* text with every byte outside printable ASCII written as \xHH and '\' as
 * "\\", cut with "..." to fit in size bytes. Returns buffer. */
const char *cli_shown(const char *text, char *buffer, size_t size);

struct option;

/* The option getopt_long just refused (it returned '?' or ':'), as typed:
 * "--name" (up to any '=') for a long option, "-c" for a short one, even
 * inside a cluster like -qz. Raw: show it through cli_shown(). */
void cli_refused_option(char **argv, const struct option *long_options, char *out, size_t size);

/* Whether the refused option is a known long option given "=VALUE" though
 * it takes none. */
bool cli_refused_option_took_a_value(char **argv);

/* A decimal number (digits, one '.', an exponent; no blanks, sign, hex,
 * NaN or infinity) from min to max inclusive, whole text consumed. */
bool cli_parse_number(const char *text, double min, double max, double *out);

/* A whole number (digits only) from min to max inclusive. */
bool cli_parse_whole(const char *text, long min, long max, long *out);

/* What is wrong with name as a session name typed after flag (e.g.
 * "-s/--session"), as "invalid session name 'NAME' (FLAG): ..." in
 * message; false when nothing is. An empty name is wrong: only an unset or empty
 * $SYNCTOP_SESSION means "default". */
bool cli_session_name_problem(const char *flag, const char *name, char *message, size_t size);

/* The session to use: the flag's value (already checked) if given, else
 * $SYNCTOP_SESSION if set and not empty, else "default". Returns false
 * with a message when $SYNCTOP_SESSION holds an invalid name. */
bool cli_resolve_session(const char *flag_value, char out[ST_SESSION_NAME_MAX + 1], char *message,
                         size_t size);

#endif
