/* rlock.c - the instrumented re-entrant lock.
 *
 * An RLock is a Lock body (lock_internal.h: the robust mutex and all its
 * lockstat figures) plus a recursion depth. The owner is the Lock's holder
 * (pid + thread). Re-entry is decided by comparing the holder with the
 * caller - a value only the caller itself can have written, so a relaxed
 * load is enough - and costs no mutex call: it raises the depth and the
 * `recursions` count. Only the outermost acquire goes through the Lock
 * (so `acquisitions`, contentions, waits and hold time are the Lock's,
 * counted once per outermost acquire/last release) and only the last
 * release unlocks it.
 *
 * The depth is written only by the owner while it owns the lock. A dead
 * owner leaves a stale depth behind; the next acquirer gets EOWNERDEAD from
 * the mutex and starts again at depth 1.
 */
#include "internal.h"
#include "lock_internal.h"
#include "event_log.h"
#include "object_types.h"

#include <stdlib.h>

#define ST_RLOCK_HANDLE_MAGIC 0x524c434bu  /* "RLCK" */

/* The body in its object slot:
 *
 *   +0     st_lock_body lock   (mutex, holder pid + thread, lockstat figures,
 *                               wait histogram)
 *   +...   depth               (the owner's recursion depth, 0 when free)
 *          recursions          (successful acquire calls, re-entries included)
 */
typedef struct st_rlock_body {
    st_lock_body lock;
    uint32_t depth;
    uint32_t reserved;
    uint64_t recursions;
} st_rlock_body;

_Static_assert(sizeof(st_rlock_body) <= ST_OBJECT_BODY_SIZE, "rlock body fits its slot");

struct st_rlock {
    uint32_t magic;
    uint32_t index;
    st_table *table;
    st_object_slot *slot;
    st_rlock_body *body;
    st_lock *lock;                  /* a Lock handle on body->lock */
};

static void rlock_body_init(void *raw, const void *params)
{
    (void)params;
    st_rlock_body *b = raw;
    st_lock_body_init(&b->lock);
}

static bool rlock_handle_valid(const st_rlock *rlock)
{
    return rlock && rlock->magic == ST_RLOCK_HANDLE_MAGIC;
}

static const char *rlock_name(const st_rlock *rlock)
{
    return rlock->slot->header.name;
}

/* Whether the caller owns the lock (it alone can have stored its own ids). */
static inline bool owned_by_caller(const st_rlock_body *b)
{
    return st_lock_body_held_by_caller(&b->lock);
}

st_result st_rlock_open(st_table *table, const char *name, st_rlock **out)
{
    if (!out)
        return st_fail(ST_EINVAL, "st_rlock_open: out is NULL");
    *out = NULL;
    uint32_t index;
    st_result r = st_object_open(table, ST_TYPE_RLOCK, name, rlock_body_init, NULL, &index);
    if (r != ST_OK)
        return r;
    st_rlock *rlock = malloc(sizeof *rlock);
    if (!rlock)
        return st_fail(ST_ENOMEM, "out of memory for an rlock handle");
    rlock->magic = ST_RLOCK_HANDLE_MAGIC;
    rlock->index = index;
    rlock->table = table;
    rlock->slot = &table->objects[index];
    rlock->body = (st_rlock_body *)rlock->slot->body.raw;
    r = st_lock_handle_for_body(table, index, &rlock->body->lock, &rlock->lock);
    if (r != ST_OK) {
        free(rlock);
        return r;
    }
    *out = rlock;
    return ST_OK;
}

void st_rlock_close(st_rlock *rlock)
{
    if (!rlock_handle_valid(rlock))
        return;
    st_lock_close(rlock->lock);
    rlock->magic = 0;
    free(rlock);
}

