/* options.c - parse synctop's command line (getopt_long) into
 * synctop_options, then check that the flags make sense together.
 *
 * getopt's own messages are switched off (opterr = 0) so that every mistake
 * reads the same way: one line "synctop: <what is wrong>", naming the flag,
 * the value as typed (escaped, see cli_text.h) and what is accepted, then
 * the usage, on stderr, and exit status 2. Every value is checked here,
 * before anything is opened. Numbers must be plain decimals, consumed
 * whole: "1x", " 1", "nan" and "inf" are errors.
 */
#include "config.h"

#include "options.h"

#include "cli_text.h"
#include "i18n.h"

#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Long options without a short form. */
enum {
    OPT_ONCE = 256,
    OPT_JSON,
    OPT_LIST,
    OPT_REMOVE,
    OPT_FORCE,
    OPT_NO_COLOR,
    OPT_ASCII,
    OPT_GC,
};

static const struct option long_options[] = {
    { "session", required_argument, NULL, 's' },
    { "delay", required_argument, NULL, 'd' },
    { "iterations", required_argument, NULL, 'n' },
    { "batch", no_argument, NULL, 'b' },
    { "once", no_argument, NULL, OPT_ONCE },
    { "json", no_argument, NULL, OPT_JSON },
    { "list", no_argument, NULL, OPT_LIST },
    { "remove", required_argument, NULL, OPT_REMOVE },
    { "force", no_argument, NULL, OPT_FORCE },
    { "no-color", no_argument, NULL, OPT_NO_COLOR },
    { "ascii", no_argument, NULL, OPT_ASCII },
    { "gc", no_argument, NULL, OPT_GC },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
};

/* Leading ':' makes getopt return ':' for a missing argument. */
static const char short_options[] = ":s:d:n:bhV";

void options_print_usage(FILE *out)
{
    fputs(_("Usage: synctop [-s SESSION] [-d SECONDS] [-n COUNT] [--once | --batch] [--json]\n"
          "               [--no-color] [--ascii]\n"
          "       synctop --list\n"
          "       synctop --remove SESSION [--force]\n"
          "       synctop --gc [-s SESSION]\n"
          "       synctop run [-s SESSION] [--dashboard] -- COMMAND [ARGS...]\n"
          "       synctop --help | --version\n"),
          out);
}

void options_print_help(FILE *out)
{
    fputs(_("synctop - top for inter-process synchronization\n\n"), out);
    options_print_usage(out);
    fputs(_("\n"
          "Shows the processes, locks and other primitives of a synctop session\n"
          "(processes using libsynctop publish them in shared memory). Without\n"
          "--once or --batch, on a terminal: the interactive dashboard (F1 there\n"
          "explains every key, view and column).\n"
          "\n"
          "  -s, --session NAME      session to show (default: $SYNCTOP_SESSION, else \"default\")\n"
          "  -d, --delay SECONDS     seconds between refreshes, fractions allowed (default 1)\n"
          "  -n, --iterations COUNT  stop after COUNT refreshes (default: no limit)\n"
          "      --once              print one refresh and exit\n"
          "  -b, --batch             print a refresh every -d seconds as plain text\n"
          "      --json              print JSON: alone or with --once one object,\n"
          "                          with --batch one object per line per refresh\n"
          "      --list              list this user's sessions\n"
          "      --remove SESSION    remove a session's shared-memory table\n"
          "      --force             with --remove: remove it even while processes use it\n"
          "      --gc                remove leaked shared memory (regions whose creator died,\n"
          "                          data of dead sessions): of -s SESSION, or of all sessions\n"
          "      --no-color          no colours (also when NO_COLOR is set)\n"
          "      --ascii             draw with ASCII characters only\n"
          "  -h, --help              show this help and exit\n"
          "  -V, --version           show the version and exit\n"
          "\n"
          "Start a session to watch with:  synctop-demo race\n"
          "Watch an unmodified program:    synctop run [--dashboard] -- COMMAND (see synctop run --help)\n"
          "See synctop(1) for the JSON fields and exit statuses.\n"),
          out);
}

