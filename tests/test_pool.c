/* test_pool.c - the process Pool: map returns every result in input order,
 * apply_async runs exactly one callback per task, a worker that crashes
 * mid-task fails only that task and is replaced, close reaps every worker,
 * and the figures the viewer reads match. */
#include "helpers.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <synctop/synctop.h>

static st_table *table;
static st_pool *pool;

static int setup(void **state)
{
    (void)state;
    st_table_options opts = { .session = test_session_new() };
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    return 0;
}

static int teardown(void **state)
{
    /* The pool's workers are the library's children: close reaps them. */
    if (pool)
        st_pool_close(pool);
    pool = NULL;
    test_teardown(state);
    st_table_close(table);
    table = NULL;
    return 0;
}

static void open_pool(const char *name, uint32_t workers, uint32_t task_slots)
{
    st_pool_options options = { .workers = workers, .task_slots = task_slots,
                                .close_timeout_ns = ST_SECONDS(2) };
    assert_int_equal(st_pool_open(table, name, &options, &pool), ST_OK);
}

/* ---- reading back what the viewer sees -------------------------------- */

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

static uint64_t pool_u64(const char *pool_name, const char *field_name)
{
    return test_object_field_u64(st_table_session(table), "pool", pool_name, field_name);
}

/* ---- tasks (run in the workers) --------------------------------------- */

static st_result square(const void *input, size_t input_size, void *output, size_t capacity, size_t *size)
{
    int64_t x;
    if (input_size != sizeof x || capacity < sizeof x)
        return st_task_error(ST_EINVAL, "square: bad sizes %zu/%zu", input_size, capacity);
    memcpy(&x, input, sizeof x);
    int64_t y = x * x;
    memcpy(output, &y, sizeof y);
    *size = sizeof y;
    return ST_OK;
}

/* Inputs ending in 3 fail, with a message naming them. */
static st_result square_but_not_3(const void *input, size_t input_size, void *output, size_t capacity,
                                  size_t *size)
{
    int64_t x;
    memcpy(&x, input, sizeof x);
    if (x % 10 == 3)
        return st_task_error(ST_EINVAL, "refusing input %lld", (long long)x);
    return square(input, input_size, output, capacity, size);
}

enum crash_how { CRASH_SIGKILL = 1, CRASH_ABORT = 2 };

static st_result crash(const void *input, size_t input_size, void *output, size_t capacity, size_t *size)
{
    (void)input_size;
    (void)output;
    (void)capacity;
    (void)size;
    if (*(const int *)input == CRASH_SIGKILL)
        raise(SIGKILL);
    abort();
}

static st_result sleep_ms_task(const void *input, size_t input_size, void *output, size_t capacity, size_t *size)
{
    (void)input_size;
    (void)output;
    (void)capacity;
    *size = 0;
    test_sleep_ms(*(const int *)input);   /* a task that takes long (or is stuck), not synchronization */
    return ST_OK;
}

/* A task that runs until the test lets it go: *input points to a flag in
 * memory shared with the workers (mapped before they were forked). */
static st_result run_until_released_task(const void *input, size_t input_size, void *output, size_t capacity,
                                         size_t *size)
{
    (void)input_size;
    (void)output;
    (void)capacity;
    *size = 0;
    volatile int *released = *(volatile int *const *)input;
    return test_wait_count(released, 1, TEST_WAIT_MS) ? ST_OK : ST_ETIMEDOUT;
}

static st_result too_much_output(const void *input, size_t input_size, void *output, size_t capacity, size_t *size)
{
    (void)input;
    (void)input_size;
    (void)output;
    *size = capacity + 1;  /* claims more than it may (writes nothing) */
    return ST_OK;
}

/* ---- callbacks (run in this process) ---------------------------------- */

typedef struct tally {
    int results;
    int errors;
    int wrong_results;
    st_result last_error;
    char last_message[ST_POOL_MESSAGE_MAX + 1];
    int64_t error_inputs_sum;
} tally;

