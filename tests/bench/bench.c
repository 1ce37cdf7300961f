/* bench.c - synctop-bench: what instrumentation costs, as ratios.
 *
 * Method. Every figure is the median of REPS (7) timed repetitions, each
 * preceded by an untimed warm-up, timed with clock_gettime(CLOCK_MONOTONIC)
 * around the whole loop (never per operation). The machines this runs on
 * are shared, virtual and noisy, and their absolute speed differs from one
 * to the next (one 2-core guest read the TSC in ~11 ns and took a robust
 * mutex lock + unlock in ~12 ns, another of the same class ~17.5 ns), so a
 * target is never an absolute number of nanoseconds: it is a ratio against
 * a baseline measured in the same run - here a bare process-shared robust
 * pthread mutex in a MAP_SHARED mapping. Baseline and instrumented runs
 * are interleaved (in slices within each repetition where a repetition is
 * one loop, alternating which goes first where it is a pair of forked
 * processes) so drift in the machine's speed hits both, and the ratio is
 * median(synctop) / median(raw).
 * Nothing is pinned to a CPU.
 *
 * Contended figures are ruled by how often the lock changes hands (each
 * change may cost a futex sleep and wake-up, microseconds), which the
 * scheduler decides; that rate is printed as a "#" line beside them. A
 * repetition in which the two processes did not overlap at all (they ran
 * one after the other on a busy machine) measures nothing and is redone.
 *
 * Output: one "name value" line per figure, then a block of "#" lines that
 * state each target and whether it was met. --quick runs fewer iterations
 * (a smoke run: its figures are rough), --only PREFIX runs the groups whose
 * name starts with PREFIX (or that PREFIX names a figure of).
 *
 * Adding a figure (queue, semaphore, model refresh, ...): write one
 * `static int bench_xxx(void)` that calls report() for each figure and
 * returns 0 (or 1 after printing an error), add one line to `benches[]`,
 * and, if the figure has a target, one line to `targets[]`.
 *
 * The benchmark runs in its own session, "bench-<pid>", removed at the end
 * (also on SIGINT/SIGTERM), and checks that nothing is left in /dev/shm.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <synctop/synctop.h>
#include "bench_viewer.h"

#define REPS 7

/* ---- settings ------------------------------------------------------------ */

static struct {
    long uncontended_pairs;     /* lock+unlock pairs per repetition */
    long contended_per_child;   /* iterations per child per repetition */
    long queue_messages;        /* messages per queue/pipe repetition */
    const char *only;
} cfg = {
    .uncontended_pairs = 2000000,
    .contended_per_child = 1000000,
    .queue_messages = 2000000,
    .only = NULL,
};

/* ---- the session ----------------------------------------------------------- */

static char session_name[ST_SESSION_NAME_MAX + 1];
static char session_shm_path[ST_SESSION_NAME_MAX + 80];  /* /dev/shm/... */
static st_table *session_table;
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    if (interrupted) {
        /* Second signal: stop now, leaving nothing behind (unlink is
         * async-signal-safe; st_session_remove is not). */
        unlink(session_shm_path);
        _exit(128 + sig);
    }
    interrupted = sig;
}

static st_table *bench_session(void)
{
    if (session_table)
        return session_table;
    snprintf(session_name, sizeof session_name, "bench-%d", (int)getpid());
    char shm[ST_SESSION_NAME_MAX + 64];
    if (st_session_shm_name(session_name, shm, sizeof shm) != ST_OK) {
        fprintf(stderr, "synctop-bench: session name: %s\n", st_error_detail());
        return NULL;
    }
    snprintf(session_shm_path, sizeof session_shm_path, "/dev/shm%s", shm);
    st_table_options opts = {
        .session = session_name,
        .process_capacity = 64,
        .object_capacity = 64,
    };
    if (st_table_open(&opts, &session_table) != ST_OK) {
        fprintf(stderr, "synctop-bench: opening session '%s': %s\n", session_name, st_error_detail());
        session_table = NULL;
        return NULL;
    }
    return session_table;
}

/* Remove the session (if one was made) and check /dev/shm. 0 when clean. */
static int bench_session_remove(void)
{
    if (!session_name[0])
        return 0;
    if (session_table) {
        st_process_unregister(session_table);
        st_table_close(session_table);
        session_table = NULL;
    }
    st_result r = st_session_remove(session_name, true);
    if (r != ST_OK && r != ST_ENOENT) {
        fprintf(stderr, "synctop-bench: removing session '%s': %s\n", session_name, st_error_detail());
        unlink(session_shm_path);
    }
    /* The session's segment and any of its data segments ("<name>.xxx"):
     * whatever is left is a leak; report it, then remove it. */
    const char *base = strrchr(session_shm_path, '/') + 1;
    size_t len = strlen(base);
    int left = 0;
    DIR *dir = opendir("/dev/shm");
    for (struct dirent *e; dir && (e = readdir(dir)) != NULL;) {
        if (strncmp(e->d_name, base, len) != 0 || (e->d_name[len] != '\0' && e->d_name[len] != '.'))
            continue;
        fprintf(stderr, "synctop-bench: /dev/shm/%s is still there after removing the session\n", e->d_name);
        char path[512];
        snprintf(path, sizeof path, "/dev/shm/%s", e->d_name);
        unlink(path);
        left++;
    }
    if (dir)
        closedir(dir);
    return left ? 1 : 0;
}

