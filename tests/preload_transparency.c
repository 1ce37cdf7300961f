/* preload_transparency.c - what every interposed call returns, one line per
 * call, so that a run without libsynctop-preload.so and a run under
 * `synctop run` can be compared line by line (tests/test_preload_transparency.c).
 *
 * Each line is "call-id result errno":
 *  - result: for pthread_* the returned code (0 or its name, EBUSY ...);
 *    for sem_* the return value and, on -1, errno's name ("-1:EAGAIN");
 *  - errno: "-" when the call left errno as it was (it is set to a sentinel
 *    before each call), else the name of what it became.
 * Nothing in a line depends on pids, addresses or times.
 *
 * The calls cover every path of the interposers: free, held by the caller,
 * held by another thread, owner died (a child process, or for a private
 * mutex a thread, takes the lock and ends), not recoverable; bad clocks
 * and deadlines, deadlines passed, waits interrupted by a signal, a
 * semaphore at SEM_VALUE_MAX; mutexes normal, errorcheck, recursive,
 * robust and priority-inheriting, process-shared (the objects the preload
 * watches) and private; unnamed and named semaphores; condition variables;
 * shm_open and shm_unlink on a watched name and on one of synctop's own;
 * wait, waitpid, wait3, wait4 and waitid reaping children that exited or
 * were killed, with and without a status pointer, looking only (WNOWAIT,
 * WNOHANG), with no child, with bad arguments.
 *
 * Every call is bounded: where a real call could block for good, its
 * deadline is near, or another thread releases what it waits for. A call
 * that hangs all the same (the preload turning a returning call into a
 * blocking one), or the setup after a call that left an object in another
 * state than it should, is cut short by a watchdog that prints
 * "call-id HUNG" and ends the program with status 3.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ERRNO_SENTINEL 4321
#define WATCHDOG_SECONDS 10
#define FAR_SECONDS 8           /* a deadline no bounded call should reach */
#define SOON_NS 20000000L       /* a deadline a blocked call does reach */
#define INTERRUPT_EVERY_NS 5000000L

static void die(const char *what)
{
    fprintf(stderr, "preload_transparency: %s: %s\n", what, strerror(errno));
    exit(2);
}

/* ---- the watchdog ------------------------------------------------------ */

/* What the program is doing: the call under way, or the setup after it. */
static char current_step[256];

static void watchdog_fired(int signo)
{
    (void)signo;
    if (write(STDOUT_FILENO, current_step, strnlen(current_step, sizeof current_step)) < 0 ||
        write(STDOUT_FILENO, " HUNG\n", 6) < 0)
        _exit(4);
    _exit(3);
}

/* Arm the watchdog (again) for the call id, or for the setup after it. */
static void watchdog_step(const char *id, bool after)
{
    snprintf(current_step, sizeof current_step, "%s%s", id, after ? " (the setup after it)" : "");
    alarm(WATCHDOG_SECONDS);
}

static void watchdog_install(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = watchdog_fired;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGALRM, &action, NULL) != 0)
        die("sigaction(SIGALRM)");
}

/* ---- printing one call --------------------------------------------------- */

static char id_prefix[96];

static const char *call_id(const char *suffix)
{
    static char id[192];
    snprintf(id, sizeof id, "%s%s", id_prefix, suffix);
    return id;
}

static const char *error_name(int code)
{
    const char *name = strerrorname_np(code);
    return name ? name : "E?";
}

static const char *errno_after(int seen)
{
    return seen == ERRNO_SENTINEL ? "-" : error_name(seen);
}

/* One line on stdout, written whole: a signal of the interrupter (below)
 * may arrive during the write. */
static void emit(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *format, ...)
{
    char line[256];
    va_list args;
    va_start(args, format);
    int length = vsnprintf(line, sizeof line - 1, format, args);
    va_end(args);
    if (length < 0)
        die("vsnprintf");
    if ((size_t)length > sizeof line - 2)
        length = (int)sizeof line - 2;
    line[length++] = '\n';
    for (int done = 0; done < length;) {
        ssize_t wrote = write(STDOUT_FILENO, line + done, (size_t)(length - done));
        if (wrote < 0 && errno != EINTR)
            die("write");
        if (wrote > 0)
            done += (int)wrote;
    }
}

/* Every call, and the setup between calls, is under the watchdog. */
static void call_begin(const char *suffix)
{
    watchdog_step(call_id(suffix), false);
    errno = ERRNO_SENTINEL;
}

static int call_end(const char *suffix)
{
    int seen = errno;
    watchdog_step(call_id(suffix), true);
    return seen;
}

/* A pthread-style call: the result is the returned code. */
#define CODE(suffix, call) \
    do { \
        call_begin(suffix); \
        int code_ = (call); \
        int seen_ = call_end(suffix); \
        emit("%s %s %s", call_id(suffix), code_ == 0 ? "0" : error_name(code_), errno_after(seen_)); \
    } while (0)

/* A -1/errno call: the result is the value, and errno's name on -1. */
#define RET(suffix, call) \
    do { \
        call_begin(suffix); \
        int rc_ = (call); \
        int seen_ = call_end(suffix); \
        if (rc_ == -1) \
            emit("%s -1:%s %s", call_id(suffix), error_name(seen_), errno_after(seen_)); \
        else \
            emit("%s %d %s", call_id(suffix), rc_, errno_after(seen_)); \
    } while (0)

/* ---- memory and deadlines ------------------------------------------------ */

