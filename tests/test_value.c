/* test_value.c - Value and Array across real processes: the race lesson
 * with and without the built-in lock (exact counts), typed round trips and
 * the int32 limits, the Array's summary kept by four writers, and the
 * figures the viewer's model reads back. */
#include "helpers.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <synctop/synctop.h>

typedef struct shared_area {
    volatile int ready;
    volatile int go;
} shared_area;

static shared_area *shared;
static st_table *table;
static const char *session;

/* Data segments are named after the session ("<table name>.<kind>..."):
 * remove any this test left, whatever st_session_remove does. */
static int setup(void **state)
{
    (void)state;
    shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(shared != MAP_FAILED);
    memset((void *)shared, 0, sizeof *shared);
    session = test_session_new();
    st_table_options opts = { .session = session };
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    return 0;
}

static int teardown(void **state)
{
    test_teardown(state);
    st_table_close(table);
    table = NULL;
    munmap((void *)shared, sizeof *shared);
    return 0;
}

/* ---- reading figures back through the viewer's model ---- */

typedef struct figure {
    st_value_kind kind;
    uint64_t u64;
    int64_t i64;
    double f64;
    char text[64];
} figure;

static figure read_figure(const char *object_name, const char *field_name)
{
    st_table *reader = NULL;
    assert_int_equal(st_table_attach_readonly(session, &reader), ST_OK);
    st_model *model;
    assert_int_equal(st_model_new(&model), ST_OK);
    assert_int_equal(st_model_refresh(model, reader), ST_OK);
    st_table_close(reader);
    figure result;
    memset(&result, 0, sizeof result);
    bool found = false;
    for (size_t i = 0; i < st_model_object_count(model) && !found; i++) {
        const st_object_view *object = st_model_object(model, i);
        if (strcmp(object->name, object_name) != 0)
            continue;
        const st_field *field = st_object_field(object, field_name);
        if (!field)
            fail_msg("'%s' has no field '%s'", object_name, field_name);
        result.kind = field->kind;
        switch (field->kind) {
        case ST_VALUE_U64:
            result.u64 = field->value.u64;
            break;
        case ST_VALUE_I64:
        case ST_VALUE_PID:
            result.i64 = field->value.i64;
            break;
        case ST_VALUE_DOUBLE:
            result.f64 = field->value.f64;
            break;
        case ST_VALUE_TEXT:
            snprintf(result.text, sizeof result.text, "%s", field->value.text);
            break;
        }
        found = true;
    }
    st_model_free(model);
    if (!found)
        fail_msg("'%s' is not in the model", object_name);
    return result;
}

static uint64_t figure_u64(const char *object_name, const char *field_name)
{
    figure f = read_figure(object_name, field_name);
    assert_int_equal(f.kind, ST_VALUE_U64);
    return f.u64;
}

static void start_together(int workers)
{
    assert_true(test_wait_count(&shared->ready, workers, TEST_WAIT_MS));
    __atomic_store_n(&shared->go, 1, __ATOMIC_SEQ_CST);
}

static void wait_for_go(void)
{
    __atomic_add_fetch(&shared->ready, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&shared->go, __ATOMIC_SEQ_CST)) {}
}

/* ---- the race lesson ---- */

#define WORKERS 4
#define INCREMENTS 25000

static st_value *counter;

static int locked_incrementer(void *arg)
{
    (void)arg;
    st_lock *lock;
    if (st_value_get_lock(counter, &lock) != ST_OK)
        return 2;
    wait_for_go();
    for (int i = 0; i < INCREMENTS; i++) {
        int64_t v;
        if (st_lock_acquire(lock, ST_FOREVER) != ST_OK)
            return 3;
        if (st_value_load_i64(counter, &v) != ST_OK || st_value_store_i64(counter, v + 1) != ST_OK)
            return 4;
        if (st_lock_release(lock) != ST_OK)
            return 5;
    }
    return 0;
}

