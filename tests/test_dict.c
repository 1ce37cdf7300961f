/* test_dict.c - the shared dict (the Manager lesson) across processes:
 * workers writing disjoint keys while a monitor reads consistent items,
 * read-modify-write under the built-in lock, delete, full, bad input, and
 * the figures the model reads back. */
#include "helpers.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <synctop/synctop.h>

typedef struct shared_area {
    volatile int ready;
    volatile int go;
    volatile int workers_done;
    volatile int monitor_rounds;
} shared_area;

static shared_area *shared;
static st_table *table;
static const char *session;
static st_dict *dict;

static int setup(void **state)
{
    (void)state;
    shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(shared != MAP_FAILED);
    memset((void *)shared, 0, sizeof *shared);
    session = test_session_new();
    st_table_options opts = { .session = session };
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    dict = NULL;
    return 0;
}

static int teardown(void **state)
{
    test_teardown(state);
    st_dict_close(dict);
    dict = NULL;
    st_table_close(table);
    table = NULL;
    munmap((void *)shared, sizeof *shared);
    return 0;
}

static uint64_t dict_figure(const char *dict_name, const char *field_name)
{
    st_table *reader = NULL;
    assert_int_equal(st_table_attach_readonly(session, &reader), ST_OK);
    st_model *model;
    assert_int_equal(st_model_new(&model), ST_OK);
    assert_int_equal(st_model_refresh(model, reader), ST_OK);
    st_table_close(reader);
    uint64_t value = UINT64_MAX;
    for (size_t i = 0; i < st_model_object_count(model); i++) {
        const st_object_view *object = st_model_object(model, i);
        if (strcmp(object->name, dict_name) != 0)
            continue;
        assert_string_equal(object->type_name, "dict");
        const st_field *field = st_object_field(object, field_name);
        assert_non_null(field);
        assert_int_equal(field->kind, ST_VALUE_U64);
        value = field->value.u64;
    }
    st_model_free(model);
    if (value == UINT64_MAX)
        fail_msg("dict '%s' is not in the model", dict_name);
    return value;
}

/* ---- the dispatcher / workers / monitor lesson ---- */

#define WORKERS 3
#define KEYS_PER_WORKER 100

static void key_of(int worker, int i, char *out, size_t size)
{
    snprintf(out, size, "job-%d-%03d", worker, i);
}

static void value_of(int worker, int i, int round, char *out, size_t size)
{
    snprintf(out, size, "worker %d did job %d (round %d)", worker, i, round);
}

static int worker(void *arg)
{
    int w = (int)(intptr_t)arg;
    st_table *own = NULL;
    st_table_options opts = { .session = session };
    st_dict *mine;
    if (st_table_open(&opts, &own) != ST_OK || st_dict_open(own, "results", 512, &mine) != ST_OK)
        return 2;
    __atomic_add_fetch(&shared->ready, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&shared->go, __ATOMIC_SEQ_CST)) {}
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < KEYS_PER_WORKER; i++) {
            char key[32], value[64];
            key_of(w, i, key, sizeof key);
            value_of(w, i, round, value, sizeof value);
            if (st_dict_set(mine, key, value, strlen(value) + 1) != ST_OK)
                return 3;
        }
    }
    st_dict_close(mine);
    st_table_close(own);
    __atomic_add_fetch(&shared->workers_done, 1, __ATOMIC_SEQ_CST);
    return 0;
}

/* Reads items while the workers write: every item it sees is whole. */
static int monitor(void *arg)
{
    (void)arg;
    static st_dict_item items[512];
    __atomic_add_fetch(&shared->ready, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&shared->go, __ATOMIC_SEQ_CST)) {}
    size_t last = 0;
    for (;;) {
        bool finished = __atomic_load_n(&shared->workers_done, __ATOMIC_SEQ_CST) == WORKERS;
        size_t count;
        if (st_dict_items(dict, items, 512, &count) != ST_OK)
            return 2;
        if (count < last || count > WORKERS * KEYS_PER_WORKER)
            return 3;   /* keys are only added */
        last = count;
        for (size_t i = 0; i < count; i++) {
            int w, job;
            if (sscanf(items[i].key, "job-%d-%d", &w, &job) != 2)
                return 4;
            char round0[64], round1[64];
            value_of(w, job, 0, round0, sizeof round0);
            value_of(w, job, 1, round1, sizeof round1);
            if (items[i].size != strlen(round0) + 1 ||
                (strcmp((const char *)items[i].value, round0) != 0 &&
                 strcmp((const char *)items[i].value, round1) != 0))
                return 5;
        }
        __atomic_add_fetch(&shared->monitor_rounds, 1, __ATOMIC_SEQ_CST);
        if (finished)
            return 0;
        test_sleep_ms(1);   /* the monitor's pace between two looks, not synchronization */
    }
}

