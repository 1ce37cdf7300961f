/* interpose_pthread.c - process-shared pthread mutexes and condition
 * variables, as the program calls them.
 *
 * Only objects whose attributes say PTHREAD_PROCESS_SHARED are watched;
 * every other mutex (the program's private ones, malloc's, the GIL) costs
 * one load of the mutex's kind word, which the real call reads anyway. A
 * private robust mutex carries glibc's "shared" bit all the same (the
 * kernel wakes its waiters when its owner dies): pthread_mutex_init
 * records it as ignored, so it costs a lookup and is never watched.
 *
 * A watched lock is taken the way the native Lock takes its own (lock.c):
 * a trylock first; only when it fails is the wait timed, the waiter counted
 * and "blocked on" published, then the real lock (or timedlock /
 * clocklock) called, which decides every error itself (EDEADLK, ETIMEDOUT,
 * EINVAL for a bad deadline...). The first try must never answer for the
 * real call, so it is made only where it is exactly the real lock's own
 * first step:
 *  - only on glibc's plain kinds (normal, adaptive, errorcheck,
 *    recursive): a trylock that fails there (EBUSY, or EAGAIN at a
 *    recursive mutex's maximum depth) changed nothing. A robust mutex is
 *    different: on one left not recoverable glibc's trylock keeps the lock
 *    word it took while it returns ENOTRECOVERABLE, and a lock after it
 *    would wait for itself for ever; priority-inheriting and -protecting
 *    mutexes go to the kernel and check ceilings. For those the real call
 *    is made straight away; a look at the lock word (is it taken?) decides
 *    whether the wait is timed and shown, a guess that costs at most a
 *    figure when the lock changes hands in between;
 *  - pthread_mutex_clocklock refuses a clock the futex cannot wait on
 *    (EINVAL) before it looks at the mutex; such a call goes straight to
 *    libc.
 * The statistics of a mutex are written by its holder, so
 * plain stores suffice (as in lock.c); holds are sampled the same way. A
 * recursive mutex re-entered by its holder counts an acquisition but keeps
 * its holder and hold start until the outermost unlock.
 *
 * pthread_cond_wait releases and re-takes its mutex inside libc: the
 * mutex's holder is cleared before the wait and set again after it, and
 * the re-take counts as an acquisition (as the native Condition's does).
 * The waiting thread shows as blocked on the condition (operation "wait").
 */
#include "preload/preload.h"
#include "preload/watch_objects.h"
#include "histogram.h"

#include <errno.h>

#define HOLD_ALWAYS_TIMED 64

/* glibc's kind bits (nptl's PTHREAD_MUTEX_ROBUST_NORMAL_NP,
 * PTHREAD_MUTEX_PRIO_INHERIT_NP, PTHREAD_MUTEX_PRIO_PROTECT_NP) and lock
 * word masks (the owner's thread id; the ceiling of a priority-protecting
 * mutex above its lock state). */
#define MUTEX_KIND_ROBUST 16
#define MUTEX_KIND_PRIO_INHERIT 32
#define MUTEX_KIND_PRIO_PROTECT 64
#define LOCK_WORD_OWNER_MASK 0x3fffffffu
#define LOCK_WORD_PROTECT_STATE_MASK 0x7ffffu

typedef enum lock_kind {
    LOCK_PLAIN,
    LOCK_TIMED,
    LOCK_CLOCK,
} lock_kind;

static inline bool recursion_inside(const pthread_mutex_t *mutex)
{
#ifdef __GLIBC__
    /* PTHREAD_MUTEX_RECURSIVE (robust, PI and PP variants share the low
     * bits), held more than once: __count is the depth. */
    return (mutex->__data.__kind & 3) == PTHREAD_MUTEX_RECURSIVE_NP && mutex->__data.__count > 1;
#else
    (void)mutex;
    return false;
#endif
}

/* lock.c's sampling: the first 64 holds, then one in 2^(64 - shift)
 * chosen by a multiplicative hash of the acquisition count. */
static inline bool hold_sampled(uint64_t n)
{
    unsigned shift = watch_hold_shift;
    return n < HOLD_ALWAYS_TIMED || shift >= 64 || ((n * 0x9e3779b97f4a7c15ull) >> shift) == 0;
}

