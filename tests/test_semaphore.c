/* test_semaphore.c - Semaphore and BoundedSemaphore across real processes:
 * the concurrency cap holds exactly, timeouts, the over-release lesson, wake
 * ups, and the figures the viewer's model reads back. */
#include "helpers.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <synctop/synctop.h>

typedef struct shared_area {
    int inside;                     /* processes between acquire and release right now */
    int max_inside;                 /* the most ever seen */
    int ready;
    int go;
    int done;
    int failures;
} shared_area;

static shared_area *shared;
static st_table *table;
static st_semaphore *sem;

static int setup(void **state)
{
    (void)state;
    shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(shared != MAP_FAILED);
    memset(shared, 0, sizeof *shared);
    st_table_options opts = { .session = test_session_new() };
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    return 0;
}

static int teardown(void **state)
{
    test_teardown(state);
    st_semaphore_close(sem);
    sem = NULL;
    st_table_close(table);
    table = NULL;
    munmap(shared, sizeof *shared);
    return 0;
}

/* The field called name of object, read back through the viewer's model. */
static const st_field *object_field(st_model *model, const char *object, const char *name)
{
    st_table *reader = NULL;
    assert_int_equal(st_table_attach_readonly(st_table_session(table), &reader), ST_OK);
    assert_int_equal(st_model_refresh(model, reader), ST_OK);
    st_table_close(reader);
    for (size_t i = 0; i < st_model_object_count(model); i++) {
        const st_object_view *view = st_model_object(model, i);
        if (strcmp(view->name, object) == 0)
            return st_object_field(view, name);
    }
    fail_msg("object '%s' not in the model", object);
    return NULL;
}

static uint64_t field_u64(const char *object, const char *name)
{
    return test_object_field_u64(st_table_session(table), NULL, object, name);
}

static bool has_field(const char *object, const char *name)
{
    st_model *model;
    assert_int_equal(st_model_new(&model), ST_OK);
    bool found = object_field(model, object, name) != NULL;
    st_model_free(model);
    return found;
}

static const char *type_name_of(const char *object)
{
    st_model *model;
    assert_int_equal(st_model_new(&model), ST_OK);
    object_field(model, object, "value");
    const char *type = NULL;
    for (size_t i = 0; i < st_model_object_count(model); i++)
        if (strcmp(st_model_object(model, i)->name, object) == 0)
            type = st_model_object(model, i)->type_name;  /* static strings */
    st_model_free(model);
    return type;
}

typedef struct field_goal {
    const char *object;
    const char *name;
    uint64_t value;
} field_goal;

static bool field_has_goal(void *arg)
{
    const field_goal *goal = arg;
    return field_u64(goal->object, goal->name) == goal->value;
}

/* Wait (up to TEST_WAIT_MS of elapsed time) until the object's field
 * reaches value. */
