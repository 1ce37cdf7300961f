/* test_preload.c - watching unmodified programs through the interposition
 * library (libsynctop-preload.so) and `synctop run`.
 *
 * The programs watched know nothing of synctop: tests/preload_workload.c
 * (C: process-shared pthread mutexes, condition variables, named and
 * unnamed semaphores, in several processes) and the Python multiprocessing
 * scripts in tests/python/. Each workload makes its contention certain and
 * pauses where the test wants to look (it waits for files the test creates
 * in a work directory), so every figure is asserted exactly or with a
 * bound that cannot fail by chance: acquisition counts, holders, waiters,
 * which process is blocked on what, queue depths, peaks.
 *
 * The C workloads are read through the model API; the Python ones the way
 * a user reads them, with `synctop --once --json` while they run under
 * `synctop run`. This file builds two programs: tests/test_preload (the C
 * workloads and synctop run itself) and, with PRELOAD_TEST_PYTHON,
 * tests/test_preload_python (skipped, saying so, where python3 is
 * missing). Both are skipped in a sanitizer build (see below).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <synctop/synctop.h>

#include "helpers.h"

/* Deadlines, not delays: a passing test goes on as soon as what it waits
 * for shows. Generous, because Python interpreters start slowly on a busy
 * machine (stage load of quickstart runs these tests beside CPU burners). */
#define WAIT_MS 60000
#define RUN_TIMEOUT_MS 120000

/* ---- skipping ---------------------------------------------------------- */

/* A whole program is skipped ("1..0 # SKIP why", which automake's TAP
 * driver counts as a skip): in a sanitizer build, where the preload is
 * ASan-instrumented and ASan refuses to be preloaded into a program that is
 * not; and, for the Python half (built from this file as
 * tests/test_preload_python), where python3 is missing. (cmocka 1.1.5's
 * own skip() prints "not ok # SKIP", which that driver counts as a
 * failure.) */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED_BUILD 1
#endif
#endif

#ifdef PRELOAD_TEST_PYTHON
static char python_path[4096];
static int python_state;   /* 0 unknown, 1 usable, -1 absent */

/* python3 from PATH, if it is there and has multiprocessing's semaphores. */
static const char *python3(void)
{
    if (python_state == 0) {
        python_state = -1;
        const char *path = getenv("PATH");
        char dirs[8192];
        snprintf(dirs, sizeof dirs, "%s", path ? path : "/usr/bin:/bin");
        for (char *save = NULL, *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
            snprintf(python_path, sizeof python_path, "%s/python3", dir);
            if (access(python_path, X_OK) == 0)
                break;
            python_path[0] = '\0';
        }
        if (python_path[0]) {
            char *argv[] = { python_path, (char *)"-c", (char *)"import multiprocessing.synchronize", NULL };
            if (test_run(argv, NULL, NULL, RUN_TIMEOUT_MS) == 0)
                python_state = 1;
        }
    }
    return python_state == 1 ? python_path : NULL;
}
#endif

/* ---- work directories ---------------------------------------------------- */

static char workdir[256];

static const char *workdir_new(void)
{
    snprintf(workdir, sizeof workdir, "/tmp/synctop-preload-XXXXXX");
    assert_non_null(mkdtemp(workdir));
    return workdir;
}

static void workdir_remove(void)
{
    if (!workdir[0])
        return;
    DIR *dir = opendir(workdir);
    if (dir) {
        struct dirent *entry;
        char path[512];
        while ((entry = readdir(dir)) != NULL) {
            if (entry->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", workdir, entry->d_name);
            unlink(path);
        }
        closedir(dir);
    }
    rmdir(workdir);
    workdir[0] = '\0';
}

static const char *work_file(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", workdir, name);
    return path;
}

static void touch(const char *name)
{
    int fd = open(work_file(name), O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);
}

static bool exists(const char *name)
{
    return access(work_file(name), F_OK) == 0;
}

static void wait_for_file(const char *name)
{
    double deadline = test_now() + WAIT_MS / 1000.0;
    while (!exists(name) && test_now() < deadline)
        test_sleep_ms(10);   /* a poll interval, not synchronization */
    assert_true(exists(name));
}

/* A file and a named semaphore a test made outside its work directory
 * (removed by the teardown, whatever happened). */
static char stray_file[256];
static char stray_semaphore[96];

static int teardown(void **state)
{
    test_teardown(state);
    workdir_remove();
    if (stray_file[0])
        unlink(stray_file);
    if (stray_semaphore[0])
        sem_unlink(stray_semaphore);
    stray_file[0] = stray_semaphore[0] = '\0';
    return 0;
}

/* ---- running the workloads ------------------------------------------------ */

typedef struct command {
    char *argv[16];
    const char *preload;       /* LD_PRELOAD for the program, or NULL */
    const char *session;       /* SYNCTOP_SESSION, or NULL: the test's */
} command;

static int exec_command(void *arg)
{
    command *c = arg;
    if (c->preload)
        setenv("LD_PRELOAD", c->preload, 1);
    if (c->session)
        setenv("SYNCTOP_SESSION", c->session, 1);
    setenv("SYNCTOP_PRELOAD_LIBRARY", SYNCTOP_PRELOAD_BUILT, 1);
    setenv("PYTHONDONTWRITEBYTECODE", "1", 1);   /* no __pycache__ in the source tree */
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDOUT_FILENO);
    }
    execv(c->argv[0], c->argv);
    _exit(127);
}

#define WORKLOAD(...) ((command){ .argv = { (char *)PRELOAD_WORKLOAD, __VA_ARGS__, NULL }, \
                                  .preload = SYNCTOP_PRELOAD_BUILT })

static pid_t start(command c)
{
    static command held;   /* test_spawn's child reads it after fork */
    held = c;
    pid_t pid = test_spawn(exec_command, &held);
    assert_true(pid > 0);
    return pid;
}

