/* test_dashboard.c - the real synctop dashboard on a real pseudo-terminal.
 *
 * Each test runs the built binary (SYNCTOP_BINARY) inside a private tmux
 * server (its own socket, no configuration file), types keys into it with
 * send-keys and reads the screen back with capture-pane, against a session
 * whose figures this test made: a lock taken exactly 1234 times, three
 * named locks for search and filter, a queue holding 3 messages of 10, a
 * two-lock deadlock between two child processes. Assertions are on the
 * screen text a person would read.
 *
 * synctop runs from a small script so the test knows its pid (for SIGTERM)
 * and sees what the terminal looks like after it exits:
 *
 *   trap : INT                                     (survive Ctrl-C; exec resets it)
 *   sh -c 'echo $$ > PIDFILE; exec synctop ARGS'   (the pid is synctop's)
 *   echo "RESTORED status=$?"; stty -a; echo STTY-DONE; sleep 600
 *
 * The teardown always kills the tmux server (and with it everything in it),
 * kills and reaps the test's children, removes its sessions and its files.
 * Without tmux every test is skipped with a message.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <synctop/synctop.h>

#include "helpers.h"

#define SCREEN_TIMEOUT_MS 20000   /* deadlines: only a failing test waits this long */
#define READY_TIMEOUT_MS 20000
#define LOCK_ACQUISITIONS 1234

/* ---- tmux ------------------------------------------------------------------ */

static const char *tmux_path;
static char tmux_socket[64];
static char script_path[128];
static char pid_path[128];
#define FILES_MAX 8
static char made_files[FILES_MAX][128];   /* scripts and pid files to remove */
static int made_count;
static st_table *open_table;   /* the workload's table, closed by the teardown */
static int started;            /* scripts written, for unique names */

/* tmux's path, or NULL. SYNCTOP_TEST_TMUX overrides the search (an
 * unusable path, e.g. "", shows what happens without tmux). */
static const char *find_tmux(void)
{
    const char *forced = getenv("SYNCTOP_TEST_TMUX");
    if (forced != NULL)
        return access(forced, X_OK) == 0 ? forced : NULL;
    static const char *const candidates[] = { "/usr/bin/tmux", "/usr/local/bin/tmux", "/bin/tmux" };
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
        if (access(candidates[i], X_OK) == 0)
            return candidates[i];
    return NULL;
}

typedef struct tmux_command {
    char *argv[32];
} tmux_command;

/* The child side of a tmux run without captured output: stdio on
 * /dev/null, because a server started by new-session would otherwise keep
 * our pipes open (and a reader waiting) for as long as it lives. */
static int exec_tmux(void *arg)
{
    tmux_command *command = arg;
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
    }
    execv(command->argv[0], command->argv);
    return 127;
}

/* Run tmux on our socket with the arguments (NULL-terminated); its stdout
 * in *out if out is given. Returns the exit status. */
static int tmux_argv(char **out, const char *const *args)
{
    tmux_command command;
    size_t n = 0;
    command.argv[n++] = (char *)tmux_path;
    command.argv[n++] = "-L";
    command.argv[n++] = tmux_socket;
    command.argv[n++] = "-f";
    command.argv[n++] = "/dev/null";
    for (size_t i = 0; args[i] != NULL && n < 31; i++)
        command.argv[n++] = (char *)args[i];
    command.argv[n] = NULL;
    if (out == NULL) {
        pid_t pid = test_spawn(exec_tmux, &command);
        return pid > 0 ? test_wait(pid, 10000) : -1;
    }
    char *err = NULL;
    int status = test_run(command.argv, out, &err, 10000);
    free(err);
    return status;
}

#define tmux(...) tmux_argv(NULL, (const char *const[]){ __VA_ARGS__, NULL })

static char *capture(void)
{
    char *out = NULL;
    if (tmux_argv(&out, (const char *const[]){ "capture-pane", "-p", "-t", "dash", NULL }) != 0) {
        free(out);
        return strdup("");
    }
    return out;
}

/* Wait until the screen contains every needle (NULL-terminated); returns
 * the screen (caller frees). Fails the test, printing the screen, if not. */
