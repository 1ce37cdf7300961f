/* test_demo.c - synctop-demo as a class runs it: every lesson of the
 * framework's author (semaphore, pool-db, bounded, event, startstop,
 * condition, deadlock, supervisor, pool, and race) runs fast (--speed 4)
 * in a session of its own - until the test has seen what it looks for and
 * says the time is up (UNTIL_STOPPED, SYNCTOP_DEMO_END_FILE), or for
 * --duration 3 (FAST) - and while it runs the
 * built viewer (SYNCTOP_BINARY --once --json) must show what the lesson
 * teaches: the objects under their story names with their figures
 * (download-slots never above 3 in use, an over-release counted, a
 * deadlock cycle between the philosophers ...) and the processes under
 * theirs. Then the lesson must exit 0 (its own claim held), its output must
 * be in its --log file, and nothing of its session may remain in /dev/shm.
 *
 * Also: `list` names every lesson, usage errors exit 2, a lesson whose
 * claim fails makes the program exit 1 naming it, and SIGINT to the
 * program (Ctrl-C) stops several lessons at once, leaving no process
 * behind, and exits 0.
 *
 * Lessons by the other demo helper are tested in their own file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <synctop/synctop.h>

#include "helpers.h"

#define RUN_TIMEOUT_MS 10000
#define LESSON_EXIT_TIMEOUT_MS 40000
#define SEEN_TIMEOUT_MS 20000   /* a deadline: only a failing test waits this long */
#define MAX_PIDS 128

/* ---- running the programs -------------------------------------------------- */

typedef struct run_result {
    int status;
    char *out;
    char *err;
} run_result;

static run_result run_demo_argv(const char *const *args)
{
    char *argv[32] = { (char *)SYNCTOP_DEMO_BINARY };
    int n = 1;
    for (; args[n - 1] != NULL && n < 31; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    run_result result;
    result.status = test_run(argv, &result.out, &result.err, RUN_TIMEOUT_MS);
    return result;
}

#define run_demo(...) run_demo_argv((const char *const[]){ __VA_ARGS__, NULL })

static void run_result_free(run_result *result)
{
    free(result->out);
    free(result->err);
}

/* A demo running in the background, its output in a log file. */
typedef struct demo_run {
    const char *session;
    char log_path[256];
    pid_t pid;          /* 0 once waited for */
    int status;         /* its exit status, once waited for */
    char end_path[256]; /* without --duration: stop_demo() creates it to end the lesson */
    char *argv[32];
} demo_run;

static int exec_demo(void *arg)
{
    demo_run *run = arg;
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);   /* the director's own lines also go to the log */
    }
    if (run->end_path[0] != '\0')
        setenv("SYNCTOP_DEMO_END_FILE", run->end_path, 1);
    execv(run->argv[0], run->argv);
    return 127;
}

/* Start synctop-demo LESSONS... -s <new session> --log <file> EXTRA... */
static void start_demo_argv(demo_run *run, const char *const *args)
{
    memset(run, 0, sizeof *run);
    run->session = test_session_new();
    assert_non_null(run->session);
    snprintf(run->log_path, sizeof run->log_path, "/tmp/synctop-test-demo-%s.log", run->session);
    unlink(run->log_path);
    int n = 0;
    run->argv[n++] = (char *)SYNCTOP_DEMO_BINARY;
    for (; args[n - 1] != NULL && n < 26; n++)
        run->argv[n] = (char *)args[n - 1];
    run->argv[n++] = (char *)"--session";
    run->argv[n++] = (char *)run->session;
    run->argv[n++] = (char *)"--log";
    run->argv[n++] = run->log_path;
    run->argv[n] = NULL;
    bool has_duration = false;
    for (int i = 1; i < n; i++)
        has_duration |= strcmp(run->argv[i], "--duration") == 0;
    if (!has_duration) {
        snprintf(run->end_path, sizeof run->end_path, "/tmp/synctop-test-demo-%s.end", run->session);
        unlink(run->end_path);
    }
    run->pid = test_spawn(exec_demo, run);
    assert_true(run->pid > 0);
}

