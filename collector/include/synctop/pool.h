/* pool.h - a pool of worker processes running C functions (Python's
 * multiprocessing.Pool, in C).
 *
 * st_pool_open() forks N workers. A task is a function (st_task_fn) plus an
 * input byte buffer: the function pointer stays valid in the workers because
 * they are forks of the same binary. The worker hands back an output byte
 * buffer, or an error code and message. Tasks travel through a task table in
 * shared memory of fixed-size slots; the largest input and output are set at
 * creation (st_pool_options), and anything larger is refused with
 * ST_EOVERFLOW.
 *
 * Ownership: the process that opened the pool owns it. Only the owner submits
 * tasks and collects results (the workers are its children, and callbacks
 * run in it); a forked child or another process calling in gets ST_EPERM.
 * Opening the name of a pool whose owner is alive gives ST_EBUSY; the name of
 * a closed pool (or one whose owner died) is reused.
 *
 * When callbacks run: never on their own, always in the owner and inside one
 * of these calls, on the thread that made it:
 *   - st_pool_poll()         runs the callbacks of every finished task;
 *   - st_pool_wait()         runs them until every async task has finished;
 *   - st_pool_map()          runs those of async tasks that finish meanwhile;
 *   - st_pool_apply_async()  when all task slots are taken, runs finished
 *                            tasks' callbacks to free one;
 *   - st_pool_close()        runs those of tasks finishing during the close,
 *                            and the error callback (ST_ECLOSED) of tasks
 *                            that could not run.
 * A callback may submit more tasks (st_pool_apply_async), but must not call
 * st_pool_close.
 *
 * Crashes: a worker that dies while running a task (a signal, abort(),
 * exit()) fails that task with ST_EWORKERDIED and a message naming the signal
 * or exit status, and is replaced by a fresh worker; the pool keeps going.
 * The owner notices within about 10 ms while it is inside one of the calls
 * above. Workers die with their owner (PR_SET_PDEATHSIG): open the pool from
 * a thread that lives as long as the pool.
 *
 * Each worker registers as a process "<pool>-worker-<n>" (the pool name is
 * shortened to fit ST_PROCESS_NAME_MAX) with the role "pool-worker"; it is
 * "blocked" on the pool while it waits for a task and "running" during one.
 */
#ifndef SYNCTOP_POOL_H
#define SYNCTOP_POOL_H

/* The library is built with hidden visibility: what this header declares
 * is its public API. */
#pragma GCC visibility push(default)

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "result.h"
#include "table.h"
#include "timeout.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ST_POOL_MAX_WORKERS 64u
#define ST_POOL_MAX_TASKS 65536u
#define ST_POOL_DEFAULT_TASKS 64u
#define ST_POOL_DEFAULT_TASK_BYTES 4096u
#define ST_POOL_MAX_TASK_BYTES (16u << 20)
#define ST_POOL_MESSAGE_MAX 127          /* bytes of a task's error message */

typedef struct st_pool st_pool;

/* A task, run in a worker: read input_size bytes at input, write at most
 * output_capacity bytes at output and their count in *output_size (0 when
 * nothing is written), and return ST_OK. To fail, return an error code,
 * best through st_task_error() to say why: the worker hands back the code
 * and its st_error_detail() (cleared before each task). Claiming more than
 * output_capacity bytes fails the task with ST_EOVERFLOW. */
typedef st_result (*st_task_fn)(const void *input, size_t input_size, void *output, size_t output_capacity,
                                size_t *output_size);

/* For a task: return code with a message, printf-style, that the error
 * callback (or the map outcome) will see:
 *     return st_task_error(ST_EINVAL, "input %d is negative", x); */
st_result st_task_error(st_result code, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Called in the owner with a finished task's output (valid only during the
 * call) and the context given to st_pool_apply_async. */
typedef void (*st_pool_result_fn)(void *context, const void *output, size_t output_size);

/* Called in the owner when a task failed: its code (the task's own error,
 * ST_EOVERFLOW, ST_EWORKERDIED, or ST_ECLOSED when the pool closed before
 * the task could finish) and a message (valid only during the call). */
typedef void (*st_pool_error_fn)(void *context, st_result code, const char *message);

