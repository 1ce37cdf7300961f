/* test_condition.c - the Condition over a Lock across real processes: a
 * producer/consumer hand-off that loses, duplicates and reorders nothing,
 * notify(1) waking exactly one waiter, notify_all the rest, no stealing by
 * late waiters, timeouts that still return holding the lock, wait_for, and
 * the figures the viewer's model reads back. */
#include "helpers.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <synctop/synctop.h>

#define RING 8
#define ITEMS 10000
#define WAIT_MS 20000   /* a deadline for handshakes: only a failing test waits this long */

typedef struct shared_area {
    /* the hand-off: a small ring guarded by the lock */
    int64_t ring[RING];
    int64_t head, tail;             /* items put, items taken */
    int64_t received;               /* items the consumer checked */
    int bad_order;
    /* the wake-up tests */
    int woken;
    int flag;
    int ready;
} shared_area;

static shared_area *shared;
static st_table *table;
static st_lock *lock;
static st_condition *cond;

static int setup(void **state)
{
    (void)state;
    shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(shared != MAP_FAILED);
    memset(shared, 0, sizeof *shared);
    st_table_options opts = { .session = test_session_new() };
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    assert_int_equal(st_lock_open(table, "cond-lock", &lock), ST_OK);
    assert_int_equal(st_condition_open(table, "cond", lock, &cond), ST_OK);
    return 0;
}

static int teardown(void **state)
{
    test_teardown(state);
    st_condition_close(cond);
    cond = NULL;
    st_lock_close(lock);
    lock = NULL;
    st_table_close(table);
    table = NULL;
    munmap(shared, sizeof *shared);
    return 0;
}

/* The model's view of object name (the model must outlive it). */
static const st_object_view *object_view(st_model *model, const char *name)
{
    st_table *reader = NULL;
    assert_int_equal(st_table_attach_readonly(st_table_session(table), &reader), ST_OK);
    assert_int_equal(st_model_refresh(model, reader), ST_OK);
    st_table_close(reader);
    for (size_t i = 0; i < st_model_object_count(model); i++)
        if (strcmp(st_model_object(model, i)->name, name) == 0)
            return st_model_object(model, i);
    fail_msg("object '%s' not in the model", name);
    return NULL;
}

