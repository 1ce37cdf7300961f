/* test_table.c - the session table's life: a creation race between several
 * processes, capacities and what "full" says, names, permissions, listing and
 * removing sessions, and the read-only attach. */
#include "helpers.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <synctop/synctop.h>

typedef struct start_line {
    volatile int ready;
    volatile int go;
} start_line;

static start_line *line;

static int setup(void **state)
{
    (void)state;
    line = mmap(NULL, sizeof *line, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(line != MAP_FAILED);
    memset((void *)line, 0, sizeof *line);
    return 0;
}

static int teardown(void **state)
{
    test_teardown(state);
    munmap((void *)line, sizeof *line);
    return 0;
}

#define RACERS 8
#define RACE_ACQUISITIONS 1000

static int open_at_the_same_time(void *arg)
{
    const char *session = arg;
    __atomic_add_fetch(&line->ready, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&line->go, __ATOMIC_SEQ_CST)) {}
    st_table *table = NULL;
    st_table_options opts = { .session = session };
    if (st_table_open(&opts, &table) != ST_OK)
        return 2;
    st_lock *lock = NULL;
    if (st_lock_open(table, "race-lock", &lock) != ST_OK)
        return 3;
    for (int i = 0; i < RACE_ACQUISITIONS; i++) {
        if (st_lock_acquire(lock, ST_FOREVER) != ST_OK)
            return 4;
        st_lock_release(lock);
    }
    st_lock_close(lock);
    st_table_close(table);
    return 0;
}

static void test_creation_race_makes_one_table(void **state)
{
    (void)state;
    const char *session = test_session_new();
    pid_t pids[RACERS];
    for (int i = 0; i < RACERS; i++)
        pids[i] = test_spawn(open_at_the_same_time, (void *)session);
    assert_true(test_wait_count(&line->ready, RACERS, TEST_WAIT_MS));
    __atomic_store_n(&line->go, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < RACERS; i++)
        assert_int_equal(test_wait(pids[i], 60000), 0);

    st_table *reader = NULL;
    assert_int_equal(st_table_attach_readonly(session, &reader), ST_OK);
    st_model *model = NULL;
    assert_int_equal(st_model_new(&model), ST_OK);
    assert_int_equal(st_model_refresh(model, reader), ST_OK);
    assert_int_equal(st_model_object_count(model), 1);
    const st_object_view *lock = st_model_object(model, 0);
    assert_string_equal(lock->name, "race-lock");
    assert_int_equal(st_object_field(lock, "acquisitions")->value.u64, RACERS * RACE_ACQUISITIONS);
    /* Every racer registered once, in the one table. */
    assert_int_equal(st_model_process_count(model), RACERS);
    st_model_free(model);
    st_table_close(reader);
}

static void test_default_capacities_and_mode(void **state)
{
    (void)state;
    st_table_options opts = { .session = test_session_new() };
    st_table *table = NULL;
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    assert_true(st_table_process_capacity(table) >= 256);
    assert_true(st_table_object_capacity(table) >= 4096);
    assert_false(st_table_is_readonly(table));
    assert_string_equal(st_table_session(table), opts.session);
    char name[128], path[160];
    assert_int_equal(st_session_shm_name(opts.session, name, sizeof name), ST_OK);
    snprintf(path, sizeof path, "/dev/shm%s", name);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_uid, getuid());
    /* The whole table is reserved up front: blocks are allocated. */
    assert_true((uint64_t)st.st_blocks * 512 >= (uint64_t)st.st_size);
    st_table_close(table);
}

static void test_object_capacity_full(void **state)
{
    (void)state;
    st_table_options opts = { .session = test_session_new(), .object_capacity = 4 };
    st_table *table = NULL;
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    assert_int_equal(st_table_object_capacity(table), 4);
    st_lock *locks[4];
    char name[16];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "lock-%d", i);
        assert_int_equal(st_lock_open(table, name, &locks[i]), ST_OK);
    }
    st_lock *extra = NULL;
    assert_int_equal(st_lock_open(table, "one-too-many", &extra), ST_EFULL);
    assert_null(extra);
    assert_non_null(strstr(st_error_detail(), "4"));
    assert_non_null(strstr(st_error_detail(), "SYNCTOP_OBJECTS"));
    /* Opening an existing name still works when full, and the table is intact. */
    st_lock *again = NULL;
    assert_int_equal(st_lock_open(table, "lock-2", &again), ST_OK);
    assert_int_equal(st_lock_acquire(again, ST_FOREVER), ST_OK);
    assert_int_equal(st_lock_release(again), ST_OK);
    st_lock_close(again);
    for (int i = 0; i < 4; i++)
        st_lock_close(locks[i]);
    st_table *reader = NULL;
    assert_int_equal(st_table_attach_readonly(opts.session, &reader), ST_OK);
    st_model *model = NULL;
    assert_int_equal(st_model_new(&model), ST_OK);
    assert_int_equal(st_model_refresh(model, reader), ST_OK);
    assert_int_equal(st_model_object_count(model), 4);
    assert_int_equal(st_model_corrupt_slots(model), 0);
    st_model_free(model);
    st_table_close(reader);
    st_table_close(table);
}

