/* real_calls.c - finding libc's own sem_*, pthread_mutex_* and
 * pthread_cond_* behind ours, and checking glibc's object layouts.
 *
 * The real functions are looked up with dlsym(RTLD_NEXT), so another
 * interposer loaded after us (a sanitizer, a tracer) still sees the calls.
 * Until then every pointer in `real` points at a stub here that looks
 * everything up and forwards the call: the first call of any function may
 * come before our constructor (another library's constructor may lock a
 * mutex), and the fast paths need not test for "resolved yet". Resolving
 * twice from two threads is harmless (the same values are stored). Should
 * dlsym itself lock a mutex through the PLT while we resolve, the mutex
 * calls already point at glibc's own aliases (__pthread_mutex_lock and
 * friends, exported since GLIBC_2.2.5).
 *
 * pthread_cond_* exist in two versions on x86-64: GLIBC_2.2.5 is the old
 * condition variable kept for old binaries; programs built since 2002 use
 * GLIBC_2.3.2, which is what we ask for by name (dlvsym).
 *
 * The fast paths read "process-shared" from inside glibc's objects
 * (preload.h). The constructor makes one private and one shared object of
 * each kind and checks that the layout says what we think; if not (a
 * different libc), layout_known stays false and only objects seen at
 * creation are watched.
 */
#include "preload/preload.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>

bool layout_known;

#ifdef __GLIBC__
extern int __pthread_mutex_lock(pthread_mutex_t *);
extern int __pthread_mutex_trylock(pthread_mutex_t *);
extern int __pthread_mutex_unlock(pthread_mutex_t *);
extern int __pthread_mutex_init(pthread_mutex_t *, const pthread_mutexattr_t *);
extern int __pthread_mutex_destroy(pthread_mutex_t *);
#endif

