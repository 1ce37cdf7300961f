/* test_demo_more.c - the shared-memory, values, queue, pipe, dict,
 * pipeline, resources and speedup lessons of synctop-demo, as a class runs
 * them.
 *
 * Each test runs one lesson fast (--speed 4) until the test has seen what
 * it looks for and says the time is up (SYNCTOP_DEMO_END_FILE; the leak
 * lesson, which the test only looks at afterwards, for --duration 2), in a
 * session of its own, created by the test beforehand so that it outlives
 * the lesson. While the lesson runs, the built viewer (SYNCTOP_BINARY
 * --once --json, parsed with json-c) must show its objects under their
 * story names with the figures they were created with (the queue "orders"
 * with capacity 8 and puts, the temperatures, the regions and who is
 * attached...) and its processes under theirs. The lesson must exit 0 (its
 * own claim held), and afterwards the viewer must show the figures adding
 * up exactly (every order put was got, every line read went through both
 * queues, the regions were unlinked, the job board is empty...). The leak
 * lesson's regions must show `leaked` 1 after the lesson ended, and
 * `synctop --gc` must remove them from /dev/shm. Every test removes its
 * session at the end and checks that /dev/shm holds nothing of it. And
 * `synctop-demo list` names each of these lessons.
 */
#include "config.h"

#include <dirent.h>
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
#define FAST "--duration", "2", "--speed", "4"
/* No --duration: the lesson runs until finish_demo() says the time is up,
 * so however slow the machine, it still runs while the test looks. */
#define UNTIL_FINISHED "--speed", "4"

/* ---- the session and /dev/shm ------------------------------------------------ */

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

/* Entries of /dev/shm belonging to session: its table (kind NULL) and its
 * data segments, or only the data segments of one kind ("shm", "queue"). */
static int session_segments(const char *session, const char *kind)
{
    char table_name[128];
    snprintf(table_name, sizeof table_name, "synctop-%u-%s", (unsigned)getuid(), session);
    size_t length = strlen(table_name);
    DIR *dir = opendir("/dev/shm");
    if (dir == NULL)
        return 0;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        const char *name = entry->d_name;
        if (strncmp(name, table_name, length) != 0)
            continue;
        if (name[length] == '\0')
            count += kind == NULL;
        else if (name[length] == '.')
            count += kind == NULL || (strncmp(name + length + 1, kind, strlen(kind)) == 0 &&
                                      name[length + 1 + strlen(kind)] == '.');
    }
    closedir(dir);
    return count;
}

/* Remove the session; nothing of it may be left in /dev/shm. */
static void remove_session(const char *session)
{
    st_result result = st_session_remove(session, true);
    assert_true(result == ST_OK || result == ST_ENOENT);
    assert_int_equal(session_segments(session, NULL), 0);
}

/* ---- running the programs --------------------------------------------------- */

/* A lesson running in the background, its output in a file. */
typedef struct demo_run {
    const char *session;
    char log_path[256];
    char end_path[256];   /* without --duration: finish_demo() creates it to end the lesson */
    pid_t pid;
    char *argv[32];
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
    if (run->end_path[0] != '\0')
        setenv("SYNCTOP_DEMO_END_FILE", run->end_path, 1);
    execv(run->argv[0], run->argv);
    return 127;
}

/* Start synctop-demo ARGS... --session SESSION in the background. */
static void start_demo_argv(demo_run *run, const char *session, const char *const *args)
{
    memset(run, 0, sizeof *run);
    run->session = session;
    snprintf(run->log_path, sizeof run->log_path, "/tmp/synctop-test-demo-more-%s.log", session);
    int n = 0;
    run->argv[n++] = (char *)SYNCTOP_DEMO_BINARY;
    for (; args[n - 1] != NULL && n < 28; n++)
        run->argv[n] = (char *)args[n - 1];
    run->argv[n++] = (char *)"--session";
    run->argv[n++] = (char *)session;
    run->argv[n] = NULL;
    bool has_duration = false;
    for (int i = 1; i < n; i++)
        has_duration |= strcmp(run->argv[i], "--duration") == 0;
    if (!has_duration) {
        snprintf(run->end_path, sizeof run->end_path, "/tmp/synctop-test-demo-more-%s.end", session);
        unlink(run->end_path);
    }
    run->pid = test_spawn(exec_demo, run);
    assert_true(run->pid > 0);
}

