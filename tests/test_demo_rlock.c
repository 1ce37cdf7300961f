/* test_demo_rlock.c - the rlock lesson of synctop-demo, and the tracing
 * every lesson does unless --no-trace.
 *
 * The rlock lesson runs fast (--speed 4) in a session the test creates
 * beforehand, until the test has seen what it looks for and says the time
 * is up (SYNCTOP_DEMO_END_FILE). Through the built viewer (SYNCTOP_BINARY
 * --once --json, parsed with json-c): "accounts-lock" is an rlock shown at
 * DEPTH 2 while a cashier is inside withdraw(); the event log holds its
 * re-entries (acquire events of value 2, the depth reached) because
 * synctop-demo traces its objects by default; and after the lesson its
 * figures add up exactly: one acquisition per transfer the lesson counted,
 * three recursions per acquisition, and one acquisition of the plain Lock
 * per round (its holder's re-acquire refused with ST_EDEADLK, as the
 * narration says). With --no-trace (even with SYNCTOP_TRACE=all in the
 * environment) the event log holds no operation of the lesson's objects.
 * Every test removes its session and checks /dev/shm holds nothing of it.
 */
#include "config.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include <synctop/synctop.h>

#include "helpers.h"

#define RUN_TIMEOUT_MS 10000
#define LESSON_EXIT_TIMEOUT_MS 30000
#define SEEN_TIMEOUT_MS 20000   /* a deadline: only a failing test waits this long */

/* ---- the session --------------------------------------------------------------- */

/* A new session, created here (so that the lesson does not remove it when
 * it ends: the test looks at it afterwards). Not traced itself. */
static const char *new_session(void)
{
    const char *session = test_session_new();
    assert_non_null(session);
    st_table_options options = { .session = session };
    st_table *table = NULL;
    assert_int_equal(st_table_open(&options, &table), ST_OK);
    st_table_close(table);
    return session;
}

static void remove_session(const char *session)
{
    st_result result = st_session_remove(session, true);
    assert_true(result == ST_OK || result == ST_ENOENT);
    assert_int_equal(test_shm_count(session), 0);
}

/* ---- the lesson, running in the background ------------------------------------- */

typedef struct demo_run {
    char log_path[256];
    char end_path[256];
    const char *trace_env;   /* SYNCTOP_TRACE for the lesson; NULL: unset */
    pid_t pid;
    char *argv[16];
} demo_run;

