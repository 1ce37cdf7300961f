/* test_proc_sampler.c - the /proc sampler (collector/proc_sampler.c): system
 * figures against /proc, a process's start time, memory and CPU % against
 * what the kernel says, exited and zombie children, lists longer than one
 * select batch (255) and long enough to switch to a full reap (400), a
 * recycled PID (when ns_last_pid is writable), thread ids, bad arguments. Every child is reaped by test_teardown. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "proc_sampler.h"

/* ---- reading /proc ourselves ---------------------------------------------- */

static bool read_file(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n > 0;
}

/* Field 22 (starttime) of /proc/self/stat, in clock ticks. */
static unsigned long long self_start_ticks(void)
{
    char buf[4096];
    assert_true(read_file("/proc/self/stat", buf, sizeof buf));
    char *p = strrchr(buf, ')');
    assert_non_null(p);
    p += 2;                          /* field 3, the state */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        assert_non_null(p);
        p++;
    }
    return strtoull(p, NULL, 10);
}

/* Resident bytes according to /proc/self/statm. */
static unsigned long long self_statm_rss(void)
{
    char buf[256];
    unsigned long long size = 0, resident = 0;
    assert_true(read_file("/proc/self/statm", buf, sizeof buf));
    assert_int_equal(sscanf(buf, "%llu %llu", &size, &resident), 2);
    return resident * (unsigned long long)sysconf(_SC_PAGESIZE);
}

/* MemTotal of /proc/meminfo, in bytes. */
static unsigned long long meminfo_total(void)
{
    char buf[8192];
    unsigned long long kib = 0;
    assert_true(read_file("/proc/meminfo", buf, sizeof buf));
    char *p = strstr(buf, "MemTotal:");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "MemTotal: %llu kB", &kib), 1);
    return kib * 1024u;
}

/* Number of "cpuN" lines in /proc/stat: the CPUs its totals add up. */
static int stat_cpu_lines(void)
{
    FILE *f = fopen("/proc/stat", "r");
    assert_non_null(f);
    char line[1024];
    int count = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "cpu", 3) == 0 && line[3] >= '0' && line[3] <= '9')
            count++;
    fclose(f);
    return count;
}

static pid_t pid_max(void)
{
    char buf[64];
    assert_true(read_file("/proc/sys/kernel/pid_max", buf, sizeof buf));
    return (pid_t)atol(buf);
}

static bool pid_absent(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    return kill(pid, 0) < 0 && errno == ESRCH && access(path, F_OK) < 0;
}

/* want PIDs that name no process. Prefer free numbers below `below`
 * (PIDs are handed out upwards, so these stay free for the test's duration)
 * so that real PIDs above them land in a later select batch; then numbers
 * above pid_max, which can never name a process. */