#define start_demo(run, session, ...) \
    start_demo_argv((run), (session), (const char *const[]){ __VA_ARGS__, NULL })

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

/* The lesson must exit 0 (its claim held); shows its output when not.
 * Returns the output (caller frees). */
static char *finish_demo(demo_run *run)
{
    if (run->end_path[0] != '\0') {
        /* The time is up: the lesson finishes its round as at the end of
         * --duration (SYNCTOP_DEMO_END_FILE). */
        int end = open(run->end_path, O_WRONLY | O_CREAT, 0600);
        assert_true(end >= 0);
        close(end);
    }
    int status = test_wait(run->pid, LESSON_EXIT_TIMEOUT_MS);
    if (run->end_path[0] != '\0')
        unlink(run->end_path);
    char *log = read_text(run->log_path);
    unlink(run->log_path);
    if (status != 0)
        fail_msg("synctop-demo %s exited with %d; its output:\n%s", run->argv[1], status,
                 log != NULL ? log : "(none)");
    assert_non_null(log);
    assert_null(strstr(log, "FAILED"));
    return log;
}

typedef struct log_goal {
    const demo_run *run;
    const char *text;
} log_goal;

static bool log_shows(void *arg)
{
    const log_goal *goal = arg;
    char *log = read_text(goal->run->log_path);
    bool shows = log != NULL && strstr(log, goal->text) != NULL;
    free(log);
    return shows;
}

/* Wait until the running lesson has written text to its output. */
static void wait_for_output(const demo_run *run, const char *text)
{
    log_goal goal = { run, text };
    if (!test_wait_until(log_shows, &goal, SEEN_TIMEOUT_MS))
        fail_msg("synctop-demo %s never wrote \"%s\"", run->argv[1], text);
}

/* ---- what the viewer shows -------------------------------------------------- */

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

/* A live process called name. */
static bool has_process(json_object *root, const char *name)
{
    json_object *items = member(root, "processes");
    size_t count = items != NULL ? json_object_array_length(items) : 0;
    for (size_t i = 0; i < count; i++) {
        json_object *item = json_object_array_get_idx(items, i);
        if (strcmp(text_member(item, "name"), name) == 0 &&
            json_object_get_boolean(member(item, "alive")))
            return true;
    }
    return false;
}

/* A figure of an object; -1 when the object or the field is missing. */
static int64_t figure(json_object *root, const char *object, const char *field)
{
    json_object *value = member(find_object(root, object), field);
    return value != NULL ? json_object_get_int64(value) : -1;
}

static double figure_double(json_object *root, const char *object, const char *field)
{
    json_object *value = member(find_object(root, object), field);
    return value != NULL ? json_object_get_double(value) : -1.0;
}

/* The value of field of object must be `expected` (with the snapshot in
 * the message when not). */
