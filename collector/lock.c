/* lock.c - the instrumented Lock.
 *
 * The lock is a robust, process-shared, error-checking pthread mutex living
 * in its object slot, next to its statistics (lockstat's meanings). The fast
 * path is one trylock plus two cycle-counter reads (hold time); only when
 * the try fails do we time the wait, count a contention, raise the waiter
 * count and publish "blocked on this lock" in the caller's process slot.
 * Statistics are written by the holder while it holds the mutex, so they
 * need no read-modify-write atomics; waiters and timeouts are touched by
 * non-holders and use them.
 *
 * A holder that dies leaves the mutex to the kernel's robust-futex list: the
 * next acquirer gets EOWNERDEAD, marks the mutex consistent, counts an
 * owner-died recovery and returns ST_EOWNERDEAD (it holds the lock).
 */
#include "internal.h"
#include "lock_internal.h"
#include "event_log.h"
#include "futex.h"
#include "histogram.h"
#include "object_types.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ST_LOCK_HANDLE_MAGIC 0x4c4f434bu  /* "LOCK" */

struct st_lock {
    uint32_t magic;
    uint32_t index;
    st_table *table;
    st_object_slot *slot;
    st_lock_body *body;
};

void st_lock_body_init(st_lock_body *body)
{
    st_robust_mutex_init(&body->mutex);
}

static void lock_body_init(void *body, const void *params)
{
    (void)params;
    st_lock_body_init(body);
}

static const char *lock_name(const st_lock *lock)
{
    return lock->table->objects[lock->index].header.name;
}

static bool lock_handle_valid(const st_lock *lock)
{
    return lock && lock->magic == ST_LOCK_HANDLE_MAGIC;
}

st_result st_lock_handle_for_body(st_table *table, uint32_t index, st_lock_body *body, st_lock **out)
{
    st_lock *lock = malloc(sizeof *lock);
    if (!lock)
        return st_fail(ST_ENOMEM, "out of memory for a lock handle");
    lock->magic = ST_LOCK_HANDLE_MAGIC;
    lock->index = index;
    lock->table = table;
    lock->slot = &table->objects[index];
    lock->body = body;
    *out = lock;
    return ST_OK;
}

uint32_t st_lock_object_index(const st_lock *lock)
{
    return lock->index;
}

st_table *st_lock_table(const st_lock *lock)
{
    return lock->table;
}

st_lock_body *st_lock_body_of(const st_lock *lock)
{
    return lock->body;
}

st_result st_lock_open(st_table *table, const char *name, st_lock **out)
{
    if (!out)
        return st_fail(ST_EINVAL, "st_lock_open: out is NULL");
    *out = NULL;
    uint32_t index;
    st_result r = st_object_open(table, ST_TYPE_LOCK, name, lock_body_init, NULL, &index);
    if (r != ST_OK)
        return r;
    return st_lock_handle_for_body(table, index, &table->objects[index].body.lock, out);
}

void st_lock_close(st_lock *lock)
{
    if (!lock_handle_valid(lock))
        return;
    lock->magic = 0;
    free(lock);
}

/* The caller now holds the mutex (rc 0 or EOWNERDEAD) since now_ticks,
 * after waiting waited_ns. */
static inline st_result lock_taken(st_lock *lock, uint64_t now_ticks, int rc, uint64_t waited_ns)
{
    st_lock_body *b = lock->body;
    st_result result = ST_OK;
    if (__builtin_expect(rc == EOWNERDEAD, 0)) {
        pthread_mutex_consistent(&b->mutex);
        ST_BUMP(b->owner_died, 1u);
        result = st_fail(ST_EOWNERDEAD, "lock '%s': its holder (pid %d) died holding it; recovered",
                         lock_name(lock), (int)ST_LOAD(b->holder_pid));
    }
    ST_STORE(b->holder_pid, (int32_t)st_self_pid);
    ST_STORE(b->holder_thread, (uint64_t)pthread_self());
    ST_STORE(b->hold_start_ticks, now_ticks);
    ST_BUMP(b->acquisitions, 1u);
    if (st_object_traced(lock->slot))
        st_event_log(lock->table, lock->index, ST_OP_ACQUIRE, result, waited_ns, 0);
    return result;
}

