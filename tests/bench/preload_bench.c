/* preload_bench.c - what watching an unmodified program costs it (make bench).
 *
 *   preload_mutex_uncontended_ratio     a C program's uncontended lock +
 *       unlock of a process-shared pthread mutex (tests/preload_workload
 *       bench), ns per pair with libsynctop-preload.so preloaded over
 *       without it; target <= 1.5.
 *   preload_python_lock_overhead_ratio  the wall time of a lock-heavy
 *       Python multiprocessing script (tests/python/lock_heavy.py: two
 *       processes taking a Lock on every iteration, a shared one every
 *       16th), interpreter start included, preloaded over not; target
 *       <= 1.15.
 *   preload_python_pipe_overhead_ratio  the wall time of a Python script
 *       sending small messages over a multiprocessing Pipe from one
 *       process to another (tests/python/pipe_heavy.py), preloaded over
 *       not; target <= 1.15.
 *
 *   preload_python_startup_ms  extra milliseconds per interpreter start:
 *       /usr/bin/python3 -c "import multiprocessing" with the preload's
 *       environment (inside a session that exists) over without, the
 *       difference of the medians of STARTUP_RUNS runs each; target <= 15.
 *       The figure is CPU time (user + system, from wait4): the preload
 *       neither sleeps nor waits at start-up, and on a shared machine the
 *       wall time of a 50 ms program varies by more than the figure (the
 *       wall medians are printed beside it).
 *       Beside it, a comment line with synctop run's whole-command
 *       overhead (`synctop run -- /usr/bin/python3 -c ...` over the plain
 *       command: the session's creation, the fork, its removal), measured
 *       with the real binary, not libtool's wrapper script.
 *
 * The ratios are ratios of medians measured in this run, the two variants
 * interleaved so that a machine growing busier hits both. The Python
 * figure is skipped (with a line saying why) where python3 is missing. The
 * watched runs publish into a session of their own, removed at the end.
 *
 * Usage: synctop-preload-bench [--quick]
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <synctop/table.h>

#define REPS 7
#define MAX_REPS 15

static long mutex_pairs = 5000000;
static long python_iterations = 400000;
static long pipe_messages = 200000;
static int reps = REPS;
static char session[64];
static double last_cpu_s;   /* CPU time (user + system) of the last run's child */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values, int n)
{
    qsort(values, (size_t)n, sizeof *values, compare_doubles);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/* Run argv (preloaded or not); its first output line is parsed as a number
 * into *printed if asked; returns the wall time, or -1 on failure. */
static double run(char *const argv[], bool preloaded, double *printed)
{
    int out[2];
    if (pipe(out) != 0)
        return -1;
    double start = now_s();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setenv("PYTHONDONTWRITEBYTECODE", "1", 1);   /* no __pycache__ in the source tree */
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        if (preloaded) {
            setenv("LD_PRELOAD", SYNCTOP_PRELOAD_BUILT, 1);
            setenv("SYNCTOP_SESSION", session, 1);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    close(out[1]);
    char text[256];
    size_t have = 0;
    ssize_t n;
    while ((n = read(out[0], text + have, sizeof text - 1 - have)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0)
            have += (size_t)n;
    close(out[0]);
    int status;
    struct rusage usage;
    while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
    }
    last_cpu_s = (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                 (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    double wall = now_s() - start;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    text[have] = '\0';
    if (printed)
        *printed = strtod(text, NULL);
    return wall;
}

static bool report_ratio(const char *name, double *plain, double *watched, int n, double target)
{
    double p = median(plain, n), w = median(watched, n);
    printf("%s %.3f\n", name, w / p);
    printf("# %s: %.4g without, %.4g with the preload (median of %d)\n", name, p, w, n);
    printf("# %s target <= %.2f: %s\n", name, target, w / p <= target ? "met" : "NOT met");
    fflush(stdout);
    return w / p <= target;
}

static int bench_mutex(void)
{
    char pairs[32];
    snprintf(pairs, sizeof pairs, "%ld", mutex_pairs);
    char *argv[] = { (char *)PRELOAD_WORKLOAD, (char *)"bench", pairs, NULL };
    double plain[MAX_REPS], watched[MAX_REPS];
    for (int i = 0; i < reps; i++) {
        if (run(argv, false, &plain[i]) < 0 || run(argv, true, &watched[i]) < 0) {
            fprintf(stderr, "synctop-preload-bench: %s failed\n", PRELOAD_WORKLOAD);
            return 1;
        }
    }
    report_ratio("preload_mutex_uncontended_ratio", plain, watched, reps, 1.5);
    return 0;
}

#define STARTUP_RUNS 31
#define PYTHON_PATH "/usr/bin/python3"

/* synctop itself, not libtool's wrapper script (which runs a shell and
 * sed before it): tui/.libs/synctop with the build's library path. */
static bool real_synctop(char *path, size_t size)
{
    const char *wrapper = SYNCTOP_BINARY;
    const char *slash = strrchr(wrapper, '/');
    snprintf(path, size, "%.*s/.libs/synctop", (int)(slash - wrapper), wrapper);
    if (access(path, X_OK) != 0)
        snprintf(path, size, "%s", wrapper);   /* an installed-like build: no wrapper */
    char libs[512];
    const char *preload = SYNCTOP_PRELOAD_BUILT;
    const char *lib_slash = strrchr(preload, '/');
    snprintf(libs, sizeof libs, "%.*s", (int)(lib_slash - preload), preload);
    return setenv("LD_LIBRARY_PATH", libs, 1) == 0 && setenv("SYNCTOP_PRELOAD_LIBRARY", preload, 1) == 0;
}

static int bench_python_startup(void)
{
    char *argv[] = { (char *)PYTHON_PATH, (char *)"-c", (char *)"import multiprocessing", NULL };
    if (access(PYTHON_PATH, X_OK) != 0 || run(argv, false, NULL) < 0) {
        printf("# preload_python_startup_ms: skipped, no usable %s\n", PYTHON_PATH);
        return 0;
    }
    st_table_options options = { .session = session };
    st_table *table = NULL;
    if (st_table_open(&options, &table) != ST_OK) {
        fprintf(stderr, "synctop-preload-bench: cannot create session %s\n", session);
        return 1;
    }
    char synctop[512];
    if (!real_synctop(synctop, sizeof synctop))
        return 1;
    char run_session[80];
    snprintf(run_session, sizeof run_session, "%s-run", session);
    char *run_argv[] = { synctop, (char *)"run", (char *)"-s", run_session, (char *)"--", (char *)PYTHON_PATH,
                         (char *)"-c", (char *)"import multiprocessing", NULL };
    int runs = reps < REPS ? 9 : STARTUP_RUNS;
    double plain[STARTUP_RUNS], watched[STARTUP_RUNS], wrapped[STARTUP_RUNS];
    double plain_cpu[STARTUP_RUNS], watched_cpu[STARTUP_RUNS], wrapped_cpu[STARTUP_RUNS];
    for (int i = 0; i < runs; i++) {
        plain[i] = run(argv, false, NULL);
        plain_cpu[i] = last_cpu_s;
        watched[i] = run(argv, true, NULL);
        watched_cpu[i] = last_cpu_s;
        wrapped[i] = run(run_argv, false, NULL);
        wrapped_cpu[i] = last_cpu_s;
        if (plain[i] < 0 || watched[i] < 0 || wrapped[i] < 0) {
            fprintf(stderr, "synctop-preload-bench: %s -c 'import multiprocessing' failed\n", PYTHON_PATH);
            st_table_close(table);
            return 1;
        }
    }
    st_table_close(table);
    double p = median(plain, runs) * 1e3, w = median(watched, runs) * 1e3, r = median(wrapped, runs) * 1e3;
    double pc = median(plain_cpu, runs) * 1e3, wc = median(watched_cpu, runs) * 1e3;
    double rc = median(wrapped_cpu, runs) * 1e3;
    printf("preload_python_startup_ms %.1f\n", wc - pc);
    printf("# preload_python_startup_ms: CPU time %.1f ms without, %.1f ms with the preload; wall %.1f ms "
           "without, %.1f ms with (medians of %d)\n", pc, wc, p, w, runs);
    printf("# preload_python_startup_ms target <= 15: %s\n", wc - pc <= 15 ? "met" : "NOT met");
    printf("# synctop run's whole-command overhead: %.1f ms wall, %.1f ms CPU (synctop run -- %s -c ...: "
           "%.1f ms wall, %.1f ms CPU, median of %d)\n", r - p, rc - pc, PYTHON_PATH, r, rc, runs);
    fflush(stdout);
    return 0;
}

static bool have_python(void)
{
    char *argv[] = { (char *)"python3", (char *)"-c", (char *)"import multiprocessing.synchronize", NULL };
    return run(argv, false, NULL) >= 0;
}

static int bench_python(void)
{
    if (!have_python()) {
        printf("# preload_python_lock_overhead_ratio: skipped, no usable python3 in PATH\n");
        return 0;
    }
    char iterations[32];
    snprintf(iterations, sizeof iterations, "%ld", python_iterations);
    char *argv[] = { (char *)"python3", (char *)PRELOAD_PYTHON_DIR "/lock_heavy.py", iterations, NULL };
    double plain[MAX_REPS], watched[MAX_REPS];
    for (int i = 0; i < reps; i++) {
        plain[i] = run(argv, false, NULL);
        watched[i] = run(argv, true, NULL);
        if (plain[i] < 0 || watched[i] < 0) {
            fprintf(stderr, "synctop-preload-bench: lock_heavy.py failed\n");
            return 1;
        }
    }
    report_ratio("preload_python_lock_overhead_ratio", plain, watched, reps, 1.15);
    return 0;
}

static int bench_python_pipe(void)
{
    if (!have_python()) {
        printf("# preload_python_pipe_overhead_ratio: skipped, no usable python3 in PATH\n");
        return 0;
    }
    char messages[32];
    snprintf(messages, sizeof messages, "%ld", pipe_messages);
    char *argv[] = { (char *)"python3", (char *)PRELOAD_PYTHON_DIR "/pipe_heavy.py", messages, NULL };
    double plain[MAX_REPS], watched[MAX_REPS];
    for (int i = 0; i < reps; i++) {
        plain[i] = run(argv, false, NULL);
        watched[i] = run(argv, true, NULL);
        if (plain[i] < 0 || watched[i] < 0) {
            fprintf(stderr, "synctop-preload-bench: pipe_heavy.py failed\n");
            return 1;
        }
    }
    report_ratio("preload_python_pipe_overhead_ratio", plain, watched, reps, 1.15);
    return 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            mutex_pairs = 500000;
            python_iterations = 50000;
            pipe_messages = 20000;
            reps = 3;
        } else {
            fprintf(stderr, "usage: synctop-preload-bench [--quick]\n");
            return 2;
        }
    }
    snprintf(session, sizeof session, "preload-bench-%d", (int)getpid());
    printf("# synctop-preload-bench: the cost of being watched (synctop run), median of %d runs each%s\n", reps,
           reps < REPS ? "; --quick: rough figures" : "");
    fflush(stdout);
    int status = bench_mutex();
    if (status == 0)
        status = bench_python();
    if (status == 0)
        status = bench_python_startup();
    if (status == 0)
        status = bench_python_pipe();
    st_result removed = st_session_remove(session, true);
    if (removed != ST_OK && removed != ST_ENOENT)
        fprintf(stderr, "synctop-preload-bench: removing session %s: %s\n", session, st_error_detail());
    return status;
}