static void assert_figure(json_object *root, const char *object, const char *field,
                          int64_t expected)
{
    int64_t actual = figure(root, object, field);
    if (actual != expected)
        fail_msg("%s.%s is %lld, expected %lld, in %s", object, field, (long long)actual,
                 (long long)expected,
                 json_object_to_json_string_ext(find_object(root, object), JSON_C_TO_STRING_PLAIN));
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

/* ---- shm-split ---------------------------------------------------------------- */

static bool split_at_work(json_object *root)
{
    return figure(root, "numbers", "attached") == 3 && has_process(root, "splitter") &&
           has_process(root, "doubler-1") && has_process(root, "doubler-2");
}

static void test_shm_split_shares_one_region_and_unlinks_it(void **state)
{
    (void)state;
    const char *session = new_session();
    demo_run run;
    start_demo(&run, session, "shm-split", UNTIL_FINISHED, "--workers", "2", "--deposits", "50000");

    /* The splitter and both doublers are attached to one region. */
    json_object *root = wait_until_seen(session, split_at_work, "numbers attached by 3");
    assert_string_equal(text_member(find_object(root, "numbers"), "type"), "shm");
    assert_figure(root, "numbers", "size_bytes", 2 * 50000 * 8);
    assert_figure(root, "numbers", "unlinked", 0);
    json_object_put(root);

    free(finish_demo(&run));
    root = snapshot(session);
    assert_non_null(root);
    assert_figure(root, "numbers", "unlinked", 1);
    assert_figure(root, "numbers", "attached", 0);
    assert_figure(root, "numbers", "leaked", 0);
    json_object_put(root);
    assert_int_equal(session_segments(session, "shm"), 0);
    remove_session(session);
}

/* ---- image -------------------------------------------------------------------- */

static bool darkroom_at_work(json_object *root)
{
    return figure(root, "photo-rgb", "attached") == 5 &&
           figure(root, "photo-gray", "attached") == 5 && has_process(root, "darkroom") &&
           has_process(root, "grayscaler-4");
}

static void test_image_is_converted_in_shared_memory(void **state)
{
    (void)state;
    const char *session = new_session();
    demo_run run;
    start_demo(&run, session, "image", UNTIL_FINISHED, "--workers", "4");

    json_object *root = wait_until_seen(session, darkroom_at_work,
                                        "photo-rgb and photo-gray attached by 5");
    wait_for_output(&run, "identical to the serial result");   /* a whole picture converted */
    assert_figure(root, "photo-rgb", "size_bytes", 1000 * 1000 * 3);
    assert_figure(root, "photo-gray", "size_bytes", 1000 * 1000);
    json_object_put(root);

    char *log = finish_demo(&run);
    assert_non_null(strstr(log, "identical to the serial result"));
    free(log);
    root = snapshot(session);
    assert_non_null(root);
    assert_figure(root, "photo-rgb", "unlinked", 1);
    assert_figure(root, "photo-gray", "unlinked", 1);
    json_object_put(root);
    assert_int_equal(session_segments(session, "shm"), 0);
    remove_session(session);
}

/* ---- leak ----------------------------------------------------------------------- */

static void test_leaked_region_is_flagged_and_collected(void **state)
{
    (void)state;
    const char *session = new_session();
    demo_run run;
    start_demo(&run, session, "leak", FAST);
    char *log = finish_demo(&run);
    char command[128];
    snprintf(command, sizeof command, "synctop --gc -s %s", session);
    if (strstr(log, command) == NULL)
        fail_msg("the lesson does not print '%s':\n%s", command, log);
    free(log);

    /* After the lesson: the careless writer's regions are leaked, the tidy
     * writer's region is not. */
    json_object *root = snapshot(session);
    assert_non_null(root);
    assert_string_equal(text_member(find_object(root, "forgotten-notes-1"), "type"), "shm");
    assert_figure(root, "forgotten-notes-1", "leaked", 1);
    assert_figure(root, "forgotten-notes-1", "unlinked", 0);
    assert_figure(root, "forgotten-notes-1", "attached", 0);
    assert_figure(root, "forgotten-notes-1", "size_bytes", 256 * 1024);
    assert_figure(root, "tidy-notes", "unlinked", 1);
    assert_figure(root, "tidy-notes", "leaked", 0);
    int leaked = 0;
    for (int i = 1; i <= 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "forgotten-notes-%d", i);
        leaked += figure(root, name, "leaked") == 1;
    }
    json_object_put(root);
    assert_true(leaked >= 1);
    assert_int_equal(session_segments(session, "shm"), leaked);

    /* synctop --gc removes them. */
    char *argv[] = { (char *)SYNCTOP_BINARY, (char *)"--gc", (char *)"-s", (char *)session, NULL };
    char *out = NULL, *err = NULL;
    int status = test_run(argv, &out, &err, RUN_TIMEOUT_MS);
    if (status != 0 || strstr(out, "forgotten-notes-1") == NULL)
        fail_msg("synctop --gc exited %d:\n%s\n%s", status, out, err);
    free(out);
    free(err);
    assert_int_equal(session_segments(session, "shm"), 0);
    root = snapshot(session);
    assert_non_null(root);
    assert_figure(root, "forgotten-notes-1", "leaked", 0);
    assert_figure(root, "forgotten-notes-1", "collected", 1);
    json_object_put(root);
    remove_session(session);
}

/* ---- values --------------------------------------------------------------------- */