typedef struct st_pool_options {
    uint32_t workers;            /* worker processes, 1..ST_POOL_MAX_WORKERS (0 is refused) */
    uint32_t task_slots;         /* tasks submitted and not yet collected; 0: ST_POOL_DEFAULT_TASKS */
    uint32_t max_input_bytes;    /* largest task input; 0: ST_POOL_DEFAULT_TASK_BYTES */
    uint32_t max_output_bytes;   /* largest task output; 0: ST_POOL_DEFAULT_TASK_BYTES */
    int64_t close_timeout_ns;    /* how long st_pool_close lets work finish before SIGKILL; 0: 5 s */
} st_pool_options;

/* How one item of st_pool_map ended. */
typedef struct st_pool_outcome {
    st_result result;            /* ST_OK, or why the item failed */
    uint32_t output_size;        /* bytes the task wrote to its output item */
    char message[ST_POOL_MESSAGE_MAX + 1];
} st_pool_outcome;

/* Create the pool called name and fork its workers. options is required
 * (workers must be at least 1); its figures only matter when the pool is
 * created. ST_EBUSY when a live process already runs a pool of that name. */
st_result st_pool_open(st_table *table, const char *name, const st_pool_options *options, st_pool **out);

/* Submit fn(input) and return at once; on_result or on_error (either may be
 * NULL) runs later in the owner (see "When callbacks run"). The input is
 * copied. When every task slot is taken, waits up to timeout_ns for one to
 * free (running callbacks meanwhile): ST_ETIMEDOUT if none did.
 * ST_EOVERFLOW when input_size exceeds max_input_bytes. */
st_result st_pool_apply_async(st_pool *pool, st_task_fn fn, const void *input, size_t input_size,
                              st_pool_result_fn on_result, st_pool_error_fn on_error, void *context,
                              int64_t timeout_ns);

/* Run fn over count inputs (item i at inputs + i * input_stride, of
 * input_stride bytes) and wait for all of them: the output of item i lands at
 * outputs + i * output_stride (at most output_stride bytes; outputs may be
 * NULL when output_stride is 0) and its outcome in outcomes[i] (may be NULL).
 * A failed item does not stop the others. Returns ST_OK when every item
 * succeeded, else the code of the first failed item in input order (all
 * items have then run); ST_ETIMEDOUT when not all finished within timeout_ns
 * (the rest are abandoned: they run, their results are dropped);
 * ST_EOVERFLOW when a stride exceeds the pool's maximum. */
st_result st_pool_map(st_pool *pool, st_task_fn fn, const void *inputs, size_t input_stride, size_t count,
                      void *outputs, size_t output_stride, st_pool_outcome *outcomes, int64_t timeout_ns);

/* Collect finished tasks and run their callbacks; notice and replace dead
 * workers. When nothing has finished, waits up to timeout_ns for a task to
 * finish. ST_OK when at least one callback ran (*ran, may be NULL, says how
 * many), ST_ETIMEDOUT otherwise. */
st_result st_pool_poll(st_pool *pool, int64_t timeout_ns, uint32_t *ran);

/* Wait until every task submitted with st_pool_apply_async has finished and
 * its callback has run. ST_ETIMEDOUT if some are still pending. */
st_result st_pool_wait(st_pool *pool, int64_t timeout_ns);

/* The pool's figures as the owner sees them (the same as the dashboard). */
typedef struct st_pool_stats {
    uint32_t workers;
    uint32_t workers_busy;
    uint32_t tasks_queued;
    uint32_t tasks_running;
    uint64_t tasks_done;
    uint64_t tasks_failed;
    uint64_t workers_replaced;
    uint32_t tasks_pending;      /* submitted by this owner, callbacks not yet run */
} st_pool_stats;
st_result st_pool_stats_get(st_pool *pool, st_pool_stats *stats);

/* The pid of worker i (0 <= i < workers), 0 when it is being replaced. */
pid_t st_pool_worker_pid(const st_pool *pool, uint32_t i);

/* Close the pool: no more tasks; queued and running tasks may finish (their
 * callbacks run) for up to close_timeout_ns, then the remaining workers are
 * killed (SIGKILL); every worker is reaped and the handle freed. Tasks that
 * never finished get their error callback with ST_ECLOSED. Returns ST_OK,
 * or ST_ETIMEDOUT when workers had to be killed (the pool is closed either
 * way); ST_EINVAL for a NULL handle; ST_EPERM when called from a process that
 * does not own the pool (the handle is then only freed). */
st_result st_pool_close(st_pool *pool);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
