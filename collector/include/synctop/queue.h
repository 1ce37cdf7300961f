/* queue.h - the instrumented Queue: a bounded multi-producer, multi-consumer
 * queue of byte messages shared by name between processes (Python's
 * multiprocessing.JoinableQueue, with Python 3.13's shutdown()).
 *
 * Messages are copied in and out whole; each may be up to the queue's
 * maximum message size (fixed at creation), and the queue holds at most
 * capacity of them. A message is never lost or duplicated while producers
 * and consumers race, and not when one of them is SIGKILLed in the middle
 * of a put or a get: a half-written message is never seen, a half-read one
 * stays queued, and the survivors carry on.
 *
 * Figures (the viewer's fields): depth, capacity, bytes (queued now),
 * max_message_bytes, high_water, puts, gets, put_bytes, get_bytes,
 * producers_blocked, consumers_blocked, joiners_blocked, put_timeouts,
 * get_timeouts, unfinished_tasks, task_done_overflows, owner_died, closed.
 */
#ifndef SYNCTOP_QUEUE_H
#define SYNCTOP_QUEUE_H

/* The library is built with hidden visibility: what this header declares
 * is its public API. */
#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "result.h"
#include "table.h"
#include "timeout.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct st_queue st_queue;

typedef struct st_queue_info {
    uint32_t capacity;          /* messages */
    uint32_t max_message_bytes;
    uint64_t depth;             /* messages queued right now */
    uint64_t unfinished_tasks;  /* puts not yet matched by a task_done */
    bool closed;
} st_queue_info;

/* Open the queue called name in the session, creating it (holding up to
 * capacity messages of up to max_message_bytes each, in its own data
 * segment) if it does not exist. capacity and max_message_bytes only matter
 * to the creator: an existing queue keeps its own (st_queue_info tells
 * them); they must still be valid (ST_EINVAL otherwise: 1 to 2^24 messages,
 * 1 byte to 64 MiB, at most 4 GiB in all). The data segment lives until the
 * session is removed. ST_EWRONGTYPE when name is another type of object. */
st_result st_queue_open(st_table *table, const char *name, uint32_t capacity, uint32_t max_message_bytes,
                        st_queue **out);

/* Put a copy of length bytes, waiting up to timeout_ns for room (0 tries
 * once - that try still waits, at most 10 ms, for another producer to
 * finish copying its message in; ST_FOREVER waits without limit). The
 * messages of one producer are got in the order it put them. ST_OK;
 * ST_ETIMEDOUT (still full);
 * ST_ECLOSED (the queue was shut down); ST_EOVERFLOW when length exceeds
 * the queue's maximum message size (nothing is put); ST_EINVAL for a NULL
 * handle, NULL data with a non-zero length, or a negative timeout. */
st_result st_queue_put(st_queue *queue, const void *data, size_t length, int64_t timeout_ns);

/* Put only if there is room right now: ST_OK, ST_EBUSY (full), ST_ECLOSED,
 * ST_EOVERFLOW, ST_EINVAL. */
st_result st_queue_try_put(st_queue *queue, const void *data, size_t length);

/* Take the oldest message into buffer (size bytes), waiting up to
 * timeout_ns for one. *length receives its size. ST_OK; ST_ETIMEDOUT
 * (still empty); ST_ECLOSED (shut down and drained); ST_EOVERFLOW when the
 * message is larger than size: *length says how large, and the message
 * stays at the head of the queue; ST_EINVAL for a NULL handle or length,
 * a NULL buffer with a non-zero size, or a negative timeout. */
st_result st_queue_get(st_queue *queue, void *buffer, size_t size, size_t *length, int64_t timeout_ns);

/* Get only if a message is there right now: ST_OK, ST_EBUSY (empty),
 * ST_ECLOSED, ST_EOVERFLOW, ST_EINVAL. */
st_result st_queue_try_get(st_queue *queue, void *buffer, size_t size, size_t *length);

/* Shut the queue down for everyone: puts fail with ST_ECLOSED from now on
 * (blocked producers wake and fail), gets drain what is queued and then
 * fail with ST_ECLOSED (blocked consumers wake). Cannot be undone. Calling
 * it again is harmless. */
st_result st_queue_shutdown(st_queue *queue);

/* Mark one got message as processed (JoinableQueue.task_done). ST_EOVERFLOW
 * when called more times than messages were ever put (nothing changes;
 * task_done_overflows counts it). */
st_result st_queue_task_done(st_queue *queue);

/* Wait until every message ever put has been task_done'd (unfinished tasks
 * reach zero), up to timeout_ns. ST_OK or ST_ETIMEDOUT. A consumer killed
 * between get and task_done leaves its task unfinished for good, as in
 * Python. */
st_result st_queue_join(st_queue *queue, int64_t timeout_ns);

/* The queue's geometry and state right now. */
st_result st_queue_info_get(st_queue *queue, st_queue_info *info);

/* Drop the handle (the queue and its messages stay in the session; this
 * is not shutdown). NULL is a no-op. */
void st_queue_close(st_queue *queue);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