typedef struct submitted {
    tally *tally;
    int64_t input;
} submitted;

static void on_square(void *context, const void *output, size_t size)
{
    submitted *s = context;
    int64_t y;
    if (size != sizeof y) {
        s->tally->wrong_results++;
        return;
    }
    memcpy(&y, output, sizeof y);
    if (y != s->input * s->input)
        s->tally->wrong_results++;
    s->tally->results++;
}

static void on_error(void *context, st_result code, const char *message)
{
    submitted *s = context;
    s->tally->errors++;
    s->tally->last_error = code;
    snprintf(s->tally->last_message, sizeof s->tally->last_message, "%s", message);
    s->tally->error_inputs_sum += s->input;
}

/* ---- tests ------------------------------------------------------------ */

#define MAP_ITEMS 1000

static void test_map_returns_results_in_order(void **state)
{
    (void)state;
    open_pool("squares", 4, 0);
    static int64_t inputs[MAP_ITEMS], outputs[MAP_ITEMS];
    static st_pool_outcome outcomes[MAP_ITEMS];
    for (int i = 0; i < MAP_ITEMS; i++)
        inputs[i] = i - 500;
    memset(outputs, 0xff, sizeof outputs);
    assert_int_equal(st_pool_map(pool, square, inputs, sizeof inputs[0], MAP_ITEMS, outputs, sizeof outputs[0],
                                 outcomes, ST_SECONDS(20)), ST_OK);
    for (int i = 0; i < MAP_ITEMS; i++) {
        assert_int_equal(outputs[i], (int64_t)(i - 500) * (i - 500));
        assert_int_equal(outcomes[i].result, ST_OK);
        assert_int_equal(outcomes[i].output_size, sizeof(int64_t));
    }
    assert_int_equal(pool_u64("squares", "tasks_done"), MAP_ITEMS);
    assert_int_equal(pool_u64("squares", "tasks_submitted"), MAP_ITEMS);
    assert_int_equal(pool_u64("squares", "tasks_failed"), 0);
    assert_int_equal(pool_u64("squares", "workers"), 4);
    assert_int_equal(pool_u64("squares", "tasks_queued"), 0);
    assert_int_equal(pool_u64("squares", "owner"), (uint64_t)getpid());
    /* The task table's segment was unlinked at once: nothing to leak. */
    char needle[128];
    snprintf(needle, sizeof needle, "%s.pool.", st_table_session(table));
    assert_int_equal(test_shm_count(needle), 0);
}

static void test_map_failures_are_entries(void **state)
{
    (void)state;
    open_pool("map-failures", 2, 4);
    int64_t inputs[20], outputs[20];
    st_pool_outcome outcomes[20];
    for (int i = 0; i < 20; i++)
        inputs[i] = i;
    assert_int_equal(st_pool_map(pool, square_but_not_3, inputs, sizeof inputs[0], 20, outputs, sizeof outputs[0],
                                 outcomes, ST_SECONDS(10)), ST_EINVAL);
    assert_non_null(strstr(st_error_detail(), "item 3 of 20"));
    for (int i = 0; i < 20; i++) {
        if (i % 10 == 3) {
            assert_int_equal(outcomes[i].result, ST_EINVAL);
            char expected[64];
            snprintf(expected, sizeof expected, "refusing input %d", i);
            assert_string_equal(outcomes[i].message, expected);
        } else {
            assert_int_equal(outcomes[i].result, ST_OK);
            assert_int_equal(outputs[i], (int64_t)i * i);
        }
    }
    assert_int_equal(pool_u64("map-failures", "tasks_done"), 18);
    assert_int_equal(pool_u64("map-failures", "tasks_failed"), 2);
    /* Output larger than an item: that item fails with ST_EOVERFLOW. */
    assert_int_equal(st_pool_map(pool, too_much_output, NULL, 0, 1, outputs, sizeof outputs[0], outcomes,
                                 ST_SECONDS(10)), ST_EOVERFLOW);
    assert_int_equal(outcomes[0].result, ST_EOVERFLOW);
}