static bool station_at_work(json_object *root)
{
    return figure(root, "visitors", "writes") > 0 &&
           figure(root, "temperature-kitchen", "writes") > 0 &&
           figure(root, "temperature-garden", "writes") > 0 &&
           figure(root, "temperature-cellar", "writes") > 0 &&
           figure(root, "temperature-history", "writes") > 0 && has_process(root, "statistics") &&
           has_process(root, "turnstile-2") && has_process(root, "sensor-cellar");
}

static void test_values_count_and_measure(void **state)
{
    (void)state;
    const char *session = new_session();
    demo_run run;
    start_demo(&run, session, "values", UNTIL_FINISHED, "--workers", "2");

    json_object *root = wait_until_seen(session, station_at_work, "the values being written");
    wait_for_output(&run, "statistics: visitors");   /* printed now and then while it runs */
    assert_string_equal(text_member(find_object(root, "visitors"), "value_type"), "int64");
    assert_string_equal(text_member(find_object(root, "temperature-kitchen"), "value_type"),
                        "double");
    double kitchen = figure_double(root, "temperature-kitchen", "value");
    assert_true(kitchen > 0.0 && kitchen < 40.0);
    assert_figure(root, "temperature-history", "length", 60);
    assert_string_equal(text_member(find_object(root, "temperature-history"), "element_type"),
                        "double");
    json_object_put(root);

    char *log = finish_demo(&run);
    assert_non_null(strstr(log, "statistics: visitors"));
    assert_non_null(strstr(log, "none lost"));
    free(log);
    /* Every increment is one locked set: the count is exact. */
    root = snapshot(session);
    assert_non_null(root);
    int64_t visitors = figure(root, "visitors", "value");
    assert_true(visitors > 0);
    assert_figure(root, "visitors", "writes", visitors);
    json_object_put(root);
    remove_session(session);
}

/* ---- queue ---------------------------------------------------------------------- */

static bool shop_at_work(json_object *root)
{
    return figure(root, "orders", "puts") > 3 && figure(root, "orders", "gets") > 0 &&
           has_process(root, "producer-1") && has_process(root, "producer-3") &&
           has_process(root, "consumer-1") && has_process(root, "consumer-2") &&
           has_process(root, "inspector") && has_process(root, "shop");
}

static void test_queue_accounts_for_every_order(void **state)
{
    (void)state;
    const char *session = new_session();
    demo_run run;
    start_demo(&run, session, "queue", UNTIL_FINISHED);

    json_object *root = wait_until_seen(session, shop_at_work, "orders put and got");
    assert_string_equal(text_member(find_object(root, "orders"), "type"), "queue");
    assert_figure(root, "orders", "capacity", 8);
    assert_true(figure(root, "orders", "depth") <= 8);
    json_object_put(root);

    char *log = finish_demo(&run);
    assert_non_null(strstr(log, "every order got exactly once"));
    free(log);
    /* Every order put (and every closing notice) was got and done. */
    root = snapshot(session);
    assert_non_null(root);
    int64_t puts = figure(root, "orders", "puts");
    assert_true(puts > 3);
    assert_figure(root, "orders", "gets", puts);
    assert_figure(root, "orders", "depth", 0);
    assert_figure(root, "orders", "unfinished_tasks", 0);
    assert_true(figure(root, "orders", "high_water") <= 8);
    json_object_put(root);
    remove_session(session);
}

/* ---- pipe ----------------------------------------------------------------------- */

static bool workbench_busy(json_object *root)
{
    return figure(root, "workbench", "messages_a_to_b") > 0 &&
           figure(root, "workbench", "messages_b_to_a") > 0 && has_process(root, "foreman") &&
           has_process(root, "apprentice");
}

