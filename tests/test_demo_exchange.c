/* test_demo_exchange.c - the exchange lesson of synctop-demo: five pairs of
 * processes moving the same stream of records through an shm ring, a pipe,
 * a value slot, a queue and a dict, raced side by side.
 *
 * The lesson runs fast (--speed 4) in a session the test creates
 * beforehand, until the test has seen what it looks for and says the time
 * is up (SYNCTOP_DEMO_END_FILE). Through the built viewer (SYNCTOP_BINARY
 * --once --json, parsed with json-c), while it runs: the ten racers by
 * name, the five mechanisms with their types, the Arrays
 * "records-per-second" and "records-moved" (5 entries each) with records
 * flowing; the shm racers attached to the ring; the lesson's quiet objects
 * traced (synctop-demo traces by default) and its hot ones never by a
 * racer. After it: the narration's ranking line names all five, and each
 * pair's count ("shm moved N records") agrees with the viewer's figures
 * exactly - records-moved's sum, the queue's puts and gets, the pipe's
 * messages, the dict's sets and deletes, the handshake semaphores'
 * acquisitions (each count + 1: the end record), the ring unlinked.
 * No rate and no ranking is asserted: the machine is shared and busy.
 * Every test removes its session and checks /dev/shm holds nothing of it.
 */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include <synctop/synctop.h>

#include "helpers.h"

#define RUN_TIMEOUT_MS 10000
#define LESSON_EXIT_TIMEOUT_MS 60000
#define SEEN_TIMEOUT_MS 20000   /* a deadline: only a failing test waits this long */
#define LANES 5

static const char *const mechanisms[LANES] = { "shm", "pipe", "value", "queue", "dict" };

/* ---- the session --------------------------------------------------------------- */

/* A new session, created here (so that the lesson does not remove it when
 * it ends: the test looks at it afterwards). */
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
    unsetenv("SYNCTOP_TRACE");   /* synctop-demo's own default: trace */
    execv(run->argv[0], run->argv);
    return 127;
}