/* The caller holds mutex now (since now_ticks when known). */
static inline __attribute__((always_inline)) void mutex_taken(tracked_object *t, const pthread_mutex_t *mutex,
                                                              uint64_t now_ticks)
{
    st_table *table = watched_table;
    watch_register_if_new(table);
    st_foreign_body *b = t->body;
    st_foreign_part *p = &b->parts[0];
    uint64_t n = ST_LOAD(p->acquisitions);
    ST_STORE(p->acquisitions, n + 1);
    if (__builtin_expect(recursion_inside(mutex), 0))
        return;
    ST_STORE(p->holder_pid, (int32_t)st_self_pid);
    /* hold_start_ticks is 0 here (the last release cleared it). */
    if (now_ticks == 0 && hold_sampled(n))
        now_ticks = st_clock_ticks(&table->clock);
    if (now_ticks != 0)
        ST_STORE(b->hold_start_ticks, now_ticks);
}

static __attribute__((noinline, cold)) void record_hold(st_foreign_body *b, uint64_t start)
{
    const st_clock_calibration *clock = &watched_table->clock;
    uint64_t now = st_clock_ticks(clock);
    uint64_t held = now > start ? st_clock_ticks_to_ns(clock, now - start) : 0;
    ST_BUMP(b->hold_samples, 1u);
    ST_BUMP(b->hold_ns_sampled, held);
    if (held > ST_LOAD(b->hold_ns_max))
        ST_STORE(b->hold_ns_max, held);
    ST_STORE(b->hold_start_ticks, (uint64_t)0);
}

/* Whether the calling thread owns mutex: glibc records the owner's thread
 * id in every kind of mutex it locks, except in a robust one taken over
 * from a dead owner (EOWNERDEAD) and not yet made consistent: its __owner
 * says "inconsistent", its lock word still holds the owner's id. */
static inline bool owned_by_caller(const pthread_mutex_t *mutex)
{
#ifdef __GLIBC__
    pid_t self = thread_id();
    if (__builtin_expect(mutex->__data.__owner == self, 1))
        return true;
    return (mutex->__data.__kind & MUTEX_KIND_ROBUST) &&
           ((unsigned)__atomic_load_n(&mutex->__data.__lock, __ATOMIC_RELAXED) & LOCK_WORD_OWNER_MASK) ==
               (unsigned)self;
#else
    (void)mutex;
    return true;
#endif
}

/* Before the caller lets mutex go (unlock, or a condition wait). */
static inline __attribute__((always_inline)) void mutex_releasing(tracked_object *t, const pthread_mutex_t *mutex)
{
    st_foreign_body *b = t->body;
    if (!owned_by_caller(mutex) || __builtin_expect(recursion_inside(mutex), 0))
        return;   /* the real unlock refuses (EPERM), or an inner level of a recursive one */
    uint64_t start = ST_LOAD(b->hold_start_ticks);
    if (start != 0)
        record_hold(b, start);
    ST_STORE(b->parts[0].holder_pid, 0);
}

/* A robust mutex taken over from a dead holder (EOWNERDEAD): count it, and
 * forget the dead hold's start. */
static void owner_died(tracked_object *t)
{
    ST_BUMP(t->body->owner_died, 1u);
    ST_STORE(t->body->hold_start_ticks, (uint64_t)0);
}

/* Whether a trylock is exactly the first step of the real lock (see the
 * top of this file). */
static inline bool try_first_is_exact(const pthread_mutex_t *mutex)
{
#ifdef __GLIBC__
    return (mutex->__data.__kind & (MUTEX_KIND_ROBUST | MUTEX_KIND_PRIO_INHERIT | MUTEX_KIND_PRIO_PROTECT)) == 0;
#else
    (void)mutex;
    return false;
#endif
}

/* Whether the lock word says someone holds mutex now (a glance, for the
 * figures only). */
static inline bool lock_word_taken(const pthread_mutex_t *mutex)
{
#ifdef __GLIBC__
    unsigned word = (unsigned)__atomic_load_n(&mutex->__data.__lock, __ATOMIC_RELAXED);
    if (mutex->__data.__kind & MUTEX_KIND_PRIO_PROTECT)
        return (word & LOCK_WORD_PROTECT_STATE_MASK) != 0;
    return (word & LOCK_WORD_OWNER_MASK) != 0;
#else
    (void)mutex;
    return true;
#endif
}