static void *memory(size_t size, bool shared)
{
    void *at = mmap(NULL, size, PROT_READ | PROT_WRITE, (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
    if (at == MAP_FAILED)
        die("mmap");
    return at;
}

static struct timespec at_offset(clockid_t clock, long long offset_ns)
{
    struct timespec now;
    clock_gettime(clock, &now);
    long long ns = (long long)now.tv_sec * 1000000000LL + now.tv_nsec + offset_ns;
    return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000LL), .tv_nsec = (long)(ns % 1000000000LL) };
}

static const struct timespec long_ago = { 1, 0 };
static const struct timespec bad_nsec = { 0, 1000000000L };
static const struct timespec negative_nsec = { 0, -1 };

static struct timespec soon(clockid_t clock)
{
    return at_offset(clock, SOON_NS);
}

static struct timespec far(clockid_t clock)
{
    return at_offset(clock, (long long)FAR_SECONDS * 1000000000LL);
}

/* ---- helper threads and processes ---------------------------------------- */

static void pipe_or_die(int fds[2])
{
    if (pipe(fds) != 0)
        die("pipe");
}

static void send_byte(int fd)
{
    char byte = 1;
    if (write(fd, &byte, 1) != 1)
        die("write");
}

static void receive_byte(int fd)
{
    char byte;
    ssize_t got;
    do
        got = read(fd, &byte, 1);
    while (got < 0 && errno == EINTR);
    if (got != 1)
        die("read");
}

/* A thread that holds a mutex until told to let it go. */
typedef struct holder {
    pthread_t thread;
    pthread_mutex_t *mutex;
    int locked[2], release[2];
} holder;

static void *hold_until_released(void *arg)
{
    holder *h = arg;
    if (pthread_mutex_lock(h->mutex) != 0)
        die("holder: lock");
    send_byte(h->locked[1]);
    receive_byte(h->release[0]);
    pthread_mutex_unlock(h->mutex);
    return NULL;
}

static void holder_start(holder *h, pthread_mutex_t *mutex)
{
    h->mutex = mutex;
    pipe_or_die(h->locked);
    pipe_or_die(h->release);
    if (pthread_create(&h->thread, NULL, hold_until_released, h) != 0)
        die("pthread_create");
    receive_byte(h->locked[0]);
}

static void holder_stop(holder *h)
{
    send_byte(h->release[1]);
    pthread_join(h->thread, NULL);
    close(h->locked[0]), close(h->locked[1]), close(h->release[0]), close(h->release[1]);
}

/* A robust mutex whose holder ended without unlocking it: a child process
 * for a shared mutex, a thread for a private one. Its lock is one of the
 * calls (it may meet an owner that died before it). */
static void *lock_and_end(void *arg)
{
    CODE("holder.lock", pthread_mutex_lock(arg));
    return NULL;
}

static void holder_dies(pthread_mutex_t *mutex, bool shared)
{
    if (!shared) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, lock_and_end, mutex) != 0)
            die("pthread_create");
        pthread_join(thread, NULL);
        return;
    }
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        lock_and_end(mutex);
        _exit(0);
    }
    if (waitpid(pid, NULL, 0) != pid)
        die("waitpid");
}

/* A thread that signals the main thread (SIGUSR1, no SA_RESTART) every few
 * milliseconds until stopped: a wait started meanwhile is interrupted. */
static pthread_t interrupter;
static volatile int interrupting;
static pthread_t main_thread;

static void interrupted(int signo)
{
    (void)signo;
}

static void *interrupt_main(void *arg)
{
    (void)arg;
    struct timespec pause = { 0, INTERRUPT_EVERY_NS };
    while (__atomic_load_n(&interrupting, __ATOMIC_ACQUIRE)) {
        pthread_kill(main_thread, SIGUSR1);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static void interrupter_start(void)
{
    __atomic_store_n(&interrupting, 1, __ATOMIC_RELEASE);
    if (pthread_create(&interrupter, NULL, interrupt_main, NULL) != 0)
        die("pthread_create");
}

static void interrupter_stop(void)
{
    __atomic_store_n(&interrupting, 0, __ATOMIC_RELEASE);
    pthread_join(interrupter, NULL);
}

static void interrupts_install(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = interrupted;   /* no SA_RESTART: a blocked wait returns EINTR */
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGUSR1, &action, NULL) != 0)
        die("sigaction(SIGUSR1)");
}

/* ---- mutexes --------------------------------------------------------------- */

typedef struct mutex_kind {
    const char *name;
    int type;
    bool robust;
    bool inherit;       /* PTHREAD_PRIO_INHERIT */
} mutex_kind;

static int mutex_init_kind(pthread_mutex_t *mutex, const mutex_kind *kind, bool shared)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, kind->type);
    pthread_mutexattr_setpshared(&attr, shared ? PTHREAD_PROCESS_SHARED : PTHREAD_PROCESS_PRIVATE);
    if (kind->robust)
        pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    if (kind->inherit)
        pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
    int rc = pthread_mutex_init(mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    return rc;
}

/* Unlock until the mutex refuses (a recursive one was taken several times);
 * at most 16 times: a normal mutex never refuses. */
static void unlock_all(pthread_mutex_t *m)
{
    char suffix[32];
    for (int i = 1; i <= 16; i++) {
        snprintf(suffix, sizeof suffix, "unlock.%d", i);
        call_begin(suffix);
        int code = pthread_mutex_unlock(m);
        int seen = call_end(suffix);
        emit("%s %s %s", call_id(suffix), code == 0 ? "0" : error_name(code), errno_after(seen));
        if (code != 0)
            break;
    }
}