/* ---- measuring ------------------------------------------------------------ */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *values, int n)
{
    double sorted[REPS];
    memcpy(sorted, values, (size_t)n * sizeof *values);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_double);
    return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

#define MAX_RESULTS 64
static struct {
    const char *name;
    double value;
} results[MAX_RESULTS];
static int result_count;

static void report(const char *name, double value)
{
    printf("%s %.2f\n", name, value);
    fflush(stdout);
    if (result_count < MAX_RESULTS) {
        results[result_count].name = name;
        results[result_count].value = value;
        result_count++;
    }
}

/* A MAP_SHARED anonymous mapping (inherited across fork), zeroed. */
static void *shared_alloc(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("synctop-bench: mmap");
        return NULL;
    }
    return p;
}

/* The baseline: a bare process-shared robust mutex (default type). */
static int raw_mutex_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    int rc = pthread_mutex_init(m, &attr);
    pthread_mutexattr_destroy(&attr);
    if (rc != 0)
        fprintf(stderr, "synctop-bench: pthread_mutex_init: %s\n", strerror(rc));
    return rc;
}

static st_lock *bench_lock_open(const char *name)
{
    st_table *table = bench_session();
    if (!table)
        return NULL;
    st_lock *lock = NULL;
    if (st_lock_open(table, name, &lock) != ST_OK) {
        fprintf(stderr, "synctop-bench: st_lock_open(%s): %s\n", name, st_error_detail());
        return NULL;
    }
    return lock;
}

/* ---- uncontended pairs, raw against instrumented ----------------------------- */

/* n acquire+release pairs on object; non-zero when one failed. */
typedef int (*pairs_fn)(void *object, long n);

/* Median ns per pair of raw(raw_object) and of instrumented(inst_object),
 * n pairs per repetition after an untimed warm-up of n / 4 each. Each
 * repetition alternates CHUNKS slices of raw and instrumented pairs (in turn
 * raw-first and instrumented-first), so a neighbour's load that comes and
 * goes within a repetition lands on both sides alike. Returns 0; 1 when a
 * pair failed; -1 when interrupted. */
static int interleaved_medians(pairs_fn raw, void *raw_object, pairs_fn inst, void *inst_object, long n,
                               double *raw_median, double *inst_median)
{
    /* Warm-up: page faults, the process's registration, caches, frequency. */
    if (raw(raw_object, n / 4) || inst(inst_object, n / 4))
        return 1;
    enum { CHUNKS = 8 };
    long chunk = n / CHUNKS;
    double raw_ns[REPS], inst_ns[REPS];
    for (int rep = 0; rep < REPS; rep++) {
        if (interrupted)
            return -1;
        uint64_t raw_total = 0, inst_total = 0;
        for (int c = 0; c < 2 * CHUNKS; c++) {
            bool raw_turn = (c + rep) % 2 == 0;
            uint64_t t0 = now_ns();
            if (raw_turn ? raw(raw_object, chunk) : inst(inst_object, chunk))
                return 1;
            uint64_t t1 = now_ns();
            *(raw_turn ? &raw_total : &inst_total) += t1 - t0;
        }
        raw_ns[rep] = (double)raw_total / (double)(chunk * CHUNKS);
        inst_ns[rep] = (double)inst_total / (double)(chunk * CHUNKS);
    }
    *raw_median = median(raw_ns, REPS);
    *inst_median = median(inst_ns, REPS);
    return 0;
}

/* ---- lock, uncontended ------------------------------------------------------ */

static __attribute__((noinline)) int raw_pairs(void *object, long n)
{
    pthread_mutex_t *m = object;
    for (long i = 0; i < n; i++) {
        if (__builtin_expect(pthread_mutex_lock(m) != 0, 0))
            return 1;
        pthread_mutex_unlock(m);
    }
    return 0;
}

static __attribute__((noinline)) int st_pairs(void *object, long n)
{
    st_lock *lock = object;
    for (long i = 0; i < n; i++) {
        if (__builtin_expect(st_lock_acquire(lock, ST_FOREVER) != ST_OK, 0))
            return 1;
        st_lock_release(lock);
    }
    return 0;
}

