/* test_process.c - process slots: explicit and implicit registration, states
 * and heartbeats, fork, reclaiming the slot of a process killed with
 * SIGKILL, and the end a parent records when it reaps a child (exit status
 * or signal, kept a while, then reclaimed). */
#include "helpers.h"
#include "internal.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <synctop/synctop.h>

static st_table *table;
static volatile int *flag;

static int setup(void **state)
{
    (void)state;
    flag = mmap(NULL, sizeof *flag, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(flag != MAP_FAILED);
    *flag = 0;
    st_table_options opts = { .session = test_session_new() };
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    return 0;
}

static int teardown(void **state)
{
    test_teardown(state);
    st_table_close(table);
    table = NULL;
    munmap((void *)flag, sizeof *flag);
    return 0;
}

/* A fresh model of the test's session. */
static st_model *refreshed_model(void)
{
    st_table *reader = NULL;
    assert_int_equal(st_table_attach_readonly(st_table_session(table), &reader), ST_OK);
    st_model *model = NULL;
    assert_int_equal(st_model_new(&model), ST_OK);
    assert_int_equal(st_model_refresh(model, reader), ST_OK);
    st_table_close(reader);
    return model;
}

static const st_process_view *find_pid(st_model *model, pid_t pid)
{
    for (size_t i = 0; i < st_model_process_count(model); i++)
        if (st_model_process(model, i)->pid == pid)
            return st_model_process(model, i);
    return NULL;
}

static void test_register_explicitly(void **state)
{
    (void)state;
    assert_int_equal(st_process_register(table, "teller-1", "worker"), ST_OK);
    assert_int_equal(st_process_set_state(table, ST_PROCESS_UNHEALTHY), ST_OK);
    assert_int_equal(st_process_heartbeat(table), ST_OK);
    st_model *model = refreshed_model();
    const st_process_view *me = find_pid(model, getpid());
    assert_non_null(me);
    assert_string_equal(me->name, "teller-1");
    assert_string_equal(me->role, "worker");
    assert_int_equal(me->state, ST_PROCESS_UNHEALTHY);
    assert_true(me->alive);
    assert_true(me->sampled);
    assert_true(me->rss_bytes > 0);
    assert_true(me->heartbeat_age_ns < 5000000000ull);
    assert_false(me->blocked);
    /* Registering again renames, it does not take a second slot. */
    assert_int_equal(st_process_register(table, "teller-one", NULL), ST_OK);
    st_model_free(model);
    model = refreshed_model();
    assert_string_equal(find_pid(model, getpid())->name, "teller-one");
    assert_string_equal(find_pid(model, getpid())->role, "worker");
    size_t mine = 0;
    for (size_t i = 0; i < st_model_process_count(model); i++)
        mine += st_model_process(model, i)->pid == getpid();
    assert_int_equal(mine, 1);
    st_model_free(model);
}

static void test_bad_input(void **state)
{
    (void)state;
    char long_name[ST_PROCESS_NAME_MAX + 2];
    memset(long_name, 'p', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(st_process_register(table, long_name, NULL), ST_ENAMETOOLONG);
    assert_int_equal(st_process_register(NULL, "x", NULL), ST_EINVAL);
    assert_int_equal(st_process_set_state(table, ST_PROCESS_STATE_COUNT), ST_EINVAL);
    assert_int_equal(st_process_set_state(NULL, ST_PROCESS_RUNNING), ST_EINVAL);
    assert_int_equal(st_process_heartbeat(NULL), ST_EINVAL);
    assert_string_equal(st_process_state_name(ST_PROCESS_CRASHED), "crashed");
    assert_string_equal(st_process_state_name((st_process_state)99), "unknown");
    assert_string_equal(st_operation_name(ST_OP_ACQUIRE), "acquire");
}

static int child_uses_inherited_lock(void *arg)
{
    st_lock *lock = arg;
    /* The first primitive call after fork registers the child. */
    if (st_lock_acquire(lock, ST_FOREVER) != ST_OK || st_lock_release(lock) != ST_OK)
        return 2;
    *flag = 1;
    for (;;)
        pause();
}

static void test_fork_child_registers_on_first_call(void **state)
{
    (void)state;
    st_lock *lock = NULL;
    assert_int_equal(st_lock_open(table, "inherited", &lock), ST_OK);
    pid_t child = test_spawn(child_uses_inherited_lock, lock);
    assert_true(test_wait_count(flag, 1, TEST_WAIT_MS));
    st_model *model = refreshed_model();
    const st_process_view *view = find_pid(model, child);
    assert_non_null(view);
    assert_true(view->alive);
    assert_int_equal(view->state, ST_PROCESS_RUNNING);
    /* The parent keeps its own slot. */
    assert_non_null(find_pid(model, getpid()));
    st_model_free(model);
    test_kill(child);
    st_lock_close(lock);
}

static int register_then_wait(void *arg)
{
    (void)arg;
    if (st_process_register(table, "doomed", "victim") != ST_OK)
        return 2;
    *flag = 1;
    for (;;)
        pause();
}

static void test_killed_process_slot_is_reclaimed(void **state)
{
    (void)state;
    pid_t child = test_spawn(register_then_wait, NULL);
    assert_true(test_wait_count(flag, 1, TEST_WAIT_MS));
    st_model *model = refreshed_model();
    assert_true(find_pid(model, child)->alive);
    st_model_free(model);

    test_kill(child);
    model = refreshed_model();
    const st_process_view *dead = find_pid(model, child);
    assert_non_null(dead);
    assert_false(dead->alive);
    st_model_free(model);

    uint32_t reclaimed = 0;
    assert_int_equal(st_table_reclaim_dead(table, &reclaimed), ST_OK);
    assert_int_equal(reclaimed, 1);
    model = refreshed_model();
    assert_null(find_pid(model, child));
    assert_non_null(find_pid(model, getpid()));
    st_model_free(model);
    assert_int_equal(st_table_reclaim_dead(table, &reclaimed), ST_OK);
    assert_int_equal(reclaimed, 0);
}

static int register_and_exit(void *arg)
{
    (void)arg;
    return st_process_register(table, "short-lived", NULL) == ST_OK ? 0 : 2;
}

static void test_full_table_reclaims_dead_slots(void **state)
{
    (void)state;
    st_table_options opts = { .session = test_session_new(), .process_capacity = 3 };
    st_table *small = NULL;
    assert_int_equal(st_table_open(&opts, &small), ST_OK);
    st_table *saved = table;
    table = small;
    /* Ten processes come and go through a table of three slots. */
    for (int i = 0; i < 10; i++) {
        pid_t child = test_spawn(register_and_exit, NULL);
        assert_int_equal(test_wait(child, 10000), 0);
    }
    table = saved;
    st_table_close(small);
}

static void test_unregister(void **state)
{
    (void)state;
    assert_int_equal(st_process_register(table, "leaving", NULL), ST_OK);
    assert_int_equal(st_process_unregister(table), ST_OK);
    st_model *model = refreshed_model();
    assert_null(find_pid(model, getpid()));
    st_model_free(model);
}

static int register_and_signal(void *arg)
{
    int code = *(int *)arg;
    if (st_process_register(table, code ? "failer" : "finisher", NULL) != ST_OK)
        return 2;
    *flag = 1;
    if (code < 0)
        for (;;)
            pause();
    return code;
}

/* Fork a child that registers, wait for that, and read its start time. */
static pid_t registered_child(int *code, uint64_t *start)
{
    *flag = 0;
    pid_t child = test_spawn(register_and_signal, code);
    assert_true(test_wait_count(flag, 1, TEST_WAIT_MS));
    assert_int_equal(st_process_start_time(child, start), ST_OK);
    assert_true(*start > 0);
    return child;
}

static void test_recorded_exit_status_and_signal(void **state)
{
    (void)state;
    static int three = 3, forever = -1;
    uint64_t failer_start, victim_start;
    pid_t failer = registered_child(&three, &failer_start);
    assert_int_equal(test_wait(failer, TEST_WAIT_MS), 3);
    pid_t victim = registered_child(&forever, &victim_start);
    test_kill(victim);

    /* Found dead, nothing recorded yet: exited, how is not known. */
    st_model *model = refreshed_model();
    assert_int_equal(find_pid(model, failer)->state, ST_PROCESS_EXITED);
    assert_false(find_pid(model, failer)->exit_known);
    assert_int_equal(find_pid(model, failer)->exit_status, -1);
    st_model_free(model);

    /* A stop is not an end; a wrong start time is another process. */
    assert_int_equal(st_process_record_exit(table, failer, failer_start, 0x137f), ST_EINVAL);
    assert_int_equal(st_process_record_exit(table, failer, failer_start + 1, 3 << 8), ST_ENOENT);
    assert_int_equal(st_process_record_exit(NULL, failer, failer_start, 3 << 8), ST_EINVAL);
    assert_int_equal(st_process_record_exit(table, failer, failer_start, 3 << 8), ST_OK);
    /* Start time unknown: the slot of the pid whose process is gone. */
    assert_int_equal(st_process_record_exit(table, victim, 0, SIGKILL), ST_OK);
    /* Once recorded, an unknown start time finds nothing more to record. */
    assert_int_equal(st_process_record_exit(table, victim, 0, SIGKILL), ST_ENOENT);

    model = refreshed_model();
    const st_process_view *view = find_pid(model, failer);
    assert_non_null(view);
    assert_int_equal(view->state, ST_PROCESS_EXITED);
    assert_false(view->alive);
    assert_true(view->exit_known);
    assert_int_equal(view->exit_status, 3);
    assert_int_equal(view->exit_signal, -1);
    view = find_pid(model, victim);
    assert_non_null(view);
    assert_int_equal(view->state, ST_PROCESS_EXITED);
    assert_true(view->exit_known);
    assert_int_equal(view->exit_status, -1);
    assert_int_equal(view->exit_signal, SIGKILL);
    assert_false(view->core_dumped);
    st_model_free(model);
}

static void test_exited_kept_a_while_then_reclaimed(void **state)
{
    (void)state;
    static int zero = 0;
    uint64_t start;
    pid_t child = registered_child(&zero, &start);
    assert_int_equal(test_wait(child, TEST_WAIT_MS), 0);
    assert_int_equal(st_process_record_exit(table, child, start, 0), ST_OK);

    /* A registration soon after leaves it for the viewer ... */
    assert_int_equal(st_process_register(table, "newcomer", NULL), ST_OK);
    st_model *model = refreshed_model();
    assert_non_null(find_pid(model, child));
    assert_int_equal(find_pid(model, child)->exit_status, 0);
    st_model_free(model);

    /* ... one after ST_EXITED_KEEP_NS frees it (the reap is moved back in time). */
    st_process_slot *slot = NULL;
    for (uint32_t i = 0; i < table->process_capacity; i++)
        if (table->processes[i].status == ST_SLOT_LIVE && table->processes[i].pid == child)
            slot = &table->processes[i];
    assert_non_null(slot);
    slot->exited_ns = st_monotonic_ns() - ST_EXITED_KEEP_NS - 1;
    assert_int_equal(st_process_unregister(table), ST_OK);
    assert_int_equal(st_process_register(table, "newcomer", NULL), ST_OK);
    model = refreshed_model();
    assert_null(find_pid(model, child));
    assert_non_null(find_pid(model, getpid()));
    st_model_free(model);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_explicitly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_child_registers_on_first_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_process_slot_is_reclaimed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_table_reclaims_dead_slots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unregister, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recorded_exit_status_and_signal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exited_kept_a_while_then_reclaimed, setup, teardown),
    };
    return cmocka_run_group_tests_name("process", tests, NULL, NULL);
}
