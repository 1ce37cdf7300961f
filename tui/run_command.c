/* run_command.c - `synctop run`: start an unmodified program watched by the
 * interposition library, and optionally the dashboard on it.
 *
 * What it does, in order:
 *  0. Check every option (values included) and, with --dashboard, open the
 *     log (run_log.c): a mistake is reported, exit status 2, before
 *     anything starts.
 *  1. Resolve the session (-s, else $SYNCTOP_SESSION, else "default") and
 *     open its table (creating it), so that the program's processes attach
 *     to a ready table. It is removed at the end if this run created it and
 *     no live process remains in it (--keep keeps it). When the table
 *     cannot be opened (a foreign table, /dev/shm full...), one line on
 *     stderr says why, and the command runs unobserved: without the
 *     preload and without the dashboard; the exit status is still its own.
 *  2. Find libsynctop-preload.so and make its path absolute: the program
 *     may chdir, and LD_PRELOAD is read again at every exec.
 *     $SYNCTOP_PRELOAD_LIBRARY, else next to the installed synctop
 *     (../lib), else the configured libdir, else the build tree.
 *  3. Fork; the child sets LD_PRELOAD (ours first, then any the user had),
 *     SYNCTOP_SESSION and SYNCTOP_RUN_PID (its own pid: the preload gives
 *     that process the role "main", the others "child") and execs COMMAND
 *     (PATH search). An exec failure comes back through a close-on-exec
 *     pipe, so "not found" is reported by us, with the shell's statuses.
 *  4. Without --dashboard: wait for the command as a shell would (Ctrl-C
 *     and Ctrl-\ are for the command; SIGTERM and SIGHUP are passed on).
 *     With --dashboard: the command runs in its own process group, its
 *     output goes to the log (the terminal is the dashboard's), stdin
 *     from /dev/null; the dashboard runs until quit, then the command, if
 *     still running, is stopped (SIGTERM to its group, SIGKILL 2 s later)
 *     and the exit status is the dashboard's; if the command had ended,
 *     its own. The dashboard asks us at every wake-up whether the command
 *     ended (dashboard_command): we reap it then (WNOHANG), and from then
 *     on its header says "COMMAND ENDED: exit status N after T" and its
 *     figures stay frozen until q. T runs from the fork to the SIGCHLD.
 *  5. Whenever we reap the command, its wait status goes into its process
 *     slot (st_process_record_exit, by pid and start time): it is the main
 *     process of the session, and no preload sees its end.
 */
#include "config.h"

#include "run_command.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <synctop/process.h>
#include <synctop/result.h>
#include <synctop/table.h>

#include "cli_text.h"
#include "dashboard.h"
#include "end_text.h"
#include "options.h"
#include "run_log.h"

#define PRELOAD_FILE "libsynctop-preload.so"
#define STOP_GRACE_MS 2000

typedef struct run_options {
    const char *session;
    bool dashboard;
    bool keep;
    const char *log_path;
    const char *delay;            /* -d, passed to the dashboard as typed */
    char **command;               /* NULL-terminated */
} run_options;

#define RUN_USAGE \
    "Usage: synctop run [-s SESSION] [--dashboard] [-d SECONDS] [--log FILE] [--keep]\n" \
    "                   [--] COMMAND [ARGS...]\n"

