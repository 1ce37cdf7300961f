/* bench_viewer.c - synctop-bench's viewer figures: what one model refresh
 * costs over a big session, and how much CPU the dashboard itself uses.
 *
 * model_refresh_ms_1000p_10000o: a session holding 1000 live registered
 * processes (forked here, each asleep on a pipe) and 10,000 objects; the
 * figure is the median of 7 timed st_model_refresh() calls (snapshot +
 * /proc sample + rates), after two untimed ones. Target <= 20 ms.
 *
 * dashboard_cpu_percent: the real `synctop` dashboard on a pseudo-terminal
 * at its default refresh for 30 s while `synctop-demo race queue` runs; the
 * figure is the CPU time the kernel charged to synctop over the wall time.
 * Target <= 1 %. (--quick: 6 s.)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "bench_viewer.h"

#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <synctop/synctop.h>

#define VIEWER_PROCESSES 1000
#define VIEWER_OBJECTS 10000
#define VIEWER_REPS 7

static double seconds_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void reap_all(pid_t *pids, int count)
{
    for (int i = 0; i < count; i++) {
        if (pids[i] <= 0)
            continue;
        while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR) {}
    }
}

/* A registered process that sleeps until the gate closes. */
static void idle_child(st_table *table, int index, int gate, int ready)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    char name[32];
    snprintf(name, sizeof name, "idle-%d", index);
    st_process_register(table, name, "bench");
    if (write(ready, "x", 1) < 0)
        _exit(1);
    char c;
    while (read(gate, &c, 1) < 0 && errno == EINTR) {}
    _exit(0);
}

int bench_viewer_model_refresh(bench_report_fn report, bool quick)
{
    (void)quick;
    char session[64];
    snprintf(session, sizeof session, "bench-model-%d", (int)getpid());
    st_table_options opts = {
        .session = session,
        .process_capacity = VIEWER_PROCESSES + 64,
        .object_capacity = VIEWER_OBJECTS + 64,
    };
    st_table *table = NULL;
    if (st_table_open(&opts, &table) != ST_OK) {
        fprintf(stderr, "synctop-bench: %s\n", st_error_detail());
        return 1;
    }
    int status = 1;
    int gate[2] = { -1, -1 }, ready[2] = { -1, -1 };
    pid_t *pids = calloc(VIEWER_PROCESSES, sizeof *pids);
    st_model *model = NULL;
    st_table *reader = NULL;
    int started = 0;
    if (!pids || pipe(gate) < 0 || pipe(ready) < 0)
        goto out;
    fflush(NULL);
    for (; started < VIEWER_PROCESSES; started++) {
        pid_t pid = fork();
        if (pid < 0)
            goto out;
        if (pid == 0) {
            close(gate[1]);
            close(ready[0]);
            idle_child(table, started, gate[0], ready[1]);
        }
        pids[started] = pid;
    }
    for (int seen = 0; seen < VIEWER_PROCESSES;) {
        char buf[256];
        ssize_t n = read(ready[0], buf, sizeof buf);
        if (n <= 0 && errno != EINTR)
            goto out;
        if (n > 0)
            seen += (int)n;
    }
    for (int i = 0; i < VIEWER_OBJECTS; i++) {
        char name[32];
        snprintf(name, sizeof name, "object-%05d", i);
        st_lock *lock = NULL;
        if (st_lock_open(table, name, &lock) != ST_OK) {
            fprintf(stderr, "synctop-bench: %s\n", st_error_detail());
            goto out;
        }
        st_lock_close(lock);
    }
    if (st_table_attach_readonly(session, &reader) != ST_OK || st_model_new(&model) != ST_OK)
        goto out;
    double times[VIEWER_REPS];
    for (int rep = -2; rep < VIEWER_REPS; rep++) {
        double start = seconds_now();
        if (st_model_refresh(model, reader) != ST_OK) {
            fprintf(stderr, "synctop-bench: refresh: %s\n", st_error_detail());
            goto out;
        }
        if (rep >= 0)
            times[rep] = (seconds_now() - start) * 1000.0;
    }
    if (st_model_process_count(model) < VIEWER_PROCESSES || st_model_object_count(model) < VIEWER_OBJECTS) {
        fprintf(stderr, "synctop-bench: the model saw %zu processes and %zu objects\n",
                st_model_process_count(model), st_model_object_count(model));
        goto out;
    }
    qsort(times, VIEWER_REPS, sizeof times[0], compare_doubles);
    report("model_refresh_ms_1000p_10000o", times[VIEWER_REPS / 2]);
    status = 0;
out:
    if (gate[1] >= 0)
        close(gate[1]);   /* every child's read returns: they exit */
    if (gate[0] >= 0)
        close(gate[0]);
    if (ready[0] >= 0)
        close(ready[0]);
    if (ready[1] >= 0)
        close(ready[1]);
    if (pids)
        reap_all(pids, started);
    free(pids);
    st_model_free(model);
    st_table_close(reader);
    st_table_close(table);
    st_session_remove(session, true);
    return status;
}

