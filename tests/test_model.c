/* test_model.c - the viewer's model (collector/model.c) without curses:
 * percentiles of log2 histograms, counter rates derived from the measured
 * interval between refreshes (and none for an object recreated in the same
 * slot), field lookup, the system-only model, a process blocked on a lock,
 * CPU and memory of a busy child, and a dead child seen as not alive.
 *
 * Children never run cmocka assertions (they report through their exit
 * status); test_teardown kills and reaps them and removes every session. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "internal.h"
#include "histogram.h"

/* ---- small helpers ------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A writable table for a fresh session, small capacities. */
static st_table *open_session(const char *session)
{
    st_table_options opts = { 0 };
    opts.session = session;
    opts.process_capacity = 16;
    opts.object_capacity = 16;
    st_table *table = NULL;
    st_result r = st_table_open(&opts, &table);
    if (r != ST_OK)
        fail_msg("st_table_open(%s): %s: %s", session, st_result_name(r), st_error_detail());
    assert_non_null(table);
    return table;
}

static st_table *attach_session(const char *session)
{
    st_table *table = NULL;
    st_result r = st_table_attach_readonly(session, &table);
    if (r != ST_OK)
        fail_msg("st_table_attach_readonly(%s): %s: %s", session, st_result_name(r), st_error_detail());
    assert_non_null(table);
    return table;
}

static st_model *new_model(void)
{
    st_model *model = NULL;
    assert_int_equal(st_model_new(&model), ST_OK);
    assert_non_null(model);
    return model;
}

static void refresh_ok(st_model *model, const st_table *table)
{
    st_result r = st_model_refresh(model, table);
    if (r != ST_OK)
        fail_msg("st_model_refresh: %s: %s", st_result_name(r), st_error_detail());
}

static const st_object_view *find_object(const st_model *model, const char *name)
{
    for (size_t i = 0; i < st_model_object_count(model); i++) {
        const st_object_view *object = st_model_object(model, i);
        if (strcmp(object->name, name) == 0)
            return object;
    }
    return NULL;
}

static const st_process_view *find_process(const st_model *model, pid_t pid)
{
    for (size_t i = 0; i < st_model_process_count(model); i++) {
        const st_process_view *process = st_model_process(model, i);
        if (process->pid == pid)
            return process;
    }
    return NULL;
}

static const st_field *field_of(const st_object_view *object, const char *name)
{
    assert_non_null(object);
    const st_field *field = st_object_field(object, name);
    if (!field)
        fail_msg("object '%s' has no field '%s'", object->name, name);
    return field;
}

/* ---- histogram percentiles ----------------------------------------------- */

static void test_percentile_single_bucket(void **state)
{
    (void)state;
    st_histogram h;
    memset(&h, 0, sizeof h);
    h.buckets[10] = 100;   /* values in [1024, 2048) */
    assert_int_equal(st_histogram_count(&h), 100);
    uint64_t p50 = st_histogram_percentile(&h, 50, 0);
    assert_in_range(p50, 1024, 2047);
    uint64_t p1 = st_histogram_percentile(&h, 1, 0);
    assert_in_range(p1, 1024, 2047);
    assert_true(p1 <= p50);
}

static void test_percentile_outlier(void **state)
{
    (void)state;
    st_histogram h;
    memset(&h, 0, sizeof h);
    h.buckets[3] = 99;     /* [8, 16) */
    h.buckets[20] = 1;     /* [2^20, 2^21) */
    assert_int_equal(st_histogram_count(&h), 100);
    uint64_t p50 = st_histogram_percentile(&h, 50, 0);
    uint64_t p99 = st_histogram_percentile(&h, 99, 0);
    uint64_t p100 = st_histogram_percentile(&h, 100, 0);
    /* The 50th and the 99th of 100 values are both among the 99 in [8, 16);
     * the 100th is the one in [2^20, 2^21). A log2 bucket b holds values
     * below 2^(b+1), so an estimate equal to 2^(b+1) lies outside it.
     * The estimate stays inside its bucket even for the bucket's last value
     * (it once returned the exclusive upper bound: p99 -> 16, p100 -> 2^21). */
    assert_in_range(p50, 8, 15);
    assert_in_range(p99, 8, 15);
    assert_in_range(p100, 1u << 20, (1u << 21) - 1);
    assert_true(p50 <= p99 && p99 <= p100);
}

/* "The smallest value with at least p% of all values at or below it": of
 * 1000 values, p99.9 is the 999th: ceil(99.9 / 100.0 * 1000) is
 * ceil(999.0000000000001) = 1000 in double arithmetic, so without care the
 * rank is one too high and p99.9 lands on the outlier (2^21). */