static void test_workers_and_a_monitor(void **state)
{
    (void)state;
    assert_int_equal(st_dict_open(table, "results", 512, &dict), ST_OK);
    pid_t pids[WORKERS + 1];
    for (int w = 0; w < WORKERS; w++)
        pids[w] = test_spawn(worker, (void *)(intptr_t)w);
    pids[WORKERS] = test_spawn(monitor, NULL);
    assert_true(test_wait_count(&shared->ready, WORKERS + 1, TEST_WAIT_MS));
    __atomic_store_n(&shared->go, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i <= WORKERS; i++)
        assert_int_equal(test_wait(pids[i], 60000), 0);
    assert_true(shared->monitor_rounds >= 1);

    size_t entries;
    assert_int_equal(st_dict_size(dict, &entries), ST_OK);
    assert_int_equal(entries, WORKERS * KEYS_PER_WORKER);
    static st_dict_item items[WORKERS * KEYS_PER_WORKER];
    size_t count;
    assert_int_equal(st_dict_items(dict, items, WORKERS * KEYS_PER_WORKER, &count), ST_OK);
    assert_int_equal(count, WORKERS * KEYS_PER_WORKER);
    bool seen[WORKERS][KEYS_PER_WORKER] = { { false } };
    for (size_t i = 0; i < count; i++) {
        int w, job;
        assert_int_equal(sscanf(items[i].key, "job-%d-%d", &w, &job), 2);
        char expected[64];
        value_of(w, job, 1, expected, sizeof expected);
        assert_string_equal((const char *)items[i].value, expected);
        assert_false(seen[w][job]);
        seen[w][job] = true;
    }
    char value[64];
    size_t size;
    assert_int_equal(st_dict_get(dict, "job-2-042", value, sizeof value, &size), ST_OK);
    assert_string_equal(value, "worker 2 did job 42 (round 1)");
    assert_int_equal(size, strlen(value) + 1);

    assert_int_equal(dict_figure("results", "entries"), WORKERS * KEYS_PER_WORKER);
    assert_int_equal(dict_figure("results", "capacity"), 512);
    assert_int_equal(dict_figure("results", "sets"), 2 * WORKERS * KEYS_PER_WORKER);
    assert_int_equal(dict_figure("results", "gets"), 1);
    assert_int_equal(dict_figure("results", "misses"), 0);
    assert_int_equal(dict_figure("results", "deletes"), 0);
    /* Each set, get and items call took the built-in lock once (after the
     * one acquisition that created the data segment). */
    uint64_t acquisitions = dict_figure("results", "acquisitions");
    assert_true(acquisitions >= 2 * WORKERS * KEYS_PER_WORKER + 1 + 1 + 1 + (uint64_t)shared->monitor_rounds);
}

/* ---- read-modify-write under the built-in lock ---- */

#define INCREMENTS 2000

static int counter_worker(void *arg)
{
    (void)arg;
    st_lock *lock;
    if (st_dict_get_lock(dict, &lock) != ST_OK)
        return 2;
    for (int i = 0; i < INCREMENTS; i++) {
        if (st_lock_acquire(lock, ST_SECONDS(30)) != ST_OK)
            return 3;
        long count = 0;
        size_t size;
        st_result r = st_dict_get(dict, "count", &count, sizeof count, &size);
        if (r != ST_OK && r != ST_ENOENT)
            return 4;
        count++;
        if (st_dict_set(dict, "count", &count, sizeof count) != ST_OK)
            return 5;
        if (st_lock_release(lock) != ST_OK)
            return 6;
    }
    return 0;
}

