/* lessons.h - what every synctop-demo lesson shares: its options, the
 * signature of its run function, and the small helpers main.c and crew.c
 * provide (stop requests, the pace, output, forking named workers).
 *
 * A lesson is one run function in its own file plus one entry in the lesson
 * table in main.c. main.c forks one "lesson runner" process per lesson named
 * on the command line (all of them run at once, in one session) and calls
 * the lesson's run function there. The run function opens the session
 * table, registers its processes under names that read like the story,
 * runs rounds until demo_should_stop() (the duration has passed, or SIGINT
 * or SIGTERM arrived), cleans up everything it started, and returns its
 * exit status: 0 when the lesson's teaching claim held (also when it was
 * stopped before it could check it), 1 when it did not or something failed.
 *
 * Rules every lesson follows, so that several can run side by side and a
 * class can watch them:
 *   - every sleep goes through demo_pause() and every timeout that sets the
 *     pace through demo_scaled_ns(), so --speed slows or speeds up all;
 *   - every line goes through demo_say() (narration, silenced by --quiet),
 *     demo_warn(), demo_report() or demo_claim_failed(), which prefix the
 *     lesson's name and go to the --log file when one is given;
 *   - no wait that a stop cannot end: a wait that may last has a timeout
 *     and looks at demo_should_stop() in between, unless what it waits for
 *     is sure to come from a peer that is stopping too (a semaphore unit a
 *     holder gives back when it stops);
 *   - object and process names are unique to the lesson (they share the
 *     session with every other lesson).
 */
#ifndef SYNCTOP_DEMO_LESSONS_H
#define SYNCTOP_DEMO_LESSONS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <synctop/synctop.h>

/* Options common to every lesson (see synctop-demo --help). */
struct lesson_options {
    double duration_s;     /* run this long, then finish the round; 0: until a signal */
    double speed;          /* pace multiplier (2: twice as fast); see demo_pause() */
    int workers;           /* --workers (default LESSON_DEFAULT_WORKERS); lessons
                              whose story fixes their crew ignore it */
    long deposits;         /* work items per worker and round (lesson-specific meaning) */
    const char *session;   /* the session, already resolved (never NULL) */
    bool quiet;            /* print nothing but errors */
};

#define LESSON_DEFAULT_WORKERS 4
#define LESSON_MAX_WORKERS 64

/* A lesson's entry point: returns the exit status of its runner. */
typedef int (*lesson_run_fn)(const struct lesson_options *opts);

/* The lessons (one file each). */
int lesson_race(const struct lesson_options *opts);
int lesson_rlock(const struct lesson_options *opts);
int lesson_semaphore(const struct lesson_options *opts);
int lesson_pool_db(const struct lesson_options *opts);
int lesson_bounded(const struct lesson_options *opts);
int lesson_event(const struct lesson_options *opts);
int lesson_startstop(const struct lesson_options *opts);
int lesson_condition(const struct lesson_options *opts);
int lesson_deadlock(const struct lesson_options *opts);
int lesson_supervisor(const struct lesson_options *opts);
int lesson_pool(const struct lesson_options *opts);
int lesson_shm_split(const struct lesson_options *opts);
int lesson_image(const struct lesson_options *opts);
int lesson_leak(const struct lesson_options *opts);
int lesson_values(const struct lesson_options *opts);
int lesson_queue(const struct lesson_options *opts);
int lesson_pipe(const struct lesson_options *opts);
int lesson_dict(const struct lesson_options *opts);
int lesson_pipeline(const struct lesson_options *opts);
int lesson_resources(const struct lesson_options *opts);
int lesson_speedup(const struct lesson_options *opts);
int lesson_exchange(const struct lesson_options *opts);

/* ---- helpers provided by main.c ------------------------------------------ */

/* Make SIGINT and SIGTERM set the stop flag instead of killing the process
 * (system calls they interrupt return EINTR), and ignore SIGPIPE. Forked
 * children inherit this. */
void demo_install_signal_handlers(void);

/* True once SIGINT or SIGTERM arrived. */
bool demo_stop_requested(void);

/* True once --duration has passed since the lesson started (never without
 * --duration). */
bool demo_time_is_up(void);

/* demo_stop_requested() || demo_time_is_up(): end the loop now. A lesson
 * that must finish a round to check its claim looks at the two apart. */
bool demo_should_stop(void);

/* CLOCK_MONOTONIC, in nanoseconds. */
int64_t demo_now_ns(void);

/* Sleep until the CLOCK_MONOTONIC time deadline_ns, returning early when a
 * stop is requested. Not scaled: compute deadlines with demo_scaled_ns(). */
void demo_sleep_until(int64_t deadline_ns);

/* The pace: sleep ms milliseconds divided by --speed, returning early when
 * a stop is requested. Every pause of every lesson goes through here. */
void demo_pause(int64_t ms);

/* A random pause between min_ms and max_ms (scaled like demo_pause). */
void demo_pause_between(int64_t min_ms, int64_t max_ms);

/* A duration of the story (a timeout, a period) scaled by 1/--speed, at
 * least 1 ms. */
int64_t demo_scaled_ns(int64_t ns);

/* How long a lesson lets its workers take to stop before killing them:
 * a few seconds plus 3 s of the story (their waits are paced). */
#define DEMO_DISMISS_NS (5000000000LL + demo_scaled_ns(3000000000LL))

/* --speed. */
double demo_speed(void);

/* A random number in [min, max] (per-process generator, seeded at fork). */
long demo_random(long min, long max);

/* CPUs this process may run on (its affinity mask), at least 1. */
int demo_cpu_count(void);

/* The name of the lesson this process runs ("race"), or "synctop-demo". */
const char *demo_lesson_name(void);

/* Narration: "<lesson>: <text>\n" on stdout (or the log), one write per
 * line so lines of concurrent processes never mix. Nothing with --quiet. */
void demo_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A problem worth telling even with --quiet: "<lesson>: <text>" on stderr
 * (or the log). */
void demo_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Report a failed synctop call:
 *   <lesson>: <what>: <st_strerror(result)> (<st_error_detail()>) */
void demo_report(const char *what, st_result result);

/* The lesson's claim did not hold: "<lesson>: FAILED: <text>". Returns 1,
 * the exit status to return. */
int demo_claim_failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Worker processes, shared memory and the lesson's own process: crew.h. */

/* ---- a read-only look at the session (watch.c) ----------------------------- */

/* The session the way synctop sees it (attach read-only, refresh the
 * model), for lessons that check what the dashboard shows. */
struct demo_watch {
    st_table *table;      /* read-only */
    st_model *model;
};
bool demo_watch_open(struct demo_watch *watch, const char *session);
bool demo_watch_refresh(struct demo_watch *watch);
const st_object_view *demo_watch_object(const struct demo_watch *watch, const char *name);
/* The field of the named object as an unsigned number; false when the
 * object or field is missing. */
bool demo_watch_u64(const struct demo_watch *watch, const char *object, const char *field,
                    uint64_t *out);
const st_process_view *demo_watch_process(const struct demo_watch *watch, pid_t pid);
void demo_watch_close(struct demo_watch *watch);

#endif
