/* condition.c - the instrumented Condition variable, over a synctop Lock.
 *
 * Waiting and notifying both happen with the lock held, so the bookkeeping
 * is three counters, two of them written only under the lock:
 *
 *   unsignaled  waiters not yet notified (the `waiters` figure)
 *   signaled    notifications handed out, ever (only grows)
 *   consumed    notifications taken by a waiter, ever (CAS by the waiters)
 *
 * notify(n) moves k = min(n, unsignaled) waiters to "signaled", bumps the
 * futex word `sequence` and wakes k sleepers. signaled - consumed is the
 * number of notifications not yet taken. A waiter remembers `signaled` when
 * it starts waiting and may only take a notification once `signaled` has
 * grown past that mark: notifications handed out before it arrived belong to
 * earlier waiters, so a newcomer cannot steal one (the bug of glibc's old
 * condition variable). Any waiter that was waiting at the time may take it;
 * which of them wakes is up to the kernel, as with pthreads.
 *
 * A waiter reads `sequence` under the lock before it lets the lock go, and
 * sleeps only while `sequence` is unchanged, so a notify between its unlock
 * and its sleep is never lost. A waiter whose timeout passes takes the lock
 * back and then looks once more: a notification it may take still counts as
 * a wake-up (ST_OK); otherwise it leaves `unsignaled` (ST_ETIMEDOUT). A
 * woken waiter that finds nothing to take (another took it first) counts a
 * spurious wake-up and sleeps again.
 *
 * The lock is released and re-acquired with st_lock_release/st_lock_acquire,
 * so the Lock's figures (acquisitions, hold and wait times) include the
 * waits, as lockstat would show them. A waiter killed while waiting stays
 * in `unsignaled` (see condition.h).
 */
#include "internal.h"
#include "lock_internal.h"
#include "event_log.h"
#include "futex.h"
#include "object_types.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define ST_CONDITION_HANDLE_MAGIC 0x434f4e44u  /* "COND" */

/* The body in its object slot:
 *
 *   +0    sequence (futex word), lock_index
 *   +8    lock_created_ns                 (which lock, even if its slot is reused)
 *   +16   unsignaled, signaled, consumed  (see above)
 *   +40   notifies, notify_alls, wakeups, timeouts, spurious_wakeups
 *   +80   lock_name[64]                   (for the viewer, which sees one body)
 */
typedef struct st_condition_body {
    uint32_t sequence;              /* bumped by every notify that signals someone */
    uint32_t lock_index;            /* object slot of the lock */
    uint64_t lock_created_ns;
    uint64_t unsignaled;            /* under the lock */
    uint64_t signaled;              /* under the lock */
    uint64_t consumed;              /* by the waiters, CAS */
    uint64_t notifies;              /* under the lock */
    uint64_t notify_alls;           /* under the lock */
    uint64_t wakeups;               /* under the lock */
    uint64_t timeouts;              /* under the lock */
    uint64_t spurious_wakeups;      /* atomic */
    char lock_name[ST_OBJECT_NAME_MAX + 1];
} st_condition_body;

_Static_assert(sizeof(st_condition_body) <= ST_OBJECT_BODY_SIZE, "condition body fits its slot");

struct st_condition {
    uint32_t magic;
    uint32_t index;
    st_table *table;
    st_object_slot *slot;
    st_condition_body *body;
    st_lock *lock;                  /* the caller's handle, not ours to close */
};

typedef struct condition_params {
    uint32_t lock_index;
    uint64_t lock_created_ns;
    const char *lock_name;
} condition_params;

static void condition_body_init(void *raw, const void *params)
{
    const condition_params *p = params;
    st_condition_body *b = raw;
    b->lock_index = p->lock_index;
    b->lock_created_ns = p->lock_created_ns;
    strncpy(b->lock_name, p->lock_name, sizeof b->lock_name - 1);
}

static bool condition_handle_valid(const st_condition *cond)
{
    return cond && cond->magic == ST_CONDITION_HANDLE_MAGIC;
}

static const char *condition_name(const st_condition *cond)
{
    return cond->slot->header.name;
}

/* Whether the calling thread holds the condition's lock. */
static bool caller_holds_lock(const st_condition *cond)
{
    return st_lock_body_held_by_caller(st_lock_body_of(cond->lock));
}