#ifndef PRELOAD_TEST_PYTHON
/* Run a command to its end with LD_PRELOAD (through env), capturing output. */
static int run_preloaded(const char *session, char *const args[], char **out, char **err)
{
    char preload[600], session_env[128];
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", SYNCTOP_PRELOAD_BUILT);
    snprintf(session_env, sizeof session_env, "SYNCTOP_SESSION=%s", session);
    char *argv[24];
    int n = 0;
    argv[n++] = (char *)"/usr/bin/env";
    argv[n++] = preload;
    argv[n++] = session_env;
    for (int i = 0; args[i] && n < 23; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return test_run(argv, out, err, RUN_TIMEOUT_MS);
}

/* ---- reading the session through the model ------------------------------ */

typedef struct watcher {
    st_table *table;
    st_model *model;
} watcher;

static watcher watch;

static int teardown_watch(void **state)
{
    teardown(state);
    st_model_free(watch.model);
    st_table_close(watch.table);
    watch = (watcher){ 0 };
    return 0;
}

/* Attach to the session (once the watched program has created it) and refresh. */
static void refresh(const char *session)
{
    if (!watch.table) {
        double deadline = test_now() + WAIT_MS / 1000.0;
        while (st_table_attach_readonly(session, &watch.table) != ST_OK && test_now() < deadline)
            test_sleep_ms(10);   /* a poll interval, not synchronization */
        assert_non_null(watch.table);
        assert_int_equal(st_model_new(&watch.model), ST_OK);
    }
    assert_int_equal(st_model_refresh(watch.model, watch.table), ST_OK);
}

static const st_object_view *object_of_type(const char *type)
{
    const st_object_view *found = NULL;
    for (size_t i = 0; i < st_model_object_count(watch.model); i++) {
        const st_object_view *object = st_model_object(watch.model, i);
        if (strcmp(object->type_name, type) == 0) {
            assert_null(found);   /* exactly one */
            found = object;
        }
    }
    return found;
}

static int64_t field(const st_object_view *object, const char *name)
{
    assert_non_null(object);
    const st_field *f = st_object_field(object, name);
    if (!f)
        fail_msg("object '%s' has no field '%s'", object->name, name);
    return f->kind == ST_VALUE_U64 ? (int64_t)f->value.u64 : f->value.i64;
}

static int blocked_on(const st_object_view *object, st_operation op)
{
    int count = 0;
    for (size_t i = 0; i < st_model_process_count(watch.model); i++) {
        const st_process_view *process = st_model_process(watch.model, i);
        if (process->alive && process->blocked && process->blocked_object == object->index &&
            process->blocked_op == op)
            count++;
    }
    return count;
}

static int registered_processes(void)
{
    return (int)st_model_process_count(watch.model);
}

/* Refresh until the object of that type has `count` processes blocked on it. */
static const st_object_view *wait_blocked(const char *session, const char *type, st_operation op, int count)
{
    double deadline = test_now() + WAIT_MS / 1000.0;
    for (;;) {
        refresh(session);
        const st_object_view *object = object_of_type(type);
        if (object && blocked_on(object, op) == count)
            return object;
        if (test_now() > deadline)
            fail_msg("no %s with %d processes blocked on it (%s) within %d ms", type, count,
                     st_operation_name(op), WAIT_MS);
        test_sleep_ms(10);   /* a poll interval, not synchronization */
    }
}

/* ---- C programs ----------------------------------------------------------- */

static void test_mutex_counts_and_contention(void **state)
{
    (void)state;
    const char *session = test_session_new();
    workdir_new();
    pid_t program = start(WORKLOAD("mutex", "4", "5000", (char *)work_file("go")));
    /* The parent holds the mutex; all 4 children block on it. */
    const st_object_view *mutex = wait_blocked(session, "lock", ST_OP_ACQUIRE, 4);
    assert_int_equal(field(mutex, "holder"), program);
    assert_int_equal(field(mutex, "waiters"), 4);
    assert_int_equal(field(mutex, "acquisitions"), 1);
    assert_non_null(strstr(mutex->name, "mutex 0x"));
    assert_string_equal(st_object_field(mutex, "origin")->value.text, "pthread_mutex");
    touch("go");
    assert_int_equal(test_wait(program, WAIT_MS), 0);   /* its counter is exact too */
    refresh(session);
    mutex = object_of_type("lock");
    assert_int_equal(field(mutex, "acquisitions"), 4 * 5000 + 1);
    assert_true(field(mutex, "contentions") >= 4);
    assert_true(field(mutex, "wait_ns_total") > 0);
    assert_int_equal(field(mutex, "holder"), 0);
    assert_int_equal(field(mutex, "waiters"), 0);
    assert_int_equal(registered_processes(), 5);
}

static void test_mutex_in_a_file_mapped_by_unrelated_processes(void **state)
{
    (void)state;
    const char *session = test_session_new();
    workdir_new();
    char *path = stray_file;
    snprintf(path, sizeof stray_file, "/dev/shm/%s-mutexfile", session);
    pid_t program = start(WORKLOAD("mutex-file", path, "3", "2000", (char *)work_file("go")));
    /* Children exec'd: they map the file at their own addresses, yet find
     * the one object by the file's identity. */
    const st_object_view *mutex = wait_blocked(session, "lock", ST_OP_ACQUIRE, 3);
    assert_non_null(strstr(mutex->name, "-mutexfile+0x40"));
    touch("go");
    assert_int_equal(test_wait(program, WAIT_MS), 0);
    refresh(session);
    mutex = object_of_type("lock");
    assert_int_equal(field(mutex, "acquisitions"), 3 * 2000 + 1);
    assert_true(field(mutex, "contentions") >= 3);
}

static void test_condition_variable(void **state)
{
    (void)state;
    const char *session = test_session_new();
    workdir_new();
    pid_t program = start(WORKLOAD("cond", "3", (char *)work_file("go")));
    const st_object_view *cond = wait_blocked(session, "condition", ST_OP_WAIT, 3);
    assert_int_equal(field(cond, "waiters"), 3);
    assert_int_equal(field(cond, "wakeups"), 0);
    /* The waiters let the mutex go while they wait. */
    assert_int_equal(field(object_of_type("lock"), "holder"), 0);
    touch("go");
    assert_int_equal(test_wait(program, WAIT_MS), 0);
    refresh(session);
    cond = object_of_type("condition");
    assert_int_equal(field(cond, "waiters"), 0);
    assert_int_equal(field(cond, "wakeups"), 3);
    assert_int_equal(field(cond, "notify_alls"), 1);
    assert_int_equal(field(cond, "notifies"), 0);
    /* Each child: its lock and the re-take after its wait; the parent's lock. */
    assert_int_equal(field(object_of_type("lock"), "acquisitions"), 3 * 2 + 1);
}

static void test_named_semaphore_across_exec(void **state)
{
    (void)state;
    const char *session = test_session_new();
    workdir_new();
    char *name = stray_semaphore, object_name[128];
    snprintf(name, sizeof stray_semaphore, "/%s-sem", session);
    snprintf(object_name, sizeof object_name, "sem %s", name);
    pid_t program = start(WORKLOAD("sem-named", name, "3", "1000", (char *)work_file("go")));
    const st_object_view *sem = wait_blocked(session, "semaphore", ST_OP_ACQUIRE, 3);
    assert_string_equal(sem->name, object_name);
    assert_int_equal(field(sem, "value"), 0);
    assert_int_equal(field(sem, "in_use"), 2);
    assert_int_equal(field(sem, "waiters"), 3);
    touch("go");
    assert_int_equal(test_wait(program, WAIT_MS), 0);
    refresh(session);
    sem = object_of_type("semaphore");
    assert_int_equal(field(sem, "acquisitions"), 3 * 1000 + 2);
    assert_int_equal(field(sem, "releases"), 3 * 1000 + 2);
    assert_int_equal(field(sem, "value"), 2);
    assert_int_equal(field(sem, "initial"), 2);
    assert_int_equal(field(sem, "peak_in_use"), 2);
    assert_true(field(sem, "contentions") >= 3);
}

static void test_unnamed_semaphore(void **state)
{
    (void)state;
    const char *session = test_session_new();
    workdir_new();
    pid_t program = start(WORKLOAD("sem-unnamed", "3", "1000", (char *)work_file("go")));
    const st_object_view *sem = wait_blocked(session, "semaphore", ST_OP_ACQUIRE, 3);
    assert_non_null(strstr(sem->name, "(main)"));
    assert_string_equal(st_object_field(sem, "origin")->value.text, "sem_init");
    touch("go");
    assert_int_equal(test_wait(program, WAIT_MS), 0);
    refresh(session);
    sem = object_of_type("semaphore");
    assert_int_equal(field(sem, "acquisitions"), 3 * 1000 + 1);
    assert_int_equal(field(sem, "value"), 1);
    assert_int_equal(field(sem, "peak_in_use"), 1);
    assert_true(field(sem, "contentions") >= 3);
}

static void test_deadlock_between_two_programs_processes(void **state)
{
    (void)state;
    const char *session = test_session_new();
    workdir_new();
    start(WORKLOAD("deadlock", (char *)work_file("ready")));
    wait_for_file("ready");
    double deadline = test_now() + WAIT_MS / 1000.0;
    do {
        refresh(session);
        if (st_model_deadlock_count(watch.model) == 1)
            break;
        test_sleep_ms(10);   /* a poll interval, not synchronization */
    } while (test_now() < deadline);
    assert_int_equal(st_model_deadlock_count(watch.model), 1);
    const st_deadlock_view *cycle = st_model_deadlock(watch.model, 0);
    assert_int_equal(cycle->length, 2);
    assert_non_null(strstr(cycle->locks[0], "mutex 0x"));
    assert_non_null(strstr(cycle->locks[1], "mutex 0x"));
}

/* Every call returns what libc returns, with the same errno. */
static void test_behaviour_unchanged(void **state)
{
    (void)state;
    const char *session = test_session_new();
    char *plain_out = NULL, *watched_out = NULL;
    char *args[] = { (char *)PRELOAD_WORKLOAD, (char *)"semantics", NULL };
    assert_int_equal(test_run(args, &plain_out, NULL, RUN_TIMEOUT_MS), 0);
    assert_int_equal(run_preloaded(session, args, &watched_out, NULL), 0);
    assert_string_equal(watched_out, plain_out);
    assert_non_null(strstr(plain_out, "robust lock after death rc=EOWNERDEAD"));
    free(plain_out);
    free(watched_out);
    refresh(session);
    assert_true(st_model_object_count(watch.model) >= 6);   /* and it was watched */
}

/* Private objects are not watched: the program never joins the session. */
static void test_private_objects_ignored(void **state)
{
    (void)state;
    const char *session = test_session_new();
    char *args[] = { (char *)PRELOAD_WORKLOAD, (char *)"private", (char *)"20000", NULL };
    assert_int_equal(run_preloaded(session, args, NULL, NULL), 0);
    st_table *table = NULL;
    assert_int_equal(st_table_attach_readonly(session, &table), ST_ENOENT);
}

/* No table to be had: the program runs on, with one warning. */
static void test_unavailable_session_warns_once(void **state)
{
    (void)state;
    test_session_new();
    workdir_new();
    touch("go");
    char *err = NULL;
    char *args[] = { (char *)PRELOAD_WORKLOAD, (char *)"mutex", (char *)"3", (char *)"1000",
                     (char *)work_file("go"), NULL };
    assert_int_equal(run_preloaded("not/a/session", args, NULL, &err), 0);
    const char *first = strstr(err, "synctop-preload");
    assert_non_null(first);
    assert_null(strstr(first + 1, "synctop-preload"));
    assert_non_null(strstr(err, "unobserved"));
    free(err);
}

/* A full object table: objects past it go unwatched, one warning. */
static void test_full_table_warns_once(void **state)
{
    (void)state;
    const char *session = test_session_new();
    workdir_new();
    touch("go");
    setenv("SYNCTOP_OBJECTS", "1", 1);
    char *err = NULL;
    char *args[] = { (char *)PRELOAD_WORKLOAD, (char *)"cond", (char *)"2", (char *)work_file("go"), NULL };
    int status = run_preloaded(session, args, NULL, &err);
    unsetenv("SYNCTOP_OBJECTS");
    assert_int_equal(status, 0);
    const char *first = strstr(err, "synctop-preload");
    assert_non_null(first);
    assert_null(strstr(first + 1, "synctop-preload"));
    assert_non_null(strstr(err, "full"));
    free(err);
    refresh(session);
    assert_int_equal(st_model_object_count(watch.model), 1);
}

/* The preload does not bring libsynctop's viewer dependencies along. */
static void test_lean_in_the_watched_process(void **state)
{
    (void)state;
    const char *session = test_session_new();
    char *out = NULL;
    char *args[] = { (char *)PRELOAD_WORKLOAD, (char *)"maps", NULL };
    assert_int_equal(run_preloaded(session, args, &out, NULL), 0);
    assert_non_null(strstr(out, "preload yes"));
    assert_non_null(strstr(out, "libproc2 no"));
    free(out);
}

#else /* PRELOAD_TEST_PYTHON */

/* ---- Python multiprocessing, read with synctop --once --json ------------- */

static json_object *read_json(const char *session)
{
    char *argv[] = { (char *)SYNCTOP_BINARY, (char *)"--once", (char *)"--json", (char *)"-d", (char *)"0.05",
                     (char *)"-s", (char *)session, NULL };
    char *out = NULL;
    int status = test_run(argv, &out, NULL, RUN_TIMEOUT_MS);
    json_object *json = status == 0 ? json_tokener_parse(out) : NULL;
    free(out);
    return json;
}

static json_object *json_object_named(json_object *json, const char *prefix)
{
    json_object *objects;
    if (!json || !json_object_object_get_ex(json, "objects", &objects))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(objects); i++) {
        json_object *object = json_object_array_get_idx(objects, i), *name;
        if (json_object_object_get_ex(object, "name", &name) &&
            strncmp(json_object_get_string(name), prefix, strlen(prefix)) == 0)
            return object;
    }
    return NULL;
}

