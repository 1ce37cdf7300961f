/* futex.c - futex wait/wake on shared (not process-private) words, with
 * absolute CLOCK_MONOTONIC deadlines via FUTEX_WAIT_BITSET. */
#include "futex.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

int st_futex_wait(uint32_t *word, uint32_t expected, const struct timespec *deadline)
{
    /* FUTEX_WAIT_BITSET takes an absolute timeout on CLOCK_MONOTONIC. */
    long rc = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expected, deadline, NULL, FUTEX_BITSET_MATCH_ANY);
    if (rc == 0)
        return 0;
    if (errno == EAGAIN)
        return 0;
    return errno == ETIMEDOUT ? ETIMEDOUT : EINTR;
}

void st_futex_wake(uint32_t *word, int count)
{
    syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
}

struct timespec st_deadline_after(int64_t timeout_ns)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t seconds = timeout_ns / 1000000000LL;
    int64_t nanos = now.tv_nsec + timeout_ns % 1000000000LL;
    if (nanos >= 1000000000LL) {
        nanos -= 1000000000LL;
        seconds++;
    }
    /* Far-future deadlines saturate instead of overflowing. */
    if (seconds > INT32_MAX)
        seconds = INT32_MAX;
    struct timespec deadline = { now.tv_sec + (time_t)seconds, (long)nanos };
    return deadline;
}

bool st_deadline_passed(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > deadline->tv_sec || (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}