static void absent_pids(pid_t below, pid_t *dst, size_t want)
{
    size_t k = 0;
    for (pid_t v = 2; v < below && k < want; v++)
        if (pid_absent(v))
            dst[k++] = v;
    for (pid_t v = pid_max() + 1; k < want; v++)
        dst[k++] = v;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void burn_ms(int ms)
{
    uint64_t end = now_ns() + (uint64_t)ms * 1000000u;
    volatile unsigned long x = 0;
    while (now_ns() < end)
        for (int i = 0; i < 10000; i++)
            x += (unsigned long)i;
}

/* ---- children ------------------------------------------------------------- */

static int child_burn(void *arg)
{
    (void)arg;
    burn_ms(20000);   /* killed long before; bounded in case the parent dies */
    return 0;
}

static int child_sleep(void *arg)
{
    (void)arg;
    test_sleep_ms(30000);   /* a sleeping process, killed long before */
    return 0;
}

static int child_exit(void *arg)
{
    (void)arg;
    return 0;
}

/* ---- fixtures ------------------------------------------------------------- */

static int sampler_setup(void **state)
{
    st_proc_sampler *s = NULL;
    if (st_proc_sampler_new(&s) != ST_OK)
        return -1;
    *state = s;
    return 0;
}

static int sampler_teardown(void **state)
{
    st_proc_sampler_free(*state);
    *state = NULL;
    return test_teardown(state);
}

static st_proc_sample sample_one(st_proc_sampler *s, pid_t pid)
{
    st_proc_sample out;
    assert_int_equal(st_proc_sampler_processes(s, &pid, 1, &out), ST_OK);
    assert_int_equal(out.pid, pid);
    return out;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_system_figures(void **state)
{
    st_proc_sampler *s = *state;
    st_system_view v;
    memset(&v, 0xff, sizeof v);
    assert_int_equal(st_proc_sampler_system(s, &v), ST_OK);

    assert_int_equal(v.cpus, (uint32_t)sysconf(_SC_NPROCESSORS_ONLN));
    assert_true(v.mem_total_bytes == meminfo_total());
    assert_true(v.mem_available_bytes > 0);
    assert_true(v.mem_available_bytes <= v.mem_total_bytes);
    for (int i = 0; i < 3; i++)
        assert_true(v.load[i] >= 0.0);
    assert_true(v.cpu_percent >= 0.0 && v.cpu_percent <= 100.0);

    char buf[128];
    double uptime = 0;
    assert_true(read_file("/proc/uptime", buf, sizeof buf));
    assert_int_equal(sscanf(buf, "%lf", &uptime), 1);
    assert_true(v.uptime_s > 0.0);
    assert_true(v.uptime_s > uptime - 5.0 && v.uptime_s < uptime + 5.0);

    /* Burning one CPU between two calls must show as busy time in that
     * interval: at least a quarter of one CPU's share of the total (a
     * stale or since-boot figure on an idle machine would not). */
    burn_ms(300);
    assert_int_equal(st_proc_sampler_system(s, &v), ST_OK);
    double one_cpu = 100.0 / stat_cpu_lines();
    assert_true(v.cpu_percent >= one_cpu * 0.25);
    assert_true(v.cpu_percent <= 100.0);
}

/* Per-CPU figures: one per cpuN line of /proc/stat, each a share in
 * [0, 100]; burning one CPU shows as a busy CPU among them. */
static void test_per_cpu_figures(void **state)
{
    st_proc_sampler *s = *state;
    st_system_view v;
    assert_int_equal(st_proc_sampler_system(s, &v), ST_OK);
    assert_int_equal(v.per_cpu_count, (uint32_t)stat_cpu_lines());
    burn_ms(300);
    assert_int_equal(st_proc_sampler_system(s, &v), ST_OK);
    assert_int_equal(v.per_cpu_count, (uint32_t)stat_cpu_lines());
    double busiest = 0.0;
    for (uint32_t i = 0; i < v.per_cpu_count; i++) {
        assert_true(v.cpu_percent_per_cpu[i] >= 0.0 && v.cpu_percent_per_cpu[i] <= 100.0);
        if (v.cpu_percent_per_cpu[i] > busiest)
            busiest = v.cpu_percent_per_cpu[i];
    }
    assert_true(busiest >= 25.0);
}

static void test_own_process(void **state)
{
    st_proc_sampler *s = *state;
    pid_t self = getpid();

    st_proc_sample first = sample_one(s, self);
    assert_true(first.found);
    assert_int_equal(first.state, 'R');
    assert_true(first.start_ticks == self_start_ticks());
    assert_false(first.cpu_known);

    unsigned long long statm = self_statm_rss();
    assert_true(first.rss_bytes > 0);
    assert_true(first.rss_bytes >= statm / 2 && first.rss_bytes <= statm * 2);

    burn_ms(50);
    st_proc_sample second = sample_one(s, self);
    assert_true(second.found);
    assert_true(second.cpu_known);
    assert_true(second.start_ticks == first.start_ticks);
    assert_true(second.cpu_percent >= 0.0);
}

static void test_cpu_busy_and_sleeping(void **state)
{
    st_proc_sampler *s = *state;
    pid_t pids[2];
    pids[0] = test_spawn(child_burn, NULL);
    pids[1] = test_spawn(child_sleep, NULL);
    assert_true(pids[0] > 0 && pids[1] > 0);
    assert_true(test_wait_state(pids[1], 'S', TEST_WAIT_MS));   /* the sleeper is asleep */

    st_proc_sample out[2];
    /* The reference: the kernel's own CPU time for the burner over an
     * interval that encloses the sampler's (the machine may be busy, so the
     * burner's share is whatever the scheduler gave it). */
    double cpu_before = test_cpu_seconds(pids[0]), time_before = test_now();
    assert_int_equal(st_proc_sampler_processes(s, pids, 2, out), ST_OK);
    assert_true(out[0].found && out[1].found);
    assert_false(out[0].cpu_known);
    assert_false(out[1].cpu_known);

    /* The interval CPU% is measured over: at least 500 ms, and until the
     * burner has had 150 ms of CPU, however busy the machine. */
    assert_true(test_wait_cpu_time(pids[0], cpu_before + 0.15, time_before + 0.5, TEST_WAIT_MS));
    assert_int_equal(st_proc_sampler_processes(s, pids, 2, out), ST_OK);
    double cpu_after = test_cpu_seconds(pids[0]), time_after = test_now();
    double expected = (cpu_after - cpu_before) / (time_after - time_before) * 100.0;
    assert_true(out[0].found && out[1].found);
    assert_true(out[0].cpu_known && out[1].cpu_known);
    print_message("burner %.1f%% (kernel says %.1f%%), sleeper %.1f%%\n", out[0].cpu_percent, expected,
                  out[1].cpu_percent);
    assert_true(expected > 5.0);
    assert_true(out[0].cpu_percent > expected - 15.0 && out[0].cpu_percent < expected + 15.0);
    assert_true(out[1].cpu_percent < 10.0);
    assert_int_equal(out[1].state, 'S');

    test_kill(pids[0]);
    test_kill(pids[1]);
}

static void test_history_forgets_unlisted(void **state)
{
    st_proc_sampler *s = *state;
    pid_t a = getpid();
    pid_t b = test_spawn(child_sleep, NULL);
    assert_true(b > 0);
    pid_t both[2] = { a, b };
    st_proc_sample out[2];

    assert_int_equal(st_proc_sampler_processes(s, both, 2, out), ST_OK);
    /* Only b: a's history is dropped... */
    assert_true(sample_one(s, b).cpu_known);
    /* ...so a starts over, while b carries on. */
    assert_int_equal(st_proc_sampler_processes(s, both, 2, out), ST_OK);
    assert_false(out[0].cpu_known);
    assert_true(out[1].cpu_known);
    test_kill(b);
}

static void test_dead_pid_not_found(void **state)
{
    st_proc_sampler *s = *state;
    pid_t child = test_spawn(child_exit, NULL);
    assert_true(child > 0);
    assert_int_equal(test_wait(child, 5000), 0);

    st_proc_sample out = sample_one(s, child);
    assert_false(out.found);
    assert_false(out.cpu_known);
    assert_int_equal(out.state, 0);
    assert_true(out.rss_bytes == 0);
}

static void test_zombie(void **state)
{
    st_proc_sampler *s = *state;
    pid_t child = test_spawn(child_exit, NULL);
    assert_true(child > 0);
    /* Wait for the exit without reaping it: the child stays a zombie. */
    siginfo_t info;
    memset(&info, 0, sizeof info);
    assert_int_equal(waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT), 0);

    st_proc_sample out = sample_one(s, child);
    assert_true(out.found);
    assert_int_equal(out.state, 'Z');
    assert_true(out.start_ticks > 0);
    /* teardown reaps it */
}

/* Make the next fork get pid (writing ns_last_pid needs CAP_SYS_ADMIN or
 * CAP_CHECKPOINT_RESTORE). -1 when we may not; another pid when some
 * other fork got there first. */
static pid_t spawn_with_pid(pid_t pid, int (*fn)(void *), void *arg)
{
    FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
    if (!f)
        return -1;
    int ok = fprintf(f, "%d", (int)pid - 1) > 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok)
        return -1;
    return test_spawn(fn, arg);
}

