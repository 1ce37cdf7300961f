/* test_cli.c - the synctop program as a user runs it: options and their
 * mistakes, exit statuses, --once --json on a workload whose figures are
 * known exactly, --batch, and session housekeeping (--list, --remove).
 *
 * The workload is made here, in the test process: a session of its own, a
 * lock "test-lock" taken and released exactly 1000 times, and a child that
 * holds "held-lock" until it is killed. Then the built binary
 * (SYNCTOP_BINARY) is run against the session and its output parsed, JSON
 * with json-c. Every child is killed and every session removed by the
 * per-test teardown, whatever an assertion did.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include <synctop/synctop.h>

#include "helpers.h"

#define RUN_TIMEOUT_MS 10000
#define READY_TIMEOUT_MS 5000
#define WORKLOAD_ACQUISITIONS 1000

/* ---- the workload -------------------------------------------------------- */

typedef struct workload {
    const char *session;
    st_table *table;
    pid_t holder;     /* holds "held-lock" until killed */
} workload;

/* The table the current test opened; closed by the teardown. */
static st_table *open_table;

typedef struct child_args {
    st_table *table;
    int ready_fd;     /* the child writes one byte here once in place */
} child_args;

static void signal_ready(int fd)
{
    ssize_t written;
    do {
        written = write(fd, "r", 1);
    } while (written < 0 && errno == EINTR);
    close(fd);
}

/* Wait for the byte signal_ready() writes. */
static bool wait_ready(int fd)
{
    struct pollfd ready = { fd, POLLIN, 0 };
    char byte;
    bool ok = poll(&ready, 1, READY_TIMEOUT_MS) == 1 && read(fd, &byte, 1) == 1;
    close(fd);
    return ok;
}

static int hold_lock_until_killed(void *arg)
{
    child_args *args = arg;
    st_lock *lock;
    if (st_process_register(args->table, "holder", "child") != ST_OK)
        return 1;
    if (st_lock_open(args->table, "held-lock", &lock) != ST_OK)
        return 2;
    if (st_lock_acquire(lock, ST_FOREVER) != ST_OK)
        return 3;
    signal_ready(args->ready_fd);
    for (;;)
        pause();
}

static int wait_for_held_lock(void *arg)
{
    child_args *args = arg;
    st_lock *lock;
    if (st_process_register(args->table, "waiter", "child") != ST_OK)
        return 1;
    if (st_lock_open(args->table, "held-lock", &lock) != ST_OK)
        return 2;
    signal_ready(args->ready_fd);
    st_lock_acquire(lock, ST_FOREVER);   /* blocks until killed */
    return 4;
}

static pid_t spawn_and_wait_ready(st_table *table, int (*child)(void *arg))
{
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    child_args args = { table, ready[1] };
    pid_t pid = test_spawn(child, &args);
    assert_true(pid > 0);
    close(ready[1]);
    assert_true(wait_ready(ready[0]));
    return pid;
}

static void start_workload(workload *work)
{
    work->session = test_session_new();
    assert_non_null(work->session);
    st_table_options options = { .session = work->session };
    assert_int_equal(st_table_open(&options, &work->table), ST_OK);
    open_table = work->table;
    assert_int_equal(st_process_register(work->table, "test-cli", "test"), ST_OK);

    st_lock *lock;
    assert_int_equal(st_lock_open(work->table, "test-lock", &lock), ST_OK);
    for (int i = 0; i < WORKLOAD_ACQUISITIONS; i++) {
        assert_int_equal(st_lock_acquire(lock, ST_FOREVER), ST_OK);
        assert_int_equal(st_lock_release(lock), ST_OK);
    }
    st_lock_close(lock);

    work->holder = spawn_and_wait_ready(work->table, hold_lock_until_killed);
}

static int teardown_workload(void **state)
{
    test_teardown(state);
    st_table_close(open_table);
    open_table = NULL;
    return 0;
}

/* ---- running synctop ------------------------------------------------------ */

typedef struct run_result {
    int status;
    char *out;
    char *err;
} run_result;