static void test_percentile_rank_rounding(void **state)
{
    (void)state;
    st_histogram h;
    memset(&h, 0, sizeof h);
    h.buckets[3] = 999;
    h.buckets[20] = 1;
    assert_in_range(st_histogram_percentile(&h, 99.9, 0), 8, 16);
}

static void test_percentile_max_clamp(void **state)
{
    (void)state;
    st_histogram h;
    memset(&h, 0, sizeof h);
    h.buckets[20] = 10;               /* [1048576, 2097152) */
    const uint64_t max_value = 1100000;  /* the largest value really seen */
    for (double p = 1; p <= 100; p += 1) {
        uint64_t v = st_histogram_percentile(&h, p, max_value);
        if (v > max_value)
            fail_msg("p%.0f = %llu exceeds max %llu", p, (unsigned long long)v, (unsigned long long)max_value);
        assert_true(v >= 1048576);
    }
    /* Without a max (0) the bucket's interpolation is not clamped. */
    assert_true(st_histogram_percentile(&h, 100, 0) > max_value);
    /* A max above the estimate changes nothing. */
    assert_int_equal(st_histogram_percentile(&h, 50, UINT64_MAX), st_histogram_percentile(&h, 50, 0));
}

static void test_percentile_empty_and_edges(void **state)
{
    (void)state;
    st_histogram h;
    memset(&h, 0, sizeof h);
    assert_int_equal(st_histogram_count(&h), 0);
    assert_int_equal(st_histogram_percentile(&h, 50, 0), 0);
    assert_int_equal(st_histogram_percentile(&h, 99, 12345), 0);
    assert_int_equal(st_histogram_percentile(&h, 100, 0), 0);
    h.buckets[5] = 3;
    /* p <= 0 (or NaN) asks for nothing. */
    assert_int_equal(st_histogram_percentile(&h, 0, 0), 0);
    assert_int_equal(st_histogram_percentile(&h, -5, 0), 0);
    /* p > 100 is p100. */
    assert_int_equal(st_histogram_percentile(&h, 250, 0), st_histogram_percentile(&h, 100, 0));
    /* Bucket placement of recorded values. */
    assert_int_equal(st_histogram_bucket(0), 0);
    assert_int_equal(st_histogram_bucket(1), 0);
    assert_int_equal(st_histogram_bucket(2), 1);
    assert_int_equal(st_histogram_bucket(1023), 9);
    assert_int_equal(st_histogram_bucket(1024), 10);
    assert_int_equal(st_histogram_bucket(UINT64_MAX), ST_HISTOGRAM_BUCKETS - 1);
    memset(&h, 0, sizeof h);
    for (int i = 0; i < 100; i++)
        st_histogram_record(&h, 1500);
    assert_int_equal(h.buckets[10], 100);
    assert_in_range(st_histogram_percentile(&h, 50, 1500), 1024, 1500);
}

/* ---- rates ---------------------------------------------------------------- */

#define RATE_PAIRS 5000

