/* semaphore.h - instrumented counting semaphores (Python's
 * multiprocessing.Semaphore and BoundedSemaphore).
 *
 * A semaphore holds a value: acquire takes one unit (waiting while the
 * value is 0), release gives one back. A bounded semaphore refuses a
 * release that would take its value above the initial value: that is the
 * classic bug of releasing more than was acquired, and instead of hiding
 * it the call returns ST_EOVERFLOW, changes nothing and counts an
 * over-release attempt the dashboard shows.
 *
 * Semaphores have no owner: any process may release a unit another took.
 * So a process that dies while "holding" a unit cannot be detected, and
 * that unit is lost for good (a Lock, which has an owner, is recovered
 * instead). Use a Lock, or a supervisor, where that matters.
 *
 * Figures: `value`, `initial`, `in_use` (initial - value, at least 0),
 * `peak_in_use` (the largest in_use ever seen: the concurrency peak),
 * `waiters`, `acquisitions`, `contentions` (acquires that had to wait),
 * `wait_ns_total`, `wait_ns_max`, `wait_ns_p50`, `wait_ns_p99` (of the
 * waits), `timeouts`, `releases` (units given back) and, bounded only,
 * `over_releases`.
 */
#ifndef SYNCTOP_SEMAPHORE_H
#define SYNCTOP_SEMAPHORE_H

/* The library is built with hidden visibility: what this header declares
 * is its public API. */
#pragma GCC visibility push(default)

#include <stdint.h>
#include "result.h"
#include "table.h"
#include "timeout.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The largest value a semaphore can hold. */
#define ST_SEMAPHORE_VALUE_MAX 0x7fffffffu

typedef struct st_semaphore st_semaphore;

/* Open the semaphore called name, creating it with initial_value (only the
 * creator's initial_value matters; later openers attach to the existing
 * one whatever they pass). ST_EINVAL if initial_value exceeds
 * ST_SEMAPHORE_VALUE_MAX; ST_EWRONGTYPE if name is another kind of object
 * (a bounded semaphore and a plain one are different kinds). */
st_result st_semaphore_open(st_table *table, const char *name, uint32_t initial_value, st_semaphore **out);

/* The same for a bounded semaphore: its maximum is its initial value. */
st_result st_bounded_semaphore_open(st_table *table, const char *name, uint32_t initial_value,
                                    st_semaphore **out);

/* Take one unit, waiting at most timeout_ns (ST_FOREVER, 0 to try once).
 * ST_OK, ST_ETIMEDOUT (counted in `timeouts`), or ST_EINVAL for a bad
 * handle or a negative timeout. */
st_result st_semaphore_acquire(st_semaphore *sem, int64_t timeout_ns);

/* Take one unit only if one is free now: ST_OK or ST_EBUSY (not counted
 * as a timeout). */
st_result st_semaphore_try(st_semaphore *sem);

/* Give one unit back and wake one waiter. ST_EOVERFLOW when that would
 * take a bounded semaphore above its initial value (or any semaphore above
 * ST_SEMAPHORE_VALUE_MAX): nothing changes. */
st_result st_semaphore_release(st_semaphore *sem);

/* Give n units back at once (n >= 1; all or nothing) and wake up to n
 * waiters. */
st_result st_semaphore_release_n(st_semaphore *sem, uint32_t n);

/* The value right now (a moment later it may differ). */
st_result st_semaphore_value(st_semaphore *sem, uint32_t *value);

/* Drop the handle (the semaphore stays in the session). NULL is a no-op. */
void st_semaphore_close(st_semaphore *sem);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
