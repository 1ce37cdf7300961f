/* test_event.c - the Event across real processes: one set releases every
 * waiter (and none leaves before it), timeouts, set/clear/is_set, and the
 * figures the viewer's model reads back. */
#include "helpers.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <synctop/synctop.h>

typedef struct shared_area {
    int returned;                   /* waiters that came back */
    int returned_ok;
} shared_area;

static shared_area *shared;
static st_table *table;
static st_event *event;

static int setup(void **state)
{
    (void)state;
    shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(shared != MAP_FAILED);
    memset(shared, 0, sizeof *shared);
    st_table_options opts = { .session = test_session_new() };
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    assert_int_equal(st_event_open(table, "start", &event), ST_OK);
    return 0;
}

static int teardown(void **state)
{
    test_teardown(state);
    st_event_close(event);
    event = NULL;
    st_table_close(table);
    table = NULL;
    munmap(shared, sizeof *shared);
    return 0;
}

/* A field of the event "start", read back through the viewer's model. */
static uint64_t event_u64(const char *name)
{
    return test_object_field_u64(st_table_session(table), "event", "start", name);
}

#define WAIT_MS 20000   /* a deadline for handshakes: only a failing test waits this long */

typedef struct field_goal {
    const char *name;
    uint64_t value;
} field_goal;

static bool event_field_has_goal(void *arg)
{
    const field_goal *goal = arg;
    return event_u64(goal->name) == goal->value;
}

/* Whether the field reaches value within WAIT_MS of elapsed time. */
static bool event_field_becomes(const char *name, uint64_t value)
{
    field_goal goal = { name, value };
    return test_wait_until(event_field_has_goal, &goal, WAIT_MS);
}

/* How many processes the viewer shows waiting on the event "start". */
static int waiting_on_start(void)
{
    st_table *reader = NULL;
    assert_int_equal(st_table_attach_readonly(st_table_session(table), &reader), ST_OK);
    st_model *model;
    assert_int_equal(st_model_new(&model), ST_OK);
    assert_int_equal(st_model_refresh(model, reader), ST_OK);
    int blocked = 0;
    for (size_t i = 0; i < st_model_process_count(model); i++) {
        const st_process_view *p = st_model_process(model, i);
        blocked += p->blocked && p->blocked_op == ST_OP_WAIT && strcmp(p->blocked_object_name, "start") == 0;
    }
    st_model_free(model);
    st_table_close(reader);
    return blocked;
}

static bool five_waiting_on_start(void *arg)
{
    (void)arg;
    return waiting_on_start() == 5;
}

static int wait_for_start(void *arg)
{
    (void)arg;
    st_result r = st_event_wait(event, ST_SECONDS(30));
    __atomic_add_fetch(&shared->returned, 1, __ATOMIC_SEQ_CST);
    if (r == ST_OK)
        __atomic_add_fetch(&shared->returned_ok, 1, __ATOMIC_SEQ_CST);
    return r == ST_OK ? 0 : 2;
}