static void mutex_held_by_caller(pthread_mutex_t *m, const mutex_kind *kind)
{
    CODE("self.lock.first", pthread_mutex_lock(m));
    CODE("self.trylock", pthread_mutex_trylock(m));
    if (kind->type != PTHREAD_MUTEX_NORMAL)
        CODE("self.lock", pthread_mutex_lock(m));   /* a normal one would deadlock */
    struct timespec t = soon(CLOCK_REALTIME);
    CODE("self.timedlock.soon", pthread_mutex_timedlock(m, &t));
    CODE("self.timedlock.past", pthread_mutex_timedlock(m, &long_ago));
    CODE("self.timedlock.bad-nsec", pthread_mutex_timedlock(m, &bad_nsec));
    CODE("self.timedlock.negative-nsec", pthread_mutex_timedlock(m, &negative_nsec));
    t = at_offset(CLOCK_REALTIME, 0);
    CODE("self.clocklock.bad-clock", pthread_mutex_clocklock(m, CLOCK_PROCESS_CPUTIME_ID, &t));
    t = soon(CLOCK_MONOTONIC);
    CODE("self.clocklock.monotonic.soon", pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &t));
    CODE("self.clocklock.monotonic.bad-nsec", pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &bad_nsec));
    unlock_all(m);
}

static void mutex_free(pthread_mutex_t *m)
{
    CODE("free.trylock", pthread_mutex_trylock(m));
    CODE("free.trylock.unlock", pthread_mutex_unlock(m));
    CODE("free.timedlock.past", pthread_mutex_timedlock(m, &long_ago));
    CODE("free.timedlock.past.unlock", pthread_mutex_unlock(m));
    CODE("free.timedlock.bad-nsec", pthread_mutex_timedlock(m, &bad_nsec));
    CODE("free.timedlock.bad-nsec.unlock", pthread_mutex_unlock(m));
    struct timespec t = at_offset(CLOCK_REALTIME, 0);
    CODE("free.clocklock.bad-clock", pthread_mutex_clocklock(m, CLOCK_PROCESS_CPUTIME_ID, &t));
    CODE("free.clocklock.bad-clock.unlock", pthread_mutex_unlock(m));
    t = far(CLOCK_MONOTONIC);
    CODE("free.clocklock.monotonic", pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &t));
    CODE("free.clocklock.monotonic.unlock", pthread_mutex_unlock(m));
    t = far(CLOCK_REALTIME);
    CODE("free.clocklock.realtime", pthread_mutex_clocklock(m, CLOCK_REALTIME, &t));
    CODE("free.clocklock.realtime.unlock", pthread_mutex_unlock(m));
    CODE("free.clocklock.monotonic.bad-nsec", pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &bad_nsec));
    CODE("free.clocklock.monotonic.bad-nsec.unlock", pthread_mutex_unlock(m));
    CODE("free.unlock.unheld", pthread_mutex_unlock(m));
}

static void mutex_held_by_other(pthread_mutex_t *m)
{
    holder h;
    holder_start(&h, m);
    CODE("other.trylock", pthread_mutex_trylock(m));
    struct timespec t = soon(CLOCK_REALTIME);
    CODE("other.timedlock.soon", pthread_mutex_timedlock(m, &t));
    CODE("other.timedlock.past", pthread_mutex_timedlock(m, &long_ago));
    CODE("other.timedlock.bad-nsec", pthread_mutex_timedlock(m, &bad_nsec));
    t = at_offset(CLOCK_REALTIME, 0);
    CODE("other.clocklock.bad-clock", pthread_mutex_clocklock(m, CLOCK_PROCESS_CPUTIME_ID, &t));
    t = soon(CLOCK_MONOTONIC);
    CODE("other.clocklock.monotonic.soon", pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &t));
    CODE("other.clocklock.realtime.past", pthread_mutex_clocklock(m, CLOCK_REALTIME, &long_ago));
    holder_stop(&h);
}

/* Unlock by a thread that does not hold it: EPERM, except for a normal
 * mutex, which lets go of the holder's lock. */
static void mutex_unlocked_by_other(pthread_mutex_t *m, const mutex_kind *kind)
{
    if (kind->type == PTHREAD_MUTEX_NORMAL && !kind->robust && !kind->inherit)
        return;   /* it would release the holder's lock under it */
    holder h;
    holder_start(&h, m);
    CODE("other.unlock", pthread_mutex_unlock(m));
    holder_stop(&h);
}

/* A robust mutex whose owner died: each way of taking it gets EOWNERDEAD;
 * then, unlocked without pthread_mutex_consistent, it is not recoverable. */
