/* lessons.h - what every synctop-demo lesson shares: its options, the
 * signature of its run function, and the small helpers main.c provides
 * (stop requests from SIGINT/SIGTERM, clocks, CPU count, error reports).
 *
 * A lesson is one run function in its own file plus one entry in the lesson
 * table in main.c. It opens the session table, registers its processes under
 * names that read like the story, runs rounds until the options' duration
 * has passed or demo_stop_requested() turns true, cleans up everything it
 * started, and returns the program's exit status: 0 when the lesson's
 * teaching claim held, 1 when it did not or something failed.
 */
#ifndef SYNCTOP_DEMO_LESSONS_H
#define SYNCTOP_DEMO_LESSONS_H

#include <stdbool.h>
#include <stdint.h>

#include <synctop/synctop.h>

/* Options common to every lesson (see synctop-demo --help). */
struct lesson_options {
    double duration_s;     /* run this long, then finish the round; 0: until a signal */
    int workers;           /* worker processes the lesson forks */
    long deposits;         /* work items per worker and round (lesson-specific meaning) */
    const char *session;   /* session name; NULL: $SYNCTOP_SESSION, else "default" */
    bool quiet;            /* print nothing but errors */
};

#define LESSON_DEFAULT_WORKERS 4
#define LESSON_MAX_WORKERS 64

/* A lesson's entry point: returns the exit status of the program. */
typedef int (*lesson_run_fn)(const struct lesson_options *opts);

/* The lessons (one file each). */
int lesson_race(const struct lesson_options *opts);

/* ---- helpers provided by main.c ------------------------------------------ */

/* Make SIGINT and SIGTERM set the stop flag instead of killing the process
 * (system calls they interrupt return EINTR), and ignore SIGPIPE. Forked
 * children inherit this. */
void demo_install_signal_handlers(void);

/* True once SIGINT or SIGTERM arrived. */
bool demo_stop_requested(void);

/* CLOCK_MONOTONIC, in nanoseconds. */
int64_t demo_now_ns(void);

/* Sleep until the CLOCK_MONOTONIC time deadline_ns, returning early when a
 * stop is requested. */
void demo_sleep_until(int64_t deadline_ns);

/* CPUs this process may run on (its affinity mask), at least 1. */
int demo_cpu_count(void);

/* Report a failed synctop call on stderr:
 *   synctop-demo: <what>: <st_strerror(result)> (<st_error_detail()>) */
void demo_report(const char *what, st_result result);

#endif