static void test_pipe_carries_instructions_and_reports(void **state)
{
    (void)state;
    const char *session = new_session();
    demo_run run;
    start_demo(&run, session, "pipe", UNTIL_FINISHED);

    json_object *root = wait_until_seen(session, workbench_busy, "messages both ways");
    assert_string_equal(text_member(find_object(root, "workbench"), "type"), "pipe");
    assert_figure(root, "workbench", "capacity", 4);
    json_object_put(root);

    char *log = finish_demo(&run);
    assert_non_null(strstr(log, "every result right"));
    free(log);
    /* Per job: one instruction; ten reports and a result back. Then "go
     * home" and "bye". Nothing left unread. */
    root = snapshot(session);
    assert_non_null(root);
    int64_t instructions = figure(root, "workbench", "messages_a_to_b");
    assert_true(instructions >= 2);
    assert_figure(root, "workbench", "messages_b_to_a", 11 * (instructions - 1) + 1);
    assert_figure(root, "workbench", "unread_messages_a_to_b", 0);
    assert_figure(root, "workbench", "unread_messages_b_to_a", 0);
    json_object_put(root);
    remove_session(session);
}

/* ---- dict ----------------------------------------------------------------------- */

static bool board_busy(json_object *root)
{
    return figure(root, "jobs", "entries") > 0 && figure(root, "jobs", "deletes") > 0 &&
           has_process(root, "dispatcher") && has_process(root, "clerk-3") &&
           has_process(root, "board-monitor");
}

static void test_dict_jobs_are_done_once(void **state)
{
    (void)state;
    const char *session = new_session();
    demo_run run;
    start_demo(&run, session, "dict", UNTIL_FINISHED, "--workers", "3");

    json_object *root = wait_until_seen(session, board_busy, "jobs posted and collected");
    assert_string_equal(text_member(find_object(root, "jobs"), "type"), "dict");
    assert_figure(root, "jobs", "capacity", 64);
    json_object_put(root);

    char *log = finish_demo(&run);
    assert_non_null(strstr(log, "each claimed exactly once"));
    free(log);
    /* The board is empty; each job was set three times (posted, claimed,
     * done) and deleted once. */
    root = snapshot(session);
    assert_non_null(root);
    int64_t deletes = figure(root, "jobs", "deletes");
    assert_true(deletes > 0);
    assert_figure(root, "jobs", "entries", 0);
    assert_figure(root, "jobs", "sets", 3 * deletes);
    json_object_put(root);
    remove_session(session);
}

/* ---- pipeline ------------------------------------------------------------------- */

static bool pipeline_flowing(json_object *root)
{
    return figure(root, "raw-lines", "gets") > 0 && figure(root, "processed-lines", "gets") > 0 &&
           has_process(root, "reader") && has_process(root, "processor-2") &&
           has_process(root, "writer");
}

static void test_pipeline_passes_every_line_once(void **state)
{
    (void)state;
    const char *session = new_session();
    demo_run run;
    start_demo(&run, session, "pipeline", UNTIL_FINISHED, "--workers", "2");

    json_object *root = wait_until_seen(session, pipeline_flowing, "lines through both queues");
    assert_figure(root, "raw-lines", "capacity", 16);
    assert_figure(root, "processed-lines", "capacity", 16);
    json_object_put(root);

    char *log = finish_demo(&run);
    assert_non_null(strstr(log, "every line exactly once"));
    free(log);
    /* Lines and the two processors' end markers: all through both queues. */
    root = snapshot(session);
    assert_non_null(root);
    int64_t puts = figure(root, "raw-lines", "puts");
    assert_true(puts > 2);
    assert_figure(root, "raw-lines", "gets", puts);
    assert_figure(root, "processed-lines", "puts", puts);
    assert_figure(root, "processed-lines", "gets", puts);
    assert_figure(root, "raw-lines", "unfinished_tasks", 0);
    assert_figure(root, "processed-lines", "unfinished_tasks", 0);
    json_object_put(root);
    remove_session(session);
}

/* ---- resources ------------------------------------------------------------------ */

static bool memory_hog_holding(json_object *root)
{
    json_object *items = member(root, "processes");
    size_t count = items != NULL ? json_object_array_length(items) : 0;
    for (size_t i = 0; i < count; i++) {
        json_object *item = json_object_array_get_idx(items, i);
        if (strcmp(text_member(item, "name"), "memory-hog") == 0)
            return json_object_get_int64(member(item, "rss_bytes")) >= (150ll << 20) &&
                   has_process(root, "cpu-hog") && has_process(root, "io-hog") &&
                   figure(root, "io-hog-bytes", "value") >= 1 << 20 &&
                   figure(root, "cpu-hog-work", "writes") > 0;
    }
    return false;
}

