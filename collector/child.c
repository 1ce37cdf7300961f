/* child.c - forking, reaping and stopping the library's own worker
 * processes (see child.h). */
#include "child.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void st_child_bind_to_parent(pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* The parent may have died between fork() and prctl(): then nobody
     * would send the signal. */
    if (getppid() != parent)
        _exit(1);
}

pid_t st_child_fork(void)
{
    fflush(NULL);
    return fork();
}

bool st_child_reap(pid_t pid, int *status)
{
    int st = 0;
    pid_t r;
    do {
        r = waitpid(pid, &st, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0)
        return false;
    if (r < 0)
        st = 0;  /* ECHILD: reaped elsewhere already */
    if (status)
        *status = st;
    return true;
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL) };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

static uint64_t monotonic_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

static uint32_t reap_listed(pid_t *pids, int *statuses, uint32_t count)
{
    uint32_t left = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (pids[i] <= 0)
            continue;
        int status;
        if (st_child_reap(pids[i], &status)) {
            pids[i] = 0;
            if (statuses)
                statuses[i] = status;
        } else {
            left++;
        }
    }
    return left;
}

uint32_t st_child_stop_all(pid_t *pids, int *statuses, uint32_t count, int first_signal, int64_t timeout_ns)
{
    for (uint32_t i = 0; i < count; i++)
        if (pids[i] > 0 && first_signal)
            kill(pids[i], first_signal);
    uint64_t deadline = monotonic_now_ns() + (uint64_t)(timeout_ns > 0 ? timeout_ns : 0);
    while (reap_listed(pids, statuses, count) > 0 && monotonic_now_ns() < deadline)
        sleep_ns(2000000);
    uint32_t killed = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (pids[i] <= 0)
            continue;
        kill(pids[i], SIGKILL);
        killed++;
        int status = 0;
        while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR) {}
        if (statuses)
            statuses[i] = status;
        pids[i] = 0;
    }
    return killed;
}

void st_child_describe_status(int status, char *out, size_t size)
{
    if (WIFEXITED(status)) {
        snprintf(out, size, "exit status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        if (abbrev)
            snprintf(out, size, "killed by SIG%s%s", abbrev, WCOREDUMP(status) ? " (core dumped)" : "");
        else
            snprintf(out, size, "killed by signal %d", sig);
    } else {
        snprintf(out, size, "wait status 0x%x", (unsigned)status);
    }
}

bool st_child_exited_cleanly(int status)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
