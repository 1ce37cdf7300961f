/* bookkeeping.c - what an operation on a watched semaphore (or a mutex on
 * its slow path) changes in its foreign object.
 *
 * The interposed functions call the real libc function first and report
 * here what it did; the order matters in two places only:
 *  - a lock's holder is cleared *before* the real release (note_release_
 *    begin): once released, another process may take it and publish itself
 *    as holder, and clearing after would erase that;
 *  - a unit's acquisition is counted *after* the real wait succeeded, and a
 *    release after the real post, so that the counts only ever describe
 *    what happened (a value derived from them may lag by one operation for
 *    a moment, never drift).
 *
 * Semaphores have no owner: any process may post, so their counts use
 * atomic read-modify-writes. A lock (a Python Lock or RLock, the locks
 * inside an Event or a Queue) is written by its holder only: it counts its
 * acquisition once it holds the lock and its release before it lets go, with
 * plain stores (as lock.c does; a Lock released by a process that does not
 * hold it, which Python allows, may then lose a count). Holds of a lock are
 * timed like the native Lock's (lock.c): the first 64, one in 64 later, and
 * every contended one.
 * A Python Event changes state only under its own lock, so comparing the
 * flag's value when the lock is taken and when it is released counts sets
 * and clears exactly (an Event.set() on a set Event changes nothing and is
 * not counted).
 */
#include "preload/preload.h"
#include "preload/python_pool.h"
#include "event_log.h"
#include "histogram.h"

#define HOLD_ALWAYS_TIMED 64

uint64_t ticks_now(void)
{
    st_table *watched = watched_table;
    return watched ? st_clock_ticks(&watched->clock) : 0;
}

uint64_t ticks_to_ns(uint64_t ticks)
{
    st_table *watched = watched_table;
    return watched ? st_clock_ticks_to_ns(&watched->clock, ticks) : 0;
}

static inline st_foreign_part *part_of(tracked_object *t)
{
    return &t->body->parts[t->part];
}

