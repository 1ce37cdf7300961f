/* main.c - synctop-demo: runs lessons of process synchronization at a pace
 * a person can watch in the synctop dashboard.
 *
 *   synctop-demo LESSON... | all  [--duration S] [--speed F] [--log FILE]
 *                                 [--workers N] [--deposits K]
 *                                 [--session NAME] [--no-trace] [--quiet]
 *   synctop-demo list | --help | --version
 *
 * This file parses the command line, holds the lesson table (a new lesson
 * is one entry here plus its own file), runs the lessons, and provides the
 * helpers every lesson shares (see lessons.h).
 *
 * How lessons run. The program (the "director") forks one lesson runner
 * per lesson named, all at once, into one session. Each runner leads its
 * own process group, so that its workers - and the workers of its pools and
 * supervisors - can be signalled and killed as one. The director:
 *   - forwards SIGINT and SIGTERM (SIGHUP as SIGTERM) to every group
 *     (Ctrl-C reaches only the terminal's foreground group, which is the
 *     director's);
 *   - sends SIGTERM when a runner overstays --duration by a lot, and
 *     SIGKILL when one ignores a stop; either counts as a failure;
 *   - is a child subreaper (PR_SET_CHILD_SUBREAPER): whatever a crashed
 *     runner leaves behind becomes the director's child, is killed with the
 *     runner's group (while the runner's zombie still reserves the group
 *     id) and reaped;
 *   - removes the session when it created it and no lesson keeps it on
 *     purpose (the leak lesson leaves its region for `synctop --gc`).
 * Tracing: every object the lessons create logs its operations in the
 * session's event ring (SYNCTOP_TRACE=all in the runners' environment; the
 * race lesson switches its hot bank-lock off), so
 * the dashboard's timeline tells the lesson's story; --no-trace turns that
 * off (and drops a SYNCTOP_TRACE the caller set).
 * Exit status: 0 every lesson's claim held (also when stopped by a
 * signal), 1 one did not or a call failed (the director names which
 * lesson), 2 a usage error.
 *
 * For tests: with SYNCTOP_DEMO_END_FILE=PATH in the environment (and no
 * --duration), the time is up once PATH exists - every lesson finishes its
 * round and checks its claim exactly as at the end of --duration - so a
 * test on a busy machine ends a lesson after it has seen what it looks
 * for, not after a guessed duration.
 *
 * Output: lessons write through demo_say()/demo_warn()/demo_report(), one
 * write(2) per line prefixed with the lesson's name; with --log FILE each
 * runner's stdout and stderr are that file (opened for appending), so the
 * lessons' chatter stays off a dashboard running in the same terminal.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lessons.h"
#include "../tui/cli_text.h"
#include "../tui/i18n.h"

#define PROGRAM "synctop-demo"

/* ---- the lessons --------------------------------------------------------- */

struct lesson {
    const char *name;
    const char *description;   /* one line, for `synctop-demo list` */
    lesson_run_fn run;
    bool keeps_session;        /* leaves something in the session on purpose:
                                  the director must not remove the session */
};