static void *next_symbol(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

static void *next_cond_symbol(const char *name)
{
#if defined(__GLIBC__) && defined(__x86_64__)
    void *versioned = dlvsym(RTLD_NEXT, name, "GLIBC_2.3.2");
    if (versioned)
        return versioned;
#endif
    return dlsym(RTLD_NEXT, name);
}

/* ---- stubs: what `real` points at until the first call resolves it ---- */

/* Forward to the real function once resolved; if libc has none (a newer
 * function on an older libc), fail as an unsupported call. */
#define STUB_ERRNO(field, params, args) \
    static int stub_##field params \
    { \
        real_resolve(); \
        if (real.field == stub_##field) { \
            errno = ENOSYS; \
            return -1; \
        } \
        return real.field args; \
    }
#define STUB_CODE(field, params, args) \
    static int stub_##field params \
    { \
        real_resolve(); \
        if (real.field == stub_##field) \
            return ENOSYS; \
        return real.field args; \
    }

static sem_t *stub_sem_open(const char *name, int oflag, ...)
{
    unsigned mode = 0, value = 0;
    if (oflag & O_CREAT) {
        va_list args;
        va_start(args, oflag);
        mode = va_arg(args, unsigned);
        value = va_arg(args, unsigned);
        va_end(args);
    }
    real_resolve();
    if (real.sem_open == stub_sem_open) {
        errno = ENOSYS;
        return SEM_FAILED;
    }
    return (oflag & O_CREAT) ? real.sem_open(name, oflag, mode, value) : real.sem_open(name, oflag);
}

STUB_ERRNO(sem_close, (sem_t *s), (s))
STUB_ERRNO(sem_unlink, (const char *n), (n))
STUB_ERRNO(sem_init, (sem_t *s, int p, unsigned v), (s, p, v))
STUB_ERRNO(sem_destroy, (sem_t *s), (s))
STUB_ERRNO(sem_wait, (sem_t *s), (s))
STUB_ERRNO(sem_trywait, (sem_t *s), (s))
STUB_ERRNO(sem_timedwait, (sem_t *s, const struct timespec *t), (s, t))
STUB_ERRNO(sem_clockwait, (sem_t *s, clockid_t c, const struct timespec *t), (s, c, t))
STUB_ERRNO(sem_post, (sem_t *s), (s))
STUB_ERRNO(sem_getvalue, (sem_t *s, int *v), (s, v))
STUB_CODE(mutex_init, (pthread_mutex_t *m, const pthread_mutexattr_t *a), (m, a))
STUB_CODE(mutex_destroy, (pthread_mutex_t *m), (m))
STUB_CODE(mutex_lock, (pthread_mutex_t *m), (m))
STUB_CODE(mutex_trylock, (pthread_mutex_t *m), (m))
STUB_CODE(mutex_timedlock, (pthread_mutex_t *m, const struct timespec *t), (m, t))
STUB_CODE(mutex_clocklock, (pthread_mutex_t *m, clockid_t c, const struct timespec *t), (m, c, t))
STUB_CODE(mutex_unlock, (pthread_mutex_t *m), (m))
STUB_CODE(cond_init, (pthread_cond_t *c, const pthread_condattr_t *a), (c, a))
STUB_CODE(cond_destroy, (pthread_cond_t *c), (c))
STUB_CODE(cond_wait, (pthread_cond_t *c, pthread_mutex_t *m), (c, m))
STUB_CODE(cond_timedwait, (pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t), (c, m, t))
STUB_CODE(cond_clockwait, (pthread_cond_t *c, pthread_mutex_t *m, clockid_t k, const struct timespec *t),
          (c, m, k, t))
STUB_CODE(cond_signal, (pthread_cond_t *c), (c))
STUB_CODE(cond_broadcast, (pthread_cond_t *c), (c))
STUB_ERRNO(shm_open, (const char *n, int o, mode_t m), (n, o, m))
STUB_ERRNO(shm_unlink, (const char *n), (n))

real_functions real = {
    .sem_open = stub_sem_open,
    .sem_close = stub_sem_close,
    .sem_unlink = stub_sem_unlink,
    .sem_init = stub_sem_init,
    .sem_destroy = stub_sem_destroy,
    .sem_wait = stub_sem_wait,
    .sem_trywait = stub_sem_trywait,
    .sem_timedwait = stub_sem_timedwait,
    .sem_clockwait = stub_sem_clockwait,
    .sem_post = stub_sem_post,
    .sem_getvalue = stub_sem_getvalue,
    .mutex_init = stub_mutex_init,
    .mutex_destroy = stub_mutex_destroy,
    .mutex_lock = stub_mutex_lock,
    .mutex_trylock = stub_mutex_trylock,
    .mutex_timedlock = stub_mutex_timedlock,
    .mutex_clocklock = stub_mutex_clocklock,
    .mutex_unlock = stub_mutex_unlock,
    .cond_init = stub_cond_init,
    .cond_destroy = stub_cond_destroy,
    .cond_wait = stub_cond_wait,
    .cond_timedwait = stub_cond_timedwait,
    .cond_clockwait = stub_cond_clockwait,
    .cond_signal = stub_cond_signal,
    .cond_broadcast = stub_cond_broadcast,
    .shm_open = stub_shm_open,
    .shm_unlink = stub_shm_unlink,
};

#define RESOLVE(field, name) \
    do { \
        void *found = next_symbol(name); \
        if (found) \
            memcpy(&real.field, &found, sizeof found); \
    } while (0)
#define RESOLVE_COND(field, name) \
    do { \
        void *found = next_cond_symbol(name); \
        if (found) \
            memcpy(&real.field, &found, sizeof found); \
    } while (0)

void real_resolve(void)
{
#ifdef __GLIBC__
    /* Usable at once, should dlsym call back into us. */
    if (real.mutex_lock == stub_mutex_lock) {
        real.mutex_lock = __pthread_mutex_lock;
        real.mutex_trylock = __pthread_mutex_trylock;
        real.mutex_init = __pthread_mutex_init;
        real.mutex_destroy = __pthread_mutex_destroy;
    }
#endif
    tls.guard++;
    RESOLVE(sem_open, "sem_open");
    RESOLVE(sem_close, "sem_close");
    RESOLVE(sem_unlink, "sem_unlink");
    RESOLVE(sem_init, "sem_init");
    RESOLVE(sem_destroy, "sem_destroy");
    RESOLVE(sem_wait, "sem_wait");
    RESOLVE(sem_trywait, "sem_trywait");
    RESOLVE(sem_timedwait, "sem_timedwait");
    RESOLVE(sem_clockwait, "sem_clockwait");
    RESOLVE(sem_post, "sem_post");
    RESOLVE(sem_getvalue, "sem_getvalue");
    RESOLVE(mutex_init, "pthread_mutex_init");
    RESOLVE(mutex_destroy, "pthread_mutex_destroy");
    RESOLVE(mutex_lock, "pthread_mutex_lock");
    RESOLVE(mutex_trylock, "pthread_mutex_trylock");
    RESOLVE(mutex_timedlock, "pthread_mutex_timedlock");
    RESOLVE(mutex_clocklock, "pthread_mutex_clocklock");
    RESOLVE_COND(cond_init, "pthread_cond_init");
    RESOLVE_COND(cond_destroy, "pthread_cond_destroy");
    RESOLVE_COND(cond_wait, "pthread_cond_wait");
    RESOLVE_COND(cond_timedwait, "pthread_cond_timedwait");
    RESOLVE(cond_clockwait, "pthread_cond_clockwait");
    RESOLVE_COND(cond_signal, "pthread_cond_signal");
    RESOLVE_COND(cond_broadcast, "pthread_cond_broadcast");
    RESOLVE(mutex_unlock, "pthread_mutex_unlock");
    RESOLVE(shm_open, "shm_open");
    RESOLVE(shm_unlink, "shm_unlink");
#ifdef __GLIBC__
    if (real.mutex_unlock == stub_mutex_unlock)
        real.mutex_unlock = __pthread_mutex_unlock;
#endif
    tls.guard--;
}

/* Make objects of each kind, private and shared, and see whether the
 * layout tells them apart the way preload.h reads it. */
bool real_layout_matches(void)
{
    bool ok = true;
    sem_t private_sem, shared_sem;
    if (real.sem_init(&private_sem, 0, 0) != 0 || real.sem_init(&shared_sem, 1, 0) != 0)
        return false;
    ok = ok && !sem_is_shared(&private_sem) && sem_is_shared(&shared_sem);
    real.sem_destroy(&private_sem);
    real.sem_destroy(&shared_sem);

    pthread_mutexattr_t mutex_attr;
    pthread_mutex_t private_mutex, shared_mutex;
    pthread_mutexattr_init(&mutex_attr);
    pthread_mutexattr_setpshared(&mutex_attr, PTHREAD_PROCESS_SHARED);
    if (real.mutex_init(&private_mutex, NULL) != 0 || real.mutex_init(&shared_mutex, &mutex_attr) != 0)
        ok = false;
    else
        ok = ok && !mutex_is_shared(&private_mutex) && mutex_is_shared(&shared_mutex);
    pthread_mutexattr_destroy(&mutex_attr);

    pthread_condattr_t cond_attr;
    pthread_cond_t private_cond, shared_cond;
    pthread_condattr_init(&cond_attr);
    pthread_condattr_setpshared(&cond_attr, PTHREAD_PROCESS_SHARED);
    if (real.cond_init(&private_cond, NULL) != 0 || real.cond_init(&shared_cond, &cond_attr) != 0)
        ok = false;
    else
        ok = ok && !cond_is_shared(&private_cond) && cond_is_shared(&shared_cond);
    pthread_condattr_destroy(&cond_attr);
    return ok;
}