static int bench_lock_uncontended(void)
{
    pthread_mutex_t *m = shared_alloc(4096);
    st_lock *lock = bench_lock_open("bench-uncontended");
    st_lock *traced = bench_lock_open("bench-uncontended-traced");
    int status = 1;
    if (!m || !lock || !traced || raw_mutex_init(m) != 0)
        goto out;
    double raw_ns, st_ns;
    int measured = interleaved_medians(raw_pairs, m, st_pairs, lock, cfg.uncontended_pairs, &raw_ns, &st_ns);
    if (measured < 0)
        goto out;
    if (measured > 0)
        goto failed;
    report("lock_uncontended_ns_raw", raw_ns);
    report("lock_uncontended_ns", st_ns);
    report("lock_uncontended_ratio", st_ns / raw_ns);
    /* The same with the lock traced (each operation also written to the
     * session's event ring), as synctop-demo's lessons are by default. */
    if (st_trace_set(bench_session(), "bench-uncontended-traced", true) != ST_OK)
        goto failed;
    measured = interleaved_medians(raw_pairs, m, st_pairs, traced, cfg.uncontended_pairs, &raw_ns, &st_ns);
    if (measured < 0)
        goto out;
    if (measured > 0)
        goto failed;
    report("lock_uncontended_traced_ns_raw", raw_ns);
    report("lock_uncontended_traced_ns", st_ns);
    report("lock_uncontended_traced_ratio", st_ns / raw_ns);
    status = 0;
    goto out;
failed:
    fprintf(stderr, "synctop-bench: lock_uncontended: an acquire failed: %s\n", st_error_detail());
out:
    st_lock_close(traced);
    st_lock_close(lock);
    if (m) {
        pthread_mutex_destroy(m);
        munmap(m, 4096);
    }
    return status;
}

/* ---- lock, contended: 2 processes, one shared counter ----------------------- */

#define CONTENDERS 2

/* In a MAP_SHARED mapping; each part on its own cache line. */
struct contended_shared {
    pthread_mutex_t mutex __attribute__((aligned(64)));  /* the raw baseline */
    volatile uint64_t counter __attribute__((aligned(64)));
    unsigned ready __attribute__((aligned(64)));          /* children at the start line */
    unsigned go;                                          /* set by the parent: start */
    uint64_t end_ns[CONTENDERS] __attribute__((aligned(64)));
    uint64_t handoffs[CONTENDERS];                        /* see counter_step() */
};

/* Spin (not yield) at the start line: two runnable spinners are what makes
 * the scheduler put the contenders on different CPUs before the start (see
 * contended_rep), without pinning them. */
static void child_wait_for_go(struct contended_shared *s)
{
    __atomic_fetch_add(&s->ready, 1u, __ATOMIC_ACQ_REL);
    while (!__atomic_load_n(&s->go, __ATOMIC_ACQUIRE))
        cpu_relax();
}

/* The critical section: increment the shared counter, and note (in a
 * register, no extra shared access) whether the other process incremented
 * it since we last did - that is, whether the lock changed hands. How often
 * it does is the scheduler's choice and drives the cost per operation, so
 * it is reported next to the figures. */
static inline void counter_step(struct contended_shared *s, uint64_t *last, uint64_t *handoffs)
{
    uint64_t c = s->counter;
    s->counter = c + 1;
    *handoffs += c != *last;
    *last = c + 1;
}

static __attribute__((noinline)) int raw_counter_loop(struct contended_shared *s, int id, long n)
{
    uint64_t last = 0, handoffs = 0;
    for (long i = 0; i < n; i++) {
        if (__builtin_expect(pthread_mutex_lock(&s->mutex) != 0, 0))
            return 1;
        counter_step(s, &last, &handoffs);
        pthread_mutex_unlock(&s->mutex);
    }
    s->handoffs[id] = handoffs;
    return 0;
}

static __attribute__((noinline)) int st_counter_loop(struct contended_shared *s, st_lock *lock, int id, long n)
{
    uint64_t last = 0, handoffs = 0;
    for (long i = 0; i < n; i++) {
        if (__builtin_expect(st_lock_acquire(lock, ST_FOREVER) != ST_OK, 0))
            return 1;
        counter_step(s, &last, &handoffs);
        st_lock_release(lock);
    }
    s->handoffs[id] = handoffs;
    return 0;
}

/* The child: warm up (untimed, outside the counter), wait for the start,
 * run n iterations, record its end time. */