static void test_increments_under_the_lock_are_exact(void **state)
{
    (void)state;
    assert_int_equal(st_dict_open(table, "tally", 8, &dict), ST_OK);
    pid_t a = test_spawn(counter_worker, NULL);
    pid_t b = test_spawn(counter_worker, NULL);
    assert_int_equal(test_wait(a, 60000), 0);
    assert_int_equal(test_wait(b, 60000), 0);
    long count = 0;
    size_t size = 0;
    assert_int_equal(st_dict_get(dict, "count", &count, sizeof count, &size), ST_OK);
    assert_int_equal(size, sizeof count);
    assert_int_equal(count, 2 * INCREMENTS);
    /* One miss only: the very first get, before anyone set the key. */
    assert_int_equal(dict_figure("tally", "misses"), 1);
    assert_int_equal(dict_figure("tally", "sets"), 2 * INCREMENTS);
}

/* ---- delete, full, reuse ---- */

static void test_delete_and_full(void **state)
{
    (void)state;
    assert_int_equal(st_dict_open(table, "small", 4, &dict), ST_OK);
    const char *keys[] = { "a", "b", "c", "d" };
    for (int i = 0; i < 4; i++)
        assert_int_equal(st_dict_set(dict, keys[i], keys[i], 2), ST_OK);
    assert_int_equal(st_dict_set(dict, "e", "e", 2), ST_EFULL);
    assert_non_null(strstr(st_error_detail(), "all 4 entries"));
    /* Replacing a key of a full dict is fine. */
    assert_int_equal(st_dict_set(dict, "b", "B!", 3), ST_OK);
    char value[8];
    assert_int_equal(st_dict_get(dict, "b", value, sizeof value, NULL), ST_OK);
    assert_string_equal(value, "B!");

    assert_int_equal(st_dict_delete(dict, "c"), ST_OK);
    assert_int_equal(st_dict_get(dict, "c", value, sizeof value, NULL), ST_ENOENT);
    assert_int_equal(st_dict_delete(dict, "c"), ST_ENOENT);
    assert_int_equal(st_dict_set(dict, "e", "e", 2), ST_OK);   /* room again */
    size_t entries;
    assert_int_equal(st_dict_size(dict, &entries), ST_OK);
    assert_int_equal(entries, 4);
    assert_int_equal(dict_figure("small", "entries"), 4);
    assert_int_equal(dict_figure("small", "deletes"), 1);
    assert_int_equal(dict_figure("small", "misses"), 2);

    /* An empty value, and a value read into a buffer too small. */
    assert_int_equal(st_dict_set(dict, "a", NULL, 0), ST_OK);
    size_t size = 99;
    assert_int_equal(st_dict_get(dict, "a", NULL, 0, &size), ST_OK);
    assert_int_equal(size, 0);
    assert_int_equal(st_dict_get(dict, "b", value, 2, &size), ST_EOVERFLOW);
    assert_int_equal(size, 3);

    /* Many deletes and inserts: tombstones get cleared, nothing is lost. */
    for (int round = 0; round < 200; round++) {
        char key[16], previous[16] = "e";
        snprintf(key, sizeof key, "k%d", round);
        if (round > 0)
            snprintf(previous, sizeof previous, "k%d", round - 1);
        assert_int_equal(st_dict_delete(dict, previous), ST_OK);
        assert_int_equal(st_dict_set(dict, key, &round, sizeof round), ST_OK);
    }
    assert_int_equal(st_dict_size(dict, &entries), ST_OK);
    assert_int_equal(entries, 4);
    int last;
    assert_int_equal(st_dict_get(dict, "k199", &last, sizeof last, NULL), ST_OK);
    assert_int_equal(last, 199);
    assert_int_equal(st_dict_get(dict, "b", value, sizeof value, NULL), ST_OK);
    assert_string_equal(value, "B!");
    assert_true(dict_figure("small", "rehashes") > 0);
    st_dict_item items[8];
    size_t count;
    assert_int_equal(st_dict_items(dict, items, 2, &count), ST_OK);
    assert_int_equal(count, 4);   /* the total, though only two were copied */
}