static st_result reenter(st_rlock *rlock)
{
    st_rlock_body *b = rlock->body;
    uint32_t depth = ST_LOAD(b->depth);
    if (__builtin_expect(depth == UINT32_MAX, 0))
        return st_fail(ST_EOVERFLOW, "rlock '%s' is already acquired %u times by this thread", rlock_name(rlock),
                       depth);
    ST_STORE(b->depth, depth + 1);
    ST_BUMP(b->recursions, 1u);
    if (st_object_traced(rlock->slot))
        st_event_log(rlock->table, rlock->index, ST_OP_ACQUIRE, ST_OK, 0, depth + 1);
    return ST_OK;
}

/* After the Lock said r: on success the caller holds it at depth 1. */
static st_result outermost(st_rlock *rlock, st_result r)
{
    if (r == ST_OK || r == ST_EOWNERDEAD) {
        ST_STORE(rlock->body->depth, 1u);
        ST_BUMP(rlock->body->recursions, 1u);
    }
    return r;
}

st_result st_rlock_acquire(st_rlock *rlock, int64_t timeout_ns)
{
    if (__builtin_expect(!rlock_handle_valid(rlock), 0))
        return st_fail(ST_EINVAL, "st_rlock_acquire: invalid rlock handle");
    if (__builtin_expect(timeout_ns < 0, 0))
        return st_fail(ST_EINVAL, "st_rlock_acquire: negative timeout %lld ns (use ST_FOREVER to wait without limit)",
                       (long long)timeout_ns);
    if (owned_by_caller(rlock->body))
        return reenter(rlock);
    return outermost(rlock, st_lock_acquire(rlock->lock, timeout_ns));
}

st_result st_rlock_try(st_rlock *rlock)
{
    if (__builtin_expect(!rlock_handle_valid(rlock), 0))
        return st_fail(ST_EINVAL, "st_rlock_try: invalid rlock handle");
    if (owned_by_caller(rlock->body))
        return reenter(rlock);
    return outermost(rlock, st_lock_try(rlock->lock));
}

st_result st_rlock_release(st_rlock *rlock)
{
    if (__builtin_expect(!rlock_handle_valid(rlock), 0))
        return st_fail(ST_EINVAL, "st_rlock_release: invalid rlock handle");
    st_rlock_body *b = rlock->body;
    if (!owned_by_caller(b)) {
        int32_t owner = ST_LOAD(b->lock.holder_pid);
        if (owner == 0)
            return st_fail(ST_ENOTOWNER, "rlock '%s' released but it is not held (more releases than acquires?)",
                           rlock_name(rlock));
        return st_fail(ST_ENOTOWNER, "rlock '%s' released by pid %d but owned by pid %d", rlock_name(rlock),
                       (int)st_self_pid, (int)owner);
    }
    uint32_t depth = ST_LOAD(b->depth);
    if (depth > 1) {
        ST_STORE(b->depth, depth - 1);
        if (st_object_traced(rlock->slot))
            st_event_log(rlock->table, rlock->index, ST_OP_RELEASE, ST_OK, 0, depth - 1);
        return ST_OK;
    }
    ST_STORE(b->depth, 0u);
    return st_lock_release(rlock->lock);
}

st_result st_rlock_depth(st_rlock *rlock, uint32_t *depth)
{
    if (!rlock_handle_valid(rlock))
        return st_fail(ST_EINVAL, "st_rlock_depth: invalid rlock handle");
    if (!depth)
        return st_fail(ST_EINVAL, "st_rlock_depth: depth is NULL");
    *depth = owned_by_caller(rlock->body) ? ST_LOAD(rlock->body->depth) : 0;
    return ST_OK;
}

void st_rlock_describe(const void *body, const st_clock_calibration *clock, st_object_view *view)
{
    const st_rlock_body *b = body;
    st_lock_describe_body(&b->lock, clock, view);
    st_field_pid(view, "owner", b->lock.holder_pid);
    st_field_u64(view, "depth", b->lock.holder_pid > 0 ? b->depth : 0, 0);
    st_field_u64(view, "recursions", b->recursions, ST_FIELD_COUNTER);
}