static int contended_child(struct contended_shared *s, st_lock *lock, int id, long n)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    int failed;
    pthread_mutex_t warm;
    if (lock) {
        /* registers this (forked) process in the session */
        failed = st_lock_acquire(lock, ST_FOREVER) != ST_OK || st_lock_release(lock) != ST_OK;
    } else {
        failed = raw_mutex_init(&warm) != 0 || pthread_mutex_lock(&warm) != 0 || pthread_mutex_unlock(&warm) != 0;
    }
    child_wait_for_go(s);
    if (!failed)
        failed = lock ? st_counter_loop(s, lock, id, n) : raw_counter_loop(s, id, n);
    s->end_ns[id] = now_ns();
    if (failed)
        fprintf(stderr, "synctop-bench: contender %d: an acquire failed: %s\n", id,
                lock ? st_error_detail() : "pthread_mutex_lock");
    if (lock)
        st_process_unregister(session_table);
    return failed;
}

/* One repetition: fork CONTENDERS children, start them together, reap them.
 * Returns ns per operation (wall time / total operations), or -1; sets
 * *ops_per_handoff to operations per change of hands. */
static double contended_rep(struct contended_shared *s, st_lock *lock, long n, double *ops_per_handoff)
{
    s->counter = 0;
    s->ready = 0;
    s->go = 0;
    pid_t pids[CONTENDERS];
    int started = 0, failed = 0;
    fflush(NULL);
    for (; started < CONTENDERS; started++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("synctop-bench: fork");
            failed = 1;
            break;
        }
        if (pid == 0)
            _exit(contended_child(s, lock, started, n));
        pids[started] = pid;
    }
    uint64_t t0 = 0;
    if (!failed) {
        /* A child that dies before the start line never arrives: give up
         * after 10 s rather than wait forever. */
        uint64_t limit = now_ns() + 10000000000ull;
        while (__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE) < CONTENDERS && !failed) {
            sched_yield();
            if (now_ns() > limit) {
                fprintf(stderr, "synctop-bench: the contenders did not start within 10 s\n");
                failed = 1;
            }
        }
    }
    if (!failed) {
        /* Sleep a moment so the spinning children spread over the CPUs (an
         * idle CPU pulls a runnable one); started on one CPU they would run
         * in turn, one time slice each, and never contend. */
        struct timespec settle = { 0, 2000000 };
        nanosleep(&settle, NULL);
        t0 = now_ns();
        __atomic_store_n(&s->go, 1u, __ATOMIC_RELEASE);
    } else {
        for (int i = 0; i < started; i++)
            kill(pids[i], SIGKILL);
        __atomic_store_n(&s->go, 1u, __ATOMIC_RELEASE);
    }
    for (int i = 0; i < started; i++) {
        int status;
        while (waitpid(pids[i], &status, 0) < 0) {
            if (errno != EINTR) {
                perror("synctop-bench: waitpid");
                status = 1;
                break;
            }
        }
        if (!failed && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            if (!interrupted)  /* after ^C the children die of it too: not news */
                fprintf(stderr, "synctop-bench: contender %d (pid %d) failed (status 0x%x)\n", i,
                        (int)pids[i], (unsigned)status);
            failed = 1;
        }
    }
    if (lock) {
        uint32_t reclaimed;
        st_table_reclaim_dead(session_table, &reclaimed);
    }
    if (failed)
        return -1;
    uint64_t expected = (uint64_t)CONTENDERS * (uint64_t)n;
    if (s->counter != expected) {
        fprintf(stderr, "synctop-bench: %s: counter is %llu, expected %llu: the lock let two holders in\n",
                lock ? "st_lock" : "raw mutex", (unsigned long long)s->counter, (unsigned long long)expected);
        return -1;
    }
    uint64_t end = 0;
    for (int i = 0; i < CONTENDERS; i++)
        if (s->end_ns[i] > end)
            end = s->end_ns[i];
    uint64_t handoffs = 0;
    for (int i = 0; i < CONTENDERS; i++)
        handoffs += s->handoffs[i];
    *ops_per_handoff = (double)expected / (double)(handoffs ? handoffs : 1);
    return (double)(end - t0) / (double)expected;
}

/* A repetition in which the lock changed hands less often than this did not
 * measure contention: the two processes ran one after the other (one CPU
 * busy elsewhere, or both children on one CPU), one time slice each. */
#define CONTENDED_MAX_OPS_PER_HANDOFF 1000.0
#define CONTENDED_ATTEMPTS 4

/* One contended measurement, repeated (up to CONTENDED_ATTEMPTS times) while
 * the contenders did not overlap; the last attempt counts regardless.
 * Returns 0, or -1 on failure; *skipped counts the attempts thrown away. */
static int contended_measure(struct contended_shared *s, st_lock *lock, long n, double *ns, double *run,
                             int *skipped)
{
    for (int attempt = 0; attempt < CONTENDED_ATTEMPTS && !interrupted; attempt++) {
        if ((*ns = contended_rep(s, lock, n, run)) < 0)
            return -1;
        if (*run <= CONTENDED_MAX_OPS_PER_HANDOFF)
            return 0;
        if (attempt + 1 < CONTENDED_ATTEMPTS)
            (*skipped)++;
    }
    return 0;
}

