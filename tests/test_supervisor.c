/* test_supervisor.c - the health-check lesson: a worker that always crashes
 * is restarted exactly restart_limit times and then given up on, a silent
 * worker turns unhealthy within the heartbeat timeout, a clean exit is
 * "stopped" and not restarted, close reaps every worker, and the states and
 * figures reach the viewer. */
#include "helpers.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <synctop/synctop.h>

typedef struct shared_area {
    volatile int starts;            /* how many times a worker's main began */
    volatile int64_t last_beat_ns;  /* CLOCK_MONOTONIC of a worker's last heartbeat */
    volatile int beats_done;
} shared_area;

static shared_area *shared;
static st_table *table;
static st_supervisor *sup;

static int setup(void **state)
{
    (void)state;
    shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(shared != MAP_FAILED);
    memset((void *)shared, 0, sizeof *shared);
    st_table_options opts = { .session = test_session_new() };
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    return 0;
}

static int teardown(void **state)
{
    /* The workers are the library's children: close reaps them. */
    if (sup)
        st_supervisor_close(sup);
    sup = NULL;
    test_teardown(state);
    st_table_close(table);
    table = NULL;
    munmap((void *)shared, sizeof *shared);
    return 0;
}

static void open_supervisor(const char *name, int64_t heartbeat_timeout_ns)
{
    st_supervisor_options options = { .heartbeat_timeout_ns = heartbeat_timeout_ns,
                                      .stop_timeout_ns = ST_MILLISECONDS(500) };
    assert_int_equal(st_supervisor_open(table, name, &options, &sup), ST_OK);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- what the viewer sees ---------------------------------------------- */

static st_model *refreshed_model(void)
{
    st_model *model;
    assert_int_equal(st_model_new(&model), ST_OK);
    st_table *reader = NULL;
    assert_int_equal(st_table_attach_readonly(st_table_session(table), &reader), ST_OK);
    assert_int_equal(st_model_refresh(model, reader), ST_OK);
    st_table_close(reader);
    return model;
}

static const st_field *find_field(st_model *model, const char *object_name, const char *field_name)
{
    for (size_t i = 0; i < st_model_object_count(model); i++) {
        const st_object_view *object = st_model_object(model, i);
        if (strcmp(object->name, object_name) == 0) {
            assert_string_equal(object->type_name, "supervisor");
            return st_object_field(object, field_name);
        }
    }
    return NULL;
}

static uint64_t sup_u64(const char *name, const char *field_name)
{
    st_model *model = refreshed_model();
    const st_field *field = find_field(model, name, field_name);
    if (!field)
        fail_msg("field '%s' of supervisor '%s' not in the model", field_name, name);
    uint64_t value = field->kind == ST_VALUE_PID ? (uint64_t)field->value.i64 : field->value.u64;
    st_model_free(model);
    return value;
}

/* The process views called name: how many, and the last one found. */
static int find_processes(const char *name, st_process_view *out)
{
    st_model *model = refreshed_model();
    int found = 0;
    for (size_t i = 0; i < st_model_process_count(model); i++) {
        const st_process_view *p = st_model_process(model, i);
        if (strcmp(p->name, name) == 0) {
            found++;
            *out = *p;
        }
    }
    st_model_free(model);
    return found;
}

/* ---- workers (run in the children) -------------------------------------- */

static int exit_3(st_table *t, void *arg)
{
    (void)t;
    (void)arg;
    __atomic_add_fetch(&shared->starts, 1, __ATOMIC_SEQ_CST);
    return 3;
}

static int exit_0(st_table *t, void *arg)
{
    (void)t;
    (void)arg;
    __atomic_add_fetch(&shared->starts, 1, __ATOMIC_SEQ_CST);
    return 0;
}

/* Killed by a signal the first time, a clean exit the second. */
static int crash_once(st_table *t, void *arg)
{
    (void)t;
    (void)arg;
    if (__atomic_add_fetch(&shared->starts, 1, __ATOMIC_SEQ_CST) == 1)
        raise(SIGKILL);
    return 0;
}

/* Heartbeats every 20 ms for 300 ms, then goes silent (but stays alive). */
static int beat_then_hang(st_table *t, void *arg)
{
    (void)arg;
    for (int i = 0; i < 15; i++) {
        st_process_heartbeat(t);
        shared->last_beat_ns = now_ns();
        test_sleep_ms(20);   /* the heartbeat cadence, not synchronization */
    }
    __atomic_store_n(&shared->beats_done, 1, __ATOMIC_SEQ_CST);
    for (;;)
        pause();
    return 0;
}

static int beat_forever(st_table *t, void *arg)
{
    (void)arg;
    __atomic_add_fetch(&shared->starts, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        st_process_heartbeat(t);
        test_sleep_ms(10);   /* the heartbeat cadence, not synchronization */
    }
    return 0;
}

/* ---- tests -------------------------------------------------------------- */

static void test_crashing_worker_restarted_three_times(void **state)
{
    (void)state;
    char *log_text = NULL;
    size_t log_size = 0;
    FILE *log = open_memstream(&log_text, &log_size);
    st_supervisor_options options = { .log = log };  /* restart_limit 0: the default, 3 */
    assert_int_equal(st_supervisor_open(table, "watchdog", &options, &sup), ST_OK);
    assert_int_equal(st_supervisor_add(sup, "crasher", exit_3, NULL), ST_OK);
    assert_int_equal(st_supervisor_run(sup, ST_SECONDS(10)), ST_OK);
    /* Started once, restarted exactly 3 times, then given up on. */
    assert_int_equal(shared->starts, 4);
    st_supervisor_worker_info info;
    assert_int_equal(st_supervisor_worker_by_name(sup, "crasher", &info), ST_OK);
    assert_int_equal(info.state, ST_PROCESS_CRASHED);
    assert_int_equal(info.restarts, 3);
    assert_true(info.gave_up);
    assert_string_equal(info.last_failure, "exit status 3");
    /* What the viewer sees. */
    assert_int_equal(sup_u64("watchdog", "workers"), 1);
    assert_int_equal(sup_u64("watchdog", "crashed"), 1);
    assert_int_equal(sup_u64("watchdog", "running"), 0);
    assert_int_equal(sup_u64("watchdog", "restarts_total"), 3);
    assert_int_equal(sup_u64("watchdog", "gave_up"), 1);
    assert_int_equal(sup_u64("watchdog", "owner"), (uint64_t)getpid());
    st_model *model = refreshed_model();
    const st_field *failure = find_field(model, "watchdog", "last_failure");
    assert_non_null(failure);
    assert_int_equal(failure->kind, ST_VALUE_TEXT);
    assert_string_equal(failure->value.text, "crasher: exit status 3");
    st_model_free(model);
    /* One process line for the worker (dead ones released), marked. */
    st_process_view process;
    assert_int_equal(find_processes("crasher", &process), 1);
    assert_int_equal(process.state, ST_PROCESS_CRASHED);
    assert_int_equal(process.restarts, 3);
    assert_false(process.alive);
    assert_string_equal(process.role, "supervised");
    /* The log says why it gave up. */
    assert_int_equal(st_supervisor_close(sup), ST_OK);
    sup = NULL;
    fclose(log);
    assert_non_null(strstr(log_text, "restarting (3 of 3)"));
    assert_non_null(strstr(log_text, "crashed: exit status 3; giving up after 3 restarts"));
    free(log_text);
    assert_int_equal(sup_u64("watchdog", "owner"), 0);
}

static void test_signal_crash_then_clean_exit(void **state)
{
    (void)state;
    open_supervisor("once", 0);
    assert_int_equal(st_supervisor_add(sup, "fragile", crash_once, NULL), ST_OK);
    assert_int_equal(st_supervisor_run(sup, ST_SECONDS(10)), ST_OK);
    st_supervisor_worker_info info;
    assert_int_equal(st_supervisor_worker(sup, 0, &info), ST_OK);
    assert_string_equal(info.name, "fragile");
    assert_int_equal(info.state, ST_PROCESS_STOPPED);
    assert_int_equal(info.restarts, 1);
    assert_false(info.gave_up);
    assert_string_equal(info.last_failure, "killed by SIGKILL");
    assert_int_equal(sup_u64("once", "stopped"), 1);
    assert_int_equal(sup_u64("once", "restarts_total"), 1);
    assert_int_equal(sup_u64("once", "gave_up"), 0);
}

static void test_clean_exit_is_stopped_not_restarted(void **state)
{
    (void)state;
    open_supervisor("calm", 0);
    assert_int_equal(st_supervisor_add(sup, "finisher", exit_0, NULL), ST_OK);
    assert_int_equal(st_supervisor_run(sup, ST_SECONDS(10)), ST_OK);
    /* Watching longer changes nothing: it is not restarted. */
    assert_int_equal(st_supervisor_poll(sup, ST_MILLISECONDS(100)), ST_ETIMEDOUT);
    assert_int_equal(shared->starts, 1);
    st_supervisor_worker_info info;
    assert_int_equal(st_supervisor_worker_by_name(sup, "finisher", &info), ST_OK);
    assert_int_equal(info.state, ST_PROCESS_STOPPED);
    assert_int_equal(info.restarts, 0);
    assert_false(info.gave_up);
    assert_string_equal(info.last_failure, "");
    assert_int_equal(sup_u64("calm", "stopped"), 1);
    assert_int_equal(sup_u64("calm", "crashed"), 0);
    assert_int_equal(sup_u64("calm", "restarts_total"), 0);
    st_process_view process;
    assert_int_equal(find_processes("finisher", &process), 1);
    assert_int_equal(process.state, ST_PROCESS_STOPPED);
    assert_int_equal(process.restarts, 0);
}

static st_process_state worker_state(const char *name)
{
    st_supervisor_worker_info info;
    assert_int_equal(st_supervisor_worker_by_name(sup, name, &info), ST_OK);
    return info.state;
}

#define HEARTBEAT_TIMEOUT_MS 200

static void test_silent_worker_becomes_unhealthy(void **state)
{
    (void)state;
    open_supervisor("health", ST_MILLISECONDS(HEARTBEAT_TIMEOUT_MS));
    assert_int_equal(st_supervisor_add(sup, "beater", beat_then_hang, NULL), ST_OK);
    /* While it beats it is running, never unhealthy. */
    bool was_running = false;
    while (!__atomic_load_n(&shared->beats_done, __ATOMIC_SEQ_CST)) {
        st_supervisor_poll(sup, ST_MILLISECONDS(10));
        st_process_state s = worker_state("beater");
        assert_int_not_equal(s, ST_PROCESS_UNHEALTHY);
        was_running |= s == ST_PROCESS_RUNNING;
    }
    assert_true(was_running);
    /* Silent: unhealthy once the timeout has passed, and promptly. */
    while (worker_state("beater") != ST_PROCESS_UNHEALTHY) {
        st_result r = st_supervisor_poll(sup, ST_SECONDS(2));
        assert_true(r == ST_OK);
    }
    int64_t silent_ms = (now_ns() - shared->last_beat_ns) / 1000000;
    assert_true(silent_ms >= HEARTBEAT_TIMEOUT_MS - 5);
    assert_true(silent_ms <= HEARTBEAT_TIMEOUT_MS + 200);
    assert_int_equal(sup_u64("health", "unhealthy"), 1);
    assert_int_equal(sup_u64("health", "running"), 0);
    st_process_view process;
    assert_int_equal(find_processes("beater", &process), 1);
    assert_int_equal(process.state, ST_PROCESS_UNHEALTHY);
    assert_true(process.alive);
    /* Unhealthy is shown, not punished: still alive, no restart. */
    st_supervisor_worker_info info;
    assert_int_equal(st_supervisor_worker_by_name(sup, "beater", &info), ST_OK);
    assert_int_equal(info.restarts, 0);
    assert_int_equal(kill(info.pid, 0), 0);
}

static void test_close_stops_and_reaps_everything(void **state)
{
    (void)state;
    open_supervisor("closer", ST_MILLISECONDS(HEARTBEAT_TIMEOUT_MS));
    assert_int_equal(st_supervisor_add(sup, "w1", beat_forever, NULL), ST_OK);
    assert_int_equal(st_supervisor_add(sup, "w2", beat_forever, NULL), ST_OK);
    while (worker_state("w1") != ST_PROCESS_RUNNING || worker_state("w2") != ST_PROCESS_RUNNING)
        assert_int_equal(st_supervisor_poll(sup, ST_SECONDS(2)), ST_OK);
    assert_int_equal(sup_u64("closer", "running"), 2);
    st_process_view process;
    assert_int_equal(find_processes("w1", &process), 1);
    assert_int_equal(process.state, ST_PROCESS_RUNNING);
    pid_t w1 = process.pid;
    assert_int_equal(st_supervisor_close(sup), ST_OK);
    sup = NULL;
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    assert_int_equal(kill(w1, 0), -1);
    assert_int_equal(sup_u64("closer", "stopped"), 2);
    assert_int_equal(sup_u64("closer", "running"), 0);
    assert_int_equal(sup_u64("closer", "restarts_total"), 0);
    assert_int_equal(find_processes("w1", &process), 1);
    assert_int_equal(process.state, ST_PROCESS_STOPPED);
    /* The name is free again. */
    open_supervisor("closer", 0);
}

static int try_from_child(void *arg)
{
    (void)arg;
    if (st_supervisor_add(sup, "intruder", exit_0, NULL) != ST_EPERM)
        return 2;
    if (st_supervisor_poll(sup, 0) != ST_EPERM)
        return 3;
    return st_supervisor_close(sup) == ST_EPERM ? 0 : 4;
}

static void test_bad_input(void **state)
{
    (void)state;
    st_supervisor *other = NULL;
    assert_int_equal(st_supervisor_open(NULL, "s", NULL, &other), ST_EINVAL);
    assert_int_equal(st_supervisor_open(table, "s", NULL, NULL), ST_EINVAL);
    assert_int_equal(st_supervisor_open(table, NULL, NULL, &other), ST_EINVAL);
    st_supervisor_options negative = { .heartbeat_timeout_ns = -1 };
    assert_int_equal(st_supervisor_open(table, "s", &negative, &other), ST_EINVAL);
    char long_name[ST_OBJECT_NAME_MAX + 2];
    memset(long_name, 's', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(st_supervisor_open(table, long_name, NULL, &other), ST_ENAMETOOLONG);
    st_lock *lock;
    assert_int_equal(st_lock_open(table, "a-lock", &lock), ST_OK);
    st_lock_close(lock);
    assert_int_equal(st_supervisor_open(table, "a-lock", NULL, &other), ST_EWRONGTYPE);
    assert_null(other);

    open_supervisor("bad", 0);
    assert_int_equal(st_supervisor_open(table, "bad", NULL, &other), ST_EBUSY);
    char long_worker[ST_PROCESS_NAME_MAX + 2];
    memset(long_worker, 'w', sizeof long_worker - 1);
    long_worker[sizeof long_worker - 1] = '\0';
    assert_int_equal(st_supervisor_add(sup, long_worker, exit_0, NULL), ST_ENAMETOOLONG);
    assert_int_equal(st_supervisor_add(NULL, "w", exit_0, NULL), ST_EINVAL);
    assert_int_equal(st_supervisor_add(sup, NULL, exit_0, NULL), ST_EINVAL);
    assert_int_equal(st_supervisor_add(sup, "", exit_0, NULL), ST_EINVAL);
    assert_int_equal(st_supervisor_add(sup, "w", NULL, NULL), ST_EINVAL);
    assert_int_equal(st_supervisor_poll(NULL, 0), ST_EINVAL);
    assert_int_equal(st_supervisor_poll(sup, -1), ST_EINVAL);
    assert_non_null(strstr(st_error_detail(), "negative"));
    assert_int_equal(st_supervisor_run(NULL, 0), ST_EINVAL);
    assert_int_equal(st_supervisor_run(sup, -1), ST_EINVAL);
    assert_int_equal(st_supervisor_close(NULL), ST_EINVAL);
    st_supervisor_worker_info info;
    assert_int_equal(st_supervisor_worker(NULL, 0, &info), ST_EINVAL);
    assert_int_equal(st_supervisor_worker(sup, 0, &info), ST_ENOENT);
    assert_int_equal(st_supervisor_worker_by_name(sup, "nobody", &info), ST_ENOENT);
    assert_int_equal(st_supervisor_worker_count(NULL), 0);
    /* Names are unique; the number of workers is bounded. */
    long_worker[ST_PROCESS_NAME_MAX] = '\0';  /* exactly the limit is fine */
    assert_int_equal(st_supervisor_add(sup, long_worker, exit_0, NULL), ST_OK);
    assert_int_equal(st_supervisor_add(sup, long_worker, exit_0, NULL), ST_EBUSY);
    for (uint32_t i = 1; i < ST_SUPERVISOR_MAX_WORKERS; i++) {
        char name[16];
        snprintf(name, sizeof name, "w%u", i);
        assert_int_equal(st_supervisor_add(sup, name, exit_0, NULL), ST_OK);
    }
    assert_int_equal(st_supervisor_add(sup, "one-too-many", exit_0, NULL), ST_EFULL);
    assert_int_equal(st_supervisor_worker_count(sup), ST_SUPERVISOR_MAX_WORKERS);
    /* A forked child holding a copy of the handle is not the owner. */
    pid_t child = test_spawn(try_from_child, NULL);
    assert_int_equal(test_wait(child, 10000), 0);
    assert_int_equal(st_supervisor_run(sup, ST_SECONDS(10)), ST_OK);
    assert_int_equal(sup_u64("bad", "stopped"), ST_SUPERVISOR_MAX_WORKERS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crashing_worker_restarted_three_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signal_crash_then_clean_exit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clean_exit_is_stopped_not_restarted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_worker_becomes_unhealthy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_stops_and_reaps_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests_name("supervisor", tests, NULL, test_teardown);
}