#define ASYNC_TASKS 50

static void test_apply_async_callbacks(void **state)
{
    (void)state;
    /* Fewer slots than tasks: apply_async must collect to make room. */
    open_pool("async", 3, 8);
    tally t = { 0 };
    submitted subs[ASYNC_TASKS];
    for (int i = 0; i < ASYNC_TASKS; i++) {
        subs[i] = (submitted){ &t, i };
        assert_int_equal(st_pool_apply_async(pool, square_but_not_3, &subs[i].input, sizeof subs[i].input, on_square,
                                             on_error, &subs[i], ST_SECONDS(10)), ST_OK);
    }
    assert_int_equal(st_pool_wait(pool, ST_SECONDS(20)), ST_OK);
    assert_int_equal(t.results, 45);
    assert_int_equal(t.errors, 5);
    assert_int_equal(t.wrong_results, 0);
    assert_int_equal(t.last_error, ST_EINVAL);
    assert_int_equal(t.error_inputs_sum, 3 + 13 + 23 + 33 + 43);
    assert_non_null(strstr(t.last_message, "refusing input"));
    /* Nothing is left to deliver: no callback runs twice. */
    uint32_t ran = 99;
    assert_int_equal(st_pool_poll(pool, 0, &ran), ST_ETIMEDOUT);
    assert_int_equal(ran, 0);
    assert_int_equal(t.results + t.errors, ASYNC_TASKS);
    assert_int_equal(pool_u64("async", "tasks_done"), 45);
    assert_int_equal(pool_u64("async", "tasks_failed"), 5);
    assert_int_equal(pool_u64("async", "tasks_running"), 0);
    assert_int_equal(pool_u64("async", "workers_busy"), 0);
    assert_int_equal(pool_u64("async", "workers_idle"), 3);
    st_pool_stats stats;
    assert_int_equal(st_pool_stats_get(pool, &stats), ST_OK);
    assert_int_equal(stats.tasks_pending, 0);
    assert_int_equal(stats.tasks_done, 45);
}

static bool poll_task_done(void *arg)
{
    (void)arg;
    return pool_u64("poll", "tasks_done") == 1;
}

static void test_poll_runs_callbacks(void **state)
{
    (void)state;
    open_pool("poll", 1, 0);
    tally t = { 0 };
    submitted s = { &t, 7 };
    assert_int_equal(st_pool_apply_async(pool, square, &s.input, sizeof s.input, on_square, on_error, &s, 0), ST_OK);
    /* Callbacks run only inside the pool's calls: none ran while the task
     * was done and the test was busy elsewhere. */
    assert_true(test_wait_until(poll_task_done, NULL, TEST_WAIT_MS));
    assert_int_equal(t.results, 0);
    uint32_t ran = 0;
    assert_int_equal(st_pool_poll(pool, ST_SECONDS(5), &ran), ST_OK);
    assert_int_equal(ran, 1);
    assert_int_equal(t.results, 1);
    assert_int_equal(t.wrong_results, 0);
}