static int64_t json_int(json_object *object, const char *key)
{
    json_object *value;
    if (!object || !json_object_object_get_ex(object, key, &value))
        fail_msg("no '%s' in %s", key, object ? json_object_to_json_string(object) : "(no object)");
    return json_object_get_int64(value);
}

static const char *json_text(json_object *object, const char *key)
{
    json_object *value;
    if (!object || !json_object_object_get_ex(object, key, &value) || !json_object_is_type(value, json_type_string))
        return "";
    return json_object_get_string(value);
}

/* Processes blocked on the object called name (exactly), doing op. */
static int json_blocked_on(json_object *json, const char *name, const char *op)
{
    json_object *processes;
    int count = 0;
    if (!json || !json_object_object_get_ex(json, "processes", &processes))
        return 0;
    for (size_t i = 0; i < json_object_array_length(processes); i++) {
        json_object *blocked;
        if (!json_object_object_get_ex(json_object_array_get_idx(processes, i), "blocked_on", &blocked) ||
            !json_object_is_type(blocked, json_type_object))
            continue;
        if (strcmp(json_text(blocked, "object"), name) == 0 && strcmp(json_text(blocked, "operation"), op) == 0)
            count++;
    }
    return count;
}

/* The pid of the process with that role, and how many have it. */
static int json_role(json_object *json, const char *role, int64_t *pid)
{
    json_object *processes;
    int count = 0;
    if (!json || !json_object_object_get_ex(json, "processes", &processes))
        return 0;
    for (size_t i = 0; i < json_object_array_length(processes); i++) {
        json_object *process = json_object_array_get_idx(processes, i);
        if (strcmp(json_text(process, "role"), role) == 0) {
            count++;
            if (pid)
                *pid = json_int(process, "pid");
        }
    }
    return count;
}

static int json_process_count(json_object *json)
{
    json_object *processes;
    return json && json_object_object_get_ex(json, "processes", &processes)
               ? (int)json_object_array_length(processes) : 0;
}

/* `synctop run -s SESSION -- python3 tests/python/SCRIPT WORKDIR ARGS...` */
static pid_t run_script(const char *session, const char *script, const char *arg1, const char *arg2)
{
    static char script_path[512];
    snprintf(script_path, sizeof script_path, "%s/%s", PRELOAD_PYTHON_DIR, script);
    command c = { .argv = { (char *)SYNCTOP_BINARY, (char *)"run", (char *)"-s", (char *)session, (char *)"--",
                            (char *)python3(), script_path, workdir, (char *)arg1, (char *)arg2, NULL } };
    return start(c);
}

/* Read the session until the object named prefix has `count` processes
 * blocked on it doing op; returns that reading (caller frees). */
static json_object *json_wait_blocked(const char *session, const char *prefix, const char *op, int count)
{
    double deadline = test_now() + WAIT_MS / 1000.0;
    for (;;) {
        json_object *json = read_json(session);
        json_object *object = json_object_named(json, prefix);
        if (object && json_blocked_on(json, json_text(object, "name"), op) == count)
            return json;
        if (test_now() > deadline)
            fail_msg("no object '%s...' with %d processes blocked on it (%s)", prefix, count, op);
        json_object_put(json);
        test_sleep_ms(20);   /* a poll interval, not synchronization */
    }
}

static void python_lock_counter(const char *method, int iterations)
{
    const char *session = test_session_new();
    workdir_new();
    char count[16];
    snprintf(count, sizeof count, "%d", iterations);
    pid_t run = run_script(session, "lock_counter.py", method, count);
    const char *name = "Lock counter_lock (lock_counter.py:";
    json_object *json = json_wait_blocked(session, name, "acquire", 4);
    json_object *lock = json_object_named(json, name);
    int64_t main_pid = 0;
    assert_int_equal(json_role(json, "main", &main_pid), 1);
    assert_int_equal(json_role(json, "child", NULL), 4);
    assert_int_equal(json_int(lock, "holder"), main_pid);
    assert_int_equal(json_int(lock, "waiters"), 4);
    assert_string_equal(json_text(lock, "type"), "lock");
    assert_string_equal(json_text(lock, "origin"), "multiprocessing.Lock");
    json_object_put(json);

    touch("go");
    wait_for_file("done");
    json = read_json(session);
    lock = json_object_named(json, name);
    assert_int_equal(json_int(lock, "acquisitions"), 4 * iterations + 1);
    assert_true(json_int(lock, "contentions") >= 4);
    assert_int_equal(json_int(lock, "waiters"), 0);
    /* Only the program's processes: no interpreter wrapper, no resource tracker. */
    assert_int_equal(json_process_count(json), 5);
    json_object_put(json);
    touch("end");
    assert_int_equal(test_wait(run, RUN_TIMEOUT_MS), 0);
}

