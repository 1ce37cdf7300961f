/* pool.c - a pool of worker processes running C functions (see pool.h).
 *
 * The idea. The owner (the process that opened the pool) forks N workers.
 * Tasks travel through a task table in a data segment: fixed-size task
 * slots, each with room for the largest input and output, and a FIFO ring
 * of queued slot numbers. One robust mutex in the pool's object slot guards
 * the ring, every slot's state and the figures next to it; two futex words
 * beside it carry the wake-ups: idle workers sleep on work_seq, the owner
 * sleeps on done_seq. A task's own bytes are written without the mutex by
 * whoever the slot's state says owns them (the owner while FREE, the worker
 * while RUNNING), and handed over by the state change made under it.
 *
 *   pool object slot body                 data segment (created, mapped,
 *   +-----------------------------+       then unlinked at once: workers
 *   | owner pid, start ticks      |       inherit the mapping by fork, so a
 *   | robust mutex (pshared)      |       dead owner leaks nothing)
 *   | work_seq, done_seq, closing |       +------------------------------+
 *   | ring head / tail            |       | ring: uint32 [2 * slots]     |
 *   | done ring head / tail       |       | done ring: uint32 [2 * slots]|
 *   | workers, busy, queued,      |       +------------------------------+
 *   | running, done, failed, ...  |       | task slot 0: header (state,  |
 *   +-----------------------------+       |  worker pid, fn, sizes,      |
 *                                         |  result, message) | input    |
 *                                         |  (max_input) | output (max)|
 *                                         | task slot 1 ...              |
 *                                         +------------------------------+
 *
 * A task slot's life: FREE -(owner submits: queue ring)-> QUEUED -(a worker
 * pops it)-> RUNNING -(the worker finishes, or the owner finds the worker
 * dead: done ring)-> FINISHED -(the owner pops it)-> COLLECTING -(callback
 * runs)-> DELIVERING -> FREE. Only the owner moves a slot out of FINISHED,
 * so callbacks run in the owner, and a callback may submit again: the slot
 * it reads stays DELIVERING (its output valid) until it returns. The done
 * ring holds each FINISHED slot once (plus, rarely, a stale entry left by a
 * worker killed mid-push), and collecting costs what finished, not the
 * table's size.
 *
 * Crashes. A worker runs its task without holding the mutex, so dying
 * mid-task wedges nothing; its slot says RUNNING with its pid. The owner
 * reaps its workers (waitpid on their pids, never -1) every time it waits,
 * waking at least every 10 ms for that: a reaped worker's RUNNING task is
 * failed with ST_EWORKERDIED and a fresh worker takes its place. A worker
 * killed while holding the mutex leaves it to the robust-futex list: the
 * next locker makes it consistent (a worker pops a task by marking the slot
 * RUNNING before advancing the ring head, and skips ring entries whose slot
 * is not QUEUED, so a half-done pop loses nothing).
 *
 * Wake-ups cost a system call each, so they are made only for someone
 * asleep: a submit wakes a worker only if one sleeps (workers_sleeping,
 * counted under the mutex), a finish wakes the owner only if it announced
 * its sleep (owner_sleeping, stored before it re-reads done_seq: one of the
 * two sides always sees the other).
 *
 * Trade-offs. Fixed slots bound memory and make "too large" a clear error
 * (ST_EOVERFLOW) rather than a hidden copy; the owner waiting in 10 ms
 * slices costs ~100 wake-ups a second while it waits, the price of noticing
 * a crash without signal handlers (which belong to the application).
 */
#include "internal.h"
#include "child.h"
#include "event_log.h"
#include "futex.h"
#include "object_types.h"
#include "process_control.h"
#include "segment.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <synctop/pool.h>

#define ST_POOL_HANDLE_MAGIC 0x504f4f4cu  /* "POOL" */
#define POOL_CRASH_CHECK_NS 10000000LL     /* the owner looks for dead workers this often while waiting */
#define POOL_DEFAULT_CLOSE_TIMEOUT_NS 5000000000LL
#define POOL_MAX_SEGMENT_BYTES (1ull << 30)

typedef struct st_pool_body {
    int32_t owner_pid;              /* 0: closed, free for the next opener */
    uint32_t reserved;
    uint64_t owner_start_ticks;
    pthread_mutex_t mutex;          /* robust, pshared: guards everything below and the task states */
    uint32_t work_seq;              /* futex: bumped when a task is queued or the pool closes */
    uint32_t done_seq;              /* futex: bumped when a task finishes */
    uint32_t closing;               /* workers exit once the queue is empty */
    uint32_t workers_sleeping;      /* idle workers in futex_wait on work_seq: a submit wakes one only then */
    uint32_t owner_sleeping;        /* the owner is in futex_wait on done_seq: a finish wakes it only then */
    uint32_t ring_size;
    uint64_t ring_head;             /* entries [head, tail) of the ring are queued slot numbers */
    uint64_t ring_tail;
    uint64_t done_head;             /* entries [head, tail) of the done ring (also ring_size long) are
                                       FINISHED slot numbers */
    uint64_t done_tail;
    /* creation parameters */
    uint32_t workers_wanted;
    uint32_t task_slots;
    uint32_t max_input_bytes;
    uint32_t max_output_bytes;
    /* figures */
    uint32_t workers;               /* live worker processes */
    uint32_t workers_busy;          /* running a task */
    uint32_t tasks_queued;
    uint32_t tasks_running;
    uint64_t tasks_submitted;
    uint64_t tasks_done;
    uint64_t tasks_failed;
    uint64_t workers_replaced;
    uint64_t task_ns_total;         /* time workers spent in tasks */
    uint64_t task_ns_max;
} st_pool_body;

_Static_assert(sizeof(st_pool_body) <= ST_OBJECT_BODY_SIZE, "pool body fits its slot");

enum task_state {
    TASK_FREE = 0,
    TASK_QUEUED,
    TASK_RUNNING,
    TASK_FINISHED,
    TASK_COLLECTING,                /* owner only, from here on */
    TASK_DELIVERING,
};