static void mutex_owner_died(pthread_mutex_t *m, const mutex_kind *kind, bool shared)
{
    holder_dies(m, shared);
    CODE("dead.lock", pthread_mutex_lock(m));
    CODE("dead.lock.consistent", pthread_mutex_consistent(m));
    CODE("dead.lock.unlock", pthread_mutex_unlock(m));
    CODE("dead.after-consistent.lock", pthread_mutex_lock(m));
    CODE("dead.after-consistent.unlock", pthread_mutex_unlock(m));

    holder_dies(m, shared);
    CODE("dead.trylock", pthread_mutex_trylock(m));
    CODE("dead.trylock.consistent", pthread_mutex_consistent(m));
    CODE("dead.trylock.unlock", pthread_mutex_unlock(m));

    holder_dies(m, shared);
    struct timespec t = at_offset(CLOCK_REALTIME, 0);
    CODE("dead.clocklock.bad-clock", pthread_mutex_clocklock(m, CLOCK_PROCESS_CPUTIME_ID, &t));
    CODE("dead.timedlock.bad-nsec", pthread_mutex_timedlock(m, &bad_nsec));
    if (kind->type != PTHREAD_MUTEX_NORMAL)
        CODE("dead.timedlock.bad-nsec.again", pthread_mutex_timedlock(m, &bad_nsec));
    CODE("dead.timedlock.bad-nsec.consistent", pthread_mutex_consistent(m));
    unlock_all(m);

    holder_dies(m, shared);
    CODE("dead.timedlock", pthread_mutex_timedlock(m, &long_ago));
    CODE("dead.timedlock.consistent", pthread_mutex_consistent(m));
    CODE("dead.timedlock.unlock", pthread_mutex_unlock(m));

    holder_dies(m, shared);
    t = far(CLOCK_MONOTONIC);
    CODE("dead.clocklock", pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &t));
    /* No pthread_mutex_consistent: the unlock makes it unrecoverable. */
    CODE("dead.clocklock.unlock", pthread_mutex_unlock(m));

    CODE("unrecoverable.lock", pthread_mutex_lock(m));
    CODE("unrecoverable.lock.again", pthread_mutex_lock(m));
    t = far(CLOCK_REALTIME);
    CODE("unrecoverable.timedlock", pthread_mutex_timedlock(m, &t));
    t = far(CLOCK_MONOTONIC);
    CODE("unrecoverable.clocklock", pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &t));
    t = at_offset(CLOCK_REALTIME, 0);
    CODE("unrecoverable.clocklock.bad-clock", pthread_mutex_clocklock(m, CLOCK_PROCESS_CPUTIME_ID, &t));
    CODE("unrecoverable.unlock", pthread_mutex_unlock(m));
    CODE("unrecoverable.consistent", pthread_mutex_consistent(m));
    /* Last: glibc's trylock leaves an unrecoverable mutex locked. */
    CODE("unrecoverable.trylock", pthread_mutex_trylock(m));
}

static void mutex_cases(const mutex_kind *kind, bool shared)
{
    snprintf(id_prefix, sizeof id_prefix, "mutex.%s.%s.", kind->name, shared ? "shared" : "private");
    pthread_mutex_t *m = memory(sizeof *m, shared);
    CODE("init", mutex_init_kind(m, kind, shared));
    mutex_held_by_caller(m, kind);
    mutex_free(m);
    mutex_held_by_other(m);
    mutex_unlocked_by_other(m, kind);
    if (kind->robust)
        mutex_owner_died(m, kind, shared);
    CODE("destroy", pthread_mutex_destroy(m));
    munmap(m, sizeof *m);
}

static const mutex_kind mutex_kinds[] = {
    { "normal", PTHREAD_MUTEX_NORMAL, false, false },
    { "default", PTHREAD_MUTEX_DEFAULT, false, false },
    { "errorcheck", PTHREAD_MUTEX_ERRORCHECK, false, false },
    { "recursive", PTHREAD_MUTEX_RECURSIVE, false, false },
    { "robust-normal", PTHREAD_MUTEX_NORMAL, true, false },
    { "robust-errorcheck", PTHREAD_MUTEX_ERRORCHECK, true, false },
    { "robust-recursive", PTHREAD_MUTEX_RECURSIVE, true, false },
    { "inherit-errorcheck", PTHREAD_MUTEX_ERRORCHECK, false, true },
    { "inherit-robust-recursive", PTHREAD_MUTEX_RECURSIVE, true, true },
};

/* ---- condition variables ------------------------------------------------- */

typedef struct cond_pair {
    pthread_cond_t cond;
    pthread_mutex_t mutex;
    volatile int signalled;
} cond_pair;

/* Signal the waiter, which holds the mutex until it waits. */
static void *signal_waiter(void *arg)
{
    cond_pair *p = arg;
    pthread_mutex_lock(&p->mutex);
    p->signalled = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->mutex);
    return NULL;
}

typedef enum wait_kind { WAIT_PLAIN, WAIT_TIMED, WAIT_CLOCK } wait_kind;

static int cond_wait_kind(cond_pair *p, wait_kind kind)
{
    struct timespec t;
    switch (kind) {
    case WAIT_TIMED:
        t = far(CLOCK_REALTIME);
        return pthread_cond_timedwait(&p->cond, &p->mutex, &t);
    case WAIT_CLOCK:
        t = far(CLOCK_MONOTONIC);
        return pthread_cond_clockwait(&p->cond, &p->mutex, CLOCK_MONOTONIC, &t);
    case WAIT_PLAIN:
        break;
    }
    return pthread_cond_wait(&p->cond, &p->mutex);
}

/* One wait woken by a signal from another thread (printed), then waits
 * until the signal was seen (not printed: a spurious wake-up is allowed). */
static void cond_signalled(cond_pair *p, wait_kind kind, const char *suffix)
{
    pthread_mutex_lock(&p->mutex);
    p->signalled = 0;
    pthread_t thread;
    if (pthread_create(&thread, NULL, signal_waiter, p) != 0)
        die("pthread_create");
    CODE(suffix, cond_wait_kind(p, kind));
    while (!p->signalled)
        pthread_cond_wait(&p->cond, &p->mutex);
    pthread_mutex_unlock(&p->mutex);
    pthread_join(thread, NULL);
}

static int pair_init(cond_pair *p, const mutex_kind *kind, bool shared)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setpshared(&attr, shared ? PTHREAD_PROCESS_SHARED : PTHREAD_PROCESS_PRIVATE);
    int rc = pthread_cond_init(&p->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0)
        return rc;
    return mutex_init_kind(&p->mutex, kind, shared);
}

