/* test_deadlock.c - wait-for cycle detection: hand-made graphs (cycles of
 * every length, chains, trees feeding into a cycle, several cycles,
 * duplicates), then a real two-lock deadlock between two processes seen by
 * the model and by `synctop --once --json`, and starvation flags. */
#include "helpers.h"

#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <synctop/synctop.h>
#include "deadlock.h"

static size_t cycles_of(const st_waitfor_edge *edges, size_t n, st_waitfor_cycle *out, size_t max)
{
    uint32_t scratch[2 * 64];
    assert_true(n <= 64);
    return st_waitfor_find_cycles(edges, n, scratch, out, max);
}

/* The cycle's waiters, in order, starting from the smallest pid. */
static void cycle_pids(const st_waitfor_edge *edges, const st_waitfor_cycle *cycle, pid_t *pids)
{
    uint32_t start = 0;
    for (uint32_t i = 1; i < cycle->length; i++)
        if (edges[cycle->members[i]].waiter < edges[cycle->members[start]].waiter)
            start = i;
    for (uint32_t i = 0; i < cycle->length; i++)
        pids[i] = edges[cycle->members[(start + i) % cycle->length]].waiter;
}

static void test_no_edges_no_cycle(void **state)
{
    (void)state;
    st_waitfor_cycle cycles[4];
    assert_int_equal(cycles_of(NULL, 0, cycles, 4), 0);
}

static void test_chain_is_not_a_cycle(void **state)
{
    (void)state;
    /* 1 -> 2 -> 3 -> 4, and 4 is not blocked. */
    st_waitfor_edge edges[] = { { 1, 2, 10 }, { 2, 3, 11 }, { 3, 4, 12 } };
    st_waitfor_cycle cycles[4];
    assert_int_equal(cycles_of(edges, 3, cycles, 4), 0);
}

static void test_two_process_cycle(void **state)
{
    (void)state;
    st_waitfor_edge edges[] = { { 100, 200, 1 }, { 200, 100, 2 } };
    st_waitfor_cycle cycles[4];
    assert_int_equal(cycles_of(edges, 2, cycles, 4), 1);
    assert_int_equal(cycles[0].length, 2);
    pid_t pids[2];
    cycle_pids(edges, &cycles[0], pids);
    assert_int_equal(pids[0], 100);
    assert_int_equal(pids[1], 200);
}

static void test_long_cycle_in_order(void **state)
{
    (void)state;
    /* 5 -> 3 -> 9 -> 1 -> 7 -> 5, listed shuffled. */
    st_waitfor_edge edges[] = { { 9, 1, 3 }, { 5, 3, 1 }, { 7, 5, 5 }, { 3, 9, 2 }, { 1, 7, 4 } };
    st_waitfor_cycle cycles[4];
    assert_int_equal(cycles_of(edges, 5, cycles, 4), 1);
    assert_int_equal(cycles[0].length, 5);
    /* Each member's holder is the next member's waiter. */
    for (uint32_t i = 0; i < 5; i++)
        assert_int_equal(edges[cycles[0].members[i]].holder, edges[cycles[0].members[(i + 1) % 5]].waiter);
    pid_t pids[5];
    cycle_pids(edges, &cycles[0], pids);
    pid_t expected[5] = { 1, 7, 5, 3, 9 };
    for (int i = 0; i < 5; i++)
        assert_int_equal(pids[i], expected[i]);
}

static void test_tails_into_a_cycle_are_not_in_it(void **state)
{
    (void)state;
    /* 1 <-> 2 is the cycle; 3 -> 1, 4 -> 3 and 5 -> 2 wait on it but are not in it. */
    st_waitfor_edge edges[] = { { 4, 3, 9 }, { 3, 1, 8 }, { 5, 2, 7 }, { 1, 2, 1 }, { 2, 1, 2 } };
    st_waitfor_cycle cycles[4];
    assert_int_equal(cycles_of(edges, 5, cycles, 4), 1);
    assert_int_equal(cycles[0].length, 2);
    pid_t pids[2];
    cycle_pids(edges, &cycles[0], pids);
    assert_int_equal(pids[0], 1);
    assert_int_equal(pids[1], 2);
}