/* "synctop run: <message>" and the usage on stderr; the usage exit status. */
__attribute__((format(printf, 1, 2)))
static int usage_error(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fputs("synctop run: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    fputs(RUN_USAGE, stderr);
    return 2;
}

static void print_help(void)
{
    fputs(RUN_USAGE
          "\n"
          "Runs COMMAND watched: its process-shared POSIX semaphores, pthread mutexes and\n"
          "condition variables (Python multiprocessing's Lock, RLock, Semaphore, Event,\n"
          "Condition and Queue among them), in every process it forks or execs, are shown\n"
          "in the session like libsynctop's own primitives. The program is not changed.\n"
          "\n"
          "  -s, --session NAME   session to publish in (default: $SYNCTOP_SESSION, else \"default\")\n"
          "      --dashboard      open the dashboard on it in this terminal; the command's\n"
          "                       output goes to the log file; quitting the dashboard\n"
          "                       stops the command if it still runs\n"
          "  -d, --delay SECONDS  the dashboard's refresh interval\n"
          "      --log FILE       with --dashboard: append the command's output to FILE\n"
          "                       (not a symbolic link; default: a new synctop-run-SESSION.log\n"
          "                       in $XDG_RUNTIME_DIR, else in a new private directory\n"
          "                       synctop-run-XXXXXX in $TMPDIR or /tmp)\n"
          "      --keep           keep the session when the command ends\n"
          "  -h, --help           show this help\n"
          "\n"
          "If the session cannot be opened, the command runs unobserved (one line on stderr).\n"
          "Exit status: the command's (128 + N when signal N ended it, 127 when it is not\n"
          "found, 126 when it cannot be run); 2 for a usage error, 1 when synctop cannot\n"
          "set it up. See synctop(1).\n", stdout);
}

enum { OPT_DASHBOARD = 256, OPT_KEEP, OPT_LOG };

static const struct option run_long_options[] = {
    { "session", required_argument, NULL, 's' },
    { "dashboard", no_argument, NULL, OPT_DASHBOARD },
    { "delay", required_argument, NULL, 'd' },
    { "log", required_argument, NULL, OPT_LOG },
    { "keep", no_argument, NULL, OPT_KEEP },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* The option getopt refused, named and escaped, in a usage error. */
static int refused_option_error(char **argv, bool missing_value)
{
    char bad[CLI_MESSAGE_BYTES / 4], shown[CLI_MESSAGE_BYTES / 2];
    cli_refused_option(argv, run_long_options, bad, sizeof bad);
    cli_shown(bad, shown, sizeof shown);
    if (missing_value)
        return usage_error("option %s needs an argument", shown);
    if (cli_refused_option_took_a_value(argv))
        return usage_error("option %s does not take an argument", shown);
    return usage_error("unknown option %s", shown);
}

/* Parse and check every option and value. Returns 0, -1 after --help, or
 * the usage exit status after printing the mistake. */
static int parse(int argc, char **argv, run_options *out)
{
    char problem[CLI_MESSAGE_BYTES];
    char shown[CLI_MESSAGE_BYTES / 2];
    *out = (run_options){ 0 };
    opterr = 0;
    optind = 0;
    for (;;) {
        /* '+': options stop at the command, so its own options are its. */
        int option = getopt_long(argc, argv, "+:s:d:h", run_long_options, NULL);
        if (option == -1)
            break;
        switch (option) {
        case 's':
            if (cli_session_name_problem("-s/--session", optarg, problem, sizeof problem))
                return usage_error("%s", problem);
            out->session = optarg;
            break;
        case 'd':
            if (options_parse_delay(optarg) < 0.0) {
                options_delay_problem("-d/--delay", optarg, problem, sizeof problem);
                return usage_error("%s", problem);
            }
            out->delay = optarg;
            break;
        case OPT_DASHBOARD:
            out->dashboard = true;
            break;
        case OPT_LOG:
            if (optarg[0] == '\0')
                return usage_error("invalid --log '': give the name of a file to append the output to");
            out->log_path = optarg;
            break;
        case OPT_KEEP:
            out->keep = true;
            break;
        case 'h':
            print_help();
            return -1;
        case ':':
            return refused_option_error(argv, true);
        default:
            return refused_option_error(argv, false);
        }
    }
    if (optind >= argc)
        return usage_error("no command given (synctop run -- COMMAND [ARGS...])");
    if (argv[optind][0] == '\0')
        return usage_error("invalid COMMAND '': give a program to run");
    if (out->log_path && !out->dashboard)
        return usage_error("--log '%s' is for --dashboard (without it the command keeps its own output)",
                           cli_shown(out->log_path, shown, sizeof shown));
    if (out->delay && !out->dashboard)
        return usage_error("-d/--delay '%s' is for --dashboard", cli_shown(out->delay, shown, sizeof shown));
    out->command = &argv[optind];
    return 0;
}

/* ---- the preload library ---- */

static bool readable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

/* Try dir + "/" + relative; on success the absolute path is in out. */
static bool try_candidate(const char *dir, const char *relative, char *out, size_t size)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, relative) >= (int)sizeof path || !readable_file(path))
        return false;
    return realpath(path, out) != NULL && strlen(out) < size;
}