typedef struct task_header {
    uint32_t state;                 /* enum task_state, changed under the mutex */
    int32_t worker_pid;             /* who runs it (RUNNING) */
    uint64_t task_id;
    st_task_fn fn;                  /* valid in the workers: same binary, forked */
    uint32_t input_size;
    uint32_t output_capacity;
    uint32_t output_size;
    int32_t result;                 /* st_result */
    uint64_t run_ns;
    char message[ST_POOL_MESSAGE_MAX + 1];
} task_header;

#define TASK_DATA_OFFSET ((sizeof(task_header) + 63u) & ~(size_t)63u)

/* The owner's private record of what to do with a task's result. */
enum record_kind {
    RECORD_NONE = 0,                /* the slot is FREE */
    RECORD_ASYNC,
    RECORD_MAP,
    RECORD_DROP,                    /* its map timed out: throw the result away */
};

typedef struct map_call {
    void *outputs;
    size_t output_stride;
    st_pool_outcome *outcomes;
    size_t remaining;
    size_t first_failed;            /* SIZE_MAX: none yet */
    st_result first_code;
    char first_message[ST_POOL_MESSAGE_MAX + 1];
} map_call;

typedef struct task_record {
    enum record_kind kind;
    st_pool_result_fn on_result;
    st_pool_error_fn on_error;
    void *context;
    map_call *map;
    size_t item;
} task_record;

struct st_pool {
    uint32_t magic;
    uint32_t index;
    st_table *table;
    st_object_slot *slot;
    st_pool_body *body;
    pid_t owner;
    st_segment segment;
    uint32_t *ring;
    uint32_t *done_ring;
    uint8_t *tasks;
    size_t task_stride;
    uint32_t task_slots;
    uint32_t max_input_bytes;
    uint32_t max_output_bytes;
    int64_t close_timeout_ns;
    uint32_t worker_count;
    pid_t *worker_pids;             /* 0: gone, not replaced */
    task_record *records;
    uint32_t pending_async;
    uint32_t free_hint;
    uint64_t next_task_id;
    bool closing;
};

/* ---- small helpers ---------------------------------------------------- */

static const char *pool_name(const st_pool *pool)
{
    return pool->slot->header.name;
}

static task_header *task_at(const st_pool *pool, uint32_t i)
{
    return (task_header *)(pool->tasks + (size_t)i * pool->task_stride);
}

static uint8_t *task_input(const st_pool *pool, uint32_t i)
{
    return (uint8_t *)task_at(pool, i) + TASK_DATA_OFFSET;
}

static uint8_t *task_output(const st_pool *pool, uint32_t i)
{
    return task_input(pool, i) + (((size_t)pool->max_input_bytes + 63u) & ~(size_t)63u);
}

static void pool_lock(st_pool_body *b)
{
    if (pthread_mutex_lock(&b->mutex) == EOWNERDEAD)
        pthread_mutex_consistent(&b->mutex);  /* a worker died in a few-instruction update: see the top */
}

static void pool_unlock(st_pool_body *b)
{
    pthread_mutex_unlock(&b->mutex);
}

static void copy_message(char *dst, const char *src)
{
    snprintf(dst, ST_POOL_MESSAGE_MAX + 1, "%s", src ? src : "");
}

static bool owner_alive(pid_t pid, uint64_t start_ticks)
{
    if (pid <= 0)
        return false;
    if (start_ticks == 0)  /* being claimed right now: its ticks are on the way */
        return kill(pid, 0) == 0 || errno == EPERM;
    return st_proc_is_alive(pid, start_ticks);
}

static st_result check_handle(const st_pool *pool, const char *call)
{
    if (!pool || pool->magic != ST_POOL_HANDLE_MAGIC)
        return st_fail(ST_EINVAL, "%s: invalid pool handle", call);
    if (pool->owner != st_self_pid)
        return st_fail(ST_EPERM, "%s: pool '%s' belongs to pid %d, which forked its workers; only it can "
                       "submit tasks and collect results", call, pool_name(pool), (int)pool->owner);
    if (pool->closing)
        return st_fail(ST_ECLOSED, "%s: pool '%s' is closing", call, pool_name(pool));
    return ST_OK;
}

static st_result check_timeout(int64_t timeout_ns, const char *call)
{
    if (timeout_ns < 0)
        return st_fail(ST_EINVAL, "%s: negative timeout %lld ns (use ST_FOREVER to wait without limit)", call,
                       (long long)timeout_ns);
    return ST_OK;
}

/* ---- the worker ------------------------------------------------------- */

st_result st_task_error(st_result code, const char *format, ...)
{
    char message[ST_POOL_MESSAGE_MAX + 1];
    va_list ap;
    va_start(ap, format);
    vsnprintf(message, sizeof message, format, ap);
    va_end(ap);
    return st_fail(code, "%s", message);
}

static void worker_process_name(const st_pool *pool, uint32_t n, char out[ST_PROCESS_NAME_MAX + 1])
{
    char suffix[24];
    int suffix_len = snprintf(suffix, sizeof suffix, "-worker-%u", n);
    char shortened[ST_PROCESS_NAME_MAX + 1];
    /* Shortened at a character boundary, so the name stays valid UTF-8. */
    st_text_sanitize(pool_name(pool), (size_t)-1, shortened, (size_t)(ST_PROCESS_NAME_MAX - suffix_len + 1), 0);
    size_t length = strlen(shortened);
    memcpy(out, shortened, length);
    memcpy(out + length, suffix, (size_t)suffix_len + 1);   /* fits: shortened left room for it */
}

/* Under the mutex: the next queued task, marked RUNNING by the caller;
 * UINT32_MAX when the queue is empty. */