/* A recycled PID is a new process: its CPU % must not be a delta against
 * the previous owner's ticks (pitfall 4). Needs ns_last_pid; else skipped. */
static void test_pid_reuse_starts_over(void **state)
{
    st_proc_sampler *s = *state;
    for (int attempt = 0; attempt < 5; attempt++) {
        /* An idle first owner and a busy second one, so the second's
         * ticks are above the first's and only the start time tells. */
        pid_t first = test_spawn(child_sleep, NULL);
        assert_true(first > 0);
        test_sleep_ms(30);   /* start times at least a few ticks apart */
        st_proc_sample a = sample_one(s, first);
        assert_true(a.found);
        test_kill(first);

        pid_t second = spawn_with_pid(first, child_burn, NULL);
        if (second < 0) {
            print_message("cannot write ns_last_pid: skipped\n");
            skip();
        }
        if (second != first) {
            test_kill(second);
            continue;
        }
        test_sleep_ms(50);   /* not synchronization: the busy new owner gathers ticks */
        st_proc_sample b = sample_one(s, second);
        assert_true(b.found);
        assert_true(b.start_ticks > a.start_ticks);
        assert_false(b.cpu_known);
        /* ...and the new owner does get a figure the next time. */
        assert_true(sample_one(s, second).cpu_known);
        test_kill(second);
        return;
    }
    print_message("pid was never reused: skipped\n");
    skip();
}