static void test_several_cycles_and_self_loop(void **state)
{
    (void)state;
    st_waitfor_edge edges[] = {
        { 1, 2, 1 }, { 2, 1, 2 },               /* a pair */
        { 10, 11, 3 }, { 11, 12, 4 }, { 12, 10, 5 },  /* a triangle */
        { 20, 21, 6 },                          /* a chain */
        { 30, 30, 7 },                          /* blocked on what it holds */
    };
    st_waitfor_cycle cycles[8];
    assert_int_equal(cycles_of(edges, 7, cycles, 8), 3);
    uint32_t lengths = 0;
    for (int i = 0; i < 3; i++)
        lengths += cycles[i].length;
    assert_int_equal(lengths, 2 + 3 + 1);
    /* Reporting room for one still counts all three. */
    assert_int_equal(cycles_of(edges, 7, cycles, 1), 3);
}

static void test_holder_not_blocked_breaks_the_cycle(void **state)
{
    (void)state;
    /* 1 -> 2 -> 3, 3 -> 1 missing: a near miss. */
    st_waitfor_edge edges[] = { { 1, 2, 1 }, { 2, 3, 2 }, { 3, 4, 3 }, { 4, 5, 4 } };
    st_waitfor_cycle cycles[2];
    assert_int_equal(cycles_of(edges, 4, cycles, 2), 0);
}

/* ---- a real deadlock between two processes ---- */

typedef struct shared_area {
    volatile int holding;
} shared_area;

static shared_area *shared;
static st_table *table;

static int setup(void **state)
{
    (void)state;
    shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(shared != MAP_FAILED);
    shared->holding = 0;
    st_table_options opts = { .session = test_session_new() };
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    return 0;
}

static int teardown(void **state)
{
    test_teardown(state);
    st_table_close(table);
    munmap((void *)shared, sizeof *shared);
    return 0;
}

typedef struct order {
    const char *name;
    const char *first;
    const char *second;
} order;

static int take_in_order(void *arg)
{
    const order *o = arg;
    st_process_register(table, o->name, "philosopher");
    st_lock *first = NULL, *second = NULL;
    if (st_lock_open(table, o->first, &first) != ST_OK || st_lock_open(table, o->second, &second) != ST_OK)
        return 2;
    if (st_lock_acquire(first, ST_FOREVER) != ST_OK)
        return 3;
    __atomic_add_fetch(&shared->holding, 1, __ATOMIC_SEQ_CST);
    assert_true(test_wait_count(&shared->holding, 2, TEST_WAIT_MS));
    st_lock_acquire(second, ST_FOREVER);   /* never returns: the other holds it */
    return 4;
}

static st_model *model_of_session(void)
{
    st_table *reader = NULL;
    assert_int_equal(st_table_attach_readonly(st_table_session(table), &reader), ST_OK);
    st_model *model = NULL;
    assert_int_equal(st_model_new(&model), ST_OK);
    st_model_set_starvation_threshold(model, 100000000ull);
    /* Both must be blocked in the table: poll until the cycle shows (the
     * tests then assert it did). */
    double deadline = test_now() + TEST_WAIT_MS / 1000.0;
    do {
        assert_int_equal(st_model_refresh(model, reader), ST_OK);
        if (st_model_deadlock_count(model) > 0)
            break;
        test_sleep_ms(5);   /* a poll interval, not synchronization */
    } while (test_now() < deadline);
    st_table_close(reader);
    return model;
}

static void test_two_locks_in_opposite_orders(void **state)
{
    (void)state;
    static const order left = { "left", "fork-a", "fork-b" };
    static const order right = { "right", "fork-b", "fork-a" };
    pid_t a = test_spawn(take_in_order, (void *)&left);
    pid_t b = test_spawn(take_in_order, (void *)&right);
    st_model *model = model_of_session();
    assert_int_equal(st_model_deadlock_count(model), 1);
    const st_deadlock_view *cycle = st_model_deadlock(model, 0);
    assert_int_equal(cycle->length, 2);
    int a_at = cycle->pids[0] == a ? 0 : 1;
    assert_int_equal(cycle->pids[a_at], a);
    assert_int_equal(cycle->pids[1 - a_at], b);
    assert_string_equal(cycle->process_names[a_at], "left");
    assert_string_equal(cycle->locks[a_at], "fork-b");     /* left waits for fork-b, held by right */
    assert_string_equal(cycle->locks[1 - a_at], "fork-a");
    for (size_t i = 0; i < st_model_process_count(model); i++) {
        const st_process_view *process = st_model_process(model, i);
        if (process->pid == a || process->pid == b)
            assert_true(process->deadlocked);
        else
            assert_false(process->deadlocked);
    }
    st_model_free(model);

    /* The same cycle, as synctop prints it. */
    char *out = NULL;
    char *argv[] = { SYNCTOP_BINARY, "--once", "--json", "-s", (char *)st_table_session(table), NULL };
    assert_int_equal(test_run(argv, &out, NULL, 20000), 0);
    json_object *root = json_tokener_parse(out);
    assert_non_null(root);
    json_object *deadlocks = json_object_object_get(root, "deadlocks");
    assert_int_equal(json_object_array_length(deadlocks), 1);
    json_object *steps = json_object_object_get(json_object_array_get_idx(deadlocks, 0), "cycle");
    assert_int_equal(json_object_array_length(steps), 2);
    for (size_t i = 0; i < 2; i++) {
        json_object *step = json_object_array_get_idx(steps, i);
        pid_t pid = (pid_t)json_object_get_int64(json_object_object_get(step, "pid"));
        const char *waits_for = json_object_get_string(json_object_object_get(step, "waits_for"));
        pid_t held_by = (pid_t)json_object_get_int64(json_object_object_get(step, "held_by"));
        assert_true(pid == a || pid == b);
        assert_string_equal(waits_for, pid == a ? "fork-b" : "fork-a");
        assert_int_equal(held_by, pid == a ? b : a);
    }
    json_object_put(root);
    free(out);
    test_kill(a);
    test_kill(b);
}

