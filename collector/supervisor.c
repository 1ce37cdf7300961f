/* supervisor.c - the health-check lesson (see supervisor.h).
 *
 * The idea. The supervisor forks each worker; the worker registers its own
 * process slot (named after it, role "supervised", state starting, restart
 * count set) before its main runs. From then on the supervisor only watches,
 * inside st_supervisor_poll/run: it reaps exits with waitpid on its workers'
 * pids (never -1), reads each worker's heartbeat from the worker's process
 * slot, and writes the state it concludes (starting, running, unhealthy,
 * crashed, stopped) into that slot, so the viewer's process list shows it.
 * A crashed worker's dead slot is released before its replacement starts,
 * so a worker stays one line in the process list with a growing restart
 * count; after the last allowed restart the dead slot stays, marked crashed.
 *
 * The supervisor's object slot holds its figures and, per worker, the name,
 * pid, state, restarts and the raw wait status of the last failure (turned
 * into text, "exit status 3" or "killed by SIGSEGV", when read):
 *
 *   +---------------------------------------------------------------+
 *   | owner pid, last failed worker, owner start ticks       16 B   |
 *   | workers starting running unhealthy crashed stopped            |
 *   | gave_up restart_limit                                  32 B   |
 *   | restarts_total, heartbeat_timeout_ns                   16 B   |
 *   +---------------------------------------------------------------+
 *   | worker 0: name[32] pid status restarts state gave_up   48 B   |
 *   | ... 12 workers                                                |
 *   +---------------------------------------------------------------+
 *
 * Only the owner writes it (the figures are plain stores); the viewer may
 * read a figure one update older than another, never a torn one.
 *
 * Trade-offs. Watching is polling: every 10 ms (or a quarter of the
 * heartbeat timeout, if shorter) while the owner is in poll/run. That keeps
 * signal handlers out of the library and makes a heartbeat check and an
 * exit check the same loop. A worker is not killed for missing heartbeats:
 * "unhealthy" is shown, and it recovers with its next heartbeat.
 */
#include "internal.h"
#include "child.h"
#include "event_log.h"
#include "futex.h"
#include "object_types.h"
#include "process_control.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <synctop/supervisor.h>

#define ST_SUPERVISOR_HANDLE_MAGIC 0x53555056u  /* "SUPV" */
#define SUPERVISOR_CHECK_NS 10000000LL
#define SUPERVISOR_DEFAULT_STOP_TIMEOUT_NS 2000000000LL

typedef struct st_supervised_entry {
    char name[ST_PROCESS_NAME_MAX + 1];
    int32_t pid;                    /* current or last process */
    int32_t last_status;            /* wait status of the last failure */
    uint16_t restarts;
    uint8_t state;                  /* st_process_state */
    uint8_t gave_up;
    uint8_t has_failed;             /* last_status is meaningful */
    uint8_t pad[3];
} st_supervised_entry;

typedef struct st_supervisor_body {
    int32_t owner_pid;              /* 0: closed */
    uint32_t last_failed;           /* worker index + 1 of the latest failure, 0: none */
    uint64_t owner_start_ticks;
    uint32_t workers;
    uint32_t starting;
    uint32_t running;
    uint32_t unhealthy;
    uint32_t crashed;               /* crashed and not restarted (gave up) */
    uint32_t stopped;
    uint32_t gave_up;
    int32_t restart_limit;
    uint64_t restarts_total;
    uint64_t heartbeat_timeout_ns;
    st_supervised_entry entries[ST_SUPERVISOR_MAX_WORKERS];
} st_supervisor_body;

_Static_assert(sizeof(st_supervised_entry) == 48, "a worker entry is 48 bytes");
_Static_assert(sizeof(st_supervisor_body) <= ST_OBJECT_BODY_SIZE, "supervisor body fits its slot");