static uint32_t pop_queued(st_pool *pool)
{
    st_pool_body *b = pool->body;
    while (b->ring_head != b->ring_tail) {
        uint32_t i = pool->ring[b->ring_head % b->ring_size];
        if (i < pool->task_slots && task_at(pool, i)->state == TASK_QUEUED) {
            task_header *t = task_at(pool, i);
            ST_STORE(t->state, (uint32_t)TASK_RUNNING);
            ST_STORE(t->worker_pid, (int32_t)st_self_pid);
            b->ring_head++;  /* after the state: see "a half-done pop" at the top */
            return i;
        }
        b->ring_head++;  /* stale entry: its task was already failed */
    }
    return UINT32_MAX;
}

static void run_task(st_pool *pool, uint32_t i)
{
    task_header *t = task_at(pool, i);
    size_t produced = 0;
    st_clear_detail();
    uint64_t start = st_monotonic_ns();
    st_result r = t->fn(task_input(pool, i), t->input_size, task_output(pool, i), t->output_capacity, &produced);
    uint64_t took = st_monotonic_ns() - start;
    if (r == ST_OK && produced > t->output_capacity) {
        r = st_fail(ST_EOVERFLOW, "the task wrote %zu bytes, more than the %u its output may hold", produced,
                    t->output_capacity);
    }
    if ((unsigned)r >= ST_RESULT_COUNT)
        r = st_fail(ST_ESYSTEM, "the task returned %d, which is not an st_result", (int)r);
    t->result = (int32_t)r;
    t->output_size = r == ST_OK ? (uint32_t)produced : 0;
    t->run_ns = took;
    if (r != ST_OK) {
        const char *detail = st_error_detail();
        copy_message(t->message, detail[0] ? detail : st_strerror(r));
    }
}

/* Under the mutex: slot i is FINISHED; tell the owner. The state changes
 * last: a worker killed before it leaves the task RUNNING, to be failed by
 * the owner (its extra done-ring entry is skipped when popped). */
static void push_finished_locked(st_pool *pool, uint32_t i)
{
    st_pool_body *b = pool->body;
    pool->done_ring[b->done_tail % b->ring_size] = i;
    b->done_tail++;
    ST_STORE(task_at(pool, i)->state, (uint32_t)TASK_FINISHED);
    __atomic_add_fetch(&b->done_seq, 1u, __ATOMIC_SEQ_CST);
}

/* After push_finished_locked, outside the mutex. */
static void wake_owner(st_pool_body *b)
{
    if (__atomic_load_n(&b->owner_sleeping, __ATOMIC_SEQ_CST))
        st_futex_wake(&b->done_seq, 1);
}

static void finish_task(st_pool *pool, uint32_t i)
{
    st_pool_body *b = pool->body;
    task_header *t = task_at(pool, i);
    ST_BUMP(b->tasks_running, -1u);
    ST_BUMP(b->workers_busy, -1u);
    if (t->result == ST_OK)
        ST_BUMP(b->tasks_done, 1u);
    else
        ST_BUMP(b->tasks_failed, 1u);
    ST_BUMP(b->task_ns_total, t->run_ns);
    if (t->run_ns > ST_LOAD(b->task_ns_max))
        ST_STORE(b->task_ns_max, t->run_ns);
    push_finished_locked(pool, i);
}

static void __attribute__((noreturn)) worker_main(st_pool *pool, uint32_t n)
{
    st_child_bind_to_parent(pool->owner);
    char name[ST_PROCESS_NAME_MAX + 1];
    worker_process_name(pool, n, name);
    st_process_register(pool->table, name, "pool-worker");
    st_pool_body *b = pool->body;
    pool_lock(b);
    for (;;) {
        uint32_t i = pop_queued(pool);
        if (i == UINT32_MAX) {
            if (ST_LOAD(b->closing))
                break;
            uint32_t seq = __atomic_load_n(&b->work_seq, __ATOMIC_ACQUIRE);
            ST_BUMP(b->workers_sleeping, 1u);
            pool_unlock(b);
            st_process_mark_blocked(pool->table, pool->index, ST_OP_GET);
            st_futex_wait(&b->work_seq, seq, NULL);
            st_process_mark_unblocked(pool->table);
            pool_lock(b);
            ST_BUMP(b->workers_sleeping, -1u);
            continue;
        }
        ST_BUMP(b->tasks_queued, -1u);
        ST_BUMP(b->tasks_running, 1u);
        ST_BUMP(b->workers_busy, 1u);
        pool_unlock(b);
        run_task(pool, i);
        pool_lock(b);
        finish_task(pool, i);
        pool_unlock(b);
        wake_owner(b);
        pool_lock(b);
    }
    pool_unlock(b);
    st_process_unregister(pool->table);
    _exit(0);
}

/* Fork worker n (owner side). */
static st_result start_worker(st_pool *pool, uint32_t n)
{
    pid_t pid = st_child_fork();
    if (pid < 0) {
        pool->worker_pids[n] = 0;
        return st_fail(errno == ENOMEM || errno == EAGAIN ? ST_ENOMEM : ST_ESYSTEM,
                       "pool '%s': cannot fork worker %u: %s", pool_name(pool), n, strerror(errno));
    }
    if (pid == 0)
        worker_main(pool, n);
    pool->worker_pids[n] = pid;
    pool_lock(pool->body);
    ST_BUMP(pool->body->workers, 1u);
    pool_unlock(pool->body);
    return ST_OK;
}

/* ---- the owner: submitting ------------------------------------------- */

static uint32_t find_free_slot(st_pool *pool)
{
    for (uint32_t k = 0; k < pool->task_slots; k++) {
        uint32_t i = (pool->free_hint + k) % pool->task_slots;
        if (pool->records[i].kind == RECORD_NONE) {
            pool->free_hint = (i + 1) % pool->task_slots;
            return i;
        }
    }
    return UINT32_MAX;
}

/* Under the mutex: drop the ring's stale entries (left by workers killed in
 * the middle of a pop). Each queued task has one entry, so the ring, twice
 * the slot count, only fills up after many such deaths. */