static int wait_on_held(void *arg)
{
    (void)arg;
    st_lock *lock = NULL;
    if (st_lock_open(table, "hog", &lock) != ST_OK)
        return 2;
    st_lock_acquire(lock, ST_FOREVER);
    return 0;
}

typedef struct waiter_look {
    st_model *model;
    st_table *reader;
    pid_t waiter;
    const st_process_view *view;   /* the waiter in the last refresh */
    uint64_t at_least_ns;
} waiter_look;

/* One refresh: whether the waiter shows blocked for at least at_least_ns. */
static bool waiter_blocked_for(void *arg)
{
    waiter_look *look = arg;
    assert_int_equal(st_model_refresh(look->model, look->reader), ST_OK);
    look->view = NULL;
    for (size_t p = 0; p < st_model_process_count(look->model); p++)
        if (st_model_process(look->model, p)->pid == look->waiter)
            look->view = st_model_process(look->model, p);
    return look->view != NULL && look->view->blocked && look->view->blocked_for_ns >= look->at_least_ns;
}

static void test_long_wait_is_starving_not_deadlocked(void **state)
{
    (void)state;
    st_lock *hog = NULL;
    assert_int_equal(st_lock_open(table, "hog", &hog), ST_OK);
    assert_int_equal(st_lock_acquire(hog, ST_FOREVER), ST_OK);
    pid_t waiter = test_spawn(wait_on_held, NULL);
    st_table *reader = NULL;
    assert_int_equal(st_table_attach_readonly(st_table_session(table), &reader), ST_OK);
    st_model *model = NULL;
    assert_int_equal(st_model_new(&model), ST_OK);
    /* First with a threshold no wait in this test reaches, however long
     * the machine keeps the test from looking: blocked, not starving. */
    st_model_set_starvation_threshold(model, (uint64_t)ST_SECONDS(3600));
    waiter_look look = { model, reader, waiter, NULL, 0 };
    assert_true(test_wait_until(waiter_blocked_for, &look, TEST_WAIT_MS));
    const st_process_view *view = look.view;
    assert_true(view->blocked);
    assert_false(view->starving);
    /* Then 150 ms: once the waiter has been blocked that long, it starves. */
    st_model_set_starvation_threshold(model, 150000000ull);
    assert_int_equal(st_model_starvation_threshold(model), 150000000ull);
    look.at_least_ns = 150000000ull;
    assert_true(test_wait_until(waiter_blocked_for, &look, TEST_WAIT_MS));
    view = look.view;
    assert_true(view->starving);
    assert_false(view->deadlocked);
    assert_int_equal(st_model_deadlock_count(model), 0);
    st_model_free(model);
    st_table_close(reader);
    test_kill(waiter);
    st_lock_release(hog);
    st_lock_close(hog);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_edges_no_cycle),
        cmocka_unit_test(test_chain_is_not_a_cycle),
        cmocka_unit_test(test_two_process_cycle),
        cmocka_unit_test(test_long_cycle_in_order),
        cmocka_unit_test(test_tails_into_a_cycle_are_not_in_it),
        cmocka_unit_test(test_several_cycles_and_self_loop),
        cmocka_unit_test(test_holder_not_blocked_breaks_the_cycle),
        cmocka_unit_test_setup_teardown(test_two_locks_in_opposite_orders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_wait_is_starving_not_deadlocked, setup, teardown),
    };
    return cmocka_run_group_tests_name("deadlock", tests, NULL, test_teardown);
}