static void test_python_lock_counter_fork(void **state)
{
    (void)state;
    python_lock_counter("fork", 3000);
}

static void test_python_lock_counter_spawn(void **state)
{
    (void)state;
    python_lock_counter("spawn", 500);
}

/* The process called name in a reading, or NULL. */
static json_object *json_process_named(json_object *json, const char *name)
{
    json_object *processes;
    if (!json || !json_object_object_get_ex(json, "processes", &processes))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(processes); i++) {
        json_object *process = json_object_array_get_idx(processes, i);
        if (strcmp(json_text(process, "name"), name) == 0)
            return process;
    }
    return NULL;
}

/* Processes are shown by the names the program gave them, roles by their
 * target functions, the main one by its script; a non-ASCII variable
 * names its object. */
static void python_named_processes(const char *method, const char *unnamed)
{
    const char *session = test_session_new();
    workdir_new();
    pid_t run = run_script(session, "named_processes.py", method, NULL);
    wait_for_file("done");
    json_object *json = read_json(session);
    assert_non_null(json);
    assert_string_equal(json_text(json_process_named(json, "named_processes.py"), "role"), "main");
    assert_string_equal(json_text(json_process_named(json, "producer-1"), "role"), "producer");
    assert_string_equal(json_text(json_process_named(json, unnamed), "role"), "consumer");
    assert_string_equal(json_text(json_process_named(json, "producer-1"), "state"), "exited");
    assert_string_equal(json_text(json_process_named(json, unnamed), "state"), "exited");
    assert_string_equal(json_text(json_process_named(json, "named_processes.py"), "state"), "running");
    json_object *queue = json_object_named(json, "Queue donn\u00e9es (named_processes.py:");
    assert_non_null(queue);
    assert_int_equal(json_int(queue, "puts"), 5);
    assert_int_equal(json_int(queue, "gets"), 5);
    json_object_put(json);
    touch("end");
    assert_int_equal(test_wait(run, RUN_TIMEOUT_MS), 0);
}

static void test_python_processes_named_fork(void **state)
{
    (void)state;
    python_named_processes("fork", "ForkProcess-2");
}

static void test_python_processes_named_spawn(void **state)
{
    (void)state;
    python_named_processes("spawn", "SpawnProcess-2");
}

static void test_python_processes_named_forkserver(void **state)
{
    (void)state;
    python_named_processes("forkserver", "ForkServerProcess-2");
}

/* The exit status or the signal of a process that ended, as --json says it:
 * exactly one of the two is a number. */
static void assert_exited(json_object *json, const char *name, int status, int signal)
{
    json_object *process = json_process_named(json, name);
    if (!process)
        fail_msg("no process '%s' in %s", name, json_object_to_json_string(json));
    json_object *exit_status, *exit_signal;
    assert_string_equal(json_text(process, "state"), "exited");
    assert_true(json_object_object_get_ex(process, "exit_status", &exit_status));
    assert_true(json_object_object_get_ex(process, "exit_signal", &exit_signal));
    if (status >= 0) {
        assert_true(json_object_is_type(exit_status, json_type_int));
        assert_int_equal(json_object_get_int(exit_status), status);
        assert_null(exit_signal);
    } else {
        assert_null(exit_status);
        assert_true(json_object_is_type(exit_signal, json_type_int));
        assert_int_equal(json_object_get_int(exit_signal), signal);
    }
}

/* Processes joined by their parent show how they ended (the preload's
 * waitpid); the main process, once synctop run reaped it, too. */
static void python_exit_statuses(const char *method)
{
    const char *session = test_session_new();
    workdir_new();
    static char script_path[512];
    snprintf(script_path, sizeof script_path, "%s/exit_statuses.py", PRELOAD_PYTHON_DIR);
    command c = { .argv = { (char *)SYNCTOP_BINARY, (char *)"run", (char *)"--keep", (char *)"-s", (char *)session,
                            (char *)"--", (char *)python3(), script_path, workdir, (char *)method, NULL } };
    pid_t run = start(c);
    wait_for_file("done");
    json_object *json = read_json(session);
    assert_non_null(json);
    assert_exited(json, "finisher", 0, 0);
    assert_exited(json, "failer", 3, 0);
    assert_exited(json, "victim", -1, SIGKILL);
    json_object *main_process = json_process_named(json, "exit_statuses.py");
    assert_string_equal(json_text(main_process, "state"), "running");
    json_object *unknown;
    assert_true(json_object_object_get_ex(main_process, "exit_status", &unknown));
    assert_null(unknown);
    json_object_put(json);

    touch("end");
    assert_int_equal(test_wait(run, RUN_TIMEOUT_MS), 0);
    json = read_json(session);   /* kept (--keep): the last word is synctop run's */
    assert_non_null(json);
    assert_exited(json, "exit_statuses.py", 0, 0);
    assert_exited(json, "failer", 3, 0);
    assert_exited(json, "victim", -1, SIGKILL);
    json_object_put(json);
}

static void test_python_exit_statuses_fork(void **state)
{
    (void)state;
    python_exit_statuses("fork");
}

static void test_python_exit_statuses_spawn(void **state)
{
    (void)state;
    python_exit_statuses("spawn");
}

static void test_python_semaphore_caps_at_three(void **state)
{
    (void)state;
    const char *session = test_session_new();
    workdir_new();
    pid_t run = run_script(session, "semaphore_cap.py", "3", NULL);
    touch("go");
    const char *name = "Semaphore slots (semaphore_cap.py:";
    json_object *json = json_wait_blocked(session, name, "acquire", 7);
    json_object *slots = json_object_named(json, name);
    assert_int_equal(json_int(slots, "in_use"), 3);
    assert_int_equal(json_int(slots, "value"), 0);
    assert_int_equal(json_int(slots, "waiters"), 7);
    assert_int_equal(json_int(slots, "initial"), 3);
    json_object_put(json);

    touch("release");
    wait_for_file("done");
    json = read_json(session);
    slots = json_object_named(json, name);
    assert_int_equal(json_int(slots, "peak_in_use"), 3);
    assert_int_equal(json_int(slots, "acquisitions"), 10 * 3);
    assert_int_equal(json_int(slots, "releases"), 10 * 3);
    assert_int_equal(json_int(slots, "value"), 3);
    assert_true(json_int(slots, "contentions") >= 7);
    json_object_put(json);
    touch("end");
    assert_int_equal(test_wait(run, RUN_TIMEOUT_MS), 0);
}

static void test_python_event_waited_by_three(void **state)
{
    (void)state;
    const char *session = test_session_new();
    workdir_new();
    pid_t run = run_script(session, "event_wait.py", NULL, NULL);
    const char *name = "Event ready (event_wait.py:";
    json_object *json = json_wait_blocked(session, name, "wait", 3);
    json_object *ready = json_object_named(json, name);
    assert_string_equal(json_text(ready, "type"), "event");
    assert_int_equal(json_int(ready, "is_set"), 0);
    assert_int_equal(json_int(ready, "waiters"), 3);
    assert_int_equal(json_int(ready, "sets"), 0);
    json_object_put(json);

    touch("go");
    wait_for_file("done");
    json = read_json(session);
    ready = json_object_named(json, name);
    assert_int_equal(json_int(ready, "is_set"), 1);
    assert_int_equal(json_int(ready, "sets"), 1);
    assert_int_equal(json_int(ready, "clears"), 0);
    assert_int_equal(json_int(ready, "waits"), 3);
    assert_int_equal(json_int(ready, "waiters"), 0);
    /* One object for the Event: its lock and condition are inside it. */
    json_object *objects;
    assert_true(json_object_object_get_ex(json, "objects", &objects));
    assert_int_equal(json_object_array_length(objects), 1);
    json_object_put(json);
    touch("end");
    assert_int_equal(test_wait(run, RUN_TIMEOUT_MS), 0);
}

