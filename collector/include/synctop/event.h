/* event.h - the instrumented Event (Python's multiprocessing.Event): a flag
 * that processes wait for.
 *
 * set() raises the flag and wakes every waiter; clear() lowers it; wait()
 * returns at once while the flag is up, and otherwise sleeps until the
 * next set(). A waiter that was asleep when set() happened returns ST_OK
 * even if someone clears the flag again before it runs (as in Python).
 *
 * Figures: `is_set` (0/1), `waiters` (processes asleep in wait right now),
 * `sets`, `clears`, `waits` (wait calls, counted as they start) and
 * `wait_timeouts`.
 */
#ifndef SYNCTOP_EVENT_H
#define SYNCTOP_EVENT_H

/* The library is built with hidden visibility: what this header declares
 * is its public API. */
#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stdint.h>
#include "result.h"
#include "table.h"
#include "timeout.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct st_event st_event;

/* Open the event called name, creating it (clear) if it does not exist. */
st_result st_event_open(st_table *table, const char *name, st_event **out);

/* Raise the flag and wake every waiter (setting a set event changes
 * nothing but the `sets` count). */
st_result st_event_set(st_event *event);

/* Lower the flag. */
st_result st_event_clear(st_event *event);

/* Whether the flag is up right now. */
st_result st_event_is_set(st_event *event, bool *is_set);

/* Wait until the flag is up, at most timeout_ns (ST_FOREVER, 0 to look
 * once). ST_OK, ST_ETIMEDOUT, or ST_EINVAL for a bad handle or a negative
 * timeout. */
st_result st_event_wait(st_event *event, int64_t timeout_ns);

/* Drop the handle (the event stays in the session). NULL is a no-op. */
void st_event_close(st_event *event);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