static void crash_and_recover(const char *pool_name, int how, const char *signal_name, uint64_t replaced)
{
    tally t = { 0 };
    pid_t before[2] = { st_pool_worker_pid(pool, 0), st_pool_worker_pid(pool, 1) };
    submitted s = { &t, how };
    int input = how;
    assert_int_equal(st_pool_apply_async(pool, crash, &input, sizeof input, on_square, on_error, &s, ST_SECONDS(5)),
                     ST_OK);
    assert_int_equal(st_pool_wait(pool, ST_SECONDS(10)), ST_OK);
    assert_int_equal(t.errors, 1);
    assert_int_equal(t.results, 0);
    assert_int_equal(t.last_error, ST_EWORKERDIED);
    assert_non_null(strstr(t.last_message, signal_name));
    assert_int_equal(pool_u64(pool_name, "workers_replaced"), replaced);
    assert_int_equal(pool_u64(pool_name, "workers"), 2);
    assert_int_equal(pool_u64(pool_name, "tasks_failed"), replaced);
    /* One worker is new, and the dead one is gone for good. */
    pid_t after[2] = { st_pool_worker_pid(pool, 0), st_pool_worker_pid(pool, 1) };
    int changed = (after[0] != before[0]) + (after[1] != before[1]);
    assert_int_equal(changed, 1);
    pid_t dead = after[0] != before[0] ? before[0] : before[1];
    assert_int_equal(kill(dead, 0), -1);
    assert_int_equal(errno, ESRCH);
    /* The pool keeps going. */
    int64_t inputs[20], outputs[20];
    for (int i = 0; i < 20; i++)
        inputs[i] = i;
    assert_int_equal(st_pool_map(pool, square, inputs, sizeof inputs[0], 20, outputs, sizeof outputs[0], NULL,
                                 ST_SECONDS(10)), ST_OK);
    for (int i = 0; i < 20; i++)
        assert_int_equal(outputs[i], (int64_t)i * i);
}

static void test_crashed_worker_is_replaced(void **state)
{
    (void)state;
    open_pool("crashy", 2, 0);
    crash_and_recover("crashy", CRASH_SIGKILL, "killed by SIGKILL", 1);
    crash_and_recover("crashy", CRASH_ABORT, "killed by SIGABRT", 2);
}

static bool running_workers_seen(void *arg)
{
    int *running = arg;
    *running = 0;
    st_model *model = refreshed_model();
    for (size_t i = 0; i < st_model_process_count(model); i++) {
        const st_process_view *p = st_model_process(model, i);
        if (strncmp(p->name, "visible-worker-", 15) == 0 && p->state == ST_PROCESS_RUNNING)
            (*running)++;
    }
    st_model_free(model);
    return *running > 0;
}

static void test_workers_are_visible_processes(void **state)
{
    (void)state;
    volatile int *released = mmap(NULL, sizeof *released, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                                  -1, 0);
    assert_true(released != MAP_FAILED);
    *released = 0;
    open_pool("visible", 2, 0);
    /* Idle workers are blocked on the pool, waiting for a task. */
    int blocked = 0;
    for (double deadline = test_now() + TEST_WAIT_MS / 1000.0; blocked < 2 && test_now() < deadline;) {
        st_model *model = refreshed_model();
        blocked = 0;
        for (size_t i = 0; i < st_model_process_count(model); i++) {
            const st_process_view *p = st_model_process(model, i);
            if (strncmp(p->name, "visible-worker-", 15) != 0)
                continue;
            assert_string_equal(p->role, "pool-worker");
            if (p->state == ST_PROCESS_BLOCKED && p->blocked && strcmp(p->blocked_object_name, "visible") == 0 &&
                p->blocked_op == ST_OP_GET)
                blocked++;
        }
        st_model_free(model);
        if (blocked < 2)
            test_sleep_ms(5);   /* a poll interval, not synchronization */
    }
    assert_int_equal(blocked, 2);
    /* A busy worker is running (its task runs until the test releases it). */
    assert_int_equal(st_pool_apply_async(pool, run_until_released_task, &released, sizeof released, NULL, NULL,
                                         NULL, 0), ST_OK);
    int running = 0;
    assert_true(test_wait_until(running_workers_seen, &running, TEST_WAIT_MS));
    assert_int_equal(running, 1);
    assert_int_equal(pool_u64("visible", "workers_busy"), 1);
    assert_int_equal(pool_u64("visible", "tasks_running"), 1);
    __atomic_store_n(released, 1, __ATOMIC_SEQ_CST);
    assert_int_equal(st_pool_wait(pool, ST_SECONDS(10)), ST_OK);
    munmap((void *)released, sizeof *released);
}