static void test_python_queue_producers_consumers(void **state)
{
    (void)state;
    const char *session = test_session_new();
    workdir_new();
    const int items = 15;
    pid_t run = run_script(session, "queue_flow.py", "15", NULL);
    touch("go");
    /* Consumers wait for "drain": the queue fills and both producers block. */
    const char *name = "Queue orders (queue_flow.py:";
    json_object *json = json_wait_blocked(session, name, "put", 2);
    json_object *orders = json_object_named(json, name);
    assert_string_equal(json_text(orders, "type"), "queue");
    assert_int_equal(json_int(orders, "depth"), 4);
    assert_int_equal(json_int(orders, "capacity"), 4);
    assert_int_equal(json_int(orders, "producers_blocked"), 2);
    assert_int_equal(json_int(orders, "puts"), 4);
    assert_int_equal(json_int(orders, "gets"), 0);
    json_object_put(json);

    touch("drain");
    wait_for_file("done");
    json = read_json(session);
    orders = json_object_named(json, name);
    assert_int_equal(json_int(orders, "puts"), 2 * items + 3);
    assert_int_equal(json_int(orders, "gets"), 2 * items + 3);
    assert_int_equal(json_int(orders, "depth"), 0);
    assert_int_equal(json_int(orders, "high_water"), 4);
    assert_int_equal(json_int(orders, "producers_blocked"), 0);
    json_object_put(json);
    touch("end");
    assert_int_equal(test_wait(run, RUN_TIMEOUT_MS), 0);
}

/* multiprocessing.Pipe(), duplex and one-way: a "pipe" object each, named
 * from the call site, with every message and byte counted each way, and a
 * worker blocked in recv() shown blocked reading before anything is sent. */
static void test_python_pipe_messages_each_way(void **state)
{
    (void)state;
    const char *session = test_session_new();
    workdir_new();
    const int64_t items = 40;
    pid_t run = run_script(session, "pipe_flow.py", "40", NULL);
    const char *duplex_name = "Pipe orders/replies (pipe_flow.py:";
    const char *oneway_name = "Pipe results_in/results_out (pipe_flow.py:";
    json_object *json = json_wait_blocked(session, duplex_name, "recv", 1);
    json_object *duplex = json_object_named(json, duplex_name);
    assert_string_equal(json_text(duplex, "type"), "pipe");
    assert_string_equal(json_text(duplex, "origin"), "multiprocessing.Pipe");
    assert_int_equal(json_int(duplex, "b_recv_blocked"), 1);
    assert_int_equal(json_int(duplex, "a_recv_blocked"), 0);
    assert_int_equal(json_int(duplex, "messages_a_to_b"), 0);
    json_object_put(json);

    touch("send");
    wait_for_file("done");
    json = read_json(session);
    duplex = json_object_named(json, duplex_name);
    assert_int_equal(json_int(duplex, "messages_a_to_b"), items);
    assert_int_equal(json_int(duplex, "received_a_to_b"), items);
    assert_int_equal(json_int(duplex, "bytes_a_to_b"), items * (items + 1) / 2);
    assert_int_equal(json_int(duplex, "messages_b_to_a"), items);
    assert_int_equal(json_int(duplex, "received_b_to_a"), items);
    assert_int_equal(json_int(duplex, "bytes_b_to_a"), items * (items + 1));
    assert_int_equal(json_int(duplex, "unread_messages_a_to_b"), 0);
    assert_int_equal(json_int(duplex, "unread_messages_b_to_a"), 0);
    assert_int_equal(json_int(duplex, "b_recv_blocked"), 0);
    json_object *oneway = json_object_named(json, oneway_name);
    assert_string_equal(json_text(oneway, "type"), "pipe");
    assert_int_equal(json_int(oneway, "messages_b_to_a"), items + 1);
    assert_int_equal(json_int(oneway, "received_b_to_a"), items + 1);
    assert_int_equal(json_int(oneway, "bytes_b_to_a"), 100 * items + 20000);
    assert_int_equal(json_int(oneway, "unread_messages_b_to_a"), 0);
    assert_int_equal(json_int(oneway, "unread_bytes_b_to_a"), 0);
    assert_int_equal(json_int(oneway, "messages_a_to_b"), 0);
    json_object_put(json);
    touch("end");
    assert_int_equal(test_wait(run, RUN_TIMEOUT_MS), 0);
}

/* Read the session until the pool called prefix shows these figures (the
 * counts are each taken after the real call, by the process that made it:
 * a worker may count its first task a moment after the test saw the
 * script's step); returns that reading (caller frees). */
static json_object *json_wait_pool(const char *session, const char *prefix, int64_t workers, int64_t busy,
                                   int64_t queued, int64_t submitted, int blocked)
{
    double deadline = test_now() + WAIT_MS / 1000.0;
    for (;;) {
        json_object *json = read_json(session);
        json_object *pool = json_object_named(json, prefix);
        if (pool && json_int(pool, "workers") == workers && json_int(pool, "workers_busy") == busy &&
            json_int(pool, "tasks_queued") == queued && json_int(pool, "tasks_submitted") == submitted &&
            (blocked < 0 || json_blocked_on(json, json_text(pool, "name"), "get") == blocked))
            return json;
        if (test_now() > deadline)
            fail_msg("pool '%s...' never showed workers %lld, busy %lld, queued %lld, submitted %lld, %d blocked: %s",
                     prefix, (long long)workers, (long long)busy, (long long)queued, (long long)submitted, blocked,
                     pool ? json_object_to_json_string(pool) : "(no such object)");
        json_object_put(json);
        test_sleep_ms(20);   /* a poll interval, not synchronization */
    }
}

static size_t json_object_count(json_object *json)
{
    json_object *objects;
    return json && json_object_object_get_ex(json, "objects", &objects) ? json_object_array_length(objects) : 0;
}

/* A multiprocessing.Pool(3) is one "pool" object named from its call site
 * (its queues, pipes and locks folded into it), with the native pool's
 * figures: 20 map tasks (chunksize 1), 5 apply_async, an imap of 10 in
 * chunks of 4 (3 task messages) and a task that raises: 29 tasks, 1 failed;
 * then 5 tasks that wait: 3 running, 2 queued; closed: no workers. */
