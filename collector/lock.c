/* lock.c - the instrumented Lock.
 *
 * The lock is a robust, process-shared, error-checking pthread mutex living
 * in its object slot, next to its statistics (lockstat's meanings). The fast
 * path is one trylock and a few plain stores; only when the try fails do we
 * time the wait, count a contention, raise the waiter count and publish
 * "blocked on this lock" in the caller's process slot.
 *
 * Hold times are sampled. A cycle-counter read costs ~11 ns on the machines
 * we run on, as much as the whole uncontended lock + unlock, so timing
 * every hold would double the price of a lock (make bench: 2.3x). Instead
 * the first ST_HOLD_ALWAYS_TIMED acquisitions of a lock, one later
 * uncontended acquisition in 64 (chosen by a multiplicative hash of the
 * acquisition count, so periodic workloads do not alias with the sampling)
 * and every contended one (its timestamp is free) are timed. hold_ns_total
 * is then estimated as the sampled total scaled to all acquisitions,
 * hold_ns_avg and hold_ns_max come from the samples, and hold_samples says
 * how many there were. SYNCTOP_HOLD_SAMPLING=N times one hold in N (a power
 * of two; 1 times every hold, for exact figures).
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
    st_lock_body *body;
    /* Copies that keep the fast path to the handle and the lock's own line. */
    unsigned fork_generation;       /* st_fork_generation when this process last registered */
    unsigned hold_sample_shift;     /* table->hold_sample_shift */
    st_object_slot *slot;
    st_table *table;
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
    lock->fork_generation = 0;
    lock->hold_sample_shift = table->hold_sample_shift;
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

/* Every hold is timed until a lock has this many acquisitions, so a lock
 * used rarely still gets hold figures soon. */
#define ST_HOLD_ALWAYS_TIMED 64

/* A forked child registers itself on its first call (once per handle). */
static inline __attribute__((always_inline)) void registered_after_fork(st_lock *lock)
{
    if (__builtin_expect(lock->fork_generation != st_fork_generation, 0)) {
        st_self_slot(lock->table);
        lock->fork_generation = st_fork_generation;
    }
}

/* Whether to time the hold of acquisition number n (see the top comment). */
static inline __attribute__((always_inline)) bool hold_is_sampled(const st_lock *lock, uint64_t n)
{
    unsigned shift = lock->hold_sample_shift;
    return n < ST_HOLD_ALWAYS_TIMED || shift >= 64 || ((n * 0x9e3779b97f4a7c15ull) >> shift) == 0;
}

/* The caller now holds the mutex (rc 0 or EOWNERDEAD) since now_ticks
 * (0: not read; the hold is then timed only if sampled), after waiting
 * waited_ns. */
/* Everything off the fast path is kept out of line (and out of the
 * fast path's register pressure): failures, recovery, contention. */
#define ST_COLD __attribute__((noinline, cold))

static ST_COLD st_result recover_from_dead_holder(st_lock *lock)
{
    st_lock_body *b = lock->body;
    pthread_mutex_consistent(&b->mutex);
    ST_BUMP(b->owner_died, 1u);
    return st_fail(ST_EOWNERDEAD, "lock '%s': its holder (pid %d) died holding it; recovered", lock_name(lock),
                   (int)ST_LOAD(b->holder_pid));
}

static ST_COLD st_result invalid_handle(const char *call)
{
    return st_fail(ST_EINVAL, "%s: invalid lock handle", call);
}

static ST_COLD void log_event(st_lock *lock, st_operation op, st_result result, uint64_t wait_ns, int64_t value)
{
    st_event_log(lock->table, lock->index, op, result, wait_ns, value);
}