static char *wait_for_screen_all(const char *const *needles)
{
    char *screen = NULL;
    for (double deadline = test_now() + SCREEN_TIMEOUT_MS / 1000.0; test_now() <= deadline;) {
        free(screen);
        screen = capture();
        bool all = true;
        for (size_t i = 0; needles[i] != NULL; i++)
            if (strstr(screen, needles[i]) == NULL)
                all = false;
        if (all)
            return screen;
        test_sleep_ms(100);   /* a poll interval between captures, not synchronization */
    }
    print_message("---- screen ----\n%s---- end ----\n", screen);
    for (size_t i = 0; needles[i] != NULL; i++)
        if (strstr(screen, needles[i]) == NULL)
            fail_msg("the screen never showed \"%s\"", needles[i]);
    return screen;
}

#define wait_for_screen(...) wait_for_screen_all((const char *const[]){ __VA_ARGS__, NULL })

/* Wait until the screen no longer contains needle. */
static char *wait_for_absence(const char *needle)
{
    char *screen = NULL;
    for (double deadline = test_now() + SCREEN_TIMEOUT_MS / 1000.0; test_now() <= deadline;) {
        free(screen);
        screen = capture();
        if (strstr(screen, needle) == NULL)
            return screen;
        test_sleep_ms(100);   /* a poll interval between captures, not synchronization */
    }
    print_message("---- screen ----\n%s---- end ----\n", screen);
    fail_msg("the screen still shows \"%s\"", needle);
    return screen;
}

static void keys(const char *key)
{
    assert_int_equal(tmux("send-keys", "-t", "dash", key), 0);
}

static void text(const char *literal)
{
    assert_int_equal(tmux("send-keys", "-t", "dash", "-l", literal), 0);
}

/* Start synctop with args (a shell word list) in a width x height terminal.
 * Every test starts synctop: without tmux, the test is skipped here (cmocka
 * cannot skip from a setup function). */
static void start_synctop(const char *args, const char *width, const char *height)
{
    if (tmux_path == NULL) {
        print_message("tmux is not installed: the dashboard tests need it (apt-get install tmux)\n");
        skip();
    }
    snprintf(script_path, sizeof script_path, "/tmp/synctop-test-dashboard-%ld-%d.sh", (long)getpid(), started);
    snprintf(pid_path, sizeof pid_path, "/tmp/synctop-test-dashboard-%ld-%d.pid", (long)getpid(), started);
    started++;
    if (made_count + 2 <= FILES_MAX) {
        snprintf(made_files[made_count++], sizeof made_files[0], "%s", script_path);
        snprintf(made_files[made_count++], sizeof made_files[0], "%s", pid_path);
    }
    FILE *script = fopen(script_path, "w");
    assert_non_null(script);
    fprintf(script,
            "export LC_ALL=C.UTF-8 TERM=screen\n"
            "trap : INT\n"   /* Ctrl-C is for synctop: this shell lives on to report */
            "sh -c 'echo $$ > %s; exec \"$0\" \"$@\"' %s %s\n"
            "echo \"RESTORED status=$?\"\n"
            "stty -a\n"
            "echo STTY-DONE\n"
            "sleep 600\n",
            pid_path, SYNCTOP_BINARY, args);
    assert_int_equal(fclose(script), 0);
    char command[256];
    snprintf(command, sizeof command, "sh %s", script_path);
    assert_int_equal(tmux("new-session", "-d", "-s", "dash", "-x", width, "-y", height, command), 0);
}

/* synctop's pid, from the file its shell wrote before exec. */
static pid_t synctop_pid(void)
{
    for (double deadline = test_now() + READY_TIMEOUT_MS / 1000.0; test_now() < deadline;) {
        FILE *file = fopen(pid_path, "r");
        long pid = 0;
        if (file != NULL) {
            int got = fscanf(file, "%ld", &pid);
            fclose(file);
            if (got == 1 && pid > 0)
                return (pid_t)pid;
        }
        test_sleep_ms(50);   /* a poll interval, not synchronization */
    }
    fail_msg("synctop never started");
    return -1;
}

