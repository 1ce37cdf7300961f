/* preload_workload.c - unmodified C programs for tests/test_preload.c: they
 * use process-shared pthread mutexes, condition variables and POSIX
 * semaphores (named and unnamed) across processes, and know nothing of
 * synctop. The test runs them with LD_PRELOAD=libsynctop-preload.so and
 * reads what the session shows.
 *
 * Each workload makes the contention it is about certain: the parent takes
 * the lock (or every unit) first, forks the children, and lets go only when
 * the file GO exists, which the test creates once it has seen every child
 * blocked. Children die with their parent (PR_SET_PDEATHSIG), so a test
 * that kills the workload leaves nothing behind.
 *
 *   mutex PROCS ITERS GO         pshared mutex in fork-shared memory
 *   mutex-file PATH PROCS ITERS GO   one mutex in a file, children exec'd
 *                                (unrelated processes, other addresses)
 *   cond PROCS GO                waiters on a pshared condvar, one broadcast
 *   sem-named NAME PROCS ITERS GO    sem_open'd semaphore(2); children exec'd
 *   sem-unnamed PROCS ITERS GO   sem_init(pshared) semaphore(1), forked children
 *   deadlock READY               two children take two mutexes in opposite orders
 *   private ITERS                only private objects (nothing to watch)
 *   semantics                    results and errnos of edge cases, one per line
 *   maps                         whether libproc2 is mapped into this process
 *   bench ITERS                  ns per uncontended lock + unlock of a pshared mutex
 *
 * Exit status 0 when the workload's own check (a counter) holds.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *self_path;

static void die(const char *what)
{
    fprintf(stderr, "preload_workload: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void *shared_memory(size_t size)
{
    void *memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED)
        die("mmap");
    return memory;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static double now_s(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* Wait (at most 120 s of elapsed time: a deadline for a test that failed,
 * not a delay) until path exists. */
static void wait_for_file(const char *path)
{
    double deadline = now_s() + 120.0;
    while (access(path, F_OK) != 0 && now_s() < deadline)
        sleep_ms(5);   /* a poll interval, not synchronization */
}

static pid_t fork_child(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0)
        prctl(PR_SET_PDEATHSIG, SIGKILL);
    return pid;
}

static int wait_children(int count)
{
    int failures = 0;
    for (int i = 0; i < count; i++) {
        int status;
        if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failures++;
    }
    return failures;
}

/* Lock init: process-shared, with the given type. */
static void shared_mutex_init(pthread_mutex_t *mutex, int type)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_settype(&attr, type);
    if (pthread_mutex_init(mutex, &attr) != 0)
        die("pthread_mutex_init");
    pthread_mutexattr_destroy(&attr);
}

/* ---- mutex ---- */

struct counted {
    pthread_mutex_t mutex;
    long counter;
};

static int count_under_mutex(struct counted *shared, long iterations)
{
    for (long i = 0; i < iterations; i++) {
        if (pthread_mutex_lock(&shared->mutex) != 0)
            return 1;
        shared->counter++;
        if (pthread_mutex_unlock(&shared->mutex) != 0)
            return 1;
    }
    return 0;
}

static int run_mutex(int procs, long iterations, const char *go)
{
    struct counted *shared = shared_memory(sizeof *shared);
    shared_mutex_init(&shared->mutex, PTHREAD_MUTEX_DEFAULT);
    pthread_mutex_lock(&shared->mutex);
    for (int i = 0; i < procs; i++)
        if (fork_child() == 0)
            _exit(count_under_mutex(shared, iterations));
    wait_for_file(go);
    pthread_mutex_unlock(&shared->mutex);
    int failures = wait_children(procs);
    printf("counter %ld\n", shared->counter);
    return failures == 0 && shared->counter == procs * iterations ? 0 : 1;
}

/* ---- mutex-file: unrelated processes map one file ---- */

#define FILE_MUTEX_OFFSET 64

static struct counted *map_file(const char *path, bool create)
{
    int fd = open(path, O_RDWR | (create ? O_CREAT | O_TRUNC : 0), 0600);
    if (fd < 0)
        die(path);
    if (create && ftruncate(fd, 4096) != 0)
        die("ftruncate");
    void *memory = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (memory == MAP_FAILED)
        die("mmap");
    return (struct counted *)(void *)((char *)memory + FILE_MUTEX_OFFSET);
}

static int run_mutex_file_child(const char *path, long iterations)
{
    return count_under_mutex(map_file(path, false), iterations);
}