static void test_rates_from_measured_interval(void **state)
{
    (void)state;
    const char *session = test_session_new();
    st_table *writer = open_session(session);
    st_lock *lock = NULL;
    assert_int_equal(st_lock_open(writer, "rated", &lock), ST_OK);
    st_table *reader = attach_session(session);
    st_model *model = new_model();

    uint64_t t0 = now_ns();
    refresh_ok(model, reader);
    uint64_t t1 = now_ns();
    assert_int_equal(st_model_refresh_count(model), 1);
    const st_object_view *object = find_object(model, "rated");
    assert_non_null(object);
    const st_field *acq = field_of(object, "acquisitions");
    assert_int_equal(acq->value.u64, 0);
    assert_true(acq->flags & ST_FIELD_COUNTER);
    assert_false(acq->has_rate);   /* one refresh: no interval yet */

    for (int i = 0; i < RATE_PAIRS; i++) {
        assert_int_equal(st_lock_acquire(lock, ST_FOREVER), ST_OK);
        assert_int_equal(st_lock_release(lock), ST_OK);
    }
    test_sleep_ms(200);   /* not synchronization: the interval the rate is measured over */

    uint64_t t2 = now_ns();
    refresh_ok(model, reader);
    uint64_t t3 = now_ns();
    assert_int_equal(st_model_refresh_count(model), 2);
    object = find_object(model, "rated");
    assert_non_null(object);
    acq = field_of(object, "acquisitions");
    assert_int_equal(acq->value.u64, RATE_PAIRS);
    assert_true(acq->has_rate);

    /* The two snapshots were taken between t0..t1 and t2..t3: the interval
     * the model measured lies in [t2 - t1, t3 - t0]. */
    double shortest = (double)(t2 - t1) / 1e9, longest = (double)(t3 - t0) / 1e9;
    double rate = acq->rate_per_s;
    double lowest = RATE_PAIRS / longest, highest = RATE_PAIRS / shortest;
    if (!(rate > 0) || rate < lowest * 0.999 || rate > highest * 1.001)
        fail_msg("rate %.1f/s outside [%.1f, %.1f] (interval %.3f..%.3f s)", rate, lowest, highest, shortest,
                 longest);
    double expected = RATE_PAIRS / ((shortest + longest) / 2);
    if (rate < expected * 0.5 || rate > expected * 1.5)
        fail_msg("rate %.1f/s not within 50%% of %.1f/s", rate, expected);
    /* The test slept 200 ms: no interval measured shorter than 0.15 s. */
    assert_true(rate <= RATE_PAIRS / 0.15);
    if (longest < 1.0)
        assert_true(rate >= RATE_PAIRS / 1.0);

    /* An uncontended lock: contentions is a counter with a rate of zero. */
    const st_field *contentions = field_of(object, "contentions");
    assert_int_equal(contentions->value.u64, 0);
    assert_true(contentions->has_rate);
    assert_true(contentions->rate_per_s == 0.0);
    /* A non-counter never has a rate. */
    const st_field *waiters = field_of(object, "waiters");
    assert_false(waiters->flags & ST_FIELD_COUNTER);
    assert_false(waiters->has_rate);

    st_model_free(model);
    st_lock_close(lock);
    st_table_close(reader);
    st_table_close(writer);
}

static void test_recreated_object_gets_no_rate(void **state)
{
    (void)state;
    const char *session = test_session_new();
    st_table *writer = open_session(session);
    st_lock *first = NULL;
    assert_int_equal(st_lock_open(writer, "first", &first), ST_OK);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(st_lock_acquire(first, ST_FOREVER), ST_OK);
        assert_int_equal(st_lock_release(first), ST_OK);
    }
    st_table *reader = attach_session(session);
    st_model *model = new_model();
    refresh_ok(model, reader);
    const st_object_view *before = find_object(model, "first");
    assert_non_null(before);
    uint32_t index = before->index;
    uint64_t created = before->created_ns;

    /* Free the slot the way the registry does (status FREE, one live object
     * less), then open another lock: it is allocated in the same slot. */
    st_lock_close(first);
    assert_int_equal(st_registry_lock(writer), ST_OK);
    __atomic_store_n(&writer->objects[index].header.status, ST_SLOT_FREE, __ATOMIC_RELEASE);
    ST_STORE(writer->header->live_objects, ST_LOAD(writer->header->live_objects) - 1);
    st_registry_unlock(writer);
    test_sleep_ms(2);   /* not synchronization: the new object's creation time must differ */
    st_lock *second = NULL;
    assert_int_equal(st_lock_open(writer, "second", &second), ST_OK);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(st_lock_acquire(second, ST_FOREVER), ST_OK);
        assert_int_equal(st_lock_release(second), ST_OK);
    }
    test_sleep_ms(20);   /* not synchronization: some time between two refreshes */

    refresh_ok(model, reader);
    assert_null(find_object(model, "first"));
    const st_object_view *after = find_object(model, "second");
    assert_non_null(after);
    assert_int_equal(after->index, index);          /* the same slot ... */
    assert_int_not_equal(after->created_ns, created); /* ... a new object */
    const st_field *acq = field_of(after, "acquisitions");
    assert_int_equal(acq->value.u64, 50);
    assert_false(acq->has_rate);
    for (uint32_t f = 0; f < after->field_count; f++)
        assert_false(after->fields[f].has_rate);

    /* One more refresh: now it has a history of its own. */
    test_sleep_ms(20);   /* not synchronization: some time between two refreshes */
    refresh_ok(model, reader);
    after = find_object(model, "second");
    assert_non_null(after);
    assert_true(field_of(after, "acquisitions")->has_rate);

    st_model_free(model);
    st_lock_close(second);
    st_table_close(reader);
    st_table_close(writer);
}