static void compact_ring_locked(st_pool *pool)
{
    st_pool_body *b = pool->body;
    uint64_t kept = 0;
    for (uint64_t n = b->ring_head; n != b->ring_tail; n++) {
        uint32_t i = pool->ring[n % b->ring_size];
        if (i < pool->task_slots && task_at(pool, i)->state == TASK_QUEUED)
            pool->ring[(b->ring_head + kept++) % b->ring_size] = i;
    }
    b->ring_tail = b->ring_head + kept;
}

/* Queue fn(input) in a free slot with record; false when none is free. */
static bool submit(st_pool *pool, st_task_fn fn, const void *input, size_t input_size, size_t output_capacity,
                   const task_record *record)
{
    uint32_t i = find_free_slot(pool);
    if (i == UINT32_MAX)
        return false;
    task_header *t = task_at(pool, i);  /* FREE: ours to write */
    t->worker_pid = 0;
    t->task_id = ++pool->next_task_id;
    t->fn = fn;
    t->input_size = (uint32_t)input_size;
    t->output_capacity = (uint32_t)output_capacity;
    t->output_size = 0;
    t->result = ST_OK;
    t->run_ns = 0;
    t->message[0] = '\0';
    if (input_size)
        memcpy(task_input(pool, i), input, input_size);
    pool->records[i] = *record;
    st_pool_body *b = pool->body;
    pool_lock(b);
    if (b->ring_tail - b->ring_head >= b->ring_size)
        compact_ring_locked(pool);
    ST_STORE(t->state, (uint32_t)TASK_QUEUED);
    pool->ring[b->ring_tail % b->ring_size] = i;
    b->ring_tail++;
    ST_BUMP(b->tasks_queued, 1u);
    ST_BUMP(b->tasks_submitted, 1u);
    uint32_t queued = b->tasks_queued;
    __atomic_add_fetch(&b->work_seq, 1u, __ATOMIC_RELEASE);
    bool someone_sleeps = b->workers_sleeping > 0;
    pool_unlock(b);
    if (someone_sleeps)
        st_futex_wake(&b->work_seq, 1);
    if (st_object_traced(pool->slot))
        st_event_log(pool->table, pool->index, ST_OP_PUT, ST_OK, 0, (int64_t)queued);
    return true;
}

/* ---- the owner: collecting ------------------------------------------- */

static void deliver_map_item(st_pool *pool, uint32_t i, const task_record *rec)
{
    task_header *t = task_at(pool, i);
    map_call *m = rec->map;
    st_result r = (st_result)t->result;
    if (r == ST_OK && m->outputs && t->output_size)
        memcpy((uint8_t *)m->outputs + rec->item * m->output_stride, task_output(pool, i), t->output_size);
    if (m->outcomes) {
        st_pool_outcome *o = &m->outcomes[rec->item];
        o->result = r;
        o->output_size = r == ST_OK ? t->output_size : 0;
        copy_message(o->message, r == ST_OK ? "" : t->message);
    }
    if (r != ST_OK && rec->item < m->first_failed) {
        m->first_failed = rec->item;
        m->first_code = r;
        copy_message(m->first_message, t->message);
    }
    m->remaining--;
}

/* Run the callback of slot i (COLLECTING) and free it. */
static void deliver(st_pool *pool, uint32_t i)
{
    task_header *t = task_at(pool, i);
    task_record rec = pool->records[i];
    __atomic_store_n(&t->state, (uint32_t)TASK_DELIVERING, __ATOMIC_RELAXED);
    st_result r = (st_result)t->result;
    if (st_object_traced(pool->slot))
        st_event_log(pool->table, pool->index, ST_OP_GET, r, t->run_ns, (int64_t)t->task_id);
    switch (rec.kind) {
    case RECORD_ASYNC:
        pool->pending_async--;
        if (r == ST_OK) {
            if (rec.on_result)
                rec.on_result(rec.context, task_output(pool, i), t->output_size);
        } else if (rec.on_error) {
            rec.on_error(rec.context, r, t->message);
        }
        break;
    case RECORD_MAP:
        deliver_map_item(pool, i, &rec);
        break;
    default:
        break;
    }
    pool->records[i].kind = RECORD_NONE;
    __atomic_store_n(&t->state, (uint32_t)TASK_FREE, __ATOMIC_RELAXED);
}

#define COLLECT_BATCH 64

/* Take every finished task and run its callback. Returns how many. A
 * callback may collect too (through apply_async or map): each call delivers
 * only the slots it popped, so every slot is delivered exactly once. */
static uint32_t collect(st_pool *pool)
{
    st_pool_body *b = pool->body;
    uint32_t ran = 0;
    for (;;) {
        uint32_t batch[COLLECT_BATCH];
        uint32_t taken = 0;
        pool_lock(b);
        while (taken < COLLECT_BATCH && b->done_head != b->done_tail) {
            uint32_t i = pool->done_ring[b->done_head % b->ring_size];
            b->done_head++;
            if (i < pool->task_slots && task_at(pool, i)->state == TASK_FINISHED) {
                ST_STORE(task_at(pool, i)->state, (uint32_t)TASK_COLLECTING);
                batch[taken++] = i;
            }
        }
        pool_unlock(b);
        for (uint32_t k = 0; k < taken; k++)
            deliver(pool, batch[k]);
        ran += taken;
        if (taken < COLLECT_BATCH)
            return ran;
    }
}

/* Under the mutex: fail a task whose worker is gone. */
static void fail_task_locked(st_pool *pool, uint32_t i, st_result code, const char *message)
{
    st_pool_body *b = pool->body;
    task_header *t = task_at(pool, i);
    if (t->state == TASK_RUNNING) {
        ST_BUMP(b->tasks_running, -1u);
        ST_BUMP(b->workers_busy, -1u);
    } else if (t->state == TASK_QUEUED) {
        ST_BUMP(b->tasks_queued, -1u);
    } else {
        return;
    }
    t->result = (int32_t)code;
    t->output_size = 0;
    copy_message(t->message, message);
    ST_BUMP(b->tasks_failed, 1u);
    push_finished_locked(pool, i);
}