typedef struct supervised {
    char name[ST_PROCESS_NAME_MAX + 1];
    st_worker_main_fn main;
    void *arg;
    pid_t pid;                      /* running process, 0: none */
    pid_t last_pid;
    st_process_state state;
    uint32_t restarts;
    bool gave_up;
    bool has_failed;
    int last_status;
    uint64_t started_ns;            /* CLOCK_MONOTONIC, at fork */
    st_process_slot *slot;          /* its process slot, once seen */
} supervised;

struct st_supervisor {
    uint32_t magic;
    uint32_t index;
    st_table *table;
    st_object_slot *slot;
    st_supervisor_body *body;
    pid_t owner;
    int restart_limit;              /* < 0: never restart */
    int64_t heartbeat_timeout_ns;
    int64_t stop_timeout_ns;
    FILE *log;
    bool closing;                   /* no restarts any more */
    uint32_t count;
    supervised workers[ST_SUPERVISOR_MAX_WORKERS];
};

static const char *sup_name(const st_supervisor *sup)
{
    return sup->slot->header.name;
}

static void sup_log(const st_supervisor *sup, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void sup_log(const st_supervisor *sup, const char *format, ...)
{
    if (!sup->log)
        return;
    va_list ap;
    va_start(ap, format);
    fprintf(sup->log, "supervisor '%s': ", sup_name(sup));
    vfprintf(sup->log, format, ap);
    fputc('\n', sup->log);
    fflush(sup->log);
    va_end(ap);
}

static st_result check_handle(const st_supervisor *sup, const char *call)
{
    if (!sup || sup->magic != ST_SUPERVISOR_HANDLE_MAGIC)
        return st_fail(ST_EINVAL, "%s: invalid supervisor handle", call);
    if (sup->owner != st_self_pid)
        return st_fail(ST_EPERM, "%s: supervisor '%s' belongs to pid %d, the parent of its workers", call,
                       sup_name(sup), (int)sup->owner);
    return ST_OK;
}

static st_result check_timeout(int64_t timeout_ns, const char *call)
{
    if (timeout_ns < 0)
        return st_fail(ST_EINVAL, "%s: negative timeout %lld ns (use ST_FOREVER to wait without limit)", call,
                       (long long)timeout_ns);
    return ST_OK;
}

/* ---- publishing to the object slot --------------------------------------- */

static void publish(st_supervisor *sup)
{
    st_supervisor_body *b = sup->body;
    uint32_t by_state[ST_PROCESS_STATE_COUNT] = { 0 };
    uint32_t gave_up = 0;
    for (uint32_t i = 0; i < sup->count; i++) {
        const supervised *w = &sup->workers[i];
        st_supervised_entry *e = &b->entries[i];
        ST_STORE(e->pid, (int32_t)(w->pid ? w->pid : w->last_pid));
        ST_STORE(e->last_status, (int32_t)w->last_status);
        ST_STORE(e->restarts, (uint16_t)(w->restarts > UINT16_MAX ? UINT16_MAX : w->restarts));
        ST_STORE(e->state, (uint8_t)w->state);
        ST_STORE(e->gave_up, (uint8_t)w->gave_up);
        ST_STORE(e->has_failed, (uint8_t)w->has_failed);
        by_state[w->state]++;
        gave_up += w->gave_up;
    }
    ST_STORE(b->workers, sup->count);
    ST_STORE(b->starting, by_state[ST_PROCESS_STARTING]);
    ST_STORE(b->running, by_state[ST_PROCESS_RUNNING]);
    ST_STORE(b->unhealthy, by_state[ST_PROCESS_UNHEALTHY]);
    ST_STORE(b->crashed, by_state[ST_PROCESS_CRASHED]);
    ST_STORE(b->stopped, by_state[ST_PROCESS_STOPPED]);
    ST_STORE(b->gave_up, gave_up);
}

/* The worker's process slot, if it has registered (re-checked each time:
 * a released slot may be reused). */
static st_process_slot *worker_slot(st_supervisor *sup, supervised *w, pid_t pid)
{
    if (pid <= 0)
        return NULL;
    st_process_slot *slot = w->slot;
    if (!slot || __atomic_load_n(&slot->status, __ATOMIC_ACQUIRE) != ST_SLOT_LIVE || ST_LOAD(slot->pid) != pid)
        slot = w->slot = st_process_slot_of(sup->table, pid);
    return slot;
}

static void set_state(st_supervisor *sup, supervised *w, st_process_state state)
{
    w->state = state;
    st_process_slot *slot = worker_slot(sup, w, w->pid ? w->pid : w->last_pid);
    if (slot) {
        ST_STORE(slot->state, (uint32_t)state);
        ST_STORE(slot->restarts, w->restarts);
    }
}

/* ---- the worker's side ----------------------------------------------------- */

static void __attribute__((noreturn)) worker_child(st_supervisor *sup, supervised *w)
{
    st_child_bind_to_parent(sup->owner);
    signal(SIGTERM, SIG_DFL);  /* close stops workers with it, whatever the parent did with it */
    st_table *table = sup->table;
    if (st_process_register(table, w->name, "supervised") == ST_OK) {
        st_process_slot *slot = st_self_slot(table);
        if (slot) {
            ST_STORE(slot->restarts, w->restarts);
            ST_STORE(slot->state, (uint32_t)ST_PROCESS_STARTING);
        }
    }
    int status = w->main(table, w->arg);
    fflush(NULL);
    _exit(status & 0xff);
}

static st_result start(st_supervisor *sup, supervised *w)
{
    w->slot = NULL;
    w->started_ns = st_monotonic_ns();
    w->state = ST_PROCESS_STARTING;
    pid_t pid = st_child_fork();
    if (pid < 0) {
        w->pid = 0;
        return st_fail(errno == ENOMEM || errno == EAGAIN ? ST_ENOMEM : ST_ESYSTEM,
                       "supervisor '%s': cannot fork worker '%s': %s", sup_name(sup), w->name, strerror(errno));
    }
    if (pid == 0)
        worker_child(sup, w);
    w->pid = pid;
    w->last_pid = pid;
    sup_log(sup, "worker '%s' started (pid %d)", w->name, (int)pid);
    return ST_OK;
}

/* ---- watching ------------------------------------------------------------- */

static bool may_restart(const st_supervisor *sup, const supervised *w)
{
    return sup->restart_limit >= 0 && w->restarts < (uint32_t)sup->restart_limit;
}

/* The worker's process ended with status. */
static void worker_exited(st_supervisor *sup, uint32_t i, int status)
{
    supervised *w = &sup->workers[i];
    pid_t pid = w->pid;
    char how[64];
    st_child_describe_status(status, how, sizeof how);
    w->pid = 0;
    if (st_child_exited_cleanly(status)) {
        set_state(sup, w, ST_PROCESS_STOPPED);
        sup_log(sup, "worker '%s' (pid %d) stopped: %s", w->name, (int)pid, how);
        return;
    }
    w->has_failed = true;
    w->last_status = status;
    ST_STORE(sup->body->last_failed, i + 1);
    if (st_object_traced(sup->slot))
        st_event_log(sup->table, sup->index, ST_OP_JOIN, ST_EWORKERDIED, 0, (int64_t)pid);
    if (sup->closing) {
        set_state(sup, w, ST_PROCESS_CRASHED);
        sup_log(sup, "worker '%s' (pid %d) crashed: %s; not restarted, the supervisor is closing", w->name,
                (int)pid, how);
        return;
    }
    if (may_restart(sup, w)) {
        /* The dead process's slot goes; the new one registers its own. */
        st_process_release_of(sup->table, pid);
        w->restarts++;
        ST_STORE(sup->body->restarts_total, ST_LOAD(sup->body->restarts_total) + 1);
        sup_log(sup, "worker '%s' (pid %d) crashed: %s; restarting (%u of %d)", w->name, (int)pid, how,
                w->restarts, sup->restart_limit);
        if (start(sup, w) == ST_OK)
            return;
        sup_log(sup, "worker '%s': %s", w->name, st_error_detail());
    }
    w->gave_up = true;
    set_state(sup, w, ST_PROCESS_CRASHED);
    sup_log(sup, "worker '%s' (pid %d) crashed: %s; giving up after %u restart%s", w->name, (int)pid, how,
            w->restarts, w->restarts == 1 ? "" : "s");
}

/* The state a live worker is in now, judged by its heartbeat. */
static st_process_state judge(const st_supervisor *sup, const supervised *w, const st_process_slot *slot,
                              uint64_t now)
{
    if (!slot)  /* not registered yet (starting), or it unregistered itself: nothing new to judge by */
        return w->state;
    if (sup->heartbeat_timeout_ns == 0)
        return ST_PROCESS_RUNNING;
    uint64_t beat = ST_LOAD(slot->heartbeat_ns);
    uint64_t since = beat > w->started_ns ? beat : w->started_ns;
    if (now > since && now - since > (uint64_t)sup->heartbeat_timeout_ns)
        return ST_PROCESS_UNHEALTHY;
    return beat > w->started_ns ? ST_PROCESS_RUNNING : ST_PROCESS_STARTING;
}

/* One look at every worker; true when some state changed. */
static bool check_all(st_supervisor *sup)
{
    bool changed = false;
    uint64_t now = st_monotonic_ns();
    for (uint32_t i = 0; i < sup->count; i++) {
        supervised *w = &sup->workers[i];
        if (w->pid <= 0)
            continue;
        int status;
        if (st_child_reap(w->pid, &status)) {
            worker_exited(sup, i, status);
            changed = true;
            continue;
        }
        st_process_slot *slot = worker_slot(sup, w, w->pid);
        st_process_state state = judge(sup, w, slot, now);
        if (state != w->state) {
            if (state == ST_PROCESS_UNHEALTHY)
                sup_log(sup, "worker '%s' (pid %d) is unhealthy: no heartbeat for %.3f s", w->name, (int)w->pid,
                        (double)sup->heartbeat_timeout_ns / 1e9);
            else if (w->state == ST_PROCESS_UNHEALTHY)
                sup_log(sup, "worker '%s' (pid %d) is healthy again", w->name, (int)w->pid);
            set_state(sup, w, state);
            changed = true;
        } else if (state == ST_PROCESS_UNHEALTHY && slot && ST_LOAD(slot->state) != ST_PROCESS_UNHEALTHY) {
            /* The worker's own calls (blocked, unblocked) wrote over it. */
            ST_STORE(slot->state, (uint32_t)ST_PROCESS_UNHEALTHY);
        }
    }
    if (changed)
        publish(sup);
    return changed;
}

static bool all_finished(const st_supervisor *sup)
{
    for (uint32_t i = 0; i < sup->count; i++)
        if (sup->workers[i].pid > 0)
            return false;
    return true;
}

static int64_t check_interval(const st_supervisor *sup)
{
    int64_t interval = SUPERVISOR_CHECK_NS;
    if (sup->heartbeat_timeout_ns > 0 && sup->heartbeat_timeout_ns / 4 < interval)
        interval = sup->heartbeat_timeout_ns / 4 > 1000000 ? sup->heartbeat_timeout_ns / 4 : 1000000;
    return interval;
}

static void sleep_until_next_check(const st_supervisor *sup, const struct timespec *deadline, bool forever)
{
    struct timespec wake = st_deadline_after(check_interval(sup));
    if (!forever && (deadline->tv_sec < wake.tv_sec ||
                     (deadline->tv_sec == wake.tv_sec && deadline->tv_nsec < wake.tv_nsec)))
        wake = *deadline;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &wake, NULL) == EINTR) {}
}