static void test_python_pool_one_object(void **state)
{
    (void)state;
    const char *session = test_session_new();
    workdir_new();
    pid_t run = run_script(session, "pool_tasks.py", NULL, NULL);
    const char *name = "Pool pool (pool_tasks.py:35)";
    json_object *json = json_wait_pool(session, name, 3, 0, 0, 0, 3);
    /* Idle workers wait for a task: blocked on the pool itself (the
     * inqueue's lock or pipe), not on objects of their own. */
    json_object *pool = json_object_named(json, name);
    assert_string_equal(json_text(pool, "name"), name);
    assert_string_equal(json_text(pool, "type"), "pool");
    assert_string_equal(json_text(pool, "origin"), "multiprocessing.Pool");
    int64_t main_pid = 0;
    assert_int_equal(json_role(json, "main", &main_pid), 1);
    assert_int_equal(json_int(pool, "owner"), main_pid);
    assert_int_equal(json_int(pool, "workers_idle"), 3);
    assert_int_equal(json_int(pool, "tasks_done"), 0);
    assert_int_equal(json_object_count(json), 1);
    json_object_put(json);

    touch("go");
    wait_for_file("done");
    json = json_wait_pool(session, name, 3, 0, 0, 29, -1);
    pool = json_object_named(json, name);
    assert_int_equal(json_int(pool, "tasks_done"), 29);
    assert_int_equal(json_int(pool, "tasks_failed"), 1);
    assert_int_equal(json_int(pool, "tasks_running"), 0);
    assert_int_equal(json_int(pool, "workers_idle"), 3);
    assert_true(json_int(pool, "task_ns_total") > 0);
    assert_true(json_int(pool, "task_ns_max") <= json_int(pool, "task_ns_total"));
    /* No inqueue, outqueue or change_notifier objects beside it. */
    assert_int_equal(json_object_count(json), 1);
    json_object_put(json);

    touch("hold");
    json = json_wait_pool(session, name, 3, 3, 2, 34, -1);
    pool = json_object_named(json, name);
    assert_int_equal(json_int(pool, "tasks_running"), 3);
    assert_int_equal(json_int(pool, "workers_idle"), 0);
    assert_int_equal(json_int(pool, "tasks_done"), 29);
    json_object_put(json);

    touch("release");
    wait_for_file("released");
    json = json_wait_pool(session, name, 3, 0, 0, 34, -1);
    pool = json_object_named(json, name);
    assert_int_equal(json_int(pool, "tasks_done"), 34);
    assert_int_equal(json_int(pool, "tasks_failed"), 1);
    /* Each worker ran a held task: all three are known by their target. */
    assert_int_equal(json_role(json, "worker", NULL), 3);
    json_object_put(json);

    touch("close");
    wait_for_file("closed");
    json = json_wait_pool(session, name, 0, 0, 0, 34, -1);
    pool = json_object_named(json, name);
    assert_int_equal(json_int(pool, "tasks_done"), 34);
    /* Not terminated yet (the finalizer runs at exit): still owned. */
    assert_int_equal(json_int(pool, "owner"), main_pid);
    assert_int_equal(json_object_count(json), 1);
    json_object_put(json);
    touch("end");
    assert_int_equal(test_wait(run, RUN_TIMEOUT_MS), 0);
}

/* A Pool(2, maxtasksperchild=3): workers that leave after their third
 * task are counted as replaced (10 tasks: 3 leave, 2 live at the end); a
 * terminated pool shows no workers. */
static void test_python_pool_workers_replaced(void **state)
{
    (void)state;
    const char *session = test_session_new();
    workdir_new();
    pid_t run = run_script(session, "pool_recycle.py", NULL, NULL);
    const char *name = "Pool recycled (pool_recycle.py:";
    wait_for_file("done");
    json_object *json = json_wait_pool(session, name, 2, 0, 0, 10, -1);
    json_object *pool = json_object_named(json, name);
    assert_int_equal(json_int(pool, "workers_replaced"), 3);
    assert_int_equal(json_int(pool, "tasks_done"), 10);
    assert_int_equal(json_int(pool, "tasks_failed"), 0);
    json_object_put(json);

    touch("close");
    wait_for_file("closed");
    json = json_wait_pool(session, name, 0, 0, 0, 10, -1);
    pool = json_object_named(json, name);
    assert_int_equal(json_int(pool, "workers_replaced"), 3);
    assert_int_equal(json_int(pool, "owner"), 0);   /* terminated, as a closed native pool */
    assert_int_equal(json_int(pool, "tasks_done"), 10);
    json_object_put(json);
    touch("end");
    assert_int_equal(test_wait(run, RUN_TIMEOUT_MS), 0);
}

static void test_python_bounded_semaphore_over_release(void **state)
{
    (void)state;
    const char *session = test_session_new();
    workdir_new();
    pid_t run = run_script(session, "bounded_over.py", NULL, NULL);
    wait_for_file("done");
    json_object *json = read_json(session);
    json_object *slots = json_object_named(json, "BoundedSemaphore pool_slots (bounded_over.py:");
    assert_string_equal(json_text(slots, "type"), "bounded_semaphore");
    assert_int_equal(json_int(slots, "over_releases"), 1);
    assert_int_equal(json_int(slots, "value"), 2);
    assert_int_equal(json_int(slots, "acquisitions"), 1);
    assert_int_equal(json_int(slots, "releases"), 1);
    json_object_put(json);
    touch("end");
    /* 3 would mean Python's ValueError was not raised. */
    assert_int_equal(test_wait(run, RUN_TIMEOUT_MS), 0);
}

/* Two processes, two Locks, opposite orders: the detector sees the cycle. */
static void test_python_deadlock_detected(void **state)
{
    (void)state;
    const char *session = test_session_new();
    workdir_new();
    pid_t run = run_script(session, "deadlock.py", NULL, NULL);
    double deadline = test_now() + WAIT_MS / 1000.0;
    json_object *cycle = NULL, *json = NULL;
    while (!cycle && test_now() < deadline) {
        json_object_put(json);
        json = read_json(session);
        json_object *deadlocks;
        if (json && json_object_object_get_ex(json, "deadlocks", &deadlocks) &&
            json_object_array_length(deadlocks) == 1)
            cycle = json_object_array_get_idx(deadlocks, 0);
        else
            test_sleep_ms(20);   /* a poll interval, not synchronization */
    }
    assert_non_null(cycle);
    json_object *members;
    assert_true(json_object_object_get_ex(cycle, "cycle", &members));
    assert_int_equal(json_object_array_length(members), 2);
    const char *first = json_text(json_object_array_get_idx(members, 0), "waits_for");
    const char *second = json_text(json_object_array_get_idx(members, 1), "waits_for");
    assert_true(strstr(first, "Lock left_fork (deadlock.py:") == first ||
                strstr(first, "Lock right_fork (deadlock.py:") == first);
    assert_true(strstr(second, "_fork (deadlock.py:") != NULL);
    assert_string_not_equal(first, second);
    json_object_put(json);
    /* Seen: one gives up, which lets the other through; the program ends. */
    touch("seen");
    assert_int_equal(test_wait(run, RUN_TIMEOUT_MS), 0);
}

/* A failed try followed by a wait is one contended acquisition; only
 * acquires that could not block and failed are try_failures. */
static void test_python_try_failures_only_non_blocking(void **state)
{
    (void)state;
    const char *session = test_session_new();
    workdir_new();
    pid_t run = run_script(session, "try_failures.py", "5", "2");
    touch("go");
    const char *slots_name = "Semaphore slots (try_failures.py:", *gate_name = "Lock gate (try_failures.py:";
    json_object *json = json_wait_blocked(session, slots_name, "acquire", 7);
    json_object_put(json);
    json = json_wait_blocked(session, gate_name, "acquire", 4);
    json_object *slots = json_object_named(json, slots_name), *gate = json_object_named(json, gate_name);
    assert_int_equal(json_int(slots, "try_failures"), 0);
    assert_int_equal(json_int(slots, "waiters"), 7);
    assert_int_equal(json_int(gate, "try_failures"), 4 * 2);
    assert_int_equal(json_int(gate, "waiters"), 4);
    json_object_put(json);

    touch("release");
    wait_for_file("done");
    json = read_json(session);
    slots = json_object_named(json, slots_name);
    gate = json_object_named(json, gate_name);
    assert_int_equal(json_int(slots, "acquisitions"), 10 + 3);
    assert_int_equal(json_int(slots, "contentions"), 7);
    assert_int_equal(json_int(slots, "try_failures"), 5 + 2);
    assert_int_equal(json_int(slots, "timeouts"), 0);
    assert_int_equal(json_int(gate, "acquisitions"), 1 + 4);
    assert_int_equal(json_int(gate, "contentions"), 4);
    assert_int_equal(json_int(gate, "try_failures"), 4 * 2);
    assert_int_equal(json_int(gate, "timeouts"), 0);
    json_object_put(json);
    touch("end");
    assert_int_equal(test_wait(run, RUN_TIMEOUT_MS), 0);
}

/* ---- multiprocessing managers ---------------------------------------------- */

/* Read the session until the object named prefix has key == value; returns
 * that reading (caller frees). */
static json_object *json_wait_field(const char *session, const char *prefix, const char *key, int64_t value)
{
    double deadline = test_now() + WAIT_MS / 1000.0;
    for (;;) {
        json_object *json = read_json(session);
        json_object *object = json_object_named(json, prefix), *field;
        if (object && json_object_object_get_ex(object, key, &field) && json_object_get_int64(field) == value)
            return json;
        if (test_now() > deadline)
            fail_msg("no object '%s...' with %s = %lld", prefix, key, (long long)value);
        json_object_put(json);
        test_sleep_ms(20);   /* a poll interval, not synchronization */
    }
}

