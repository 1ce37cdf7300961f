/* foreign_describe.c - the viewer's side of foreign objects: turning a
 * private copy of an st_foreign_body into the fields of the JSON type the
 * object shows as (lock, rlock, semaphore, bounded_semaphore, event,
 * condition, queue, pipe, pool, managed).
 *
 * Field names are those of the native primitive of the same JSON type, so
 * the dashboard, --json and the deadlock detector (which follows "holder"
 * and "owner") need no change; what a foreign object cannot know is left
 * out rather than faked (a Python Queue's bytes, an RLock's depth). Every
 * foreign object adds "origin": what it is in the watched program
 * ("multiprocessing.Queue", "pthread_mutex", "sem_open", ...).
 *
 * This file is part of libsynctop itself (the viewer needs it); the
 * interposition library that fills the bodies lives beside it.
 */
#include "internal.h"
#include "histogram.h"
#include "object_types.h"
#include "preload/foreign_body.h"

#include <string.h>

static const char *const origins[ST_FOREIGN_KIND_COUNT] = {
    [ST_FOREIGN_PY_LOCK] = "multiprocessing.Lock",
    [ST_FOREIGN_PY_RLOCK] = "multiprocessing.RLock",
    [ST_FOREIGN_PY_SEMAPHORE] = "multiprocessing.Semaphore",
    [ST_FOREIGN_PY_BOUNDED_SEMAPHORE] = "multiprocessing.BoundedSemaphore",
    [ST_FOREIGN_PY_EVENT] = "multiprocessing.Event",
    [ST_FOREIGN_PY_CONDITION] = "multiprocessing.Condition",
    [ST_FOREIGN_PY_QUEUE] = "multiprocessing.Queue",
    [ST_FOREIGN_PY_SIMPLE_QUEUE] = "multiprocessing.SimpleQueue",
    [ST_FOREIGN_SEM_NAMED] = "sem_open",
    [ST_FOREIGN_SEM_UNNAMED] = "sem_init",
    [ST_FOREIGN_PTHREAD_MUTEX] = "pthread_mutex",
    [ST_FOREIGN_PTHREAD_COND] = "pthread_cond",
    [ST_FOREIGN_PY_PIPE] = "multiprocessing.Pipe",
    [ST_FOREIGN_PY_POOL] = "multiprocessing.Pool",
    [ST_FOREIGN_PY_MANAGED] = "multiprocessing.managers",
};

static void origin_field(const st_foreign_body *b, st_object_view *view)
{
    const char *origin = b->kind < ST_FOREIGN_KIND_COUNT ? origins[b->kind] : NULL;
    st_field_text(view, "origin", origin ? origin : "unknown", 40);
}

static bool is_python(const st_foreign_body *b)
{
    return b->kind >= ST_FOREIGN_PY_LOCK && b->kind <= ST_FOREIGN_PY_SIMPLE_QUEUE;
}

/* The wait figures of the primary part, with percentiles from its histogram. */
static void wait_fields(const st_foreign_body *b, st_object_view *view)
{
    const st_foreign_part *p = &b->parts[0];
    st_field_waiters(view, "waiters", p->waiters, ST_OP_NONE);
    st_field_u64(view, "acquisitions", p->acquisitions, ST_FIELD_COUNTER);
    st_field_u64(view, "contentions", p->contentions, ST_FIELD_COUNTER);
    st_field_u64(view, "wait_ns_total", p->wait_ns_total, ST_FIELD_COUNTER | ST_FIELD_DURATION);
    st_field_u64(view, "wait_ns_max", p->wait_ns_max, ST_FIELD_DURATION);
    st_field_u64(view, "wait_ns_p50", st_histogram_percentile(&b->wait_histogram, 50, p->wait_ns_max),
                 ST_FIELD_DURATION);
    st_field_u64(view, "wait_ns_p99", st_histogram_percentile(&b->wait_histogram, 99, p->wait_ns_max),
                 ST_FIELD_DURATION);
}

/* The fields of a lock (a Python Lock or RLock, or a pthread mutex): those
 * of the native Lock (lock.c), hold times sampled the same way. */