static int exec_demo(void *arg)
{
    demo_run *run = arg;
    int null = open("/dev/null", O_RDONLY);
    int log = open(run->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (null < 0 || log < 0)
        return 127;
    dup2(null, STDIN_FILENO);
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    setenv("SYNCTOP_DEMO_END_FILE", run->end_path, 1);
    if (run->trace_env != NULL)
        setenv("SYNCTOP_TRACE", run->trace_env, 1);
    else
        unsetenv("SYNCTOP_TRACE");
    execv(run->argv[0], run->argv);
    return 127;
}

/* synctop-demo rlock --speed 4 --session SESSION [--no-trace], until
 * finish_demo(). */
static void start_rlock(demo_run *run, const char *session, bool no_trace, const char *trace_env)
{
    memset(run, 0, sizeof *run);
    snprintf(run->log_path, sizeof run->log_path, "/tmp/synctop-test-demo-rlock-%s.log", session);
    snprintf(run->end_path, sizeof run->end_path, "/tmp/synctop-test-demo-rlock-%s.end", session);
    unlink(run->end_path);
    run->trace_env = trace_env;
    int n = 0;
    run->argv[n++] = (char *)SYNCTOP_DEMO_BINARY;
    run->argv[n++] = (char *)"rlock";
    run->argv[n++] = (char *)"--speed";
    run->argv[n++] = (char *)"4";
    run->argv[n++] = (char *)"--session";
    run->argv[n++] = (char *)session;
    if (no_trace)
        run->argv[n++] = (char *)"--no-trace";
    run->argv[n] = NULL;
    run->pid = test_spawn(exec_demo, run);
    assert_true(run->pid > 0);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0, got;
    char *text = malloc(cap);
    while (text != NULL && (got = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap)
            text = realloc(text, cap *= 2);
    }
    if (text != NULL)
        text[len] = '\0';
    fclose(f);
    return text;
}

/* Say the time is up; the lesson must exit 0. Returns its output. */
static char *finish_demo(demo_run *run)
{
    int end = open(run->end_path, O_WRONLY | O_CREAT, 0600);
    assert_true(end >= 0);
    close(end);
    int status = test_wait(run->pid, LESSON_EXIT_TIMEOUT_MS);
    unlink(run->end_path);
    char *log = read_text(run->log_path);
    unlink(run->log_path);
    if (status != 0)
        fail_msg("synctop-demo rlock exited with %d; its output:\n%s", status,
                 log != NULL ? log : "(none)");
    assert_non_null(log);
    assert_null(strstr(log, "FAILED"));
    return log;
}

static bool log_shows(void *arg)
{
    const char **goal = arg;   /* { path, text } */
    char *log = read_text(goal[0]);
    bool shows = log != NULL && strstr(log, goal[1]) != NULL;
    free(log);
    return shows;
}

static void wait_for_output(const demo_run *run, const char *text)
{
    const char *goal[2] = { run->log_path, text };
    if (!test_wait_until(log_shows, goal, SEEN_TIMEOUT_MS))
        fail_msg("synctop-demo rlock never wrote \"%s\"", text);
}

/* ---- what the viewer shows -------------------------------------------------------- */

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

static const char *text_member(json_object *object, const char *key)
{
    json_object *value = member(object, key);
    return value != NULL ? json_object_get_string(value) : "";
}

static json_object *find_object(json_object *root, const char *name)
{
    json_object *items = member(root, "objects");
    size_t count = items != NULL ? json_object_array_length(items) : 0;
    for (size_t i = 0; i < count; i++) {
        json_object *item = json_object_array_get_idx(items, i);
        if (strcmp(text_member(item, "name"), name) == 0)
            return item;
    }
    return NULL;
}

/* A figure of an object; -1 when the object or the field is missing. */
static int64_t figure(json_object *root, const char *object, const char *field)
{
    json_object *value = member(find_object(root, object), field);
    return value != NULL ? json_object_get_int64(value) : -1;
}

/* Events of the named object (operation NULL: any; value < 0: any). */
static int events_of(json_object *root, const char *object, const char *operation, int64_t value)
{
    json_object *events = member(root, "events");
    size_t count = events != NULL ? json_object_array_length(events) : 0;
    int found = 0;
    for (size_t i = 0; i < count; i++) {
        json_object *event = json_object_array_get_idx(events, i);
        if (strcmp(text_member(event, "object"), object) != 0)
            continue;
        if (operation != NULL && strcmp(text_member(event, "operation"), operation) != 0)
            continue;
        if (value >= 0 && json_object_get_int64(member(event, "value")) != value)
            continue;
        found++;
    }
    return found;
}

typedef bool (*seen_fn)(json_object *root);

/* Snapshots until seen(root) holds; returns that snapshot (caller puts). */
static json_object *wait_until_seen(const char *session, seen_fn seen, const char *what)
{
    char *last = NULL;
    double deadline = test_now() + SEEN_TIMEOUT_MS / 1000.0;
    for (bool final = false; !final;) {
        final = test_now() >= deadline;   /* one last look at the deadline */
        json_object *root = snapshot(session);
        if (root != NULL && seen(root)) {
            free(last);
            return root;
        }
        if (root != NULL) {
            free(last);
            last = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
            json_object_put(root);
        }
        if (!final)
            test_sleep_ms(20);   /* a poll interval between snapshots, not synchronization */
    }
    fail_msg("the viewer never showed %s; last snapshot: %s", what, last != NULL ? last : "none");
    return NULL;
}

/* A cashier inside withdraw(): the Locks view's DEPTH column reads 2. */
static bool depth_two_shown(json_object *root)
{
    return strcmp(text_member(find_object(root, "accounts-lock"), "type"), "rlock") == 0 &&
           figure(root, "accounts-lock", "depth") == 2;
}

/* The lesson's final line: "<rounds> rounds, <transfers> transfers: ...". */
static void read_summary(const char *log, long *rounds, long *transfers)
{
    const char *line = strstr(log, " transfers: every total exact");
    assert_non_null(line);
    while (line > log && line[-1] != '\n')
        line--;
    assert_int_equal(sscanf(line, "rlock: %ld rounds, %ld transfers", rounds, transfers), 2);
}

/* ---- the tests ------------------------------------------------------------------------ */

static void test_rlock_depth_two_and_self_deadlock_detected(void **state)
{
    (void)state;
    const char *session = new_session();
    demo_run run;
    start_rlock(&run, session, false, NULL);

    json_object *root = wait_until_seen(session, depth_two_shown, "accounts-lock at depth 2");
    json_object_put(root);
    wait_for_output(&run, "round 1 ");
    wait_for_output(&run, "self-deadlock, detected: ST_EDEADLK");

    /* Traced by default: the re-entries are in the event log, with the
     * depth they reached. */
    root = snapshot(session);
    assert_non_null(root);
    if (events_of(root, "accounts-lock", "acquire", 2) == 0)
        fail_msg("no acquire of accounts-lock at depth 2 in the event log: %s",
                 json_object_to_json_string_ext(member(root, "events"), JSON_C_TO_STRING_PLAIN));
    json_object_put(root);

    char *log = finish_demo(&run);
    long rounds = 0, transfers = 0;
    read_summary(log, &rounds, &transfers);
    assert_non_null(strstr(log, "depth 1 -> 2 (withdraw) -> 1 -> 2 (deposit) -> 1 -> 0"));
    assert_non_null(strstr(log, ": exact"));
    free(log);
    assert_true(rounds >= 1);
    assert_int_equal(transfers, rounds * 3 * 4);   /* 3 cashiers, 4 transfers each */

    /* Afterwards the figures add up exactly. */
    root = snapshot(session);
    assert_non_null(root);
    assert_string_equal(text_member(find_object(root, "accounts-lock"), "type"), "rlock");
    assert_int_equal(figure(root, "accounts-lock", "acquisitions"), transfers);
    assert_int_equal(figure(root, "accounts-lock", "recursions"), 3 * transfers);
    assert_int_equal(figure(root, "accounts-lock", "depth"), 0);
    assert_string_equal(text_member(find_object(root, "accounts-plain-lock"), "type"), "lock");
    assert_int_equal(figure(root, "accounts-plain-lock", "acquisitions"), rounds);
    json_object_put(root);
    remove_session(session);
}

static bool round_done(json_object *root)
{
    return figure(root, "accounts-plain-lock", "acquisitions") >= 1 &&
           figure(root, "accounts-lock", "acquisitions") >= 12;
}

static void test_no_trace_leaves_the_event_log_empty(void **state)
{
    (void)state;
    const char *session = new_session();
    demo_run run;
    /* --no-trace wins over a SYNCTOP_TRACE=all the caller set. */
    start_rlock(&run, session, true, "all");

    json_object *root = wait_until_seen(session, round_done, "a round of transfers");
    assert_int_equal(events_of(root, "accounts-lock", NULL, -1), 0);
    assert_int_equal(events_of(root, "accounts-plain-lock", NULL, -1), 0);
    json_object_put(root);

    free(finish_demo(&run));
    root = snapshot(session);
    assert_non_null(root);
    assert_true(figure(root, "accounts-lock", "acquisitions") >= 12);
    assert_int_equal(events_of(root, "accounts-lock", NULL, -1), 0);
    assert_int_equal(events_of(root, "accounts-plain-lock", NULL, -1), 0);
    json_object_put(root);
    remove_session(session);
}

static void test_no_trace_takes_no_value_and_rlock_is_listed(void **state)
{
    (void)state;
    char *bad[] = { (char *)SYNCTOP_DEMO_BINARY, (char *)"rlock", (char *)"--no-trace=yes", NULL };
    char *err = NULL;
    assert_int_equal(test_run(bad, NULL, &err, RUN_TIMEOUT_MS), 2);
    assert_non_null(strstr(err, "--no-trace"));
    free(err);

    char *help[] = { (char *)SYNCTOP_DEMO_BINARY, (char *)"--help", NULL };
    char *out = NULL;
    assert_int_equal(test_run(help, &out, NULL, RUN_TIMEOUT_MS), 0);
    assert_non_null(strstr(out, "--no-trace"));
    assert_non_null(strstr(out, "rlock"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_rlock_depth_two_and_self_deadlock_detected, test_teardown),
        cmocka_unit_test_teardown(test_no_trace_leaves_the_event_log_empty, test_teardown),
        cmocka_unit_test_teardown(test_no_trace_takes_no_value_and_rlock_is_listed, test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
