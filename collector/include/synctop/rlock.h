/* rlock.h - the instrumented re-entrant lock (Python's multiprocessing.RLock).
 *
 * An RLock is a Lock (the same robust process-shared mutex and the same
 * lockstat figures) that its owner may acquire again: each re-entry only
 * raises the recursion depth, and the lock is released when the owner has
 * released it as many times as it acquired it. The owner is one thread of
 * one process (pid + thread, like a Lock's holder): another process, or a
 * forked child of the owner, waits like on any Lock.
 *
 * Figures: every Lock figure (holder, waiters, acquisitions, contentions,
 * wait and hold times, owner_died, timeouts), where `acquisitions` counts
 * only the outermost acquires (the ones that took the mutex) and hold time
 * runs from the outermost acquire to the last release; plus `owner` (pid,
 * the same as `holder`), `depth` (the owner's recursion depth right now)
 * and `recursions` (every successful acquire call, outermost ones included:
 * recursions - acquisitions is the number of re-entries).
 */
#ifndef SYNCTOP_RLOCK_H
#define SYNCTOP_RLOCK_H

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

typedef struct st_rlock st_rlock;

/* Open the RLock called name in the session, creating it if it does not
 * exist (ST_EWRONGTYPE if name is another kind of object). */
st_result st_rlock_open(st_table *table, const char *name, st_rlock **out);

/* Acquire, or re-enter when the caller already owns it (that never waits
 * and makes no system call). timeout_ns as everywhere: ST_FOREVER, 0 to try
 * once, > 0 at most that long. Returns ST_OK; ST_EOWNERDEAD when the
 * previous owner died holding it (the caller now owns it at depth 1);
 * ST_ETIMEDOUT; ST_EOVERFLOW past 2^32 - 1 nested acquires; ST_EINVAL for a
 * bad handle or a negative timeout. */
st_result st_rlock_acquire(st_rlock *rlock, int64_t timeout_ns);

/* Acquire or re-enter only if that needs no wait: ST_OK, ST_EOWNERDEAD or
 * ST_EBUSY (owned by someone else). */
st_result st_rlock_try(st_rlock *rlock);

/* Release one level; the lock is free again when the depth reaches 0.
 * ST_ENOTOWNER when the caller does not own it (including one release
 * more than it acquired). */
st_result st_rlock_release(st_rlock *rlock);

/* The caller's own recursion depth (0 when it does not own the lock). */
st_result st_rlock_depth(st_rlock *rlock, uint32_t *depth);

/* Drop the handle (the RLock stays in the session). NULL is a no-op. */
void st_rlock_close(st_rlock *rlock);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
