/* options.h - synctop's command line, parsed into one struct.
 *
 * Parsing only reads argv: it opens nothing and attaches to nothing, so
 * every mistake a user can type is reported before any session is touched.
 * The combinations are settled here too, so the rest of the program sees one
 * mode and never has to reconcile flags:
 *
 *   --json alone            one JSON object, as with --once --json
 *   --once [--json]         one refresh (text or one JSON object)
 *   --batch [--json]        a refresh every -d seconds, -n times (JSON Lines)
 *   no mode flag            the dashboard on a terminal, else batch (see main.c)
 *   --list, --remove NAME   session housekeeping; --force only with --remove
 *   --gc [-s NAME]          collect leaked shared memory
 */
#ifndef SYNCTOP_TUI_OPTIONS_H
#define SYNCTOP_TUI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* What the program will do; exactly one per run. */
typedef enum synctop_mode {
    MODE_DASHBOARD = 0,   /* no mode flag given */
    MODE_ONCE,            /* --once, or --json alone */
    MODE_BATCH,           /* --batch */
    MODE_LIST,            /* --list */
    MODE_REMOVE,          /* --remove SESSION */
    MODE_HELP,            /* -h, --help */
    MODE_VERSION,         /* -V, --version */
    MODE_GC,              /* --gc [-s SESSION] */
} synctop_mode;

#define SYNCTOP_DEFAULT_DELAY_S 1.0
#define SYNCTOP_MAX_DELAY_S 3600.0

typedef struct synctop_options {
    synctop_mode mode;
    const char *session;         /* -s NAME, or NULL: $SYNCTOP_SESSION, else "default" */
    double delay_s;              /* -d: seconds between refreshes, in (0, 3600] */
    bool delay_given;            /* -d was on the command line */
    long iterations;             /* -n: refreshes to print; 0 means no limit */
    bool json;                   /* --json: JSON instead of text */
    const char *remove_session;  /* --remove's argument */
    bool force;                  /* --force (with --remove) */
    bool no_color;               /* --no-color (or NO_COLOR in the environment) */
    bool ascii;                  /* --ascii: no line-drawing or Unicode glyphs */
} synctop_options;

/* Parse argv into *options. Returns 0 on success; on a mistake prints
 * "synctop: <what is wrong>" and the usage to err and returns 2 (the exit
 * status for usage errors). */
int options_parse(int argc, char **argv, synctop_options *options, FILE *err);

/* The seconds of a -d value, or a negative value when text is not a plain
 * decimal greater than 0 and at most SYNCTOP_MAX_DELAY_S. */
double options_parse_delay(const char *text);

/* The message for a -d value options_parse_delay refused, naming flag and
 * the value (escaped), into message. */
void options_delay_problem(const char *flag, const char *text, char *message, size_t size);

/* The short usage (synopsis lines), as printed after an error. */
void options_print_usage(FILE *out);

/* The full help: usage plus every option, for --help. */
void options_print_help(FILE *out);

#endif
