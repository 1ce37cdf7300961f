/* interpose_wait.c - how the processes of a watched program end: wait,
 * waitpid, wait3, wait4 and waitid.
 *
 * A parent learns how its child ended when it reaps it (Python's
 * multiprocessing does it with os.waitpid in Process.join() and
 * is_alive()). When one of these calls reaps a child, the exit status or
 * the signal is recorded in the child's process slot
 * (st_process_record_exit), and the viewer shows the process as exited
 * with it. The child is found by pid and start time: for a call that names
 * one child (waitpid(pid > 0), waitid(P_PID)) its start time is read before
 * the real call, while the child still exists; for the others (wait(), -1,
 * a process group) only the pid is known after the reap, and the slot must
 * then be one of a process that is gone and whose end is not recorded yet.
 *
 * Rules of preload.h: every call returns what libc returned, errno
 * included (our work happens after the real call and restores errno); a
 * program whose session is not watched (no table opened) pays one load and
 * one branch; calls made by our own code (tls.guard) pass straight through,
 * and nothing here waits for a child itself. A call that only looks
 * (WNOWAIT), stops or continues (WUNTRACED, WCONTINUED) or finds nothing
 * (WNOHANG, 0) records nothing.
 */
#include "preload/preload.h"
#include "process_control.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

static struct {
    pid_t (*wait)(int *);
    pid_t (*waitpid)(pid_t, int *, int);
    pid_t (*wait3)(int *, int, struct rusage *);
    pid_t (*wait4)(pid_t, int *, int, struct rusage *);
    int (*waitid)(idtype_t, id_t, siginfo_t *, int);
} real_wait;

#define RESOLVE_WAIT(field) \
    do { \
        void *found = dlsym(RTLD_NEXT, #field); \
        memcpy(&real_wait.field, &found, sizeof found); \
    } while (0)

static void wait_real_resolve(void)
{
    RESOLVE_WAIT(wait);
    RESOLVE_WAIT(waitpid);
    RESOLVE_WAIT(wait3);
    RESOLVE_WAIT(wait4);
    RESOLVE_WAIT(waitid);
}

__attribute__((constructor)) static void wait_real_start(void)
{
    wait_real_resolve();
}

/* Calls before our constructor ran (another library's constructor). */
#define REAL(field) (__builtin_expect(real_wait.field != NULL, 1) ? 0 : (wait_real_resolve(), 0), real_wait.field)

/* Whether this process records ends: its session is watched, and the
 * call is the program's own. */
static inline st_table *recording_table(void)
{
    st_table *table = watched_table;
    if (__builtin_expect(table == NULL, 1))
        return NULL;
    return tls.guard == 0 ? table : NULL;
}

/* Before a call that names child pid: its start time, or 0 (not
 * registered, or gone). Only a registered child is worth a /proc read. */
static uint64_t start_of(st_table *table, pid_t pid)
{
    if (pid <= 0)
        return 0;
    int saved_errno = errno;
    tls.guard++;
    uint64_t ticks = 0;
    if (st_process_slot_of(table, pid) == NULL || st_process_start_time(pid, &ticks) != ST_OK)
        ticks = 0;
    tls.guard--;
    errno = saved_errno;
    return ticks;
}

/* After a call returned pid with status: record the end if it reaped. */
static void note_reaped(st_table *table, pid_t pid, int status, uint64_t start_ticks)
{
    if (pid <= 0 || !(WIFEXITED(status) || WIFSIGNALED(status)))
        return;
    int saved_errno = errno;
    tls.guard++;
    st_process_record_exit(table, pid, start_ticks, status);
    tls.guard--;
    errno = saved_errno;
}

/* The wait status a waitid() result stands for, or -1 when it is no end. */
static int status_of(const siginfo_t *info)
{
    switch (info->si_code) {
    case CLD_EXITED:
        return (info->si_status & 0xff) << 8;
    case CLD_KILLED:
        return info->si_status & 0x7f;
    case CLD_DUMPED:
        return (info->si_status & 0x7f) | 0x80;
    default:
        return -1;
    }
}

INTERPOSED pid_t waitpid(pid_t pid, int *wstatus, int options)
{
    st_table *table = recording_table();
    if (__builtin_expect(table == NULL, 1))
        return REAL(waitpid)(pid, wstatus, options);
    uint64_t start_ticks = start_of(table, pid);
    int own;
    int *status = wstatus ? wstatus : &own;
    pid_t reaped = REAL(waitpid)(pid, status, options);
    if (reaped > 0 && !(options & WNOWAIT))
        note_reaped(table, reaped, *status, reaped == pid ? start_ticks : 0);
    return reaped;
}

INTERPOSED pid_t wait4(pid_t pid, int *wstatus, int options, struct rusage *usage)
{
    st_table *table = recording_table();
    if (__builtin_expect(table == NULL, 1))
        return REAL(wait4)(pid, wstatus, options, usage);
    uint64_t start_ticks = start_of(table, pid);
    int own;
    int *status = wstatus ? wstatus : &own;
    pid_t reaped = REAL(wait4)(pid, status, options, usage);
    if (reaped > 0 && !(options & WNOWAIT))
        note_reaped(table, reaped, *status, reaped == pid ? start_ticks : 0);
    return reaped;
}

INTERPOSED pid_t wait3(int *wstatus, int options, struct rusage *usage)
{
    st_table *table = recording_table();
    if (__builtin_expect(table == NULL, 1))
        return REAL(wait3)(wstatus, options, usage);
    int own;
    int *status = wstatus ? wstatus : &own;
    pid_t reaped = REAL(wait3)(status, options, usage);
    if (reaped > 0 && !(options & WNOWAIT))
        note_reaped(table, reaped, *status, 0);
    return reaped;
}

INTERPOSED pid_t wait(int *wstatus)
{
    st_table *table = recording_table();
    if (__builtin_expect(table == NULL, 1))
        return REAL(wait)(wstatus);
    int own;
    int *status = wstatus ? wstatus : &own;
    pid_t reaped = REAL(wait)(status);
    if (reaped > 0)
        note_reaped(table, reaped, *status, 0);
    return reaped;
}

INTERPOSED int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
    st_table *table = recording_table();
    if (__builtin_expect(table == NULL, 1))
        return REAL(waitid)(idtype, id, info, options);
    uint64_t start_ticks = idtype == P_PID ? start_of(table, (pid_t)id) : 0;
    int result = REAL(waitid)(idtype, id, info, options);
    /* info may be NULL (Linux allows it): then nothing says who ended. */
    if (result == 0 && info != NULL && !(options & WNOWAIT) && info->si_pid > 0) {
        int status = status_of(info);
        if (status >= 0)
            note_reaped(table, info->si_pid, status, idtype == P_PID ? start_ticks : 0);
    }
    return result;
}