static inline __attribute__((always_inline)) st_result lock_taken(st_lock *lock, uint64_t now_ticks, int rc, uint64_t waited_ns)
{
    st_lock_body *b = lock->body;
    st_result result = ST_OK;
    if (__builtin_expect(rc == EOWNERDEAD, 0))
        result = recover_from_dead_holder(lock);
    ST_STORE(b->holder_pid, (int32_t)st_self_pid);
    ST_STORE(b->holder_thread, st_thread_token());
    uint64_t n = ST_LOAD(b->acquisitions);
    if (now_ticks == 0 && hold_is_sampled(lock, n))
        now_ticks = st_clock_ticks(&lock->table->clock);
    ST_STORE(b->hold_start_ticks, now_ticks);
    ST_STORE(b->acquisitions, n + 1);
    if (st_object_traced(lock->slot))
        log_event(lock, ST_OP_ACQUIRE, result, waited_ns, 0);
    return result;
}

static ST_COLD st_result lock_error(st_lock *lock, int rc)
{
    if (rc == EDEADLK)
        return st_fail(ST_EDEADLK, "lock '%s' is already held by this thread; acquiring it again would "
                       "deadlock (use an RLock for re-entrant locking)", lock_name(lock));
    if (rc == ENOTRECOVERABLE)
        return st_fail(ST_ECORRUPT, "lock '%s' is not recoverable", lock_name(lock));
    return st_fail(ST_ESYSTEM, "lock '%s': %s", lock_name(lock), strerror(rc));
}

static ST_COLD st_result acquire_contended(st_lock *lock, int64_t timeout_ns)
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

/* The try failed (rc): wait, time out, or report why not. */
static ST_COLD st_result acquire_slow(st_lock *lock, int64_t timeout_ns, int rc)
{
    st_lock_body *b = lock->body;
    if (timeout_ns < 0)
        return st_fail(ST_EINVAL, "st_lock_acquire: negative timeout %lld ns (use ST_FOREVER to wait without limit)",
                       (long long)timeout_ns);
    if (rc != EBUSY)
        return lock_error(lock, rc);
    if (timeout_ns == 0) {
        ST_ATOMIC_ADD(b->timeouts, 1u);
        return st_fail(ST_ETIMEDOUT, "lock '%s' is held by pid %d (timeout 0)", lock_name(lock),
                       (int)ST_LOAD(b->holder_pid));
    }
    return acquire_contended(lock, timeout_ns);
}

st_result st_lock_acquire(st_lock *lock, int64_t timeout_ns)
{
    if (__builtin_expect(!lock_handle_valid(lock), 0))
        return invalid_handle("st_lock_acquire");
    registered_after_fork(lock);
    if (__builtin_expect(timeout_ns >= 0, 1)) {
        int rc = pthread_mutex_trylock(&lock->body->mutex);
        if (__builtin_expect(rc == 0 || rc == EOWNERDEAD, 1))
            return lock_taken(lock, 0, rc, 0);
        return acquire_slow(lock, timeout_ns, rc);
    }
    return acquire_slow(lock, timeout_ns, 0);
}

st_result st_lock_try(st_lock *lock)
{
    if (__builtin_expect(!lock_handle_valid(lock), 0))
        return invalid_handle("st_lock_try");
    registered_after_fork(lock);
    int rc = pthread_mutex_trylock(&lock->body->mutex);
    if (__builtin_expect(rc == 0 || rc == EOWNERDEAD, 1))
        return lock_taken(lock, 0, rc, 0);
    if (rc == EBUSY)
        return ST_EBUSY;
    return lock_error(lock, rc);
}

static ST_COLD st_result release_not_held(st_lock *lock)
{
    int32_t holder = ST_LOAD(lock->body->holder_pid);
    if (holder == 0)
        return st_fail(ST_ENOTOWNER, "lock '%s' released but it is not held", lock_name(lock));
    return st_fail(ST_ENOTOWNER, "lock '%s' released by pid %d but held by pid %d", lock_name(lock),
                   (int)st_self_pid, (int)holder);
}

static ST_COLD st_result unlock_failed(st_lock *lock, int rc)
{
    if (rc == EPERM)
        return st_fail(ST_ENOTOWNER, "lock '%s' released by a thread that does not hold it", lock_name(lock));
    return lock_error(lock, rc);
}

