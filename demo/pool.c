/* pool.c - the pool lesson: a pool of worker processes running map and
 * async tasks, with result and error callbacks (Python's Pool.map and
 * Pool.apply_async, in C).
 *
 * The process "pool-owner" (this lesson's own process) opens the pool
 * "crunchers" of 3 workers ("crunchers-worker-1" ..; the pool names them).
 * Every round:
 *   - map: count the primes in 8 ranges of 20000 numbers, one task per
 *     range; st_pool_map() hands back every result in input order;
 *   - async: 10 tasks squaring numbers, submitted with st_pool_apply_async()
 *     with a result callback and an error callback. Two of them fail on
 *     purpose: a negative input makes the task return an error
 *     (ST_EINVAL, with its message), and the input 13 makes the worker die
 *     (SIGKILL) in the middle of its task - the pool fails that task with
 *     ST_EWORKERDIED and replaces the worker.
 * Each task also pauses a little, so that the dashboard shows busy
 * workers, a queue of tasks, and tasks_done / tasks_failed climbing.
 *
 * The claim: every map result is right; every async task ended in exactly
 * one callback, the result callback with the right square or the error
 * callback with exactly the expected error, for exactly the expected
 * tasks; and the pool replaced the worker that died.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "crew.h"
#include "lessons.h"

#define POOL_NAME "crunchers"
#define POOL_WORKERS 3
#define RANGES 8
#define RANGE_SIZE 20000
#define ASYNC_TASKS 10
#define NEGATIVE_INPUT (-4)
#define FATAL_INPUT 13
#define ROUND_TIMEOUT_NS 60000000000LL

/* ---- the tasks (run in the pool's workers) ----------------------------------- */

struct range {
    int64_t from, to;   /* [from, to) */
};

static bool is_prime(int64_t n)
{
    if (n < 2)
        return false;
    for (int64_t d = 2; d * d <= n; d++)
        if (n % d == 0)
            return false;
    return true;
}

static int64_t primes_in(struct range range)
{
    int64_t count = 0;
    for (int64_t n = range.from; n < range.to; n++)
        count += is_prime(n);
    return count;
}

static st_result count_primes_task(const void *input, size_t input_size, void *output,
                                   size_t output_capacity, size_t *output_size)
{
    struct range range;
    if (input_size != sizeof range || output_capacity < sizeof(int64_t))
        return st_task_error(ST_EINVAL, "count_primes: bad input or output size");
    memcpy(&range, input, sizeof range);
    demo_pause_between(150, 500);   /* so that the work can be watched */
    int64_t count = primes_in(range);
    memcpy(output, &count, sizeof count);
    *output_size = sizeof count;
    return ST_OK;
}

static st_result square_task(const void *input, size_t input_size, void *output,
                             size_t output_capacity, size_t *output_size)
{
    int64_t x;
    if (input_size != sizeof x || output_capacity < sizeof x)
        return st_task_error(ST_EINVAL, "square: bad input or output size");
    memcpy(&x, input, sizeof x);
    demo_pause_between(200, 700);
    if (x < 0)
        return st_task_error(ST_EINVAL, "input %lld is negative", (long long)x);
    if (x == FATAL_INPUT)
        raise(SIGKILL);   /* the worker dies mid-task */
    int64_t square = x * x;
    memcpy(output, &square, sizeof square);
    *output_size = sizeof square;
    return ST_OK;
}

/* ---- the owner ----------------------------------------------------------------- */

/* What became of one async task, filled in by its callback. */
struct task_record {
    int64_t input;
    int callbacks;          /* must end at exactly 1 */
    bool succeeded;
    int64_t output;
    st_result error;
    char message[ST_POOL_MESSAGE_MAX + 1];
};

static void on_result(void *context, const void *output, size_t output_size)
{
    struct task_record *record = context;
    record->callbacks++;
    record->succeeded = true;
    if (output_size == sizeof record->output)
        memcpy(&record->output, output, sizeof record->output);
}

static void on_error(void *context, st_result code, const char *message)
{
    struct task_record *record = context;
    record->callbacks++;
    record->succeeded = false;
    record->error = code;
    snprintf(record->message, sizeof record->message, "%s", message);
}

/* 1: as taught, 0: cut short by a stop, -1: the claim failed or a call
 * failed. */
static int map_round(st_pool *pool)
{
    struct range ranges[RANGES];
    int64_t counts[RANGES];
    st_pool_outcome outcomes[RANGES];
    for (int i = 0; i < RANGES; i++)
        ranges[i] = (struct range){ (int64_t)i * RANGE_SIZE, (int64_t)(i + 1) * RANGE_SIZE };
    memset(counts, 0, sizeof counts);

    st_result result = st_pool_map(pool, count_primes_task, ranges, sizeof ranges[0], RANGES,
                                   counts, sizeof counts[0], outcomes, ROUND_TIMEOUT_NS);
    if (result != ST_OK) {
        if (demo_stop_requested())
            return 0;
        demo_report("st_pool_map", result);
        return -1;
    }
    int64_t total = 0;
    for (int i = 0; i < RANGES; i++) {
        int64_t expected = primes_in(ranges[i]);
        if (counts[i] != expected) {
            demo_claim_failed("map item %d (primes in [%lld, %lld)) came back as %lld, not %lld",
                              i, (long long)ranges[i].from, (long long)ranges[i].to,
                              (long long)counts[i], (long long)expected);
            return -1;
        }
        total += counts[i];
    }
    demo_say("pool-owner: map over %d ranges: %lld primes below %d, every result in its place",
             RANGES, (long long)total, RANGES * RANGE_SIZE);
    return 1;
}