static st_result lock_error(st_lock *lock, int rc)
{
    if (rc == EDEADLK)
        return st_fail(ST_EDEADLK, "lock '%s' is already held by this thread; acquiring it again would "
                       "deadlock (use an RLock for re-entrant locking)", lock_name(lock));
    if (rc == ENOTRECOVERABLE)
        return st_fail(ST_ECORRUPT, "lock '%s' is not recoverable", lock_name(lock));
    return st_fail(ST_ESYSTEM, "lock '%s': %s", lock_name(lock), strerror(rc));
}

static st_result acquire_contended(st_lock *lock, int64_t timeout_ns)
{
    st_table *table = lock->table;
    st_lock_body *b = lock->body;
    uint64_t start = st_clock_ticks(&table->clock);
    ST_ATOMIC_ADD(b->waiters, 1u);
    st_process_mark_blocked(table, lock->index, ST_OP_ACQUIRE);
    int rc;
    if (timeout_ns == ST_FOREVER) {
        rc = pthread_mutex_lock(&b->mutex);
    } else {
        struct timespec deadline = st_deadline_after(timeout_ns);
        rc = pthread_mutex_clocklock(&b->mutex, CLOCK_MONOTONIC, &deadline);
    }
    uint64_t end = st_clock_ticks(&table->clock);
    st_process_mark_unblocked(table);
    ST_ATOMIC_SUB(b->waiters, 1u);
    if (rc == 0 || rc == EOWNERDEAD) {
        uint64_t waited = st_clock_ticks_to_ns(&table->clock, end - start);
        ST_BUMP(b->contentions, 1u);
        ST_BUMP(b->wait_ns_total, waited);
        if (waited > ST_LOAD(b->wait_ns_max))
            ST_STORE(b->wait_ns_max, waited);
        st_histogram_record(&b->wait_histogram, waited);
        return lock_taken(lock, end, rc, waited);
    }
    if (rc == ETIMEDOUT) {
        ST_ATOMIC_ADD(b->timeouts, 1u);
        if (st_object_traced(lock->slot))
            st_event_log(table, lock->index, ST_OP_ACQUIRE, ST_ETIMEDOUT,
                         st_clock_ticks_to_ns(&table->clock, end - start), 0);
        return st_fail(ST_ETIMEDOUT, "lock '%s' not acquired within %.3f s (held by pid %d)", lock_name(lock),
                       (double)timeout_ns / 1e9, (int)ST_LOAD(b->holder_pid));
    }
    return lock_error(lock, rc);
}

st_result st_lock_acquire(st_lock *lock, int64_t timeout_ns)
{
    if (__builtin_expect(!lock_handle_valid(lock), 0))
        return st_fail(ST_EINVAL, "st_lock_acquire: invalid lock handle");
    if (__builtin_expect(timeout_ns < 0, 0))
        return st_fail(ST_EINVAL, "st_lock_acquire: negative timeout %lld ns (use ST_FOREVER to wait without limit)",
                       (long long)timeout_ns);
    st_lock_body *b = lock->body;
    st_self_slot(lock->table);  /* registers a fresh (forked) process once */
    int rc = pthread_mutex_trylock(&b->mutex);
    if (__builtin_expect(rc == 0 || rc == EOWNERDEAD, 1))
        return lock_taken(lock, st_clock_ticks(&lock->table->clock), rc, 0);
    if (rc != EBUSY)
        return lock_error(lock, rc);
    if (timeout_ns == 0) {
        ST_ATOMIC_ADD(b->timeouts, 1u);
        return st_fail(ST_ETIMEDOUT, "lock '%s' is held by pid %d (timeout 0)", lock_name(lock),
                       (int)ST_LOAD(b->holder_pid));
    }
    return acquire_contended(lock, timeout_ns);
}