/* The clocks glibc's futex waits accept (others: EINVAL, checked first). */
static inline bool clock_supported(clockid_t clock)
{
    return clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC;
}

static inline tracked_object *watched_mutex(pthread_mutex_t *mutex)
{
    if (__builtin_expect(!mutex_is_shared(mutex), 1))
        return NULL;
    return track(mutex, WATCH_MUTEX);
}

static int real_lock(pthread_mutex_t *mutex, lock_kind kind, clockid_t clock, const struct timespec *abstime)
{
    switch (kind) {
    case LOCK_TIMED:
        return real.mutex_timedlock(mutex, abstime);
    case LOCK_CLOCK:
        return real.mutex_clocklock(mutex, clock, abstime);
    case LOCK_PLAIN:
        break;
    }
    return real.mutex_lock(mutex);
}

/* What the real call's result rc means for the figures: the caller holds
 * the mutex (0, EOWNERDEAD: count it, with its wait if it waited) or
 * gave up waiting (ETIMEDOUT). */
static void lock_result(tracked_object *t, pthread_mutex_t *mutex, int rc, bool waited, uint64_t start,
                        uint64_t end)
{
    if (rc == 0 || rc == EOWNERDEAD) {
        if (waited) {
            st_foreign_body *b = t->body;
            st_foreign_part *p = &b->parts[0];
            uint64_t wait_ns = end > start ? ticks_to_ns(end - start) : 0;
            ST_BUMP(p->contentions, 1u);
            ST_BUMP(p->wait_ns_total, wait_ns);
            if (wait_ns > ST_LOAD(p->wait_ns_max))
                ST_STORE(p->wait_ns_max, wait_ns);
            st_histogram_record(&b->wait_histogram, wait_ns);
        }
        if (rc == EOWNERDEAD)
            owner_died(t);
        mutex_taken(t, mutex, end);
    } else if (rc == ETIMEDOUT) {
        note_timeout(t);
    }
}

/* The real call, timed and shown as "blocked on" the mutex. */
static __attribute__((noinline)) int lock_contended(tracked_object *t, pthread_mutex_t *mutex, lock_kind kind,
                                                    clockid_t clock, const struct timespec *abstime)
{
    int saved_errno = errno;
    uint64_t start = note_block_begin(t);
    errno = saved_errno;
    int rc = real_lock(mutex, kind, clock, abstime);
    uint64_t end = ticks_now();
    note_block_end(t);
    lock_result(t, mutex, rc, true, start, end);
    errno = saved_errno;
    return rc;
}

/* The first try did not simply succeed (rc): EBUSY means a wait; anything
 * else (EAGAIN: a recursive mutex at its maximum depth) changed nothing,
 * and the real call gives its own answer. */
static __attribute__((noinline)) int lock_after_try(tracked_object *t, pthread_mutex_t *mutex, int rc,
                                                    lock_kind kind, clockid_t clock,
                                                    const struct timespec *abstime)
{
    if (rc != EBUSY)
        return real_lock(mutex, kind, clock, abstime);
    return lock_contended(t, mutex, kind, clock, abstime);
}

/* A robust, priority-inheriting or -protecting mutex: no try of ours, the
 * real call decides everything (see the top of this file). */
static __attribute__((noinline)) int lock_without_try(tracked_object *t, pthread_mutex_t *mutex, lock_kind kind,
                                                      clockid_t clock, const struct timespec *abstime)
{
    if (lock_word_taken(mutex))
        return lock_contended(t, mutex, kind, clock, abstime);
    int saved_errno = errno;
    int rc = real_lock(mutex, kind, clock, abstime);
    lock_result(t, mutex, rc, false, 0, 0);
    errno = saved_errno;
    return rc;
}