static int bench_lock_contended(void)
{
    struct contended_shared *s = shared_alloc(sizeof *s);
    st_lock *lock = bench_lock_open("bench-contended");
    int status = 1;
    if (!s || !lock || raw_mutex_init(&s->mutex) != 0)
        goto out;
    long n = cfg.contended_per_child;
    /* Warm-up repetitions, a quarter the size, untimed. */
    double raw[REPS], st[REPS], raw_run[REPS], st_run[REPS];
    if (contended_rep(s, NULL, n / 4, raw_run) < 0 || contended_rep(s, lock, n / 4, st_run) < 0)
        goto out;
    int skipped = 0;
    for (int rep = 0; rep < REPS && !interrupted; rep++) {
        /* alternate which goes first, so neither always follows the other */
        bool raw_first = rep % 2 == 0;
        if ((raw_first && contended_measure(s, NULL, n, &raw[rep], &raw_run[rep], &skipped) < 0) ||
            contended_measure(s, lock, n, &st[rep], &st_run[rep], &skipped) < 0 ||
            (!raw_first && contended_measure(s, NULL, n, &raw[rep], &raw_run[rep], &skipped) < 0))
            goto out;
    }
    if (interrupted)
        goto out;
    double raw_ns = median(raw, REPS), st_ns = median(st, REPS);
    report("lock_contended_ns_raw", raw_ns);
    report("lock_contended_ns", st_ns);
    report("lock_contended_ratio", st_ns / raw_ns);
    /* Context, not figures: how often the lock changed hands drives the cost
     * per operation (each change may be a futex sleep and wake-up). */
    double raw_run_median = median(raw_run, REPS), st_run_median = median(st_run, REPS);
    printf("# lock_contended: the lock changed hands every %.0f operations (raw), %.0f (synctop) (medians); "
           "%d non-overlapping attempt%s retried\n",
           raw_run_median, st_run_median, skipped, skipped == 1 ? "" : "s");
    if (raw_run_median > CONTENDED_MAX_OPS_PER_HANDOFF || st_run_median > CONTENDED_MAX_OPS_PER_HANDOFF)
        printf("# lock_contended: warning: the contenders hardly overlapped (a busy machine?); "
               "the contended figures mean little in this run\n");
    status = 0;
out:
    st_lock_close(lock);
    if (s) {
        pthread_mutex_destroy(&s->mutex);
        munmap(s, sizeof *s);
    }
    return status;
}

/* ---- semaphore, uncontended --------------------------------------------------- */

static __attribute__((noinline)) int raw_sem_pairs(void *object, long n)
{
    sem_t *sem = object;
    for (long i = 0; i < n; i++) {
        if (__builtin_expect(sem_wait(sem) != 0, 0))
            return 1;
        sem_post(sem);
    }
    return 0;
}

static __attribute__((noinline)) int st_sem_pairs(void *object, long n)
{
    st_semaphore *sem = object;
    for (long i = 0; i < n; i++) {
        if (__builtin_expect(st_semaphore_acquire(sem, ST_FOREVER) != ST_OK, 0))
            return 1;
        st_semaphore_release(sem);
    }
    return 0;
}

/* st_semaphore acquire+release against sem_wait+sem_post on a process-shared
 * sem_t in a MAP_SHARED mapping, interleaved in slices as the lock's. */
static int bench_sem_uncontended(void)
{
    sem_t *raw = shared_alloc(4096);
    st_table *table = bench_session();
    st_semaphore *sem = NULL;
    int status = 1;
    if (!raw || !table)
        goto out;
    if (sem_init(raw, 1, 1) != 0) {
        perror("synctop-bench: sem_init");
        goto out;
    }
    if (st_semaphore_open(table, "bench-sem-uncontended", 1, &sem) != ST_OK) {
        fprintf(stderr, "synctop-bench: st_semaphore_open: %s\n", st_error_detail());
        goto out;
    }
    double raw_median, st_median;
    int measured = interleaved_medians(raw_sem_pairs, raw, st_sem_pairs, sem, cfg.uncontended_pairs,
                                       &raw_median, &st_median);
    if (measured < 0)
        goto out;
    if (measured > 0)
        goto failed;
    report("sem_uncontended_ns_raw", raw_median);
    report("sem_uncontended_ns", st_median);
    report("sem_uncontended_ratio", st_median / raw_median);
    status = 0;
    goto out;
failed:
    fprintf(stderr, "synctop-bench: sem_uncontended: an acquire failed: %s\n", st_error_detail());
out:
    st_semaphore_close(sem);
    if (raw) {
        sem_destroy(raw);
        munmap(raw, 4096);
    }
    return status;
}

/* ---- queue and pipe: 64-byte messages between processes ------------------------ */