static void lock_fields(const st_foreign_body *b, const st_clock_calibration *clock, st_object_view *view)
{
    const st_foreign_part *p = &b->parts[0];
    uint64_t held_for = 0;
    if (p->holder_pid > 0 && b->hold_start_ticks != 0) {
        uint64_t now = st_clock_ticks(clock);
        if (now > b->hold_start_ticks)
            held_for = st_clock_ticks_to_ns(clock, now - b->hold_start_ticks);
    }
    uint64_t completed = p->acquisitions - (p->holder_pid > 0 && p->acquisitions > 0 ? 1 : 0);
    double per_hold = b->hold_samples ? (double)b->hold_ns_sampled / (double)b->hold_samples : 0.0;
    uint64_t hold_total = b->hold_samples >= completed ? b->hold_ns_sampled : st_u64_from_double(per_hold * (double)completed);
    st_field_pid(view, "holder", p->holder_pid);
    st_field_u64(view, "held_ns", held_for, ST_FIELD_DURATION);
    wait_fields(b, view);
    st_field_u64(view, "hold_ns_total", hold_total, ST_FIELD_COUNTER | ST_FIELD_DURATION);
    st_field_u64(view, "hold_ns_avg", (uint64_t)per_hold, ST_FIELD_DURATION);
    st_field_u64(view, "hold_ns_max", b->hold_ns_max, ST_FIELD_DURATION);
    st_field_u64(view, "hold_samples", b->hold_samples, ST_FIELD_COUNTER);
    st_field_u64(view, "owner_died", b->owner_died, ST_FIELD_COUNTER);
    st_field_u64(view, "timeouts", p->timeouts, ST_FIELD_COUNTER);
    st_field_u64(view, "try_failures", b->try_failures, ST_FIELD_COUNTER);
    if (is_python(b))
        st_field_u64(view, "over_releases", b->over_releases, ST_FIELD_COUNTER);
}

void st_foreign_lock_describe(const void *body, const st_clock_calibration *clock, st_object_view *view)
{
    const st_foreign_body *b = body;
    lock_fields(b, clock, view);
    origin_field(b, view);
}

void st_foreign_rlock_describe(const void *body, const st_clock_calibration *clock, st_object_view *view)
{
    const st_foreign_body *b = body;
    lock_fields(b, clock, view);
    /* Re-entries of a Python RLock make no libc call: its depth is not
     * known here, only who owns it. */
    st_field_pid(view, "owner", b->parts[0].holder_pid);
    origin_field(b, view);
}

static void semaphore_fields(const st_foreign_body *b, st_object_view *view, bool bounded)
{
    const st_foreign_part *p = &b->parts[0];
    uint64_t value = st_foreign_value(b);
    st_field_u64(view, "value", value, 0);
    st_field_u64(view, "initial", b->initial, 0);
    st_field_u64(view, "in_use", value < b->initial ? b->initial - value : 0, 0);
    st_field_u64(view, "peak_in_use", b->peak_in_use, 0);
    wait_fields(b, view);
    st_field_u64(view, "timeouts", p->timeouts, ST_FIELD_COUNTER);
    st_field_u64(view, "releases", p->releases, ST_FIELD_COUNTER);
    st_field_u64(view, "try_failures", b->try_failures, ST_FIELD_COUNTER);
    if (bounded)
        st_field_u64(view, "over_releases", b->over_releases, ST_FIELD_COUNTER);
}

void st_foreign_semaphore_describe(const void *body, const st_clock_calibration *clock, st_object_view *view)
{
    (void)clock;
    semaphore_fields(body, view, false);
    origin_field(body, view);
}

void st_foreign_bounded_semaphore_describe(const void *body, const st_clock_calibration *clock,
                                           st_object_view *view)
{
    (void)clock;
    semaphore_fields(body, view, true);
    origin_field(body, view);
}

/* A Python Event: part 0 is the flag (value 1 = set), part 1 the wait
 * semaphore of its condition (where Event.wait blocks). */