static int run_mutex_file(const char *path, int procs, long iterations, const char *go)
{
    struct counted *shared = map_file(path, true);
    shared_mutex_init(&shared->mutex, PTHREAD_MUTEX_DEFAULT);
    pthread_mutex_lock(&shared->mutex);
    char iterations_text[32];
    snprintf(iterations_text, sizeof iterations_text, "%ld", iterations);
    for (int i = 0; i < procs; i++) {
        if (fork_child() == 0) {
            execl(self_path, self_path, "mutex-file-child", path, iterations_text, (char *)NULL);
            _exit(127);
        }
    }
    wait_for_file(go);
    pthread_mutex_unlock(&shared->mutex);
    int failures = wait_children(procs);
    printf("counter %ld\n", shared->counter);
    unlink(path);
    return failures == 0 && shared->counter == procs * iterations ? 0 : 1;
}

/* ---- cond ---- */

struct signalled {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int go;
    int woken;
};

static int run_cond(int procs, const char *go)
{
    struct signalled *shared = shared_memory(sizeof *shared);
    shared_mutex_init(&shared->mutex, PTHREAD_MUTEX_DEFAULT);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (pthread_cond_init(&shared->cond, &attr) != 0)
        die("pthread_cond_init");
    for (int i = 0; i < procs; i++) {
        if (fork_child() == 0) {
            pthread_mutex_lock(&shared->mutex);
            while (!shared->go)
                pthread_cond_wait(&shared->cond, &shared->mutex);
            shared->woken++;
            pthread_mutex_unlock(&shared->mutex);
            _exit(0);
        }
    }
    wait_for_file(go);
    pthread_mutex_lock(&shared->mutex);
    shared->go = 1;
    pthread_cond_broadcast(&shared->cond);
    pthread_mutex_unlock(&shared->mutex);
    int failures = wait_children(procs);
    printf("woken %d\n", shared->woken);
    return failures == 0 && shared->woken == procs ? 0 : 1;
}

/* ---- semaphores ---- */

static int take_and_give(sem_t *sem, long iterations)
{
    for (long i = 0; i < iterations; i++) {
        while (sem_wait(sem) != 0)
            if (errno != EINTR)
                return 1;
        if (sem_post(sem) != 0)
            return 1;
    }
    return 0;
}

static int run_sem_named_child(const char *name, long iterations)
{
    sem_t *sem = sem_open(name, 0);
    if (sem == SEM_FAILED)
        die("sem_open");
    int rc = take_and_give(sem, iterations);
    sem_close(sem);
    return rc;
}

static int run_sem_named(const char *name, int procs, long iterations, const char *go)
{
    sem_unlink(name);
    sem_t *sem = sem_open(name, O_CREAT | O_EXCL, 0600, 2);
    if (sem == SEM_FAILED)
        die("sem_open");
    sem_wait(sem);
    sem_wait(sem);                   /* both units: every child will block */
    char iterations_text[32];
    snprintf(iterations_text, sizeof iterations_text, "%ld", iterations);
    for (int i = 0; i < procs; i++) {
        if (fork_child() == 0) {
            execl(self_path, self_path, "sem-named-child", name, iterations_text, (char *)NULL);
            _exit(127);
        }
    }
    wait_for_file(go);
    sem_post(sem);
    sem_post(sem);
    int failures = wait_children(procs);
    int value = -1;
    sem_getvalue(sem, &value);
    printf("value %d\n", value);
    sem_close(sem);
    sem_unlink(name);
    return failures == 0 && value == 2 ? 0 : 1;
}

static int run_sem_unnamed(int procs, long iterations, const char *go)
{
    sem_t *sem = shared_memory(sizeof *sem);
    if (sem_init(sem, 1, 1) != 0)
        die("sem_init");
    sem_wait(sem);
    for (int i = 0; i < procs; i++)
        if (fork_child() == 0)
            _exit(take_and_give(sem, iterations));
    wait_for_file(go);
    sem_post(sem);
    int failures = wait_children(procs);
    int value = -1;
    sem_getvalue(sem, &value);
    printf("value %d\n", value);
    sem_destroy(sem);
    return failures == 0 && value == 1 ? 0 : 1;
}

/* ---- deadlock ---- */

struct two_locks {
    pthread_mutex_t first, second;
};

static int run_deadlock(const char *ready)
{
    struct two_locks *shared = shared_memory(sizeof *shared);
    shared_mutex_init(&shared->first, PTHREAD_MUTEX_DEFAULT);
    shared_mutex_init(&shared->second, PTHREAD_MUTEX_DEFAULT);
    int a_has[2], b_has[2];
    if (pipe(a_has) != 0 || pipe(b_has) != 0)
        die("pipe");
    char byte = 'x';
    if (fork_child() == 0) {
        pthread_mutex_lock(&shared->first);
        if (write(a_has[1], &byte, 1) != 1 || read(b_has[0], &byte, 1) != 1)
            _exit(3);
        pthread_mutex_lock(&shared->second);   /* never returns */
        _exit(4);
    }
    if (fork_child() == 0) {
        pthread_mutex_lock(&shared->second);
        if (write(b_has[1], &byte, 1) != 1 || read(a_has[0], &byte, 1) != 1)
            _exit(3);
        pthread_mutex_lock(&shared->first);
        _exit(4);
    }
    int fd = open(ready, O_WRONLY | O_CREAT, 0600);
    if (fd >= 0)
        close(fd);
    for (;;)
        pause();
}

