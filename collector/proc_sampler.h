/* proc_sampler.h - internal (not installed): samples /proc through libproc2
 * for the model. Gives the system figures (CPUs, busy CPU %, memory, load,
 * uptime) and, for a list of PIDs, each process's state, start time, CPU %
 * since the previous sample of that same process, and resident memory.
 *
 * A sampler is not thread-safe, and libproc2 (4.0.2, Debian 12) is not
 * either: create, use and free a sampler in one thread. Each thread that
 * uses libproc2's pids API and exits also leaks ~260 KiB inside the library
 * (valgrind shows it as "still reachable").
 */
#ifndef SYNCTOP_PROC_SAMPLER_H
#define SYNCTOP_PROC_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <synctop/model.h>   /* st_system_view, st_result */

/* From this many distinct PIDs on, one procps_pids_reap() of every task is
 * cheaper than procps_pids_select() in batches of 255. Measured on a 2-vCPU
 * guest with 1079 tasks (median of one refresh): select took 0.19 ms for 10
 * PIDs, 1.9 ms for 100 and 32 ms for 1000 (it reads /proc/PID/status and
 * stats /proc/PID besides /proc/PID/stat: ~0.02-0.03 ms per PID), while a
 * reap of all tasks took 11-16 ms whatever the list; they cross between 100
 * and 1000 PIDs, near 400-500 on a machine with ~1000 tasks. */
#define ST_PROC_SAMPLER_REAP_THRESHOLD 400

typedef struct st_proc_sampler st_proc_sampler;

typedef struct st_proc_sample {
    pid_t pid;              /* input, copied */
    bool found;             /* process exists (zombies count as found, state 'Z') */
    char state;             /* 'R','S','D','Z',...; 0 when not found */
    uint64_t start_ticks;   /* PIDS_TICS_BEGAN: start time since boot in clock ticks */
    bool cpu_known;         /* a previous sample of the same (pid,start_ticks) existed */
    double cpu_percent;     /* of one CPU since the previous sample of that process */
    uint64_t rss_bytes;     /* PIDS_MEM_RES (KiB) * 1024, matches ps */
} st_proc_sample;

/* A new sampler (opens the libproc2 pids, stat and meminfo contexts).
 * ST_EINVAL for a NULL out, ST_ENOMEM, ST_ESYSTEM if libproc2 refuses. */
st_result st_proc_sampler_new(st_proc_sampler **out);

/* Free a sampler; NULL is a no-op. */
void st_proc_sampler_free(st_proc_sampler *sampler);

/* System figures: cpus (procps_cpu_count), cpu_percent busy share of all
 * CPUs since the previous call (first call: since boot; a call less than a
 * tick after the previous one repeats the previous figure), the same per
 * online CPU (cpu_percent_per_cpu, per_cpu_count), memory total and
 * available in bytes, load[3] (procps_loadavg), uptime_s (procps_uptime).
 * Reads with *_select, never *_get (pitfall 1: *_get caches for a second).
 * On failure *out is left unchanged. */
st_result st_proc_sampler_system(st_proc_sampler *sampler, st_system_view *out);

/* For each pids[i], fill out[i] (duplicates allowed; out[i].pid = pids[i]).
 * Per call it uses procps_pids_select (batches of at most 255 PIDs, pitfall
 * 3) when fewer than ST_PROC_SAMPLER_REAP_THRESHOLD distinct PIDs are asked
 * for, else one procps_pids_reap(PIDS_FETCH_TASKS_ONLY). Either way the
 * results are the same: a PID that does not exist, a PID <= 0 and a thread
 * id that is not a process's main thread report found = false.
 *
 * CPU % comes from deltas of utime+stime ticks kept per (pid, start_ticks)
 * (pitfall 4) over CLOCK_MONOTONIC time. Only PIDs found in this call are
 * remembered, so a process must be asked for in consecutive calls to get a
 * cpu_known figure, and the history never outgrows the last list.
 *
 * ST_EINVAL for a NULL sampler, or NULL pids/out with n > 0; ST_ENOMEM;
 * ST_ESYSTEM if libproc2 fails. On failure every out[i] says found = false
 * and the history is unchanged. */
st_result st_proc_sampler_processes(st_proc_sampler *sampler, const pid_t *pids, size_t n,
                                    st_proc_sample *out);

/* Which strategy the last st_proc_sampler_processes call used: "select" or
 * "reap" ("select" before any call; for the benchmark and tests). */
const char *st_proc_sampler_last_strategy(const st_proc_sampler *sampler);

#endif