static bool find_preload_library(char *out, size_t size)
{
    const char *chosen = getenv("SYNCTOP_PRELOAD_LIBRARY");
    if (chosen && chosen[0]) {
        char resolved[PATH_MAX];
        if (!readable_file(chosen) || !realpath(chosen, resolved) || strlen(resolved) >= size) {
            char shown[CLI_MESSAGE_BYTES / 2];
            fprintf(stderr, "synctop run: SYNCTOP_PRELOAD_LIBRARY=%s is not a readable file\n",
                    cli_shown(chosen, shown, sizeof shown));
            return false;
        }
        snprintf(out, size, "%s", resolved);
        return true;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            /* installed: PREFIX/bin/synctop and PREFIX/lib/...; then the
             * build tree: tui/.libs/synctop (libtool) or tui/synctop. */
            if (try_candidate(exe, "../lib/" PRELOAD_FILE, out, size))
                return true;
#ifdef SYNCTOP_PRELOAD_INSTALLED
            if (readable_file(SYNCTOP_PRELOAD_INSTALLED) && realpath(SYNCTOP_PRELOAD_INSTALLED, out))
                return true;
#endif
            if (try_candidate(exe, "../../collector/.libs/" PRELOAD_FILE, out, size) ||
                try_candidate(exe, "../collector/.libs/" PRELOAD_FILE, out, size))
                return true;
        }
    }
    fprintf(stderr, "synctop run: cannot find %s (install synctop, or set SYNCTOP_PRELOAD_LIBRARY "
            "to its path)\n", PRELOAD_FILE);
    return false;
}

/* ---- the session ---- */

/* Open (or create) the session's table for the command's processes.
 * Returns it, or NULL after one line on stderr saying why the command will
 * run unobserved. *existed says whether something was there before us
 * (then it is not ours to remove). */
static st_table *open_session(const char *session, const char *command, bool *existed)
{
    st_table *existing = NULL;
    *existed = st_table_attach_readonly(session, &existing) != ST_ENOENT;
    st_table_close(existing);
    st_table *table = NULL;
    st_table_options table_options = { .session = session };
    st_result result = st_table_open(&table_options, &table);
    if (result != ST_OK) {
        const char *detail = st_error_detail();
        char shown[CLI_MESSAGE_BYTES / 2];
        fprintf(stderr, "synctop run: cannot watch %s: session '%s': %s%s%s; it runs unobserved\n",
                cli_shown(command, shown, sizeof shown), session, st_strerror(result), detail[0] ? ": " : "",
                detail);
        return NULL;
    }
    st_process_unregister(table);   /* opening registered us: we only hold the table */
    return table;
}

/* ---- the child ---- */

/* What the child is to become. */
typedef struct child_plan {
    char **command;
    const char *library;   /* the preload library, or NULL: unobserved */
    const char *session;
    int log_fd;            /* >= 0: the dashboard's; its own process group, output to the log */
} child_plan;

/* LD_PRELOAD with library first, then any the user had; the session and
 * our pid for the preload. False when out of memory. */
