/* process.h - a process's own entry in the status table.
 *
 * A process registers explicitly with st_process_register(), or implicitly
 * on its first primitive call (named after its command). After fork() the
 * child is a new process: it registers again on its next call.
 */
#ifndef SYNCTOP_PROCESS_H
#define SYNCTOP_PROCESS_H

/* The library is built with hidden visibility: what this header declares
 * is its public API. */
#pragma GCC visibility push(default)

#include <stdint.h>
#include <sys/types.h>
#include "result.h"
#include "table.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ST_PROCESS_NAME_MAX 31
#define ST_PROCESS_ROLE_MAX 23

typedef enum st_process_state {
    ST_PROCESS_STARTING = 0,
    ST_PROCESS_RUNNING,
    ST_PROCESS_BLOCKED,
    ST_PROCESS_UNHEALTHY,
    ST_PROCESS_CRASHED,
    ST_PROCESS_STOPPED,
    ST_PROCESS_EXITED,      /* shown by the viewer: a registered process found dead */
    ST_PROCESS_STATE_COUNT
} st_process_state;

/* What a blocked process is doing. */
typedef enum st_operation {
    ST_OP_NONE = 0,
    ST_OP_ACQUIRE,
    ST_OP_RELEASE,
    ST_OP_WAIT,
    ST_OP_PUT,
    ST_OP_GET,
    ST_OP_SEND,
    ST_OP_RECV,
    ST_OP_JOIN,
    ST_OP_SET,          /* an Event set (event log only) */
    ST_OP_CLEAR,        /* an Event cleared (event log only) */
    ST_OP_NOTIFY,       /* a Condition notified (event log only) */
    ST_OP_COUNT
} st_operation;

/* Register (or rename) the calling process in the table. name and role may
 * be NULL (name defaults to the command name, role to ""). Longer names
 * are refused with ST_ENAMETOOLONG. */
st_result st_process_register(st_table *table, const char *name, const char *role);

/* Set the calling process's state; registers it first if needed. */
st_result st_process_set_state(st_table *table, st_process_state state);

/* Record a heartbeat (now) for the calling process. */
st_result st_process_heartbeat(st_table *table);

/* Release the calling process's slot (a clean exit). */
st_result st_process_unregister(st_table *table);

/* The start time of process pid (/proc/PID/stat field 22, clock ticks
 * since boot): with the pid, its identity, as a pid may be reused. A parent
 * reads it for its child while the child exists (running, or a zombie not
 * yet reaped). ST_ENOENT when there is no such process. */
st_result st_process_start_time(pid_t pid, uint64_t *start_ticks);

/* Record how a process of the session ended, as its parent learned when it
 * reaped it: status is the wait status waitpid() gave (WIFEXITED or
 * WIFSIGNALED; a stop is ST_EINVAL). The process is (pid, start_ticks), as
 * st_process_start_time() read it before the reap; start_ticks 0 means "not
 * known": then the slot of pid must be one whose process is gone and whose
 * end is not recorded yet. The viewer shows the process as exited with its
 * exit status or the signal that killed it, for at least 60 s unless the
 * table needs the slot. ST_ENOENT when no such process is registered (it
 * never touched the session, or its slot was reclaimed). */
st_result st_process_record_exit(st_table *table, pid_t pid, uint64_t start_ticks, int status);

const char *st_process_state_name(st_process_state state);
const char *st_operation_name(st_operation op);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
