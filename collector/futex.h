/* futex.h - sleeping and waking on a 32-bit word in shared memory, and
 * deadlines. The blocking primitives (semaphores, events, conditions,
 * queues, pools) are built on these two calls: the kernel's futex is what
 * glibc's own process-shared primitives use underneath, and it lets a
 * primitive keep its word next to its statistics in the status table. */
#ifndef SYNCTOP_FUTEX_H
#define SYNCTOP_FUTEX_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Sleep while *word == expected, until woken or the absolute CLOCK_MONOTONIC
 * deadline passes (NULL: no deadline). Returns 0 when woken or when *word
 * already differed, ETIMEDOUT, or EINTR. Spurious returns are possible:
 * callers re-check their condition. */
int st_futex_wait(uint32_t *word, uint32_t expected, const struct timespec *deadline);

/* Wake up to count sleepers on word (INT32_MAX for all). */
void st_futex_wake(uint32_t *word, int count);

/* The absolute CLOCK_MONOTONIC time timeout_ns from now. */
struct timespec st_deadline_after(int64_t timeout_ns);

/* Whether the deadline has passed. */
bool st_deadline_passed(const struct timespec *deadline);

#endif