static void test_object_field_lookup(void **state)
{
    (void)state;
    const char *session = test_session_new();
    st_table *writer = open_session(session);
    st_lock *lock = NULL;
    assert_int_equal(st_lock_open(writer, "looked-up", &lock), ST_OK);
    st_table *reader = attach_session(session);
    st_model *model = new_model();
    refresh_ok(model, reader);
    const st_object_view *object = find_object(model, "looked-up");
    assert_non_null(object);
    assert_string_equal(object->type_name, "lock");
    assert_int_equal(object->creator_pid, getpid());
    const st_field *acq = st_object_field(object, "acquisitions");
    assert_non_null(acq);
    assert_string_equal(acq->name, "acquisitions");
    assert_int_equal(acq->kind, ST_VALUE_U64);
    assert_null(st_object_field(object, "nope"));
    assert_null(st_object_field(object, ""));
    assert_null(st_object_field(object, NULL));
    assert_null(st_object_field(NULL, "acquisitions"));
    assert_string_equal(st_model_session(model), session);

    st_model_free(model);
    st_lock_close(lock);
    st_table_close(reader);
    st_table_close(writer);
}

static void test_model_without_table(void **state)
{
    (void)state;
    st_model *model = new_model();
    refresh_ok(model, NULL);
    const st_system_view *system = st_model_system(model);
    assert_non_null(system);
    assert_true(system->cpus > 0);
    assert_true(system->mem_total_bytes > 0);
    assert_true(system->mem_available_bytes <= system->mem_total_bytes);
    assert_true(system->uptime_s > 0);
    assert_true(st_model_time_ns(model) > 0);
    assert_int_equal(st_model_process_count(model), 0);
    assert_int_equal(st_model_object_count(model), 0);
    assert_null(st_model_process(model, 0));
    assert_null(st_model_object(model, 0));
    assert_string_equal(st_model_session(model), "");
    assert_false(st_model_session_ended(model));
    st_model_free(model);
}

/* ---- processes ------------------------------------------------------------ */

typedef struct child_lock_arg {
    st_lock *lock;
} child_lock_arg;

/* Child: block on the lock until the parent releases it. */
static int child_acquire(void *arg)
{
    child_lock_arg *a = arg;
    if (st_lock_acquire(a->lock, ST_SECONDS(20)) != ST_OK)
        return 1;
    if (st_lock_release(a->lock) != ST_OK)
        return 2;
    return 0;
}

static void test_blocked_on_lock(void **state)
{
    (void)state;
    const char *session = test_session_new();
    st_table *writer = open_session(session);
    st_lock *lock = NULL;
    assert_int_equal(st_lock_open(writer, "contended", &lock), ST_OK);
    assert_int_equal(st_lock_acquire(lock, ST_FOREVER), ST_OK);
    st_table *reader = attach_session(session);
    st_model *model = new_model();

    child_lock_arg arg = { lock };
    pid_t child = test_spawn(child_acquire, &arg);
    assert_true(child > 0);

    const st_process_view *process = NULL;
    uint64_t deadline = now_ns() + 5000000000ull;
    for (;;) {
        refresh_ok(model, reader);
        process = find_process(model, child);
        if (process && process->blocked)
            break;
        if (now_ns() > deadline)
            fail_msg("child %d never showed as blocked", (int)child);
        test_sleep_ms(5);   /* a poll interval, not synchronization */
    }
    assert_true(process->blocked);
    assert_string_equal(process->blocked_object_name, "contended");
    assert_int_equal(process->blocked_op, ST_OP_ACQUIRE);
    assert_true(process->blocked_for_ns > 0);
    assert_true(process->alive);
    const st_object_view *object = find_object(model, "contended");
    assert_non_null(object);
    assert_int_equal(process->blocked_object, object->index);
    const st_field *waiters = field_of(object, "waiters");
    assert_int_equal(waiters->value.u64, 1);
    const st_field *holder = field_of(object, "holder");
    assert_int_equal(holder->kind, ST_VALUE_PID);
    assert_int_equal(holder->value.i64, getpid());
    /* The holder itself is not blocked. */
    const st_process_view *self = find_process(model, getpid());
    assert_non_null(self);
    assert_false(self->blocked);

    /* Blocked time grows. */
    uint64_t first_for = process->blocked_for_ns;
    test_sleep_ms(20);   /* not synchronization: time passes while it stays blocked */
    refresh_ok(model, reader);
    process = find_process(model, child);
    assert_non_null(process);
    assert_true(process->blocked);
    assert_true(process->blocked_for_ns > first_for);

    assert_int_equal(st_lock_release(lock), ST_OK);
    assert_int_equal(test_wait(child, 10000), 0);
    refresh_ok(model, reader);
    object = find_object(model, "contended");
    assert_non_null(object);
    assert_int_equal(field_of(object, "waiters")->value.u64, 0);
    assert_int_equal(field_of(object, "holder")->value.i64, 0);
    assert_int_equal(field_of(object, "contentions")->value.u64, 1);
    assert_int_equal(field_of(object, "acquisitions")->value.u64, 2);

    st_model_free(model);
    st_lock_close(lock);
    st_table_close(reader);
    st_table_close(writer);
}

