/* event.c - the instrumented Event: a flag processes wait for.
 *
 * The synchronization word is a 32-bit futex word:
 *
 *      31                               1   0
 *     +----------------------------------+---+
 *     | generation: sets that raised it  |set|
 *     +----------------------------------+---+
 *
 * set() raises bit 0 and, when it was down, adds one to the generation in
 * the same CAS; clear() lowers bit 0 and leaves the generation alone. So
 * while the flag is down the word changes only when someone sets it, and a
 * waiter sleeps on "the word is still what I saw": it returns as soon as any
 * set() happened after it looked - even if the flag was cleared again before
 * it ran, as in Python, where such a waiter also returns True. set() wakes
 * every sleeper.
 *
 * No wake-up is lost: a waiter raises `waiters` before the kernel compares
 * the word, set() changes the word before it reads `waiters` (both
 * sequentially consistent), so set() sees the waiter or the waiter sees the
 * new word. A wrapped generation (2^31 sets while one waiter sleeps through
 * them all) is the only way to miss one.
 *
 * Every process may set, clear and wait, so the counters use atomic adds;
 * a wait on a set event is one load and one add.
 */
#include "internal.h"
#include "event_log.h"
#include "futex.h"
#include "object_types.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#define ST_EVENT_HANDLE_MAGIC 0x45564e54u  /* "EVNT" */
#define EVENT_SET 1u
#define EVENT_GENERATION_ONE 2u

/* The body in its object slot:
 *
 *   +0    word      generation << 1 | set    (the futex word)
 *   +4    waiters   processes asleep in wait right now
 *   +8    sets, clears, waits, wait_timeouts
 */
typedef struct st_event_body {
    uint32_t word;
    uint32_t waiters;
    uint64_t sets;
    uint64_t clears;
    uint64_t waits;                 /* wait calls, counted as they start */
    uint64_t wait_timeouts;
} st_event_body;

_Static_assert(sizeof(st_event_body) <= ST_OBJECT_BODY_SIZE, "event body fits its slot");

struct st_event {
    uint32_t magic;
    uint32_t index;
    st_table *table;
    st_object_slot *slot;
    st_event_body *body;
};

static bool event_handle_valid(const st_event *event)
{
    return event && event->magic == ST_EVENT_HANDLE_MAGIC;
}

static const char *event_name(const st_event *event)
{
    return event->slot->header.name;
}

st_result st_event_open(st_table *table, const char *name, st_event **out)
{
    if (!out)
        return st_fail(ST_EINVAL, "st_event_open: out is NULL");
    *out = NULL;
    uint32_t index;
    /* A zeroed body is a clear event: no init needed. */
    st_result r = st_object_open(table, ST_TYPE_EVENT, name, NULL, NULL, &index);
    if (r != ST_OK)
        return r;
    st_event *event = malloc(sizeof *event);
    if (!event)
        return st_fail(ST_ENOMEM, "out of memory for an event handle");
    event->magic = ST_EVENT_HANDLE_MAGIC;
    event->index = index;
    event->table = table;
    event->slot = &table->objects[index];
    event->body = (st_event_body *)event->slot->body.raw;
    *out = event;
    return ST_OK;
}

void st_event_close(st_event *event)
{
    if (!event_handle_valid(event))
        return;
    event->magic = 0;
    free(event);
}