static int json_objects_of_type(json_object *json, const char *type)
{
    json_object *objects;
    int count = 0;
    if (!json || !json_object_object_get_ex(json, "objects", &objects))
        return 0;
    for (size_t i = 0; i < json_object_array_length(objects); i++)
        if (strcmp(json_text(json_object_array_get_idx(objects, i), "type"), type) == 0)
            count++;
    return count;
}

/* A Manager's dict, list, Lock, Queue and Value, its server and three
 * workers started with method: one "managed" object each, named from the line
 * that asked the manager for it, with every call the server received
 * counted (tests/python/manager_objects.py says which), the length of the
 * dict and the list, and the server process shown with the role manager.
 * Then a worker waits in a managed Lock's acquire(): waiting 1, and (a
 * forked worker, which has the hooks) shown blocked on it. */
static void python_manager_objects(const char *method)
{
    const char *session = test_session_new();
    workdir_new();
    const int64_t items = 20;
    const bool forked = strcmp(method, "fork") == 0;
    pid_t run = run_script(session, "manager_objects.py", method, "20");
    wait_for_file("done");
    json_object *json = read_json(session);
    int64_t server = 0;
    assert_int_equal(json_role(json, "manager", &server), 1);
    assert_string_equal(json_text(json_process_named(json, "SyncManager-1"), "role"), "manager");
    static const struct {
        const char *name, *typeid;
        int64_t calls_per_item, calls_more, length_per_item;   /* length -1: none */
    } expected[] = {
        { "manager.dict() shared_dict (manager_objects.py:", "dict", 3, 0, 3 },
        { "manager.list() shared_list (manager_objects.py:", "list", 3, 0, 3 },
        { "manager.Lock() guard (manager_objects.py:", "Lock", 0, 6, -1 },
        { "manager.Queue() jobs (manager_objects.py:", "Queue", 3, 0, -1 },
        { "manager.Value() total (manager_objects.py:", "Value", 0, 6, -1 },
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        json_object *object = json_object_named(json, expected[i].name), *length;
        if (!object)
            fail_msg("no object '%s...'", expected[i].name);
        int64_t calls = expected[i].calls_per_item * items + expected[i].calls_more;
        assert_string_equal(json_text(object, "type"), "managed");
        assert_string_equal(json_text(object, "typeid"), expected[i].typeid);
        assert_string_equal(json_text(object, "origin"), "multiprocessing.managers");
        assert_int_equal(json_int(object, "calls"), calls);
        assert_int_equal(json_int(object, "replies"), calls);
        assert_int_equal(json_int(object, "waiting"), 0);
        assert_int_equal(json_int(object, "server"), server);
        (void)json_int(object, "calls_per_s");   /* the model's rate of the counter */
        if (expected[i].length_per_item >= 0)
            assert_int_equal(json_int(object, "length"), expected[i].length_per_item * items);
        else
            assert_false(json_object_object_get_ex(object, "length", &length));
    }
    /* One object per served object: no pipe, lock or queue of the manager's own. */
    assert_int_equal(json_objects_of_type(json, "managed"), 5);
    json_object *objects;
    assert_true(json_object_object_get_ex(json, "objects", &objects));
    assert_int_equal(json_object_array_length(objects), 5);
    /* Forked workers inherit the hooks: listed by their calls (spawned
     * ones have none, and touch nothing else watched). */
    if (forked)
        assert_int_equal(json_role(json, "worker", NULL), 3);
    json_object_put(json);

    /* The main process holds the lock (1 call); "waiter" asks for it (1
     * call) and waits for the server's reply. */
    touch("hold");
    const char *guard = "manager.Lock() guard (manager_objects.py:";
    json = json_wait_field(session, guard, "waiting", 1);
    json_object *lock = json_object_named(json, guard);
    assert_int_equal(json_int(lock, "calls"), 6 + 2);
    assert_int_equal(json_int(lock, "replies"), 6 + 1);
    if (forked) {
        /* It marked itself blocked before sending the call the server counts. */
        assert_int_equal(json_blocked_on(json, json_text(lock, "name"), "acquire"), 1);
        assert_string_equal(json_text(json_process_named(json, "waiter"), "state"), "blocked");
    }
    json_object_put(json);

    touch("release");
    wait_for_file("done2");
    json = read_json(session);
    lock = json_object_named(json, guard);
    assert_int_equal(json_int(lock, "calls"), 6 + 4);
    assert_int_equal(json_int(lock, "replies"), 6 + 4);
    assert_int_equal(json_int(lock, "waiting"), 0);
    json_object_put(json);
    touch("end");
    assert_int_equal(test_wait(run, RUN_TIMEOUT_MS), 0);
}

static void test_python_manager_objects_fork(void **state)
{
    (void)state;
    python_manager_objects("fork");
}

/* A server started by spawn hooks itself when its Listener listens;
 * spawned workers receive the proxies pickled, and have no hooks: the
 * server counts their calls all the same. */
static void test_python_manager_objects_spawn(void **state)
{
    (void)state;
    python_manager_objects("spawn");
}

/* ---- multiprocessing.shared_memory: segments and leaks ------------------- */

/* The segment a test made (unlinked by teardown_shm, whatever happened). */
static char stray_segment[96];

static int teardown_shm(void **state)
{
    if (stray_segment[0])
        shm_unlink(stray_segment);
    stray_segment[0] = '\0';
    return teardown(state);
}

/* A segment name of this test run; its object's name starts with
 * "/NAME VARIABLE (SCRIPT:". */
static const char *segment_new(const char *what)
{
    static char name[64];
    snprintf(name, sizeof name, "st-test-%s-%ld", what, (long)getpid());
    snprintf(stray_segment, sizeof stray_segment, "/%s", name);
    shm_unlink(stray_segment);
    return name;
}

static bool segment_exists(void)
{
    char path[128];
    snprintf(path, sizeof path, "/dev/shm%s", stray_segment);
    return access(path, F_OK) == 0;
}

static int64_t work_file_number(const char *name)
{
    FILE *in = fopen(work_file(name), "r");
    long long value = -1;
    assert_non_null(in);
    assert_int_equal(fscanf(in, "%lld", &value), 1);
    fclose(in);
    return value;
}

static size_t leaks_in(const char *session)
{
    st_leak leaks[8];
    size_t count = 0;
    assert_int_equal(st_leaks_scan(session, leaks, 8, &count), ST_OK);
    return count;
}

static void test_python_shared_memory_shared_and_unlinked(void **state)
{
    (void)state;
    const char *session = test_session_new();
    workdir_new();
    const char *name = segment_new("share");
    char prefix[128];
    snprintf(prefix, sizeof prefix, "/%s buf (shm_share.py:", name);
    pid_t run = run_script(session, "shm_share.py", name, NULL);
    wait_for_file("attached");
    json_object *json = read_json(session);
    json_object *region = json_object_named(json, prefix);
    int64_t main_pid = 0;
    assert_int_equal(json_role(json, "main", &main_pid), 1);
    assert_string_equal(json_text(region, "type"), "shm");
    assert_string_equal(json_text(region, "origin"), "shm_open");
    assert_int_equal(json_int(region, "size_bytes"), 4096);
    assert_int_equal(json_int(region, "creator"), main_pid);
    assert_int_equal(json_int(region, "attached"), 2);    /* the creator and the child */
    assert_int_equal(json_int(region, "attaches"), 2);
    assert_int_equal(json_int(region, "leaked"), 0);
    assert_int_equal(json_int(region, "unlinked"), 0);
    json_object_put(json);

    touch("detach");
    wait_for_file("done");
    assert_int_equal(work_file_number("matched"), 4096);   /* every byte the child wrote */
    json = read_json(session);
    region = json_object_named(json, prefix);
    assert_int_equal(json_int(region, "unlinked"), 1);
    assert_int_equal(json_int(region, "size_bytes"), 4096);   /* recorded at the unlink */
    assert_int_equal(json_int(region, "leaked"), 0);
    assert_int_equal(json_int(region, "collected"), 0);
    assert_int_equal(json_int(region, "attached"), 1);    /* the main process counts until it exits */
    json_object_put(json);
    assert_false(segment_exists());
    assert_int_equal(leaks_in(session), 0);
    touch("end");
    assert_int_equal(test_wait(run, RUN_TIMEOUT_MS), 0);
}