/* A watched mutex: try first where that is exact, else the real call. */
static inline __attribute__((always_inline)) int lock_watched(tracked_object *t, pthread_mutex_t *mutex,
                                                              lock_kind kind, clockid_t clock,
                                                              const struct timespec *abstime)
{
    if (__builtin_expect(!try_first_is_exact(mutex), 0))
        return lock_without_try(t, mutex, kind, clock, abstime);
    int rc = real.mutex_trylock(mutex);
    if (__builtin_expect(rc == 0, 1)) {
        mutex_taken(t, mutex, 0);
        return 0;
    }
    return lock_after_try(t, mutex, rc, kind, clock, abstime);
}

INTERPOSED int pthread_mutex_lock(pthread_mutex_t *mutex)
{
    tracked_object *t = watched_mutex(mutex);
    if (!t)
        return real.mutex_lock(mutex);
    return lock_watched(t, mutex, LOCK_PLAIN, 0, NULL);
}

INTERPOSED int pthread_mutex_timedlock(pthread_mutex_t *mutex, const struct timespec *abstime)
{
    tracked_object *t = watched_mutex(mutex);
    if (!t)
        return real.mutex_timedlock(mutex, abstime);
    return lock_watched(t, mutex, LOCK_TIMED, 0, abstime);
}

INTERPOSED int pthread_mutex_clocklock(pthread_mutex_t *mutex, clockid_t clock, const struct timespec *abstime)
{
    tracked_object *t = real.mutex_clocklock && clock_supported(clock) ? watched_mutex(mutex) : NULL;
    if (!t)
        return real.mutex_clocklock(mutex, clock, abstime);
    return lock_watched(t, mutex, LOCK_CLOCK, clock, abstime);
}

INTERPOSED int pthread_mutex_trylock(pthread_mutex_t *mutex)
{
    tracked_object *t = watched_mutex(mutex);
    int rc = real.mutex_trylock(mutex);
    if (!t)
        return rc;
    if (rc == 0 || rc == EOWNERDEAD) {
        if (rc == EOWNERDEAD)
            owner_died(t);
        mutex_taken(t, mutex, 0);
    } else if (rc == EBUSY) {
        ST_ATOMIC_ADD(t->body->try_failures, 1u);
    }
    return rc;
}

INTERPOSED int pthread_mutex_unlock(pthread_mutex_t *mutex)
{
    if (__builtin_expect(mutex_is_shared(mutex), 0)) {
        tracked_object *t = tracked_find(mutex);
        if (t && t->body)
            mutex_releasing(t, mutex);
    }
    return real.mutex_unlock(mutex);
}

INTERPOSED int pthread_mutex_init(pthread_mutex_t *mutex, const pthread_mutexattr_t *attr)
{
    int rc = real.mutex_init(mutex, attr);
    if (rc != 0 || tls.guard)
        return rc;
    int pshared = PTHREAD_PROCESS_PRIVATE;
    if (attr)
        pthread_mutexattr_getpshared(attr, &pshared);
    if (pshared == PTHREAD_PROCESS_SHARED)
        watch_created(mutex, WATCH_MUTEX, __builtin_return_address(0), 0);
    else if (mutex_is_shared(mutex))
        watch_ignore(mutex);   /* a private robust mutex: glibc marks those "shared" too */
    else if (tracked_find(mutex))
        watch_forget(mutex, false);
    return rc;
}

INTERPOSED int pthread_mutex_destroy(pthread_mutex_t *mutex)
{
    if (tracked_find(mutex))
        watch_forget(mutex, false);
    return real.mutex_destroy(mutex);
}

/* ---- condition variables ---- */

typedef enum cond_kind {
    COND_PLAIN,
    COND_TIMED,
    COND_CLOCK,
} cond_kind;

static int real_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mutex, cond_kind kind, clockid_t clock,
                          const struct timespec *abstime)
{
    switch (kind) {
    case COND_TIMED:
        return real.cond_timedwait(cond, mutex, abstime);
    case COND_CLOCK:
        return real.cond_clockwait(cond, mutex, clock, abstime);
    case COND_PLAIN:
        break;
    }
    return real.cond_wait(cond, mutex);
}