static void cond_timeouts_and_errors(cond_pair *p)
{
    CODE("lock", pthread_mutex_lock(&p->mutex));
    struct timespec t = soon(CLOCK_REALTIME);
    CODE("timedwait.soon", pthread_cond_timedwait(&p->cond, &p->mutex, &t));
    CODE("timedwait.past", pthread_cond_timedwait(&p->cond, &p->mutex, &long_ago));
    CODE("timedwait.bad-nsec", pthread_cond_timedwait(&p->cond, &p->mutex, &bad_nsec));
    CODE("timedwait.negative-nsec", pthread_cond_timedwait(&p->cond, &p->mutex, &negative_nsec));
    t = soon(CLOCK_MONOTONIC);
    CODE("clockwait.monotonic.soon", pthread_cond_clockwait(&p->cond, &p->mutex, CLOCK_MONOTONIC, &t));
    CODE("clockwait.realtime.past", pthread_cond_clockwait(&p->cond, &p->mutex, CLOCK_REALTIME, &long_ago));
    t = at_offset(CLOCK_REALTIME, 0);
    CODE("clockwait.bad-clock", pthread_cond_clockwait(&p->cond, &p->mutex, CLOCK_PROCESS_CPUTIME_ID, &t));
    CODE("clockwait.bad-nsec", pthread_cond_clockwait(&p->cond, &p->mutex, CLOCK_MONOTONIC, &bad_nsec));
    CODE("trylock.still-held", pthread_mutex_trylock(&p->mutex));
    CODE("signal.no-waiter", pthread_cond_signal(&p->cond));
    CODE("broadcast.no-waiter", pthread_cond_broadcast(&p->cond));
    CODE("unlock", pthread_mutex_unlock(&p->mutex));
}

/* Waiting with an errorcheck mutex the caller does not hold: EPERM. */
static void cond_mutex_not_held(cond_pair *p)
{
    struct timespec t = soon(CLOCK_REALTIME);
    CODE("unheld.timedwait", pthread_cond_timedwait(&p->cond, &p->mutex, &t));
    t = soon(CLOCK_MONOTONIC);
    CODE("unheld.clockwait", pthread_cond_clockwait(&p->cond, &p->mutex, CLOCK_MONOTONIC, &t));
    holder h;
    holder_start(&h, &p->mutex);
    t = soon(CLOCK_REALTIME);
    CODE("held-by-other.timedwait", pthread_cond_timedwait(&p->cond, &p->mutex, &t));
    holder_stop(&h);
}

/* The signaller takes the robust mutex and ends holding it: the waiter
 * wakes to EOWNERDEAD. */
static void *signal_and_end(void *arg)
{
    cond_pair *p = arg;
    pthread_mutex_lock(&p->mutex);
    pthread_cond_signal(&p->cond);
    return NULL;
}

static void cond_owner_died(cond_pair *p, bool shared, wait_kind kind, const char *suffix)
{
    pthread_mutex_lock(&p->mutex);
    pthread_t thread;
    pid_t pid = 0;
    if (shared) {
        pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0) {
            signal_and_end(p);
            _exit(0);
        }
    } else if (pthread_create(&thread, NULL, signal_and_end, p) != 0) {
        die("pthread_create");
    }
    CODE(suffix, cond_wait_kind(p, kind));
    if (shared)
        waitpid(pid, NULL, 0);
    else
        pthread_join(thread, NULL);
    pthread_mutex_consistent(&p->mutex);
    pthread_mutex_unlock(&p->mutex);
}

/* While the waiter waits, its robust mutex is spoiled: a holder ends with
 * it, the next taker (EOWNERDEAD) signals and unlocks it without making it
 * consistent. The waiter wakes to ENOTRECOVERABLE, not holding it. */
static void *take_and_end(void *arg)
{
    pthread_mutex_lock(arg);
    return NULL;
}

static void *spoil_while_waiting(void *arg)
{
    cond_pair *p = arg;
    pthread_t thread;
    if (pthread_create(&thread, NULL, take_and_end, &p->mutex) != 0)
        die("pthread_create");
    pthread_join(thread, NULL);
    CODE("spoiler.lock", pthread_mutex_lock(&p->mutex));
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->mutex);
    return NULL;
}

static void cond_unrecoverable(cond_pair *p, bool shared)
{
    pthread_mutex_lock(&p->mutex);
    pthread_t thread;
    pid_t pid = 0;
    if (shared) {
        pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0) {
            spoil_while_waiting(p);
            _exit(0);
        }
    } else if (pthread_create(&thread, NULL, spoil_while_waiting, p) != 0) {
        die("pthread_create");
    }
    CODE("wait.unrecoverable", pthread_cond_wait(&p->cond, &p->mutex));
    if (shared)
        waitpid(pid, NULL, 0);
    else
        pthread_join(thread, NULL);
    CODE("unrecoverable.unlock", pthread_mutex_unlock(&p->mutex));
}

static void cond_cases(bool shared)
{
    static const mutex_kind normal = { "normal", PTHREAD_MUTEX_NORMAL, false, false };
    static const mutex_kind errorcheck = { "errorcheck", PTHREAD_MUTEX_ERRORCHECK, false, false };
    static const mutex_kind robust = { "robust", PTHREAD_MUTEX_NORMAL, true, false };
    const mutex_kind *kinds[] = { &normal, &errorcheck, &robust };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        snprintf(id_prefix, sizeof id_prefix, "cond.%s.%s.", kinds[i]->name, shared ? "shared" : "private");
        cond_pair *p = memory(sizeof *p, shared);
        CODE("init", pair_init(p, kinds[i], shared));
        cond_timeouts_and_errors(p);
        cond_signalled(p, WAIT_PLAIN, "wait.signalled");
        cond_signalled(p, WAIT_TIMED, "timedwait.signalled");
        cond_signalled(p, WAIT_CLOCK, "clockwait.signalled");
        if (kinds[i] == &errorcheck)
            cond_mutex_not_held(p);
        if (kinds[i] == &robust) {
            cond_owner_died(p, shared, WAIT_PLAIN, "wait.owner-died");
            cond_owner_died(p, shared, WAIT_TIMED, "timedwait.owner-died");
            cond_owner_died(p, shared, WAIT_CLOCK, "clockwait.owner-died");
            cond_unrecoverable(p, shared);
        }
        CODE("destroy", pthread_cond_destroy(&p->cond));
        CODE("mutex.destroy", pthread_mutex_destroy(&p->mutex));
        munmap(p, sizeof *p);
    }
}