static void test_python_shared_memory_leak_found_and_collected(void **state)
{
    (void)state;
    const char *session = test_session_new();
    workdir_new();
    const char *name = segment_new("leak");
    char prefix[128];
    snprintf(prefix, sizeof prefix, "/%s leaked (shm_leak.py:", name);
    pid_t run = run_script(session, "shm_leak.py", name, NULL);
    wait_for_file("done");
    int64_t creator = work_file_number("created");
    json_object *json = read_json(session);
    json_object *region = json_object_named(json, prefix);
    assert_string_equal(json_text(region, "type"), "shm");
    assert_int_equal(json_int(region, "leaked"), 1);
    assert_int_equal(json_int(region, "creator"), creator);
    assert_int_equal(json_int(region, "size_bytes"), 8192);
    assert_int_equal(json_int(region, "attached"), 0);
    assert_int_equal(json_int(region, "unlinked"), 0);
    json_object_put(json);
    assert_true(segment_exists());
    assert_int_equal(leaks_in(session), 1);

    char *gc[] = { (char *)SYNCTOP_BINARY, (char *)"--gc", (char *)"-s", (char *)session, NULL };
    char *out = NULL;
    assert_int_equal(test_run(gc, &out, NULL, RUN_TIMEOUT_MS), 0);
    assert_non_null(strstr(out, stray_segment));
    free(out);
    assert_false(segment_exists());
    json = read_json(session);
    region = json_object_named(json, prefix);
    assert_int_equal(json_int(region, "leaked"), 0);
    assert_int_equal(json_int(region, "collected"), 1);
    assert_int_equal(json_int(region, "unlinked"), 1);
    assert_int_equal(json_int(region, "size_bytes"), 8192);
    json_object_put(json);
    assert_int_equal(leaks_in(session), 0);
    touch("end");
    assert_int_equal(test_wait(run, RUN_TIMEOUT_MS), 0);
}

#endif /* PRELOAD_TEST_PYTHON */

#ifndef PRELOAD_TEST_PYTHON
/* ---- synctop run itself ------------------------------------------------ */

static void test_run_statuses_and_session_cleanup(void **state)
{
    (void)state;
    const char *session = test_session_new();
    char *argv_exit[] = { (char *)SYNCTOP_BINARY, (char *)"run", (char *)"-s", (char *)session, (char *)"--",
                          (char *)"/bin/sh", (char *)"-c", (char *)"exit 7", NULL };
    setenv("SYNCTOP_PRELOAD_LIBRARY", SYNCTOP_PRELOAD_BUILT, 1);
    assert_int_equal(test_run(argv_exit, NULL, NULL, RUN_TIMEOUT_MS), 7);
    char *argv_missing[] = { (char *)SYNCTOP_BINARY, (char *)"run", (char *)"-s", (char *)session,
                             (char *)"/nonexistent/program", NULL };
    char *err = NULL;
    assert_int_equal(test_run(argv_missing, NULL, &err, RUN_TIMEOUT_MS), 127);
    assert_non_null(strstr(err, "/nonexistent/program"));
    free(err);
    char *argv_usage[] = { (char *)SYNCTOP_BINARY, (char *)"run", NULL };
    assert_int_equal(test_run(argv_usage, NULL, NULL, RUN_TIMEOUT_MS), 2);
    char *argv_signal[] = { (char *)SYNCTOP_BINARY, (char *)"run", (char *)"-s", (char *)session, (char *)"--",
                            (char *)"/bin/sh", (char *)"-c", (char *)"kill -TERM $$", NULL };
    assert_int_equal(test_run(argv_signal, NULL, NULL, RUN_TIMEOUT_MS), 128 + SIGTERM);
    /* The program joined the session and left it: the session it made is gone. */
    char *argv_mutex[] = { (char *)SYNCTOP_BINARY, (char *)"run", (char *)"-s", (char *)session, (char *)"--",
                           (char *)PRELOAD_WORKLOAD, (char *)"maps", NULL };
    char *out = NULL;
    assert_int_equal(test_run(argv_mutex, &out, NULL, RUN_TIMEOUT_MS), 0);
    assert_non_null(strstr(out, "preload yes"));
    free(out);
    st_table *table = NULL;
    assert_int_equal(st_table_attach_readonly(session, &table), ST_ENOENT);
    unsetenv("SYNCTOP_PRELOAD_LIBRARY");
}

#endif

int main(void)
{
#ifdef SANITIZED_BUILD
    printf("1..0 # SKIP the preload library of a sanitizer build cannot be preloaded into uninstrumented "
           "programs; run these tests in a build without --enable-sanitizers\n");
    return 0;
#endif
#ifdef PRELOAD_TEST_PYTHON
    if (!python3()) {
        printf("1..0 # SKIP no usable python3 in PATH (python3 with multiprocessing runs the Python tests)\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_python_lock_counter_fork, teardown),
        cmocka_unit_test_teardown(test_python_lock_counter_spawn, teardown),
        cmocka_unit_test_teardown(test_python_semaphore_caps_at_three, teardown),
        cmocka_unit_test_teardown(test_python_event_waited_by_three, teardown),
        cmocka_unit_test_teardown(test_python_queue_producers_consumers, teardown),
        cmocka_unit_test_teardown(test_python_bounded_semaphore_over_release, teardown),
        cmocka_unit_test_teardown(test_python_deadlock_detected, teardown),
        cmocka_unit_test_teardown(test_python_try_failures_only_non_blocking, teardown),
        cmocka_unit_test_teardown(test_python_pipe_messages_each_way, teardown),
        cmocka_unit_test_teardown(test_python_pool_one_object, teardown),
        cmocka_unit_test_teardown(test_python_pool_workers_replaced, teardown),
        cmocka_unit_test_teardown(test_python_processes_named_fork, teardown),
        cmocka_unit_test_teardown(test_python_processes_named_spawn, teardown),
        cmocka_unit_test_teardown(test_python_processes_named_forkserver, teardown),
        cmocka_unit_test_teardown(test_python_manager_objects_fork, teardown),
        cmocka_unit_test_teardown(test_python_manager_objects_spawn, teardown),
        cmocka_unit_test_teardown(test_python_exit_statuses_fork, teardown),
        cmocka_unit_test_teardown(test_python_exit_statuses_spawn, teardown),
        cmocka_unit_test_teardown(test_python_shared_memory_shared_and_unlinked, teardown_shm),
        cmocka_unit_test_teardown(test_python_shared_memory_leak_found_and_collected, teardown_shm),
    };
#else
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_mutex_counts_and_contention, teardown_watch),
        cmocka_unit_test_teardown(test_mutex_in_a_file_mapped_by_unrelated_processes, teardown_watch),
        cmocka_unit_test_teardown(test_condition_variable, teardown_watch),
        cmocka_unit_test_teardown(test_named_semaphore_across_exec, teardown_watch),
        cmocka_unit_test_teardown(test_unnamed_semaphore, teardown_watch),
        cmocka_unit_test_teardown(test_deadlock_between_two_programs_processes, teardown_watch),
        cmocka_unit_test_teardown(test_behaviour_unchanged, teardown_watch),
        cmocka_unit_test_teardown(test_private_objects_ignored, teardown_watch),
        cmocka_unit_test_teardown(test_unavailable_session_warns_once, teardown_watch),
        cmocka_unit_test_teardown(test_full_table_warns_once, teardown_watch),
        cmocka_unit_test_teardown(test_lean_in_the_watched_process, teardown_watch),
        cmocka_unit_test_teardown(test_run_statuses_and_session_cleanup, teardown),
    };
#endif
    return cmocka_run_group_tests(tests, NULL, NULL);
}