/* One entry per lesson, in the order `list` prints them. A lesson that
 * deliberately leaves something behind sets keeps_session (the 4th member,
 * false when left out: hence the pragma). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const struct lesson lessons[] = {
    { "race", N_("the bank account: lost updates without a lock, exact totals with one"),
      lesson_race },
    { "semaphore", N_("3 download slots for 10 downloads: never more than 3 at once"),
      lesson_semaphore },
    { "pool-db", N_("a connection pool of 5 for 10 users: a semaphore as a resource pool"),
      lesson_pool_db },
    { "bounded", N_("a bounded semaphore over-released: the bug caught as ST_EOVERFLOW"),
      lesson_bounded },
    { "event", N_("workers released together when a starter sets an event"),
      lesson_event },
    { "startstop", N_("a controller steering producers and consumers with start/stop events"),
      lesson_startstop },
    { "condition", N_("a hand-off on a condition variable over a lock: cook and waiters"),
      lesson_condition },
    { "deadlock", N_("two locks taken in opposite orders: detected, then broken by a timeout"),
      lesson_deadlock },
    { "rlock", N_("a transfer re-entering its RLock: depth 1 -> 2 -> 1; a plain Lock: ST_EDEADLK"),
      lesson_rlock },
    { "supervisor", N_("unstable workers crash and are restarted, at most 3 times each"),
      lesson_supervisor },
    { "pool", N_("a pool of workers running map and async tasks with callbacks"),
      lesson_pool },
    { "shm-split", N_("an array in shared memory split among doublers, each doubling its slice"),
      lesson_shm_split },
    { "image", N_("a 1000x1000 RGB picture in shared memory turned grayscale by workers"),
      lesson_image },
    { "leak", N_("a region whose creator exits without unlinking it: leaked until synctop --gc"),
      lesson_leak, true },
    { "values", N_("a counter and temperatures in shared Values, an Array and its statistics"),
      lesson_values },
    { "queue", N_("a bounded queue: producers, consumers and an inspector; every order once"),
      lesson_queue },
    { "pipe", N_("a foreman and an apprentice on a duplex pipe: instructions, progress, results"),
      lesson_pipe },
    { "dict", N_("a job board in a shared dict: a dispatcher, clerks and a monitor"),
      lesson_dict },
    { "pipeline", N_("read, process, write: three stages joined by two queues; every line once"),
      lesson_pipeline },
    { "resources", N_("CPU-, memory- and IO-heavy workers for the dashboard's meters"),
      lesson_resources },
    { "speedup", N_("one CPU-bound job serially and on 1..N workers: speed-up and efficiency"),
      lesson_speedup },
    { "exchange", "five ways to move records (shm, pipe, value, queue, dict) raced side by side",
      lesson_exchange },
};
#pragma GCC diagnostic pop

#define LESSON_COUNT (sizeof lessons / sizeof lessons[0])

static const struct lesson *find_lesson(const char *name)
{
    for (size_t i = 0; i < LESSON_COUNT; i++)
        if (strcmp(lessons[i].name, name) == 0)
            return &lessons[i];
    return NULL;
}

static void list_lessons(FILE *out, const char *indent)
{
    for (size_t i = 0; i < LESSON_COUNT; i++)
        fprintf(out, "%s%-11s %s\n", indent, lessons[i].name, _(lessons[i].description));
}

/* ---- helpers shared by the lessons (declared in lessons.h) ---------------- */

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t stop_signal;   /* the last one received */

static double pace_speed = 1.0;              /* --speed */
static int64_t run_end_ns = INT64_MAX;       /* start + --duration */
static bool quiet_output;                    /* --quiet */
static const char *current_lesson = PROGRAM; /* the runner's lesson */

