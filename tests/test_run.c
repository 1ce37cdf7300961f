/* test_run.c - `synctop run` where it meets the file system: the log of
 * --dashboard, and a session whose table cannot be opened.
 *
 *  - A table that is not synctop's (garbage in /dev/shm/synctop-<uid>-<s>):
 *    the command still runs, unobserved, with one warning line; the exit
 *    status is its own and the foreign file is left as it was.
 *  - The dashboard's log never goes through a link: a symbolic link planted
 *    at the old default path (/tmp or $TMPDIR/synctop-run-SESSION.log) is
 *    not followed; the default log is a new 0600 file in $XDG_RUNTIME_DIR
 *    when that is a private directory of ours, else in a new 0700
 *    directory; an explicit --log that is a link is refused (exit 2)
 *    before the command starts; and so is a bad -d in a real terminal.
 *  - When the command ends, the dashboard's header says how ("COMMAND
 *    ENDED: exit status 5 after ...", "... killed by SIGKILL after ..."),
 *    LIVE is gone, and q exits with the command's status.
 *
 * The dashboard needs a terminal: those tests run synctop inside a private
 * tmux server (as tests/test_dashboard.c does), from a script that prints
 * "RESTORED status=N" when synctop exits, and read the screen back. Every
 * file is made in a directory of the test's own, removed by the teardown
 * with the tmux server, the children and the sessions.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <synctop/synctop.h>

#include "helpers.h"

#define RUN_TIMEOUT_MS 20000
#define SCREEN_TIMEOUT_MS 15000
#define POLL_MS 50

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED_BUILD 1
#endif
#endif

static const char *tmux_path;
static char tmux_socket[64];
static char work_dir[128];     /* the test's own directory, removed by the teardown */
static char foreign_shm[256];  /* a foreign table made by a test, removed by the teardown */

static const char PRECIOUS[] = "precious contents\n";

/* ---- files ------------------------------------------------------------------ */

static void make_work_dir(void)
{
    snprintf(work_dir, sizeof work_dir, "/tmp/synctop-test-run-%ld-XXXXXX", (long)getpid());
    assert_non_null(mkdtemp(work_dir));
}

static void path_in(char *out, size_t size, const char *dir, const char *name)
{
    assert_true(snprintf(out, size, "%s/%s", dir, name) < (int)size);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(close(fd), 0);
}

/* The whole file (NUL-terminated, caller frees), or NULL. */
static char *read_file(const char *path)
{
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return NULL;
    char *text = calloc(1, 65536);
    assert_non_null(text);
    size_t n = fread(text, 1, 65535, file);
    text[n] = '\0';
    fclose(file);
    return text;
}