typedef bool (*watch_done_fn)(const st_supervisor *sup, bool changed);

static st_result watch(st_supervisor *sup, int64_t timeout_ns, watch_done_fn done)
{
    bool forever = timeout_ns == ST_FOREVER;
    struct timespec deadline = st_deadline_after(forever ? 0 : timeout_ns);
    bool blocked = false;
    st_result result;
    for (;;) {
        bool changed = check_all(sup);
        if (done(sup, changed)) {
            result = ST_OK;
            break;
        }
        if (!forever && st_deadline_passed(&deadline)) {
            result = ST_ETIMEDOUT;
            break;
        }
        if (!blocked) {
            st_process_mark_blocked(sup->table, sup->index, ST_OP_WAIT);
            blocked = true;
        }
        sleep_until_next_check(sup, &deadline, forever);
    }
    if (blocked)
        st_process_mark_unblocked(sup->table);
    return result;
}

static bool some_change(const st_supervisor *sup, bool changed)
{
    (void)sup;
    return changed;
}

static bool nothing_left_running(const st_supervisor *sup, bool changed)
{
    (void)changed;
    return all_finished(sup);
}

st_result st_supervisor_poll(st_supervisor *sup, int64_t timeout_ns)
{
    st_result r = check_handle(sup, "st_supervisor_poll");
    if (r == ST_OK)
        r = check_timeout(timeout_ns, "st_supervisor_poll");
    if (r != ST_OK)
        return r;
    if (watch(sup, timeout_ns, some_change) != ST_OK)
        return st_fail(ST_ETIMEDOUT, "supervisor '%s': no worker changed state in time", sup_name(sup));
    return ST_OK;
}

