/* builtin_lock.h - the built-in lock of a Value, an Array or a Dict: an
 * st_lock_body embedded in the object's slot body (so its contention shows
 * among the object's figures), taken by each operation unless the calling
 * thread already holds it.
 *
 * That last rule is what makes Python's idiom work in C:
 *
 *     acquire(get_lock(v)); x = get(v); set(v, x + 1); release(...)
 *
 * get and set see that this thread is the holder (the lock's holder pid and
 * thread, which only the holder writes) and run without locking again, the
 * way Python's Value uses an RLock. The check trusts the holder fields: a
 * process that died holding the lock leaves its pid there, and only a new
 * process with that very pid and the same pthread id could be fooled; the
 * robust mutex then still protects the next real acquirer.
 */
#ifndef SYNCTOP_BUILTIN_LOCK_H
#define SYNCTOP_BUILTIN_LOCK_H

#include <pthread.h>
#include <stdbool.h>
#include "lock_internal.h"

/* Whether the calling thread holds the lock whose body is b. */
static inline bool st_builtin_lock_held(const st_lock_body *b)
{
    return st_lock_body_held_by_caller(b);
}

/* Take the lock for one operation unless this thread holds it already.
 * *taken says whether to release it after. Returns ST_OK, ST_EOWNERDEAD
 * (taken: a holder died holding it; the guarded data may be half-written),
 * or the acquisition's error (not taken). */
static inline st_result st_builtin_lock_enter(st_lock *lock, const st_lock_body *b, bool *taken)
{
    *taken = false;
    if (st_builtin_lock_held(b))
        return ST_OK;
    st_result r = st_lock_acquire(lock, ST_FOREVER);
    *taken = r == ST_OK || r == ST_EOWNERDEAD;
    return r;
}

static inline void st_builtin_lock_leave(st_lock *lock, bool taken)
{
    if (taken)
        st_lock_release(lock);
}

#endif