static void on_stop_signal(int signo)
{
    stop_flag = 1;
    stop_signal = signo;
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

/* The SYNCTOP_DEMO_END_FILE hook (see the top): whether the file exists,
 * looked at no more than every 10 ms per process. */
static bool end_file_exists(int64_t now)
{
    static const char *path;
    static bool looked_up, exists;
    static int64_t next_look;
    if (!looked_up) {
        looked_up = true;
        path = getenv("SYNCTOP_DEMO_END_FILE");
        if (path != NULL && path[0] == '\0')
            path = NULL;
    }
    if (path == NULL || exists || now < next_look)
        return exists;
    next_look = now + 10000000LL;
    exists = access(path, F_OK) == 0;
    return exists;
}

bool demo_time_is_up(void)
{
    int64_t now = demo_now_ns();
    return now >= run_end_ns || end_file_exists(now);
}

bool demo_should_stop(void)
{
    return demo_stop_requested() || demo_time_is_up();
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

double demo_speed(void)
{
    return pace_speed;
}

int64_t demo_scaled_ns(int64_t ns)
{
    double scaled = (double)ns / pace_speed;
    if (scaled < 1e6)
        return 1000000;
    if (scaled > 9e18)
        return INT64_MAX;
    return (int64_t)scaled;
}

void demo_pause(int64_t ms)
{
    if (ms <= 0)
        return;
    demo_sleep_until(demo_now_ns() + demo_scaled_ns(ms * 1000000LL));
}

/* xorshift64*, one state per process: reseeded whenever the pid changed,
 * so every forked worker draws its own numbers. */
long demo_random(long min, long max)
{
    static uint64_t state;
    static pid_t seeded_by;
    if (seeded_by != getpid()) {
        seeded_by = getpid();
        state = (uint64_t)demo_now_ns() ^ ((uint64_t)seeded_by << 32) ^ 0x9e3779b97f4a7c15ull;
        if (state == 0)
            state = 1;
    }
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    uint64_t r = state * 0x2545f4914f6cdd1dull;
    if (max <= min)
        return min;
    return min + (long)(r % (uint64_t)(max - min + 1));
}

void demo_pause_between(int64_t min_ms, int64_t max_ms)
{
    demo_pause(demo_random(min_ms, max_ms));
}

int demo_cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

const char *demo_lesson_name(void)
{
    return current_lesson;
}

/* One line "<lesson>: <text>\n" written with a single write(2), so that the
 * lines of concurrent processes sharing a file never mix. */
static void write_line(int fd, const char *infix, const char *fmt, va_list ap)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "%s: %s", current_lesson, infix);
    if (n < 0)
        return;
    if ((size_t)n < sizeof line) {
        int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        if (m > 0)
            n += m;
    }
    if ((size_t)n >= sizeof line - 1)
        n = (int)sizeof line - 2;   /* truncated */
    if (n > 0 && line[n - 1] == '\n')
        n--;
    line[n++] = '\n';
    const char *p = line;
    while (n > 0) {
        ssize_t w = write(fd, p, (size_t)n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (int)w;
    }
}

void demo_say(const char *fmt, ...)
{
    if (quiet_output)
        return;
    fflush(stdout);   /* keep the order of any printf()'d line before us */
    va_list ap;
    va_start(ap, fmt);
    write_line(STDOUT_FILENO, "", _(fmt), ap);
    va_end(ap);
}

void demo_warn(const char *fmt, ...)
{
    fflush(stdout);
    va_list ap;
    va_start(ap, fmt);
    write_line(STDERR_FILENO, "", _(fmt), ap);
    va_end(ap);
}

int demo_claim_failed(const char *fmt, ...)
{
    fflush(stdout);
    va_list ap;
    va_start(ap, fmt);
    write_line(STDERR_FILENO, _("FAILED: "), _(fmt), ap);
    va_end(ap);
    return 1;
}

void demo_report(const char *what, st_result result)
{
    const char *detail = st_error_detail();
    if (detail != NULL && detail[0] != '\0')
        demo_warn("%s: %s (%s)", what, st_strerror(result), detail);
    else
        demo_warn("%s: %s", what, st_strerror(result));
}

/* ---- the director: one runner per lesson ------------------------------------ */

/* How long past --duration a lesson may take to finish its round, and how
 * long a stopped lesson may take to clean up, before it is made to (more
 * when the pace is slow: lessons' waits are paced). */
#define OVERSTAY_GRACE_NS (30000000000LL + demo_scaled_ns(30000000000LL))
#define STOP_GRACE_NS (15000000000LL + demo_scaled_ns(5000000000LL))
#define POLL_INTERVAL_NS 20000000LL

struct runner {
    const struct lesson *lesson;
    pid_t pid;              /* also its process group id; 0 once reaped */
    int status;             /* wait status once reaped */
    bool killed;            /* the director had to SIGKILL it */
};

/* The director's own lines go to the screen and, with --log, to the log. */
static int director_log_fd = -1;

__attribute__((format(printf, 2, 3)))
static void director_say(int fd, const char *fmt, ...)
{
    va_list ap;
    if (fd == STDERR_FILENO || !quiet_output) {
        va_start(ap, fmt);
        write_line(fd, "", fmt, ap);
        va_end(ap);
    }
    if (director_log_fd >= 0) {
        va_start(ap, fmt);
        write_line(director_log_fd, "", fmt, ap);
        va_end(ap);
    }
}

/* In the new runner: become a group leader, die with the director, send
 * output to the log, run the lesson. Never returns. */
static void runner_main(const struct lesson *lesson, const struct lesson_options *opts,
                        pid_t director, int log_fd)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != director)
        _exit(1);   /* the director died before prctl() took effect */
    prctl(PR_SET_CHILD_SUBREAPER, 0);   /* only the director collects orphans */
    current_lesson = lesson->name;
    if (log_fd >= 0) {
        dup2(log_fd, STDOUT_FILENO);
        dup2(log_fd, STDERR_FILENO);
        close(log_fd);
    }
    int status = lesson->run(opts);
    fflush(NULL);
    _exit(status == 0 ? 0 : status < 0 || status > 125 ? 1 : status);
}