static void test_resources_show_on_the_meters(void **state)
{
    (void)state;
    const char *session = new_session();
    demo_run run;
    /* memory-hog holds its 200 MiB until the lesson ends (the lesson's
     * test hook), and the lesson runs until the test has seen the peak and
     * finish_demo() says the time is up: no peak to miss. */
    assert_int_equal(setenv("SYNCTOP_DEMO_HOLD_MEMORY", "1", 1), 0);
    start_demo(&run, session, "resources", "--speed", "2");
    unsetenv("SYNCTOP_DEMO_HOLD_MEMORY");

    json_object *root = wait_until_seen(session, memory_hog_holding,
                                        "memory-hog above 150 MiB, io-hog past 1 MiB");
    assert_non_null(find_object(root, "cpu-hog-work"));
    assert_non_null(find_object(root, "memory-hog-bytes"));
    assert_non_null(find_object(root, "io-hog-bytes"));
    json_object_put(root);

    free(finish_demo(&run));
    root = snapshot(session);
    assert_non_null(root);
    assert_true(figure(root, "io-hog-bytes", "value") >= 1 << 20);
    assert_true(figure(root, "cpu-hog-work", "writes") > 0);
    json_object_put(root);
    remove_session(session);
}

/* ---- speedup -------------------------------------------------------------------- */

static bool first_round_timed(json_object *root)
{
    return figure(root, "serial-seconds", "writes") > 0 &&
           figure(root, "speedup-by-workers", "writes") > 0 && has_process(root, "timekeeper") &&
           has_process(root, "cruncher-1");
}

static void test_speedup_is_measured_for_each_worker_count(void **state)
{
    (void)state;
    const char *session = new_session();
    demo_run run;
    start_demo(&run, session, "speedup", UNTIL_FINISHED);

    json_object *root = wait_until_seen(session, first_round_timed, "a timed round");
    wait_for_output(&run, "round 1   serial");   /* the first round is complete */
    int64_t length = figure(root, "speedup-by-workers", "length");
    assert_true(length >= 1);
    assert_figure(root, "efficiency-by-workers", "length", length);
    assert_true(figure_double(root, "serial-seconds", "value") > 0.0);
    json_object_put(root);

    char *log = finish_demo(&run);
    assert_non_null(strstr(log, "every parallel run computed exactly the serial result"));
    free(log);
    remove_session(session);
}

/* ---- list ----------------------------------------------------------------------- */

static void test_list_names_these_lessons(void **state)
{
    (void)state;
    static const char *const lessons[] = { "shm-split", "image", "leak", "values", "queue",
                                           "pipe", "dict", "pipeline", "resources", "speedup" };
    char *argv[] = { (char *)SYNCTOP_DEMO_BINARY, (char *)"list", NULL };
    char *out = NULL;
    assert_int_equal(test_run(argv, &out, NULL, RUN_TIMEOUT_MS), 0);
    for (size_t i = 0; i < sizeof lessons / sizeof lessons[0]; i++) {
        char line_start[32];
        snprintf(line_start, sizeof line_start, "\n%s ", lessons[i]);
        if (strstr(out, line_start) == NULL)
            fail_msg("'%s' missing from synctop-demo list:\n%s", lessons[i], out);
    }
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_list_names_these_lessons, test_teardown),
        cmocka_unit_test_teardown(test_shm_split_shares_one_region_and_unlinks_it, test_teardown),
        cmocka_unit_test_teardown(test_image_is_converted_in_shared_memory, test_teardown),
        cmocka_unit_test_teardown(test_leaked_region_is_flagged_and_collected, test_teardown),
        cmocka_unit_test_teardown(test_values_count_and_measure, test_teardown),
        cmocka_unit_test_teardown(test_queue_accounts_for_every_order, test_teardown),
        cmocka_unit_test_teardown(test_pipe_carries_instructions_and_reports, test_teardown),
        cmocka_unit_test_teardown(test_dict_jobs_are_done_once, test_teardown),
        cmocka_unit_test_teardown(test_pipeline_passes_every_line_once, test_teardown),
        cmocka_unit_test_teardown(test_resources_show_on_the_meters, test_teardown),
        cmocka_unit_test_teardown(test_speedup_is_measured_for_each_worker_count, test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