static void test_locked_increments_are_exact(void **state)
{
    (void)state;
    assert_int_equal(st_value_open(table, "counter", ST_INT64, NULL, &counter), ST_OK);
    pid_t pids[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        pids[i] = test_spawn(locked_incrementer, NULL);
    start_together(WORKERS);
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(test_wait(pids[i], 120000), 0);
    int64_t total;
    assert_int_equal(st_value_get_i64(counter, &total), ST_OK);
    assert_int_equal(total, WORKERS * INCREMENTS);
    figure value = read_figure("counter", "value");
    assert_int_equal(value.kind, ST_VALUE_I64);
    assert_int_equal(value.i64, WORKERS * INCREMENTS);
    assert_int_equal(figure_u64("counter", "writes"), WORKERS * INCREMENTS);
    /* The loads, plus our own get. */
    assert_int_equal(figure_u64("counter", "reads"), WORKERS * INCREMENTS + 1);
    /* Every increment took the built-in lock once, and so did our get. */
    assert_int_equal(figure_u64("counter", "acquisitions"), WORKERS * INCREMENTS + 1);
    assert_string_equal(read_figure("counter", "value_type").text, "int64");
    st_value_close(counter);
}

static int unlocked_incrementer(void *arg)
{
    (void)arg;
    wait_for_go();
    for (int i = 0; i < INCREMENTS; i++) {
        int64_t v;
        if (st_value_load_i64(counter, &v) != ST_OK || st_value_store_i64(counter, v + 1) != ST_OK)
            return 4;
    }
    return 0;
}

static void test_unlocked_increments_may_lose_updates(void **state)
{
    (void)state;
    assert_int_equal(st_value_open(table, "racy", ST_INT32, NULL, &counter), ST_OK);
    pid_t pids[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        pids[i] = test_spawn(unlocked_incrementer, NULL);
    start_together(WORKERS);
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(test_wait(pids[i], 120000), 0);
    int64_t total;
    assert_int_equal(st_value_get_i64(counter, &total), ST_OK);
    /* Lost updates are possible (and usual), never extra ones. */
    assert_true(total >= 1);
    assert_true(total <= WORKERS * INCREMENTS);
    /* The counts are exact even without the lock: that is the lesson's
     * evidence (100000 writes, fewer increments survived). */
    assert_int_equal(figure_u64("racy", "writes"), WORKERS * INCREMENTS);
    assert_int_equal(figure_u64("racy", "reads"), WORKERS * INCREMENTS + 1);
    assert_int_equal(figure_u64("racy", "acquisitions"), 1);   /* only our get */
    st_value_close(counter);
}

/* Python's idiom: get and set under the held built-in lock must not
 * deadlock (they see the caller holds it and do not take it again). */
static int reentrant_incrementer(void *arg)
{
    (void)arg;
    st_lock *lock;
    if (st_value_get_lock(counter, &lock) != ST_OK)
        return 2;
    wait_for_go();
    for (int i = 0; i < 5000; i++) {
        int64_t v;
        if (st_lock_acquire(lock, ST_SECONDS(30)) != ST_OK)
            return 3;
        if (st_value_get_i64(counter, &v) != ST_OK || st_value_set_i64(counter, v + 1) != ST_OK)
            return 4;
        if (st_lock_release(lock) != ST_OK)
            return 5;
    }
    return 0;
}

static void test_get_and_set_under_the_held_lock(void **state)
{
    (void)state;
    assert_int_equal(st_value_open(table, "balance", ST_INT64, NULL, &counter), ST_OK);
    pid_t a = test_spawn(reentrant_incrementer, NULL);
    pid_t b = test_spawn(reentrant_incrementer, NULL);
    start_together(2);
    assert_int_equal(test_wait(a, 60000), 0);
    assert_int_equal(test_wait(b, 60000), 0);
    int64_t total;
    assert_int_equal(st_value_get_i64(counter, &total), ST_OK);
    assert_int_equal(total, 10000);
    /* One acquisition per increment: get and set did not take it again. */
    assert_int_equal(figure_u64("balance", "acquisitions"), 10001);
    assert_int_equal(figure_u64("balance", "writes"), 10000);
    /* A timed acquisition, then get/set, is how to bound the wait. */
    st_lock *lock;
    assert_int_equal(st_value_get_lock(counter, &lock), ST_OK);
    assert_int_equal(st_lock_acquire(lock, ST_MILLISECONDS(100)), ST_OK);
    assert_int_equal(st_value_set_i64(counter, -5), ST_OK);
    assert_int_equal(st_lock_release(lock), ST_OK);
    assert_int_equal(st_value_get_i64(counter, &total), ST_OK);
    assert_int_equal(total, -5);
    st_value_close(counter);
}

/* ---- types ---- */

static void test_typed_values_round_trip(void **state)
{
    (void)state;
    st_value *i32, *i64, *u64, *dbl;
    int32_t i32_initial = -7;
    assert_int_equal(st_value_open(table, "i32", ST_INT32, &i32_initial, &i32), ST_OK);
    int64_t i64_initial = INT64_MIN;
    assert_int_equal(st_value_open(table, "i64", ST_INT64, &i64_initial, &i64), ST_OK);
    uint64_t u64_initial = UINT64_MAX;
    assert_int_equal(st_value_open(table, "u64", ST_UINT64, &u64_initial, &u64), ST_OK);
    double dbl_initial = 0.1;
    assert_int_equal(st_value_open(table, "dbl", ST_DOUBLE, &dbl_initial, &dbl), ST_OK);
    assert_int_equal(st_value_get_type(dbl), ST_DOUBLE);

    int64_t s;
    uint64_t u;
    double d;
    assert_int_equal(st_value_get_i64(i32, &s), ST_OK);
    assert_int_equal(s, -7);
    assert_int_equal(st_value_get_i64(i64, &s), ST_OK);
    assert_true(s == INT64_MIN);
    assert_int_equal(st_value_get_u64(u64, &u), ST_OK);
    assert_true(u == UINT64_MAX);
    assert_int_equal(st_value_get_double(dbl, &d), ST_OK);
    assert_true(d == 0.1);

    /* int32: the limits fit, one past them is refused and changes nothing. */
    assert_int_equal(st_value_set_i64(i32, INT32_MAX), ST_OK);
    assert_int_equal(st_value_set_i64(i32, (int64_t)INT32_MAX + 1), ST_EOVERFLOW);
    assert_non_null(strstr(st_error_detail(), "int32"));
    assert_int_equal(st_value_store_i64(i32, (int64_t)INT32_MIN - 1), ST_EOVERFLOW);
    assert_int_equal(st_value_get_i64(i32, &s), ST_OK);
    assert_int_equal(s, INT32_MAX);
    assert_int_equal(st_value_set_i64(i32, INT32_MIN), ST_OK);
    assert_int_equal(st_value_load_i64(i32, &s), ST_OK);
    assert_int_equal(s, INT32_MIN);

    /* int64 and uint64 at their extremes. */
    assert_int_equal(st_value_set_i64(i64, INT64_MAX), ST_OK);
    assert_int_equal(st_value_get_i64(i64, &s), ST_OK);
    assert_true(s == INT64_MAX);
    assert_int_equal(st_value_store_u64(u64, 1), ST_OK);
    assert_int_equal(st_value_load_u64(u64, &u), ST_OK);
    assert_int_equal(u, 1);
    assert_int_equal(st_value_set_u64(u64, UINT64_MAX - 1), ST_OK);

    /* Doubles bit for bit, including ones with no short decimal form. */
    const double samples[] = { 3.141592653589793, -0.0, 1e-310, 1.7976931348623157e308, 1.0 / 3.0 };
    for (size_t k = 0; k < sizeof samples / sizeof samples[0]; k++) {
        assert_int_equal(st_value_set_double(dbl, samples[k]), ST_OK);
        assert_int_equal(st_value_get_double(dbl, &d), ST_OK);
        assert_memory_equal(&d, &samples[k], sizeof d);
        assert_int_equal(st_value_store_double(dbl, samples[k]), ST_OK);
        assert_int_equal(st_value_load_double(dbl, &d), ST_OK);
        assert_memory_equal(&d, &samples[k], sizeof d);
    }
    assert_int_equal(st_value_set_double(dbl, 1.0 / 3.0), ST_OK);

    /* The viewer's fields, typed. */
    figure f = read_figure("i32", "value");
    assert_int_equal(f.kind, ST_VALUE_I64);
    assert_int_equal(f.i64, INT32_MIN);
    assert_string_equal(read_figure("i32", "value_type").text, "int32");
    f = read_figure("i64", "value");
    assert_int_equal(f.kind, ST_VALUE_I64);
    assert_true(f.i64 == INT64_MAX);
    f = read_figure("u64", "value");
    assert_int_equal(f.kind, ST_VALUE_U64);
    assert_true(f.u64 == UINT64_MAX - 1);
    assert_string_equal(read_figure("u64", "value_type").text, "uint64");
    f = read_figure("dbl", "value");
    assert_int_equal(f.kind, ST_VALUE_DOUBLE);
    assert_true(f.f64 == 1.0 / 3.0);
    assert_string_equal(read_figure("dbl", "value_type").text, "double");

    /* Opening again attaches: the initial value is the creator's only. */
    st_value *again;
    double other = 99.0;
    assert_int_equal(st_value_open(table, "dbl", ST_DOUBLE, &other, &again), ST_OK);
    assert_int_equal(st_value_get_double(again, &d), ST_OK);
    assert_true(d == 1.0 / 3.0);
    st_value_close(again);

    st_value_close(i32);
    st_value_close(i64);
    st_value_close(u64);
    st_value_close(dbl);
}

static int read_by_name(void *arg)
{
    (void)arg;
    st_table *own = NULL;
    st_table_options opts = { .session = session };
    if (st_table_open(&opts, &own) != ST_OK)
        return 2;
    st_value *temperature;
    double ignored = -1.0;
    if (st_value_open(own, "temperature", ST_DOUBLE, &ignored, &temperature) != ST_OK)
        return 3;
    double d;
    if (st_value_get_double(temperature, &d) != ST_OK || d != 21.5)
        return 4;
    if (st_value_set_double(temperature, 22.25) != ST_OK)
        return 5;
    st_value_close(temperature);
    st_table_close(own);
    return 0;
}

static void test_shared_by_name_across_processes(void **state)
{
    (void)state;
    st_value *temperature;
    double initial = 21.5;
    assert_int_equal(st_value_open(table, "temperature", ST_DOUBLE, &initial, &temperature), ST_OK);
    assert_int_equal(test_wait(test_spawn(read_by_name, NULL), 30000), 0);
    double d;
    assert_int_equal(st_value_get_double(temperature, &d), ST_OK);
    assert_true(d == 22.25);
    st_value_close(temperature);
}

static void test_value_bad_input(void **state)
{
    (void)state;
    st_value *value = NULL;
    int64_t s;
    uint64_t u;
    double d;
    st_lock *lock;
    assert_int_equal(st_value_open(table, "v", (st_value_type)0, NULL, &value), ST_EINVAL);
    assert_int_equal(st_value_open(table, "v", (st_value_type)99, NULL, &value), ST_EINVAL);
    assert_int_equal(st_value_open(table, "v", ST_INT64, NULL, NULL), ST_EINVAL);
    assert_int_equal(st_value_open(NULL, "v", ST_INT64, NULL, &value), ST_EINVAL);
    assert_int_equal(st_value_open(table, NULL, ST_INT64, NULL, &value), ST_EINVAL);
    assert_int_equal(st_value_open(table, "", ST_INT64, NULL, &value), ST_EINVAL);
    char long_name[ST_OBJECT_NAME_MAX + 2];
    memset(long_name, 'v', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(st_value_open(table, long_name, ST_INT64, NULL, &value), ST_ENAMETOOLONG);
    assert_null(value);
    /* Another kind of object, or another element type, under the name. */
    st_lock *a_lock;
    assert_int_equal(st_lock_open(table, "taken", &a_lock), ST_OK);
    assert_int_equal(st_value_open(table, "taken", ST_INT64, NULL, &value), ST_EWRONGTYPE);
    st_lock_close(a_lock);
    assert_int_equal(st_value_open(table, "v", ST_INT64, NULL, &value), ST_OK);
    st_value *other = NULL;
    assert_int_equal(st_value_open(table, "v", ST_DOUBLE, NULL, &other), ST_EWRONGTYPE);
    assert_non_null(strstr(st_error_detail(), "int64"));
    assert_null(other);
    /* The wrong family of calls. */
    assert_int_equal(st_value_get_double(value, &d), ST_EWRONGTYPE);
    assert_int_equal(st_value_set_u64(value, 1), ST_EWRONGTYPE);
    assert_int_equal(st_value_load_u64(value, &u), ST_EWRONGTYPE);
    assert_int_equal(st_value_store_double(value, 1.0), ST_EWRONGTYPE);
    /* NULL handles and outputs. */
    assert_int_equal(st_value_get_i64(NULL, &s), ST_EINVAL);
    assert_int_equal(st_value_set_i64(NULL, 1), ST_EINVAL);
    assert_int_equal(st_value_load_i64(NULL, &s), ST_EINVAL);
    assert_int_equal(st_value_store_i64(NULL, 1), ST_EINVAL);
    assert_int_equal(st_value_get_u64(NULL, &u), ST_EINVAL);
    assert_int_equal(st_value_get_double(NULL, &d), ST_EINVAL);
    assert_int_equal(st_value_get_i64(value, NULL), ST_EINVAL);
    assert_int_equal(st_value_load_i64(value, NULL), ST_EINVAL);
    assert_int_equal(st_value_get_lock(NULL, &lock), ST_EINVAL);
    assert_int_equal(st_value_get_lock(value, NULL), ST_EINVAL);
    assert_int_equal(st_value_get_type(NULL), 0);
    st_value_close(NULL);
    st_value_close(value);
    assert_string_equal(st_value_type_name(ST_UINT64), "uint64");
    assert_string_equal(st_value_type_name((st_value_type)42), "unknown");
}

/* ---- Array ---- */

#define ARRAY_LENGTH 1000
#define SLICE (ARRAY_LENGTH / WORKERS)

static st_array *samples;

/* Workers 0 and 1 double their slice element by element (the min moves
 * each time: rescans), 2 and 3 with one range read and one range write. */
static int doubler(void *arg)
{
    int worker = (int)(intptr_t)arg;
    size_t start = (size_t)worker * SLICE;
    wait_for_go();
    if (worker < 2) {
        for (size_t i = start; i < start + SLICE; i++) {
            double v;
            if (st_array_get_double(samples, i, &v) != ST_OK)
                return 2;
            if (st_array_set_double(samples, i, 2 * v) != ST_OK)
                return 3;
        }
    } else {
        double slice[SLICE];
        if (st_array_get_range(samples, start, SLICE, slice) != ST_OK)
            return 4;
        for (size_t i = 0; i < SLICE; i++)
            slice[i] *= 2;
        if (st_array_set_range(samples, start, SLICE, slice) != ST_OK)
            return 5;
    }
    return 0;
}

static void test_array_summary_after_parallel_doubling(void **state)
{
    (void)state;
    assert_int_equal(st_array_open(table, "samples", ST_DOUBLE, ARRAY_LENGTH, &samples), ST_OK);
    assert_int_equal(st_array_length(samples), ARRAY_LENGTH);
    assert_int_equal(st_array_type(samples), ST_DOUBLE);
    /* Halves: exact in binary, so incremental sums are exact too. Mixed
     * signs so that min and max both move. */
    double initial[ARRAY_LENGTH];
    for (int i = 0; i < ARRAY_LENGTH; i++)
        initial[i] = (i % 3 == 0 ? -0.5 : 0.5) * (i + 1);
    assert_int_equal(st_array_set_range(samples, 0, ARRAY_LENGTH, initial), ST_OK);
    pid_t pids[WORKERS];
    for (int w = 0; w < WORKERS; w++)
        pids[w] = test_spawn(doubler, (void *)(intptr_t)w);
    start_together(WORKERS);
    for (int w = 0; w < WORKERS; w++)
        assert_int_equal(test_wait(pids[w], 60000), 0);

    double data[ARRAY_LENGTH];
    assert_int_equal(st_array_get_range(samples, 0, ARRAY_LENGTH, data), ST_OK);
    double sum = 0, min = data[0], max = data[0];
    for (int i = 0; i < ARRAY_LENGTH; i++) {
        assert_true(data[i] == 2 * initial[i]);
        sum += data[i];
        min = data[i] < min ? data[i] : min;
        max = data[i] > max ? data[i] : max;
    }
    figure f = read_figure("samples", "sum");
    assert_int_equal(f.kind, ST_VALUE_DOUBLE);
    assert_true(f.f64 == sum);
    assert_true(read_figure("samples", "min").f64 == min);
    assert_true(read_figure("samples", "max").f64 == max);
    assert_true(min == -1000.0 && max == 999.0);
    assert_int_equal(figure_u64("samples", "length"), ARRAY_LENGTH);
    assert_string_equal(read_figure("samples", "element_type").text, "double");
    /* writes: our range + 2 x 250 elements + 2 ranges; reads the same. */
    assert_int_equal(figure_u64("samples", "writes"), 1 + 2 * SLICE + 2);
    assert_int_equal(figure_u64("samples", "reads"), 2 * SLICE + 2 + 1);
    st_array_close(samples);
}

static void test_integer_arrays(void **state)
{
    (void)state;
    st_array *ints;
    assert_int_equal(st_array_open(table, "ints", ST_INT32, 5, &ints), ST_OK);
    int32_t values[5] = { 5, -3, 12, 0, 7 };
    assert_int_equal(st_array_set_range(ints, 0, 5, values), ST_OK);
    assert_int_equal(read_figure("ints", "sum").i64, 21);
    assert_int_equal(read_figure("ints", "min").i64, -3);
    assert_int_equal(read_figure("ints", "max").i64, 12);
    assert_int_equal(read_figure("ints", "max").kind, ST_VALUE_I64);
    assert_int_equal(figure_u64("ints", "rescans"), 0);
    /* Overwriting the max with a smaller value: a rescan finds 7. */
    assert_int_equal(st_array_set_i64(ints, 2, 1), ST_OK);
    assert_int_equal(read_figure("ints", "max").i64, 7);
    assert_int_equal(figure_u64("ints", "rescans"), 1);
    /* Overwriting the min with a larger value: a rescan finds 0. */
    assert_int_equal(st_array_set_i64(ints, 1, 100), ST_OK);
    assert_int_equal(read_figure("ints", "min").i64, 0);
    assert_int_equal(figure_u64("ints", "rescans"), 2);
    assert_int_equal(read_figure("ints", "max").i64, 100);
    assert_int_equal(read_figure("ints", "sum").i64, 5 + 100 + 1 + 0 + 7);
    assert_int_equal(st_array_set_i64(ints, 0, INT32_MAX), ST_OK);
    assert_int_equal(st_array_set_i64(ints, 0, (int64_t)INT32_MAX + 1), ST_EOVERFLOW);
    int64_t v;
    assert_int_equal(st_array_get_i64(ints, 0, &v), ST_OK);
    assert_int_equal(v, INT32_MAX);
    int32_t back[5];
    assert_int_equal(st_array_get_range(ints, 0, 5, back), ST_OK);
    assert_int_equal(back[0], INT32_MAX);
    assert_int_equal(back[1], 100);
    st_array_close(ints);

    st_array *big;
    assert_int_equal(st_array_open(table, "big", ST_UINT64, 3, &big), ST_OK);
    assert_int_equal(st_array_set_u64(big, 0, UINT64_MAX), ST_OK);
    assert_int_equal(st_array_set_u64(big, 2, 2), ST_OK);
    figure f = read_figure("big", "max");
    assert_int_equal(f.kind, ST_VALUE_U64);
    assert_true(f.u64 == UINT64_MAX);
    assert_int_equal(read_figure("big", "min").u64, 0);
    assert_int_equal(read_figure("big", "sum").u64, 1);   /* modulo 2^64 */
    uint64_t u;
    assert_int_equal(st_array_get_u64(big, 0, &u), ST_OK);
    assert_true(u == UINT64_MAX);
    st_array_close(big);
}

/* A deterministic stream of element and range sets over several blocks
 * (and a partial last one); the summary must always match a brute-force
 * recomputation. */
static void check_int_summary(const char *name, const int64_t *mirror, size_t length)
{
    int64_t sum = 0, min = mirror[0], max = mirror[0];
    for (size_t i = 0; i < length; i++) {
        sum += mirror[i];
        min = mirror[i] < min ? mirror[i] : min;
        max = mirror[i] > max ? mirror[i] : max;
    }
    assert_int_equal(read_figure(name, "sum").i64, sum);
    assert_int_equal(read_figure(name, "min").i64, min);
    assert_int_equal(read_figure(name, "max").i64, max);
}

static void test_array_summary_matches_brute_force(void **state)
{
    (void)state;
    enum { LENGTH = 300 };
    st_array *array;
    assert_int_equal(st_array_open(table, "stream", ST_INT64, LENGTH, &array), ST_OK);
    int64_t mirror[LENGTH] = { 0 };
    uint64_t seed = 12345;
    for (int op = 1; op <= 2000; op++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t index = (size_t)(seed >> 33) % LENGTH;
        int64_t value = (int64_t)((seed >> 20) % 2001) - 1000;
        if (op % 10 == 0) {
            /* A range of up to 80 elements across block boundaries. */
            size_t count = (size_t)(seed >> 45) % 80 + 1;
            if (index + count > LENGTH)
                count = LENGTH - index;
            int64_t values[80];
            for (size_t k = 0; k < count; k++)
                values[k] = mirror[index + k] = value + (int64_t)k;
            assert_int_equal(st_array_set_range(array, index, count, values), ST_OK);
        } else if (op % 3 == 0) {
            /* The ring pattern: overwrite with ever larger values. */
            mirror[op % LENGTH] = 1000 + op;
            assert_int_equal(st_array_set_i64(array, (size_t)op % LENGTH, 1000 + op), ST_OK);
        } else {
            mirror[index] = value;
            assert_int_equal(st_array_set_i64(array, index, value), ST_OK);
        }
        if (op % 100 == 0)
            check_int_summary("stream", mirror, LENGTH);
    }
    int64_t back[LENGTH];
    assert_int_equal(st_array_get_range(array, 0, LENGTH, back), ST_OK);
    assert_memory_equal(back, mirror, sizeof back);
    st_array_close(array);
}

static void test_double_arrays_with_nan_and_infinity(void **state)
{
    (void)state;
    st_array *array;
    assert_int_equal(st_array_open(table, "odd", ST_DOUBLE, 3, &array), ST_OK);
    double values[3] = { NAN, 1.0, 2.0 };
    assert_int_equal(st_array_set_range(array, 0, 3, values), ST_OK);
    assert_true(isnan(read_figure("odd", "sum").f64));
    assert_true(read_figure("odd", "min").f64 == 1.0);   /* NaN is skipped */
    assert_true(read_figure("odd", "max").f64 == 2.0);
    assert_int_equal(st_array_set_double(array, 0, INFINITY), ST_OK);
    assert_true(read_figure("odd", "sum").f64 == INFINITY);
    assert_true(read_figure("odd", "max").f64 == INFINITY);
    assert_int_equal(st_array_set_double(array, 0, 3.0), ST_OK);
    assert_true(read_figure("odd", "sum").f64 == 6.0);   /* recomputed, not inf - inf */
    assert_true(read_figure("odd", "max").f64 == 3.0);
    double nans[3] = { NAN, NAN, NAN };
    assert_int_equal(st_array_set_range(array, 0, 3, nans), ST_OK);
    assert_true(isnan(read_figure("odd", "min").f64));
    assert_true(isnan(read_figure("odd", "max").f64));
    assert_int_equal(st_array_set_double(array, 1, -0.5), ST_OK);
    assert_true(read_figure("odd", "min").f64 == -0.5);
    assert_true(read_figure("odd", "max").f64 == -0.5);
    st_array_close(array);
}

static void test_array_under_the_held_lock(void **state)
{
    (void)state;
    st_array *array;
    assert_int_equal(st_array_open(table, "account", ST_INT64, 2, &array), ST_OK);
    st_lock *lock;
    assert_int_equal(st_array_get_lock(array, &lock), ST_OK);
    assert_int_equal(st_lock_acquire(lock, ST_SECONDS(1)), ST_OK);
    /* A transfer: two elements changed as one step, without re-locking. */
    assert_int_equal(st_array_set_i64(array, 0, -40), ST_OK);
    assert_int_equal(st_array_set_i64(array, 1, 40), ST_OK);
    int64_t both[2];
    assert_int_equal(st_array_get_range(array, 0, 2, both), ST_OK);
    assert_int_equal(st_lock_release(lock), ST_OK);
    assert_int_equal(both[0], -40);
    assert_int_equal(both[1], 40);
    assert_int_equal(read_figure("account", "sum").i64, 0);
    st_array_close(array);
}

/* A process that dies holding a built-in lock: the next caller gets its
 * result along with ST_EOWNERDEAD, and the lock works on. */
static st_array *held_array;

static int hold_both_and_die(void *arg)
{
    (void)arg;
    st_lock *lock;
    if (st_value_get_lock(counter, &lock) != ST_OK || st_lock_acquire(lock, ST_FOREVER) != ST_OK)
        return 2;
    if (st_value_set_i64(counter, 7) != ST_OK)
        return 3;
    if (st_array_get_lock(held_array, &lock) != ST_OK || st_lock_acquire(lock, ST_FOREVER) != ST_OK)
        return 4;
    if (st_array_set_i64(held_array, 1, -9) != ST_OK)
        return 5;
    return 0;   /* exits holding both */
}

static void test_dead_holder_of_the_builtin_lock(void **state)
{
    (void)state;
    assert_int_equal(st_value_open(table, "orphaned", ST_INT64, NULL, &counter), ST_OK);
    assert_int_equal(st_array_open(table, "orphaned-array", ST_INT64, 200, &held_array), ST_OK);
    assert_int_equal(test_wait(test_spawn(hold_both_and_die, NULL), 10000), 0);
    int64_t v = 0;
    assert_int_equal(st_value_get_i64(counter, &v), ST_EOWNERDEAD);
    assert_int_equal(v, 7);
    assert_int_equal(st_value_set_i64(counter, 8), ST_OK);
    assert_int_equal(figure_u64("orphaned", "owner_died"), 1);
    assert_int_equal(st_array_set_i64(held_array, 199, 5), ST_EOWNERDEAD);
    assert_int_equal(read_figure("orphaned-array", "min").i64, -9);
    assert_int_equal(read_figure("orphaned-array", "max").i64, 5);
    assert_int_equal(read_figure("orphaned-array", "sum").i64, -4);
    assert_int_equal(st_array_get_i64(held_array, 1, &v), ST_OK);
    assert_int_equal(v, -9);
    st_array_close(held_array);
    st_value_close(counter);
}

static void test_array_bad_input(void **state)
{
    (void)state;
    st_array *array = NULL;
    double d;
    int64_t s;
    assert_int_equal(st_array_open(table, "a", ST_DOUBLE, 0, &array), ST_EINVAL);
    assert_int_equal(st_array_open(table, "a", (st_value_type)7, 4, &array), ST_EINVAL);
    assert_int_equal(st_array_open(table, "a", ST_DOUBLE, (size_t)ST_ARRAY_MAX_LENGTH + 1, &array), ST_EOVERFLOW);
    assert_int_equal(st_array_open(table, "a", ST_DOUBLE, 4, NULL), ST_EINVAL);
    assert_int_equal(st_array_open(NULL, "a", ST_DOUBLE, 4, &array), ST_EINVAL);
    char long_name[ST_OBJECT_NAME_MAX + 2];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(st_array_open(table, long_name, ST_DOUBLE, 4, &array), ST_ENAMETOOLONG);
    st_value *value;
    assert_int_equal(st_value_open(table, "scalar", ST_DOUBLE, NULL, &value), ST_OK);
    assert_int_equal(st_array_open(table, "scalar", ST_DOUBLE, 4, &array), ST_EWRONGTYPE);
    st_value_close(value);
    assert_null(array);
    assert_int_equal(st_array_open(table, "a", ST_DOUBLE, 4, &array), ST_OK);
    st_array *other = NULL;
    assert_int_equal(st_array_open(table, "a", ST_INT32, 4, &other), ST_EWRONGTYPE);
    /* An opener's length does not matter: it sees the creator's. */
    assert_int_equal(st_array_open(table, "a", ST_DOUBLE, 99, &other), ST_OK);
    assert_int_equal(st_array_length(other), 4);
    st_array_close(other);
    assert_int_equal(st_array_get_double(array, 4, &d), ST_EINVAL);
    assert_int_equal(st_array_set_double(array, 4, 1.0), ST_EINVAL);
    assert_int_equal(st_array_get_range(array, 2, 3, &d), ST_EINVAL);
    assert_int_equal(st_array_set_range(array, 5, 0, &d), ST_EINVAL);
    assert_int_equal(st_array_set_range(array, 4, 0, NULL), ST_OK);   /* empty range at the end */
    assert_int_equal(st_array_get_range(array, 0, 1, NULL), ST_EINVAL);
    assert_int_equal(st_array_get_i64(array, 0, &s), ST_EWRONGTYPE);
    assert_int_equal(st_array_set_u64(array, 0, 1), ST_EWRONGTYPE);
    assert_int_equal(st_array_get_double(array, 0, NULL), ST_EINVAL);
    assert_int_equal(st_array_get_double(NULL, 0, &d), ST_EINVAL);
    assert_int_equal(st_array_set_double(NULL, 0, 1.0), ST_EINVAL);
    assert_int_equal(st_array_get_range(NULL, 0, 1, &d), ST_EINVAL);
    assert_int_equal(st_array_get_lock(NULL, NULL), ST_EINVAL);
    assert_int_equal(st_array_length(NULL), 0);
    st_array_close(NULL);
    st_array_close(array);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_locked_increments_are_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unlocked_increments_may_lose_updates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_and_set_under_the_held_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_typed_values_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_by_name_across_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_array_summary_after_parallel_doubling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_integer_arrays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_array_summary_matches_brute_force, setup, teardown),
        cmocka_unit_test_setup_teardown(test_double_arrays_with_nan_and_infinity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_array_under_the_held_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_holder_of_the_builtin_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_array_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests_name("value", tests, NULL, NULL);
}