st_result st_supervisor_run(st_supervisor *sup, int64_t timeout_ns)
{
    st_result r = check_handle(sup, "st_supervisor_run");
    if (r == ST_OK)
        r = check_timeout(timeout_ns, "st_supervisor_run");
    if (r != ST_OK)
        return r;
    if (watch(sup, timeout_ns, nothing_left_running) != ST_OK)
        return st_fail(ST_ETIMEDOUT, "supervisor '%s': workers still running at the timeout", sup_name(sup));
    return ST_OK;
}

/* ---- open, add, inspect, close ------------------------------------------- */

static bool owner_alive(pid_t pid, uint64_t start_ticks)
{
    if (pid <= 0)
        return false;
    if (start_ticks == 0)
        return kill(pid, 0) == 0 || errno == EPERM;
    return st_proc_is_alive(pid, start_ticks);
}

static st_result claim(st_supervisor_body *b, const char *name)
{
    int32_t current = ST_LOAD(b->owner_pid);
    for (;;) {
        if (current == (int32_t)st_self_pid ||
            (current != 0 && owner_alive(current, ST_LOAD(b->owner_start_ticks))))
            return st_fail(ST_EBUSY, "supervisor '%s' is already running, owned by pid %d; close it first or "
                           "choose another name", name, (int)current);
        if (__atomic_compare_exchange_n(&b->owner_pid, &current, (int32_t)st_self_pid, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return ST_OK;
    }
}

st_result st_supervisor_open(st_table *table, const char *name, const st_supervisor_options *options,
                             st_supervisor **out)
{
    if (!out)
        return st_fail(ST_EINVAL, "st_supervisor_open: out is NULL");
    *out = NULL;
    st_supervisor_options defaults = { 0 };
    const st_supervisor_options *o = options ? options : &defaults;
    if (o->heartbeat_timeout_ns < 0 || o->stop_timeout_ns < 0)
        return st_fail(ST_EINVAL, "st_supervisor_open: negative heartbeat or stop timeout");
    uint32_t index;
    st_result r = st_object_open(table, ST_TYPE_SUPERVISOR, name, NULL, NULL, &index);
    if (r != ST_OK)
        return r;
    st_object_slot *slot = st_object_slot_at(table, index);
    st_supervisor_body *body = (st_supervisor_body *)slot->body.raw;
    r = claim(body, name);
    if (r != ST_OK)
        return r;
    st_supervisor *sup = calloc(1, sizeof *sup);
    if (!sup) {
        __atomic_store_n(&body->owner_pid, 0, __ATOMIC_RELEASE);
        return st_fail(ST_ENOMEM, "out of memory for a supervisor handle");
    }
    sup->magic = ST_SUPERVISOR_HANDLE_MAGIC;
    sup->index = index;
    sup->table = table;
    sup->slot = slot;
    sup->body = body;
    sup->owner = st_self_pid;
    sup->restart_limit = o->restart_limit == 0 ? ST_SUPERVISOR_DEFAULT_RESTART_LIMIT : o->restart_limit;
    sup->heartbeat_timeout_ns = o->heartbeat_timeout_ns;
    sup->stop_timeout_ns = o->stop_timeout_ns ? o->stop_timeout_ns : SUPERVISOR_DEFAULT_STOP_TIMEOUT_NS;
    sup->log = o->log;
    /* Everything after owner_pid starts afresh (a reused name). */
    memset((uint8_t *)body + sizeof body->owner_pid, 0, sizeof *body - sizeof body->owner_pid);
    body->restart_limit = sup->restart_limit;
    body->heartbeat_timeout_ns = (uint64_t)sup->heartbeat_timeout_ns;
    uint64_t ticks = 0;
    st_proc_start_ticks(st_self_pid, &ticks);
    ST_STORE(body->owner_start_ticks, ticks);
    *out = sup;
    return ST_OK;
}

st_result st_supervisor_add(st_supervisor *sup, const char *worker_name, st_worker_main_fn main, void *arg)
{
    st_result r = check_handle(sup, "st_supervisor_add");
    if (r != ST_OK)
        return r;
    if (!worker_name || !worker_name[0])
        return st_fail(ST_EINVAL, "st_supervisor_add: the worker name is NULL or empty");
    if (strlen(worker_name) > ST_PROCESS_NAME_MAX)
        return st_fail(ST_ENAMETOOLONG, "st_supervisor_add: worker name '%s' is longer than %d bytes", worker_name,
                       ST_PROCESS_NAME_MAX);
    if (!main)
        return st_fail(ST_EINVAL, "st_supervisor_add: worker '%s' has no main function", worker_name);
    for (uint32_t i = 0; i < sup->count; i++)
        if (strcmp(sup->workers[i].name, worker_name) == 0)
            return st_fail(ST_EBUSY, "supervisor '%s' already has a worker called '%s'", sup_name(sup),
                           worker_name);
    if (sup->count >= ST_SUPERVISOR_MAX_WORKERS)
        return st_fail(ST_EFULL, "supervisor '%s' already watches %u workers, its maximum", sup_name(sup),
                       ST_SUPERVISOR_MAX_WORKERS);
    uint32_t i = sup->count;
    supervised *w = &sup->workers[i];
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "%s", worker_name);
    w->main = main;
    w->arg = arg;
    st_supervised_entry *e = &sup->body->entries[i];
    memcpy(e->name, w->name, sizeof e->name);
    r = start(sup, w);
    if (r != ST_OK)
        return r;
    sup->count++;
    publish(sup);
    return ST_OK;
}

uint32_t st_supervisor_worker_count(const st_supervisor *sup)
{
    if (!sup || sup->magic != ST_SUPERVISOR_HANDLE_MAGIC)
        return 0;
    return sup->count;
}

st_result st_supervisor_worker(const st_supervisor *sup, uint32_t i, st_supervisor_worker_info *info)
{
    if (!sup || sup->magic != ST_SUPERVISOR_HANDLE_MAGIC || !info)
        return st_fail(ST_EINVAL, "st_supervisor_worker: invalid supervisor handle or NULL info");
    if (i >= sup->count)
        return st_fail(ST_ENOENT, "supervisor '%s' has %u workers, no worker %u", sup_name(sup), sup->count, i);
    const supervised *w = &sup->workers[i];
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "%s", w->name);
    info->pid = w->pid ? w->pid : w->last_pid;
    info->state = w->state;
    info->restarts = w->restarts;
    info->gave_up = w->gave_up;
    if (w->has_failed)
        st_child_describe_status(w->last_status, info->last_failure, sizeof info->last_failure);
    return ST_OK;
}