static int group_setup(void **state)
{
    (void)state;
    tmux_path = find_tmux();
    return 0;
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmux_socket, sizeof tmux_socket, "synctop-test-%ld-%d", (long)getpid(), started);
    script_path[0] = pid_path[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    if (tmux_path != NULL) {
        tmux("kill-server");
        /* The socket file of a killed server stays behind. */
        char socket_file[160];
        snprintf(socket_file, sizeof socket_file, "/tmp/tmux-%ld/%s", (long)getuid(), tmux_socket);
        unlink(socket_file);
    }
    for (int i = 0; i < made_count; i++)
        unlink(made_files[i]);
    made_count = 0;
    test_teardown(state);
    if (open_table != NULL) {
        st_table_close(open_table);
        open_table = NULL;
    }
    return 0;
}

/* ---- workloads ---------------------------------------------------------------- */

static const char *new_workload(void)
{
    const char *session = test_session_new();
    st_table_options options = { .session = session };
    assert_int_equal(st_table_open(&options, &open_table), ST_OK);
    assert_int_equal(st_process_register(open_table, "dash-test", "test"), ST_OK);
    return session;
}

static void add_lock(const char *name, int acquisitions)
{
    st_lock *lock;
    assert_int_equal(st_lock_open(open_table, name, &lock), ST_OK);
    for (int i = 0; i < acquisitions; i++) {
        assert_int_equal(st_lock_acquire(lock, ST_FOREVER), ST_OK);
        assert_int_equal(st_lock_release(lock), ST_OK);
    }
    st_lock_close(lock);
}

static void add_queue(const char *name, uint32_t capacity, int messages)
{
    st_queue *queue;
    assert_int_equal(st_queue_open(open_table, name, capacity, 64, &queue), ST_OK);
    for (int i = 0; i < messages; i++)
        assert_int_equal(st_queue_put(queue, "job", 3, 0), ST_OK);
    st_queue_close(queue);
}

/* The session of most tests: locks and a queue with known figures. */
static const char *standard_workload(void)
{
    const char *session = new_workload();
    add_lock("ledger-lock", LOCK_ACQUISITIONS);
    add_lock("alpha-lock", 1);
    add_lock("beta-lock", 2);
    add_lock("gamma-lock", 3);
    add_queue("jobs", 10, 3);
    return session;
}

static void start_on(const char *session, const char *extra, const char *width, const char *height)
{
    char args[160];
    snprintf(args, sizeof args, "-s %s -d 0.2 %s", session, extra);
    start_synctop(args, width, height);
}

/* ---- the deadlock ------------------------------------------------------------- */

typedef struct deadlock_child {
    const char *name;
    const char *first, *second;   /* locks, in the order this child takes them */
    int ready_fd;                 /* written once it holds its first lock */
    int go_fd;                    /* read before it takes its second */
} deadlock_child;

static int deadlock_child_main(void *arg)
{
    deadlock_child *child = arg;
    st_lock *first, *second;
    if (st_process_register(open_table, child->name, "deadlock") != ST_OK)
        return 1;
    if (st_lock_open(open_table, child->first, &first) != ST_OK ||
        st_lock_open(open_table, child->second, &second) != ST_OK)
        return 2;
    if (st_lock_acquire(first, ST_FOREVER) != ST_OK)
        return 3;
    if (write(child->ready_fd, "r", 1) != 1)
        return 4;
    char byte;
    if (read(child->go_fd, &byte, 1) != 1)
        return 5;
    st_lock_acquire(second, ST_FOREVER);   /* never returns: the other child holds it */
    return 6;
}