/* Print "synctop: <message>" and the usage; return the usage exit status. */
static int usage_error(FILE *err, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static int usage_error(FILE *err, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fputs("synctop: ", err);
    vfprintf(err, format, args);
    fputc('\n', err);
    va_end(args);
    options_print_usage(err);
    return 2;
}

double options_parse_delay(const char *text)
{
    double seconds;
    if (!cli_parse_number(text, 0.0, SYNCTOP_MAX_DELAY_S, &seconds) || seconds <= 0.0)
        return -1.0;
    return seconds;
}

void options_delay_problem(const char *flag, const char *text, char *message, size_t size)
{
    char shown[CLI_MESSAGE_BYTES / 2];
    snprintf(message, size, _("invalid %s '%s': give seconds greater than 0 and at most %g (e.g. 0.5)"), flag,
             cli_shown(text, shown, sizeof shown), SYNCTOP_MAX_DELAY_S);
}

/* A positive count in text, or 0 when it is not one. */
static long parse_count(const char *text)
{
    long count;
    return cli_parse_whole(text, 1, LONG_MAX, &count) ? count : 0;
}

/* The flags as seen, before they are reduced to one mode. */
typedef struct seen_flags {
    bool once, batch, list, remove, help, version, gc;
    bool session, iterations;
} seen_flags;

/* Reduce the flags to one mode, refusing combinations that contradict. */
static int settle_mode(const seen_flags *seen, synctop_options *options, FILE *err)
{
    if (seen->help) {
        options->mode = MODE_HELP;
        return 0;
    }
    if (seen->version) {
        options->mode = MODE_VERSION;
        return 0;
    }
    if (seen->list && seen->remove)
        return usage_error(err, _("--list and --remove cannot be used together"));
    if (seen->list || seen->remove) {
        const char *which = seen->list ? "--list" : "--remove";
        if (seen->once || seen->batch || options->json)
            return usage_error(err, _("%s cannot be combined with --once, --batch or --json"), which);
        if (seen->session)
            return usage_error(err, _("%s does not take -s/--session%s"), which,
                               seen->remove ? _("; name the session after --remove") : "");
        if (options->delay_given || seen->iterations)
            return usage_error(err, _("%s does not take -d or -n"), which);
    }
    if (seen->gc) {
        if (seen->list || seen->remove)
            return usage_error(err, _("--gc cannot be combined with --list or --remove"));
        if (seen->once || seen->batch || options->json)
            return usage_error(err, _("--gc cannot be combined with --once, --batch or --json"));
        if (options->delay_given || seen->iterations)
            return usage_error(err, _("--gc does not take -d or -n"));
    }
    if (options->force && !seen->remove)
        return usage_error(err, _("--force is only meaningful with --remove SESSION"));
    if (seen->once && seen->batch)
        return usage_error(err, _("--once and --batch cannot be used together (--batch -n 1 prints one refresh)"));
    if (seen->once && seen->iterations)
        return usage_error(err, _("--once prints one refresh; -n needs --batch"));

    if (seen->list)
        options->mode = MODE_LIST;
    else if (seen->remove)
        options->mode = MODE_REMOVE;
    else if (seen->gc)
        options->mode = MODE_GC;
    else if (seen->batch)
        options->mode = MODE_BATCH;
    else if (seen->once || options->json)
        options->mode = MODE_ONCE;   /* --json alone means --once --json */
    else
        options->mode = MODE_DASHBOARD;
    return 0;
}

int options_parse(int argc, char **argv, synctop_options *options, FILE *err)
{
    *options = (synctop_options){
        .mode = MODE_DASHBOARD,
        .delay_s = SYNCTOP_DEFAULT_DELAY_S,
    };
    const char *no_color = getenv("NO_COLOR");
    options->no_color = no_color != NULL && no_color[0] != '\0';

    seen_flags seen = { 0 };
    char bad[CLI_MESSAGE_BYTES / 4];
    char shown[CLI_MESSAGE_BYTES / 2];
    char problem[CLI_MESSAGE_BYTES];
    opterr = 0;
    optind = 0;   /* 0 re-initialises GNU getopt fully */
    for (;;) {
        int option = getopt_long(argc, argv, short_options, long_options, NULL);
        if (option == -1)
            break;
        switch (option) {
        case 's':
            if (cli_session_name_problem("-s/--session", optarg, problem, sizeof problem))
                return usage_error(err, "%s", problem);
            options->session = optarg;
            seen.session = true;
            break;
        case 'd':
            options->delay_s = options_parse_delay(optarg);
            if (options->delay_s < 0.0) {
                options_delay_problem("-d/--delay", optarg, problem, sizeof problem);
                return usage_error(err, "%s", problem);
            }
            options->delay_given = true;
            break;
        case 'n':
            options->iterations = parse_count(optarg);
            if (options->iterations == 0)
                return usage_error(err, _("invalid -n/--iterations '%s': give a whole number of refreshes, 1 or more"),
                                   cli_shown(optarg, shown, sizeof shown));
            seen.iterations = true;
            break;
        case 'b':
            seen.batch = true;
            break;
        case OPT_ONCE:
            seen.once = true;
            break;
        case OPT_JSON:
            options->json = true;
            break;
        case OPT_LIST:
            seen.list = true;
            break;
        case OPT_REMOVE:
            if (cli_session_name_problem("--remove", optarg, problem, sizeof problem))
                return usage_error(err, "%s", problem);
            options->remove_session = optarg;
            seen.remove = true;
            break;
        case OPT_FORCE:
            options->force = true;
            break;
        case OPT_NO_COLOR:
            options->no_color = true;
            break;
        case OPT_ASCII:
            options->ascii = true;
            break;
        case OPT_GC:
            seen.gc = true;
            break;
        case 'h':
            seen.help = true;
            break;
        case 'V':
            seen.version = true;
            break;
        case ':':
            cli_refused_option(argv, long_options, bad, sizeof bad);
            return usage_error(err, _("option %s needs an argument"), cli_shown(bad, shown, sizeof shown));
        default:   /* '?': an unknown option, or an argument given to a flag */
            cli_refused_option(argv, long_options, bad, sizeof bad);
            if (cli_refused_option_took_a_value(argv))
                return usage_error(err, _("option %s does not take an argument"), cli_shown(bad, shown, sizeof shown));
            return usage_error(err, _("unknown option %s"), cli_shown(bad, shown, sizeof shown));
        }
    }
    if (optind < argc)
        return usage_error(err, _("unexpected argument '%s'"), cli_shown(argv[optind], shown, sizeof shown));
    return settle_mode(&seen, options, err);
}