st_result st_supervisor_worker_by_name(const st_supervisor *sup, const char *name, st_supervisor_worker_info *info)
{
    if (!sup || sup->magic != ST_SUPERVISOR_HANDLE_MAGIC || !name || !info)
        return st_fail(ST_EINVAL, "st_supervisor_worker_by_name: invalid handle, NULL name or NULL info");
    for (uint32_t i = 0; i < sup->count; i++)
        if (strcmp(sup->workers[i].name, name) == 0)
            return st_supervisor_worker(sup, i, info);
    return st_fail(ST_ENOENT, "supervisor '%s' has no worker called '%s'", sup_name(sup), name);
}

st_result st_supervisor_close(st_supervisor *sup)
{
    if (!sup || sup->magic != ST_SUPERVISOR_HANDLE_MAGIC)
        return st_fail(ST_EINVAL, "st_supervisor_close: invalid supervisor handle");
    if (sup->owner != st_self_pid) {
        pid_t owner = sup->owner;
        sup->magic = 0;
        free(sup);
        return st_fail(ST_EPERM, "st_supervisor_close: the supervisor belongs to pid %d; only this copy of the "
                       "handle was freed", (int)owner);
    }
    /* Catch exits that already happened: they keep their true outcome. */
    sup->closing = true;
    check_all(sup);
    pid_t pids[ST_SUPERVISOR_MAX_WORKERS];
    for (uint32_t i = 0; i < sup->count; i++)
        pids[i] = sup->workers[i].pid;
    st_child_stop_all(pids, NULL, sup->count, SIGTERM, sup->stop_timeout_ns);
    for (uint32_t i = 0; i < sup->count; i++) {
        supervised *w = &sup->workers[i];
        if (w->pid <= 0)
            continue;
        sup_log(sup, "worker '%s' (pid %d) stopped by close", w->name, (int)w->pid);
        w->pid = 0;
        set_state(sup, w, ST_PROCESS_STOPPED);
    }
    publish(sup);
    __atomic_store_n(&sup->body->owner_pid, 0, __ATOMIC_RELEASE);
    sup->magic = 0;
    free(sup);
    return ST_OK;
}