st_result st_condition_open(st_table *table, const char *name, st_lock *lock, st_condition **out)
{
    if (!out)
        return st_fail(ST_EINVAL, "st_condition_open: out is NULL");
    *out = NULL;
    if (!table)
        return st_fail(ST_EINVAL, "st_condition_open: table is NULL");
    if (!lock)
        return st_fail(ST_EINVAL, "st_condition_open: lock is NULL (a condition works over a Lock)");
    st_table *lock_table = st_lock_table(lock);
    if (strcmp(lock_table->session, table->session) != 0)
        return st_fail(ST_EINVAL, "st_condition_open: the lock belongs to session '%s', not '%s'",
                       lock_table->session, table->session);
    uint32_t lock_index = st_lock_object_index(lock);
    const st_object_header *lock_header = &table->objects[lock_index].header;
    condition_params params = { lock_index, lock_header->created_ns, lock_header->name };
    uint32_t index;
    st_result r = st_object_open(table, ST_TYPE_CONDITION, name, condition_body_init, &params, &index);
    if (r != ST_OK)
        return r;
    st_condition_body *body = (st_condition_body *)table->objects[index].body.raw;
    if (body->lock_index != lock_index || body->lock_created_ns != params.lock_created_ns)
        return st_fail(ST_EINVAL, "condition '%s' was created over lock '%.*s'; it cannot be opened with lock "
                       "'%s' (a condition keeps its lock for life)", name, (int)sizeof body->lock_name,
                       body->lock_name, lock_header->name);
    st_condition *cond = malloc(sizeof *cond);
    if (!cond)
        return st_fail(ST_ENOMEM, "out of memory for a condition handle");
    cond->magic = ST_CONDITION_HANDLE_MAGIC;
    cond->index = index;
    cond->table = table;
    cond->slot = &table->objects[index];
    cond->body = body;
    cond->lock = lock;
    *out = cond;
    return ST_OK;
}

void st_condition_close(st_condition *cond)
{
    if (!condition_handle_valid(cond))
        return;
    cond->magic = 0;
    free(cond);
}