/* Two children, each holding one lock and blocked on the other's. */
static void start_deadlock(void)
{
    int ready[2], go[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    deadlock_child a = { "philosopher-a", "fork-left", "fork-right", ready[1], go[0] };
    deadlock_child b = { "philosopher-b", "fork-right", "fork-left", ready[1], go[0] };
    assert_true(test_spawn(deadlock_child_main, &a) > 0);
    assert_true(test_spawn(deadlock_child_main, &b) > 0);
    for (int i = 0; i < 2; i++) {
        struct pollfd readable = { ready[0], POLLIN, 0 };
        char byte;
        assert_int_equal(poll(&readable, 1, READY_TIMEOUT_MS), 1);
        assert_int_equal(read(ready[0], &byte, 1), 1);
    }
    assert_int_equal(write(go[1], "gg", 2), 2);   /* both take their second lock now */
    close(ready[0]);
    close(ready[1]);
    close(go[0]);
    close(go[1]);
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_header_lock_and_queue(void **state)
{
    (void)state;
    const char *session = standard_workload();
    start_on(session, "", "100", "30");
    char title[96];
    snprintf(title, sizeof title, "Session: %s", session);
    free(wait_for_screen(title, "LIVE", "Mem[", "%]", "Load average:", "Uptime:", "Processes: 1",
                         "Objects: 5: 4 lock, 1 queue", "1 Overview"));

    /* The Locks view lists the lock; its detail shows the exact count. */
    keys("3");
    free(wait_for_screen("LOCKS", "ACQ/S", "CONT%", "ledger-lock", "alpha-lock"));
    keys("/");   /* go to it by searching: the order depends on rates */
    text("ledger");
    keys("Enter");
    keys("Enter");
    char acquisitions[32];
    snprintf(acquisitions, sizeof acquisitions, "%d", LOCK_ACQUISITIONS);
    char *screen = wait_for_screen("LOCK ledger-lock", "acquisitions", acquisitions, "History of",
                                   "Waiting on it now: 0", "Recent operations");
    free(screen);

    /* Queues: a depth bar of 3 out of 10. */
    keys("Escape");
    keys("6");
    free(wait_for_screen("QUEUES", "DEPTH", "jobs", "3/10]"));
}

static void test_help_screen(void **state)
{
    (void)state;
    const char *session = standard_workload();
    start_on(session, "", "100", "30");
    free(wait_for_screen("LIVE"));
    keys("F1");
    free(wait_for_screen("Keys", "F1 h ?", "F3 /", "search", "Tab  Shift-Tab  next"));
    /* Help scrolls to what each primitive is for, in plain words. */
    keys("NPage");
    keys("NPage");
    free(wait_for_screen("What each primitive is for", "Semaphore"));
    keys("Escape");
    free(wait_for_absence("What each primitive is for"));
    free(wait_for_screen("F1Help"));
}

static void test_search_and_filter(void **state)
{
    (void)state;
    const char *session = standard_workload();
    start_on(session, "", "100", "30");
    free(wait_for_screen("LIVE"));
    keys("3");
    free(wait_for_screen("gamma-lock", "beta-lock", "alpha-lock"));

    /* Search: the selection jumps to the match; Enter there shows it. */
    keys("/");
    text("gamma");
    free(wait_for_screen("Search: gamma"));
    keys("Enter");
    keys("Enter");
    free(wait_for_screen("LOCK gamma-lock"));
    keys("Escape");

    /* Filter: only matching rows stay; Esc brings the others back. */
    keys("\\");
    text("beta");
    keys("Enter");
    char *screen = wait_for_screen("filter: beta", "beta-lock");
    assert_null(strstr(screen, "alpha-lock"));
    assert_null(strstr(screen, "gamma-lock"));
    assert_null(strstr(screen, "ledger-lock"));
    free(screen);
    keys("Escape");
    free(wait_for_screen("alpha-lock", "gamma-lock", "ledger-lock", "beta-lock"));
}

static void test_deadlock_banner(void **state)
{
    (void)state;
    const char *session = new_workload();
    start_deadlock();
    start_on(session, "", "120", "30");
    char *screen = wait_for_screen("DEADLOCK", "philosopher-a", "philosopher-b", "fork-left", "fork-right",
                                   "waits for", "held by");
    free(screen);
    keys("2");
    free(wait_for_screen("deadlock", "acquire fork-left", "acquire fork-right"));
}

static void test_waiting_then_session_ended(void **state)
{
    (void)state;
    const char *session = test_session_new();   /* not created yet */
    start_on(session, "", "100", "30");
    free(wait_for_screen("Waiting for session", session, "synctop-demo race", "WAITING"));

    /* The session appears: the dashboard attaches by itself. */
    st_table_options options = { .session = session };
    assert_int_equal(st_table_open(&options, &open_table), ST_OK);
    assert_int_equal(st_process_register(open_table, "latecomer", "test"), ST_OK);
    add_lock("late-lock", 5);
    keys("3");
    free(wait_for_screen("late-lock", "LIVE"));

    /* It is removed: the last figures stay, marked. */
    assert_int_equal(st_session_remove(session, true), ST_OK);
    free(wait_for_screen("SESSION ENDED", "late-lock"));
}

static int count_lines(const char *screen)
{
    int lines = 0;
    for (; *screen != '\0'; screen++)
        lines += *screen == '\n';
    return lines;
}

static int longest_line(const char *screen)
{
    int longest = 0, current = 0;
    for (; *screen != '\0'; screen++) {
        if (*screen == '\n') {
            current = 0;
            continue;
        }
        if (((unsigned char)*screen & 0xc0) != 0x80 && ++current > longest)
            longest = current;
    }
    return longest;
}

static void test_resize_redraws(void **state)
{
    (void)state;
    const char *session = standard_workload();
    start_on(session, "", "120", "40");
    free(wait_for_screen("LIVE", "F10Quit"));
    assert_int_equal(tmux("resize-window", "-t", "dash", "-x", "80", "-y", "24"), 0);
    /* The redrawn screen fits 80x24 and keeps its header, list and keys. */
    char *screen = NULL;
    for (double deadline = test_now() + SCREEN_TIMEOUT_MS / 1000.0; test_now() < deadline;) {
        free(screen);
        screen = capture();
        if (count_lines(screen) == 24 && strstr(screen, "F10Quit") && strstr(screen, "Load average"))
            break;
        test_sleep_ms(100);   /* a poll interval between captures, not synchronization */
    }
    assert_int_equal(count_lines(screen), 24);
    assert_true(longest_line(screen) <= 80);
    assert_non_null(strstr(screen, "F10Quit"));
    assert_non_null(strstr(screen, "ledger-lock"));
    free(screen);

    assert_int_equal(tmux("resize-window", "-t", "dash", "-x", "140", "-y", "35"), 0);
    free(wait_for_screen("WAIT50", "HOLDAVG"));   /* wide enough for every lock column */
}

/* Whether a whitespace-separated word appears in text. */
static bool has_word(const char *text, const char *word)
{
    size_t length = strlen(word);
    for (const char *at = strstr(text, word); at != NULL; at = strstr(at + 1, word)) {
        bool starts = at == text || at[-1] == ' ' || at[-1] == '\n' || at[-1] == ';';
        bool ends = at[length] == ' ' || at[length] == '\n' || at[length] == ';' || at[length] == '\0';
        if (starts && ends)
            return true;
    }
    return false;
}

static void assert_terminal_restored(const char *status)
{
    char *screen = wait_for_screen(status, "STTY-DONE");
    /* Back on the normal screen: the dashboard is gone, the modes are sane. */
    assert_null(strstr(screen, "Load average"));
    assert_null(strstr(screen, "F10Quit"));
    assert_true(has_word(screen, "icanon"));
    assert_true(has_word(screen, "echo"));
    assert_false(has_word(screen, "-icanon"));
    assert_false(has_word(screen, "-echo"));
    free(screen);
}

static void test_sigterm_restores_the_terminal(void **state)
{
    (void)state;
    const char *session = standard_workload();
    start_on(session, "", "100", "30");
    free(wait_for_screen("LIVE"));
    pid_t pid = synctop_pid();
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_terminal_restored("RESTORED status=0");
}

static void test_q_restores_the_terminal(void **state)
{
    (void)state;
    const char *session = standard_workload();
    start_on(session, "", "100", "30");
    free(wait_for_screen("LIVE"));
    keys("q");
    assert_terminal_restored("RESTORED status=0");
}

static void test_ctrl_c_restores_the_terminal(void **state)
{
    (void)state;
    const char *session = standard_workload();
    start_on(session, "", "100", "30");
    free(wait_for_screen("LIVE"));
    keys("C-c");
    assert_terminal_restored("RESTORED status=0");
}

static void test_crash_restores_the_terminal(void **state)
{
    (void)state;
    const char *session = standard_workload();
    start_on(session, "", "100", "30");
    free(wait_for_screen("LIVE"));
    pid_t pid = synctop_pid();
    assert_int_equal(kill(pid, SIGSEGV), 0);   /* as a crash would */
    assert_terminal_restored("RESTORED status=139");
}

/* Line and column (0-based) of needle on the screen; false if absent. */
static bool locate(const char *screen, const char *needle, int *line, int *column)
{
    const char *at = strstr(screen, needle);
    if (at == NULL)
        return false;
    *line = 0;
    const char *line_start = screen;
    for (const char *c = screen; c < at; c++) {
        if (*c == '\n') {
            (*line)++;
            line_start = c + 1;
        }
    }
    *column = 0;
    for (const char *c = line_start; c < at; c++)
        if (((unsigned char)*c & 0xc0) != 0x80)   /* count glyphs, not bytes */
            (*column)++;
    return true;
}

/* A left-button click (press, then release) at (line, column), in the X10
 * mouse encoding that TERM=screen announces (kmous=\E[M), as the terminal
 * would send it. */
static void click(int line, int column)
{
    char x[4], y[4];
    snprintf(x, sizeof x, "%x", 32 + column + 1);
    snprintf(y, sizeof y, "%x", 32 + line + 1);
    assert_int_equal(tmux("send-keys", "-t", "dash", "-H", "1b", "5b", "4d", "20", x, y), 0);
    assert_int_equal(tmux("send-keys", "-t", "dash", "-H", "1b", "5b", "4d", "23", x, y), 0);
}

static void test_mouse_switches_views_and_sorts(void **state)
{
    (void)state;
    const char *session = standard_workload();
    start_on(session, "", "100", "30");
    char *screen = wait_for_screen("LIVE", "6 Queues");
    int line, column;
    assert_true(locate(screen, "6 Queues", &line, &column));
    free(screen);
    click(line, column + 2);
    screen = wait_for_screen("QUEUES", "PUT/S", "jobs");
    assert_null(strstr(screen, "LOCKS"));
    assert_true(locate(screen, "PUT/S", &line, &column));
    free(screen);
    click(line, column + 1);
    free(wait_for_screen("\u25bcPUT/S"));   /* sorted by it, largest first */
    click(line, column + 1);
    free(wait_for_screen("\u25b2PUT/S"));   /* again: inverted */
}

/* --ascii --no-color: a sparkline of ASCII characters, nothing else. */
static void test_ascii_mode(void **state)
{
    (void)state;
    const char *session = standard_workload();
    start_on(session, "--ascii --no-color", "100", "30");
    free(wait_for_screen("LIVE"));
    keys("3");
    keys("/");
    text("ledger");
    keys("Enter");
    keys("Enter");
    char *screen = wait_for_screen("LOCK ledger-lock", "History of", "samples");
    for (const unsigned char *c = (const unsigned char *)screen; *c; c++)
        if (*c >= 0x80)
            fail_msg("a non-ASCII byte 0x%02x on an --ascii screen", *c);
    free(screen);
}

static void test_invalid_session_name(void **state)
{
    (void)state;
    start_synctop("-s no/slash", "100", "30");
    char *screen = wait_for_screen("RESTORED status=2", "synctop: invalid session name 'no/slash'");
    free(screen);
}

/* The dashboard's own CPU stays tiny at the default refresh. */
static void test_idle_cost(void **state)
{
    (void)state;
    const char *session = standard_workload();
    char args[128];
    snprintf(args, sizeof args, "-s %s", session);
    start_synctop(args, "100", "30");
    free(wait_for_screen("LIVE"));
    pid_t pid = synctop_pid();
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    unsigned long long before = 0, after = 0;
    for (int pass = 0; pass < 2; pass++) {
        FILE *file = fopen(path, "r");
        assert_non_null(file);
        char line[1024];
        assert_non_null(fgets(line, sizeof line, file));
        fclose(file);
        const char *fields = strrchr(line, ')');
        assert_non_null(fields);
        unsigned long long utime = 0, stime = 0;
        /* After ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
        assert_int_equal(sscanf(fields + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime), 2);
        if (pass == 0) {
            before = utime + stime;
            test_sleep_ms(4000);   /* not synchronization: the interval the CPU use is measured over */
        } else {
            after = utime + stime;
        }
    }
    long ticks_per_second = sysconf(_SC_CLK_TCK);
    double percent = (double)(after - before) * 100.0 / (double)ticks_per_second / 4.0;
    print_message("dashboard CPU over 4 s at -d 1: %.2f %%\n", percent);
    assert_true(percent <= 5.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_header_lock_and_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_help_screen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_and_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadlock_banner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waiting_then_session_ended, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resize_redraws, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_restores_the_terminal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_q_restores_the_terminal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctrl_c_restores_the_terminal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_restores_the_terminal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mouse_switches_views_and_sorts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ascii_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_session_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_cost, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
