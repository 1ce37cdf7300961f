/* supervisor.h - the health-check lesson: start named worker processes,
 * watch their heartbeats and exits, restart the ones that crash (up to a
 * limit), and show it all in the status table.
 *
 * st_supervisor_add() forks a worker that registers as a process named
 * after it (role "supervised") and runs main(table, arg); main's return
 * value is the worker's exit status. The worker proves it is alive with
 * st_process_heartbeat(table). The supervisor watches only inside
 * st_supervisor_poll() / st_supervisor_run() (and st_supervisor_close()),
 * and sets each worker's state in the worker's own process slot:
 *
 *   starting   forked; no heartbeat yet (with heartbeats checked), or not
 *              yet registered
 *   running    heartbeating (or alive, when heartbeats are not checked)
 *   unhealthy  no heartbeat for heartbeat_timeout_ns (back to running on
 *              the next heartbeat; the worker is not killed)
 *   crashed    exited with a non-zero status or killed by a signal; it is
 *              restarted (starting again) until it has been restarted
 *              restart_limit times, then the supervisor gives up
 *   stopped    exited with status 0 (not restarted), or stopped by
 *              st_supervisor_close
 *
 * Each worker's last failure is kept as text ("exit status 3", "killed by
 * SIGSEGV"). The process slot's restart count is the worker's.
 *
 * Ownership: like a pool, a supervisor belongs to the process that opened it
 * (its workers are that process's children); calls from another process get
 * ST_EPERM, and opening a name whose supervisor is alive gives ST_EBUSY.
 * Workers die with the supervisor (PR_SET_PDEATHSIG).
 */
#ifndef SYNCTOP_SUPERVISOR_H
#define SYNCTOP_SUPERVISOR_H

/* The library is built with hidden visibility: what this header declares
 * is its public API. */
#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "process.h"
#include "result.h"
#include "table.h"
#include "timeout.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ST_SUPERVISOR_MAX_WORKERS 12u
#define ST_SUPERVISOR_DEFAULT_RESTART_LIMIT 3
#define ST_SUPERVISOR_FAILURE_MAX 31        /* bytes of a last-failure text */

typedef struct st_supervisor st_supervisor;

/* A supervised worker's body, run in its own process; the return value is
 * its exit status (0: a clean stop, not restarted). */
typedef int (*st_worker_main_fn)(st_table *table, void *arg);

typedef struct st_supervisor_options {
    int restart_limit;            /* restarts per worker before giving up; 0: 3; negative: never restart */
    int64_t heartbeat_timeout_ns; /* a worker silent this long is unhealthy; 0: heartbeats not checked */
    int64_t stop_timeout_ns;      /* st_supervisor_close: SIGTERM, then SIGKILL after this; 0: 2 s */
    FILE *log;                    /* one line per start, exit, restart, give-up; NULL: silent */
} st_supervisor_options;

typedef struct st_supervisor_worker_info {
    char name[ST_PROCESS_NAME_MAX + 1];
    pid_t pid;                    /* current or last process */
    st_process_state state;
    uint32_t restarts;
    bool gave_up;                 /* crashed restart_limit + 1 times: not restarted any more */
    char last_failure[ST_SUPERVISOR_FAILURE_MAX + 1];  /* "" when it never failed */
} st_supervisor_worker_info;

/* Create the supervisor called name (options may be NULL: all defaults).
 * ST_EBUSY when a live process already runs a supervisor of that name;
 * ST_EINVAL for a negative timeout. */
st_result st_supervisor_open(st_table *table, const char *name, const st_supervisor_options *options,
                             st_supervisor **out);

/* Start a worker called worker_name (its process name; unique in this
 * supervisor) running main(table, arg) in a forked child. ST_ENAMETOOLONG
 * beyond ST_PROCESS_NAME_MAX; ST_EFULL beyond ST_SUPERVISOR_MAX_WORKERS;
 * ST_EBUSY when the name is taken. */
st_result st_supervisor_add(st_supervisor *sup, const char *worker_name, st_worker_main_fn main, void *arg);

/* Watch for up to timeout_ns: reap exits, restart crashed workers, check
 * heartbeats, update states and figures. Returns ST_OK as soon as some
 * worker changed state (the states are then current), ST_ETIMEDOUT when
 * none did. With timeout 0, one check. */
st_result st_supervisor_poll(st_supervisor *sup, int64_t timeout_ns);

/* Watch until every worker is stopped or given up (ST_OK), or timeout_ns
 * passes (ST_ETIMEDOUT). */
st_result st_supervisor_run(st_supervisor *sup, int64_t timeout_ns);

/* What the supervisor knows of worker i (0 <= i < st_supervisor_worker_count),
 * or of the worker called name. ST_ENOENT when there is none. */
uint32_t st_supervisor_worker_count(const st_supervisor *sup);
st_result st_supervisor_worker(const st_supervisor *sup, uint32_t i, st_supervisor_worker_info *info);
st_result st_supervisor_worker_by_name(const st_supervisor *sup, const char *name, st_supervisor_worker_info *info);

/* Stop every worker still running (SIGTERM, then SIGKILL after
 * stop_timeout_ns), reap them all, mark them stopped, and free the handle.
 * ST_EINVAL for a NULL handle; ST_EPERM from a process that does not own
 * the supervisor (only the handle is freed). */
st_result st_supervisor_close(st_supervisor *sup);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