/* synctop-demo exchange --speed 4 --session SESSION, until finish_demo(). */
static void start_exchange(demo_run *run, const char *session)
{
    memset(run, 0, sizeof *run);
    snprintf(run->log_path, sizeof run->log_path, "/tmp/synctop-test-demo-exchange-%s.log", session);
    snprintf(run->end_path, sizeof run->end_path, "/tmp/synctop-test-demo-exchange-%s.end", session);
    unlink(run->end_path);
    int n = 0;
    run->argv[n++] = (char *)SYNCTOP_DEMO_BINARY;
    run->argv[n++] = (char *)"exchange";
    run->argv[n++] = (char *)"--speed";
    run->argv[n++] = (char *)"4";
    run->argv[n++] = (char *)"--session";
    run->argv[n++] = (char *)session;
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
        fail_msg("synctop-demo exchange exited with %d; its output:\n%s", status,
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
    if (!test_wait_until(log_shows, goal, SEEN_TIMEOUT_MS)) {
        char *log = read_text(run->log_path);
        fail_msg("synctop-demo exchange never wrote \"%s\"; its output:\n%s", text,
                 log != NULL ? log : "(none)");
    }
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

static bool has_process(json_object *root, const char *name)
{
    json_object *process = find_named(root, "processes", name);
    return process != NULL && json_object_get_boolean(member(process, "alive"));
}

static pid_t process_pid(json_object *root, const char *name)
{
    return (pid_t)json_object_get_int64(member(find_named(root, "processes", name), "pid"));
}

/* A figure of an object; -1 when the object or the field is missing. */
static int64_t figure(json_object *root, const char *object, const char *field)
{
    json_object *value = member(find_object(root, object), field);
    return value != NULL ? json_object_get_int64(value) : -1;
}

static bool is_of_type(json_object *root, const char *object, const char *type)
{
    return strcmp(text_member(find_object(root, object), "type"), type) == 0;
}

static void assert_figure(json_object *root, const char *object, const char *field, int64_t expected)
{
    int64_t shown = figure(root, object, field);
    if (shown != expected)
        fail_msg("%s.%s is %" PRId64 ", expected %" PRId64, object, field, shown, expected);
}

/* Events of the named object; with not_pid > 0, only those of other
 * processes. */
static int events_of(json_object *root, const char *object, pid_t not_pid)
{
    json_object *events = member(root, "events");
    size_t count = events != NULL ? json_object_array_length(events) : 0;
    int found = 0;
    for (size_t i = 0; i < count; i++) {
        json_object *event = json_object_array_get_idx(events, i);
        if (strcmp(text_member(event, "object"), object) != 0)
            continue;
        if (not_pid > 0 && (pid_t)json_object_get_int64(member(event, "pid")) == not_pid)
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

/* The referee, ten racers, the five mechanisms and the two Arrays, with
 * records on the way through every mechanism. */
static bool race_under_way(json_object *root)
{
    if (!has_process(root, "exchange-referee"))
        return false;
    for (int lane = 0; lane < LANES; lane++) {
        char name[32];
        snprintf(name, sizeof name, "%s-writer", mechanisms[lane]);
        if (!has_process(root, name))
            return false;
        snprintf(name, sizeof name, "%s-reader", mechanisms[lane]);
        if (!has_process(root, name))
            return false;
    }
    return is_of_type(root, "exchange-shm-ring", "shm") &&
           figure(root, "exchange-shm-filled", "acquisitions") > 0 &&
           is_of_type(root, "exchange-pipe", "pipe") && figure(root, "exchange-pipe", "messages_a_to_b") > 0 &&
           is_of_type(root, "exchange-value-slot", "array") &&
           figure(root, "exchange-value-full", "acquisitions") > 0 &&
           is_of_type(root, "exchange-queue", "queue") && figure(root, "exchange-queue", "gets") > 0 &&
           is_of_type(root, "exchange-dict", "dict") && figure(root, "exchange-dict", "deletes") > 0 &&
           is_of_type(root, "records-per-second", "array") && figure(root, "records-per-second", "length") == LANES &&
           is_of_type(root, "records-moved", "array") && figure(root, "records-moved", "length") == LANES;
}

/* ---- the narration ------------------------------------------------------------------ */

/* The line starting with "exchange: <prefix>" (a pointer into log). */
static const char *narration_line(const char *log, const char *prefix)
{
    char start[128];
    snprintf(start, sizeof start, "exchange: %s", prefix);
    for (const char *line = log; line != NULL && *line;) {
        if (strncmp(line, start, strlen(start)) == 0)
            return line;
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return NULL;
}

/* "exchange: shm   moved 415345 records in ...": the records one pair moved. */
static int64_t records_moved(const char *log, const char *mechanism)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%-5s moved ", mechanism);
    const char *line = narration_line(log, prefix);
    if (line == NULL)
        fail_msg("no \"%s moved N records\" line in:\n%s", mechanism, log);
    long long moved = -1;
    assert_int_equal(sscanf(line + strlen("exchange: ") + strlen(prefix), "%lld records", &moved), 1);
    return moved;
}

/* The measured ranking names each mechanism once, in places 1 .. 5. */
static void assert_ranking_names_all(const char *log)
{
    const char *line = narration_line(log, "ranking measured here: ");
    if (line == NULL)
        fail_msg("no ranking line in:\n%s", log);
    const char *end = strchr(line, '\n');
    size_t length = end != NULL ? (size_t)(end - line) : strlen(line);
    char *ranking = strndup(line, length);
    for (int lane = 0; lane < LANES; lane++) {
        bool placed = false;
        for (int place = 1; place <= LANES; place++) {
            char entry[32];
            snprintf(entry, sizeof entry, "%d. %s (", place, mechanisms[lane]);
            placed = placed || strstr(ranking, entry) != NULL;
        }
        if (!placed)
            fail_msg("%s is not ranked in: %s", mechanisms[lane], ranking);
    }
    free(ranking);
    assert_non_null(narration_line(log, "the book's ranking:    1. shm, 2. pipe, 3. value, 4. queue, 5. dict"));
    assert_true(narration_line(log, "this machine agrees with the book") != NULL ||
                narration_line(log, "this machine disagrees with the book") != NULL);
}

/* ---- the tests ------------------------------------------------------------------------ */

static void test_five_pairs_race_and_every_record_is_counted(void **state)
{
    (void)state;
    const char *session = new_session();
    demo_run run;
    start_exchange(&run, session);

    json_object *root = wait_until_seen(session, race_under_way, "the five pairs racing");
    assert_figure(root, "exchange-shm-ring", "attached", 3);   /* referee, writer, reader */
    json_object_put(root);
    wait_for_output(&run, "s  dict  |");   /* a first round of rate bars */

    /* Traced by default: the readers' figures are in the event log; the hot
     * objects never are, from a racer (the referee's one look at creation
     * may be). */
    root = snapshot(session);
    assert_non_null(root);
    assert_true(events_of(root, "records-per-second", 0) > 0);
    pid_t referee = process_pid(root, "exchange-referee");
    assert_true(referee > 0);
    static const char *const hot[] = { "exchange-shm-free", "exchange-shm-filled", "exchange-pipe",
                                       "exchange-value-slot", "exchange-value-empty",
                                       "exchange-value-full", "exchange-queue", "exchange-dict" };
    for (size_t i = 0; i < sizeof hot / sizeof hot[0]; i++)
        if (events_of(root, hot[i], referee) != 0)
            fail_msg("%s is traced: the racers' operations flood the event log", hot[i]);
    json_object_put(root);

    char *log = finish_demo(&run);
    assert_ranking_names_all(log);
    int64_t moved[LANES], total = 0;
    for (int lane = 0; lane < LANES; lane++) {
        moved[lane] = records_moved(log, mechanisms[lane]);
        assert_true(moved[lane] > 0);
        total += moved[lane];
    }
    free(log);

    /* Afterwards the viewer's figures agree with the readers' counts,
     * exactly: every mechanism carried its records and one end record. */
    root = snapshot(session);
    assert_non_null(root);
    assert_figure(root, "records-moved", "sum", total);
    assert_true(figure(root, "records-per-second", "min") > 0);
    assert_figure(root, "exchange-shm-filled", "acquisitions", moved[0] + 1);
    assert_figure(root, "exchange-shm-free", "acquisitions", moved[0] + 1);
    assert_figure(root, "exchange-shm-ring", "unlinked", 1);
    assert_figure(root, "exchange-shm-ring", "attached", 0);
    assert_figure(root, "exchange-pipe", "messages_a_to_b", moved[1] + 1);
    assert_figure(root, "exchange-pipe", "unread_messages_a_to_b", 0);
    assert_figure(root, "exchange-value-full", "acquisitions", moved[2] + 1);
    assert_figure(root, "exchange-value-empty", "acquisitions", moved[2] + 1);
    assert_figure(root, "exchange-queue", "puts", moved[3] + 1);
    assert_figure(root, "exchange-queue", "gets", moved[3] + 1);
    assert_figure(root, "exchange-queue", "unfinished_tasks", 0);
    assert_figure(root, "exchange-dict", "sets", moved[4] + 1);
    assert_figure(root, "exchange-dict", "deletes", moved[4] + 1);
    assert_figure(root, "exchange-dict", "entries", 0);
    json_object_put(root);
    remove_session(session);
}

/* Listed, and a run of its own with --duration and --quiet: it says
 * nothing, exits 0 and leaves nothing in /dev/shm (the program removes the
 * session it created). */
static void test_listed_and_a_quiet_timed_run_cleans_up(void **state)
{
    (void)state;
    char *list[] = { (char *)SYNCTOP_DEMO_BINARY, (char *)"list", NULL };
    char *out = NULL;
    assert_int_equal(test_run(list, &out, NULL, RUN_TIMEOUT_MS), 0);
    assert_non_null(strstr(out, "\nexchange "));
    free(out);

    const char *session = test_session_new();
    char *quiet[] = { (char *)SYNCTOP_DEMO_BINARY, (char *)"exchange", (char *)"--duration",
                      (char *)"0.5", (char *)"--speed", (char *)"4", (char *)"--quiet",
                      (char *)"--session", (char *)session, NULL };
    char *err = NULL;
    out = NULL;
    int status = test_run(quiet, &out, &err, LESSON_EXIT_TIMEOUT_MS);
    if (status != 0)
        fail_msg("synctop-demo exchange --quiet exited with %d: %s", status, err);
    assert_string_equal(out, "");
    assert_string_equal(err, "");
    free(out);
    free(err);
    assert_int_equal(test_shm_count(session), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_five_pairs_race_and_every_record_is_counted, test_teardown),
        cmocka_unit_test_teardown(test_listed_and_a_quiet_timed_run_cleans_up, test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