static bool set_preload_environment(const char *library)
{
    char pid_text[24];
    snprintf(pid_text, sizeof pid_text, "%d", (int)getpid());
    const char *previous = getenv("LD_PRELOAD");
    size_t preload_size = strlen(library) + (previous ? strlen(previous) : 0) + 2;
    char *preload = malloc(preload_size);
    if (!preload)
        return false;
    if (previous && previous[0])
        snprintf(preload, preload_size, "%s:%s", library, previous);
    else
        snprintf(preload, preload_size, "%s", library);
    return setenv("LD_PRELOAD", preload, 1) == 0 && setenv("SYNCTOP_RUN_PID", pid_text, 1) == 0;
}

static void child_exec(const child_plan *plan, int error_fd)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    if (plan->log_fd >= 0) {
        setpgid(0, 0);
        int in = open("/dev/null", O_RDONLY);
        if (in < 0)
            goto failed;
        dup2(in, STDIN_FILENO);
        dup2(plan->log_fd, STDOUT_FILENO);
        dup2(plan->log_fd, STDERR_FILENO);
        close(in);
    }
    if (setenv("SYNCTOP_SESSION", plan->session, 1) != 0)
        goto failed;
    if (plan->library != NULL && !set_preload_environment(plan->library))
        goto failed;
    execvp(plan->command[0], plan->command);
failed:;
    int error = errno;
    ssize_t written;
    do {
        written = write(error_fd, &error, sizeof error);
    } while (written < 0 && errno == EINTR);
    _exit(127);
}

/* The child's exec result: 0, or its errno. */
static int exec_result(int fd)
{
    int error = 0;
    ssize_t n;
    do {
        n = read(fd, &error, sizeof error);
    } while (n < 0 && errno == EINTR);
    close(fd);
    return n == (ssize_t)sizeof error ? error : 0;
}

static int exit_status_of(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
}

/* ---- the command while it runs, and its end ---- */

typedef struct command_run {
    pid_t pid;
    uint64_t start_ticks;    /* its identity with the pid (0: not known) */
    uint64_t started_ns;     /* CLOCK_MONOTONIC, at the fork */
    st_table *table;         /* where its end is recorded; NULL: unobserved */
    bool reaped;
    int wait_status;         /* once reaped */
    uint64_t ran_ns;         /* once reaped: from the fork to its end */
} command_run;

static uint64_t monotonic_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* When SIGCHLD came (the command is our only child): its end, to the
 * moment, however late the dashboard asks. 0 until then. */
static uint64_t child_ended_ns;