/* Signal every runner's whole group, as Ctrl-C on a terminal signals a
 * whole job: every process of every lesson learns of the stop at once
 * (lessons may count on it; their workers inherit the stop handler). */
static void signal_groups(struct runner *runners, int count, int signo)
{
    for (int i = 0; i < count; i++)
        if (runners[i].pid > 0)
            kill(-runners[i].pid, signo);
}

/* Reap one child that has exited, if any: a runner (then SIGKILL what is
 * left of its group first, while its zombie keeps the group id reserved)
 * or an orphan passed to us. Returns false when none had exited. */
static bool reap_one(struct runner *runners, int count)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0)
        return false;
    pid_t pid = info.si_pid;
    for (int i = 0; i < count; i++) {
        if (runners[i].pid == pid) {
            kill(-pid, SIGKILL);
            int status = 0;
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            runners[i].status = status;
            runners[i].pid = 0;
            return true;
        }
    }
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    return true;
}

static int live_runners(const struct runner *runners, int count)
{
    int live = 0;
    for (int i = 0; i < count; i++)
        if (runners[i].pid > 0)
            live++;
    return live;
}

/* Wait for every runner, forwarding stops and enforcing the graces. */
static void direct(struct runner *runners, int count)
{
    bool forwarded = false, overstay_sent = false;
    int64_t kill_at = INT64_MAX;
    struct timespec interval = { 0, POLL_INTERVAL_NS };

    while (live_runners(runners, count) > 0) {
        while (reap_one(runners, count))
            ;
        if (live_runners(runners, count) == 0)
            break;
        int64_t now = demo_now_ns();
        if (demo_stop_requested() && !forwarded) {
            forwarded = true;
            signal_groups(runners, count, stop_signal == SIGINT ? SIGINT : SIGTERM);
            kill_at = now + STOP_GRACE_NS;
        }
        if (!overstay_sent && run_end_ns != INT64_MAX && now > run_end_ns + OVERSTAY_GRACE_NS) {
            overstay_sent = true;
            for (int i = 0; i < count; i++)
                if (runners[i].pid > 0)
                    director_say(STDERR_FILENO, _("lesson '%s' is still running %.0f s after "
                                 "--duration; stopping it"), runners[i].lesson->name,
                                 OVERSTAY_GRACE_NS / 1e9);
            signal_groups(runners, count, SIGTERM);
            if (kill_at == INT64_MAX)
                kill_at = now + STOP_GRACE_NS;
        }
        if (now >= kill_at) {
            for (int i = 0; i < count; i++) {
                if (runners[i].pid > 0) {
                    director_say(STDERR_FILENO, _("lesson '%s' did not stop within %.0f s; "
                                 "killing it"), runners[i].lesson->name, STOP_GRACE_NS / 1e9);
                    runners[i].killed = true;
                    kill(-runners[i].pid, SIGKILL);
                }
            }
            kill_at = INT64_MAX;
        }
        nanosleep(&interval, NULL);   /* EINTR is fine: the loop looks again */
    }

    /* Orphans of killed groups were SIGKILLed with them; collect them. */
    int64_t give_up = demo_now_ns() + 2000000000LL;
    while (demo_now_ns() < give_up) {
        if (reap_one(runners, count))
            continue;
        if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
            break;
        nanosleep(&interval, NULL);
    }
}

/* Did the session exist before we started? (Then it is someone else's to
 * remove.) */
static bool session_exists(const char *session)
{
    st_table *table = NULL;
    st_result result = st_table_attach_readonly(session, &table);
    st_table_close(table);
    return result != ST_ENOENT;
}

static void tidy_session(const char *session, bool existed, const struct runner *runners,
                         int count)
{
    const char *keeper = NULL;
    for (int i = 0; i < count; i++)
        if (runners[i].lesson->keeps_session)
            keeper = runners[i].lesson->name;
    if (existed)
        return;   /* it was there before us */
    uint32_t kept = 0;
    st_result result = keeper ? st_session_remove_keeping_leaks(session, false, &kept)
                              : st_session_remove(session, false);
    if (result == ST_OK && kept > 0)
        director_say(STDOUT_FILENO, "session '%s' removed, but the %s lesson's %u leaked region%s "
                     "stay%s in /dev/shm on purpose: `synctop --gc` collects %s", session, keeper, kept,
                     kept == 1 ? "" : "s", kept == 1 ? "s" : "", kept == 1 ? "it" : "them");
    if (result == ST_EBUSY)
        director_say(STDOUT_FILENO, _("session '%s' kept: other processes still use it"), session);
    else if (result != ST_OK && result != ST_ENOENT)
        director_say(STDERR_FILENO, _("removing session '%s': %s (%s)"), session,
                     st_strerror(result), st_error_detail());
}