/* st_queue against the floor every Unix programmer knows: a pipe(2) with
 * one 64-byte write() and read() per message. Producers and consumers are
 * forked processes started together; the clock runs from the start line to
 * the last consumer's last message (queue: an empty "stop" message that the
 * last producer to finish puts once per consumer; pipe: end of file). */

#define MSG_BYTES 64
#define MSG_MAX_WORKERS 8
#define MSG_QUEUE_CAPACITY 1024

struct msg_shared {
    unsigned ready __attribute__((aligned(64)));  /* children at the start line */
    unsigned go;                                  /* set by the parent: start */
    unsigned producers_done __attribute__((aligned(64)));
    uint64_t end_ns[MSG_MAX_WORKERS] __attribute__((aligned(64)));
    uint64_t received[MSG_MAX_WORKERS];
};

struct msg_run {
    st_queue *queue;        /* NULL: a pipe(2) */
    int fds[2];
    int producers;
    int consumers;
    long per_producer;
};

static int msg_produce(struct msg_shared *s, const struct msg_run *run, int id)
{
    uint8_t buf[MSG_BYTES];
    memset(buf, id + 1, sizeof buf);
    for (long i = 0; i < run->per_producer; i++) {
        if (run->queue) {
            if (__builtin_expect(st_queue_put(run->queue, buf, sizeof buf, ST_FOREVER) != ST_OK, 0))
                return 1;
        } else if (__builtin_expect(write(run->fds[1], buf, sizeof buf) != (ssize_t)sizeof buf, 0)) {
            return 1;
        }
    }
    /* The last producer tells every consumer to stop (after all data: FIFO). */
    if (run->queue && __atomic_add_fetch(&s->producers_done, 1u, __ATOMIC_ACQ_REL) == (unsigned)run->producers)
        for (int c = 0; c < run->consumers; c++)
            if (st_queue_put(run->queue, NULL, 0, ST_FOREVER) != ST_OK)
                return 1;
    return 0;
}

static int msg_consume(struct msg_shared *s, const struct msg_run *run, int id)
{
    uint8_t buf[MSG_BYTES];
    uint64_t received = 0;
    for (;;) {
        if (run->queue) {
            size_t length;
            if (__builtin_expect(st_queue_get(run->queue, buf, sizeof buf, &length, ST_FOREVER) != ST_OK, 0))
                return 1;
            if (length == 0)
                break;
            received++;
        } else {
            ssize_t n = read(run->fds[0], buf, sizeof buf);
            if (n == 0)
                break;
            if (n < 0 && errno != EINTR)
                return 1;
            received += n > 0 ? (uint64_t)n : 0;  /* bytes, divided below */
        }
    }
    s->end_ns[id] = now_ns();
    s->received[id] = run->queue ? received : received / MSG_BYTES;
    return 0;
}

static int msg_child(struct msg_shared *s, const struct msg_run *run, int id)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    bool producer = id < run->producers;
    if (!run->queue)
        close(producer ? run->fds[0] : run->fds[1]);
    else
        st_process_register(session_table, producer ? "bench-producer" : "bench-consumer", NULL);
    __atomic_fetch_add(&s->ready, 1u, __ATOMIC_ACQ_REL);
    while (!__atomic_load_n(&s->go, __ATOMIC_ACQUIRE))
        cpu_relax();
    int failed = producer ? msg_produce(s, run, id) : msg_consume(s, run, id);
    if (failed)
        fprintf(stderr, "synctop-bench: %s %d failed: %s\n", producer ? "producer" : "consumer", id,
                run->queue ? st_error_detail() : strerror(errno));
    if (run->queue)
        st_process_unregister(session_table);
    return failed;
}