/* Take a notification handed out after mark, if one is left. */
static bool take_notification(st_condition_body *b, uint64_t mark)
{
    uint64_t signaled = __atomic_load_n(&b->signaled, __ATOMIC_ACQUIRE);
    if (signaled <= mark)
        return false;
    uint64_t consumed = __atomic_load_n(&b->consumed, __ATOMIC_RELAXED);
    while (consumed < signaled) {
        if (__atomic_compare_exchange_n(&b->consumed, &consumed, consumed + 1, true, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            return true;
    }
    return false;
}

static st_result check_wait_args(const st_condition *cond, int64_t timeout_ns, const char *what)
{
    if (!condition_handle_valid(cond))
        return st_fail(ST_EINVAL, "%s: invalid condition handle", what);
    if (timeout_ns < 0)
        return st_fail(ST_EINVAL, "%s: negative timeout %lld ns (use ST_FOREVER to wait without limit)", what,
                       (long long)timeout_ns);
    if (!caller_holds_lock(cond))
        return st_fail(ST_ENOTOWNER, "%s: condition '%s' waited on without holding its lock '%s'", what,
                       condition_name(cond), cond->body->lock_name);
    return ST_OK;
}

static st_result wait_locked(st_condition *cond, int64_t timeout_ns)
{
    st_table *table = cond->table;
    st_condition_body *b = cond->body;
    uint64_t mark = ST_LOAD(b->signaled);
    ST_STORE(b->unsignaled, ST_LOAD(b->unsignaled) + 1);
    uint32_t sequence = __atomic_load_n(&b->sequence, __ATOMIC_ACQUIRE);
    st_result r = st_lock_release(cond->lock);
    if (r != ST_OK) {
        ST_STORE(b->unsignaled, ST_LOAD(b->unsignaled) - 1);
        return r;
    }
    uint64_t start = st_clock_ticks(&table->clock);
    st_process_mark_blocked(table, cond->index, ST_OP_WAIT);
    struct timespec deadline;
    if (timeout_ns != ST_FOREVER)
        deadline = st_deadline_after(timeout_ns);
    bool notified = false, woke = false;
    for (;;) {
        notified = take_notification(b, mark);
        if (notified)
            break;
        if (woke)
            ST_ATOMIC_ADD(b->spurious_wakeups, 1u);
        if (st_futex_wait(&b->sequence, sequence, timeout_ns == ST_FOREVER ? NULL : &deadline) == ETIMEDOUT)
            break;
        woke = true;
        sequence = __atomic_load_n(&b->sequence, __ATOMIC_ACQUIRE);
    }
    uint64_t waited = st_clock_ticks_to_ns(&table->clock, st_clock_ticks(&table->clock) - start);
    st_process_mark_unblocked(table);
    r = st_lock_acquire(cond->lock, ST_FOREVER);
    if (r != ST_OK && r != ST_EOWNERDEAD)
        return r;  /* not holding the lock: the counters cannot be touched */
    if (!notified) {
        notified = take_notification(b, mark);  /* notified while the timeout passed */
        if (!notified) {
            ST_STORE(b->unsignaled, ST_LOAD(b->unsignaled) - 1);
            ST_BUMP(b->timeouts, 1u);
        }
    }
    if (notified)
        ST_BUMP(b->wakeups, 1u);
    if (st_object_traced(cond->slot))
        st_event_log(table, cond->index, ST_OP_WAIT, notified ? ST_OK : ST_ETIMEDOUT, waited, 0);
    if (r == ST_EOWNERDEAD)
        return r;  /* st_lock_acquire left the detail */
    if (!notified)
        return st_fail(ST_ETIMEDOUT, "condition '%s' was not notified within %.3f s", condition_name(cond),
                       (double)timeout_ns / 1e9);
    return ST_OK;
}

st_result st_condition_wait(st_condition *cond, int64_t timeout_ns)
{
    st_result r = check_wait_args(cond, timeout_ns, "st_condition_wait");
    if (r != ST_OK)
        return r;
    return wait_locked(cond, timeout_ns);
}

st_result st_condition_wait_for(st_condition *cond, st_condition_predicate predicate, void *arg,
                                int64_t timeout_ns)
{
    st_result r = check_wait_args(cond, timeout_ns, "st_condition_wait_for");
    if (r != ST_OK)
        return r;
    if (!predicate)
        return st_fail(ST_EINVAL, "st_condition_wait_for: predicate is NULL");
    uint64_t now = st_monotonic_ns();
    bool forever = timeout_ns == ST_FOREVER || (uint64_t)timeout_ns > UINT64_MAX - now;
    uint64_t deadline_ns = forever ? UINT64_MAX : now + (uint64_t)timeout_ns;
    bool first = true;
    while (!predicate(arg)) {
        /* As Python: the first wait gets the whole timeout, later ones what is left. */
        int64_t wait_ns = ST_FOREVER;
        if (!forever) {
            now = st_monotonic_ns();
            if (!first && now >= deadline_ns)
                return st_fail(ST_ETIMEDOUT, "condition '%s': the predicate was still false after %.3f s",
                               condition_name(cond), (double)timeout_ns / 1e9);
            wait_ns = first ? timeout_ns : (int64_t)(deadline_ns - now);
        }
        first = false;
        r = wait_locked(cond, wait_ns);
        if (r != ST_OK && r != ST_ETIMEDOUT)
            return r;
    }
    return ST_OK;
}

static st_result notify(st_condition *cond, uint64_t n, bool all)
{
    const char *what = all ? "st_condition_notify_all" : "st_condition_notify";
    if (!condition_handle_valid(cond))
        return st_fail(ST_EINVAL, "%s: invalid condition handle", what);
    if (!caller_holds_lock(cond))
        return st_fail(ST_ENOTOWNER, "%s: condition '%s' notified without holding its lock '%s'", what,
                       condition_name(cond), cond->body->lock_name);
    st_condition_body *b = cond->body;
    uint64_t unsignaled = ST_LOAD(b->unsignaled);
    uint64_t k = n < unsignaled ? n : unsignaled;
    if (all)
        ST_BUMP(b->notify_alls, 1u);
    else
        ST_BUMP(b->notifies, 1u);
    if (k > 0) {
        ST_STORE(b->unsignaled, unsignaled - k);
        __atomic_store_n(&b->signaled, ST_LOAD(b->signaled) + k, __ATOMIC_RELEASE);
        __atomic_fetch_add(&b->sequence, 1u, __ATOMIC_SEQ_CST);
        st_futex_wake(&b->sequence, all || k > INT_MAX ? INT_MAX : (int)k);
    }
    if (st_object_traced(cond->slot))
        st_event_log(cond->table, cond->index, ST_OP_NOTIFY, ST_OK, 0, (int64_t)k);
    return ST_OK;
}

st_result st_condition_notify(st_condition *cond, uint32_t n)
{
    return notify(cond, n, false);
}

st_result st_condition_notify_all(st_condition *cond)
{
    return notify(cond, UINT64_MAX, true);
}

void st_condition_describe(const void *body, const st_clock_calibration *clock, st_object_view *view)
{
    (void)clock;
    const st_condition_body *b = body;
    st_field_text(view, "lock", b->lock_name, sizeof b->lock_name);
    st_field_waiters(view, "waiters", b->unsignaled, ST_OP_WAIT);
    st_field_u64(view, "notifies", b->notifies, ST_FIELD_COUNTER);
    st_field_u64(view, "notify_alls", b->notify_alls, ST_FIELD_COUNTER);
    st_field_u64(view, "wakeups", b->wakeups, ST_FIELD_COUNTER);
    st_field_u64(view, "timeouts", b->timeouts, ST_FIELD_COUNTER);
    st_field_u64(view, "spurious_wakeups", b->spurious_wakeups, ST_FIELD_COUNTER);
}