typedef struct spin_arg {
    st_table *table;
    int ready_fd;
} spin_arg;

/* Child: register, tell the parent, spin (up to 20 s; the parent kills it). */
static int child_spin(void *arg)
{
    spin_arg *a = arg;
    if (st_process_register(a->table, "spinner", "busy") != ST_OK)
        return 1;
    char c = 'r';
    if (write(a->ready_fd, &c, 1) != 1)
        return 2;
    uint64_t end = now_ns() + 20000000000ull;
    volatile uint64_t sink = 0;
    while (now_ns() < end)
        for (int i = 0; i < 100000; i++)
            sink += (uint64_t)i;
    return sink == 1 ? 3 : 0;   /* read the sink: the loop is not dead code */
}

static void test_cpu_and_death_of_a_child(void **state)
{
    (void)state;
    const char *session = test_session_new();
    st_table *writer = open_session(session);
    st_table *reader = attach_session(session);
    st_model *model = new_model();
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    spin_arg arg = { writer, fds[1] };
    pid_t child = test_spawn(child_spin, &arg);
    assert_true(child > 0);
    close(fds[1]);
    char c;
    assert_int_equal(read(fds[0], &c, 1), 1);
    close(fds[0]);

    double cpu_before = test_cpu_seconds(child), time_before = test_now();
    refresh_ok(model, reader);
    const st_process_view *process = find_process(model, child);
    assert_non_null(process);
    assert_string_equal(process->name, "spinner");
    assert_string_equal(process->role, "busy");
    assert_true(process->alive);
    uint32_t slot = process->index;

    /* The interval CPU% is measured over: at least 600 ms, and until the
     * spinner has had 150 ms of CPU, however busy the machine. */
    assert_true(test_wait_cpu_time(child, cpu_before + 0.15, time_before + 0.6, TEST_WAIT_MS));
    refresh_ok(model, reader);
    /* Compared with the kernel's own count over an enclosing interval: on
     * a busy machine the spinner gets what the scheduler gives it. */
    double expected = (test_cpu_seconds(child) - cpu_before) / (test_now() - time_before) * 100.0;
    process = find_process(model, child);
    assert_non_null(process);
    assert_true(process->alive);
    assert_true(process->sampled);
    assert_true(expected > 5.0);
    if (!(process->cpu_percent > expected - 15.0 && process->cpu_percent < expected + 15.0))
        fail_msg("spinning child shows %.1f%% CPU; the kernel says %.1f%%", process->cpu_percent, expected);
    assert_true(process->rss_bytes > 0);

    /* Killed and reaped: its slot stays (nobody reclaimed it) but it is not alive. */
    test_kill(child);
    refresh_ok(model, reader);
    process = find_process(model, child);
    assert_non_null(process);
    assert_int_equal(process->index, slot);
    assert_false(process->alive);
    assert_false(process->sampled);
    assert_int_equal(process->rss_bytes, 0);
    assert_true(process->cpu_percent == 0.0);
    /* The parent is still alive and listed. */
    const st_process_view *self = find_process(model, getpid());
    assert_non_null(self);
    assert_true(self->alive);

    /* Once reclaimed, it is gone. */
    uint32_t reclaimed = 0;
    assert_int_equal(st_table_reclaim_dead(writer, &reclaimed), ST_OK);
    assert_int_equal(reclaimed, 1);
    refresh_ok(model, reader);
    assert_null(find_process(model, child));
    assert_non_null(find_process(model, getpid()));

    st_model_free(model);
    st_table_close(reader);
    st_table_close(writer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentile_single_bucket),
        cmocka_unit_test(test_percentile_outlier),
        cmocka_unit_test(test_percentile_rank_rounding),
        cmocka_unit_test(test_percentile_max_clamp),
        cmocka_unit_test(test_percentile_empty_and_edges),
        cmocka_unit_test_teardown(test_rates_from_measured_interval, test_teardown),
        cmocka_unit_test_teardown(test_recreated_object_gets_no_rate, test_teardown),
        cmocka_unit_test_teardown(test_object_field_lookup, test_teardown),
        cmocka_unit_test_teardown(test_model_without_table, test_teardown),
        cmocka_unit_test_teardown(test_blocked_on_lock, test_teardown),
        cmocka_unit_test_teardown(test_cpu_and_death_of_a_child, test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