static bool expected_error(const struct task_record *record)
{
    if (record->input < 0)
        return record->error == ST_EINVAL && strstr(record->message, "is negative") != NULL;
    if (record->input == FATAL_INPUT)
        return record->error == ST_EWORKERDIED;
    return false;
}

static int async_round(st_pool *pool)
{
    struct task_record records[ASYNC_TASKS];
    memset(records, 0, sizeof records);
    for (int i = 0; i < ASYNC_TASKS; i++) {
        records[i].input = i == 3 ? NEGATIVE_INPUT : i == 7 ? FATAL_INPUT : i + 1;
        st_result result = st_pool_apply_async(pool, square_task, &records[i].input,
                                               sizeof records[i].input, on_result, on_error,
                                               &records[i], ROUND_TIMEOUT_NS);
        if (result != ST_OK) {
            demo_report("st_pool_apply_async", result);
            return -1;
        }
    }
    st_result result = st_pool_wait(pool, ROUND_TIMEOUT_NS);
    if (result != ST_OK) {
        if (demo_stop_requested())
            return 0;
        demo_report("st_pool_wait", result);
        return -1;
    }

    int results = 0, errors = 0;
    for (int i = 0; i < ASYNC_TASKS; i++) {
        const struct task_record *r = &records[i];
        bool should_fail = r->input < 0 || r->input == FATAL_INPUT;
        if (r->callbacks != 1) {
            demo_claim_failed("async task %d (input %lld) ran %d callbacks, not 1", i,
                              (long long)r->input, r->callbacks);
            return -1;
        }
        if (r->succeeded && (should_fail || r->output != r->input * r->input)) {
            demo_claim_failed("async task %d (input %lld) %s %lld", i, (long long)r->input,
                              should_fail ? "should have failed, but returned"
                                          : "returned a wrong square:", (long long)r->output);
            return -1;
        }
        if (!r->succeeded && !expected_error(r)) {
            demo_claim_failed("async task %d (input %lld) failed unexpectedly: %s (%s)", i,
                              (long long)r->input, st_result_name(r->error), r->message);
            return -1;
        }
        if (r->succeeded)
            results++;
        else {
            errors++;
            demo_say("pool-owner: error callback, as expected: task %d (input %lld): %s: %s", i,
                     (long long)r->input, st_result_name(r->error), r->message);
        }
    }
    demo_say("pool-owner: async: %d tasks, %d results by the result callback, %d by the "
             "error callback", ASYNC_TASKS, results, errors);
    return 1;
}

int lesson_pool(const struct lesson_options *opts)
{
    st_table *table = NULL;
    st_pool *pool = NULL;
    int status = 1, rounds = 0;
    uint64_t replaced_before = 0;

    if (!lesson_open(opts, "pool-owner", &table))
        goto out;
    st_pool_options options = {
        .workers = POOL_WORKERS,
        .task_slots = 32,
        .max_input_bytes = sizeof(struct range),
        .max_output_bytes = sizeof(int64_t),
        .close_timeout_ns = 2000000000LL,
    };
    st_result result = st_pool_open(table, POOL_NAME, &options, &pool);
    if (result != ST_OK) {
        demo_report("st_pool_open(" POOL_NAME ")", result);
        goto out;
    }
    st_pool_stats stats;
    if (st_pool_stats_get(pool, &stats) == ST_OK)
        replaced_before = stats.workers_replaced;
    demo_say("the pool \"" POOL_NAME "\" of %d workers runs a map (primes in %d ranges) and "
             "%d async tasks with callbacks; one task fails, one kills its worker. Watch: "
             "synctop -s %s", POOL_WORKERS, RANGES, ASYNC_TASKS, opts->session);

    status = 0;
    while (!demo_stop_requested() && !(demo_time_is_up() && rounds > 0)) {
        int outcome = map_round(pool);
        if (outcome > 0)
            outcome = async_round(pool);
        if (outcome < 0)
            status = 1;
        if (outcome <= 0)
            break;
        rounds++;
        demo_pause(1500);
    }

    if (status == 0 && rounds > 0) {
        result = st_pool_stats_get(pool, &stats);
        if (result != ST_OK) {
            demo_report("st_pool_stats_get", result);
            status = 1;
        } else if (stats.workers_replaced - replaced_before < (uint64_t)rounds) {
            status = demo_claim_failed("%d workers died in their tasks, but the pool replaced "
                                       "only %llu", rounds,
                                       (unsigned long long)(stats.workers_replaced -
                                                            replaced_before));
        } else {
            demo_say("%d round%s: every map result right, every async task ended in exactly "
                     "one callback (in all: %llu tasks done, %llu failed, %llu worker%s "
                     "replaced).",
                     rounds, rounds == 1 ? "" : "s", (unsigned long long)stats.tasks_done,
                     (unsigned long long)stats.tasks_failed,
                     (unsigned long long)stats.workers_replaced,
                     stats.workers_replaced == 1 ? "" : "s");
        }
    } else if (status == 0) {
        demo_say("stopped before the first round finished.");
    }

out:
    if (pool != NULL) {
        result = st_pool_close(pool);
        if (result != ST_OK && result != ST_ETIMEDOUT) {
            demo_report("st_pool_close(" POOL_NAME ")", result);
            status = 1;
        }
    }
    lesson_close(table);
    return status;
}
