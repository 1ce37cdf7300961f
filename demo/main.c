/* main.c - synctop-demo: runs one lesson of process synchronization at a
 * pace a person can watch in the synctop dashboard.
 *
 *   synctop-demo LESSON [--duration S] [--workers N] [--deposits K]
 *                       [--session NAME] [--quiet]
 *   synctop-demo list | --help | --version
 *
 * This file parses the command line, holds the lesson table (a new lesson is
 * one entry here plus its own file) and the helpers every lesson shares
 * (see lessons.h). Exit status: 0 the lesson's claim held, 1 it did not or a
 * call failed, 2 a usage error.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lessons.h"

#define PROGRAM "synctop-demo"

/* ---- the lessons --------------------------------------------------------- */

struct lesson {
    const char *name;
    const char *description;   /* one line, for `synctop-demo list` */
    lesson_run_fn run;
};

static const struct lesson lessons[] = {
    { "race", "the bank account: lost updates without a lock, exact totals with one",
      lesson_race },
};

#define LESSON_COUNT (sizeof lessons / sizeof lessons[0])

static const struct lesson *find_lesson(const char *name)
{
    for (size_t i = 0; i < LESSON_COUNT; i++)
        if (strcmp(lessons[i].name, name) == 0)
            return &lessons[i];
    return NULL;
}

static void list_lessons(void)
{
    for (size_t i = 0; i < LESSON_COUNT; i++)
        printf("%-10s %s\n", lessons[i].name, lessons[i].description);
}

/* ---- helpers shared by the lessons (declared in lessons.h) ---------------- */

static volatile sig_atomic_t stop_flag;

static void on_stop_signal(int signo)
{
    (void)signo;
    stop_flag = 1;
}

void demo_install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;   /* no SA_RESTART: a blocked read or sleep returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);   /* a worker gone: write() fails with EPIPE instead */
}

bool demo_stop_requested(void)
{
    return stop_flag != 0;
}

int64_t demo_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void demo_sleep_until(int64_t deadline_ns)
{
    struct timespec ts = {
        .tv_sec = deadline_ns / 1000000000LL,
        .tv_nsec = deadline_ns % 1000000000LL,
    };
    while (!demo_stop_requested()) {
        int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        if (rc != EINTR)
            return;
    }
}

int demo_cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void demo_report(const char *what, st_result result)
{
    const char *detail = st_error_detail();
    if (detail != NULL && detail[0] != '\0')
        fprintf(stderr, PROGRAM ": %s: %s (%s)\n", what, st_strerror(result), detail);
    else
        fprintf(stderr, PROGRAM ": %s: %s\n", what, st_strerror(result));
}

/* ---- command line ---------------------------------------------------------- */

static void print_usage(FILE *out)
{
    fprintf(out,
            "Usage: " PROGRAM " LESSON [--duration S] [--workers N] [--deposits K]\n"
            "                    [--session NAME] [--quiet]\n"
            "       " PROGRAM " list | --help | --version\n");
}

static void print_help(void)
{
    print_usage(stdout);
    printf("\n"
           "Run a lesson of process synchronization and watch it live with synctop.\n"
           "\n"
           "Lessons:\n");
    for (size_t i = 0; i < LESSON_COUNT; i++)
        printf("  %-10s %s\n", lessons[i].name, lessons[i].description);
    printf("\n"
           "Options:\n"
           "  -d, --duration S   run about S seconds (at least one round), then stop;\n"
           "                     default: until SIGINT (Ctrl-C) or SIGTERM\n"
           "  -w, --workers N    worker processes (1-%d, default %d)\n"
           "  -k, --deposits K   deposits per worker and round (race; default 200000)\n"
           "  -s, --session NAME the synctop session to publish into\n"
           "                     (default: $SYNCTOP_SESSION, else \"default\")\n"
           "  -q, --quiet        print nothing but errors\n"
           "  -h, --help         show this help and exit\n"
           "  -V, --version      show the version and exit\n"
           "\n"
           "Watch a lesson with:  synctop    (or synctop -s NAME for --session NAME)\n"
           "Exit status: 0 the lesson's claim held, 1 it did not or a call failed,\n"
           "2 a usage error.\n",
           LESSON_MAX_WORKERS, LESSON_DEFAULT_WORKERS);
}