static int judge(const struct runner *runners, int count, const char *log_path)
{
    int failed = 0;
    for (int i = 0; i < count; i++) {
        const struct runner *r = &runners[i];
        int status = r->status;
        if (!r->killed && WIFEXITED(status) && WEXITSTATUS(status) == 0)
            continue;
        failed++;
        if (r->killed)
            director_say(STDERR_FILENO, _("lesson '%s' FAILED: it had to be killed"),
                         r->lesson->name);
        else if (WIFEXITED(status))
            director_say(STDERR_FILENO, _("lesson '%s' FAILED (exit status %d)%s%s"),
                         r->lesson->name, WEXITSTATUS(status),
                         log_path != NULL ? _("; its messages are in ") : "",
                         log_path != NULL ? log_path : "");
        else if (WIFSIGNALED(status))
            director_say(STDERR_FILENO, _("lesson '%s' FAILED: killed by signal %d (%s)"),
                         r->lesson->name, WTERMSIG(status), strsignal(WTERMSIG(status)));
    }
    return failed == 0 ? 0 : 1;
}

static int run_lessons(const struct lesson **chosen, int count, struct lesson_options *opts,
                       const char *log_path)
{
    int log_fd = -1;
    if (log_path != NULL) {
        /* Never through a symbolic link: a link planted there must not make
         * us write into someone's file. */
        log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (log_fd < 0) {
            int error = errno;
            char shown[CLI_MESSAGE_BYTES / 2];
            fprintf(stderr, _("synctop-demo: invalid --log '%s': cannot open it for appending: %s; give a "
                    "file you may write (not a symbolic link)\n"),
                    cli_shown(log_path, shown, sizeof shown), error == ELOOP ? _("it is a symbolic link")
                                                                             : strerror(error));
            return 2;
        }
    }

    bool existed = session_exists(opts->session);
    /* Whatever a crashed runner leaves behind is ours to kill and reap. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    /* The director stops on a hang-up as on Ctrl-C: it still cleans up. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);

    char names[512] = "";
    for (int i = 0; i < count; i++) {
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, "%s%s", i > 0 ? " " : "", chosen[i]->name);
    }
    if (log_fd >= 0 && !quiet_output)
        printf(_("synctop-demo: the lessons' output goes to %s\n"), log_path);
    director_log_fd = log_fd;
    director_say(STDOUT_FILENO, _("running %s in session '%s'%s. Watch: synctop -s %s"), names,
                 opts->session, opts->duration_s > 0 ? "" : _(" until Ctrl-C"), opts->session);

    if (opts->duration_s > 0)
        run_end_ns = demo_now_ns() + (int64_t)(opts->duration_s * 1e9);

    struct runner runners[LESSON_COUNT];
    memset(runners, 0, sizeof runners);
    pid_t director = getpid();
    int started = 0;
    for (; started < count && !demo_stop_requested(); started++) {
        runners[started].lesson = chosen[started];
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            director_say(STDERR_FILENO, "fork: %s", strerror(errno));
            runners[started].status = 1 << 8;   /* "exit status 1" */
            started++;
            break;
        }
        if (pid == 0)
            runner_main(chosen[started], opts, director, log_fd);
        setpgid(pid, pid);   /* also here: no window where it is still in ours */
        runners[started].pid = pid;
    }

    direct(runners, started);
    if (log_fd >= 0)
        fsync(log_fd);
    int status = judge(runners, started, log_path);
    tidy_session(opts->session, existed, runners, started);
    if (log_fd >= 0)
        close(log_fd);
    director_log_fd = -1;
    return status;
}

/* ---- command line ---------------------------------------------------------- */

static void print_usage(FILE *out)
{
    fputs(_("Usage: synctop-demo LESSON... | all  [--duration S] [--speed F] [--log FILE]\n"
            "                    [--workers N] [--deposits K] [--session NAME] [--no-trace]\n"
            "                    [--quiet]\n"
            "       synctop-demo list | --help | --version\n"), out);
}