/* ---- semaphores ------------------------------------------------------------ */

static int sem_value(sem_t *sem)
{
    int value = -1;
    return sem_getvalue(sem, &value) == 0 ? value : -1;
}

static void sem_empty(sem_t *sem)
{
    RET("empty.trywait", sem_trywait(sem));
    struct timespec t = soon(CLOCK_REALTIME);
    RET("empty.timedwait.soon", sem_timedwait(sem, &t));
    RET("empty.timedwait.past", sem_timedwait(sem, &long_ago));
    RET("empty.timedwait.bad-nsec", sem_timedwait(sem, &bad_nsec));
    RET("empty.timedwait.negative-nsec", sem_timedwait(sem, &negative_nsec));
    t = soon(CLOCK_MONOTONIC);
    RET("empty.clockwait.monotonic.soon", sem_clockwait(sem, CLOCK_MONOTONIC, &t));
    RET("empty.clockwait.realtime.past", sem_clockwait(sem, CLOCK_REALTIME, &long_ago));
    t = at_offset(CLOCK_REALTIME, 0);
    RET("empty.clockwait.bad-clock", sem_clockwait(sem, CLOCK_PROCESS_CPUTIME_ID, &t));
    RET("empty.clockwait.bad-nsec", sem_clockwait(sem, CLOCK_MONOTONIC, &bad_nsec));
    RET("empty.getvalue", sem_value(sem));
}

static void sem_interrupted(sem_t *sem)
{
    interrupter_start();
    RET("empty.wait.interrupted", sem_wait(sem));
    struct timespec t = far(CLOCK_REALTIME);
    RET("empty.timedwait.interrupted", sem_timedwait(sem, &t));
    t = far(CLOCK_MONOTONIC);
    RET("empty.clockwait.interrupted", sem_clockwait(sem, CLOCK_MONOTONIC, &t));
    interrupter_stop();
    /* A try that failed, then a wait that finds a unit. */
    RET("empty.trywait.before-post", sem_trywait(sem));
    RET("post.after-trywait", sem_post(sem));
    RET("wait.after-failed-trywait", sem_wait(sem));
}

static void sem_with_units(sem_t *sem)
{
    RET("post", sem_post(sem));
    RET("post.2", sem_post(sem));
    RET("post.3", sem_post(sem));
    RET("post.4", sem_post(sem));
    RET("free.getvalue", sem_value(sem));
    RET("free.timedwait.bad-nsec", sem_timedwait(sem, &bad_nsec));
    RET("free.timedwait.past", sem_timedwait(sem, &long_ago));
    struct timespec t = at_offset(CLOCK_REALTIME, 0);
    RET("free.clockwait.bad-clock", sem_clockwait(sem, CLOCK_PROCESS_CPUTIME_ID, &t));
    RET("free.clockwait.bad-nsec", sem_clockwait(sem, CLOCK_MONOTONIC, &bad_nsec));
    RET("free.clockwait.monotonic.past", sem_clockwait(sem, CLOCK_MONOTONIC, &long_ago));
    RET("free.trywait", sem_trywait(sem));
    RET("free.wait", sem_wait(sem));
    RET("free.after.getvalue", sem_value(sem));
}

static void sem_overflow(sem_t *sem)
{
    RET("max.init", sem_init(sem, 1, SEM_VALUE_MAX));
    RET("max.post", sem_post(sem));
    RET("max.post.again", sem_post(sem));
    RET("max.getvalue", sem_value(sem));
    RET("max.trywait", sem_trywait(sem));
    RET("max.post.after-trywait", sem_post(sem));
    RET("max.destroy", sem_destroy(sem));
}

static void sem_unnamed_cases(bool shared)
{
    snprintf(id_prefix, sizeof id_prefix, "sem.unnamed.%s.", shared ? "shared" : "private");
    sem_t *sem = memory(2 * sizeof *sem, shared);
    RET("init.too-big", sem_init(sem, shared, (unsigned)SEM_VALUE_MAX + 1u));
    RET("init", sem_init(sem, shared, 0));
    sem_empty(sem);
    sem_interrupted(sem);
    sem_with_units(sem);
    RET("destroy", sem_destroy(sem));
    sem_overflow(sem + 1);
    munmap(sem, 2 * sizeof *sem);
}

static sem_t *opened;

static int open_semaphore(const char *name, int flags)
{
    opened = flags & O_CREAT ? sem_open(name, flags, 0600, 0u) : sem_open(name, flags);
    return opened == SEM_FAILED ? -1 : 0;
}

static void sem_named_cases(void)
{
    snprintf(id_prefix, sizeof id_prefix, "sem.named.");
    char name[64];
    snprintf(name, sizeof name, "/synctop-transparency-%ld", (long)getpid());
    sem_unlink(name);
    RET("open.missing", open_semaphore(name, 0));
    RET("open.create", open_semaphore(name, O_CREAT | O_EXCL));
    sem_t *sem = opened;
    if (sem == SEM_FAILED)
        return;
    RET("open.exclusive-again", open_semaphore(name, O_CREAT | O_EXCL));
    RET("open.existing", open_semaphore(name, 0));
    sem_t *second = opened;
    sem_empty(sem);
    sem_interrupted(sem);
    sem_with_units(sem);
    if (second != SEM_FAILED)
        RET("close.second", sem_close(second));
    RET("close", sem_close(sem));
    RET("unlink", sem_unlink(name));
    RET("unlink.again", sem_unlink(name));
}