static uint64_t field_u64(const char *object, const char *name)
{
    return test_object_field_u64(st_table_session(table), NULL, object, name);
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

/* Whether the field reaches value within WAIT_MS of elapsed time. */
static bool field_becomes(const char *object, const char *name, uint64_t value)
{
    field_goal goal = { object, name, value };
    return test_wait_until(field_has_goal, &goal, WAIT_MS);
}

static bool flag_raised(void *arg)
{
    return __atomic_load_n((int *)arg, __ATOMIC_SEQ_CST) != 0;
}

static bool someone_woke(void *arg)
{
    (void)arg;
    return __atomic_load_n(&shared->woken, __ATOMIC_SEQ_CST) >= 1;
}

static int blocked_on(const char *object)
{
    st_model *model;
    assert_int_equal(st_model_new(&model), ST_OK);
    object_view(model, object);
    int blocked = 0;
    for (size_t i = 0; i < st_model_process_count(model); i++) {
        const st_process_view *p = st_model_process(model, i);
        blocked += p->blocked && strcmp(p->blocked_object_name, object) == 0;
    }
    st_model_free(model);
    return blocked;
}

/* ---- producer / consumer ---------------------------------------------------- */

static bool ring_has_room(void *arg)
{
    (void)arg;
    return shared->head - shared->tail < RING;
}

static bool ring_has_item(void *arg)
{
    (void)arg;
    return shared->head > shared->tail;
}

static int producer(void *arg)
{
    (void)arg;
    for (int64_t i = 0; i < ITEMS; i++) {
        if (st_lock_acquire(lock, ST_FOREVER) != ST_OK)
            return 2;
        /* wait_for on one side ... */
        if (st_condition_wait_for(cond, ring_has_room, NULL, ST_SECONDS(30)) != ST_OK)
            return 3;
        shared->ring[shared->head % RING] = i;
        shared->head++;
        if (st_condition_notify_all(cond) != ST_OK)
            return 4;
        if (st_lock_release(lock) != ST_OK)
            return 5;
    }
    return 0;
}

static int consumer(void *arg)
{
    (void)arg;
    for (int64_t i = 0; i < ITEMS; i++) {
        if (st_lock_acquire(lock, ST_FOREVER) != ST_OK)
            return 2;
        /* ... a plain wait loop on the other */
        while (!ring_has_item(NULL)) {
            st_result r = st_condition_wait(cond, ST_SECONDS(30));
            if (r != ST_OK)
                return 3;
        }
        int64_t item = shared->ring[shared->tail % RING];
        shared->tail++;
        if (item != shared->received)
            shared->bad_order++;
        shared->received++;
        if (st_condition_notify(cond, 1) != ST_OK)
            return 4;
        if (st_lock_release(lock) != ST_OK)
            return 5;
    }
    return 0;
}

static void test_producer_consumer_hand_off(void **state)
{
    (void)state;
    pid_t c = test_spawn(consumer, NULL);
    pid_t p = test_spawn(producer, NULL);
    assert_int_equal(test_wait(p, 60000), 0);
    assert_int_equal(test_wait(c, 60000), 0);
    assert_int_equal(shared->received, ITEMS);
    assert_int_equal(shared->bad_order, 0);
    assert_int_equal(shared->head, ITEMS);
    assert_int_equal(shared->tail, ITEMS);
    assert_int_equal(field_u64("cond", "waiters"), 0);
    assert_int_equal(field_u64("cond", "notifies"), ITEMS);
    assert_int_equal(field_u64("cond", "notify_alls"), ITEMS);
    assert_int_equal(field_u64("cond", "timeouts"), 0);
    /* Every wait came back notified; the lock counts each re-acquire. */
    uint64_t wakeups = field_u64("cond", "wakeups");
    assert_true(wakeups > 0);
    assert_int_equal(field_u64("cond-lock", "acquisitions"), 2 * ITEMS + wakeups);
    assert_int_equal(field_u64("cond-lock", "holder"), 0);
}

/* ---- notify(1) wakes exactly one ------------------------------------------- */

static int wait_once(void *arg)
{
    int64_t timeout = arg ? *(int64_t *)arg : ST_SECONDS(30);
    if (st_lock_acquire(lock, ST_FOREVER) != ST_OK)
        return 2;
    __atomic_add_fetch(&shared->ready, 1, __ATOMIC_SEQ_CST);
    st_result r = st_condition_wait(cond, timeout);
    __atomic_add_fetch(&shared->woken, 1, __ATOMIC_SEQ_CST);
    /* Whatever happened, the waiter holds the lock again. */
    if (st_lock_release(lock) != ST_OK)
        return 3;
    return r == ST_OK ? 0 : r == ST_ETIMEDOUT ? 10 : r == ST_EOWNERDEAD ? 11 : 12;
}

static int woken(void)
{
    return __atomic_load_n(&shared->woken, __ATOMIC_SEQ_CST);
}

static void test_notify_one_wakes_exactly_one(void **state)
{
    (void)state;
    pid_t pids[3];
    for (int i = 0; i < 3; i++)
        pids[i] = test_spawn(wait_once, NULL);
    assert_true(field_becomes("cond", "waiters", 3));
    assert_int_equal(blocked_on("cond"), 3);
    assert_int_equal(st_lock_acquire(lock, ST_FOREVER), ST_OK);
    assert_int_equal(st_condition_notify(cond, 1), ST_OK);
    assert_int_equal(st_lock_release(lock), ST_OK);
    assert_true(test_wait_until(someone_woke, NULL, WAIT_MS));
    /* Not synchronization: a window in which a second, wrong wake-up would
     * show. A correct run passes however long it is. */
    test_sleep_ms(150);
    assert_int_equal(woken(), 1);
    assert_int_equal(field_u64("cond", "waiters"), 2);
    assert_int_equal(blocked_on("cond"), 2);
    assert_int_equal(st_lock_acquire(lock, ST_FOREVER), ST_OK);
    assert_int_equal(st_condition_notify_all(cond), ST_OK);
    assert_int_equal(st_lock_release(lock), ST_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(test_wait(pids[i], 10000), 0);
    assert_int_equal(woken(), 3);
    assert_int_equal(field_u64("cond", "waiters"), 0);
    assert_int_equal(field_u64("cond", "wakeups"), 3);
    assert_int_equal(field_u64("cond", "notifies"), 1);
    assert_int_equal(field_u64("cond", "notify_alls"), 1);
    assert_int_equal(field_u64("cond", "timeouts"), 0);
}

static void test_late_waiter_cannot_steal_a_notification(void **state)
{
    (void)state;
    pid_t early = test_spawn(wait_once, NULL);
    assert_true(field_becomes("cond", "waiters", 1));
    assert_int_equal(st_lock_acquire(lock, ST_FOREVER), ST_OK);
    assert_int_equal(st_condition_notify(cond, 1), ST_OK);
    /* A second waiter queues for the lock now and waits right after the
     * notify: the notification is the early waiter's. */
    pid_t late = test_spawn(wait_once, NULL);
    assert_true(test_wait_blocked(st_table_session(table), late, "cond-lock", WAIT_MS));
    assert_int_equal(st_lock_release(lock), ST_OK);
    assert_int_equal(test_wait(early, 10000), 0);
    assert_true(field_becomes("cond", "waiters", 1));
    /* Not synchronization: a window in which the late waiter, wrongly
     * woken by the early waiter's notification, would show. */
    test_sleep_ms(100);
    assert_int_equal(woken(), 1);
    assert_int_equal(st_lock_acquire(lock, ST_FOREVER), ST_OK);
    assert_int_equal(st_condition_notify(cond, 5), ST_OK);  /* more than there are: wakes the one */
    assert_int_equal(st_lock_release(lock), ST_OK);
    assert_int_equal(test_wait(late, 10000), 0);
    assert_int_equal(field_u64("cond", "wakeups"), 2);
}

/* ---- timeouts, ownership, wait_for -------------------------------------------- */

static void test_wait_times_out_holding_the_lock(void **state)
{
    (void)state;
    assert_int_equal(st_lock_acquire(lock, ST_FOREVER), ST_OK);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(st_condition_wait(cond, ST_MILLISECONDS(120)), ST_ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(waited >= 0.11);
    assert_int_equal(field_u64("cond-lock", "holder"), (uint64_t)getpid());
    assert_int_equal(st_condition_wait(cond, 0), ST_ETIMEDOUT);
    assert_int_equal(st_lock_release(lock), ST_OK);
    assert_int_equal(field_u64("cond", "timeouts"), 2);
    assert_int_equal(field_u64("cond", "waiters"), 0);
    assert_int_equal(field_u64("cond", "wakeups"), 0);
    /* one acquire by us, one re-acquire per wait */
    assert_int_equal(field_u64("cond-lock", "acquisitions"), 3);
}

static int hold_lock_until_told(void *arg)
{
    (void)arg;
    if (st_lock_acquire(lock, ST_FOREVER) != ST_OK)
        return 2;
    __atomic_store_n(&shared->ready, 1, __ATOMIC_SEQ_CST);
    assert_true(test_wait_count(&shared->flag, 1, TEST_WAIT_MS));
    return st_lock_release(lock) == ST_OK ? 0 : 3;
}

static void test_wait_and_notify_need_the_lock(void **state)
{
    (void)state;
    assert_int_equal(st_condition_wait(cond, ST_FOREVER), ST_ENOTOWNER);
    assert_non_null(strstr(st_error_detail(), "cond-lock"));
    assert_int_equal(st_condition_notify(cond, 1), ST_ENOTOWNER);
    assert_int_equal(st_condition_notify_all(cond), ST_ENOTOWNER);
    assert_int_equal(st_condition_wait_for(cond, ring_has_item, NULL, ST_FOREVER), ST_ENOTOWNER);
    /* Held by another process is not held by us. */
    pid_t holder = test_spawn(hold_lock_until_told, NULL);
    assert_true(test_wait_until(flag_raised, &shared->ready, WAIT_MS));
    assert_int_equal(st_condition_wait(cond, 0), ST_ENOTOWNER);
    assert_int_equal(st_condition_notify(cond, 1), ST_ENOTOWNER);
    __atomic_store_n(&shared->flag, 1, __ATOMIC_SEQ_CST);
    assert_int_equal(test_wait(holder, 10000), 0);
    assert_int_equal(field_u64("cond", "notifies"), 0);
    assert_int_equal(field_u64("cond", "timeouts"), 0);
}

static bool flag_is_up(void *arg)
{
    int *calls = arg;
    (*calls)++;
    return __atomic_load_n(&shared->flag, __ATOMIC_SEQ_CST) != 0;
}

static bool rewaiting_after_wakeups(void *arg)
{
    uint64_t wakeups = *(const uint64_t *)arg;
    return field_u64("cond", "wakeups") == wakeups && field_u64("cond", "waiters") == 1;
}

static int raise_flag_and_notify(void *arg)
{
    (void)arg;
    /* The waiter waits (its first wait, no wake-up yet) ... */
    uint64_t wakeups = 0;
    if (!test_wait_until(rewaiting_after_wakeups, &wakeups, WAIT_MS))
        return 7;
    if (st_lock_acquire(lock, ST_FOREVER) != ST_OK)
        return 2;
    /* a notify before the flag is up: the waiter wakes, re-checks, waits on */
    if (st_condition_notify_all(cond) != ST_OK)
        return 3;
    st_lock_release(lock);
    /* ... and waits again after that wake-up. */
    wakeups = 1;
    if (!test_wait_until(rewaiting_after_wakeups, &wakeups, WAIT_MS))
        return 8;
    if (st_lock_acquire(lock, ST_FOREVER) != ST_OK)
        return 4;
    __atomic_store_n(&shared->flag, 1, __ATOMIC_SEQ_CST);
    if (st_condition_notify(cond, 1) != ST_OK)
        return 5;
    return st_lock_release(lock) == ST_OK ? 0 : 6;
}

static void test_wait_for(void **state)
{
    (void)state;
    int calls = 0;
    assert_int_equal(st_lock_acquire(lock, ST_FOREVER), ST_OK);
    /* false until the deadline: ST_ETIMEDOUT, holding the lock */
    assert_int_equal(st_condition_wait_for(cond, flag_is_up, &calls, ST_MILLISECONDS(60)), ST_ETIMEDOUT);
    assert_true(calls >= 2);
    assert_int_equal(field_u64("cond-lock", "holder"), (uint64_t)getpid());
    /* timeout 0 */
    assert_int_equal(st_condition_wait_for(cond, flag_is_up, &calls, 0), ST_ETIMEDOUT);
    /* made true by another process: re-checked after every wake-up */
    calls = 0;
    pid_t raiser = test_spawn(raise_flag_and_notify, NULL);
    assert_int_equal(st_condition_wait_for(cond, flag_is_up, &calls, ST_SECONDS(10)), ST_OK);
    assert_int_equal(calls, 3);  /* before waiting, after the early notify, after the real one */
    /* already true: no wait at all */
    calls = 0;
    assert_int_equal(st_condition_wait_for(cond, flag_is_up, &calls, 0), ST_OK);
    assert_int_equal(calls, 1);
    assert_int_equal(st_lock_release(lock), ST_OK);
    assert_int_equal(test_wait(raiser, 10000), 0);
    assert_int_equal(field_u64("cond", "wakeups"), 2);
}

static int die_holding_lock(void *arg)
{
    (void)arg;
    if (st_lock_acquire(lock, ST_FOREVER) != ST_OK)
        return 2;
    __atomic_store_n(&shared->flag, 1, __ATOMIC_SEQ_CST);
    for (;;)
        pause();
}

static void test_owner_died_is_passed_through(void **state)
{
    (void)state;
    /* The waiter is frozen (SIGSTOP) inside its wait, so that the dier
     * surely takes the lock and dies before the waiter's timeout can end
     * the wait, however busy the machine. */
    int64_t timeout = ST_MILLISECONDS(1000);
    pid_t waiter = test_spawn(wait_once, &timeout);
    const char *session = st_table_session(table);
    assert_true(test_wait_blocked(session, waiter, "cond", WAIT_MS));
    assert_int_equal(kill(waiter, SIGSTOP), 0);
    assert_true(test_wait_state(waiter, 'T', WAIT_MS));
    if (!test_process_blocked(session, waiter, "cond"))
        fail_msg("the waiter left its wait before it was stopped (was this test descheduled "
                 "for its whole 1 s timeout?)");
    /* While the waiter sleeps, another process takes the lock and dies. */
    pid_t dier = test_spawn(die_holding_lock, NULL);
    assert_true(test_wait_until(flag_raised, &shared->flag, WAIT_MS));
    test_kill(dier);
    assert_int_equal(kill(waiter, SIGCONT), 0);
    /* The waiter times out, takes the lock back from the dead holder. */
    assert_int_equal(test_wait(waiter, 10000), 11);
    assert_int_equal(field_u64("cond-lock", "owner_died"), 1);
    assert_int_equal(field_u64("cond", "waiters"), 0);
    assert_int_equal(field_u64("cond", "timeouts"), 1);
}

/* ---- opening, the lock field, bad input --------------------------------------- */

static void test_open_binds_the_lock(void **state)
{
    (void)state;
    st_model *model;
    assert_int_equal(st_model_new(&model), ST_OK);
    const st_object_view *view = object_view(model, "cond");
    assert_string_equal(view->type_name, "condition");
    const st_field *field = st_object_field(view, "lock");
    assert_non_null(field);
    assert_int_equal(field->kind, ST_VALUE_TEXT);
    assert_string_equal(field->value.text, "cond-lock");
    st_model_free(model);
    /* The same lock attaches; another lock is refused, clearly. */
    st_condition *again = NULL;
    assert_int_equal(st_condition_open(table, "cond", lock, &again), ST_OK);
    st_condition_close(again);
    st_lock *other_lock = NULL;
    assert_int_equal(st_lock_open(table, "other-lock", &other_lock), ST_OK);
    assert_int_equal(st_condition_open(table, "cond", other_lock, &again), ST_EINVAL);
    assert_null(again);
    assert_non_null(strstr(st_error_detail(), "cond-lock"));
    assert_non_null(strstr(st_error_detail(), "other-lock"));
    /* A second condition over the other lock; both appear, each naming its lock
     * (text owned by each view, even after the model's array grew). */
    assert_int_equal(st_condition_open(table, "cond-2", other_lock, &again), ST_OK);
    for (int i = 0; i < 80; i++) {
        char name[32];
        snprintf(name, sizeof name, "filler-%d", i);
        st_lock *filler = NULL;
        assert_int_equal(st_lock_open(table, name, &filler), ST_OK);
        st_lock_close(filler);
    }
    assert_int_equal(st_model_new(&model), ST_OK);
    assert_string_equal(st_object_field(object_view(model, "cond-2"), "lock")->value.text, "other-lock");
    assert_string_equal(st_object_field(object_view(model, "cond"), "lock")->value.text, "cond-lock");
    st_model_free(model);
    st_condition_close(again);
    st_lock_close(other_lock);
}

static void test_bad_input(void **state)
{
    (void)state;
    assert_int_equal(st_condition_wait(NULL, ST_FOREVER), ST_EINVAL);
    assert_int_equal(st_condition_wait_for(NULL, ring_has_item, NULL, ST_FOREVER), ST_EINVAL);
    assert_int_equal(st_condition_notify(NULL, 1), ST_EINVAL);
    assert_int_equal(st_condition_notify_all(NULL), ST_EINVAL);
    assert_int_equal(st_lock_acquire(lock, ST_FOREVER), ST_OK);
    assert_int_equal(st_condition_wait(cond, -1), ST_EINVAL);
    assert_non_null(strstr(st_error_detail(), "negative"));
    assert_int_equal(st_condition_wait_for(cond, ring_has_item, NULL, -1), ST_EINVAL);
    assert_int_equal(st_condition_wait_for(cond, NULL, NULL, ST_FOREVER), ST_EINVAL);
    assert_int_equal(st_condition_notify(cond, 0), ST_OK);  /* wakes none, as in Python */
    assert_int_equal(st_lock_release(lock), ST_OK);
    st_condition_close(NULL);

    st_condition *other = NULL;
    assert_int_equal(st_condition_open(NULL, "x", lock, &other), ST_EINVAL);
    assert_int_equal(st_condition_open(table, NULL, lock, &other), ST_EINVAL);
    assert_int_equal(st_condition_open(table, "", lock, &other), ST_EINVAL);
    assert_int_equal(st_condition_open(table, "x", NULL, &other), ST_EINVAL);
    assert_int_equal(st_condition_open(table, "x", lock, NULL), ST_EINVAL);
    char long_name[ST_OBJECT_NAME_MAX + 2];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(st_condition_open(table, long_name, lock, &other), ST_ENAMETOOLONG);
    assert_int_equal(st_condition_open(table, "cond-lock", lock, &other), ST_EWRONGTYPE);
    st_lock *not_a_lock = NULL;
    assert_int_equal(st_lock_open(table, "cond", &not_a_lock), ST_EWRONGTYPE);
    assert_null(other);
    /* A lock of another session cannot carry this session's condition. */
    st_table_options opts = { .session = test_session_new() };
    st_table *elsewhere = NULL;
    assert_int_equal(st_table_open(&opts, &elsewhere), ST_OK);
    st_lock *foreign = NULL;
    assert_int_equal(st_lock_open(elsewhere, "foreign-lock", &foreign), ST_OK);
    assert_int_equal(st_condition_open(table, "x", foreign, &other), ST_EINVAL);
    assert_non_null(strstr(st_error_detail(), "session"));
    st_lock_close(foreign);
    st_table_close(elsewhere);
    assert_int_equal(field_u64("cond", "notifies"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_producer_consumer_hand_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notify_one_wakes_exactly_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_waiter_cannot_steal_a_notification, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_times_out_holding_the_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_and_notify_need_the_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_for, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_died_is_passed_through, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_binds_the_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests_name("condition", tests, NULL, NULL);
}