st_result st_event_set(st_event *event)
{
    if (!event_handle_valid(event))
        return st_fail(ST_EINVAL, "st_event_set: invalid event handle");
    st_event_body *b = event->body;
    st_self_slot(event->table);
    ST_ATOMIC_ADD(b->sets, 1u);
    uint32_t word = __atomic_load_n(&b->word, __ATOMIC_RELAXED);
    bool raised = false;
    while (!(word & EVENT_SET)) {
        if (__atomic_compare_exchange_n(&b->word, &word, (word + EVENT_GENERATION_ONE) | EVENT_SET, true,
                                        __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
            raised = true;
            break;
        }
    }
    if (raised && __atomic_load_n(&b->waiters, __ATOMIC_SEQ_CST) > 0)
        st_futex_wake(&b->word, INT_MAX);
    if (st_object_traced(event->slot))
        st_event_log(event->table, event->index, ST_OP_SET, ST_OK, 0, 1);
    return ST_OK;
}

st_result st_event_clear(st_event *event)
{
    if (!event_handle_valid(event))
        return st_fail(ST_EINVAL, "st_event_clear: invalid event handle");
    st_event_body *b = event->body;
    st_self_slot(event->table);
    ST_ATOMIC_ADD(b->clears, 1u);
    __atomic_fetch_and(&b->word, ~EVENT_SET, __ATOMIC_RELEASE);
    if (st_object_traced(event->slot))
        st_event_log(event->table, event->index, ST_OP_CLEAR, ST_OK, 0, 0);
    return ST_OK;
}

st_result st_event_is_set(st_event *event, bool *is_set)
{
    if (!event_handle_valid(event))
        return st_fail(ST_EINVAL, "st_event_is_set: invalid event handle");
    if (!is_set)
        return st_fail(ST_EINVAL, "st_event_is_set: is_set is NULL");
    *is_set = (__atomic_load_n(&event->body->word, __ATOMIC_ACQUIRE) & EVENT_SET) != 0;
    return ST_OK;
}

static st_result wait_timed_out(st_event *event, uint64_t waited_ns, int64_t timeout_ns)
{
    ST_ATOMIC_ADD(event->body->wait_timeouts, 1u);
    if (st_object_traced(event->slot))
        st_event_log(event->table, event->index, ST_OP_WAIT, ST_ETIMEDOUT, waited_ns, 0);
    return st_fail(ST_ETIMEDOUT, "event '%s' was not set within %.3f s", event_name(event),
                   (double)timeout_ns / 1e9);
}

static st_result wait_slow(st_event *event, uint32_t seen, int64_t timeout_ns)
{
    st_table *table = event->table;
    st_event_body *b = event->body;
    uint64_t start = st_clock_ticks(&table->clock);
    __atomic_fetch_add(&b->waiters, 1u, __ATOMIC_SEQ_CST);
    st_process_mark_blocked(table, event->index, ST_OP_WAIT);
    struct timespec deadline;
    if (timeout_ns != ST_FOREVER)
        deadline = st_deadline_after(timeout_ns);
    bool was_set = false;
    for (;;) {
        if (__atomic_load_n(&b->word, __ATOMIC_ACQUIRE) != seen) {
            was_set = true;  /* a set() happened since we looked */
            break;
        }
        if (st_futex_wait(&b->word, seen, timeout_ns == ST_FOREVER ? NULL : &deadline) == ETIMEDOUT) {
            was_set = __atomic_load_n(&b->word, __ATOMIC_ACQUIRE) != seen;
            break;
        }
    }
    uint64_t waited = st_clock_ticks_to_ns(&table->clock, st_clock_ticks(&table->clock) - start);
    st_process_mark_unblocked(table);
    __atomic_fetch_sub(&b->waiters, 1u, __ATOMIC_RELAXED);
    if (!was_set)
        return wait_timed_out(event, waited, timeout_ns);
    if (st_object_traced(event->slot))
        st_event_log(table, event->index, ST_OP_WAIT, ST_OK, waited, 1);
    return ST_OK;
}

st_result st_event_wait(st_event *event, int64_t timeout_ns)
{
    if (__builtin_expect(!event_handle_valid(event), 0))
        return st_fail(ST_EINVAL, "st_event_wait: invalid event handle");
    if (__builtin_expect(timeout_ns < 0, 0))
        return st_fail(ST_EINVAL, "st_event_wait: negative timeout %lld ns (use ST_FOREVER to wait without limit)",
                       (long long)timeout_ns);
    st_event_body *b = event->body;
    st_self_slot(event->table);
    ST_ATOMIC_ADD(b->waits, 1u);
    uint32_t word = __atomic_load_n(&b->word, __ATOMIC_ACQUIRE);
    if (word & EVENT_SET) {
        if (st_object_traced(event->slot))
            st_event_log(event->table, event->index, ST_OP_WAIT, ST_OK, 0, 1);
        return ST_OK;
    }
    if (timeout_ns == 0)
        return wait_timed_out(event, 0, timeout_ns);
    return wait_slow(event, word, timeout_ns);
}

void st_event_describe(const void *body, const st_clock_calibration *clock, st_object_view *view)
{
    (void)clock;
    const st_event_body *b = body;
    st_field_u64(view, "is_set", b->word & EVENT_SET, 0);
    st_field_waiters(view, "waiters", b->waiters, ST_OP_WAIT);
    st_field_u64(view, "sets", b->sets, ST_FIELD_COUNTER);
    st_field_u64(view, "clears", b->clears, ST_FIELD_COUNTER);
    st_field_u64(view, "waits", b->waits, ST_FIELD_COUNTER);
    st_field_u64(view, "wait_timeouts", b->wait_timeouts, ST_FIELD_COUNTER);
}
