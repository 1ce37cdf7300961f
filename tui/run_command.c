/* run_command.c - `synctop run`: start an unmodified program watched by the
 * interposition library, and optionally the dashboard on it.
 *
 * What it does, in order:
 *  1. Resolve the session (-s, else $SYNCTOP_SESSION, else "default") and
 *     open its table (creating it), so that the program's processes attach
 *     to a ready table. It is removed at the end if this run created it and
 *     no live process remains in it (--keep keeps it).
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
 *     output goes to a log file (the terminal is the dashboard's), stdin
 *     from /dev/null; the dashboard runs until quit, then the command, if
 *     still running, is stopped (SIGTERM to its group, SIGKILL 2 s later)
 *     and the exit status is the dashboard's; if the command had ended,
 *     its own.
 */
#include "config.h"

#include "run_command.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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

#include "dashboard.h"
#include "options.h"

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

static int usage_error(const char *message, const char *detail)
{
    fprintf(stderr, "synctop run: %s%s%s\n", message, detail ? " " : "", detail ? detail : "");
    fputs("Usage: synctop run [-s SESSION] [--dashboard] [-d SECONDS] [--log FILE] [--keep]\n"
          "                   [--] COMMAND [ARGS...]\n", stderr);
    return 2;
}

static void print_help(void)
{
    fputs("Usage: synctop run [-s SESSION] [--dashboard] [-d SECONDS] [--log FILE] [--keep]\n"
          "                   [--] COMMAND [ARGS...]\n"
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
          "      --log FILE       with --dashboard: where the command's output goes\n"
          "                       (default: synctop-run-SESSION.log in $TMPDIR or /tmp)\n"
          "      --keep           keep the session when the command ends\n"
          "  -h, --help           show this help\n"
          "\n"
          "Exit status: the command's (128 + N when signal N ended it, 127 when it is not\n"
          "found, 126 when it cannot be run); 2 for a usage error, 1 when synctop cannot\n"
          "set it up. See synctop(1).\n", stdout);
}

enum { OPT_DASHBOARD = 256, OPT_KEEP, OPT_LOG };