/* ---- the viewer's side ----------------------------------------------------- */

void st_supervisor_describe(const void *body, const st_clock_calibration *clock, st_object_view *view)
{
    (void)clock;
    const st_supervisor_body *b = body;
    st_field_pid(view, "owner", b->owner_pid);
    st_field_u64(view, "workers", b->workers, 0);
    st_field_u64(view, "starting", b->starting, 0);
    st_field_u64(view, "running", b->running, 0);
    st_field_u64(view, "unhealthy", b->unhealthy, 0);
    st_field_u64(view, "crashed", b->crashed, 0);
    st_field_u64(view, "stopped", b->stopped, 0);
    st_field_u64(view, "restarts_total", b->restarts_total, ST_FIELD_COUNTER);
    st_field_u64(view, "gave_up", b->gave_up, 0);
    st_field_i64(view, "restart_limit", b->restart_limit, 0);
    st_field_u64(view, "heartbeat_timeout_ns", b->heartbeat_timeout_ns, ST_FIELD_DURATION);
    /* The latest failure, as "<worker>: <how>". */
    char text[ST_PROCESS_NAME_MAX + 1 + 2 + 64] = "";
    uint32_t last = b->last_failed;
    if (last >= 1 && last <= ST_SUPERVISOR_MAX_WORKERS && b->entries[last - 1].has_failed) {
        const st_supervised_entry *e = &b->entries[last - 1];
        char how[64];
        st_child_describe_status(e->last_status, how, sizeof how);
        snprintf(text, sizeof text, "%.*s: %s", ST_PROCESS_NAME_MAX, e->name, how);
    }
    st_field_text(view, "last_failure", text, sizeof text);
}