/* The end of a timed hold that began at start (ticks): record it. */
static uint64_t record_hold(st_lock *lock, uint64_t start)
{
    st_lock_body *b = lock->body;
    uint64_t held = st_clock_ticks_to_ns(&lock->table->clock, st_clock_ticks(&lock->table->clock) - start);
    ST_BUMP(b->hold_samples, 1u);
    ST_BUMP(b->hold_ns_sampled, held);
    if (held > ST_LOAD(b->hold_ns_max))
        ST_STORE(b->hold_ns_max, held);
    ST_STORE(b->hold_start_ticks, (uint64_t)0);
    return held;
}

st_result st_lock_release(st_lock *lock)
{
    if (__builtin_expect(!lock_handle_valid(lock), 0))
        return invalid_handle("st_lock_release");
    st_lock_body *b = lock->body;
    if (__builtin_expect(!st_lock_body_held_by_caller(b), 0))
        return release_not_held(lock);
    uint64_t start = ST_LOAD(b->hold_start_ticks);
    uint64_t held = start != 0 ? record_hold(lock, start) : 0;
    ST_STORE(b->holder_pid, 0);
    ST_STORE(b->holder_thread, (uint64_t)0);
    if (st_object_traced(lock->slot))
        log_event(lock, ST_OP_RELEASE, ST_OK, 0, (int64_t)held);
    int rc = pthread_mutex_unlock(&b->mutex);
    if (__builtin_expect(rc != 0, 0))
        return unlock_failed(lock, rc);
    return ST_OK;
}

void st_lock_describe(const void *body, const st_clock_calibration *clock, st_object_view *view)
{
    st_lock_describe_body(body, clock, view);
}

void st_lock_describe_body(const st_lock_body *b, const st_clock_calibration *clock, st_object_view *view)
{
    uint64_t held_for = 0;
    if (b->holder_pid > 0 && b->hold_start_ticks != 0) {
        uint64_t now = st_clock_ticks(clock);
        if (now > b->hold_start_ticks)
            held_for = st_clock_ticks_to_ns(clock, now - b->hold_start_ticks);
    }
    /* The sampled holds stand for all completed ones (see the top comment). */
    uint64_t completed = b->acquisitions - (b->holder_pid > 0 ? 1 : 0);
    double per_hold = b->hold_samples ? (double)b->hold_ns_sampled / (double)b->hold_samples : 0.0;
    uint64_t hold_total = b->hold_samples >= completed ? b->hold_ns_sampled : st_u64_from_double(per_hold * (double)completed);
    st_field_pid(view, "holder", b->holder_pid);
    st_field_u64(view, "held_ns", held_for, ST_FIELD_DURATION);
    st_field_waiters(view, "waiters", b->waiters, ST_OP_ACQUIRE);
    st_field_u64(view, "acquisitions", b->acquisitions, ST_FIELD_COUNTER);
    st_field_u64(view, "contentions", b->contentions, ST_FIELD_COUNTER);
    st_field_u64(view, "wait_ns_total", b->wait_ns_total, ST_FIELD_COUNTER | ST_FIELD_DURATION);
    st_field_u64(view, "wait_ns_max", b->wait_ns_max, ST_FIELD_DURATION);
    st_field_u64(view, "wait_ns_p50", st_histogram_percentile(&b->wait_histogram, 50, b->wait_ns_max),
                 ST_FIELD_DURATION);
    st_field_u64(view, "wait_ns_p99", st_histogram_percentile(&b->wait_histogram, 99, b->wait_ns_max),
                 ST_FIELD_DURATION);
    st_field_u64(view, "hold_ns_total", hold_total, ST_FIELD_COUNTER | ST_FIELD_DURATION);
    st_field_u64(view, "hold_ns_avg", (uint64_t)per_hold, ST_FIELD_DURATION);
    st_field_u64(view, "hold_ns_max", b->hold_ns_max, ST_FIELD_DURATION);
    st_field_u64(view, "hold_samples", b->hold_samples, ST_FIELD_COUNTER);
    st_field_u64(view, "owner_died", b->owner_died, ST_FIELD_COUNTER);
    st_field_u64(view, "timeouts", b->timeouts, ST_FIELD_COUNTER);
}