/* A list of `distinct` different PIDs (self, a sleeping child, the rest
 * absent) plus `extra` more copies of self, in an interleaved order. */
typedef struct pid_list {
    pid_t *pids;
    size_t n;
    pid_t self;
    pid_t child;
} pid_list;

static pid_list make_list(size_t distinct, size_t extra)
{
    pid_list l;
    l.self = getpid();
    l.child = test_spawn(child_sleep, NULL);
    assert_true(l.child > 0);
    l.n = distinct + extra;
    l.pids = calloc(l.n, sizeof *l.pids);
    assert_non_null(l.pids);
    size_t absent = distinct - 2;
    pid_t below = l.self < l.child ? l.self : l.child;
    absent_pids(below, l.pids, absent);
    /* Interleave: self copies and the child between the absent ones. */
    size_t k = absent;
    l.pids[k++] = l.child;
    for (size_t i = 0; i <= extra; i++)
        l.pids[k++] = l.self;
    assert_int_equal(k, l.n);
    for (size_t i = 0; i < l.n; i += 7) {   /* shuffle deterministically */
        size_t j = (i * 131u + 17u) % l.n;
        pid_t t = l.pids[i];
        l.pids[i] = l.pids[j];
        l.pids[j] = t;
    }
    return l;
}

static void check_list(const pid_list *l, const st_proc_sample *out, unsigned long long start)
{
    size_t selves = 0;
    for (size_t i = 0; i < l->n; i++) {
        assert_int_equal(out[i].pid, l->pids[i]);
        if (l->pids[i] == l->self) {
            assert_true(out[i].found);
            assert_true(out[i].start_ticks == start);
            assert_true(out[i].rss_bytes > 0);
            selves++;
        } else if (l->pids[i] == l->child) {
            assert_true(out[i].found);
            assert_true(out[i].start_ticks >= start);
        } else {
            assert_false(out[i].found);
        }
    }
    assert_true(selves > 1);
}

static void run_long_list(st_proc_sampler *s, size_t distinct, const char *strategy)
{
    pid_list l = make_list(distinct, 100);
    st_proc_sample *out = calloc(l.n, sizeof *out);
    assert_non_null(out);
    unsigned long long start = self_start_ticks();

    assert_int_equal(st_proc_sampler_processes(s, l.pids, l.n, out), ST_OK);
    assert_string_equal(st_proc_sampler_last_strategy(s), strategy);
    check_list(&l, out, start);
    for (size_t i = 0; i < l.n; i++)
        assert_false(out[i].cpu_known);

    /* Second call: every copy of self and the child now has a CPU figure
     * (duplicates are read once, so they do not shadow each other). */
    test_sleep_ms(20);   /* not synchronization: some time between two samples */
    assert_int_equal(st_proc_sampler_processes(s, l.pids, l.n, out), ST_OK);
    check_list(&l, out, start);
    for (size_t i = 0; i < l.n; i++)
        assert_true(out[i].cpu_known == out[i].found);

    free(l.pids);
    free(out);
    test_kill(l.child);
}

static void test_more_than_255_pids(void **state)
{
    run_long_list(*state, 300, "select");
}

static void test_more_than_400_pids(void **state)
{
    run_long_list(*state, 450, "reap");
}

static void test_history_across_strategies(void **state)
{
    st_proc_sampler *s = *state;
    pid_t self = getpid();
    sample_one(s, self);
    assert_string_equal(st_proc_sampler_last_strategy(s), "select");

    size_t n = 450;
    pid_t *pids = calloc(n, sizeof *pids);
    st_proc_sample *out = calloc(n, sizeof *out);
    assert_non_null(pids);
    assert_non_null(out);
    absent_pids(self, pids, n - 1);
    pids[n - 1] = self;
    assert_int_equal(st_proc_sampler_processes(s, pids, n, out), ST_OK);
    assert_string_equal(st_proc_sampler_last_strategy(s), "reap");
    assert_true(out[n - 1].found);
    assert_true(out[n - 1].cpu_known);

    assert_true(sample_one(s, self).cpu_known);
    assert_string_equal(st_proc_sampler_last_strategy(s), "select");
    free(pids);
    free(out);
}

/* ---- thread ids are not processes, whichever strategy ---------------------- */

static int tid_pipe[2];    /* thread -> test: its tid */
static int quit_pipe[2];   /* test -> thread: exit now */
static pid_t thread_tid;