static void print_help(void)
{
    print_usage(stdout);
    printf("\n%s", _("Run lessons of process synchronization and watch them live with synctop.\n"
           "Several lessons (or all) run at once, in one session.\n"
           "\n"
           "Lessons:\n"));
    list_lessons(stdout, "  ");
    printf("  %-11s %s\n", "all", _("every lesson above, at once"));
    putchar('\n');
    printf(_("Options:\n"
           "  -d, --duration S   run about S seconds (each lesson finishes the round it\n"
           "                     needs to check its claim), then stop;\n"
           "                     default: until SIGINT (Ctrl-C) or SIGTERM\n"
           "  -x, --speed F      pace multiplier: 2 runs twice as fast, 0.5 half as fast\n"
           "                     (every pause and paced timeout is divided by F; default 1)\n"
           "  -l, --log FILE     append the lessons' output to FILE instead of the terminal\n"
           "  -w, --workers N    worker processes (race: tellers; 1-%d, default %d)\n"
           "  -k, --deposits K   deposits per worker and round (race; default 200000)\n"
           "  -s, --session NAME the synctop session to publish into\n"
           "                     (default: $SYNCTOP_SESSION, else \"default\")\n"
           "  -T, --no-trace     do not log the lessons' operations in the session's event\n"
           "                     ring (default: every object they create is traced, so\n"
           "                     the dashboard's timeline shows the story; it costs time:\n"
           "                     see lock_uncontended_traced_ratio in `make bench`)\n"
           "  -q, --quiet        print nothing but errors\n"
           "  -h, --help         show this help and exit\n"
           "  -V, --version      show the version and exit\n"
           "\n"
           "Watch with:  synctop    (or synctop -s NAME for --session NAME)\n"
           "Exit status: 0 every lesson's claim held, 1 one did not or a call failed,\n"
           "2 a usage error.\n"),
           LESSON_MAX_WORKERS, LESSON_DEFAULT_WORKERS);
}

/* One line naming the problem, then the usage, on stderr; exit status 2. */
__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(PROGRAM ": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    print_usage(stderr);
    fputs(_("Try 'synctop-demo --help' for more information.\n"), stderr);
    return 2;
}

/* The option getopt refused, named and escaped, in a usage error. */
static int refused_option_error(char **argv, const struct option *long_options, bool missing_value)
{
    char bad[CLI_MESSAGE_BYTES / 4], shown[CLI_MESSAGE_BYTES / 2];
    cli_refused_option(argv, long_options, bad, sizeof bad);
    cli_shown(bad, shown, sizeof shown);
    if (missing_value)
        return usage_error(_("option %s needs an argument"), shown);
    if (cli_refused_option_took_a_value(argv))
        return usage_error(_("option %s does not take an argument"), shown);
    return usage_error(_("unknown option %s"), shown);
}

/* Every object the lessons (and the library's children they start) create
 * is traced, or none: the runners inherit the environment. */
static bool set_tracing(bool on)
{
    int failed = on ? setenv("SYNCTOP_TRACE", "all", 1) : unsetenv("SYNCTOP_TRACE");
    if (failed != 0)
        fprintf(stderr, _("synctop-demo: cannot set SYNCTOP_TRACE: %s\n"), strerror(errno));
    return failed == 0;
}

#define SPEED_MIN 0.01
#define SPEED_MAX 100.0
#define DURATION_MIN 0.001
#define DURATION_MAX 1e7
#define DEPOSITS_MAX 100000000L