/* One repetition: messages per second, or -1. */
static double msg_rep(struct msg_shared *s, struct msg_run *run)
{
    memset(s, 0, sizeof *s);
    if (!run->queue && pipe(run->fds) < 0) {
        perror("synctop-bench: pipe");
        return -1;
    }
    int workers = run->producers + run->consumers;
    pid_t pids[MSG_MAX_WORKERS];
    int started = 0, failed = 0;
    fflush(NULL);
    for (; started < workers; started++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("synctop-bench: fork");
            failed = 1;
            break;
        }
        if (pid == 0)
            _exit(msg_child(s, run, started));
        pids[started] = pid;
    }
    if (!run->queue) {
        close(run->fds[0]);
        close(run->fds[1]);
    }
    uint64_t limit = now_ns() + 10000000000ull;
    while (!failed && __atomic_load_n(&s->ready, __ATOMIC_ACQUIRE) < (unsigned)workers) {
        sched_yield();
        if (now_ns() > limit) {
            fprintf(stderr, "synctop-bench: the message workers did not start within 10 s\n");
            failed = 1;
        }
    }
    if (failed)
        for (int i = 0; i < started; i++)
            kill(pids[i], SIGKILL);
    /* Let the spinning children spread over the CPUs (see contended_rep). */
    struct timespec settle = { 0, 2000000 };
    nanosleep(&settle, NULL);
    uint64_t t0 = now_ns();
    __atomic_store_n(&s->go, 1u, __ATOMIC_RELEASE);
    for (int i = 0; i < started; i++) {
        int status;
        while (waitpid(pids[i], &status, 0) < 0) {
            if (errno != EINTR) {
                status = 1;
                break;
            }
        }
        if (!failed && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            fprintf(stderr, "synctop-bench: message worker %d failed (status 0x%x)\n", i, (unsigned)status);
            failed = 1;
        }
    }
    if (failed)
        return -1;
    uint64_t expected = (uint64_t)run->producers * (uint64_t)run->per_producer, received = 0, end = 0;
    for (int c = run->producers; c < workers; c++) {
        received += s->received[c];
        if (s->end_ns[c] > end)
            end = s->end_ns[c];
    }
    if (received != expected) {
        fprintf(stderr, "synctop-bench: %s: %llu messages received, %llu sent\n", run->queue ? "queue" : "pipe",
                (unsigned long long)received, (unsigned long long)expected);
        return -1;
    }
    return (double)expected / ((double)(end - t0) / 1e9);
}

static st_queue *bench_queue_open(const char *name)
{
    st_table *table = bench_session();
    if (!table)
        return NULL;
    st_queue *queue = NULL;
    if (st_queue_open(table, name, MSG_QUEUE_CAPACITY, MSG_BYTES, &queue) != ST_OK) {
        fprintf(stderr, "synctop-bench: st_queue_open(%s): %s\n", name, st_error_detail());
        return NULL;
    }
    return queue;
}

static int bench_queue(void)
{
    struct msg_shared *s = shared_alloc(sizeof *s);
    st_queue *one = bench_queue_open("bench-queue-1p1c");
    st_queue *four = bench_queue_open("bench-queue-4p4c");
    int status = 1;
    if (!s || !one || !four)
        goto out;
    long n = cfg.queue_messages;
    struct msg_run queue_1p1c = { one, { -1, -1 }, 1, 1, n };
    struct msg_run pipe_1p1c = { NULL, { -1, -1 }, 1, 1, n };
    struct msg_run queue_4p4c = { four, { -1, -1 }, 4, 4, n / 4 };
    /* Warm-up repetitions, untimed. */
    struct msg_run warm_queue = queue_1p1c, warm_pipe = pipe_1p1c;
    warm_queue.per_producer = warm_pipe.per_producer = n / 4;
    if (msg_rep(s, &warm_queue) < 0 || msg_rep(s, &warm_pipe) < 0)
        goto out;
    double queue_rate[REPS], pipe_rate[REPS], four_rate[REPS];
    for (int rep = 0; rep < REPS && !interrupted; rep++) {
        bool queue_first = rep % 2 == 0;
        if ((queue_first && (queue_rate[rep] = msg_rep(s, &queue_1p1c)) < 0) ||
            (pipe_rate[rep] = msg_rep(s, &pipe_1p1c)) < 0 ||
            (!queue_first && (queue_rate[rep] = msg_rep(s, &queue_1p1c)) < 0) ||
            (four_rate[rep] = msg_rep(s, &queue_4p4c)) < 0)
            goto out;
    }
    if (interrupted)
        goto out;
    double queue_median = median(queue_rate, REPS), pipe_median = median(pipe_rate, REPS);
    report("queue_1p1c_msgs_per_s", queue_median);
    report("pipe_1p1c_msgs_per_s", pipe_median);
    report("queue_vs_pipe_ratio", queue_median / pipe_median);
    report("queue_4p4c_msgs_per_s", median(four_rate, REPS));
    status = 0;
out:
    st_queue_close(one);
    st_queue_close(four);
    if (s)
        munmap(s, sizeof *s);
    return status;
}

/* ---- the viewer (bench_viewer.c) ------------------------------------------- */

static bool quick_run(void)
{
    return cfg.uncontended_pairs < 2000000;
}

static int bench_model_refresh(void)
{
    return bench_viewer_model_refresh(report, quick_run());
}

static int bench_dashboard_cpu(void)
{
    return bench_viewer_dashboard_cpu(report, quick_run());
}

/* ---- the table of benchmarks and targets ------------------------------------ */

