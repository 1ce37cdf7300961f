/* lock.h - the instrumented Lock: a process-shared robust mutex whose
 * statistics live next to it in the status table.
 *
 * Figures follow Linux lockstat: acquisitions, contentions (acquisitions
 * that had to wait), wait time (total, max, log2 histogram), hold time
 * (total, max), the holder and the waiters right now, and owner-died
 * recoveries. The wait is timed only when the first try fails.
 */
#ifndef SYNCTOP_LOCK_H
#define SYNCTOP_LOCK_H

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

#define ST_OBJECT_NAME_MAX 63

typedef struct st_lock st_lock;

/* Open the lock called name in the session, creating it if it does not
 * exist. Unrelated processes that open the same name share the lock; a
 * handle is inherited across fork(). */
st_result st_lock_open(st_table *table, const char *name, st_lock **out);

/* Acquire, waiting at most timeout_ns (ST_FOREVER to wait without limit,
 * 0 to try once). Returns ST_OK; ST_EOWNERDEAD when the previous holder
 * died holding it (the caller now holds it and the data it guards may be
 * inconsistent); ST_ETIMEDOUT; ST_EDEADLK when the caller already holds it;
 * ST_EINVAL for a NULL handle or a negative timeout. */
st_result st_lock_acquire(st_lock *lock, int64_t timeout_ns);

/* Acquire only if free right now: ST_OK, ST_EOWNERDEAD, or ST_EBUSY. */
st_result st_lock_try(st_lock *lock);

/* Release. ST_ENOTOWNER when the caller does not hold it. */
st_result st_lock_release(st_lock *lock);

/* Drop the handle (the lock stays in the session). NULL is a no-op. */
void st_lock_close(st_lock *lock);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