void st_foreign_event_describe(const void *body, const st_clock_calibration *clock, st_object_view *view)
{
    (void)clock;
    const st_foreign_body *b = body;
    const st_foreign_part *wait = &b->parts[1];
    st_field_u64(view, "is_set", st_foreign_value(b) > 0, 0);
    st_field_waiters(view, "waiters", wait->waiters, ST_OP_NONE);
    st_field_u64(view, "sets", b->sets, ST_FIELD_COUNTER);
    st_field_u64(view, "clears", b->clears, ST_FIELD_COUNTER);
    st_field_u64(view, "waits", wait->acquisitions, ST_FIELD_COUNTER);
    st_field_u64(view, "wait_timeouts", wait->timeouts, ST_FIELD_COUNTER);
    st_field_u64(view, "wait_ns_total", wait->wait_ns_total, ST_FIELD_COUNTER | ST_FIELD_DURATION);
    st_field_u64(view, "wait_ns_max", wait->wait_ns_max, ST_FIELD_DURATION);
    origin_field(b, view);
}

/* A condition: a Python Condition (part 0 its wait semaphore: a release is
 * one waiter notified) or a pthread condition variable (part 0 the condvar:
 * releases are signals). Its lock is an object of its own. */
void st_foreign_condition_describe(const void *body, const st_clock_calibration *clock, st_object_view *view)
{
    (void)clock;
    const st_foreign_body *b = body;
    const st_foreign_part *p = &b->parts[0];
    st_field_waiters(view, "waiters", p->waiters, ST_OP_NONE);
    st_field_u64(view, "notifies", p->releases, ST_FIELD_COUNTER);
    st_field_u64(view, "notify_alls", b->notify_alls, ST_FIELD_COUNTER);
    st_field_u64(view, "wakeups", p->acquisitions, ST_FIELD_COUNTER);
    st_field_u64(view, "timeouts", p->timeouts, ST_FIELD_COUNTER);
    st_field_u64(view, "wait_ns_total", p->wait_ns_total, ST_FIELD_COUNTER | ST_FIELD_DURATION);
    st_field_u64(view, "wait_ns_max", p->wait_ns_max, ST_FIELD_DURATION);
    origin_field(b, view);
}

/* A Python Queue: part 0 is _sem, a BoundedSemaphore(maxsize) that put()
 * acquires and get() releases, so depth = acquisitions - releases (what
 * qsize() says); part 1 is _rlock, held by the getter that reads the pipe
 * (it is blocked when the queue is empty), part 2 _wlock, the feeders'. */
static void queue_fields(const st_foreign_body *b, st_object_view *view)
{
    const st_foreign_part *items = &b->parts[0], *getters = &b->parts[1], *putters = &b->parts[2];
    uint64_t depth = items->acquisitions > items->releases ? items->acquisitions - items->releases : 0;
    /* An unbounded Queue is a BoundedSemaphore(SEM_VALUE_MAX): capacity 0. */
    uint64_t capacity = b->initial >= INT32_MAX ? 0 : b->initial;
    if (capacity && depth > capacity)
        depth = capacity;
    uint64_t consumers = getters->waiters + (getters->holder_pid > 0 && depth == 0 ? 1u : 0u);
    st_field_u64(view, "depth", depth, 0);
    st_field_u64(view, "capacity", capacity, 0);
    st_field_u64(view, "high_water", b->peak_in_use, 0);
    st_field_u64(view, "puts", items->acquisitions, ST_FIELD_COUNTER);
    st_field_u64(view, "gets", items->releases, ST_FIELD_COUNTER);
    st_field_waiters(view, "producers_blocked", items->waiters, ST_OP_NONE);
    st_field_waiters(view, "consumers_blocked", consumers, ST_OP_NONE);
    st_field_u64(view, "put_timeouts", items->timeouts, ST_FIELD_COUNTER);
    st_field_u64(view, "get_timeouts", getters->timeouts, ST_FIELD_COUNTER);
    st_field_u64(view, "put_wait_ns_total", items->wait_ns_total, ST_FIELD_COUNTER | ST_FIELD_DURATION);
    st_field_u64(view, "get_lock_contentions", getters->contentions, ST_FIELD_COUNTER);
    st_field_u64(view, "feeder_lock_contentions", putters->contentions, ST_FIELD_COUNTER);
}

/* A SimpleQueue is a pipe and two locks: a put is a _wlock acquisition, a
 * get a _rlock hold (the getter holds it while it reads the pipe, so it is
 * the blocked consumer when the queue is empty). Its depth is not known:
 * Pool puts into its task queue and gets from its result queue without
 * the locks (straight through the pipe), so those puts and gets are not
 * seen, and a count would lie. */