st_result st_lock_try(st_lock *lock)
{
    if (__builtin_expect(!lock_handle_valid(lock), 0))
        return st_fail(ST_EINVAL, "st_lock_try: invalid lock handle");
    st_self_slot(lock->table);
    int rc = pthread_mutex_trylock(&lock->body->mutex);
    if (__builtin_expect(rc == 0 || rc == EOWNERDEAD, 1))
        return lock_taken(lock, st_clock_ticks(&lock->table->clock), rc, 0);
    if (rc == EBUSY)
        return ST_EBUSY;
    return lock_error(lock, rc);
}

st_result st_lock_release(st_lock *lock)
{
    if (__builtin_expect(!lock_handle_valid(lock), 0))
        return st_fail(ST_EINVAL, "st_lock_release: invalid lock handle");
    st_lock_body *b = lock->body;
    if (__builtin_expect(ST_LOAD(b->holder_pid) != (int32_t)st_self_pid ||
                         ST_LOAD(b->holder_thread) != (uint64_t)pthread_self(), 0)) {
        int32_t holder = ST_LOAD(b->holder_pid);
        if (holder == 0)
            return st_fail(ST_ENOTOWNER, "lock '%s' released but it is not held", lock_name(lock));
        return st_fail(ST_ENOTOWNER, "lock '%s' released by pid %d but held by pid %d", lock_name(lock),
                       (int)st_self_pid, (int)holder);
    }
    uint64_t now = st_clock_ticks(&lock->table->clock);
    uint64_t held = st_clock_ticks_to_ns(&lock->table->clock, now - ST_LOAD(b->hold_start_ticks));
    ST_BUMP(b->hold_ns_total, held);
    if (held > ST_LOAD(b->hold_ns_max))
        ST_STORE(b->hold_ns_max, held);
    ST_STORE(b->holder_pid, 0);
    ST_STORE(b->holder_thread, (uint64_t)0);
    if (st_object_traced(lock->slot))
        st_event_log(lock->table, lock->index, ST_OP_RELEASE, ST_OK, 0, (int64_t)held);
    int rc = pthread_mutex_unlock(&b->mutex);
    if (__builtin_expect(rc != 0, 0))
        return rc == EPERM ? st_fail(ST_ENOTOWNER, "lock '%s' released by a thread that does not hold it",
                                     lock_name(lock))
                           : lock_error(lock, rc);
    return ST_OK;
}

void st_lock_describe(const void *body, const st_clock_calibration *clock, st_object_view *view)
{
    st_lock_describe_body(body, clock, view);
}

void st_lock_describe_body(const st_lock_body *b, const st_clock_calibration *clock, st_object_view *view)
{
    uint64_t held_for = 0;
    if (b->holder_pid > 0) {
        uint64_t now = st_clock_ticks(clock);
        if (now > b->hold_start_ticks)
            held_for = st_clock_ticks_to_ns(clock, now - b->hold_start_ticks);
    }
    st_field_pid(view, "holder", b->holder_pid);
    st_field_u64(view, "held_ns", held_for, ST_FIELD_DURATION);
    st_field_u64(view, "waiters", b->waiters, 0);
    st_field_u64(view, "acquisitions", b->acquisitions, ST_FIELD_COUNTER);
    st_field_u64(view, "contentions", b->contentions, ST_FIELD_COUNTER);
    st_field_u64(view, "wait_ns_total", b->wait_ns_total, ST_FIELD_COUNTER | ST_FIELD_DURATION);
    st_field_u64(view, "wait_ns_max", b->wait_ns_max, ST_FIELD_DURATION);
    st_field_u64(view, "wait_ns_p50", st_histogram_percentile(&b->wait_histogram, 50, b->wait_ns_max),
                 ST_FIELD_DURATION);
    st_field_u64(view, "wait_ns_p99", st_histogram_percentile(&b->wait_histogram, 99, b->wait_ns_max),
                 ST_FIELD_DURATION);
    st_field_u64(view, "hold_ns_total", b->hold_ns_total, ST_FIELD_COUNTER | ST_FIELD_DURATION);
    st_field_u64(view, "hold_ns_max", b->hold_ns_max, ST_FIELD_DURATION);
    st_field_u64(view, "owner_died", b->owner_died, ST_FIELD_COUNTER);
    st_field_u64(view, "timeouts", b->timeouts, ST_FIELD_COUNTER);
}
