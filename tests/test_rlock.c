/* test_rlock.c - the re-entrant lock across real processes: depth and owner
 * as the viewer sees them, other processes (forked children of the owner
 * included) kept out, one release too many refused, exact counts under
 * nested contention, and a dead owner recovered. */
#include "helpers.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <synctop/synctop.h>

typedef struct shared_area {
    volatile int64_t counter;
    int ready;
    int go;
} shared_area;

static shared_area *shared;
static st_table *table;
static st_rlock *rlock;

static int setup(void **state)
{
    (void)state;
    shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(shared != MAP_FAILED);
    memset((void *)shared, 0, sizeof *shared);
    st_table_options opts = { .session = test_session_new() };
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    assert_int_equal(st_rlock_open(table, "test-rlock", &rlock), ST_OK);
    return 0;
}

static int teardown(void **state)
{
    test_teardown(state);
    st_rlock_close(rlock);
    rlock = NULL;
    st_table_close(table);
    table = NULL;
    munmap((void *)shared, sizeof *shared);
    return 0;
}

/* A field of the RLock, read back through the viewer's model. */
static uint64_t rlock_u64(const char *name)
{
    return test_object_field_u64(st_table_session(table), "rlock", "test-rlock", name);
}

static int try_from_another_process(void *arg)
{
    (void)arg;
    /* A forked child of the owner is another process: it does not own it. */
    uint32_t depth = 99;
    if (st_rlock_depth(rlock, &depth) != ST_OK || depth != 0)
        return 2;
    if (st_rlock_try(rlock) != ST_EBUSY)
        return 3;
    if (st_rlock_acquire(rlock, 0) != ST_ETIMEDOUT)
        return 4;
    if (st_rlock_release(rlock) != ST_ENOTOWNER)
        return 5;
    return 0;
}

static int try_and_take(void *arg)
{
    (void)arg;
    if (st_rlock_try(rlock) != ST_OK)
        return 2;
    return st_rlock_release(rlock) == ST_OK ? 0 : 3;
}

static void test_owner_reenters_others_are_kept_out(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(st_rlock_acquire(rlock, ST_FOREVER), ST_OK);
    uint32_t depth = 0;
    assert_int_equal(st_rlock_depth(rlock, &depth), ST_OK);
    assert_int_equal(depth, 3);
    assert_int_equal(rlock_u64("depth"), 3);
    assert_int_equal(rlock_u64("owner"), (uint64_t)getpid());
    assert_int_equal(rlock_u64("holder"), (uint64_t)getpid());
    assert_int_equal(rlock_u64("acquisitions"), 1);
    assert_int_equal(rlock_u64("recursions"), 3);
    assert_int_equal(test_wait(test_spawn(try_from_another_process, NULL), 10000), 0);
    assert_int_equal(rlock_u64("timeouts"), 1);
    /* try re-enters too */
    assert_int_equal(st_rlock_try(rlock), ST_OK);
    assert_int_equal(rlock_u64("depth"), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(st_rlock_release(rlock), ST_OK);
    assert_int_equal(st_rlock_release(rlock), ST_ENOTOWNER);
    assert_non_null(strstr(st_error_detail(), "not held"));
    assert_int_equal(rlock_u64("depth"), 0);
    assert_int_equal(rlock_u64("owner"), 0);
    assert_int_equal(st_rlock_depth(rlock, &depth), ST_OK);
    assert_int_equal(depth, 0);
    /* Free again: another process takes it at once. */
    assert_int_equal(test_wait(test_spawn(try_and_take, NULL), 10000), 0);
    assert_int_equal(rlock_u64("acquisitions"), 2);
    assert_int_equal(rlock_u64("recursions"), 5);
}

static void test_exactly_three_releases_after_three_acquires(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(st_rlock_acquire(rlock, ST_SECONDS(1)), ST_OK);
    assert_int_equal(st_rlock_release(rlock), ST_OK);
    assert_int_equal(st_rlock_release(rlock), ST_OK);
    assert_int_equal(rlock_u64("depth"), 1);
    assert_int_equal(rlock_u64("owner"), (uint64_t)getpid());
    assert_int_equal(st_rlock_release(rlock), ST_OK);
    assert_int_equal(st_rlock_release(rlock), ST_ENOTOWNER);
    assert_int_equal(rlock_u64("hold_ns_total") > 0, 1);
}

#define WORKERS 4
#define INCREMENTS 20000

static int nested_worker(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&shared->ready, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&shared->go, __ATOMIC_SEQ_CST)) {}
    for (int i = 0; i < INCREMENTS; i++) {
        if (st_rlock_acquire(rlock, ST_FOREVER) != ST_OK)
            return 2;
        if (st_rlock_acquire(rlock, ST_FOREVER) != ST_OK)
            return 3;
        shared->counter = shared->counter + 1;
        if (st_rlock_release(rlock) != ST_OK)
            return 4;
        if (st_rlock_release(rlock) != ST_OK)
            return 5;
    }
    return 0;
}