static bool field_becomes(const char *object, const char *name, uint64_t value)
{
    field_goal goal = { object, name, value };
    return test_wait_until(field_has_goal, &goal, TEST_WAIT_MS);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

#define CAPACITY 3
#define WORKERS 10
#define ROUNDS 150

static int capped_worker(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&shared->ready, 1, __ATOMIC_SEQ_CST);
    assert_true(test_wait_count(&shared->go, 1, TEST_WAIT_MS));
    for (int i = 0; i < ROUNDS; i++) {
        if (st_semaphore_acquire(sem, ST_SECONDS(30)) != ST_OK)
            return 2;
        int now = __atomic_add_fetch(&shared->inside, 1, __ATOMIC_SEQ_CST);
        int seen = __atomic_load_n(&shared->max_inside, __ATOMIC_SEQ_CST);
        while (now > seen && !__atomic_compare_exchange_n(&shared->max_inside, &seen, now, false,
                                                          __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        }
        usleep(100);  /* a download takes a while: the cap is reached */
        __atomic_sub_fetch(&shared->inside, 1, __ATOMIC_SEQ_CST);
        if (st_semaphore_release(sem) != ST_OK)
            return 3;
    }
    return 0;
}

static void test_semaphore_caps_ten_processes_at_three(void **state)
{
    (void)state;
    assert_int_equal(st_semaphore_open(table, "downloads", CAPACITY, &sem), ST_OK);
    pid_t pids[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        pids[i] = test_spawn(capped_worker, NULL);
    assert_true(test_wait_count(&shared->ready, WORKERS, TEST_WAIT_MS));
    __atomic_store_n(&shared->go, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(test_wait(pids[i], 60000), 0);
    assert_true(shared->max_inside <= CAPACITY);
    assert_int_equal(shared->max_inside, CAPACITY);
    assert_int_equal(field_u64("downloads", "peak_in_use"), CAPACITY);
    assert_int_equal(field_u64("downloads", "value"), CAPACITY);
    assert_int_equal(field_u64("downloads", "initial"), CAPACITY);
    assert_int_equal(field_u64("downloads", "in_use"), 0);
    assert_int_equal(field_u64("downloads", "waiters"), 0);
    assert_int_equal(field_u64("downloads", "acquisitions"), WORKERS * ROUNDS);
    assert_int_equal(field_u64("downloads", "releases"), WORKERS * ROUNDS);
    assert_int_equal(field_u64("downloads", "timeouts"), 0);
    /* Ten processes queueing for three units must have waited. */
    uint64_t contentions = field_u64("downloads", "contentions");
    assert_true(contentions > 0);
    assert_true(contentions <= WORKERS * ROUNDS);
    uint64_t p50 = field_u64("downloads", "wait_ns_p50");
    uint64_t p99 = field_u64("downloads", "wait_ns_p99");
    uint64_t max = field_u64("downloads", "wait_ns_max");
    assert_true(p50 > 0);
    assert_true(p50 <= p99);
    assert_true(p99 <= max);
    assert_true(field_u64("downloads", "wait_ns_total") >= max);
    /* A plain semaphore has no over-release figure. */
    assert_false(has_field("downloads", "over_releases"));
    assert_string_equal(type_name_of("downloads"), "semaphore");
}

static void test_timed_acquire_on_zero_times_out(void **state)
{
    (void)state;
    assert_int_equal(st_semaphore_open(table, "empty", 0, &sem), ST_OK);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(st_semaphore_acquire(sem, ST_MILLISECONDS(150)), ST_ETIMEDOUT);
    assert_true(seconds_since(&t0) >= 0.14);
    assert_non_null(strstr(st_error_detail(), "empty"));
    assert_int_equal(field_u64("empty", "timeouts"), 1);
    assert_int_equal(field_u64("empty", "waiters"), 0);
    assert_int_equal(field_u64("empty", "acquisitions"), 0);
    assert_int_equal(field_u64("empty", "contentions"), 0);
    /* Timeout 0 tries once (a timeout); try is not one. */
    assert_int_equal(st_semaphore_acquire(sem, 0), ST_ETIMEDOUT);
    assert_int_equal(st_semaphore_try(sem), ST_EBUSY);
    assert_int_equal(field_u64("empty", "timeouts"), 2);
    /* An unbounded semaphore may be released above its initial value. */
    assert_int_equal(st_semaphore_release(sem), ST_OK);
    assert_int_equal(st_semaphore_release_n(sem, 2), ST_OK);
    uint32_t value = 0;
    assert_int_equal(st_semaphore_value(sem, &value), ST_OK);
    assert_int_equal(value, 3);
    assert_int_equal(st_semaphore_try(sem), ST_OK);
    assert_int_equal(field_u64("empty", "value"), 2);
    assert_int_equal(field_u64("empty", "releases"), 3);
    assert_int_equal(field_u64("empty", "acquisitions"), 1);
    assert_int_equal(field_u64("empty", "in_use"), 0);
    assert_int_equal(field_u64("empty", "peak_in_use"), 0);
}

static void test_bounded_over_release_is_refused(void **state)
{
    (void)state;
    assert_int_equal(st_bounded_semaphore_open(table, "pool-of-2", 2, &sem), ST_OK);
    assert_string_equal(type_name_of("pool-of-2"), "bounded_semaphore");
    assert_int_equal(field_u64("pool-of-2", "over_releases"), 0);
    assert_int_equal(st_semaphore_release(sem), ST_EOVERFLOW);
    assert_non_null(strstr(st_error_detail(), "pool-of-2"));
    uint32_t value = 0;
    assert_int_equal(st_semaphore_value(sem, &value), ST_OK);
    assert_int_equal(value, 2);
    assert_int_equal(field_u64("pool-of-2", "value"), 2);
    assert_int_equal(field_u64("pool-of-2", "over_releases"), 1);
    assert_int_equal(field_u64("pool-of-2", "releases"), 0);
    /* Within the bound all is well; release_n is all or nothing. */
    assert_int_equal(st_semaphore_acquire(sem, ST_FOREVER), ST_OK);
    assert_int_equal(st_semaphore_release_n(sem, 2), ST_EOVERFLOW);
    assert_int_equal(st_semaphore_value(sem, &value), ST_OK);
    assert_int_equal(value, 1);
    assert_int_equal(st_semaphore_release(sem), ST_OK);
    assert_int_equal(field_u64("pool-of-2", "value"), 2);
    assert_int_equal(field_u64("pool-of-2", "over_releases"), 2);
    assert_int_equal(field_u64("pool-of-2", "releases"), 1);
    assert_int_equal(field_u64("pool-of-2", "acquisitions"), 1);
    assert_int_equal(field_u64("pool-of-2", "peak_in_use"), 1);
}

static int acquire_and_report(void *arg)
{
    (void)arg;
    st_result r = st_semaphore_acquire(sem, ST_SECONDS(30));
    __atomic_add_fetch(&shared->done, 1, __ATOMIC_SEQ_CST);
    return r == ST_OK ? 0 : 2;
}

/* Whether the viewer shows *pid blocked acquiring "gate". */
static bool acquiring_gate(void *arg)
{
    pid_t waiter = *(pid_t *)arg;
    st_model *model;
    assert_int_equal(st_model_new(&model), ST_OK);
    object_field(model, "gate", "waiters");
    bool blocked = false;
    for (size_t i = 0; i < st_model_process_count(model); i++) {
        const st_process_view *p = st_model_process(model, i);
        if (p->pid == waiter && p->blocked && strcmp(p->blocked_object_name, "gate") == 0 &&
            p->blocked_op == ST_OP_ACQUIRE)
            blocked = true;
    }
    st_model_free(model);
    return blocked;
}

static void test_release_wakes_a_blocked_process(void **state)
{
    (void)state;
    assert_int_equal(st_semaphore_open(table, "gate", 0, &sem), ST_OK);
    pid_t waiter = test_spawn(acquire_and_report, NULL);
    assert_true(field_becomes("gate", "waiters", 1));
    /* The viewer sees who is blocked on what. */
    assert_true(test_wait_until(acquiring_gate, &waiter, TEST_WAIT_MS));
    /* Not synchronization: the wait being measured (wait_ns_max), and a
     * window in which a waiter wrongly getting through would show. */
    test_sleep_ms(50);
    assert_int_equal(__atomic_load_n(&shared->done, __ATOMIC_SEQ_CST), 0);
    assert_int_equal(st_semaphore_release(sem), ST_OK);
    assert_int_equal(test_wait(waiter, 10000), 0);
    assert_int_equal(field_u64("gate", "contentions"), 1);
    assert_int_equal(field_u64("gate", "acquisitions"), 1);
    assert_int_equal(field_u64("gate", "waiters"), 0);
    assert_true(field_u64("gate", "wait_ns_max") >= 40000000ull);
}

static void test_release_n_wakes_n(void **state)
{
    (void)state;
    assert_int_equal(st_semaphore_open(table, "batch", 0, &sem), ST_OK);
    pid_t pids[4];
    for (int i = 0; i < 4; i++)
        pids[i] = test_spawn(acquire_and_report, NULL);
    assert_true(field_becomes("batch", "waiters", 4));
    assert_int_equal(st_semaphore_release_n(sem, 3), ST_OK);
    /* Exactly three get through; the fourth still waits. */
    assert_true(test_wait_count(&shared->done, 3, TEST_WAIT_MS));
    /* Not synchronization: a window in which a fourth, wrongly let
     * through, would show. */
    test_sleep_ms(100);
    assert_int_equal(__atomic_load_n(&shared->done, __ATOMIC_SEQ_CST), 3);
    assert_int_equal(field_u64("batch", "waiters"), 1);
    assert_int_equal(field_u64("batch", "value"), 0);
    assert_int_equal(st_semaphore_release(sem), ST_OK);
    for (int i = 0; i < 4; i++)
        assert_int_equal(test_wait(pids[i], 10000), 0);
    assert_int_equal(field_u64("batch", "acquisitions"), 4);
    assert_int_equal(field_u64("batch", "contentions"), 4);
    assert_int_equal(field_u64("batch", "releases"), 4);
}

static int open_by_name_and_cycle(void *arg)
{
    (void)arg;
    /* Like an unrelated program: its own table handle, the semaphore by name
     * (its initial value does not matter: the creator's does). */
    st_table *own = NULL;
    st_table_options opts = { .session = st_table_session(table) };
    if (st_table_open(&opts, &own) != ST_OK)
        return 2;
    st_semaphore *by_name = NULL;
    if (st_bounded_semaphore_open(own, "by-name", 99, &by_name) != ST_OK)
        return 3;
    for (int i = 0; i < 1000; i++) {
        if (st_semaphore_acquire(by_name, ST_SECONDS(30)) != ST_OK)
            return 4;
        if (st_semaphore_release(by_name) != ST_OK)
            return 5;
    }
    st_semaphore_close(by_name);
    st_table_close(own);
    return 0;
}

static void test_shared_by_name(void **state)
{
    (void)state;
    assert_int_equal(st_bounded_semaphore_open(table, "by-name", 1, &sem), ST_OK);
    pid_t a = test_spawn(open_by_name_and_cycle, NULL);
    pid_t b = test_spawn(open_by_name_and_cycle, NULL);
    assert_int_equal(test_wait(a, 60000), 0);
    assert_int_equal(test_wait(b, 60000), 0);
    assert_int_equal(field_u64("by-name", "initial"), 1);
    assert_int_equal(field_u64("by-name", "value"), 1);
    assert_int_equal(field_u64("by-name", "acquisitions"), 2000);
    assert_int_equal(field_u64("by-name", "releases"), 2000);
    assert_int_equal(field_u64("by-name", "over_releases"), 0);
    assert_int_equal(field_u64("by-name", "peak_in_use"), 1);
}

static void test_traced_operations(void **state)
{
    (void)state;
    assert_int_equal(st_bounded_semaphore_open(table, "traced", 1, &sem), ST_OK);
    assert_int_equal(st_trace_set(table, "traced", true), ST_OK);
    assert_int_equal(st_semaphore_acquire(sem, ST_FOREVER), ST_OK);
    assert_int_equal(st_semaphore_release(sem), ST_OK);
    assert_int_equal(st_semaphore_release(sem), ST_EOVERFLOW);
    st_model *model;
    assert_int_equal(st_model_new(&model), ST_OK);
    object_field(model, "traced", "value");
    assert_int_equal(st_model_event_count(model), 3);
    const st_event_view *e = st_model_event(model, 0);
    assert_int_equal(e->operation, ST_OP_ACQUIRE);
    assert_int_equal(e->value, 0);
    assert_string_equal(e->type_name, "bounded_semaphore");
    e = st_model_event(model, 1);
    assert_int_equal(e->operation, ST_OP_RELEASE);
    assert_int_equal(e->result, ST_OK);
    assert_int_equal(e->value, 1);
    e = st_model_event(model, 2);
    assert_int_equal(e->operation, ST_OP_RELEASE);
    assert_int_equal(e->result, ST_EOVERFLOW);
    st_model_free(model);
}

static void test_bad_input(void **state)
{
    (void)state;
    assert_int_equal(st_semaphore_open(table, "bad", 1, &sem), ST_OK);
    uint32_t value;
    assert_int_equal(st_semaphore_acquire(NULL, ST_FOREVER), ST_EINVAL);
    assert_int_equal(st_semaphore_try(NULL), ST_EINVAL);
    assert_int_equal(st_semaphore_release(NULL), ST_EINVAL);
    assert_int_equal(st_semaphore_release_n(NULL, 1), ST_EINVAL);
    assert_int_equal(st_semaphore_value(NULL, &value), ST_EINVAL);
    assert_int_equal(st_semaphore_value(sem, NULL), ST_EINVAL);
    assert_int_equal(st_semaphore_acquire(sem, -1), ST_EINVAL);
    assert_non_null(strstr(st_error_detail(), "negative"));
    assert_int_equal(st_semaphore_release_n(sem, 0), ST_EINVAL);
    assert_int_equal(st_semaphore_value(sem, &value), ST_OK);
    assert_int_equal(value, 1);
    st_semaphore_close(NULL);

    st_semaphore *other = NULL;
    assert_int_equal(st_semaphore_open(NULL, "x", 1, &other), ST_EINVAL);
    assert_int_equal(st_semaphore_open(table, NULL, 1, &other), ST_EINVAL);
    assert_int_equal(st_semaphore_open(table, "", 1, &other), ST_EINVAL);
    assert_int_equal(st_semaphore_open(table, "x", 1, NULL), ST_EINVAL);
    assert_int_equal(st_bounded_semaphore_open(table, "x", 1, NULL), ST_EINVAL);
    assert_int_equal(st_semaphore_open(table, "huge", ST_SEMAPHORE_VALUE_MAX + 1u, &other), ST_EINVAL);
    assert_null(other);
    char long_name[ST_OBJECT_NAME_MAX + 2];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(st_semaphore_open(table, long_name, 1, &other), ST_ENAMETOOLONG);
    assert_int_equal(st_bounded_semaphore_open(table, long_name, 1, &other), ST_ENAMETOOLONG);
    /* A plain and a bounded semaphore are different kinds; so is a lock. */
    assert_int_equal(st_bounded_semaphore_open(table, "bad", 1, &other), ST_EWRONGTYPE);
    st_lock *lock = NULL;
    assert_int_equal(st_lock_open(table, "a-lock", &lock), ST_OK);
    assert_int_equal(st_semaphore_open(table, "a-lock", 1, &other), ST_EWRONGTYPE);
    st_lock *not_a_lock = NULL;
    assert_int_equal(st_lock_open(table, "bad", &not_a_lock), ST_EWRONGTYPE);
    assert_null(not_a_lock);
    assert_null(other);
    st_lock_close(lock);
    /* An unbounded semaphore still has a ceiling. */
    assert_int_equal(st_semaphore_open(table, "ceiling", ST_SEMAPHORE_VALUE_MAX, &other), ST_OK);
    assert_int_equal(st_semaphore_release(other), ST_EOVERFLOW);
    st_semaphore_close(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_semaphore_caps_ten_processes_at_three, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timed_acquire_on_zero_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounded_over_release_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_wakes_a_blocked_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_n_wakes_n, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_by_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_traced_operations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests_name("semaphore", tests, NULL, NULL);
}