/* A worker was reaped with status: fail its task, free its process slot. */
static void worker_gone(st_pool *pool, uint32_t n, pid_t pid, int status)
{
    char how[48];
    st_child_describe_status(status, how, sizeof how);
    char message[ST_POOL_MESSAGE_MAX + 1];
    snprintf(message, sizeof message, "worker %u (pid %d) died running the task: %s", n, (int)pid, how);
    st_pool_body *b = pool->body;
    pool_lock(b);
    for (uint32_t i = 0; i < pool->task_slots; i++) {
        task_header *t = task_at(pool, i);
        if (t->state == TASK_RUNNING && t->worker_pid == pid)
            fail_task_locked(pool, i, ST_EWORKERDIED, message);
    }
    ST_BUMP(b->workers, -1u);
    pool_unlock(b);
    st_process_release_of(pool->table, pid);
    pool->worker_pids[n] = 0;
}

/* Reap dead workers; replace them unless the pool is closing. */
static void reap_workers(st_pool *pool)
{
    for (uint32_t n = 0; n < pool->worker_count; n++) {
        pid_t pid = pool->worker_pids[n];
        int status;
        if (pid <= 0 || !st_child_reap(pid, &status))
            continue;
        worker_gone(pool, n, pid, status);
        if (!pool->closing && start_worker(pool, n) == ST_OK) {
            pool_lock(pool->body);
            ST_BUMP(pool->body->workers_replaced, 1u);
            pool_unlock(pool->body);
        }
    }
}

static uint32_t live_workers(const st_pool *pool)
{
    uint32_t live = 0;
    for (uint32_t n = 0; n < pool->worker_count; n++)
        if (pool->worker_pids[n] > 0)
            live++;
    return live;
}

/* One round of waiting: reap, collect, and if done(pool, arg) is still
 * false, sleep until a task finishes or POOL_CRASH_CHECK_NS passes.
 * Returns ST_OK once done() holds, ST_ETIMEDOUT at the deadline. */
typedef bool (*wait_done_fn)(st_pool *pool, void *arg, uint32_t ran);

static st_result wait_until(st_pool *pool, int64_t timeout_ns, wait_done_fn done, void *arg, uint32_t *ran_total)
{
    st_pool_body *b = pool->body;
    struct timespec deadline = st_deadline_after(timeout_ns == ST_FOREVER ? 0 : timeout_ns);
    bool blocked = false;
    uint32_t ran = 0;
    st_result result;
    for (;;) {
        uint32_t seq = __atomic_load_n(&b->done_seq, __ATOMIC_ACQUIRE);
        reap_workers(pool);
        ran += collect(pool);
        if (done(pool, arg, ran)) {
            result = ST_OK;
            break;
        }
        if (timeout_ns != ST_FOREVER && st_deadline_passed(&deadline)) {
            result = ST_ETIMEDOUT;
            break;
        }
        struct timespec slice = st_deadline_after(POOL_CRASH_CHECK_NS);
        if (timeout_ns != ST_FOREVER && (deadline.tv_sec < slice.tv_sec ||
                                         (deadline.tv_sec == slice.tv_sec && deadline.tv_nsec < slice.tv_nsec)))
            slice = deadline;
        if (!blocked) {
            st_process_mark_blocked(pool->table, pool->index, ST_OP_WAIT);
            blocked = true;
        }
        /* Announce the sleep, then re-check: a worker finishing now either
         * sees owner_sleeping or its done_seq bump is seen here. */
        __atomic_store_n(&b->owner_sleeping, 1u, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&b->done_seq, __ATOMIC_SEQ_CST) == seq)
            st_futex_wait(&b->done_seq, seq, &slice);
        __atomic_store_n(&b->owner_sleeping, 0u, __ATOMIC_RELAXED);
    }
    if (blocked)
        st_process_mark_unblocked(pool->table);
    if (ran_total)
        *ran_total = ran;
    return result;
}

/* ---- open ------------------------------------------------------------- */

static st_result check_options(const st_pool_options *o)
{
    if (!o)
        return st_fail(ST_EINVAL, "st_pool_open: options is NULL (at least the worker count is needed)");
    if (o->workers == 0 || o->workers > ST_POOL_MAX_WORKERS)
        return st_fail(ST_EINVAL, "st_pool_open: %u workers; a pool has 1 to %u", o->workers, ST_POOL_MAX_WORKERS);
    if (o->task_slots > ST_POOL_MAX_TASKS)
        return st_fail(ST_EINVAL, "st_pool_open: %u task slots; at most %u", o->task_slots, ST_POOL_MAX_TASKS);
    if (o->max_input_bytes > ST_POOL_MAX_TASK_BYTES || o->max_output_bytes > ST_POOL_MAX_TASK_BYTES)
        return st_fail(ST_EOVERFLOW, "st_pool_open: task input/output of %u/%u bytes; at most %u each",
                       o->max_input_bytes, o->max_output_bytes, ST_POOL_MAX_TASK_BYTES);
    if (o->close_timeout_ns < 0)
        return st_fail(ST_EINVAL, "st_pool_open: negative close timeout");
    return ST_OK;
}