static int parse(int argc, char **argv, run_options *out)
{
    static const struct option long_options[] = {
        { "session", required_argument, NULL, 's' },
        { "dashboard", no_argument, NULL, OPT_DASHBOARD },
        { "delay", required_argument, NULL, 'd' },
        { "log", required_argument, NULL, OPT_LOG },
        { "keep", no_argument, NULL, OPT_KEEP },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    *out = (run_options){ 0 };
    opterr = 0;
    optind = 0;
    for (;;) {
        /* '+': options stop at the command, so its own options are its. */
        int option = getopt_long(argc, argv, "+:s:d:h", long_options, NULL);
        if (option == -1)
            break;
        switch (option) {
        case 's':
            if (optarg[0] == '\0')
                return usage_error("-s/--session needs a session name", NULL);
            out->session = optarg;
            break;
        case 'd':
            out->delay = optarg;
            break;
        case OPT_DASHBOARD:
            out->dashboard = true;
            break;
        case OPT_LOG:
            out->log_path = optarg;
            break;
        case OPT_KEEP:
            out->keep = true;
            break;
        case 'h':
            print_help();
            return -1;
        case ':':
            return usage_error("an option needs an argument:", argv[optind - 1]);
        default:
            return usage_error("unknown option", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return usage_error("no command given (synctop run -- COMMAND [ARGS...])", NULL);
    if (out->log_path && !out->dashboard)
        return usage_error("--log is for --dashboard (without it the command keeps its own output)", NULL);
    if (out->delay && !out->dashboard)
        return usage_error("-d is for --dashboard", NULL);
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
            fprintf(stderr, "synctop run: SYNCTOP_PRELOAD_LIBRARY=%s is not a readable file\n", chosen);
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

static void print_session_failure(const char *session, st_result result)
{
    const char *detail = st_error_detail();
    fprintf(stderr, "synctop run: session '%s': %s%s%s\n", session, st_strerror(result), detail[0] ? ": " : "",
            detail);
}

/* ---- the child ---- */

static void child_exec(const run_options *options, const char *library, const char *session,
                       int error_fd, const char *log_path)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    if (options->dashboard) {
        setpgid(0, 0);
        int in = open("/dev/null", O_RDONLY);
        int out = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
        if (in < 0 || out < 0)
            goto failed;
        dup2(in, STDIN_FILENO);
        dup2(out, STDOUT_FILENO);
        dup2(out, STDERR_FILENO);
        close(in);
        close(out);
    }
    char pid_text[24];
    snprintf(pid_text, sizeof pid_text, "%d", (int)getpid());
    const char *previous = getenv("LD_PRELOAD");
    size_t preload_size = strlen(library) + (previous ? strlen(previous) : 0) + 2;
    char *preload = malloc(preload_size);
    if (!preload)
        goto failed;
    if (previous && previous[0])
        snprintf(preload, preload_size, "%s:%s", library, previous);
    else
        snprintf(preload, preload_size, "%s", library);
    if (setenv("LD_PRELOAD", preload, 1) != 0 || setenv("SYNCTOP_SESSION", session, 1) != 0 ||
        setenv("SYNCTOP_RUN_PID", pid_text, 1) != 0)
        goto failed;
    execvp(options->command[0], options->command);
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

/* ---- waiting like a shell ---- */

static volatile sig_atomic_t forward_to;

static void forward_signal(int sig)
{
    if (forward_to > 0)
        kill((pid_t)forward_to, sig);
}

static int wait_for(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return 1;
    }
    return exit_status_of(status);
}

static int wait_plain(pid_t pid)
{
    struct sigaction ignore = { .sa_handler = SIG_IGN }, forward = { .sa_handler = forward_signal }, old_int,
                     old_quit, old_term, old_hup;
    sigemptyset(&ignore.sa_mask);
    sigemptyset(&forward.sa_mask);
    forward_to = pid;
    sigaction(SIGINT, &ignore, &old_int);
    sigaction(SIGQUIT, &ignore, &old_quit);
    sigaction(SIGTERM, &forward, &old_term);
    sigaction(SIGHUP, &forward, &old_hup);
    int status = wait_for(pid);
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
static int stop_group(pid_t pid, bool *stopped)
{
    int status;
    *stopped = false;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
        return exit_status_of(status);
    *stopped = true;
    kill(-pid, SIGTERM);
    for (int waited = 0; waited < STOP_GRACE_MS; waited += 20) {
        r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return exit_status_of(status);
        sleep_ms(20);
    }
    kill(-pid, SIGKILL);
    return wait_for(pid);
}

/* The dashboard on session, as `synctop -s SESSION [-d DELAY]` opens it. */
static int run_dashboard(const char *session, const char *delay)
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
    return dashboard_run(&options);
}

static void default_log_path(const char *session, char *out, size_t size)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !dir[0])
        dir = "/tmp";
    snprintf(out, size, "%s/synctop-run-%s.log", dir, session);
}

int run_command_main(int argc, char **argv)
{
    run_options options;
    int status = parse(argc, argv, &options);
    if (status != 0)
        return status < 0 ? 0 : status;
    if (options.dashboard && !(isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)))
        return usage_error("--dashboard needs a terminal (run it without --dashboard, and watch with "
                           "synctop -s SESSION elsewhere)", NULL);

    char session[ST_SESSION_NAME_MAX + 1];
    st_result result = st_session_resolve(options.session, session);
    if (result != ST_OK) {
        const char *detail = st_error_detail();
        return usage_error("invalid session name:", detail[0] ? detail : st_strerror(result));
    }
    char library[PATH_MAX];
    if (!find_preload_library(library, sizeof library))
        return 1;
    if (strpbrk(library, " :")) {
        fprintf(stderr, "synctop run: %s: LD_PRELOAD cannot hold a path with a space or ':'\n", library);
        return 1;
    }
    char log_path[PATH_MAX];
    if (options.log_path)
        snprintf(log_path, sizeof log_path, "%s", options.log_path);
    else
        default_log_path(session, log_path, sizeof log_path);

    st_table *existing = NULL;
    bool existed = st_table_attach_readonly(session, &existing) == ST_OK;
    st_table_close(existing);
    st_table *table = NULL;
    st_table_options table_options = { .session = session };
    result = st_table_open(&table_options, &table);
    if (result != ST_OK) {
        print_session_failure(session, result);
        return 1;
    }
    st_process_unregister(table);   /* opening registered us: we only hold the table */

    int error_pipe[2];
    if (pipe2(error_pipe, O_CLOEXEC) != 0) {
        perror("synctop run: pipe");
        st_table_close(table);
        return 1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("synctop run: fork");
        st_table_close(table);
        return 1;
    }
    if (pid == 0) {
        close(error_pipe[0]);
        child_exec(&options, library, session, error_pipe[1], log_path);
    }
    close(error_pipe[1]);
    if (options.dashboard)
        setpgid(pid, pid);
    int exec_error = exec_result(error_pipe[0]);
    if (exec_error != 0) {
        wait_for(pid);
        fprintf(stderr, "synctop run: %s: %s\n", options.command[0], strerror(exec_error));
        status = exec_error == ENOENT ? 127 : 126;
    } else if (options.dashboard) {
        int dashboard_status = run_dashboard(session, options.delay);
        bool stopped;
        status = stop_group(pid, &stopped);
        fprintf(stderr, "synctop run: the output of %s is in %s\n", options.command[0], log_path);
        /* Quitting the dashboard stopped the command: that is not its failure. */
        if (stopped || dashboard_status != 0)
            status = dashboard_status;
    } else {
        if (isatty(STDERR_FILENO))
            fprintf(stderr, "synctop run: watching %s in session '%s' (see it with: synctop -s %s)\n",
                    options.command[0], session, session);
        status = wait_plain(pid);
    }

    st_table_close(table);
    if (!existed && !options.keep) {
        result = st_session_remove(session, false);
        if (result == ST_EBUSY)
            fprintf(stderr, "synctop run: session '%s' kept: processes of %s still run in it\n", session,
                    options.command[0]);
    }
    return status;
}