/* One line naming the problem, then the usage, on stderr; exit status 2. */
__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, PROGRAM ": ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    print_usage(stderr);
    fprintf(stderr, "Try '" PROGRAM " --help' for more information.\n");
    return 2;
}

static bool parse_seconds(const char *text, double *out)
{
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(value) || value <= 0.0 ||
        value > 1e7)
        return false;
    *out = value;
    return true;
}

static bool parse_long(const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min || value > max)
        return false;
    *out = value;
    return true;
}

/* getopt_long names the option that failed through optopt for short options
 * only; a long one is the argument it stopped at. */
static bool is_long_option(const char *arg)
{
    return strncmp(arg, "--", 2) == 0;
}

int main(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "duration", required_argument, NULL, 'd' },
        { "workers", required_argument, NULL, 'w' },
        { "deposits", required_argument, NULL, 'k' },
        { "session", required_argument, NULL, 's' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    struct lesson_options opts = {
        .duration_s = 0.0,
        .workers = LESSON_DEFAULT_WORKERS,
        .deposits = 0,   /* 0: the lesson's default */
        .session = NULL,
        .quiet = false,
    };

    /* Results go to a log file as often as to a terminal: one line at a time. */
    setvbuf(stdout, NULL, _IOLBF, 0);

    opterr = 0;   /* errors are reported below, in one format */
    int opt;
    while ((opt = getopt_long(argc, argv, ":d:w:k:s:qhV", long_options, NULL)) != -1) {
        long number;
        switch (opt) {
        case 'd':
            if (!parse_seconds(optarg, &opts.duration_s))
                return usage_error("--duration needs a positive number of seconds, not '%s'",
                                   optarg);
            break;
        case 'w':
            if (!parse_long(optarg, 1, LESSON_MAX_WORKERS, &number))
                return usage_error("--workers needs a whole number from 1 to %d, not '%s'",
                                   LESSON_MAX_WORKERS, optarg);
            opts.workers = (int)number;
            break;
        case 'k':
            if (!parse_long(optarg, 1, 100000000L, &number))
                return usage_error("--deposits needs a whole number from 1 to "
                                   "100000000, not '%s'", optarg);
            opts.deposits = number;
            break;
        case 's':
            opts.session = optarg;
            break;
        case 'q':
            opts.quiet = true;
            break;
        case 'h':
            print_help();
            return 0;
        case 'V':
            printf(PROGRAM " (" PACKAGE_NAME ") " PACKAGE_VERSION "\n");
            return 0;
        case ':':
            if (is_long_option(argv[optind - 1]))
                return usage_error("option '%s' needs a value", argv[optind - 1]);
            return usage_error("option '-%c' needs a value", optopt);
        default:
            if (is_long_option(argv[optind - 1]))
                return usage_error("unknown option '%s'", argv[optind - 1]);
            return usage_error("unknown option '-%c'", optopt);
        }
    }

    if (optind >= argc)
        return usage_error("no lesson named (try '" PROGRAM " list')");
    const char *name = argv[optind++];
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);

    if (strcmp(name, "list") == 0) {
        list_lessons();
        return 0;
    }
    const struct lesson *lesson = find_lesson(name);
    if (lesson == NULL)
        return usage_error("unknown lesson '%s' (try '" PROGRAM " list')", name);

    /* A bad session name is a usage error, caught before any lesson starts. */
    char session[ST_SESSION_NAME_MAX + 1];
    st_result result = st_session_resolve(opts.session, session);
    if (result != ST_OK) {
        const char *detail = st_error_detail();
        return usage_error("bad session name: %s", detail[0] != '\0' ? detail
                                                                       : st_strerror(result));
    }

    demo_install_signal_handlers();
    return lesson->run(&opts);
}