#define start_demo(run, ...) start_demo_argv((run), (const char *const[]){ __VA_ARGS__, NULL })

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);
    size_t got;
    while (text != NULL && (got = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0)
            text = realloc(text, cap *= 2);
    }
    if (text != NULL)
        text[len] = '\0';
    fclose(f);
    return text;
}

/* Wait for the demo; on an unexpected status, show its log. */
static int finish_demo(demo_run *run, int expected)
{
    int status = test_wait(run->pid, LESSON_EXIT_TIMEOUT_MS);
    run->pid = 0;
    run->status = status;
    if (status != expected) {
        char *log = read_file(run->log_path);
        fprintf(stderr, "# synctop-demo exited with %d, expected %d; its log:\n%s\n", status,
                expected, log != NULL ? log : "(none)");
        free(log);
    }
    return status;
}

/* The lesson ran, wrote its lines to the log, ended well and left nothing. */
static void assert_finished_cleanly(demo_run *run, const char *lesson)
{
    if (run->pid != 0)
        finish_demo(run, 0);
    assert_int_equal(run->status, 0);
    char *log = read_file(run->log_path);
    assert_non_null(log);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "\n%s: ", lesson);
    if (strstr(log, prefix) == NULL)
        fail_msg("no line of the %s lesson in its log:\n%s", lesson, log);
    assert_null(strstr(log, "FAILED"));
    free(log);
    unlink(run->log_path);
    if (run->end_path[0] != '\0')
        unlink(run->end_path);
    assert_int_equal(test_shm_count(run->session), 0);
}

/* ---- what the viewer shows ---------------------------------------------------- */

static json_object *snapshot(const char *session)
{
    char *argv[] = { (char *)SYNCTOP_BINARY, (char *)"--once", (char *)"--json",
                     (char *)"-s", (char *)session, NULL };
    char *out = NULL;
    int status = test_run(argv, &out, NULL, RUN_TIMEOUT_MS);
    json_object *root = status == 0 && out != NULL ? json_tokener_parse(out) : NULL;
    free(out);
    return root;
}

static json_object *member(json_object *object, const char *key)
{
    json_object *value = NULL;
    if (object == NULL || !json_object_object_get_ex(object, key, &value))
        return NULL;
    return value;
}

static int64_t int_member(json_object *object, const char *key)
{
    json_object *value = member(object, key);
    if (value == NULL)
        fail_msg("field '%s' missing", key);
    return json_object_get_int64(value);
}

static const char *text_member(json_object *object, const char *key)
{
    json_object *value = member(object, key);
    return value != NULL ? json_object_get_string(value) : "";
}

static json_object *find_named(json_object *root, const char *list, const char *name)
{
    json_object *items = member(root, list);
    size_t count = items != NULL ? json_object_array_length(items) : 0;
    for (size_t i = 0; i < count; i++) {
        json_object *item = json_object_array_get_idx(items, i);
        if (strcmp(text_member(item, "name"), name) == 0)
            return item;
    }
    return NULL;
}

static json_object *find_object(json_object *root, const char *name)
{
    return find_named(root, "objects", name);
}

/* A live process called name. */
static json_object *find_process(json_object *root, const char *name)
{
    json_object *items = member(root, "processes");
    size_t count = items != NULL ? json_object_array_length(items) : 0;
    for (size_t i = 0; i < count; i++) {
        json_object *item = json_object_array_get_idx(items, i);
        if (strcmp(text_member(item, "name"), name) == 0 &&
            json_object_get_boolean(member(item, "alive")))
            return item;
    }
    return NULL;
}

static int64_t object_figure(json_object *root, const char *object, const char *field)
{
    json_object *found = find_object(root, object);
    json_object *value = member(found, field);
    return value != NULL ? json_object_get_int64(value) : -1;
}

typedef bool (*seen_fn)(json_object *root);

/* Snapshots until seen(root) holds; returns that snapshot (caller puts it)
 * or fails the test. Every snapshot on the way is checked by invariant (may
 * be NULL), which asserts what must hold at every moment. */
