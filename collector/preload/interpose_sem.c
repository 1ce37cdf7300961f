/* interpose_sem.c - POSIX semaphores, as the program calls them.
 *
 * Every function calls the real one and returns exactly what it returned,
 * with the same errno. Private semaphores (sem_init with pshared 0: Python's
 * thread and import locks) go straight through after one load.
 *
 * What a blocking acquisition is: Python's multiprocessing tries first
 * (sem_trywait) and only blocks (sem_wait / sem_timedwait, retried after
 * EINTR) when the try failed; that pair is one contended acquisition. A
 * failed try alone is a non-blocking attempt (try_failures), not
 * contention. A C program usually calls sem_wait directly: then we try
 * first ourselves (sem_trywait + sem_wait behaves as sem_wait does), and
 * only a failed try makes the wait contended, timed and visible as
 * "blocked on" in the process's slot. A failed try remembered in the thread
 * (tls.tried) is what lets a following sem_wait on the same semaphore skip
 * that second try; the time of an interrupted wait is kept in the thread
 * too, so EINTR retries add up to one wait.
 *
 * try_failures counts only attempts that did not block and failed
 * (acquire(block=False), acquire(timeout=0) returning False). A failed try
 * is counted when it happens (the program may never call us again) and
 * withdrawn when the same thread's wait on that semaphore follows
 * (bookkeeping.c note_try_withdrawn), unless that wait's deadline has
 * already passed: Python's acquire(timeout=0) is a try and a wait until
 * "now", together one non-blocking attempt (a try failure, not a timeout).
 *
 * Python's release checks the value first (sem_getvalue, then sem_post
 * only if it is below maxvalue, else ValueError): a value at the maximum
 * seen from a release path counts an over-release, and the ValueError is
 * still Python's own.
 */
#include "preload/preload.h"
#include "preload/python_site.h"
#include "preload/watch_objects.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>

__thread thread_state tls __attribute__((tls_model("initial-exec")));

typedef enum wait_kind {
    WAIT_PLAIN,
    WAIT_TIMED,
    WAIT_CLOCK,
} wait_kind;

static int real_wait(sem_t *sem, wait_kind kind, clockid_t clock, const struct timespec *abstime)
{
    switch (kind) {
    case WAIT_TIMED:
        return real.sem_timedwait(sem, abstime);
    case WAIT_CLOCK:
        return real.sem_clockwait(sem, clock, abstime);
    case WAIT_PLAIN:
        break;
    }
    return real.sem_wait(sem);
}

/* Whether glibc would refuse the deadline before looking at the
 * semaphore (it checks the deadline first, even when a unit is free): then
 * only the real call may answer, without our first try. */
static bool deadline_refused(wait_kind kind, clockid_t clock, const struct timespec *abstime)
{
    if (kind == WAIT_PLAIN)
        return false;
    if (kind == WAIT_CLOCK && clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC)
        return true;
    return abstime->tv_nsec < 0 || abstime->tv_nsec >= 1000000000L;
}

/* Whether a timed wait's deadline has already passed: Python's
 * acquire(timeout=0) tries, then waits until "now", which cannot block. */
static bool deadline_passed(wait_kind kind, clockid_t clock, const struct timespec *abstime)
{
    if (kind == WAIT_PLAIN)
        return false;
    struct timespec now;
    if (clock_gettime(kind == WAIT_CLOCK ? clock : CLOCK_REALTIME, &now) != 0)
        return false;
    return now.tv_sec > abstime->tv_sec || (now.tv_sec == abstime->tv_sec && now.tv_nsec >= abstime->tv_nsec);
}

/* The wait after a failed try whose deadline has passed: together, one
 * non-blocking attempt. Its failure stays a try failure (not a timeout);
 * a unit that came free meanwhile makes it an uncontended acquisition. */
static int instant_wait(tracked_object *t, sem_t *sem, wait_kind kind, clockid_t clock,
                        const struct timespec *abstime)
{
    tls.tried = NULL;
    int rc = real_wait(sem, kind, clock, abstime);
    int err = errno;
    if (rc == 0) {
        note_try_withdrawn(t);
        note_acquired(t, sem, false, 0, 0);
    } else if (err == EINTR) {
        tls.tried = sem;   /* Python retries: still the same attempt */
    }
    errno = err;
    return rc;
}

static __attribute__((noinline)) int watched_wait(tracked_object *t, sem_t *sem, wait_kind kind, clockid_t clock,
                                                  const struct timespec *abstime)
{
    int entry_errno = errno;
    if (deadline_refused(kind, clock, abstime))
        return real_wait(sem, kind, clock, abstime);
    bool instant = false;
    if (tls.tried == sem && tls.pending_start == 0) {
        /* The second half of the program's own try: the failed try was
         * counted as a non-blocking attempt; a wait makes it one contended
         * acquisition instead, unless the wait cannot block either. */
        instant = deadline_passed(kind, clock, abstime);
        if (!instant)
            note_try_withdrawn(t);
    } else if (tls.tried != sem) {
        tls.pending_start = 0;
        if (real.sem_trywait(sem) == 0) {
            note_acquired(t, sem, false, 0, 0);
            errno = entry_errno;
            return 0;
        }
        bool busy = errno == EAGAIN;
        errno = entry_errno;
        if (!busy)
            return real_wait(sem, kind, clock, abstime);   /* let the real call say what is wrong */
    }
    if (instant) {
        errno = entry_errno;
        return instant_wait(t, sem, kind, clock, abstime);
    }
    uint64_t start = tls.pending_start;
    uint64_t began = note_block_begin(t);
    if (start == 0)
        start = began;
    errno = entry_errno;
    int rc = real_wait(sem, kind, clock, abstime);
    int err = errno;
    uint64_t end = ticks_now();
    note_block_end(t);
    if (rc == 0) {
        tls.tried = NULL;
        tls.pending_start = 0;
        note_acquired(t, sem, true, end > start ? ticks_to_ns(end - start) : 0, end);
    } else if (err == EINTR) {
        tls.tried = sem;                 /* a retry continues this same acquisition */
        tls.pending_start = start;
    } else {
        tls.tried = NULL;
        tls.pending_start = 0;
        if (err == ETIMEDOUT)
            note_timeout(t);
    }
    errno = err;
    return rc;
}