static int register_as_child(void *arg)
{
    const char *session = arg;
    st_table *table = NULL;
    st_table_options opts = { .session = session };
    if (st_table_open(&opts, &table) != ST_OK)
        return 2;
    st_result r = st_process_register(table, "second-child", NULL);
    /* Primitives keep working for an unlisted process. */
    st_lock *lock = NULL;
    if (st_lock_open(table, "still-works", &lock) != ST_OK || st_lock_acquire(lock, ST_FOREVER) != ST_OK ||
        st_lock_release(lock) != ST_OK)
        return 3;
    st_lock_close(lock);
    st_table_close(table);
    return r == ST_EFULL && strstr(st_error_detail(), "SYNCTOP_PROCESSES") ? 0 : 4;
}

static void test_process_capacity_full(void **state)
{
    (void)state;
    st_table_options opts = { .session = test_session_new(), .process_capacity = 1 };
    st_table *table = NULL;
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    assert_int_equal(st_process_register(table, "only-one", "test"), ST_OK);
    pid_t child = test_spawn(register_as_child, (void *)opts.session);
    assert_int_equal(test_wait(child, 10000), 0);
    st_table_close(table);
}

static void test_names(void **state)
{
    (void)state;
    char resolved[ST_SESSION_NAME_MAX + 1];
    char long_name[ST_SESSION_NAME_MAX + 2];
    memset(long_name, 's', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(st_session_resolve(long_name, resolved), ST_ENAMETOOLONG);
    assert_int_equal(st_session_resolve("has space", resolved), ST_EINVAL);
    assert_int_equal(st_session_resolve("../escape", resolved), ST_EINVAL);
    assert_int_equal(st_session_resolve(".hidden", resolved), ST_EINVAL);
    assert_int_equal(st_session_resolve("with.dot", resolved), ST_EINVAL);
    st_table *table = NULL;
    st_table_options bad = { .session = "a/b" };
    assert_int_equal(st_table_open(&bad, &table), ST_EINVAL);
    assert_null(table);
    /* Explicit beats the environment, the environment beats the default. */
    setenv("SYNCTOP_SESSION", "from-env", 1);
    assert_int_equal(st_session_resolve(NULL, resolved), ST_OK);
    assert_string_equal(resolved, "from-env");
    assert_int_equal(st_session_resolve("explicit", resolved), ST_OK);
    assert_string_equal(resolved, "explicit");
    unsetenv("SYNCTOP_SESSION");
    assert_int_equal(st_session_resolve(NULL, resolved), ST_OK);
    assert_string_equal(resolved, "default");
    char shm[128];
    assert_int_equal(st_session_shm_name("abc", shm, sizeof shm), ST_OK);
    char expected[128];
    snprintf(expected, sizeof expected, "/synctop-%u-abc", (unsigned)getuid());
    assert_string_equal(shm, expected);
}

static void test_readonly_attach(void **state)
{
    (void)state;
    const char *session = test_session_new();
    st_table *reader = NULL;
    assert_int_equal(st_table_attach_readonly(session, &reader), ST_ENOENT);
    assert_null(reader);
    assert_non_null(strstr(st_error_detail(), session));
    st_table_options opts = { .session = session };
    st_table *table = NULL;
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    assert_int_equal(st_table_attach_readonly(session, &reader), ST_OK);
    assert_true(st_table_is_readonly(reader));
    st_lock *lock = NULL;
    assert_int_equal(st_lock_open(reader, "nope", &lock), ST_EPERM);
    assert_int_equal(st_process_register(reader, "nope", NULL), ST_EPERM);
    assert_false(st_table_is_removed(reader));
    assert_int_equal(st_session_remove(session, true), ST_OK);
    assert_true(st_table_is_removed(reader));
    st_table_close(reader);
    st_table_close(table);
}

static int register_and_wait(void *arg)
{
    st_table *table = NULL;
    st_table_options opts = { .session = arg };
    if (st_table_open(&opts, &table) != ST_OK || st_process_register(table, "lingering", NULL) != ST_OK)
        return 2;
    __atomic_store_n(&line->ready, 1, __ATOMIC_SEQ_CST);
    for (;;)
        pause();
}

static bool listed(const char *session, st_session_info *found)
{
    st_session_info infos[64];
    size_t count = 0;
    assert_int_equal(st_session_list(infos, 64, &count), ST_OK);
    for (size_t i = 0; i < count && i < 64; i++) {
        if (strcmp(infos[i].name, session) == 0) {
            if (found)
                *found = infos[i];
            return true;
        }
    }
    return false;
}

static void test_list_and_remove(void **state)
{
    (void)state;
    const char *session = test_session_new();
    pid_t child = test_spawn(register_and_wait, (void *)session);
    assert_true(test_wait_count(&line->ready, 1, TEST_WAIT_MS));
    st_session_info info;
    assert_true(listed(session, &info));
    assert_true(info.valid);
    assert_int_equal(info.live_processes, 1);
    assert_int_equal(st_session_remove(session, false), ST_EBUSY);
    assert_non_null(strstr(st_error_detail(), "--force"));
    assert_true(listed(session, NULL));
    /* Once the process is gone the session can be removed without force. */
    test_kill(child);
    assert_int_equal(st_session_remove(session, false), ST_OK);
    assert_false(listed(session, NULL));
    assert_int_equal(st_session_remove(session, false), ST_ENOENT);
    assert_int_equal(test_shm_count(session), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_creation_race_makes_one_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_capacities_and_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_object_capacity_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process_capacity_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly_attach, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_and_remove, setup, teardown),
    };
    return cmocka_run_group_tests_name("table", tests, NULL, NULL);
}