static void atomic_max_u64(uint64_t *field, uint64_t value)
{
    uint64_t seen = ST_LOAD(*field);
    while (value > seen &&
           !__atomic_compare_exchange_n(field, &seen, value, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

static void atomic_max_u32(uint32_t *field, uint32_t value)
{
    uint32_t seen = ST_LOAD(*field);
    while (value > seen &&
           !__atomic_compare_exchange_n(field, &seen, value, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

/* Whether a getter that now holds the queue's _rlock will wait on the
 * pipe: a Queue with nothing in it (foreign_describe.c's depth), or a
 * SimpleQueue, whose depth is not known (its getter holds the lock only
 * while it reads). */
static bool getter_waits(const st_foreign_body *b)
{
    if (b->kind == ST_FOREIGN_PY_SIMPLE_QUEUE)
        return true;
    return ST_LOAD(b->parts[0].acquisitions) <= ST_LOAD(b->parts[0].releases);
}

static bool hold_is_sampled(const st_table *watched, uint64_t n)
{
    unsigned shift = watched->hold_sample_shift;
    return n < HOLD_ALWAYS_TIMED || shift >= 64 || ((n * 0x9e3779b97f4a7c15ull) >> shift) == 0;
}

static void log_operation(st_table *watched, tracked_object *t, st_operation op, st_result result,
                          uint64_t wait_ns)
{
    int64_t value = t->part == 0 ? (int64_t)st_foreign_value(t->body) : 0;
    tls.guard++;
    st_event_log(watched, t->slot, op, result, wait_ns, value);
    tls.guard--;
}

void note_acquired(tracked_object *t, const void *object, bool contended, uint64_t waited_ns, uint64_t now_ticks)
{
    st_table *watched = watched_table;   /* open: t is watched */
    if (!watched)
        return;
    watch_register_if_new(watched);
    watch_name_if_due();
    if (__builtin_expect(t->roles & ROLE_POOL_TASK_LOCK, 0))
        pool_task_lock_taken(t);
    if (t->part == ST_FOREIGN_PART_NONE)
        return;
    st_foreign_body *b = t->body;
    st_foreign_part *p = part_of(t);
    /* A lock's figures are written by its holder only: plain stores. */
    bool exclusive = (t->roles & (ROLE_HOLDER | ROLE_PART_HOLDER)) != 0;
    uint64_t n;
    if (exclusive) {
        n = ST_LOAD(p->acquisitions);
        ST_STORE(p->acquisitions, n + 1);
    } else {
        n = __atomic_fetch_add(&p->acquisitions, 1u, __ATOMIC_RELAXED);
    }
    if (t->roles & ROLE_HOLDER) {
        ST_STORE(p->holder_pid, (int32_t)st_self_pid);
        ST_STORE(b->holder_thread, st_thread_token());
        if (now_ticks == 0 && (contended || hold_is_sampled(watched, n)))
            now_ticks = st_clock_ticks(&watched->clock);
        ST_STORE(b->hold_start_ticks, now_ticks);
    } else if (t->roles & ROLE_PART_HOLDER) {
        ST_STORE(p->holder_pid, (int32_t)st_self_pid);
    }
    if (contended && exclusive) {
        ST_BUMP(p->contentions, 1u);
        ST_BUMP(p->wait_ns_total, waited_ns);
        if (waited_ns > ST_LOAD(p->wait_ns_max))
            ST_STORE(p->wait_ns_max, waited_ns);
        if (t->part == 0)
            ST_BUMP(b->wait_histogram.buckets[st_histogram_bucket(waited_ns)], 1u);
    } else if (contended) {
        ST_ATOMIC_ADD(p->contentions, 1u);
        ST_ATOMIC_ADD(p->wait_ns_total, waited_ns);
        atomic_max_u64(&p->wait_ns_max, waited_ns);
        if (t->part == 0)
            ST_ATOMIC_ADD(b->wait_histogram.buckets[st_histogram_bucket(waited_ns)], 1u);
    }
    if ((t->roles & ROLE_PEAK) && real.sem_getvalue) {
        /* The semaphore's own value right after the take: how many units
         * are out now, counting exactly those taken (never one the counts
         * of a concurrent release have not caught up with). */
        int value = 0;
        if (real.sem_getvalue((sem_t *)(uintptr_t)object, &value) == 0 && value >= 0 &&
            (uint32_t)value < ST_LOAD(b->initial))
            atomic_max_u32(&b->peak_in_use, ST_LOAD(b->initial) - (uint32_t)value);
    }
    if (t->roles & ROLE_EVENT_LOCK)
        ST_STORE(b->flag_at_lock, (uint32_t)st_foreign_value(b));
    if ((t->roles & ROLE_QUEUE_GET_LOCK) && getter_waits(b)) {
        /* This getter now reads the queue's pipe, which is (or may be)
         * empty: it waits there until an item comes (or a timeout). */
        tls.guard++;
        st_process_mark_blocked(watched, t->slot, ST_OP_GET);
        tls.guard--;
        tls.marked_get = t;
    }
    if (st_object_traced(t->object))
        log_operation(watched, t, t->op == ST_OP_PUT ? ST_OP_PUT : t->op == ST_OP_GET ? ST_OP_GET : ST_OP_ACQUIRE,
                      ST_OK, waited_ns);
}

void note_try_failed(tracked_object *t, const void *object)
{
    if (__builtin_expect(t->roles & ROLE_POOL_TASK_LOCK, 0))
        pool_task_lock_taken(t);
    tls.tried = object;
    tls.pending_start = 0;
    if (t->part == 0)
        ST_ATOMIC_ADD(t->body->try_failures, 1u);
}

/* The failed try was the first half of a wait (interpose_sem.c): not a
 * non-blocking attempt after all. */
void note_try_withdrawn(tracked_object *t)
{
    if (t->part == 0)
        ST_ATOMIC_SUB(t->body->try_failures, 1u);
}

uint64_t note_block_begin(tracked_object *t)
{
    st_table *watched = watched_table;   /* open: t is watched */
    if (!watched)
        return 0;
    watch_register_if_new(watched);
    if (__builtin_expect(t->roles & ROLE_POOL_TASK_LOCK, 0))
        pool_task_lock_taken(t);
    if (t->part != ST_FOREIGN_PART_NONE)
        ST_ATOMIC_ADD(part_of(t)->waiters, 1u);
    tls.guard++;
    st_process_mark_blocked(watched, t->slot, (st_operation)t->op);
    tls.guard--;
    return st_clock_ticks(&watched->clock);
}

void note_block_end(tracked_object *t)
{
    st_table *watched = watched_table;   /* open: t is watched */
    if (!watched)
        return;
    tls.guard++;
    st_process_mark_unblocked(watched);
    tls.guard--;
    if (t->part != ST_FOREIGN_PART_NONE)
        ST_ATOMIC_SUB(part_of(t)->waiters, 1u);
}

void note_timeout(tracked_object *t)
{
    if (t->part == ST_FOREIGN_PART_NONE)
        return;
    ST_ATOMIC_ADD(part_of(t)->timeouts, 1u);
    st_table *watched = watched_table;   /* open: t is watched */
    if (watched && st_object_traced(t->object))
        log_operation(watched, t, ST_OP_ACQUIRE, ST_ETIMEDOUT, 0);
}

int32_t note_release_begin(tracked_object *t)
{
    if (t->part == ST_FOREIGN_PART_NONE)
        return 0;
    st_foreign_body *b = t->body;
    st_foreign_part *p = part_of(t);
    if (t->roles & ROLE_EVENT_LOCK) {
        /* Still under the Event's lock: did the flag change meanwhile? */
        uint64_t before = ST_LOAD(b->flag_at_lock), now = st_foreign_value(b);
        if (before == 0 && now > 0)
            ST_ATOMIC_ADD(b->sets, 1u);
        else if (before > 0 && now == 0)
            ST_ATOMIC_ADD(b->clears, 1u);
    }
    if (!(t->roles & (ROLE_HOLDER | ROLE_PART_HOLDER)))
        return 0;
    /* Counted now, still held: the releaser is the only writer (and the
     * next holder may be counting its acquisition a moment later). */
    ST_BUMP(p->releases, 1u);
    int32_t holder = ST_LOAD(p->holder_pid);
    if (holder == 0)
        return 0;
    if (t->roles & ROLE_HOLDER) {
        uint64_t start = ST_LOAD(b->hold_start_ticks);
        st_table *watched = watched_table;   /* open: t is watched */
        if (start != 0 && watched) {
            uint64_t now = st_clock_ticks(&watched->clock);
            uint64_t held = now > start ? st_clock_ticks_to_ns(&watched->clock, now - start) : 0;
            ST_ATOMIC_ADD(b->hold_samples, 1u);
            ST_ATOMIC_ADD(b->hold_ns_sampled, held);
            atomic_max_u64(&b->hold_ns_max, held);
        }
        ST_STORE(b->hold_start_ticks, (uint64_t)0);
        ST_STORE(b->holder_thread, (uint64_t)0);
    }
    ST_STORE(p->holder_pid, 0);
    return holder;
}

void note_release_failed(tracked_object *t, int32_t holder)
{
    if (t->part == ST_FOREIGN_PART_NONE || !(t->roles & (ROLE_HOLDER | ROLE_PART_HOLDER)))
        return;
    st_foreign_part *p = part_of(t);
    ST_STORE(p->releases, ST_LOAD(p->releases) - 1u);   /* it did not happen */
    if (holder != 0)
        ST_STORE(p->holder_pid, holder);
}

void note_released(tracked_object *t)
{
    st_table *watched = watched_table;   /* open: t is watched */
    if (!watched)
        return;
    watch_register_if_new(watched);
    watch_name_if_due();
    if (tls.marked_get == t) {
        tls.guard++;
        st_process_mark_unblocked(watched);
        tls.guard--;
        tls.marked_get = NULL;
    }
    if (t->part == ST_FOREIGN_PART_NONE)
        return;
    if (!(t->roles & (ROLE_HOLDER | ROLE_PART_HOLDER)))
        ST_ATOMIC_ADD(part_of(t)->releases, 1u);   /* a lock's release was counted before it */
    if (st_object_traced(t->object))
        log_operation(watched, t, ST_OP_RELEASE, ST_OK, 0);
}