static __attribute__((noinline)) int cond_wait_watched(pthread_cond_t *cond, pthread_mutex_t *mutex,
                                                       cond_kind kind, clockid_t clock,
                                                       const struct timespec *abstime)
{
    int saved_errno = errno;
    tracked_object *c = track(cond, WATCH_COND);
    tracked_object *m = NULL;
    if (mutex && mutex_is_shared(mutex)) {
        m = tracked_find(mutex);
        if (m && !m->body)
            m = NULL;
    }
    if (!c && !m) {
        errno = saved_errno;
        return real_cond_wait(cond, mutex, kind, clock, abstime);
    }
    int32_t held_by = 0;
    if (m) {
        held_by = ST_LOAD(m->body->parts[0].holder_pid);
        mutex_releasing(m, mutex);
    }
    uint64_t start = c ? note_block_begin(c) : 0;
    errno = saved_errno;
    int rc = real_cond_wait(cond, mutex, kind, clock, abstime);
    uint64_t end = ticks_now();
    if (c)
        note_block_end(c);
    if (m) {
        if (rc == 0 || rc == ETIMEDOUT || rc == EOWNERDEAD) {
            if (rc == EOWNERDEAD)
                owner_died(m);
            mutex_taken(m, mutex, end);
        } else if (held_by != 0 && owned_by_caller(mutex)) {
            /* The wait failed at once (EINVAL): the mutex never left the
             * caller. (Otherwise the caller does not hold it: EPERM,
             * ENOTRECOVERABLE.) */
            ST_STORE(m->body->parts[0].holder_pid, held_by);
        }
    }
    if (c) {
        if (rc == 0)
            note_acquired(c, cond, true, end > start ? ticks_to_ns(end - start) : 0, end);
        else if (rc == ETIMEDOUT)
            note_timeout(c);
    }
    errno = saved_errno;
    return rc;
}

INTERPOSED int pthread_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mutex)
{
    if (__builtin_expect(!cond_is_shared(cond) || tls.guard, 1))
        return real.cond_wait(cond, mutex);
    return cond_wait_watched(cond, mutex, COND_PLAIN, 0, NULL);
}

INTERPOSED int pthread_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *mutex, const struct timespec *abstime)
{
    if (__builtin_expect(!cond_is_shared(cond) || tls.guard, 1))
        return real.cond_timedwait(cond, mutex, abstime);
    return cond_wait_watched(cond, mutex, COND_TIMED, 0, abstime);
}

INTERPOSED int pthread_cond_clockwait(pthread_cond_t *cond, pthread_mutex_t *mutex, clockid_t clock,
                           const struct timespec *abstime)
{
    if (__builtin_expect(!cond_is_shared(cond) || tls.guard || !real.cond_clockwait, 1))
        return real.cond_clockwait(cond, mutex, clock, abstime);
    return cond_wait_watched(cond, mutex, COND_CLOCK, clock, abstime);
}

INTERPOSED int pthread_cond_signal(pthread_cond_t *cond)
{
    if (__builtin_expect(cond_is_shared(cond) && !tls.guard, 0)) {
        int saved_errno = errno;
        tracked_object *t = track(cond, WATCH_COND);
        if (t)
            ST_ATOMIC_ADD(t->body->parts[0].releases, 1u);
        errno = saved_errno;
    }
    return real.cond_signal(cond);
}

INTERPOSED int pthread_cond_broadcast(pthread_cond_t *cond)
{
    if (__builtin_expect(cond_is_shared(cond) && !tls.guard, 0)) {
        int saved_errno = errno;
        tracked_object *t = track(cond, WATCH_COND);
        if (t)
            ST_ATOMIC_ADD(t->body->notify_alls, 1u);
        errno = saved_errno;
    }
    return real.cond_broadcast(cond);
}

INTERPOSED int pthread_cond_init(pthread_cond_t *cond, const pthread_condattr_t *attr)
{
    int rc = real.cond_init(cond, attr);
    if (rc != 0 || tls.guard)
        return rc;
    int pshared = PTHREAD_PROCESS_PRIVATE;
    if (attr)
        pthread_condattr_getpshared(attr, &pshared);
    if (pshared == PTHREAD_PROCESS_SHARED)
        watch_created(cond, WATCH_COND, __builtin_return_address(0), 0);
    else if (tracked_find(cond))
        watch_forget(cond, false);
    return rc;
}

INTERPOSED int pthread_cond_destroy(pthread_cond_t *cond)
{
    if (tracked_find(cond))
        watch_forget(cond, false);
    return real.cond_destroy(cond);
}