/* ---- file descriptors: pipe, pipe2, socketpair, read, write, close, listen - */

/* A C program's pipes are never watched (only multiprocessing's Pipe is),
 * so these lines prove the pass-through paths: results, errno on failure,
 * errno kept on success, short reads, EOF, EAGAIN, EBADF and EPIPE. */
static void fd_io_cases(const char *kind, int fds[2])
{
    char buf[16];
    snprintf(id_prefix, sizeof id_prefix, "fd %s ", kind);
    RET("write-4", (int)write(fds[1], "abcd", 4));
    RET("read-short", (int)read(fds[0], buf, sizeof buf));
    RET("write-0", (int)write(fds[1], "", 0));
    RET("write-1", (int)write(fds[1], "x", 1));
    RET("read-1-of-1", (int)read(fds[0], buf, 1));
    if (fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0)
        die("fcntl");
    RET("read-empty-nonblocking", (int)read(fds[0], buf, sizeof buf));
    RET("read-0-bytes", (int)read(fds[0], buf, 0));
    RET("close-write-end", close(fds[1]));
    RET("read-eof", (int)read(fds[0], buf, sizeof buf));
    RET("write-closed", (int)write(fds[1], "x", 1));
    RET("read-closed", (int)read(fds[1], buf, 1));
    RET("close-read-end", close(fds[0]));
    RET("close-again", close(fds[0]));
}

static void fd_epipe_case(const char *kind, int fds[2])
{
    snprintf(id_prefix, sizeof id_prefix, "fd %s ", kind);
    struct sigaction ignore = { .sa_handler = SIG_IGN }, old;
    sigemptyset(&ignore.sa_mask);
    if (sigaction(SIGPIPE, &ignore, &old) != 0)
        die("sigaction");
    RET("close-read-end", close(fds[0]));
    RET("write-no-reader", (int)write(fds[1], "abc", 3));
    RET("close-write-end", close(fds[1]));
    if (sigaction(SIGPIPE, &old, NULL) != 0)
        die("sigaction");
}

static void fd_cases(void)
{
    int fds[2];
    char buf[4];
    snprintf(id_prefix, sizeof id_prefix, "fd ");
    RET("pipe", pipe(fds));
    fd_io_cases("pipe", fds);
    snprintf(id_prefix, sizeof id_prefix, "fd ");
    RET("pipe2", pipe2(fds, O_CLOEXEC));
    fd_epipe_case("pipe2", fds);
    snprintf(id_prefix, sizeof id_prefix, "fd ");
    RET("pipe2-bad-flags", pipe2(fds, -1));
    RET("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, fds));
    fd_io_cases("socketpair", fds);
    snprintf(id_prefix, sizeof id_prefix, "fd ");
    RET("socketpair-again", socketpair(AF_UNIX, SOCK_STREAM, 0, fds));
    fd_epipe_case("socketpair", fds);
    snprintf(id_prefix, sizeof id_prefix, "fd ");
    RET("socketpair-bad-domain", socketpair(-1, SOCK_STREAM, 0, fds));
    /* listen (a Python manager's server is found by its Listener's). */
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    RET("listen-unbound-socket", listen(listener, 4));
    RET("listen-again", listen(listener, 4));
    close(listener);
    RET("listen-closed", listen(listener, 4));
    int file = open("/dev/null", O_RDONLY);
    RET("listen-not-a-socket", listen(file, 4));
    close(file);
    RET("listen-negative-fd", listen(-1, 4));
    int datagram = socket(AF_UNIX, SOCK_DGRAM, 0);
    RET("listen-datagram", listen(datagram, 4));
    close(datagram);
    RET("read-negative-fd", (int)read(-1, buf, sizeof buf));
    RET("write-negative-fd", (int)write(-1, "x", 1));
    RET("read-huge-fd", (int)read(1 << 20, buf, sizeof buf));
    RET("close-negative-fd", close(-1));
    RET("close-huge-fd", close(1 << 20));
}

/* ---- shared memory (shm_open, shm_unlink) -------------------------------- */

static int shm_fd = -1;

/* 0 when the call gave a descriptor (its number differs between runs: the
 * preload's table has one), else -1 with errno as the call left it. */
static int shm_result(int fd)
{
    if (fd < 0)
        return -1;
    if (shm_fd >= 0)
        close(shm_fd);
    shm_fd = fd;
    return 0;
}

static void shm_cases(const char *prefix)
{
    snprintf(id_prefix, sizeof id_prefix, "shm.%s.", prefix);
    char name[96];
    snprintf(name, sizeof name, "/%s-transparency-shm-%ld", prefix, (long)getpid());
    shm_unlink(name);
    RET("unlink.missing", shm_unlink(name));
    RET("open.missing", shm_result(shm_open(name, O_RDWR, 0)));
    RET("open.create", shm_result(shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600)));
    RET("ftruncate", ftruncate(shm_fd, 4096));
    RET("open.exclusive-again", shm_result(shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600)));
    RET("open.existing", shm_result(shm_open(name, O_RDWR, 0)));
    RET("open.create-or-existing", shm_result(shm_open(name, O_CREAT | O_RDWR, 0600)));
    RET("open.create-or-existing.trunc", shm_result(shm_open(name, O_CREAT | O_RDWR | O_TRUNC, 0600)));
    RET("open.existing.read-only", shm_result(shm_open(name, O_RDONLY, 0)));
    RET("open.bad-name", shm_result(shm_open("/a/b", O_CREAT | O_RDWR, 0600)));
    RET("open.empty-name", shm_result(shm_open("", O_RDWR, 0)));
    RET("open.write-only", shm_result(shm_open(name, O_WRONLY, 0)));
    RET("unlink", shm_unlink(name));
    RET("unlink.again", shm_unlink(name));
    RET("unlink.bad-name", shm_unlink("/a/b"));
    RET("open.create-or-missing", shm_result(shm_open(name, O_CREAT | O_RDWR, 0600)));
    RET("open.create-or-missing.again", shm_result(shm_open(name, O_CREAT | O_RDWR, 0600)));
    RET("unlink.created", shm_unlink(name));
    if (shm_fd >= 0)
        close(shm_fd);
    shm_fd = -1;
}