static void test_four_processes_nested_exact_count(void **state)
{
    (void)state;
    pid_t pids[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        pids[i] = test_spawn(nested_worker, NULL);
    assert_true(test_wait_count(&shared->ready, WORKERS, TEST_WAIT_MS));
    __atomic_store_n(&shared->go, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(test_wait(pids[i], 120000), 0);
    assert_int_equal(shared->counter, WORKERS * INCREMENTS);
    assert_int_equal(rlock_u64("acquisitions"), WORKERS * INCREMENTS);
    assert_int_equal(rlock_u64("recursions"), 2 * WORKERS * INCREMENTS);
    assert_int_equal(rlock_u64("depth"), 0);
    assert_int_equal(rlock_u64("owner"), 0);
    assert_int_equal(rlock_u64("waiters"), 0);
    assert_true(rlock_u64("contentions") <= WORKERS * INCREMENTS);
}

static int own_twice_and_die(void *arg)
{
    (void)arg;
    if (st_rlock_acquire(rlock, ST_FOREVER) != ST_OK || st_rlock_acquire(rlock, ST_FOREVER) != ST_OK)
        return 2;
    __atomic_store_n(&shared->ready, 1, __ATOMIC_SEQ_CST);
    for (;;)
        pause();
}

static void test_dead_owner_is_recovered(void **state)
{
    (void)state;
    pid_t owner = test_spawn(own_twice_and_die, NULL);
    assert_true(test_wait_count(&shared->ready, 1, TEST_WAIT_MS));
    assert_int_equal(rlock_u64("owner"), (uint64_t)owner);
    assert_int_equal(rlock_u64("depth"), 2);
    assert_int_equal(st_rlock_release(rlock), ST_ENOTOWNER);
    assert_non_null(strstr(st_error_detail(), "owned by"));
    test_kill(owner);
    assert_int_equal(st_rlock_acquire(rlock, ST_SECONDS(5)), ST_EOWNERDEAD);
    /* The new owner starts at depth 1, not at the dead one's 2. */
    assert_int_equal(rlock_u64("depth"), 1);
    assert_int_equal(rlock_u64("owner"), (uint64_t)getpid());
    assert_int_equal(rlock_u64("owner_died"), 1);
    assert_int_equal(st_rlock_release(rlock), ST_OK);
    assert_int_equal(st_rlock_release(rlock), ST_ENOTOWNER);
}

static void test_bad_input(void **state)
{
    (void)state;
    uint32_t depth;
    assert_int_equal(st_rlock_acquire(NULL, ST_FOREVER), ST_EINVAL);
    assert_int_equal(st_rlock_try(NULL), ST_EINVAL);
    assert_int_equal(st_rlock_release(NULL), ST_EINVAL);
    assert_int_equal(st_rlock_depth(NULL, &depth), ST_EINVAL);
    assert_int_equal(st_rlock_depth(rlock, NULL), ST_EINVAL);
    assert_int_equal(st_rlock_acquire(rlock, -1), ST_EINVAL);
    assert_non_null(strstr(st_error_detail(), "negative"));
    /* also when re-entering */
    assert_int_equal(st_rlock_acquire(rlock, ST_FOREVER), ST_OK);
    assert_int_equal(st_rlock_acquire(rlock, -5), ST_EINVAL);
    assert_int_equal(rlock_u64("depth"), 1);
    assert_int_equal(st_rlock_release(rlock), ST_OK);
    st_rlock_close(NULL);

    st_rlock *other = NULL;
    assert_int_equal(st_rlock_open(NULL, "x", &other), ST_EINVAL);
    assert_int_equal(st_rlock_open(table, NULL, &other), ST_EINVAL);
    assert_int_equal(st_rlock_open(table, "", &other), ST_EINVAL);
    assert_int_equal(st_rlock_open(table, "x", NULL), ST_EINVAL);
    char long_name[ST_OBJECT_NAME_MAX + 2];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(st_rlock_open(table, long_name, &other), ST_ENAMETOOLONG);
    assert_null(other);
    /* A Lock and an RLock are different kinds. */
    st_lock *lock = NULL;
    assert_int_equal(st_lock_open(table, "test-rlock", &lock), ST_EWRONGTYPE);
    assert_int_equal(st_lock_open(table, "plain", &lock), ST_OK);
    assert_int_equal(st_rlock_open(table, "plain", &other), ST_EWRONGTYPE);
    assert_null(other);
    st_lock_close(lock);
    /* Opening it again by name attaches to the same RLock. */
    assert_int_equal(st_rlock_open(table, "test-rlock", &other), ST_OK);
    assert_int_equal(st_rlock_acquire(other, ST_FOREVER), ST_OK);
    assert_int_equal(st_rlock_acquire(rlock, ST_FOREVER), ST_OK);
    assert_int_equal(rlock_u64("depth"), 2);
    assert_int_equal(st_rlock_release(rlock), ST_OK);
    assert_int_equal(st_rlock_release(other), ST_OK);
    assert_int_equal(rlock_u64("depth"), 0);
    st_rlock_close(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_owner_reenters_others_are_kept_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exactly_three_releases_after_three_acquires, setup, teardown),
        cmocka_unit_test_setup_teardown(test_four_processes_nested_exact_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_owner_is_recovered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests_name("rlock", tests, NULL, NULL);
}