/* The guard is checked where an object is met (watch_discover). */
static inline tracked_object *watched_sem(sem_t *sem)
{
    if (__builtin_expect(!sem_is_shared(sem), 1))
        return NULL;
    return track(sem, WATCH_SEM);
}

INTERPOSED int sem_wait(sem_t *sem)
{
    tracked_object *t = watched_sem(sem);
    if (!t)
        return real.sem_wait(sem);
    return watched_wait(t, sem, WAIT_PLAIN, 0, NULL);
}

INTERPOSED int sem_timedwait(sem_t *sem, const struct timespec *abstime)
{
    tracked_object *t = watched_sem(sem);
    if (!t)
        return real.sem_timedwait(sem, abstime);
    return watched_wait(t, sem, WAIT_TIMED, 0, abstime);
}

INTERPOSED int sem_clockwait(sem_t *sem, clockid_t clock, const struct timespec *abstime)
{
    tracked_object *t = real.sem_clockwait ? watched_sem(sem) : NULL;
    if (!t)
        return real.sem_clockwait(sem, clock, abstime);
    return watched_wait(t, sem, WAIT_CLOCK, clock, abstime);
}

INTERPOSED int sem_trywait(sem_t *sem)
{
    tracked_object *t = watched_sem(sem);
    int rc = real.sem_trywait(sem);
    if (!t)
        return rc;
    int err = errno;
    if (rc == 0) {
        if (tls.tried == sem)
            tls.tried = NULL;
        note_acquired(t, sem, false, 0, 0);
    } else if (err == EAGAIN) {
        note_try_failed(t, sem);
    }
    errno = err;
    return rc;
}

INTERPOSED int sem_post(sem_t *sem)
{
    tracked_object *t = watched_sem(sem);
    if (!t)
        return real.sem_post(sem);
    int entry_errno = errno;
    int32_t holder = note_release_begin(t);
    errno = entry_errno;
    int rc = real.sem_post(sem);
    int err = errno;
    if (rc == 0) {
        if (tls.tried == sem)
            tls.tried = NULL;
        note_released(t);
    } else {
        note_release_failed(t, holder);
        if (err == EOVERFLOW && t->part == 0)
            ST_ATOMIC_ADD(t->body->over_releases, 1u);
    }
    errno = err;
    return rc;
}

/* Python's release path: value at the maximum means ValueError follows. */
static __attribute__((noinline)) void check_over_release(tracked_object *t)
{
    int saved_errno = errno;
    tls.guard++;
    bool releasing = python_active() && python_release_in_progress();
    tls.guard--;
    if (releasing)
        ST_ATOMIC_ADD(t->body->over_releases, 1u);
    errno = saved_errno;
}

INTERPOSED int sem_getvalue(sem_t *sem, int *value)
{
    int rc = real.sem_getvalue(sem, value);
    if (__builtin_expect(rc != 0 || *value <= 0 || tls.guard || !sem_is_shared(sem), 1))
        return rc;
    tracked_object *t = tracked_find(sem);
    if (t && t->body && (t->roles & ROLE_PYTHON_BOUND) && t->maximum && (uint32_t)*value >= t->maximum)
        check_over_release(t);
    return rc;
}

INTERPOSED sem_t *sem_open(const char *name, int oflag, ...)
{
    unsigned mode = 0, value = 0;
    if (oflag & O_CREAT) {
        va_list args;
        va_start(args, oflag);
        mode = va_arg(args, unsigned);
        value = va_arg(args, unsigned);
        va_end(args);
    }
    sem_t *sem = (oflag & O_CREAT) ? real.sem_open(name, oflag, mode, value) : real.sem_open(name, oflag);
    if (sem != SEM_FAILED && !tls.guard)
        watch_opened(sem, name, oflag, value);
    return sem;
}

/* Forgotten first, even inside our own code (a Python finalizer run
 * there): the address may be reused by the next sem_open. */
INTERPOSED int sem_close(sem_t *sem)
{
    int saved_errno = errno;
    watch_forget(sem, true);
    errno = saved_errno;
    return real.sem_close(sem);
}

INTERPOSED int sem_unlink(const char *name)
{
    return real.sem_unlink(name);
}

INTERPOSED int sem_init(sem_t *sem, int pshared, unsigned value)
{
    int rc = real.sem_init(sem, pshared, value);
    if (rc == 0 && !tls.guard) {
        if (pshared)
            watch_created(sem, WATCH_SEM, __builtin_return_address(0), value);
        else if (tracked_find(sem))
            watch_forget(sem, false);   /* the memory of a watched one, now private */
    }
    return rc;
}

INTERPOSED int sem_destroy(sem_t *sem)
{
    int saved_errno = errno;
    watch_forget(sem, false);
    errno = saved_errno;
    return real.sem_destroy(sem);
}
