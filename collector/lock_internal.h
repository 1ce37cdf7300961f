/* lock_internal.h - the Lock's pieces that other primitives reuse: an
 * RLock, a Value's or a Dict's built-in lock, a Condition's lock all embed
 * an st_lock_body in their own slot body and use these calls on it. */
#ifndef SYNCTOP_LOCK_INTERNAL_H
#define SYNCTOP_LOCK_INTERNAL_H

#include <pthread.h>
#include "internal.h"
#include "object_types.h"

/* Whether the calling thread holds the lock whose body is b (only the
 * holder itself can have stored its own pid and thread there). */
static inline bool st_lock_body_held_by_caller(const st_lock_body *b)
{
    return ST_LOAD(b->holder_pid) == (int32_t)st_self_pid && ST_LOAD(b->holder_thread) == st_thread_token();
}

/* Initialise a lock body in place (robust, pshared, error-checking). */
void st_lock_body_init(st_lock_body *body);

/* A handle on a lock body embedded in the body of object slot index (for
 * blocked-on and the event log the lock is that object). The caller frees
 * it with st_lock_close(). */
st_result st_lock_handle_for_body(st_table *table, uint32_t index, st_lock_body *body, st_lock **out);

/* The lock's figures, appended to view (the same field names as a Lock's). */
void st_lock_describe_body(const st_lock_body *body, const st_clock_calibration *clock, st_object_view *view);

/* The object slot index and table a lock handle refers to. */
uint32_t st_lock_object_index(const st_lock *lock);
st_table *st_lock_table(const st_lock *lock);
st_lock_body *st_lock_body_of(const st_lock *lock);

#endif