static json_object *await_view(const demo_run *run, seen_fn seen, void (*invariant)(json_object *),
                               const char *what)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        json_object *root = snapshot(run->session);
        if (root != NULL) {
            if (invariant != NULL)
                invariant(root);
            if (seen(root))
                return root;
            json_object_put(root);
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed > SEEN_TIMEOUT_MS)
            fail_msg("synctop never showed %s in session %s", what, run->session);
        test_sleep_ms(100);   /* a poll interval between snapshots, not synchronization */
    }
}

static void assert_processes(json_object *root, const char *prefix, int first, int last)
{
    for (int i = first; i <= last; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s-%d", prefix, i);
        if (find_process(root, name) == NULL)
            fail_msg("process %s is not shown", name);
    }
}

static void assert_process(json_object *root, const char *name)
{
    if (find_process(root, name) == NULL)
        fail_msg("process %s is not shown", name);
}

static void assert_type(json_object *root, const char *object, const char *type)
{
    json_object *found = find_object(root, object);
    if (found == NULL)
        fail_msg("object %s is not shown", object);
    assert_string_equal(text_member(found, "type"), type);
}

/* ---- the command line ----------------------------------------------------------- */

static const char *const my_lessons[] = {
    "race", "semaphore", "pool-db", "bounded", "event", "startstop", "condition",
    "deadlock", "supervisor", "pool",
};