static void simple_queue_fields(const st_foreign_body *b, st_object_view *view)
{
    const st_foreign_part *getters = &b->parts[1], *putters = &b->parts[2];
    st_field_u64(view, "capacity", 0, 0);
    st_field_u64(view, "puts", putters->acquisitions, ST_FIELD_COUNTER);
    st_field_u64(view, "gets", getters->releases, ST_FIELD_COUNTER);
    st_field_waiters(view, "producers_blocked", putters->waiters, ST_OP_NONE);
    st_field_waiters(view, "consumers_blocked", getters->waiters + (getters->holder_pid > 0 ? 1u : 0u), ST_OP_NONE);
    st_field_u64(view, "get_lock_contentions", getters->contentions, ST_FIELD_COUNTER);
    st_field_u64(view, "put_lock_contentions", putters->contentions, ST_FIELD_COUNTER);
}

void st_foreign_queue_describe(const void *body, const st_clock_calibration *clock, st_object_view *view)
{
    (void)clock;
    const st_foreign_body *b = body;
    if (b->kind == ST_FOREIGN_PY_SIMPLE_QUEUE)
        simple_queue_fields(b, view);
    else
        queue_fields(b, view);
    origin_field(b, view);
}

/* A Pipe: the native pipe's field names, each direction counted from the
 * frames seen passing (interpose_pipe.c); what a socket buffer holds is not
 * a ring, so there is no capacity. */
static uint64_t difference(uint64_t more, uint64_t less)
{
    return more > less ? more - less : 0;
}

void st_foreign_pipe_describe(const void *body, const st_clock_calibration *clock, st_object_view *view)
{
    (void)clock;
    const st_foreign_body *b = body;
    const st_foreign_part *ab = &b->parts[0], *ba = &b->parts[1];
    origin_field(b, view);
    st_field_u64(view, "messages_a_to_b", ab->releases, ST_FIELD_COUNTER);
    st_field_u64(view, "messages_b_to_a", ba->releases, ST_FIELD_COUNTER);
    st_field_u64(view, "received_a_to_b", ab->acquisitions, ST_FIELD_COUNTER);
    st_field_u64(view, "received_b_to_a", ba->acquisitions, ST_FIELD_COUNTER);
    st_field_u64(view, "bytes_a_to_b", b->pipe.bytes_sent[0], ST_FIELD_COUNTER | ST_FIELD_BYTES);
    st_field_u64(view, "bytes_b_to_a", b->pipe.bytes_sent[1], ST_FIELD_COUNTER | ST_FIELD_BYTES);
    st_field_u64(view, "unread_messages_a_to_b", difference(ab->releases, ab->acquisitions), 0);
    st_field_u64(view, "unread_messages_b_to_a", difference(ba->releases, ba->acquisitions), 0);
    st_field_u64(view, "unread_bytes_a_to_b", difference(b->pipe.bytes_sent[0], b->pipe.bytes_received[0]),
                 ST_FIELD_BYTES);
    st_field_u64(view, "unread_bytes_b_to_a", difference(b->pipe.bytes_sent[1], b->pipe.bytes_received[1]),
                 ST_FIELD_BYTES);
    st_field_waiters(view, "a_recv_blocked", ba->waiters, ST_OP_RECV);
    st_field_waiters(view, "b_recv_blocked", ab->waiters, ST_OP_RECV);
    st_field_u64(view, "recv_blocks", ab->contentions + ba->contentions, ST_FIELD_COUNTER);
}

/* A Pool: the native pool's field names (pool.c), from the messages seen
 * on its two pipes (python_pool.c). A "task" is one task message: one per
 * apply_async, one per chunk of map/imap/starmap (chunksize items), so
 * tasks_done counts result messages read by the pool's result handler and
 * tasks_failed those that carry an exception (a chunk fails whole). Each
 * count is taken by the process that passed the message, after the real
 * call: a reader may count before the writer has, so a figure is never
 * shown below the one it must be above (submitted >= taken, written >=
 * read). workers: worker processes that took part and have not read their
 * stop sentinel nor left after maxtasksperchild tasks (workers_replaced);
 * like the native pool's, the live figures (and owner, the creator) are 0
 * once it is terminated. Its members are waited for with "get" and "put"
 * only, never "acquire", so owner makes no wait-for edge (model.c). What
 * the native pool has and a Python Pool cannot say (task_slots, byte
 * limits) is left out. */