static void test_dict_bad_input(void **state)
{
    (void)state;
    st_dict *other = NULL;
    assert_int_equal(st_dict_open(table, "d", 0, &other), ST_EINVAL);
    assert_int_equal(st_dict_open(table, "d", ST_DICT_MAX_CAPACITY + 1, &other), ST_EINVAL);
    assert_int_equal(st_dict_open(table, "d", 4, NULL), ST_EINVAL);
    assert_int_equal(st_dict_open(NULL, "d", 4, &other), ST_EINVAL);
    char long_name[ST_OBJECT_NAME_MAX + 2];
    memset(long_name, 'd', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(st_dict_open(table, long_name, 4, &other), ST_ENAMETOOLONG);
    st_lock *lock;
    assert_int_equal(st_lock_open(table, "a-lock", &lock), ST_OK);
    assert_int_equal(st_dict_open(table, "a-lock", 4, &other), ST_EWRONGTYPE);
    st_lock_close(lock);
    assert_null(other);
    assert_int_equal(st_dict_open(table, "d", 4, &dict), ST_OK);

    char key[ST_DICT_KEY_MAX + 2];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    assert_int_equal(st_dict_set(dict, key, "v", 1), ST_ENAMETOOLONG);
    assert_int_equal(st_dict_get(dict, key, NULL, 0, NULL), ST_ENAMETOOLONG);
    assert_int_equal(st_dict_delete(dict, key), ST_ENAMETOOLONG);
    key[ST_DICT_KEY_MAX] = '\0';   /* exactly the limit */
    assert_int_equal(st_dict_set(dict, key, "v", 1), ST_OK);
    unsigned char big[ST_DICT_VALUE_MAX + 1];
    memset(big, 0x5a, sizeof big);
    assert_int_equal(st_dict_set(dict, "big", big, sizeof big), ST_EOVERFLOW);
    assert_int_equal(st_dict_set(dict, "big", big, ST_DICT_VALUE_MAX), ST_OK);
    unsigned char back[ST_DICT_VALUE_MAX];
    size_t size;
    assert_int_equal(st_dict_get(dict, "big", back, sizeof back, &size), ST_OK);
    assert_int_equal(size, ST_DICT_VALUE_MAX);
    assert_memory_equal(back, big, ST_DICT_VALUE_MAX);
    assert_int_equal(st_dict_set(dict, "", "v", 1), ST_EINVAL);
    assert_int_equal(st_dict_set(dict, NULL, "v", 1), ST_EINVAL);
    assert_int_equal(st_dict_set(dict, "x", NULL, 1), ST_EINVAL);
    assert_int_equal(st_dict_get(dict, "x", NULL, 4, NULL), ST_EINVAL);
    assert_int_equal(st_dict_set(NULL, "x", "v", 1), ST_EINVAL);
    assert_int_equal(st_dict_get(NULL, "x", back, 1, NULL), ST_EINVAL);
    assert_int_equal(st_dict_delete(NULL, "x"), ST_EINVAL);
    assert_int_equal(st_dict_size(NULL, &size), ST_EINVAL);
    assert_int_equal(st_dict_size(dict, NULL), ST_EINVAL);
    assert_int_equal(st_dict_items(NULL, NULL, 0, &size), ST_EINVAL);
    assert_int_equal(st_dict_items(dict, NULL, 1, &size), ST_EINVAL);
    assert_int_equal(st_dict_items(dict, NULL, 0, NULL), ST_EINVAL);
    assert_int_equal(st_dict_items(dict, NULL, 0, &size), ST_OK);
    assert_int_equal(size, 2);
    assert_int_equal(st_dict_get_lock(NULL, &lock), ST_EINVAL);
    assert_int_equal(st_dict_get_lock(dict, NULL), ST_EINVAL);
    st_dict_close(NULL);
    /* Opening again attaches, whatever capacity it asks for. */
    assert_int_equal(st_dict_open(table, "d", 1000, &other), ST_OK);
    assert_int_equal(st_dict_get(other, "big", back, sizeof back, &size), ST_OK);
    st_dict_close(other);
    assert_int_equal(dict_figure("d", "capacity"), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_workers_and_a_monitor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_increments_under_the_lock_are_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_and_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dict_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests_name("dict", tests, NULL, NULL);
}