/* ---- private objects only ---- */

static int run_private(long iterations)
{
    pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
    sem_t sem;
    sem_init(&sem, 0, 1);
    for (long i = 0; i < iterations; i++) {
        pthread_mutex_lock(&mutex);
        pthread_cond_signal(&cond);
        pthread_mutex_unlock(&mutex);
        sem_wait(&sem);
        sem_post(&sem);
    }
    sem_destroy(&sem);
    pthread_cond_destroy(&cond);
    pthread_mutex_destroy(&mutex);
    return 0;
}

/* ---- semantics: what each call returns, with and without the preload ---- */

static void show(const char *what, int rc)
{
    printf("%s rc=%d errno=%s\n", what, rc, rc == -1 ? strerrorname_np(errno) : "-");
}

static void show_code(const char *what, int rc)
{
    printf("%s rc=%s\n", what, rc == 0 ? "0" : strerrorname_np(rc));
}

static int run_semantics(void)
{
    sem_t *sem = shared_memory(sizeof *sem);
    errno = 0;
    show("sem_init", sem_init(sem, 1, 0));
    errno = 12345;
    show("sem_trywait(0)", sem_trywait(sem));
    struct timespec past = { 1, 0 };
    show("sem_timedwait(past)", sem_timedwait(sem, &past));
    struct timespec bad = { 0, -1 };
    show("sem_timedwait(bad)", sem_timedwait(sem, &bad));
    errno = 777;
    show("sem_post", sem_post(sem));
    printf("errno after success %d\n", errno);
    show("sem_wait", sem_wait(sem));
    show("sem_timedwait(bad, free)", (sem_post(sem), sem_timedwait(sem, &bad)));
    int value = -5;
    show("sem_getvalue", sem_getvalue(sem, &value));
    printf("value %d\n", value);
    show("sem_init(too big)", sem_init(sem, 1, 0x80000000u));
    show("sem_open(missing)", sem_open("/synctop-preload-missing-name", 0) == SEM_FAILED ? -1 : 0);
    sem_t *volatile nothing = NULL;
    show("sem_close(NULL)", sem_close(nothing));
    struct timespec now_ts;
    clock_gettime(CLOCK_REALTIME, &now_ts);
    show("sem_clockwait(bad clock, free)", sem_clockwait(sem, CLOCK_PROCESS_CPUTIME_ID, &now_ts));
    show("sem_destroy", sem_destroy(sem));

    pthread_mutex_t *mutex = shared_memory(sizeof *mutex);
    shared_mutex_init(mutex, PTHREAD_MUTEX_ERRORCHECK);
    show_code("errorcheck lock", pthread_mutex_lock(mutex));
    show_code("errorcheck relock", pthread_mutex_lock(mutex));
    show_code("errorcheck trylock", pthread_mutex_trylock(mutex));
    struct timespec soon;
    clock_gettime(CLOCK_REALTIME, &soon);
    show_code("errorcheck timedlock", pthread_mutex_timedlock(mutex, &soon));
    show_code("errorcheck unlock", pthread_mutex_unlock(mutex));
    struct timespec bad_deadline = { 0, 2000000000L };
    show_code("errorcheck timedlock(bad, free)", pthread_mutex_timedlock(mutex, &bad_deadline));
    show_code("errorcheck unlock after", pthread_mutex_unlock(mutex));
    show_code("errorcheck unlock again", pthread_mutex_unlock(mutex));
    pid_t pid = fork_child();
    if (pid == 0) {
        pthread_mutex_lock(mutex);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    show_code("errorcheck held by other (exited)", pthread_mutex_trylock(mutex));

    pthread_mutex_t *recursive = shared_memory(sizeof *recursive);
    shared_mutex_init(recursive, PTHREAD_MUTEX_RECURSIVE);
    show_code("recursive lock", pthread_mutex_lock(recursive));
    show_code("recursive lock 2", pthread_mutex_lock(recursive));
    show_code("recursive unlock", pthread_mutex_unlock(recursive));
    show_code("recursive unlock 2", pthread_mutex_unlock(recursive));
    show_code("recursive unlock 3", pthread_mutex_unlock(recursive));

    pthread_mutex_t *robust = shared_memory(sizeof *robust);
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    show_code("robust init", pthread_mutex_init(robust, &attr));
    pid = fork_child();
    if (pid == 0) {
        pthread_mutex_lock(robust);
        _exit(0);                    /* dies holding it */
    }
    waitpid(pid, NULL, 0);
    show_code("robust lock after death", pthread_mutex_lock(robust));
    show_code("robust consistent", pthread_mutex_consistent(robust));
    show_code("robust unlock", pthread_mutex_unlock(robust));

    pthread_cond_t *cond = shared_memory(sizeof *cond);
    pthread_condattr_t cond_attr;
    pthread_condattr_init(&cond_attr);
    pthread_condattr_setpshared(&cond_attr, PTHREAD_PROCESS_SHARED);
    show_code("cond init", pthread_cond_init(cond, &cond_attr));
    pthread_mutex_t *plain = shared_memory(sizeof *plain);
    shared_mutex_init(plain, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_lock(plain);
    clock_gettime(CLOCK_REALTIME, &soon);
    show_code("cond timedwait(now)", pthread_cond_timedwait(cond, plain, &soon));
    show_code("still held after timedwait", pthread_mutex_lock(plain));
    show_code("cond signal", pthread_cond_signal(cond));
    show_code("cond broadcast", pthread_cond_broadcast(cond));
    show_code("unlock", pthread_mutex_unlock(plain));
    show_code("cond destroy", pthread_cond_destroy(cond));
    return 0;
}

/* ---- maps: is libproc2 here? ---- */

static int run_maps(void)
{
    /* Touch a shared object so that the preload opens its table. */
    pthread_mutex_t *mutex = shared_memory(sizeof *mutex);
    shared_mutex_init(mutex, PTHREAD_MUTEX_DEFAULT);
    pthread_mutex_lock(mutex);
    pthread_mutex_unlock(mutex);
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps)
        die("/proc/self/maps");
    char line[512];
    bool proc2 = false, preload = false;
    while (fgets(line, sizeof line, maps)) {
        proc2 = proc2 || strstr(line, "libproc2") != NULL || strstr(line, "libsystemd") != NULL;
        preload = preload || strstr(line, "libsynctop-preload") != NULL;
    }
    fclose(maps);
    printf("preload %s\nlibproc2 %s\n", preload ? "yes" : "no", proc2 ? "yes" : "no");
    return 0;
}

/* ---- bench: one process, uncontended ---- */

static __attribute__((noinline)) void lock_pairs(pthread_mutex_t *mutex, long n)
{
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(mutex);
        __asm__ __volatile__("" ::: "memory");
        pthread_mutex_unlock(mutex);
    }
}