/* Become the pool's owner: it has none, or its owner died. */
static st_result claim(st_pool_body *b, const char *name)
{
    int32_t current = ST_LOAD(b->owner_pid);
    for (;;) {
        if (current == (int32_t)st_self_pid ||
            (current != 0 && owner_alive(current, ST_LOAD(b->owner_start_ticks))))
            return st_fail(ST_EBUSY, "pool '%s' is already running, owned by pid %d; close it first or choose "
                           "another name", name, (int)current);
        if (__atomic_compare_exchange_n(&b->owner_pid, &current, (int32_t)st_self_pid, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return ST_OK;
    }
}

static st_result create_task_table(st_pool *pool, const st_pool_options *o)
{
    size_t ring_bytes = ((size_t)4 * pool->task_slots * sizeof(uint32_t) + 63u) & ~(size_t)63u;
    pool->task_stride = TASK_DATA_OFFSET + (((size_t)pool->max_input_bytes + 63u) & ~(size_t)63u) +
                        (((size_t)pool->max_output_bytes + 63u) & ~(size_t)63u);
    uint64_t size = ring_bytes + (uint64_t)pool->task_stride * pool->task_slots;
    if (size > POOL_MAX_SEGMENT_BYTES)
        return st_fail(ST_EOVERFLOW, "pool '%s': %u task slots of %zu bytes need %llu bytes, more than the "
                       "%llu allowed; ask for fewer slots or smaller tasks", pool_name(pool), pool->task_slots,
                       pool->task_stride, (unsigned long long)size, (unsigned long long)POOL_MAX_SEGMENT_BYTES);
    (void)o;
    char name[ST_SEGMENT_NAME_MAX];
    st_result r = st_segment_name(pool->table, "pool", pool->index, st_realtime_ns(), name);
    if (r == ST_OK)
        r = st_segment_create(name, (size_t)size, &pool->segment);
    if (r != ST_OK)
        return r;
    /* Workers inherit the mapping: nobody needs the name, and unlinking it
     * now means a crashed owner leaks nothing. */
    st_segment_unlink(name);
    pool->ring = pool->segment.base;
    pool->done_ring = pool->ring + 2 * (size_t)pool->task_slots;
    pool->tasks = (uint8_t *)pool->segment.base + ring_bytes;
    return ST_OK;
}

static void init_body(st_pool_body *b, const st_pool *pool)
{
    /* owner_pid is ours already; everything after it starts afresh. */
    memset((uint8_t *)b + offsetof(st_pool_body, owner_start_ticks), 0,
           sizeof *b - offsetof(st_pool_body, owner_start_ticks));
    st_robust_mutex_init(&b->mutex);
    b->ring_size = 2 * pool->task_slots;
    b->workers_wanted = pool->worker_count;
    b->task_slots = pool->task_slots;
    b->max_input_bytes = pool->max_input_bytes;
    b->max_output_bytes = pool->max_output_bytes;
    uint64_t ticks = 0;
    st_proc_start_ticks(st_self_pid, &ticks);
    ST_STORE(b->owner_start_ticks, ticks);
}

static void free_handle(st_pool *pool)
{
    st_segment_close(&pool->segment);
    free(pool->worker_pids);
    free(pool->records);
    pool->magic = 0;
    free(pool);
}

static void release_ownership(st_pool *pool)
{
    st_pool_body *b = pool->body;
    pool_lock(b);
    ST_STORE(b->workers, 0u);
    ST_STORE(b->workers_busy, 0u);
    ST_STORE(b->tasks_queued, 0u);
    ST_STORE(b->tasks_running, 0u);
    pool_unlock(b);
    __atomic_store_n(&b->owner_pid, 0, __ATOMIC_RELEASE);
}

/* SIGKILL and reap every worker left, and free their process slots. */
static void stop_workers_now(st_pool *pool)
{
    pid_t pids[ST_POOL_MAX_WORKERS];
    memcpy(pids, pool->worker_pids, pool->worker_count * sizeof *pids);
    st_child_stop_all(pool->worker_pids, NULL, pool->worker_count, SIGKILL, 0);
    for (uint32_t n = 0; n < pool->worker_count; n++)
        if (pids[n] > 0)
            st_process_release_of(pool->table, pids[n]);
}

st_result st_pool_open(st_table *table, const char *name, const st_pool_options *options, st_pool **out)
{
    if (!out)
        return st_fail(ST_EINVAL, "st_pool_open: out is NULL");
    *out = NULL;
    st_result r = check_options(options);
    if (r != ST_OK)
        return r;
    uint32_t index;
    r = st_object_open(table, ST_TYPE_POOL, name, NULL, NULL, &index);
    if (r != ST_OK)
        return r;
    st_object_slot *slot = st_object_slot_at(table, index);
    st_pool_body *body = (st_pool_body *)slot->body.raw;
    r = claim(body, name);
    if (r != ST_OK)
        return r;
    st_pool *pool = calloc(1, sizeof *pool);
    if (!pool) {
        __atomic_store_n(&body->owner_pid, 0, __ATOMIC_RELEASE);
        return st_fail(ST_ENOMEM, "out of memory for a pool handle");
    }
    pool->magic = ST_POOL_HANDLE_MAGIC;
    pool->index = index;
    pool->table = table;
    pool->slot = slot;
    pool->body = body;
    pool->owner = st_self_pid;
    pool->worker_count = options->workers;
    pool->task_slots = options->task_slots ? options->task_slots : ST_POOL_DEFAULT_TASKS;
    pool->max_input_bytes = options->max_input_bytes ? options->max_input_bytes : ST_POOL_DEFAULT_TASK_BYTES;
    pool->max_output_bytes = options->max_output_bytes ? options->max_output_bytes : ST_POOL_DEFAULT_TASK_BYTES;
    pool->close_timeout_ns = options->close_timeout_ns ? options->close_timeout_ns : POOL_DEFAULT_CLOSE_TIMEOUT_NS;
    pool->worker_pids = calloc(pool->worker_count, sizeof *pool->worker_pids);
    pool->records = calloc(pool->task_slots, sizeof *pool->records);
    if (!pool->worker_pids || !pool->records) {
        r = st_fail(ST_ENOMEM, "out of memory for pool '%s'", name);
        goto fail;
    }
    r = create_task_table(pool, options);
    if (r != ST_OK)
        goto fail;
    init_body(body, pool);
    for (uint32_t n = 0; n < pool->worker_count; n++) {
        r = start_worker(pool, n);
        if (r != ST_OK) {
            stop_workers_now(pool);
            goto fail;
        }
    }
    *out = pool;
    return ST_OK;
fail:
    release_ownership(pool);
    free_handle(pool);
    return r;
}

/* ---- apply_async, map, poll, wait ------------------------------------ */

static bool a_slot_is_free(st_pool *pool, void *arg, uint32_t ran)
{
    (void)arg;
    (void)ran;
    return find_free_slot(pool) != UINT32_MAX;
}

st_result st_pool_apply_async(st_pool *pool, st_task_fn fn, const void *input, size_t input_size,
                              st_pool_result_fn on_result, st_pool_error_fn on_error, void *context,
                              int64_t timeout_ns)
{
    st_result r = check_handle(pool, "st_pool_apply_async");
    if (r == ST_OK)
        r = check_timeout(timeout_ns, "st_pool_apply_async");
    if (r != ST_OK)
        return r;
    if (!fn)
        return st_fail(ST_EINVAL, "st_pool_apply_async: the task function is NULL");
    if (input_size && !input)
        return st_fail(ST_EINVAL, "st_pool_apply_async: input is NULL but its size is %zu", input_size);
    if (input_size > pool->max_input_bytes)
        return st_fail(ST_EOVERFLOW, "st_pool_apply_async: a %zu-byte input is larger than pool '%s' allows "
                       "(max_input_bytes %u)", input_size, pool_name(pool), pool->max_input_bytes);
    task_record record = { .kind = RECORD_ASYNC, .on_result = on_result, .on_error = on_error,
                           .context = context };
    if (!submit(pool, fn, input, input_size, pool->max_output_bytes, &record)) {
        r = wait_until(pool, timeout_ns, a_slot_is_free, NULL, NULL);
        if (r != ST_OK)
            return st_fail(ST_ETIMEDOUT, "st_pool_apply_async: all %u task slots of pool '%s' stayed taken "
                           "(collect results with st_pool_poll, or open it with more task_slots)",
                           pool->task_slots, pool_name(pool));
        submit(pool, fn, input, input_size, pool->max_output_bytes, &record);
    }
    pool->pending_async++;
    return ST_OK;
}

typedef struct map_progress {
    map_call *call;
    size_t *submitted;
    size_t count;
} map_progress;

static bool map_step_possible(st_pool *pool, void *arg, uint32_t ran)
{
    (void)ran;
    map_progress *p = arg;
    return p->call->remaining == 0 || (*p->submitted < p->count && find_free_slot(pool) != UINT32_MAX);
}

st_result st_pool_map(st_pool *pool, st_task_fn fn, const void *inputs, size_t input_stride, size_t count,
                      void *outputs, size_t output_stride, st_pool_outcome *outcomes, int64_t timeout_ns)
{
    st_result r = check_handle(pool, "st_pool_map");
    if (r == ST_OK)
        r = check_timeout(timeout_ns, "st_pool_map");
    if (r != ST_OK)
        return r;
    if (!fn)
        return st_fail(ST_EINVAL, "st_pool_map: the task function is NULL");
    if ((count && input_stride && !inputs) || (count && output_stride && !outputs))
        return st_fail(ST_EINVAL, "st_pool_map: inputs or outputs is NULL");
    if (input_stride > pool->max_input_bytes || output_stride > pool->max_output_bytes)
        return st_fail(ST_EOVERFLOW, "st_pool_map: items of %zu input / %zu output bytes are larger than pool "
                       "'%s' allows (%u / %u)", input_stride, output_stride, pool_name(pool),
                       pool->max_input_bytes, pool->max_output_bytes);
    map_call call = { .outputs = outputs, .output_stride = output_stride, .outcomes = outcomes,
                      .remaining = count, .first_failed = SIZE_MAX, .first_code = ST_OK };
    size_t submitted = 0;
    map_progress progress = { &call, &submitted, count };
    struct timespec deadline = st_deadline_after(timeout_ns == ST_FOREVER ? 0 : timeout_ns);
    while (call.remaining > 0) {
        while (submitted < count) {
            task_record record = { .kind = RECORD_MAP, .map = &call, .item = submitted };
            const uint8_t *input = inputs ? (const uint8_t *)inputs + submitted * input_stride : NULL;
            if (!submit(pool, fn, input, input_stride, output_stride, &record))
                break;
            submitted++;
        }
        int64_t left = ST_FOREVER;
        if (timeout_ns != ST_FOREVER) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            left = (int64_t)(deadline.tv_sec - now.tv_sec) * 1000000000LL + (deadline.tv_nsec - now.tv_nsec);
            if (left < 0)
                left = 0;
        }
        if (wait_until(pool, left, map_step_possible, &progress, NULL) != ST_OK)
            break;
    }
    if (call.remaining > 0) {
        /* Abandon the rest: their slots stay busy until they finish. */
        for (uint32_t i = 0; i < pool->task_slots; i++)
            if (pool->records[i].kind == RECORD_MAP && pool->records[i].map == &call)
                pool->records[i].kind = RECORD_DROP;
        /* Items never submitted are not run at all. */
        return st_fail(ST_ETIMEDOUT, "st_pool_map: %zu of %zu items of pool '%s' not finished in time",
                       call.remaining, count, pool_name(pool));
    }
    if (call.first_failed != SIZE_MAX)
        return st_fail(call.first_code, "st_pool_map: item %zu of %zu failed: %s", call.first_failed, count,
                       call.first_message);
    return ST_OK;
}

static bool something_ran(st_pool *pool, void *arg, uint32_t ran)
{
    (void)pool;
    (void)arg;
    return ran > 0;
}

st_result st_pool_poll(st_pool *pool, int64_t timeout_ns, uint32_t *ran)
{
    if (ran)
        *ran = 0;
    st_result r = check_handle(pool, "st_pool_poll");
    if (r == ST_OK)
        r = check_timeout(timeout_ns, "st_pool_poll");
    if (r != ST_OK)
        return r;
    r = wait_until(pool, timeout_ns, something_ran, NULL, ran);
    if (r != ST_OK)
        return st_fail(r, "st_pool_poll: no task of pool '%s' finished in time", pool_name(pool));
    return ST_OK;
}

static bool no_async_pending(st_pool *pool, void *arg, uint32_t ran)
{
    (void)arg;
    (void)ran;
    return pool->pending_async == 0;
}

st_result st_pool_wait(st_pool *pool, int64_t timeout_ns)
{
    st_result r = check_handle(pool, "st_pool_wait");
    if (r == ST_OK)
        r = check_timeout(timeout_ns, "st_pool_wait");
    if (r != ST_OK)
        return r;
    r = wait_until(pool, timeout_ns, no_async_pending, NULL, NULL);
    if (r != ST_OK)
        return st_fail(r, "st_pool_wait: %u tasks of pool '%s' still pending", pool->pending_async,
                       pool_name(pool));
    return ST_OK;
}

st_result st_pool_stats_get(st_pool *pool, st_pool_stats *stats)
{
    if (!pool || pool->magic != ST_POOL_HANDLE_MAGIC || !stats)
        return st_fail(ST_EINVAL, "st_pool_stats_get: invalid pool handle or NULL stats");
    st_pool_body *b = pool->body;
    pool_lock(b);
    stats->workers = b->workers;
    stats->workers_busy = b->workers_busy;
    stats->tasks_queued = b->tasks_queued;
    stats->tasks_running = b->tasks_running;
    stats->tasks_done = b->tasks_done;
    stats->tasks_failed = b->tasks_failed;
    stats->workers_replaced = b->workers_replaced;
    pool_unlock(b);
    stats->tasks_pending = pool->pending_async;
    return ST_OK;
}

pid_t st_pool_worker_pid(const st_pool *pool, uint32_t i)
{
    if (!pool || pool->magic != ST_POOL_HANDLE_MAGIC || i >= pool->worker_count)
        return 0;
    return pool->worker_pids[i];
}

/* ---- close ------------------------------------------------------------ */

static bool all_workers_gone(st_pool *pool, void *arg, uint32_t ran)
{
    (void)arg;
    (void)ran;
    return live_workers(pool) == 0;
}

st_result st_pool_close(st_pool *pool)
{
    if (!pool || pool->magic != ST_POOL_HANDLE_MAGIC)
        return st_fail(ST_EINVAL, "st_pool_close: invalid pool handle");
    if (pool->owner != st_self_pid) {
        /* An inherited copy (a forked child): drop it, touch nothing shared. */
        pid_t owner = pool->owner;
        free_handle(pool);
        return st_fail(ST_EPERM, "st_pool_close: the pool belongs to pid %d; only this copy of the handle was "
                       "freed", (int)owner);
    }
    if (pool->closing)
        return st_fail(ST_EINVAL, "st_pool_close: called from a callback of the pool being closed");
    pool->closing = true;
    st_pool_body *b = pool->body;
    pool_lock(b);
    ST_STORE(b->closing, 1u);
    __atomic_add_fetch(&b->work_seq, 1u, __ATOMIC_RELEASE);
    pool_unlock(b);
    st_futex_wake(&b->work_seq, INT32_MAX);
    wait_until(pool, pool->close_timeout_ns, all_workers_gone, NULL, NULL);
    uint32_t still_running = live_workers(pool);
    stop_workers_now(pool);
    /* Whatever never finished is failed now, and its callback runs. */
    pool_lock(b);
    for (uint32_t i = 0; i < pool->task_slots; i++) {
        task_header *t = task_at(pool, i);
        if (t->state == TASK_QUEUED)
            fail_task_locked(pool, i, ST_ECLOSED, "the pool was closed before the task could run");
        else if (t->state == TASK_RUNNING)
            fail_task_locked(pool, i, ST_ECLOSED, "the pool was closed while the task ran; its worker was killed");
    }
    pool_unlock(b);
    collect(pool);
    release_ownership(pool);
    int64_t timeout = pool->close_timeout_ns;
    char name[ST_OBJECT_NAME_MAX + 1];
    snprintf(name, sizeof name, "%s", pool_name(pool));
    free_handle(pool);
    if (still_running)
        return st_fail(ST_ETIMEDOUT, "pool '%s': %u workers had not finished within %.1f s and were killed", name,
                       still_running, (double)timeout / 1e9);
    return ST_OK;
}

/* ---- the viewer's side ----------------------------------------------- */

void st_pool_describe(const void *body, const st_clock_calibration *clock, st_object_view *view)
{
    (void)clock;
    const st_pool_body *b = body;
    bool open = b->owner_pid > 0;
    uint32_t workers = open ? b->workers : 0;
    uint32_t busy = open ? b->workers_busy : 0;
    st_field_pid(view, "owner", b->owner_pid);
    st_field_u64(view, "workers", workers, 0);
    st_field_u64(view, "workers_busy", busy, 0);
    st_field_u64(view, "workers_idle", workers > busy ? workers - busy : 0, 0);
    st_field_u64(view, "tasks_queued", open ? b->tasks_queued : 0, 0);
    st_field_u64(view, "tasks_running", open ? b->tasks_running : 0, 0);
    st_field_u64(view, "tasks_submitted", b->tasks_submitted, ST_FIELD_COUNTER);
    st_field_u64(view, "tasks_done", b->tasks_done, ST_FIELD_COUNTER);
    st_field_u64(view, "tasks_failed", b->tasks_failed, ST_FIELD_COUNTER);
    st_field_u64(view, "workers_replaced", b->workers_replaced, ST_FIELD_COUNTER);
    st_field_u64(view, "task_slots", b->task_slots, 0);
    st_field_u64(view, "max_input_bytes", b->max_input_bytes, ST_FIELD_BYTES);
    st_field_u64(view, "max_output_bytes", b->max_output_bytes, ST_FIELD_BYTES);
    st_field_u64(view, "task_ns_total", b->task_ns_total, ST_FIELD_COUNTER | ST_FIELD_DURATION);
    st_field_u64(view, "task_ns_max", b->task_ns_max, ST_FIELD_DURATION);
}