static void test_close_finishes_queued_tasks_and_reaps(void **state)
{
    (void)state;
    open_pool("closing", 2, 0);
    pid_t workers[2] = { st_pool_worker_pid(pool, 0), st_pool_worker_pid(pool, 1) };
    assert_true(workers[0] > 0 && workers[1] > 0);
    tally t = { 0 };
    submitted subs[10];
    for (int i = 0; i < 10; i++) {
        subs[i] = (submitted){ &t, i };
        assert_int_equal(st_pool_apply_async(pool, square, &subs[i].input, sizeof subs[i].input, on_square, on_error,
                                             &subs[i], 0), ST_OK);
    }
    /* Close lets queued tasks run and delivers their callbacks. */
    assert_int_equal(st_pool_close(pool), ST_OK);
    pool = NULL;
    assert_int_equal(t.results, 10);
    assert_int_equal(t.errors, 0);
    /* No child left: every worker was reaped. */
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(kill(workers[i], 0), -1);
        assert_int_equal(errno, ESRCH);
    }
    assert_int_equal(pool_u64("closing", "workers"), 0);
    assert_int_equal(pool_u64("closing", "owner"), 0);
    assert_int_equal(pool_u64("closing", "tasks_done"), 10);
    /* The workers' process slots are gone too. */
    st_model *model = refreshed_model();
    for (size_t i = 0; i < st_model_process_count(model); i++)
        assert_null(strstr(st_model_process(model, i)->name, "closing-worker"));
    st_model_free(model);
    /* A closed pool's name can be opened again. */
    open_pool("closing", 1, 0);
    assert_int_equal(pool_u64("closing", "tasks_done"), 0);
}