void st_foreign_pool_describe(const void *body, const st_clock_calibration *clock, st_object_view *view)
{
    (void)clock;
    const st_foreign_body *b = body;
    const st_foreign_part *tasks = &b->parts[0], *results = &b->parts[1];
    bool open = b->pool.terminated == 0;
    /* Taken off the queue: read by workers or drained; at least the tasks
     * answered (spawned workers' reads are not seen: there, "queued"
     * counts the tasks not answered yet). */
    uint64_t taken = tasks->acquisitions + b->pool.tasks_discarded;
    if (taken < results->acquisitions)
        taken = results->acquisitions;
    uint64_t submitted = tasks->releases > taken ? tasks->releases : taken;
    uint64_t written = results->releases > results->acquisitions ? results->releases : results->acquisitions;
    uint64_t workers = open ? difference(b->pool.workers_started, b->pool.workers_stopped) : 0;
    uint64_t busy = open ? difference(tasks->acquisitions, written) : 0;
    if (busy > workers)
        busy = workers;
    origin_field(b, view);
    st_field_pid(view, "owner", open ? b->pool.creator_pid : 0);
    st_field_u64(view, "workers", workers, 0);
    st_field_u64(view, "workers_busy", busy, 0);
    st_field_u64(view, "workers_idle", workers - busy, 0);
    st_field_u64(view, "tasks_queued", open ? difference(submitted, taken) : 0, 0);
    st_field_u64(view, "tasks_running", busy, 0);
    st_field_u64(view, "tasks_submitted", submitted, ST_FIELD_COUNTER);
    st_field_u64(view, "tasks_done", results->acquisitions, ST_FIELD_COUNTER);
    st_field_u64(view, "tasks_failed", b->pool.tasks_failed, ST_FIELD_COUNTER);
    st_field_u64(view, "workers_replaced", b->pool.workers_replaced, ST_FIELD_COUNTER);
    st_field_u64(view, "task_ns_total", b->pool.task_ns_total, ST_FIELD_COUNTER | ST_FIELD_DURATION);
    st_field_u64(view, "task_ns_max", b->pool.task_ns_max, ST_FIELD_DURATION);
}

/* An object a multiprocessing manager serves (python_manager.c): its own
 * JSON type, "managed", not the native type of the same name: a manager's
 * dict has none of a native dict's figures (entries, capacity, gets...),
 * and a manager's Lock none of a lock's (holder, hold times), which the
 * dashboard's lock view and the deadlock detector would read as known.
 * "typeid" says what it is ("dict", "Lock", "Queue"...); "calls" counts
 * the method calls its server received (its rate is the calls per
 * second), "waiting" the calls received and not yet answered (each a
 * process thread waiting for the reply), "length" the len() of a dict or
 * list after its last call (left out for the other types). "waiting" is
 * the server's own count, not a waiter count the model reconciles with
 * the processes marked blocked: a caller need not be watched (a spawned
 * worker that never started a manager has no hooks), and the count cannot
 * outlive its caller (the server ends the call when the connection goes). */
void st_foreign_managed_describe(const void *body, const st_clock_calibration *clock, st_object_view *view)
{
    (void)clock;
    const st_foreign_body *b = body;
    const st_foreign_part *p = &b->parts[0];
    char typeid[sizeof b->managed.typeid + 1];
    memcpy(typeid, b->managed.typeid, sizeof b->managed.typeid);
    typeid[sizeof b->managed.typeid] = '\0';
    st_field_text(view, "typeid", typeid, sizeof b->managed.typeid);
    st_field_u64(view, "calls", p->acquisitions, ST_FIELD_COUNTER);
    st_field_u64(view, "replies", p->releases, ST_FIELD_COUNTER);
    st_field_u64(view, "waiting", p->waiters, 0);
    if (b->managed.length >= 0)
        st_field_u64(view, "length", (uint64_t)b->managed.length, 0);
    st_field_pid(view, "server", b->managed.server_pid);
    origin_field(b, view);
}