static bool has_line_starting_with(const char *text, const char *word)
{
    size_t length = strlen(word);
    for (const char *line = text; line != NULL && *line;) {
        if (strncmp(line, word, length) == 0 && line[length] == ' ')
            return true;
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return false;
}

static void test_list_names_every_lesson(void **state)
{
    (void)state;
    run_result result = run_demo("list");
    assert_int_equal(result.status, 0);
    for (size_t i = 0; i < sizeof my_lessons / sizeof my_lessons[0]; i++)
        if (!has_line_starting_with(result.out, my_lessons[i]))
            fail_msg("'%s' missing from synctop-demo list:\n%s", my_lessons[i], result.out);
    /* one line each, with a description */
    for (const char *line = result.out; *line; line = strchr(line, '\n') + 1) {
        const char *end = strchr(line, '\n');
        assert_non_null(end);
        assert_true(end - line > 20);
    }
    run_result_free(&result);

    result = run_demo("--help");
    assert_int_equal(result.status, 0);
    assert_non_null(strstr(result.out, "--speed"));
    assert_non_null(strstr(result.out, "--log"));
    assert_non_null(strstr(result.out, "deadlock"));
    run_result_free(&result);
}

static void assert_usage_error(run_result *result, const char *says)
{
    assert_int_equal(result->status, 2);
    assert_string_equal(result->out, "");
    if (strstr(result->err, says) == NULL)
        fail_msg("expected '%s' in:\n%s", says, result->err);
    assert_non_null(strstr(result->err, "Usage:"));
    run_result_free(result);
}

static void test_usage_errors_exit_2(void **state)
{
    (void)state;
    run_result result = run_demo("no-such-lesson");
    assert_usage_error(&result, "unknown lesson 'no-such-lesson'");
    result = run_demo("semaphore", "no-such-lesson");
    assert_usage_error(&result, "unknown lesson 'no-such-lesson'");
    result = run_demo_argv((const char *const[]){ NULL });
    assert_usage_error(&result, "no lesson named");
    result = run_demo("all", "race");
    assert_usage_error(&result, "not both");
    result = run_demo("race", "race");
    assert_usage_error(&result, "named twice");
    result = run_demo("race", "--speed", "0");
    assert_usage_error(&result, "--speed");
    result = run_demo("race", "--speed", "fast");
    assert_usage_error(&result, "--speed");
    result = run_demo("race", "--duration", "-1");
    assert_usage_error(&result, "--duration");
    result = run_demo("race", "--session", "bad/name");
    assert_usage_error(&result, "invalid session name 'bad/name'");
    result = run_demo("race", "--log");
    assert_usage_error(&result, "option --log needs an argument");
    result = run_demo("race", "--bogus");
    assert_usage_error(&result, "unknown option --bogus");
}

/* A lesson whose claim does not hold makes the program exit 1 and say which. */
static void test_a_failed_claim_is_named(void **state)
{
    (void)state;
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        skip();   /* on one CPU, the race lesson does not claim a lost update */
    const char *session = test_session_new();
    /* One deposit per teller and round: nothing can be lost, so the race
     * lesson's claim ("updates are lost without a lock") fails. */
    run_result result = run_demo("race", "--deposits", "1", "--duration", "0.5", "--speed", "4",
                                 "--session", session);
    assert_int_equal(result.status, 1);
    assert_non_null(strstr(result.err, "race: FAILED: no update was lost"));
    assert_non_null(strstr(result.err, "lesson 'race' FAILED (exit status 1)"));
    run_result_free(&result);
    assert_int_equal(test_shm_count(session), 0);
}

/* ---- each lesson, watched ------------------------------------------------------ */

#define FAST "--duration", "3", "--speed", "4"
/* No --duration: the lesson runs until stop_demo(), so however slow the
 * machine, it is still running when the viewer is asked about it. */
#define UNTIL_STOPPED "--speed", "4"

/* The time is up: the lesson finishes its round and checks its claim as at
 * the end of --duration (SYNCTOP_DEMO_END_FILE); assert_finished_cleanly()
 * then waits for it. */
static void stop_demo(demo_run *run)
{
    assert_true(run->end_path[0] != '\0');
    int end = open(run->end_path, O_WRONLY | O_CREAT, 0600);
    assert_true(end >= 0);
    close(end);
}

static bool race_seen(json_object *root)
{
    return object_figure(root, "bank-lock", "acquisitions") > 0;
}

static void test_race(void **state)
{
    (void)state;
    demo_run run;
    start_demo(&run, "race", UNTIL_STOPPED);
    json_object *root = await_view(&run, race_seen, NULL, "bank-lock acquisitions");
    assert_type(root, "bank-lock", "lock");
    assert_process(root, "bank");
    assert_processes(root, "teller", 1, 4);
    json_object_put(root);
    stop_demo(&run);
    assert_finished_cleanly(&run, "race");
}

static void download_slots_never_above_3(json_object *root)
{
    int64_t peak = object_figure(root, "download-slots", "peak_in_use");
    int64_t in_use = object_figure(root, "download-slots", "in_use");
    if (peak > 3 || in_use > 3)
        fail_msg("download-slots shows peak_in_use %lld, in_use %lld", (long long)peak,
                 (long long)in_use);
}

static bool downloads_seen(json_object *root)
{
    return object_figure(root, "download-slots", "acquisitions") > 3 &&
           object_figure(root, "download-slots", "waiters") >= 0;
}

static void test_semaphore(void **state)
{
    (void)state;
    demo_run run;
    start_demo(&run, "semaphore", UNTIL_STOPPED);
    json_object *root = await_view(&run, downloads_seen, download_slots_never_above_3,
                                   "download-slots acquisitions");
    assert_type(root, "download-slots", "semaphore");
    assert_int_equal(object_figure(root, "download-slots", "initial"), 3);
    assert_true(object_figure(root, "download-slots", "peak_in_use") >= 1);
    assert_process(root, "download-manager");
    assert_processes(root, "download", 1, 10);
    json_object_put(root);
    stop_demo(&run);
    assert_finished_cleanly(&run, "semaphore");
}

static void db_connections_never_above_5(json_object *root)
{
    int64_t peak = object_figure(root, "db-connections", "peak_in_use");
    if (peak > 5)
        fail_msg("db-connections shows peak_in_use %lld", (long long)peak);
}

static bool queries_seen(json_object *root)
{
    return object_figure(root, "db-connections", "acquisitions") > 5;
}

static void test_pool_db(void **state)
{
    (void)state;
    demo_run run;
    start_demo(&run, "pool-db", UNTIL_STOPPED);
    json_object *root = await_view(&run, queries_seen, db_connections_never_above_5,
                                   "db-connections acquisitions");
    assert_type(root, "db-connections", "semaphore");
    assert_int_equal(object_figure(root, "db-connections", "initial"), 5);
    assert_process(root, "db-pool");
    assert_processes(root, "user", 1, 10);
    json_object_put(root);
    stop_demo(&run);
    assert_finished_cleanly(&run, "pool-db");
}

static bool over_release_seen(json_object *root)
{
    return object_figure(root, "printer-tokens", "over_releases") >= 1;
}

static void tokens_never_above_2(json_object *root)
{
    int64_t value = object_figure(root, "printer-tokens", "value");
    if (value > 2)
        fail_msg("printer-tokens shows value %lld, above its bound 2", (long long)value);
}

static void test_bounded(void **state)
{
    (void)state;
    demo_run run;
    start_demo(&run, "bounded", UNTIL_STOPPED);
    json_object *root = await_view(&run, over_release_seen, tokens_never_above_2,
                                   "an over-release of printer-tokens");
    assert_type(root, "printer-tokens", "bounded_semaphore");
    assert_int_equal(object_figure(root, "printer-tokens", "initial"), 2);
    assert_process(root, "office-manager");
    assert_processes(root, "clerk", 1, 2);
    assert_process(root, "careless-clerk");
    json_object_put(root);
    stop_demo(&run);
    assert_finished_cleanly(&run, "bounded");
}

static bool start_signal_seen(json_object *root)
{
    return object_figure(root, "start-signal", "sets") >= 1 &&
           object_figure(root, "start-signal", "waits") >= 4;
}

static void test_event(void **state)
{
    (void)state;
    demo_run run;
    start_demo(&run, "event", FAST);
    json_object *root = await_view(&run, start_signal_seen, NULL, "start-signal set");
    assert_type(root, "start-signal", "event");
    assert_process(root, "starter");
    assert_processes(root, "sprinter", 1, 4);
    json_object_put(root);
    assert_int_equal(finish_demo(&run, 0), 0);
    char *log = read_file(run.log_path);
    assert_non_null(log);
    assert_non_null(strstr(log, "still waiting for start-signal"));
    assert_non_null(strstr(log, "all 4 sprinters released together"));
    free(log);
    assert_finished_cleanly(&run, "event");
}

static bool line_seen(json_object *root)
{
    return object_figure(root, "bread-rack", "puts") >= 1 &&
           object_figure(root, "line-stop", "sets") >= 1 &&
           object_figure(root, "line-start", "sets") >= 1;
}

static void test_startstop(void **state)
{
    (void)state;
    demo_run run;
    start_demo(&run, "startstop", UNTIL_STOPPED);
    json_object *root = await_view(&run, line_seen, NULL, "the bakery line running");
    assert_type(root, "line-start", "event");
    assert_type(root, "line-stop", "event");
    assert_type(root, "bread-rack", "queue");
    assert_process(root, "controller");
    assert_processes(root, "baker", 1, 2);
    assert_processes(root, "courier", 1, 2);
    json_object_put(root);
    stop_demo(&run);
    assert_finished_cleanly(&run, "startstop");
}

static bool hand_off_seen(json_object *root)
{
    return object_figure(root, "order-ready", "notifies") >= 2 &&
           object_figure(root, "counter-lock", "acquisitions") >= 2;
}

static void test_condition(void **state)
{
    (void)state;
    demo_run run;
    start_demo(&run, "condition", UNTIL_STOPPED);
    json_object *root = await_view(&run, hand_off_seen, NULL, "order-ready notified");
    assert_type(root, "order-ready", "condition");
    assert_type(root, "counter-free", "condition");
    assert_type(root, "counter-lock", "lock");
    assert_string_equal(text_member(find_object(root, "order-ready"), "lock"), "counter-lock");
    assert_process(root, "cook");
    assert_processes(root, "waiter", 1, 2);
    json_object_put(root);
    stop_demo(&run);
    assert_finished_cleanly(&run, "condition");
}

/* A cycle made of the two philosophers waiting for the two forks. */
static bool philosophers_deadlock_seen(json_object *root)
{
    json_object *deadlocks = member(root, "deadlocks");
    size_t count = deadlocks != NULL ? json_object_array_length(deadlocks) : 0;
    for (size_t i = 0; i < count; i++) {
        json_object *cycle = member(json_object_array_get_idx(deadlocks, i), "cycle");
        size_t length = cycle != NULL ? json_object_array_length(cycle) : 0;
        bool one = false, two = false, forks = length == 2;
        for (size_t k = 0; k < length; k++) {
            json_object *link = json_object_array_get_idx(cycle, k);
            const char *name = text_member(link, "name");
            const char *waits_for = text_member(link, "waits_for");
            one |= strcmp(name, "philosopher-1") == 0 && strcmp(waits_for, "fork-right") == 0;
            two |= strcmp(name, "philosopher-2") == 0 && strcmp(waits_for, "fork-left") == 0;
            forks &= strncmp(waits_for, "fork-", 5) == 0;
        }
        if (one && two && forks)
            return true;
    }
    return false;
}

/* No other cycle than the philosophers' may ever be shown. */
static void only_the_philosophers_deadlock(json_object *root)
{
    json_object *deadlocks = member(root, "deadlocks");
    size_t count = deadlocks != NULL ? json_object_array_length(deadlocks) : 0;
    if (count > 1 || (count == 1 && !philosophers_deadlock_seen(root)))
        fail_msg("unexpected deadlocks: %s", json_object_to_json_string(deadlocks));
}

static void test_deadlock(void **state)
{
    (void)state;
    demo_run run;
    start_demo(&run, "deadlock", FAST);
    json_object *root = await_view(&run, philosophers_deadlock_seen,
                                   only_the_philosophers_deadlock,
                                   "the philosophers' deadlock");
    assert_type(root, "fork-left", "lock");
    assert_type(root, "fork-right", "lock");
    assert_process(root, "observer");
    json_object *one = find_process(root, "philosopher-1");
    json_object *two = find_process(root, "philosopher-2");
    assert_non_null(one);
    assert_non_null(two);
    assert_true(json_object_get_boolean(member(one, "deadlocked")));
    assert_true(json_object_get_boolean(member(two, "deadlocked")));
    /* each holds the fork the other waits for */
    assert_int_equal(object_figure(root, "fork-left", "holder"), int_member(one, "pid"));
    assert_int_equal(object_figure(root, "fork-right", "holder"), int_member(two, "pid"));
    json_object_put(root);
    assert_int_equal(finish_demo(&run, 0), 0);
    char *log = read_file(run.log_path);
    assert_non_null(log);
    assert_non_null(strstr(log, "DEADLOCK detected by the model"));
    assert_non_null(strstr(log, "deadlock broken by a timeout"));
    free(log);
    assert_finished_cleanly(&run, "deadlock");
}

static void no_worker_beyond_3_restarts(json_object *root)
{
    json_object *items = member(root, "processes");
    size_t count = items != NULL ? json_object_array_length(items) : 0;
    for (size_t i = 0; i < count; i++) {
        json_object *item = json_object_array_get_idx(items, i);
        if (strncmp(text_member(item, "name"), "unstable-", 9) == 0 &&
            int_member(item, "restarts") > 3)
            fail_msg("%s restarted %lld times", text_member(item, "name"),
                     (long long)int_member(item, "restarts"));
    }
    /* and no false deadlock: the supervisor's owner polls its own object */
    json_object *deadlocks = member(root, "deadlocks");
    assert_int_equal(deadlocks != NULL ? json_object_array_length(deadlocks) : 0, 0);
}

static bool restart_seen(json_object *root)
{
    return object_figure(root, "health-check", "restarts_total") >= 1;
}

static void test_supervisor(void **state)
{
    (void)state;
    demo_run run;
    start_demo(&run, "supervisor", UNTIL_STOPPED);
    json_object *root = await_view(&run, restart_seen, no_worker_beyond_3_restarts,
                                   "a restart by health-check");
    assert_type(root, "health-check", "supervisor");
    assert_int_equal(object_figure(root, "health-check", "restart_limit"), 3);
    assert_int_equal(object_figure(root, "health-check", "workers"), 3);
    assert_process(root, "foreman");
    json_object_put(root);
    stop_demo(&run);
    assert_finished_cleanly(&run, "supervisor");
}

static bool worker_replaced_seen(json_object *root)
{
    return object_figure(root, "crunchers", "tasks_done") >= 8 &&
           object_figure(root, "crunchers", "workers_replaced") >= 1 &&
           object_figure(root, "crunchers", "tasks_failed") >= 2;
}

static void test_pool(void **state)
{
    (void)state;
    demo_run run;
    start_demo(&run, "pool", FAST);
    json_object *root = await_view(&run, worker_replaced_seen, NULL,
                                   "crunchers' tasks done, failed and a worker replaced");
    assert_type(root, "crunchers", "pool");
    assert_int_equal(object_figure(root, "crunchers", "workers"), 3);
    assert_process(root, "pool-owner");
    json_object_put(root);
    assert_int_equal(finish_demo(&run, 0), 0);
    char *log = read_file(run.log_path);
    assert_non_null(log);
    assert_non_null(strstr(log, "ST_EINVAL: input -4 is negative"));
    assert_non_null(strstr(log, "ST_EWORKERDIED"));
    free(log);
    assert_finished_cleanly(&run, "pool");
}

/* ---- Ctrl-C ----------------------------------------------------------------------- */

static int live_pids(json_object *root, pid_t *pids, int max)
{
    json_object *items = member(root, "processes");
    size_t count = items != NULL ? json_object_array_length(items) : 0;
    int n = 0;
    for (size_t i = 0; i < count && n < max; i++) {
        json_object *item = json_object_array_get_idx(items, i);
        if (json_object_get_boolean(member(item, "alive")))
            pids[n++] = (pid_t)int_member(item, "pid");
    }
    return n;
}

static bool crowd_assembled(json_object *root)
{
    return find_process(root, "download-10") != NULL && find_process(root, "philosopher-2") != NULL &&
           find_process(root, "unstable-3") != NULL && find_object(root, "crunchers") != NULL &&
           find_process(root, "sprinter-4") != NULL;
}

static void test_ctrl_c_stops_every_lesson(void **state)
{
    (void)state;
    demo_run run;
    start_demo(&run, "semaphore", "deadlock", "supervisor", "pool", "event");
    json_object *root = await_view(&run, crowd_assembled, NULL, "five lessons running");
    pid_t pids[MAX_PIDS];
    int count = live_pids(root, pids, MAX_PIDS);
    json_object_put(root);
    assert_true(count >= 25);

    assert_int_equal(kill(run.pid, SIGINT), 0);
    assert_int_equal(finish_demo(&run, 0), 0);
    for (int i = 0; i < count; i++)
        if (kill(pids[i], 0) == 0 || errno != ESRCH)
            fail_msg("process %d of the demo is still there after Ctrl-C", (int)pids[i]);
    assert_int_equal(test_shm_count(run.session), 0);
    unlink(run.log_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_names_every_lesson),
        cmocka_unit_test(test_usage_errors_exit_2),
        cmocka_unit_test_teardown(test_a_failed_claim_is_named, test_teardown),
        cmocka_unit_test_teardown(test_race, test_teardown),
        cmocka_unit_test_teardown(test_semaphore, test_teardown),
        cmocka_unit_test_teardown(test_pool_db, test_teardown),
        cmocka_unit_test_teardown(test_bounded, test_teardown),
        cmocka_unit_test_teardown(test_event, test_teardown),
        cmocka_unit_test_teardown(test_startstop, test_teardown),
        cmocka_unit_test_teardown(test_condition, test_teardown),
        cmocka_unit_test_teardown(test_deadlock, test_teardown),
        cmocka_unit_test_teardown(test_supervisor, test_teardown),
        cmocka_unit_test_teardown(test_pool, test_teardown),
        cmocka_unit_test_teardown(test_ctrl_c_stops_every_lesson, test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