static void note_child_ended(int sig)
{
    (void)sig;
    int saved_errno = errno;
    uint64_t now = monotonic_ns();   /* clock_gettime is async-signal-safe */
    uint64_t none = 0;
    __atomic_compare_exchange_n(&child_ended_ns, &none, now, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    errno = saved_errno;
}

static void command_reaped(command_run *run, int status)
{
    run->reaped = true;
    run->wait_status = status;
    uint64_t end = __atomic_load_n(&child_ended_ns, __ATOMIC_RELAXED);
    if (end == 0)
        end = monotonic_ns();
    run->ran_ns = end > run->started_ns ? end - run->started_ns : 0;
    /* ST_ENOENT when it never registered (a shell that ran no watched call). */
    if (run->table != NULL)
        st_process_record_exit(run->table, run->pid, run->start_ticks, status);
}

/* dashboard_command.ended: reap the command if it ended. */
static bool command_ended(void *context, char *text, size_t size)
{
    command_run *run = context;
    if (!run->reaped) {
        int status;
        pid_t r;
        do {
            r = waitpid(run->pid, &status, WNOHANG);
        } while (r < 0 && errno == EINTR);
        if (r == run->pid)
            command_reaped(run, status);
    }
    if (!run->reaped)
        return false;
    end_command_text(run->wait_status, run->ran_ns, text, size);
    return true;
}

/* ---- waiting like a shell ---- */

static volatile sig_atomic_t forward_to;

static void forward_signal(int sig)
{
    if (forward_to > 0)
        kill((pid_t)forward_to, sig);
}

/* Reap pid: its wait status, or -1. */
static int reap(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return status;
}

static int wait_for(pid_t pid)
{
    int status = reap(pid);
    return status < 0 ? 1 : exit_status_of(status);
}

/* Reap the command, recording its end; its exit status. */
static int wait_for_command(command_run *run)
{
    int status = reap(run->pid);
    if (status < 0)
        return 1;
    command_reaped(run, status);
    return exit_status_of(status);
}

static int wait_plain(command_run *run)
{
    pid_t pid = run->pid;
    struct sigaction ignore = { .sa_handler = SIG_IGN }, forward = { .sa_handler = forward_signal }, old_int,
                     old_quit, old_term, old_hup;
    sigemptyset(&ignore.sa_mask);
    sigemptyset(&forward.sa_mask);
    forward_to = pid;
    sigaction(SIGINT, &ignore, &old_int);
    sigaction(SIGQUIT, &ignore, &old_quit);
    sigaction(SIGTERM, &forward, &old_term);
    sigaction(SIGHUP, &forward, &old_hup);
    int status = wait_for_command(run);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    forward_to = 0;
    return status;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* Stop the command's process group if it still runs (*stopped says so);
 * its exit status. */
static int stop_group(command_run *run, bool *stopped)
{
    char unused[END_TEXT_BYTES];
    *stopped = false;
    if (command_ended(run, unused, sizeof unused))
        return exit_status_of(run->wait_status);
    *stopped = true;
    kill(-run->pid, SIGTERM);
    for (int waited = 0; waited < STOP_GRACE_MS; waited += 20) {
        if (command_ended(run, unused, sizeof unused))
            return exit_status_of(run->wait_status);
        sleep_ms(20);
    }
    kill(-run->pid, SIGKILL);
    return wait_for_command(run);
}

/* The dashboard on session, as `synctop -s SESSION [-d DELAY]` opens it,
 * told when the command ends. */
static int run_dashboard(const char *session, const char *delay, command_run *run)
{
    char *args[8];
    int n = 0;
    args[n++] = (char *)"synctop";
    args[n++] = (char *)"-s";
    args[n++] = (char *)session;
    if (delay) {
        args[n++] = (char *)"-d";
        args[n++] = (char *)delay;
    }
    args[n] = NULL;
    synctop_options options;
    int status = options_parse(n, args, &options, stderr);
    if (status != 0)
        return status;
    dashboard_command command = { .ended = command_ended, .context = run };
    return dashboard_run_command(&options, &command);
}

/* Start the command as planned. Returns its pid, or -1 after saying why;
 * *status is then the exit status (127 not found, 126 cannot run, 1). */
static pid_t start_command(const child_plan *plan, int *status)
{
    int error_pipe[2];
    if (pipe2(error_pipe, O_CLOEXEC) != 0) {
        perror("synctop run: pipe");
        *status = 1;
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("synctop run: fork");
        close(error_pipe[0]);
        close(error_pipe[1]);
        *status = 1;
        return -1;
    }
    if (pid == 0) {
        close(error_pipe[0]);
        child_exec(plan, error_pipe[1]);
    }
    close(error_pipe[1]);
    if (plan->log_fd >= 0)
        setpgid(pid, pid);
    int exec_error = exec_result(error_pipe[0]);
    if (exec_error != 0) {
        wait_for(pid);
        char shown[CLI_MESSAGE_BYTES / 2];
        fprintf(stderr, "synctop run: %s: %s\n", cli_shown(plan->command[0], shown, sizeof shown),
                strerror(exec_error));
        *status = exec_error == ENOENT ? 127 : 126;
        return -1;
    }
    return pid;
}

/* The dashboard on the session until quit; then the command is stopped if
 * it still runs. The exit status: the command's if it had ended, else the
 * dashboard's. */
static int watch_with_dashboard(command_run *run, const run_options *options, const char *session,
                                const run_log *log)
{
    int dashboard_status = run_dashboard(session, options->delay, run);
    bool stopped;
    int status = stop_group(run, &stopped);
    char command[CLI_MESSAGE_BYTES / 2], path[CLI_MESSAGE_BYTES];
    fprintf(stderr, "synctop run: the output of %s is in %s\n",
            cli_shown(options->command[0], command, sizeof command), cli_shown(log->path, path, sizeof path));
    /* Quitting the dashboard stopped the command: that is not its failure. */
    return stopped || dashboard_status != 0 ? dashboard_status : status;
}

int run_command_main(int argc, char **argv)
{
    run_options options;
    int status = parse(argc, argv, &options);
    if (status != 0)
        return status < 0 ? 0 : status;
    if (options.dashboard && !(isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)))
        return usage_error("--dashboard needs a terminal (run it without --dashboard, and watch with "
                           "synctop -s SESSION elsewhere)");

    char session[ST_SESSION_NAME_MAX + 1];
    char problem[CLI_MESSAGE_BYTES];
    if (!cli_resolve_session(options.session, session, problem, sizeof problem))
        return usage_error("%s", problem);
    char library[PATH_MAX];
    if (!find_preload_library(library, sizeof library))
        return 1;
    if (strpbrk(library, " :")) {
        char shown[CLI_MESSAGE_BYTES];
        fprintf(stderr, "synctop run: %s: LD_PRELOAD cannot hold a path with a space or ':'\n",
                cli_shown(library, shown, sizeof shown));
        return 1;
    }
    run_log log = { .fd = -1 };
    if (options.dashboard) {
        status = options.log_path ? run_log_open_given(options.log_path, &log)
                                  : run_log_open_default(session, &log);
        if (status != 0)
            return status;
    }

    bool existed;
    st_table *table = open_session(session, options.command[0], &existed);
    bool dashboard = options.dashboard && table != NULL;   /* nothing to watch without the table */
    if (options.dashboard && !dashboard)
        run_log_close(&log, true);
    child_plan plan = {
        .command = options.command,
        .library = table != NULL ? library : NULL,
        .session = session,
        .log_fd = dashboard ? log.fd : -1,
    };
    if (dashboard) {
        /* The moment the command ends, for "COMMAND ENDED ... after T". */
        struct sigaction ended = { .sa_handler = note_child_ended, .sa_flags = SA_RESTART | SA_NOCLDSTOP };
        sigemptyset(&ended.sa_mask);
        sigaction(SIGCHLD, &ended, NULL);
    }
    command_run run = { .table = table, .started_ns = monotonic_ns() };
    pid_t pid = start_command(&plan, &status);
    run.pid = pid;
    if (pid > 0 && st_process_start_time(pid, &run.start_ticks) != ST_OK)
        run.start_ticks = 0;   /* /proc unreadable: its slot is found by pid alone */
    if (pid < 0) {
        /* status says why */
    } else if (dashboard) {
        status = watch_with_dashboard(&run, &options, session, &log);
    } else {
        if (table != NULL && isatty(STDERR_FILENO)) {
            char shown[CLI_MESSAGE_BYTES / 2];
            fprintf(stderr, "synctop run: watching %s in session '%s' (see it with: synctop -s %s)\n",
                    cli_shown(options.command[0], shown, sizeof shown), session, session);
        }
        status = wait_plain(&run);
    }
    if (dashboard)
        run_log_close(&log, pid < 0);   /* a command that never started wrote nothing */
    if (table == NULL)
        return status;

    st_table_close(table);
    if (!existed && !options.keep) {
        st_result result = st_session_remove(session, false);
        if (result == ST_EBUSY) {
            char shown[CLI_MESSAGE_BYTES / 2];
            fprintf(stderr, "synctop run: session '%s' kept: processes of %s still run in it\n", session,
                    cli_shown(options.command[0], shown, sizeof shown));
        }
    }
    return status;
}