static void assert_file_is(const char *path, const char *expected)
{
    char *text = read_file(path);
    assert_non_null(text);
    if (strcmp(text, expected) != 0)
        fail_msg("%s was changed: it holds \"%s\"", path, text);
    free(text);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* ---- tmux --------------------------------------------------------------------- */

static const char *find_tmux(void)
{
    static const char *const candidates[] = { "/usr/bin/tmux", "/usr/local/bin/tmux", "/bin/tmux" };
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
        if (access(candidates[i], X_OK) == 0)
            return candidates[i];
    return NULL;
}

typedef struct tmux_command {
    char *argv[32];
} tmux_command;

/* tmux's own stdio on /dev/null: a server started by new-session would
 * otherwise hold our pipes open for as long as it lives. */
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

/* The screen, joined: -J undoes the wrapping of long lines. */
static char *capture(void)
{
    char *out = NULL;
    if (tmux_argv(&out, (const char *const[]){ "capture-pane", "-p", "-J", "-t", "run", NULL }) != 0) {
        free(out);
        return strdup("");
    }
    return out;
}

/* Wait until the screen shows needle; the screen (caller frees). */
static char *wait_for_screen(const char *needle)
{
    char *screen = NULL;
    double deadline = test_now() + SCREEN_TIMEOUT_MS / 1000.0;
    do {
        free(screen);
        screen = capture();
        if (strstr(screen, needle) != NULL)
            return screen;
        test_sleep_ms(POLL_MS);
    } while (test_now() < deadline);
    fprintf(stderr, "---- screen ----\n%s\n---- end ----\n", screen);   /* print_message cuts at 1 KiB */
    fail_msg("the screen never showed \"%s\"", needle);
    return screen;
}

/* Run `ENVIRONMENT synctop run ARGS` (shell words) in a wide terminal. */
static void start_in_terminal(const char *environment, const char *args)
{
    if (tmux_path == NULL) {
        print_message("tmux is not installed: these tests need it (apt-get install tmux)\n");
        skip();
    }
    char script_path[192];
    path_in(script_path, sizeof script_path, work_dir, "run.sh");
    FILE *script = fopen(script_path, "w");
    assert_non_null(script);
    fprintf(script,
            "export LC_ALL=C.UTF-8 TERM=screen\n"
            "env %s %s run %s\n"
            "echo \"RESTORED status=$?\"\n"
            "sleep 600\n",
            environment, SYNCTOP_BINARY, args);
    assert_int_equal(fclose(script), 0);
    char command[256];
    snprintf(command, sizeof command, "sh %s", script_path);
    assert_int_equal(tmux("new-session", "-d", "-s", "run", "-x", "250", "-y", "50", command), 0);
}

/* The exit status the script reported. */
static int status_on(const char *screen)
{
    const char *at = strstr(screen, "RESTORED status=");
    assert_non_null(at);
    return atoi(at + strlen("RESTORED status="));
}

/* ---- setup and teardown ----------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    tmux_path = find_tmux();
    return 0;
}

/* Stop the tmux server and remove its socket file. */
static void stop_tmux_server(void)
{
    tmux("kill-server");
    char socket_file[160];
    snprintf(socket_file, sizeof socket_file, "/tmp/tmux-%ld/%s", (long)getuid(), tmux_socket);
    unlink(socket_file);
}

/* A socket name never used before in this run: kill-server returns before
 * the old server has gone, and a new-session on its socket can meet it
 * dying ("server exited unexpectedly"), so a new server gets a new name. */
static void next_tmux_socket(void)
{
    static int serial;
    snprintf(tmux_socket, sizeof tmux_socket, "synctop-test-run-%ld-%d", (long)getpid(), serial++);
}

/* Between two dashboards in one test: the old server goes, the next one
 * starts on a fresh socket. */
static void restart_tmux_server(void)
{
    stop_tmux_server();
    next_tmux_socket();
}

static int setup(void **state)
{
    (void)state;
    next_tmux_socket();
    make_work_dir();
    foreign_shm[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    if (tmux_path != NULL)
        stop_tmux_server();
    test_teardown(state);
    if (foreign_shm[0] != '\0')
        unlink(foreign_shm);
    nftw(work_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* ---- an unusable table ---------------------------------------------------------------- */

static int count_lines(const char *text)
{
    int lines = 0;
    for (; *text; text++)
        lines += *text == '\n';
    return lines;
}

static void test_a_foreign_table_leaves_the_command_running_unobserved(void **state)
{
    (void)state;
    const char *session = test_session_new();
    snprintf(foreign_shm, sizeof foreign_shm, "/dev/shm/synctop-%u-%s", (unsigned)getuid(), session);
    char garbage[8192];
    for (size_t i = 0; i < sizeof garbage; i++)
        garbage[i] = (char)('a' + i % 26);
    garbage[sizeof garbage - 1] = '\0';
    write_file(foreign_shm, garbage, 0600);

    char *argv[] = { (char *)SYNCTOP_BINARY, (char *)"run", (char *)"-s", (char *)session, (char *)"--",
                     (char *)"/bin/sh", (char *)"-c", (char *)"echo the-command-ran; exit 7", NULL };
    char *out = NULL, *err = NULL;
    int status = test_run(argv, &out, &err, RUN_TIMEOUT_MS);
    if (status != 7)
        fail_msg("exit status %d, not the command's 7; stderr:\n%s", status, err);
    assert_string_equal(out, "the-command-ran\n");
    assert_int_equal(count_lines(err), 1);
    assert_true(strncmp(err, "synctop run: ", 13) == 0);
    assert_non_null(strstr(err, session));
    assert_non_null(strstr(err, "unobserved"));
    free(out);
    free(err);
    assert_file_is(foreign_shm, garbage);   /* neither repaired nor removed */
}

/* ---- the dashboard's log ------------------------------------------------------------------ */

/* A "synctop-run-XXXXXX" directory made in dir, or "" (out). */
static void find_made_dir(const char *dir, char *out, size_t size)
{
    out[0] = '\0';
    DIR *listing = opendir(dir);
    assert_non_null(listing);
    for (struct dirent *entry; (entry = readdir(listing)) != NULL;) {
        struct stat st;
        char path[512];
        path_in(path, sizeof path, dir, entry->d_name);
        if (strncmp(entry->d_name, "synctop-run-", 12) == 0 && lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            snprintf(out, size, "%s", path);
    }
    closedir(listing);
}

/* Wait until log exists and holds what the command printed. */
static void wait_for_output_in(const char *log)
{
    double deadline = test_now() + SCREEN_TIMEOUT_MS / 1000.0;
    do {
        char *text = read_file(log);
#ifdef SANITIZED_BUILD
        /* The sanitized preload cannot load into sh: its complaint is the output. */
        bool done = text != NULL && text[0] != '\0';
#else
        bool done = text != NULL && strstr(text, "run-output") != NULL;
#endif
        free(text);
        if (done)
            return;
        test_sleep_ms(POLL_MS);
    } while (test_now() < deadline);
    fail_msg("the command's output never reached %s", log);
}

static void assert_private(const char *path, mode_t type, mode_t mode)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true((st.st_mode & S_IFMT) == type);
    if ((st.st_mode & 07777) != mode)
        fail_msg("%s has mode %o, not %o", path, (unsigned)(st.st_mode & 07777), (unsigned)mode);
    assert_int_equal(st.st_uid, geteuid());
}

/* Quit the dashboard; the screen after synctop ended. */
static char *quit_dashboard(void)
{
    assert_int_equal(tmux("send-keys", "-t", "run", "q"), 0);
    return wait_for_screen("RESTORED status=");
}

static void test_the_default_log_never_follows_a_planted_link(void **state)
{
    (void)state;
    const char *session = test_session_new();
    char victim[192], link_path[256], planted_name[128];
    path_in(victim, sizeof victim, work_dir, "victim");
    write_file(victim, PRECIOUS, 0644);
    snprintf(planted_name, sizeof planted_name, "synctop-run-%s.log", session);
    path_in(link_path, sizeof link_path, work_dir, planted_name);   /* the old default, under $TMPDIR */
    assert_int_equal(symlink(victim, link_path), 0);

    char environment[256], args[256];
    snprintf(environment, sizeof environment, "-u XDG_RUNTIME_DIR TMPDIR=%s", work_dir);
    snprintf(args, sizeof args, "--dashboard -s %s -- sh -c 'echo run-output; exec sleep 600'", session);
    start_in_terminal(environment, args);

    /* The log: a new private directory in $TMPDIR, a new file in it. */
    char made_dir[512] = "";
    double deadline = test_now() + SCREEN_TIMEOUT_MS / 1000.0;
    while (made_dir[0] == '\0' && test_now() < deadline) {
        find_made_dir(work_dir, made_dir, sizeof made_dir);
        if (made_dir[0] == '\0')
            test_sleep_ms(POLL_MS);
    }
    if (made_dir[0] == '\0') {
        assert_file_is(victim, PRECIOUS);
        fail_msg("no private directory appeared in %s", work_dir);
    }
    char log[768];
    path_in(log, sizeof log, made_dir, planted_name);
    wait_for_output_in(log);
    char *screen = quit_dashboard();
    char says[1024];
    snprintf(says, sizeof says, "the output of sh is in %s", log);
    if (strstr(screen, says) == NULL)
        fail_msg("synctop did not say \"%s\":\n%s", says, screen);
    free(screen);

    assert_file_is(victim, PRECIOUS);
    assert_private(made_dir, S_IFDIR, 0700);
    assert_private(log, S_IFREG, 0600);
}

static void test_the_default_log_goes_to_a_private_runtime_dir_only(void **state)
{
    (void)state;
    const char *session = test_session_new();
    char runtime[192], log_name[128], log[384];
    path_in(runtime, sizeof runtime, work_dir, "runtime");
    assert_int_equal(mkdir(runtime, 0700), 0);
    assert_int_equal(chmod(runtime, 0700), 0);
    snprintf(log_name, sizeof log_name, "synctop-run-%s.log", session);
    path_in(log, sizeof log, runtime, log_name);

    char environment[512], args[256];
    snprintf(environment, sizeof environment, "XDG_RUNTIME_DIR=%s TMPDIR=%s", runtime, work_dir);
    snprintf(args, sizeof args, "--dashboard -s %s -- sh -c 'echo run-output; exec sleep 600'", session);
    start_in_terminal(environment, args);
    wait_for_output_in(log);
    char *screen = quit_dashboard();
    free(screen);
    assert_private(log, S_IFREG, 0600);
    restart_tmux_server();

    /* A runtime directory others may write to is not trusted. */
    assert_int_equal(unlink(log), 0);
    assert_int_equal(chmod(runtime, 0777), 0);
    start_in_terminal(environment, args);
    char made_dir[512] = "";
    double deadline = test_now() + SCREEN_TIMEOUT_MS / 1000.0;
    while (made_dir[0] == '\0' && test_now() < deadline) {
        find_made_dir(work_dir, made_dir, sizeof made_dir);
        if (made_dir[0] == '\0')
            test_sleep_ms(POLL_MS);
    }
    if (made_dir[0] == '\0')
        fail_msg("with $XDG_RUNTIME_DIR writable by others, no private directory appeared in %s", work_dir);
    char fallback[768];
    path_in(fallback, sizeof fallback, made_dir, log_name);
    wait_for_output_in(fallback);
    screen = quit_dashboard();
    free(screen);
    assert_int_equal(access(log, F_OK), -1);
}

static void test_a_log_given_as_a_link_is_refused_before_the_command_starts(void **state)
{
    (void)state;
    const char *session = test_session_new();
    char victim[192], link_path[192], marker[192];
    path_in(victim, sizeof victim, work_dir, "victim");
    path_in(link_path, sizeof link_path, work_dir, "given.log");
    path_in(marker, sizeof marker, work_dir, "marker");
    write_file(victim, PRECIOUS, 0644);
    assert_int_equal(symlink(victim, link_path), 0);

    char args[512];
    snprintf(args, sizeof args, "--dashboard --log %s -s %s -- touch %s", link_path, session, marker);
    start_in_terminal("", args);
    char *screen = wait_for_screen("RESTORED status=");
    assert_int_equal(status_on(screen), 2);
    assert_non_null(strstr(screen, "invalid --log"));
    assert_non_null(strstr(screen, "symbolic link"));
    free(screen);
    assert_int_equal(access(marker, F_OK), -1);
    assert_file_is(victim, PRECIOUS);
    assert_int_equal(test_shm_count(session), 0);
}

static void test_a_bad_delay_in_a_terminal_starts_nothing(void **state)
{
    (void)state;
    const char *session = test_session_new();
    char marker[192], args[512];
    path_in(marker, sizeof marker, work_dir, "marker");
    snprintf(args, sizeof args, "--dashboard -d -1 -s %s -- touch %s", session, marker);
    start_in_terminal("", args);
    char *screen = wait_for_screen("RESTORED status=");
    if (access(marker, F_OK) == 0)
        fail_msg("the command ran");
    assert_int_equal(status_on(screen), 2);
    assert_non_null(strstr(screen, "invalid -d/--delay '-1'"));
    free(screen);
    assert_int_equal(test_shm_count(session), 0);
}

/* ---- the end of the command ---------------------------------------------------------------- */

/* The dashboard says how the command ended and stops there; q then exits
 * with the command's status. The command waits for a file the test makes,
 * so the dashboard is certainly up (LIVE) before it ends. */
static void command_end_shown(const char *how, const char *expected, int status)
{
#ifdef SANITIZED_BUILD
    /* The sanitized preload cannot load into sh: the command would end at
     * once with the loader's complaint. Stage check runs these. */
    print_message("skipped in a sanitized build: the preload cannot load into an uninstrumented sh\n");
    skip();
#endif
    const char *session = test_session_new();
    char go[192], args[640];
    path_in(go, sizeof go, work_dir, "go");
    snprintf(args, sizeof args,
             "--dashboard -s %s -- sh -c 'while [ ! -e %s ]; do sleep 0.05; done; echo run-output; %s'", session,
             go, how);
    start_in_terminal("", args);
    char *screen = wait_for_screen("LIVE");
    free(screen);
    write_file(go, "", 0600);
    screen = wait_for_screen(expected);
    if (strstr(screen, "LIVE") != NULL)
        fail_msg("the dashboard still says LIVE after the command ended:\n%s", screen);
    assert_non_null(strstr(screen, "These are its last figures"));
    free(screen);
    screen = quit_dashboard();
    assert_int_equal(status_on(screen), status);
    free(screen);
}

static void test_the_dashboard_shows_the_exit_status_of_the_command(void **state)
{
    (void)state;
    command_end_shown("exit 5", "COMMAND ENDED: exit status 5 after ", 5);
}

static void test_the_dashboard_shows_the_signal_that_killed_the_command(void **state)
{
    (void)state;
    command_end_shown("kill -9 $$", "COMMAND ENDED: killed by SIGKILL after ", 128 + 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_foreign_table_leaves_the_command_running_unobserved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_default_log_never_follows_a_planted_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_default_log_goes_to_a_private_runtime_dir_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_log_given_as_a_link_is_refused_before_the_command_starts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_bad_delay_in_a_terminal_starts_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_dashboard_shows_the_exit_status_of_the_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_dashboard_shows_the_signal_that_killed_the_command, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