static const struct bench {
    const char *prefix;     /* every figure it reports starts with this */
    int (*run)(void);
    const char *what;
} benches[] = {
    { "queue", bench_queue, "st_queue vs pipe(2), 64-byte messages: 1 producer + 1 consumer; and 4 + 4 (also pipe_*)" },
    { "lock_uncontended", bench_lock_uncontended, "st_lock acquire+release vs a bare robust mutex, one process; also traced" },
    { "lock_contended", bench_lock_contended, "2 processes incrementing one counter under the lock" },
    { "sem_uncontended", bench_sem_uncontended, "st_semaphore acquire+release vs a pshared sem_t, one process" },
    { "model_refresh", bench_model_refresh, "one snapshot + /proc sample + model update: 1000 processes, 10,000 objects" },
    { "dashboard_cpu", bench_dashboard_cpu, "CPU used by the synctop dashboard over 30 s at the default refresh, race + queue lessons running" },
};

static const struct target {
    const char *name;
    double max;             /* met when value <= max */
} targets[] = {
    { "lock_uncontended_ratio", 1.3 },
    { "lock_contended_ratio", 1.5 },
    { "sem_uncontended_ratio", 1.3 },
    { "model_refresh_ms_1000p_10000o", 20.0 },
    { "dashboard_cpu_percent", 1.0 },
};

/* Figures that must reach at least a value (throughput ratios). */
static const struct target min_targets[] = {
    { "queue_vs_pipe_ratio", 2.0 },  /* the max field holds the minimum here */
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool selected(const char *prefix)
{
    if (!cfg.only)
        return true;
    size_t lp = strlen(prefix), lo = strlen(cfg.only);
    /* "--only lock" runs both lock groups; "--only lock_contended_ratio"
     * runs the group that reports it. */
    return strncmp(prefix, cfg.only, lo < lp ? lo : lp) == 0;
}

static int print_targets(void)
{
    int missed = 0;
    bool header = false;
    for (size_t t = 0; t < COUNT(targets); t++) {
        for (int r = 0; r < result_count; r++) {
            if (strcmp(results[r].name, targets[t].name) != 0)
                continue;
            if (!header) {
                printf("# targets (ratios against the baseline measured in this run):\n");
                header = true;
            }
            bool met = results[r].value <= targets[t].max;
            missed += !met;
            printf("# %s target <= %.1f: %s (%.2f)\n", targets[t].name, targets[t].max,
                   met ? "met" : "NOT met", results[r].value);
        }
    }
    for (size_t t = 0; t < COUNT(min_targets); t++) {
        for (int r = 0; r < result_count; r++) {
            if (strcmp(results[r].name, min_targets[t].name) != 0)
                continue;
            if (!header) {
                printf("# targets (ratios against the baseline measured in this run):\n");
                header = true;
            }
            bool met = results[r].value >= min_targets[t].max;
            missed += !met;
            printf("# %s target >= %.1f: %s (%.2f)\n", min_targets[t].name, min_targets[t].max,
                   met ? "met" : "NOT met", results[r].value);
        }
    }
    return missed;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: synctop-bench [--quick] [--only PREFIX] [--help]\n"
            "Prints one 'name value' line per figure (median of %d repetitions;\n"
            "ratios against a baseline measured in the same run), then '#' lines\n"
            "stating each target and whether it was met.\n"
            "  --quick        fewer iterations (a smoke run; rough figures)\n"
            "  --only PREFIX  run only the groups whose figures start with PREFIX\n"
            "  --help         this text\n"
            "groups:\n",
            REPS);
    for (size_t i = 0; i < COUNT(benches); i++)
        fprintf(out, "  %-18s %s\n", benches[i].prefix, benches[i].what);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            cfg.uncontended_pairs = 200000;
            cfg.contended_per_child = 50000;
            cfg.queue_messages = 200000;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            cfg.only = argv[++i];
        } else if (strncmp(argv[i], "--only=", 7) == 0) {
            cfg.only = argv[i] + 7;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "synctop-bench: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    int ran = 0;
    for (size_t i = 0; i < COUNT(benches); i++)
        ran += selected(benches[i].prefix);
    if (ran == 0) {
        fprintf(stderr, "synctop-bench: no benchmark matches '%s'\n", cfg.only);
        usage(stderr);
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    printf("# synctop-bench: median of %d repetitions; %ld lock pairs (uncontended), %d x %ld iterations "
           "(contended)%s\n",
           REPS, cfg.uncontended_pairs, CONTENDERS, cfg.contended_per_child,
           cfg.uncontended_pairs < 2000000 ? "; --quick: rough figures" : "");
    fflush(stdout);
    int status = 0;
    for (size_t i = 0; i < COUNT(benches) && !interrupted; i++) {
        if (selected(benches[i].prefix) && benches[i].run() != 0) {
            status = 1;
            break;
        }
    }
    if (status == 0 && !interrupted)
        print_targets();
    if (bench_session_remove() != 0 && status == 0)
        status = 1;
    if (interrupted) {
        fprintf(stderr, "synctop-bench: interrupted; session removed\n");
        return 128 + interrupted;
    }
    return status;
}