static void test_one_set_releases_five_waiters(void **state)
{
    (void)state;
    pid_t pids[5];
    for (int i = 0; i < 5; i++)
        pids[i] = test_spawn(wait_for_start, NULL);
    /* All five are blocked, as the viewer sees them ... */
    assert_true(event_field_becomes("waiters", 5));
    assert_true(test_wait_until(five_waiting_on_start, NULL, WAIT_MS));
    /* ... and none has come back before the set. Not synchronization: a
     * window in which a waiter wrongly returning would show. */
    test_sleep_ms(50);
    assert_int_equal(waiting_on_start(), 5);
    assert_int_equal(__atomic_load_n(&shared->returned, __ATOMIC_SEQ_CST), 0);
    assert_int_equal(event_u64("is_set"), 0);
    assert_int_equal(st_event_set(event), ST_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(test_wait(pids[i], 10000), 0);
    assert_int_equal(shared->returned_ok, 5);
    assert_int_equal(event_u64("is_set"), 1);
    assert_int_equal(event_u64("waiters"), 0);
    assert_int_equal(event_u64("sets"), 1);
    assert_int_equal(event_u64("waits"), 5);
    assert_int_equal(event_u64("wait_timeouts"), 0);
}

static void test_wait_on_clear_event_times_out(void **state)
{
    (void)state;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(st_event_wait(event, ST_MILLISECONDS(150)), ST_ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(waited >= 0.14);
    assert_non_null(strstr(st_error_detail(), "start"));
    assert_int_equal(event_u64("wait_timeouts"), 1);
    assert_int_equal(event_u64("waiters"), 0);
    /* timeout 0 looks once */
    assert_int_equal(st_event_wait(event, 0), ST_ETIMEDOUT);
    assert_int_equal(event_u64("wait_timeouts"), 2);
    assert_int_equal(event_u64("waits"), 2);
}

static void test_set_clear_is_set(void **state)
{
    (void)state;
    bool is_set = true;
    assert_int_equal(st_event_is_set(event, &is_set), ST_OK);
    assert_false(is_set);
    assert_int_equal(st_event_set(event), ST_OK);
    assert_int_equal(st_event_set(event), ST_OK);  /* setting a set event changes nothing */
    assert_int_equal(st_event_is_set(event, &is_set), ST_OK);
    assert_true(is_set);
    assert_int_equal(st_event_wait(event, 0), ST_OK);
    assert_int_equal(st_event_wait(event, ST_FOREVER), ST_OK);
    assert_int_equal(st_event_clear(event), ST_OK);
    assert_int_equal(st_event_is_set(event, &is_set), ST_OK);
    assert_false(is_set);
    assert_int_equal(st_event_wait(event, 0), ST_ETIMEDOUT);
    assert_int_equal(event_u64("sets"), 2);
    assert_int_equal(event_u64("clears"), 1);
    assert_int_equal(event_u64("waits"), 3);
    assert_int_equal(event_u64("wait_timeouts"), 1);
    assert_int_equal(event_u64("is_set"), 0);
}

static void test_waiter_asleep_at_set_returns_even_if_cleared(void **state)
{
    (void)state;
    pid_t waiter = test_spawn(wait_for_start, NULL);
    assert_true(event_field_becomes("waiters", 1));
    /* A pulse: set and clear at once. The sleeper was there for the set. */
    assert_int_equal(st_event_set(event), ST_OK);
    assert_int_equal(st_event_clear(event), ST_OK);
    assert_int_equal(test_wait(waiter, 10000), 0);
    assert_int_equal(shared->returned_ok, 1);
    /* A waiter that comes after the pulse waits for the next set. */
    assert_int_equal(st_event_wait(event, ST_MILLISECONDS(20)), ST_ETIMEDOUT);
}

static int open_by_name_and_set(void *arg)
{
    (void)arg;
    st_table *own = NULL;
    st_table_options opts = { .session = st_table_session(table) };
    if (st_table_open(&opts, &own) != ST_OK)
        return 2;
    st_event *by_name = NULL;
    if (st_event_open(own, "start", &by_name) != ST_OK)
        return 3;
    /* Set it while the parent waits for it. */
    if (!test_wait_blocked(st_table_session(table), getppid(), "start", WAIT_MS))
        return 5;
    st_result r = st_event_set(by_name);
    st_event_close(by_name);
    st_table_close(own);
    return r == ST_OK ? 0 : 4;
}

static void test_set_by_an_unrelated_process(void **state)
{
    (void)state;
    pid_t setter = test_spawn(open_by_name_and_set, NULL);
    assert_int_equal(st_event_wait(event, ST_SECONDS(10)), ST_OK);
    assert_int_equal(test_wait(setter, 10000), 0);
    assert_int_equal(event_u64("sets"), 1);
}

static void test_traced_operations(void **state)
{
    (void)state;
    assert_int_equal(st_trace_set(table, "start", true), ST_OK);
    assert_int_equal(st_event_set(event), ST_OK);
    assert_int_equal(st_event_wait(event, 0), ST_OK);
    assert_int_equal(st_event_clear(event), ST_OK);
    st_table *reader = NULL;
    assert_int_equal(st_table_attach_readonly(st_table_session(table), &reader), ST_OK);
    st_model *model;
    assert_int_equal(st_model_new(&model), ST_OK);
    assert_int_equal(st_model_refresh(model, reader), ST_OK);
    assert_int_equal(st_model_event_count(model), 3);
    assert_int_equal(st_model_event(model, 0)->operation, ST_OP_SET);
    assert_int_equal(st_model_event(model, 1)->operation, ST_OP_WAIT);
    assert_int_equal(st_model_event(model, 2)->operation, ST_OP_CLEAR);
    assert_string_equal(st_operation_name(ST_OP_SET), "set");
    assert_string_equal(st_operation_name(ST_OP_CLEAR), "clear");
    st_model_free(model);
    st_table_close(reader);
}

static void test_bad_input(void **state)
{
    (void)state;
    bool is_set;
    assert_int_equal(st_event_set(NULL), ST_EINVAL);
    assert_int_equal(st_event_clear(NULL), ST_EINVAL);
    assert_int_equal(st_event_is_set(NULL, &is_set), ST_EINVAL);
    assert_int_equal(st_event_is_set(event, NULL), ST_EINVAL);
    assert_int_equal(st_event_wait(NULL, ST_FOREVER), ST_EINVAL);
    assert_int_equal(st_event_wait(event, -1), ST_EINVAL);
    assert_non_null(strstr(st_error_detail(), "negative"));
    st_event_close(NULL);
    st_event *other = NULL;
    assert_int_equal(st_event_open(NULL, "x", &other), ST_EINVAL);
    assert_int_equal(st_event_open(table, NULL, &other), ST_EINVAL);
    assert_int_equal(st_event_open(table, "", &other), ST_EINVAL);
    assert_int_equal(st_event_open(table, "x", NULL), ST_EINVAL);
    char long_name[ST_OBJECT_NAME_MAX + 2];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(st_event_open(table, long_name, &other), ST_ENAMETOOLONG);
    st_lock *lock = NULL;
    assert_int_equal(st_lock_open(table, "start", &lock), ST_EWRONGTYPE);
    assert_int_equal(st_lock_open(table, "a-lock", &lock), ST_OK);
    assert_int_equal(st_event_open(table, "a-lock", &other), ST_EWRONGTYPE);
    assert_null(other);
    st_lock_close(lock);
    /* None of that touched the event. */
    assert_int_equal(event_u64("sets"), 0);
    assert_int_equal(event_u64("waits"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_set_releases_five_waiters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_on_clear_event_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_clear_is_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waiter_asleep_at_set_returns_even_if_cleared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_by_an_unrelated_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_traced_operations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