static int run_bench(long iterations)
{
    pthread_mutex_t *mutex = shared_memory(sizeof *mutex);
    shared_mutex_init(mutex, PTHREAD_MUTEX_DEFAULT);
    lock_pairs(mutex, iterations / 10 + 1);   /* warm up (and register) */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    lock_pairs(mutex, iterations);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
    printf("%.3f\n", ns / (double)iterations);
    return 0;
}

static long number(const char *text)
{
    char *end;
    long value = strtol(text, &end, 10);
    if (*end != '\0' || value < 0) {
        fprintf(stderr, "preload_workload: not a number: %s\n", text);
        exit(2);
    }
    return value;
}

int main(int argc, char **argv)
{
    self_path = argv[0];
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "mutex") == 0 && argc == 5)
        return run_mutex((int)number(argv[2]), number(argv[3]), argv[4]);
    if (strcmp(mode, "mutex-file") == 0 && argc == 6)
        return run_mutex_file(argv[2], (int)number(argv[3]), number(argv[4]), argv[5]);
    if (strcmp(mode, "mutex-file-child") == 0 && argc == 4)
        return run_mutex_file_child(argv[2], number(argv[3]));
    if (strcmp(mode, "cond") == 0 && argc == 4)
        return run_cond((int)number(argv[2]), argv[3]);
    if (strcmp(mode, "sem-named") == 0 && argc == 6)
        return run_sem_named(argv[2], (int)number(argv[3]), number(argv[4]), argv[5]);
    if (strcmp(mode, "sem-named-child") == 0 && argc == 4)
        return run_sem_named_child(argv[2], number(argv[3]));
    if (strcmp(mode, "sem-unnamed") == 0 && argc == 5)
        return run_sem_unnamed((int)number(argv[2]), number(argv[3]), argv[4]);
    if (strcmp(mode, "deadlock") == 0 && argc == 3)
        return run_deadlock(argv[2]);
    if (strcmp(mode, "private") == 0 && argc == 3)
        return run_private(number(argv[2]));
    if (strcmp(mode, "semantics") == 0)
        return run_semantics();
    if (strcmp(mode, "maps") == 0)
        return run_maps();
    if (strcmp(mode, "bench") == 0 && argc == 3)
        return run_bench(number(argv[2]));
    fprintf(stderr, "usage: preload_workload MODE ARGS... (see the top of preload_workload.c)\n");
    return 2;
}