static void test_close_kills_stuck_workers(void **state)
{
    (void)state;
    st_pool_options options = { .workers = 1, .close_timeout_ns = ST_MILLISECONDS(200) };
    assert_int_equal(st_pool_open(table, "stuck", &options, &pool), ST_OK);
    tally t = { 0 };
    submitted s[2] = { { &t, 0 }, { &t, 1 } };
    int ms = 30000;
    assert_int_equal(st_pool_apply_async(pool, sleep_ms_task, &ms, sizeof ms, NULL, on_error, &s[0], 0), ST_OK);
    assert_int_equal(st_pool_apply_async(pool, sleep_ms_task, &ms, sizeof ms, NULL, on_error, &s[1], 0), ST_OK);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(st_pool_close(pool), ST_ETIMEDOUT);
    pool = NULL;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(took >= 0.19 && took < 5.0);
    /* The running task and the queued one both end in their error callback. */
    assert_int_equal(t.errors, 2);
    assert_int_equal(t.last_error, ST_ECLOSED);
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

static int try_from_child(void *arg)
{
    (void)arg;
    int64_t x = 3;
    /* An inherited handle: this process is not the owner. */
    if (st_pool_apply_async(pool, square, &x, sizeof x, NULL, NULL, NULL, 0) != ST_EPERM)
        return 2;
    if (st_pool_close(pool) != ST_EPERM)
        return 3;
    return 0;
}

static void test_bad_input(void **state)
{
    (void)state;
    st_pool *other = NULL;
    st_pool_options options = { .workers = 0 };
    assert_int_equal(st_pool_open(table, "bad", &options, &other), ST_EINVAL);
    assert_null(other);
    options.workers = ST_POOL_MAX_WORKERS + 1;
    assert_int_equal(st_pool_open(table, "bad", &options, &other), ST_EINVAL);
    assert_int_equal(st_pool_open(table, "bad", NULL, &other), ST_EINVAL);
    options.workers = 1;
    options.close_timeout_ns = -1;
    assert_int_equal(st_pool_open(table, "bad", &options, &other), ST_EINVAL);
    options.close_timeout_ns = 0;
    options.max_input_bytes = ST_POOL_MAX_TASK_BYTES + 1;
    assert_int_equal(st_pool_open(table, "bad", &options, &other), ST_EOVERFLOW);
    options.max_input_bytes = 0;
    assert_int_equal(st_pool_open(NULL, "bad", &options, &other), ST_EINVAL);
    assert_int_equal(st_pool_open(table, "bad", &options, NULL), ST_EINVAL);
    char long_name[ST_OBJECT_NAME_MAX + 2];
    memset(long_name, 'p', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(st_pool_open(table, long_name, &options, &other), ST_ENAMETOOLONG);
    st_lock *lock;
    assert_int_equal(st_lock_open(table, "a-lock", &lock), ST_OK);
    st_lock_close(lock);
    assert_int_equal(st_pool_open(table, "a-lock", &options, &other), ST_EWRONGTYPE);

    options.max_input_bytes = 16;
    options.max_output_bytes = 16;
    assert_int_equal(st_pool_open(table, "small", &options, &pool), ST_OK);
    /* One owner per name while it lives. */
    assert_int_equal(st_pool_open(table, "small", &options, &other), ST_EBUSY);
    int64_t x = 2;
    char big[17] = { 0 };
    assert_int_equal(st_pool_apply_async(NULL, square, &x, sizeof x, NULL, NULL, NULL, 0), ST_EINVAL);
    assert_int_equal(st_pool_apply_async(pool, NULL, &x, sizeof x, NULL, NULL, NULL, 0), ST_EINVAL);
    assert_int_equal(st_pool_apply_async(pool, square, &x, sizeof x, NULL, NULL, NULL, -1), ST_EINVAL);
    assert_non_null(strstr(st_error_detail(), "negative"));
    assert_int_equal(st_pool_apply_async(pool, square, big, sizeof big, NULL, NULL, NULL, 0), ST_EOVERFLOW);
    assert_non_null(strstr(st_error_detail(), "max_input_bytes 16"));
    int64_t outs[2];
    assert_int_equal(st_pool_map(NULL, square, &x, sizeof x, 1, outs, sizeof outs[0], NULL, 0), ST_EINVAL);
    assert_int_equal(st_pool_map(pool, square, &x, sizeof x, 1, outs, sizeof outs[0], NULL, -5), ST_EINVAL);
    assert_int_equal(st_pool_map(pool, square, big, sizeof big, 1, outs, sizeof outs[0], NULL, 0), ST_EOVERFLOW);
    assert_int_equal(st_pool_map(pool, square, &x, sizeof x, 1, big, sizeof big, NULL, 0), ST_EOVERFLOW);
    assert_int_equal(st_pool_map(pool, square, NULL, sizeof x, 1, outs, sizeof outs[0], NULL, 0), ST_EINVAL);
    assert_int_equal(st_pool_map(pool, square, &x, sizeof x, 0, outs, sizeof outs[0], NULL, 0), ST_OK);
    assert_int_equal(st_pool_poll(NULL, 0, NULL), ST_EINVAL);
    assert_int_equal(st_pool_poll(pool, -1, NULL), ST_EINVAL);
    assert_int_equal(st_pool_wait(NULL, 0), ST_EINVAL);
    assert_int_equal(st_pool_wait(pool, -1), ST_EINVAL);
    st_pool_stats stats;
    assert_int_equal(st_pool_stats_get(NULL, &stats), ST_EINVAL);
    assert_int_equal(st_pool_stats_get(pool, NULL), ST_EINVAL);
    assert_int_equal(st_pool_close(NULL), ST_EINVAL);
    assert_int_equal(st_pool_worker_pid(NULL, 0), 0);
    assert_int_equal(st_pool_worker_pid(pool, 1), 0);
    pid_t child = test_spawn(try_from_child, NULL);
    assert_int_equal(test_wait(child, 10000), 0);
    /* The pool still works for its owner. */
    int64_t y = 0;
    assert_int_equal(st_pool_map(pool, square, &x, sizeof x, 1, &y, sizeof y, NULL, ST_SECONDS(5)), ST_OK);
    assert_int_equal(y, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_map_returns_results_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_failures_are_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_async_callbacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poll_runs_callbacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crashed_worker_is_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workers_are_visible_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_finishes_queued_tasks_and_reaps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_kills_stuck_workers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests_name("pool", tests, NULL, test_teardown);
}