int main(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "duration", required_argument, NULL, 'd' },
        { "speed", required_argument, NULL, 'x' },
        { "log", required_argument, NULL, 'l' },
        { "workers", required_argument, NULL, 'w' },
        { "deposits", required_argument, NULL, 'k' },
        { "session", required_argument, NULL, 's' },
        { "no-trace", no_argument, NULL, 'T' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    struct lesson_options opts = {
        .duration_s = 0.0,
        .speed = 1.0,
        .workers = LESSON_DEFAULT_WORKERS,
        .deposits = 0,   /* 0: the lesson's default */
        .session = NULL,
        .quiet = false,
    };
    const char *log_path = NULL;
    bool trace = true;

    i18n_init();

    /* Results go to a log file as often as to a terminal: one line at a time. */
    setvbuf(stdout, NULL, _IOLBF, 0);

    opterr = 0;   /* errors are reported below, in one format */
    char shown[CLI_MESSAGE_BYTES / 2];
    char problem[CLI_MESSAGE_BYTES];
    int opt;
    while ((opt = getopt_long(argc, argv, ":d:x:l:w:k:s:TqhV", long_options, NULL)) != -1) {
        long number;
        switch (opt) {
        case 'd':
            if (!cli_parse_number(optarg, DURATION_MIN, DURATION_MAX, &opts.duration_s))
                return usage_error(_("invalid --duration '%s': give seconds from %g to %.0f"),
                                   cli_shown(optarg, shown, sizeof shown), DURATION_MIN, DURATION_MAX);
            break;
        case 'x':
            if (!cli_parse_number(optarg, SPEED_MIN, SPEED_MAX, &opts.speed))
                return usage_error(_("invalid --speed '%s': give a number from %g to %g"),
                                   cli_shown(optarg, shown, sizeof shown), SPEED_MIN, SPEED_MAX);
            break;
        case 'l':
            if (optarg[0] == '\0')
                return usage_error("%s", _("invalid --log '': give the name of a file to append to"));
            log_path = optarg;
            break;
        case 'w':
            if (!cli_parse_whole(optarg, 1, LESSON_MAX_WORKERS, &number))
                return usage_error(_("invalid --workers '%s': give a whole number from 1 to %d"),
                                   cli_shown(optarg, shown, sizeof shown), LESSON_MAX_WORKERS);
            opts.workers = (int)number;
            break;
        case 'k':
            if (!cli_parse_whole(optarg, 1, DEPOSITS_MAX, &number))
                return usage_error(_("invalid --deposits '%s': give a whole number from 1 to %ld"),
                                   cli_shown(optarg, shown, sizeof shown), DEPOSITS_MAX);
            opts.deposits = number;
            break;
        case 's':
            /* As synctop -s: an empty name is an error, never "default". */
            if (cli_session_name_problem("-s/--session", optarg, problem, sizeof problem))
                return usage_error("%s", problem);
            opts.session = optarg;
            break;
        case 'T':
            trace = false;
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
            return refused_option_error(argv, long_options, true);
        default:
            return refused_option_error(argv, long_options, false);
        }
    }

    if (optind >= argc)
        return usage_error("%s", _("no lesson named (try 'synctop-demo list')"));
    if (strcmp(argv[optind], "list") == 0) {
        if (optind + 1 < argc)
            return usage_error(_("unexpected argument '%s' after 'list'"),
                               cli_shown(argv[optind + 1], shown, sizeof shown));
        list_lessons(stdout, "");
        return 0;
    }

    /* The lessons to run: "all", or names, each at most once. */
    const struct lesson *chosen[LESSON_COUNT];
    int count = 0;
    if (strcmp(argv[optind], "all") == 0) {
        if (optind + 1 < argc)
            return usage_error("%s", _("'all' runs every lesson; name lessons or 'all', not both"));
        for (size_t i = 0; i < LESSON_COUNT; i++)
            chosen[count++] = &lessons[i];
    } else {
        for (int a = optind; a < argc; a++) {
            const struct lesson *lesson = find_lesson(argv[a]);
            if (lesson == NULL)
                return usage_error(_("unknown lesson '%s' (try 'synctop-demo list')"),
                                   cli_shown(argv[a], shown, sizeof shown));
            for (int j = 0; j < count; j++)
                if (chosen[j] == lesson)
                    return usage_error(_("lesson '%s' named twice"), argv[a]);   /* a known name */
            chosen[count++] = lesson;
        }
    }

    /* A bad session name (or $SYNCTOP_SESSION) is a usage error, caught
     * before any lesson starts; an empty $SYNCTOP_SESSION means unset. */
    char session[ST_SESSION_NAME_MAX + 1];
    if (!cli_resolve_session(opts.session, session, problem, sizeof problem))
        return usage_error("%s", problem);
    opts.session = session;
    pace_speed = opts.speed;
    quiet_output = opts.quiet;

    if (!set_tracing(trace))
        return 1;
    demo_install_signal_handlers();
    return run_lessons(chosen, count, &opts, log_path);
}