/* ---- reaping children (wait, waitpid, wait3, wait4, waitid) ---------------- */

/* A child that posts touch (a process-shared semaphore: under the preload
 * it then has a process slot), waits for the end of hold (when >= 0), and
 * ends: exit status how, or killed by signal -how. hold_other_end is
 * closed in the child, so that the end of hold comes with the parent's. */
static pid_t child_ending(int how, sem_t *touch, int hold, int hold_other_end)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid > 0)
        return pid;
    if (hold_other_end >= 0)
        close(hold_other_end);
    if (touch != NULL)
        sem_post(touch);
    char byte;
    if (hold >= 0)
        while (read(hold, &byte, 1) != 0 && errno == EINTR) {
        }
    if (how < 0)
        raise(-how);
    _exit(how);
}

/* A pid as a line may show it: "child" for the one expected. */
static int reaped(pid_t pid, pid_t child)
{
    return pid == child && pid > 0 ? 1000000 : (int)pid;
}

static void emit_status(const char *suffix, int status)
{
    if (WIFEXITED(status))
        emit("%s.status exited %d", call_id(suffix), WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        emit("%s.status killed %d", call_id(suffix), WTERMSIG(status));
    else
        emit("%s.status other", call_id(suffix));
}

static void wait_cases(void)
{
    snprintf(id_prefix, sizeof id_prefix, "wait.");
    sem_t *touch = memory(sizeof *touch, true);
    if (sem_init(touch, 1, 0) != 0)
        die("sem_init");
    int status = 0;
    siginfo_t info;

    RET("wait.none", reaped(wait(&status), 0));
    RET("waitpid.none", reaped(waitpid(-1, &status, 0), 0));
    RET("waitid.none", waitid(P_ALL, 0, &info, WEXITED));

    int hold[2];
    pipe_or_die(hold);
    pid_t child = child_ending(3, touch, hold[0], hold[1]);
    close(hold[0]);
    RET("waitpid.running.nohang", reaped(waitpid(child, &status, WNOHANG), child));
    memset(&info, 0, sizeof info);
    RET("waitid.running.nohang", waitid(P_PID, (id_t)child, &info, WEXITED | WNOHANG));
    emit("%s pid %d", call_id("waitid.running.nohang.info"), reaped(info.si_pid, child));
    close(hold[1]);
    memset(&info, 0, sizeof info);
    RET("waitid.nowait", waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT));
    emit("%s pid %d code %d status %d", call_id("waitid.nowait.info"), reaped(info.si_pid, child), info.si_code,
         info.si_status);
    RET("waitpid.exit3", reaped(waitpid(child, &status, 0), child));
    emit_status("waitpid.exit3", status);
    RET("waitpid.reaped-already", reaped(waitpid(child, &status, 0), child));

    child = child_ending(-SIGKILL, touch, -1, -1);
    RET("wait4.null-status.killed", reaped(wait4(child, NULL, 0, NULL), child));
    child = child_ending(-SIGKILL, touch, -1, -1);
    struct rusage usage;
    RET("wait4.killed", reaped(wait4(child, &status, 0, &usage), child));
    emit_status("wait4.killed", status);

    child = child_ending(7, touch, -1, -1);
    RET("wait.exit7", reaped(wait(&status), child));
    emit_status("wait.exit7", status);
    child = child_ending(0, touch, -1, -1);
    RET("wait.null-status", reaped(wait(NULL), child));
    child = child_ending(5, NULL, -1, -1);
    RET("wait3.exit5", reaped(wait3(&status, 0, NULL), child));
    emit_status("wait3.exit5", status);

    child = child_ending(9, touch, -1, -1);
    memset(&info, 0, sizeof info);
    RET("waitid.exit9", waitid(P_PID, (id_t)child, &info, WEXITED));
    emit("%s pid %d code %d status %d", call_id("waitid.exit9.info"), reaped(info.si_pid, child), info.si_code,
         info.si_status);
    child = child_ending(-SIGTERM, touch, -1, -1);
    memset(&info, 0, sizeof info);
    RET("waitid.all.killed", waitid(P_ALL, 0, &info, WEXITED));
    emit("%s pid %d code %d status %d", call_id("waitid.all.killed.info"), reaped(info.si_pid, child),
         info.si_code, info.si_status);
    RET("waitid.bad-idtype", waitid((idtype_t)77, 0, &info, WEXITED));
    sem_destroy(touch);
}

int main(void)
{
    main_thread = pthread_self();
    watchdog_install();
    interrupts_install();
    for (size_t i = 0; i < sizeof mutex_kinds / sizeof mutex_kinds[0]; i++) {
        mutex_cases(&mutex_kinds[i], true);
        mutex_cases(&mutex_kinds[i], false);
    }
    cond_cases(true);
    cond_cases(false);
    sem_unnamed_cases(true);
    sem_unnamed_cases(false);
    sem_named_cases();
    fd_cases();
    shm_cases("st");
    shm_cases("synctop");
    wait_cases();
    alarm(0);
    return 0;
}