/* Run synctop with the arguments (NULL-terminated). */
static run_result run_synctop_argv(const char *const *args)
{
    char *argv[32];
    size_t n = 0;
    argv[n++] = (char *)SYNCTOP_BINARY;
    for (; args[n - 1] != NULL && n < 31; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    run_result result;
    result.status = test_run(argv, &result.out, &result.err, RUN_TIMEOUT_MS);
    return result;
}

#define run_synctop(...) run_synctop_argv((const char *const[]){ __VA_ARGS__, NULL })

static void run_result_free(run_result *result)
{
    free(result->out);
    free(result->err);
}

static int count_occurrences(const char *text, const char *needle)
{
    int count = 0;
    for (const char *at = strstr(text, needle); at != NULL; at = strstr(at + 1, needle))
        count++;
    return count;
}

static int count_lines(const char *text)
{
    int lines = 0;
    for (; *text; text++)
        lines += *text == '\n';
    return lines;
}

/* Whether some line of text begins with word followed by a blank. */
static bool has_line_starting_with(const char *text, const char *word)
{
    size_t length = strlen(word);
    for (const char *line = text; line != NULL && *line; ) {
        if (strncmp(line, word, length) == 0 && (line[length] == ' ' || line[length] == '\t'))
            return true;
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return false;
}

/* A usage error: exit 2, nothing on stdout, one line "synctop: ..." then
 * the usage on stderr. */
static void assert_usage_error(const run_result *result)
{
    assert_int_equal(result->status, 2);
    assert_string_equal(result->out, "");
    assert_true(strncmp(result->err, "synctop: ", 9) == 0);
    const char *second_line = strchr(result->err, '\n');
    assert_non_null(second_line);
    assert_true(strncmp(second_line + 1, "Usage: synctop", 14) == 0);
}

/* ---- JSON lookups ---------------------------------------------------------- */

static json_object *member(json_object *object, const char *key)
{
    json_object *value = NULL;
    if (!json_object_object_get_ex(object, key, &value))
        fail_msg("no key \"%s\" in %s", key, json_object_to_json_string(object));
    return value;
}

static json_object *find_in_array(json_object *root, const char *array_key, const char *key,
                                  json_object *(*make)(const void *), const void *wanted)
{
    json_object *array = member(root, array_key);
    assert_true(json_object_is_type(array, json_type_array));
    json_object *expected = make(wanted);
    json_object *found = NULL;
    for (size_t i = 0; i < json_object_array_length(array) && found == NULL; i++) {
        json_object *item = json_object_array_get_idx(array, i);
        json_object *value = NULL;
        if (json_object_object_get_ex(item, key, &value) && json_object_equal(value, expected))
            found = item;
    }
    json_object_put(expected);
    return found;
}

static json_object *make_string(const void *text)
{
    return json_object_new_string(text);
}

static json_object *make_int(const void *pid)
{
    return json_object_new_int64(*(const pid_t *)pid);
}

static json_object *find_object(json_object *root, const char *name)
{
    return find_in_array(root, "objects", "name", make_string, name);
}

static json_object *find_process(json_object *root, pid_t pid)
{
    return find_in_array(root, "processes", "pid", make_int, &pid);
}

static int64_t int_member(json_object *object, const char *key)
{
    json_object *value = member(object, key);
    assert_true(json_object_is_type(value, json_type_int));
    return json_object_get_int64(value);
}

/* Run synctop --once --json on the session and parse what it printed. */
static json_object *snapshot_json(const char *session)
{
    run_result result = run_synctop("--once", "--json", "-s", session);
    assert_int_equal(result.status, 0);
    json_object *root = json_tokener_parse(result.out);
    if (root == NULL)
        fail_msg("stdout is not JSON: %s (stderr: %s)", result.out, result.err);
    run_result_free(&result);
    return root;
}

/* ---- options and their mistakes -------------------------------------------- */

static void test_unknown_option_is_a_usage_error(void **state)
{
    (void)state;
    run_result result = run_synctop("--bogus");
    assert_usage_error(&result);
    assert_non_null(strstr(result.err, "--bogus"));
    run_result_free(&result);

    result = run_synctop("-x");
    assert_usage_error(&result);
    run_result_free(&result);

    result = run_synctop("stray-argument");
    assert_usage_error(&result);
    run_result_free(&result);
}

static void test_bad_delays_are_usage_errors(void **state)
{
    (void)state;
    const char *bad[] = { "abc", "0", "-1", "1x", "", "nan", "inf", "3601", "0x", " 1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        run_result result = run_synctop("--batch", "-d", bad[i]);
        if (result.status != 2)
            fail_msg("-d '%s' exited %d", bad[i], result.status);
        assert_usage_error(&result);
        run_result_free(&result);
    }
    run_result result = run_synctop("--delay=1x", "--batch");
    assert_usage_error(&result);
    run_result_free(&result);
}

static void test_bad_iteration_counts_are_usage_errors(void **state)
{
    (void)state;
    const char *bad[] = { "0", "-3", "x", "2.5", "", "+2" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        run_result result = run_synctop("--batch", "-n", bad[i]);
        if (result.status != 2)
            fail_msg("-n '%s' exited %d", bad[i], result.status);
        assert_usage_error(&result);
        run_result_free(&result);
    }
}

static void test_contradicting_options_are_usage_errors(void **state)
{
    (void)state;
    const char *const combinations[][4] = {
        { "--force", NULL },
        { "--once", "--batch", NULL },
        { "--list", "--json", NULL },
        { "--list", "--remove", "x", NULL },
        { "--once", "-n", "3", NULL },
        { "--remove", NULL },
        { "-d", NULL },
    };
    for (size_t i = 0; i < sizeof combinations / sizeof combinations[0]; i++) {
        run_result result = run_synctop_argv(combinations[i]);
        if (result.status != 2)
            fail_msg("%s %s exited %d", combinations[i][0],
                     combinations[i][1] ? combinations[i][1] : "", result.status);
        assert_usage_error(&result);
        run_result_free(&result);
    }
}

static void test_help_exits_zero(void **state)
{
    (void)state;
    run_result result = run_synctop("--help");
    assert_int_equal(result.status, 0);
    assert_non_null(strstr(result.out, "Usage: synctop"));
    assert_non_null(strstr(result.out, "--session"));
    assert_non_null(strstr(result.out, "--remove"));
    assert_string_equal(result.err, "");
    run_result_free(&result);

    result = run_synctop("-h");
    assert_int_equal(result.status, 0);
    run_result_free(&result);
}

static void test_version_prints_the_version(void **state)
{
    (void)state;
    run_result result = run_synctop("--version");
    assert_int_equal(result.status, 0);
    assert_string_equal(result.out, "synctop " PACKAGE_VERSION "\n");
    run_result_free(&result);

    result = run_synctop("-V");
    assert_int_equal(result.status, 0);
    assert_string_equal(result.out, "synctop " PACKAGE_VERSION "\n");
    run_result_free(&result);
}

static void test_unknown_session_names_it(void **state)
{
    (void)state;
    const char *session = test_session_new();   /* a fresh name: never created */
    run_result result = run_synctop("--once", "--json", "-s", session);
    assert_int_equal(result.status, 2);
    assert_string_equal(result.out, "");
    assert_true(strncmp(result.err, "synctop: ", 9) == 0);
    assert_non_null(strstr(result.err, session));
    assert_non_null(strstr(result.err, "synctop-demo race"));
    assert_int_equal(count_lines(result.err), 1);
    run_result_free(&result);

    /* The same through SYNCTOP_SESSION (test_session_new() exported it). */
    result = run_synctop("--batch", "-n", "1");
    assert_int_equal(result.status, 2);
    assert_non_null(strstr(result.err, session));
    run_result_free(&result);
}

static void test_invalid_session_name_is_a_usage_error(void **state)
{
    (void)state;
    run_result result = run_synctop("--once", "-s", "no/slashes");
    assert_usage_error(&result);
    run_result_free(&result);
}

/* ---- --once --json --------------------------------------------------------- */

static void test_once_json_reports_the_workload(void **state)
{
    (void)state;
    workload work;
    start_workload(&work);
    json_object *root = snapshot_json(work.session);

    assert_string_equal(json_object_get_string(member(root, "session")), work.session);
    assert_true(int_member(root, "time_ns") > 0);
    assert_int_equal(int_member(root, "corrupt_slots"), 0);

    json_object *system = member(root, "system");
    assert_true(int_member(system, "cpus") >= 1);
    assert_true(int_member(system, "mem_total_bytes") > 0);
    assert_int_equal(json_object_array_length(member(system, "load")), 3);
    member(system, "cpu_percent");
    member(system, "mem_available_bytes");
    member(system, "uptime_s");

    json_object *lock = find_object(root, "test-lock");
    assert_non_null(lock);
    assert_string_equal(json_object_get_string(member(lock, "type")), "lock");
    assert_int_equal(int_member(lock, "creator_pid"), getpid());
    member(lock, "created_ns");
    assert_int_equal(int_member(lock, "acquisitions"), WORKLOAD_ACQUISITIONS);
    assert_int_equal(int_member(lock, "contentions"), 0);
    json_object *holder = member(lock, "holder");
    assert_true(holder == NULL || json_object_get_int64(holder) == 0);

    json_object *held = find_object(root, "held-lock");
    assert_non_null(held);
    assert_int_equal(int_member(held, "holder"), work.holder);

    pid_t self = getpid();
    const pid_t pids[] = { self, work.holder };
    for (size_t i = 0; i < 2; i++) {
        json_object *process = find_process(root, pids[i]);
        if (process == NULL)
            fail_msg("pid %d missing from processes", (int)pids[i]);
        assert_true(json_object_get_boolean(member(process, "alive")));
        member(process, "name");
        member(process, "role");
        member(process, "state");
        member(process, "cpu_percent");
        member(process, "rss_bytes");
        assert_null(member(process, "blocked_on"));
    }
    json_object_put(root);
}

static void test_json_alone_means_once(void **state)
{
    (void)state;
    workload work;
    start_workload(&work);
    run_result result = run_synctop("--json", "-s", work.session);
    assert_int_equal(result.status, 0);
    assert_int_equal(count_lines(result.out), 1);   /* not a tty: one compact line */
    json_object *root = json_tokener_parse(result.out);
    assert_non_null(root);
    assert_non_null(find_object(root, "test-lock"));
    json_object_put(root);
    run_result_free(&result);
}

/* A process blocked on a lock shows what it waits for. The waiter needs a
 * moment to get from "ready" into the wait, so poll snapshots until it
 * shows (up to a deadline in elapsed time). */
static void test_once_json_shows_what_a_process_waits_for(void **state)
{
    (void)state;
    workload work;
    start_workload(&work);
    pid_t waiter = spawn_and_wait_ready(work.table, wait_for_held_lock);

    json_object *blocked_on = NULL;
    json_object *root = NULL;
    double deadline = test_now() + READY_TIMEOUT_MS / 1000.0;
    while (blocked_on == NULL && (root == NULL || test_now() < deadline)) {
        if (root != NULL) {
            json_object_put(root);
            test_sleep_ms(20);   /* a poll interval between snapshots, not synchronization */
        }
        root = snapshot_json(work.session);
        json_object *process = find_process(root, waiter);
        if (process != NULL)
            blocked_on = member(process, "blocked_on");
    }
    if (blocked_on == NULL)
        fail_msg("the waiter never showed as blocked");
    assert_string_equal(json_object_get_string(member(blocked_on, "object")), "held-lock");
    assert_string_equal(json_object_get_string(member(blocked_on, "operation")),
                        st_operation_name(ST_OP_ACQUIRE));
    assert_true(int_member(blocked_on, "for_ns") >= 0);
    assert_int_equal(int_member(find_object(root, "held-lock"), "waiters"), 1);
    json_object_put(root);
}

/* ---- --batch --------------------------------------------------------------- */

static void test_batch_prints_each_refresh(void **state)
{
    (void)state;
    workload work;
    start_workload(&work);
    run_result result = run_synctop("--batch", "-n", "2", "-d", "0.2", "-s", work.session);
    assert_int_equal(result.status, 0);
    assert_string_equal(result.err, "");
    assert_int_equal(count_occurrences(result.out, "test-lock"), 2);
    assert_int_equal(count_occurrences(result.out, "held-lock"), 2);
    char header[128];
    snprintf(header, sizeof header, "session %s ", work.session);
    assert_int_equal(count_occurrences(result.out, header), 2);
    assert_non_null(strstr(result.out, "ACQUISITIONS"));
    run_result_free(&result);
}

static void test_batch_json_prints_json_lines(void **state)
{
    (void)state;
    workload work;
    start_workload(&work);
    run_result result = run_synctop("-b", "--json", "-n", "3", "-d", "0.1", "-s", work.session);
    assert_int_equal(result.status, 0);
    assert_int_equal(count_lines(result.out), 3);
    char *save = NULL;
    int objects = 0;
    for (char *line = strtok_r(result.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_object *root = json_tokener_parse(line);
        assert_non_null(root);
        assert_string_equal(json_object_get_string(member(root, "session")), work.session);
        json_object *lock = find_object(root, "test-lock");
        assert_non_null(lock);
        /* From the second refresh on, counters carry a rate. */
        if (objects > 0)
            member(lock, "acquisitions_per_s");
        json_object_put(root);
        objects++;
    }
    assert_int_equal(objects, 3);
    run_result_free(&result);
}

static void test_no_mode_without_a_terminal_prints_batch(void **state)
{
    (void)state;
    workload work;
    start_workload(&work);
    run_result result = run_synctop("-n", "1", "-s", work.session);
    assert_int_equal(result.status, 0);
    assert_string_equal(result.err, "");
    assert_int_equal(count_occurrences(result.out, "test-lock"), 1);
    run_result_free(&result);
}

typedef struct session_removal {
    const char *session;
    st_result result;
    bool done;
} session_removal;

static void remove_the_session(void *arg)
{
    session_removal *removal = arg;
    removal->result = st_session_remove(removal->session, true);
    removal->done = true;
}

/* The session is removed once synctop has drawn its first refresh (so it
 * is attached): it must notice and end. */
static void test_batch_ends_when_the_session_is_removed(void **state)
{
    (void)state;
    workload work;
    start_workload(&work);
    session_removal removal = { work.session, ST_OK, false };
    char *argv[] = { (char *)SYNCTOP_BINARY, (char *)"--batch", (char *)"-d", (char *)"0.1",
                     (char *)"-s", (char *)work.session, NULL };
    run_result result;
    result.status = test_run_on_output(argv, NULL, remove_the_session, &removal, &result.out,
                                       &result.err, RUN_TIMEOUT_MS);
    assert_true(removal.done);
    assert_int_equal(removal.result, ST_OK);
    assert_int_equal(result.status, 0);
    assert_non_null(strstr(result.err, "session ended"));
    assert_int_equal(count_lines(result.err), 1);
    run_result_free(&result);
}

typedef struct exec_args {
    const char *session;
    int pipe_fds[2];  /* the child writes its stdout into pipe_fds[1] */
} exec_args;

static int exec_batch(void *arg)
{
    exec_args *args = arg;
    close(args->pipe_fds[0]);   /* else the reader never really leaves */
    dup2(args->pipe_fds[1], STDOUT_FILENO);
    close(args->pipe_fds[1]);
    execl(SYNCTOP_BINARY, SYNCTOP_BINARY, "--batch", "-d", "0.05", "-s", args->session, (char *)NULL);
    return 127;
}

/* Start synctop --batch with its stdout on a pipe and return once its
 * first refresh arrived (so it is past its start-up). *reader is the read
 * end of the pipe. */
static pid_t start_batch(const char *session, int *reader)
{
    exec_args args = { .session = session };
    assert_int_equal(pipe(args.pipe_fds), 0);
    pid_t batch = test_spawn(exec_batch, &args);
    assert_true(batch > 0);
    close(args.pipe_fds[1]);
    struct pollfd readable = { args.pipe_fds[0], POLLIN, 0 };
    assert_int_equal(poll(&readable, 1, RUN_TIMEOUT_MS), 1);
    char chunk[4096];
    assert_true(read(args.pipe_fds[0], chunk, sizeof chunk) > 0);
    *reader = args.pipe_fds[0];
    return batch;
}

static void test_batch_stops_cleanly_on_signals(void **state)
{
    (void)state;
    workload work;
    start_workload(&work);
    const int stop_signals[] = { SIGTERM, SIGINT };
    for (size_t i = 0; i < 2; i++) {
        int reader;
        pid_t batch = start_batch(work.session, &reader);
        assert_int_equal(kill(batch, stop_signals[i]), 0);
        int status = test_wait(batch, RUN_TIMEOUT_MS);
        close(reader);
        if (status != 0)
            fail_msg("synctop --batch exited %d after signal %d", status, stop_signals[i]);
    }
}

static void test_batch_stops_cleanly_when_its_reader_leaves(void **state)
{
    (void)state;
    workload work;
    start_workload(&work);
    int reader;
    pid_t batch = start_batch(work.session, &reader);
    close(reader);   /* the next refresh meets EPIPE */
    assert_int_equal(test_wait(batch, RUN_TIMEOUT_MS), 0);
}

/* ---- --list and --remove --------------------------------------------------- */

static void test_list_and_remove(void **state)
{
    (void)state;
    workload work;
    start_workload(&work);

    run_result result = run_synctop("--list");
    assert_int_equal(result.status, 0);
    assert_true(has_line_starting_with(result.out, work.session));
    run_result_free(&result);

    /* Live processes (this test and its child) use it: refused. */
    result = run_synctop("--remove", work.session);
    assert_int_not_equal(result.status, 0);
    assert_non_null(strstr(result.err, "--force"));
    run_result_free(&result);
    assert_int_equal(test_shm_count(work.session), 1);

    result = run_synctop("--remove", work.session, "--force");
    assert_int_equal(result.status, 0);
    run_result_free(&result);

    result = run_synctop("--list");
    assert_int_equal(result.status, 0);
    assert_false(has_line_starting_with(result.out, work.session));
    run_result_free(&result);
}

static void test_remove_unknown_session(void **state)
{
    (void)state;
    const char *session = test_session_new();
    run_result result = run_synctop("--remove", session);
    assert_int_equal(result.status, 2);
    assert_non_null(strstr(result.err, session));
    run_result_free(&result);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_option_is_a_usage_error),
        cmocka_unit_test(test_bad_delays_are_usage_errors),
        cmocka_unit_test(test_bad_iteration_counts_are_usage_errors),
        cmocka_unit_test(test_contradicting_options_are_usage_errors),
        cmocka_unit_test(test_help_exits_zero),
        cmocka_unit_test(test_version_prints_the_version),
        cmocka_unit_test_teardown(test_unknown_session_names_it, test_teardown),
        cmocka_unit_test(test_invalid_session_name_is_a_usage_error),
        cmocka_unit_test_teardown(test_once_json_reports_the_workload, teardown_workload),
        cmocka_unit_test_teardown(test_json_alone_means_once, teardown_workload),
        cmocka_unit_test_teardown(test_once_json_shows_what_a_process_waits_for, teardown_workload),
        cmocka_unit_test_teardown(test_batch_prints_each_refresh, teardown_workload),
        cmocka_unit_test_teardown(test_batch_json_prints_json_lines, teardown_workload),
        cmocka_unit_test_teardown(test_no_mode_without_a_terminal_prints_batch, teardown_workload),
        cmocka_unit_test_teardown(test_batch_ends_when_the_session_is_removed, teardown_workload),
        cmocka_unit_test_teardown(test_batch_stops_cleanly_on_signals, teardown_workload),
        cmocka_unit_test_teardown(test_batch_stops_cleanly_when_its_reader_leaves, teardown_workload),
        cmocka_unit_test_teardown(test_list_and_remove, teardown_workload),
        cmocka_unit_test_teardown(test_remove_unknown_session, test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