static void *thread_main(void *arg)
{
    (void)arg;
    pid_t tid = gettid();
    if (write(tid_pipe[1], &tid, sizeof tid) != (ssize_t)sizeof tid)
        return NULL;
    char c;
    while (read(quit_pipe[0], &c, 1) < 0 && errno == EINTR) {}
    return NULL;
}

static void test_thread_id_not_a_process(void **state)
{
    st_proc_sampler *s = *state;
    assert_int_equal(pipe(tid_pipe), 0);
    assert_int_equal(pipe(quit_pipe), 0);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, thread_main, NULL), 0);
    assert_int_equal(read(tid_pipe[0], &thread_tid, sizeof thread_tid), (ssize_t)sizeof thread_tid);
    assert_true(thread_tid != getpid());

    pid_t pair[2] = { thread_tid, getpid() };
    st_proc_sample out2[2];
    assert_int_equal(st_proc_sampler_processes(s, pair, 2, out2), ST_OK);
    assert_string_equal(st_proc_sampler_last_strategy(s), "select");
    assert_false(out2[0].found);
    assert_true(out2[1].found);

    size_t n = 450;
    pid_t *pids = calloc(n, sizeof *pids);
    st_proc_sample *out = calloc(n, sizeof *out);
    assert_non_null(pids);
    assert_non_null(out);
    absent_pids(getpid(), pids, n - 2);
    pids[n - 2] = thread_tid;
    pids[n - 1] = getpid();
    assert_int_equal(st_proc_sampler_processes(s, pids, n, out), ST_OK);
    assert_string_equal(st_proc_sampler_last_strategy(s), "reap");
    assert_false(out[n - 2].found);
    assert_true(out[n - 1].found);

    assert_int_equal(write(quit_pipe[1], "x", 1), 1);
    pthread_join(thread, NULL);
    for (int i = 0; i < 2; i++) {
        close(tid_pipe[i]);
        close(quit_pipe[i]);
    }
    free(pids);
    free(out);
}

static void test_bad_input(void **state)
{
    st_proc_sampler *s = *state;
    pid_t pid = getpid();
    st_proc_sample out;
    st_system_view v;

    assert_int_equal(st_proc_sampler_new(NULL), ST_EINVAL);
    st_proc_sampler_free(NULL);
    assert_int_equal(st_proc_sampler_processes(NULL, &pid, 1, &out), ST_EINVAL);
    assert_int_equal(st_proc_sampler_processes(s, &pid, 1, NULL), ST_EINVAL);
    assert_int_equal(st_proc_sampler_processes(s, NULL, 1, &out), ST_EINVAL);
    assert_int_equal(st_proc_sampler_processes(s, NULL, 0, NULL), ST_OK);
    assert_int_equal(st_proc_sampler_system(NULL, &v), ST_EINVAL);
    assert_int_equal(st_proc_sampler_system(s, NULL), ST_EINVAL);
    assert_string_equal(st_proc_sampler_last_strategy(NULL), "select");

    pid_t odd[3] = { 0, -1, -(pid_t)getpid() };
    st_proc_sample outs[3];
    assert_int_equal(st_proc_sampler_processes(s, odd, 3, outs), ST_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(outs[i].pid, odd[i]);
        assert_false(outs[i].found);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_system_figures, sampler_setup, sampler_teardown),
        cmocka_unit_test_setup_teardown(test_per_cpu_figures, sampler_setup, sampler_teardown),
        cmocka_unit_test_setup_teardown(test_own_process, sampler_setup, sampler_teardown),
        cmocka_unit_test_setup_teardown(test_cpu_busy_and_sleeping, sampler_setup, sampler_teardown),
        cmocka_unit_test_setup_teardown(test_history_forgets_unlisted, sampler_setup, sampler_teardown),
        cmocka_unit_test_setup_teardown(test_dead_pid_not_found, sampler_setup, sampler_teardown),
        cmocka_unit_test_setup_teardown(test_zombie, sampler_setup, sampler_teardown),
        cmocka_unit_test_setup_teardown(test_pid_reuse_starts_over, sampler_setup, sampler_teardown),
        cmocka_unit_test_setup_teardown(test_more_than_255_pids, sampler_setup, sampler_teardown),
        cmocka_unit_test_setup_teardown(test_more_than_400_pids, sampler_setup, sampler_teardown),
        cmocka_unit_test_setup_teardown(test_history_across_strategies, sampler_setup, sampler_teardown),
        cmocka_unit_test_setup_teardown(test_thread_id_not_a_process, sampler_setup, sampler_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, sampler_setup, sampler_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
