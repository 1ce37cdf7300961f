/* python_pool.h - a multiprocessing.Pool as one "pool" object (see
 * python_pool.c): what the pipe and semaphore interposers ask of it.
 */
#ifndef SYNCTOP_PRELOAD_PYTHON_POOL_H
#define SYNCTOP_PRELOAD_PYTHON_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "preload/preload.h"
#include "preload/python_site.h"

/* What a watched pipe end is to its Pool (interpose_pipe.c's pipe_end.pool). */
typedef enum pool_end {
    POOL_END_NONE = 0,              /* not a Pool's: an ordinary Pipe end */
    POOL_END_TASK_READER,           /* _inqueue._reader: workers take tasks */
    POOL_END_TASK_WRITER,           /* _inqueue._writer: the task handler submits */
    POOL_END_RESULT_READER,         /* _outqueue._reader: the result handler */
    POOL_END_RESULT_WRITER,         /* _outqueue._writer: workers answer */
} pool_end;

/* The first payload bytes of a message that are looked at. */
#define POOL_HEAD 32u

/* A pipe made by a SimpleQueue of the Pool at site (site->pool_frame set):
 * the Pool's object (created with its first part) in *slot and what its two
 * ends are (fds[0] reads, fds[1] writes); false when the pipe is not to be
 * watched (the change notifier's, or no table room). */
bool pool_pipe_made(st_table *table, const py_site *site, uint32_t *slot, pool_end *reader, pool_end *writer);

/* A lock of one of the Pool's SimpleQueues, being created (sem_open): bind t
 * to the Pool's object as a member without figures. */
bool pool_lock_made(st_table *table, const py_site *site, uint64_t key, tracked_object *t);

/* One whole message passed a Pool's pipe end in this process: head holds
 * its first `have` payload bytes, size is its payload length. */
void pool_message(st_table *table, uint32_t slot, pool_end end, const uint8_t *head, size_t have, uint64_t size);

/* This process is about to read a task (it waits for one): a worker. */
void pool_task_reader(st_table *table, uint32_t slot);

/* The _inqueue._rlock (ROLE_POOL_TASK_LOCK) is being taken or waited for
 * in this process: by a worker, or by the Pool's creator terminating it. */
void pool_task_lock_taken(tracked_object *t);

#endif