/* CPU seconds (utime + stime) the kernel charged to pid so far, or -1. */
static double cpu_seconds_of(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long long utime, stime;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Read and drop whatever the dashboard drew, for up to seconds; returns
 * how many bytes it drew. */
static long drain(int fd, double seconds)
{
    double end = seconds_now() + seconds;
    char buf[8192];
    long total = 0;
    for (double now = seconds_now(); now < end; now = seconds_now()) {
        struct pollfd p = { fd, POLLIN, 0 };
        int wait_ms = (int)((end - now) * 1000.0) + 1;
        if (poll(&p, 1, wait_ms) <= 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            return total;
        total += n;
    }
    return total;
}

int bench_viewer_dashboard_cpu(bench_report_fn report, bool quick)
{
    char session[64];
    snprintf(session, sizeof session, "bench-dash-%d", (int)getpid());
    double duration = quick ? 6.0 : 30.0;
    fflush(NULL);
    pid_t demo = fork();
    if (demo < 0)
        return 1;
    if (demo == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execl(SYNCTOP_DEMO_BINARY, "synctop-demo", "race", "queue", "--session", session, "--quiet",
              "--log", "/dev/null", (char *)NULL);
        _exit(127);
    }
    setpgid(demo, demo);
    struct timespec settle = { 2, 0 };
    nanosleep(&settle, NULL);
    int master = -1;
    struct winsize size = { .ws_row = 24, .ws_col = 80 };
    pid_t dashboard = forkpty(&master, NULL, NULL, &size);
    if (dashboard == 0) {
        setenv("TERM", "xterm-256color", 1);
        execl(SYNCTOP_BINARY, "synctop", "-s", session, (char *)NULL);
        _exit(127);
    }
    int status = 1;
    if (dashboard > 0) {
        drain(master, 1.0);   /* start-up: curses set-up, first draw */
        double cpu_before = cpu_seconds_of(dashboard), start = seconds_now();
        long drawn = drain(master, duration);
        double cpu_after = cpu_seconds_of(dashboard), elapsed = seconds_now() - start;
        /* It must have been alive and drawing all along, or the figure
         * means nothing. */
        bool alive = waitpid(dashboard, NULL, WNOHANG) == 0;
        if (cpu_before >= 0 && cpu_after >= 0 && alive && drawn > 0) {
            report("dashboard_cpu_percent", (cpu_after - cpu_before) / elapsed * 100.0);
            printf("# dashboard_cpu: it drew %ld bytes in %.0f s\n", drawn, elapsed);
            status = 0;
        } else {
            fprintf(stderr, "synctop-bench: the dashboard exited early or drew nothing (%ld bytes)\n", drawn);
        }
        if (write(master, "q", 1) < 0) {}
        drain(master, 1.0);
        kill(dashboard, SIGKILL);
        while (waitpid(dashboard, NULL, 0) < 0 && errno == EINTR) {}
        close(master);
    }
    kill(-demo, SIGINT);
    for (int i = 0; i < 50 && waitpid(demo, NULL, WNOHANG) == 0; i++) {
        struct timespec pause = { 0, 100000000 };
        nanosleep(&pause, NULL);
    }
    kill(-demo, SIGKILL);
    while (waitpid(demo, NULL, 0) < 0 && errno == EINTR) {}
    st_session_remove(session, true);
    return status;
}
