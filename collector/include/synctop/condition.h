/* condition.h - the instrumented Condition variable (Python's
 * multiprocessing.Condition), over a synctop Lock.
 *
 * A condition is bound to one Lock for life: the lock it was created with.
 * wait() must be called holding that lock; it releases the lock, sleeps
 * until notified (or the timeout), and takes the lock back before it
 * returns, whatever the outcome - through the Lock's own acquire and
 * release, so the Lock's figures (acquisitions, hold times) stay right.
 * notify(n) wakes at most n of the processes waiting at that moment (a
 * later waiter cannot steal the wake-up); notify_all wakes them all. Both
 * must be called holding the lock, as in Python.
 *
 * A waiter killed while it waits stays counted in `waiters`, and one
 * later notification may be spent on it.
 *
 * Figures: `lock` (the lock's name), `waiters` (waiting and not yet
 * notified), `notifies` (notify calls), `notify_alls`, `wakeups` (waits
 * that returned because they were notified), `timeouts` (waits that timed
 * out) and `spurious_wakeups` (times a waiter woke up to find no
 * notification for it and slept again).
 */
#ifndef SYNCTOP_CONDITION_H
#define SYNCTOP_CONDITION_H

/* The library is built with hidden visibility: what this header declares
 * is its public API. */
#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stdint.h>
#include "lock.h"
#include "result.h"
#include "table.h"
#include "timeout.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct st_condition st_condition;

/* A predicate for st_condition_wait_for(), called with the lock held. */
typedef bool (*st_condition_predicate)(void *arg);

/* Open the condition called name over lock (a handle on a Lock of the same
 * session), creating it if it does not exist. Opening an existing
 * condition with a different lock than the one it was created with is
 * ST_EINVAL. The lock handle must stay open as long as the condition
 * handle is used. */
st_result st_condition_open(st_table *table, const char *name, st_lock *lock, st_condition **out);

/* Release the lock, wait to be notified for at most timeout_ns (ST_FOREVER,
 * 0 for no wait at all), then take the lock back (waiting as long as that
 * takes). ST_OK when notified; ST_ETIMEDOUT; ST_EOWNERDEAD when the lock's
 * holder died meanwhile (the caller holds the lock; the data it guards
 * may be inconsistent). ST_ENOTOWNER, without waiting, when the caller
 * does not hold the lock; ST_EINVAL for a bad handle or negative timeout. */
st_result st_condition_wait(st_condition *cond, int64_t timeout_ns);

/* Wait until predicate(arg) is true, re-checking it after every wake-up,
 * for at most timeout_ns in all. ST_OK when it is true (at once, or
 * later); ST_ETIMEDOUT when it was still false at the deadline (its last
 * value); otherwise as st_condition_wait(). The lock is held on return. */
st_result st_condition_wait_for(st_condition *cond, st_condition_predicate predicate, void *arg,
                                int64_t timeout_ns);

/* Wake at most n waiters (0 wakes none). ST_ENOTOWNER when the caller does
 * not hold the lock. */
st_result st_condition_notify(st_condition *cond, uint32_t n);

/* Wake every waiter. ST_ENOTOWNER when the caller does not hold the lock. */
st_result st_condition_notify_all(st_condition *cond);

/* Drop the handle (the condition stays in the session; the lock handle is
 * not closed). NULL is a no-op. */
void st_condition_close(st_condition *cond);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
