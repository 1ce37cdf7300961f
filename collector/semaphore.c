/* semaphore.c - instrumented counting and bounded semaphores.
 *
 * The semaphore is our own counter plus a futex, not glibc's sem_t: sem_t
 * has no bounded post, and we want the count next to its statistics in the
 * object slot. The synchronization word is 64 bits wide:
 *
 *      63                        32 31                         0
 *     +----------------------------+----------------------------+
 *     | acquisitions, mod 2^32     | value (the futex word)     |
 *     +----------------------------+----------------------------+
 *
 * so the compare-and-swap that takes a unit (value - 1) also counts the
 * acquisition (+ 2^32): the fast path is one load and one CAS, as cheap as
 * sem_wait. Waiters sleep on the low half, which is exactly the value.
 * Releases are not counted anywhere: value = initial - acquisitions +
 * releases, so the viewer derives them from one consistent read of the word.
 * The acquire that carries the count past 2^32 bumps acquisitions_high.
 *
 * Acquire: CAS the value down while it is above 0 (no clock read). Only when
 * it is 0: time the wait, raise `waiters`, mark the process blocked, sleep on
 * the value word until it changes, try again. Release: CAS the value up
 * (refused, with ST_EOVERFLOW, if that passes the maximum: the initial value
 * for a bounded semaphore), then wake a sleeper if `waiters` says there is
 * one. No wake-up is lost: the waiter raises `waiters` before it looks at the
 * value (and the kernel looks again before it sleeps), the releaser changes
 * the value before it looks at `waiters`, both with sequentially consistent
 * atomics, so at least one of them sees the other.
 *
 * Any process may acquire and release, so every statistic is written by
 * many processes: they use atomic read-modify-writes, which only the slow
 * path and the (rare) new concurrency peak pay for.
 *
 * Semaphores have no owner: a process that dies holding units is not
 * detected and its units are lost (see semaphore.h).
 */
#include "internal.h"
#include "event_log.h"
#include "futex.h"
#include "histogram.h"
#include "object_types.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ST_SEMAPHORE_HANDLE_MAGIC 0x53454d41u  /* "SEMA" */
#define ACQUISITION_ONE (UINT64_C(1) << 32)

/* The body in its object slot:
 *
 *   +0    word: value | acquisitions << 32     (the synchronization word)
 *   +8    waiters, initial, maximum, peak_in_use
 *   +24   acquisitions_high, contentions, wait_ns_total, wait_ns_max,
 *         timeouts, over_releases
 *   +72   wait_histogram (320 bytes)
 */
typedef struct st_semaphore_body {
    union {
        uint64_t word;
        uint32_t halves[2];         /* halves[VALUE_HALF] is the value: the futex word */
    };
    uint32_t waiters;               /* processes blocked in acquire right now */
    uint32_t initial;               /* set at creation, never changed */
    uint32_t maximum;               /* bounded: initial; otherwise ST_SEMAPHORE_VALUE_MAX */
    uint32_t peak_in_use;           /* max of initial - value ever seen */
    uint64_t acquisitions_high;     /* acquisitions >> 32 */
    uint64_t contentions;           /* acquisitions that had to wait */
    uint64_t wait_ns_total;
    uint64_t wait_ns_max;
    uint64_t timeouts;              /* acquires that gave up */
    uint64_t over_releases;         /* refused releases (above the maximum) */
    st_histogram wait_histogram;    /* waits of contended acquisitions, ns */
} st_semaphore_body;

_Static_assert(sizeof(st_semaphore_body) <= ST_OBJECT_BODY_SIZE, "semaphore body fits its slot");

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define VALUE_HALF 1
#else
#define VALUE_HALF 0
#endif

struct st_semaphore {
    uint32_t magic;
    uint32_t index;
    bool bounded;
    st_table *table;
    st_object_slot *slot;
    st_semaphore_body *body;
};

typedef struct semaphore_params {
    uint32_t initial;
    bool bounded;
} semaphore_params;

static void semaphore_body_init(void *raw, const void *params)
{
    const semaphore_params *p = params;
    st_semaphore_body *b = raw;
    b->word = p->initial;
    b->initial = p->initial;
    b->maximum = p->bounded ? p->initial : ST_SEMAPHORE_VALUE_MAX;
}

static inline uint32_t value_of(uint64_t word)
{
    return (uint32_t)word;
}

static const char *sem_name(const st_semaphore *sem)
{
    return sem->slot->header.name;
}

static bool sem_handle_valid(const st_semaphore *sem)
{
    return sem && sem->magic == ST_SEMAPHORE_HANDLE_MAGIC;
}

static st_result open_any(st_table *table, const char *name, uint32_t initial_value, bool bounded,
                          st_semaphore **out)
{
    const char *what = bounded ? "st_bounded_semaphore_open" : "st_semaphore_open";
    if (!out)
        return st_fail(ST_EINVAL, "%s: out is NULL", what);
    *out = NULL;
    if (initial_value > ST_SEMAPHORE_VALUE_MAX)
        return st_fail(ST_EINVAL, "%s: initial value %u is above the maximum %u", what, initial_value,
                       ST_SEMAPHORE_VALUE_MAX);
    semaphore_params params = { initial_value, bounded };
    uint32_t index;
    st_result r = st_object_open(table, bounded ? ST_TYPE_BOUNDED_SEMAPHORE : ST_TYPE_SEMAPHORE, name,
                                 semaphore_body_init, &params, &index);
    if (r != ST_OK)
        return r;
    st_semaphore *sem = malloc(sizeof *sem);
    if (!sem)
        return st_fail(ST_ENOMEM, "out of memory for a semaphore handle");
    sem->magic = ST_SEMAPHORE_HANDLE_MAGIC;
    sem->index = index;
    sem->bounded = bounded;
    sem->table = table;
    sem->slot = &table->objects[index];
    sem->body = (st_semaphore_body *)sem->slot->body.raw;
    *out = sem;
    return ST_OK;
}

st_result st_semaphore_open(st_table *table, const char *name, uint32_t initial_value, st_semaphore **out)
{
    return open_any(table, name, initial_value, false, out);
}

st_result st_bounded_semaphore_open(st_table *table, const char *name, uint32_t initial_value,
                                    st_semaphore **out)
{
    return open_any(table, name, initial_value, true, out);
}

void st_semaphore_close(st_semaphore *sem)
{
    if (!sem_handle_valid(sem))
        return;
    sem->magic = 0;
    free(sem);
}

static inline void atomic_max_u64(uint64_t *field, uint64_t value)
{
    uint64_t seen = ST_LOAD(*field);
    while (value > seen && !__atomic_compare_exchange_n(field, &seen, value, true, __ATOMIC_RELAXED,
                                                        __ATOMIC_RELAXED)) {
    }
}

static inline void atomic_max_u32(uint32_t *field, uint32_t value)
{
    uint32_t seen = ST_LOAD(*field);
    while (value > seen && !__atomic_compare_exchange_n(field, &seen, value, true, __ATOMIC_RELAXED,
                                                        __ATOMIC_RELAXED)) {
    }
}

/* Take one unit if there is one: true when taken, with the word it left. */
static inline bool try_take(st_semaphore_body *b, uint64_t *left)
{
    uint64_t word = __atomic_load_n(&b->word, __ATOMIC_RELAXED);
    while (value_of(word) > 0) {
        if (__atomic_compare_exchange_n(&b->word, &word, word - 1 + ACQUISITION_ONE, true, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
            *left = word - 1 + ACQUISITION_ONE;
            return true;
        }
    }
    return false;
}

/* Bookkeeping after a unit was taken, leaving word. */
static inline void taken(st_semaphore *sem, uint64_t word, uint64_t waited_ns)
{
    st_semaphore_body *b = sem->body;
    if (__builtin_expect((word >> 32) == 0, 0))
        ST_ATOMIC_ADD(b->acquisitions_high, 1u);  /* this acquisition carried the count past 2^32 */
    uint32_t value = value_of(word);
    if (value < b->initial && b->initial - value > ST_LOAD(b->peak_in_use))
        atomic_max_u32(&b->peak_in_use, b->initial - value);
    if (st_object_traced(sem->slot))
        st_event_log(sem->table, sem->index, ST_OP_ACQUIRE, ST_OK, waited_ns, value);
}

/* Out of line: the fast path stays a leaf with few registers to save. */
static __attribute__((noinline)) st_result acquire_contended(st_semaphore *sem, int64_t timeout_ns)
{
    st_table *table = sem->table;
    st_semaphore_body *b = sem->body;
    uint64_t start = st_clock_ticks(&table->clock);
    /* Sequentially consistent: see the no-lost-wake-up argument on top. */
    __atomic_fetch_add(&b->waiters, 1u, __ATOMIC_SEQ_CST);
    st_process_mark_blocked(table, sem->index, ST_OP_ACQUIRE);
    struct timespec deadline;
    if (timeout_ns != ST_FOREVER)
        deadline = st_deadline_after(timeout_ns);
    uint64_t word = 0;
    bool got;
    for (;;) {
        got = try_take(b, &word);
        if (got)
            break;
        int rc = st_futex_wait(&b->halves[VALUE_HALF], 0, timeout_ns == ST_FOREVER ? NULL : &deadline);
        if (rc == ETIMEDOUT) {
            got = try_take(b, &word);  /* a unit that came at the very end still counts */
            break;
        }
    }
    uint64_t end = st_clock_ticks(&table->clock);
    st_process_mark_unblocked(table);
    __atomic_fetch_sub(&b->waiters, 1u, __ATOMIC_RELAXED);
    uint64_t waited = st_clock_ticks_to_ns(&table->clock, end - start);
    if (got) {
        ST_ATOMIC_ADD(b->contentions, 1u);
        ST_ATOMIC_ADD(b->wait_ns_total, waited);
        atomic_max_u64(&b->wait_ns_max, waited);
        ST_ATOMIC_ADD(b->wait_histogram.buckets[st_histogram_bucket(waited)], 1u);
        taken(sem, word, waited);
        return ST_OK;
    }
    ST_ATOMIC_ADD(b->timeouts, 1u);
    if (st_object_traced(sem->slot))
        st_event_log(table, sem->index, ST_OP_ACQUIRE, ST_ETIMEDOUT, waited, 0);
    return st_fail(ST_ETIMEDOUT, "semaphore '%s' had no free unit within %.3f s (%u waiting)", sem_name(sem),
                   (double)timeout_ns / 1e9, ST_LOAD(b->waiters));
}

st_result st_semaphore_acquire(st_semaphore *sem, int64_t timeout_ns)
{
    if (__builtin_expect(!sem_handle_valid(sem), 0))
        return st_fail(ST_EINVAL, "st_semaphore_acquire: invalid semaphore handle");
    if (__builtin_expect(timeout_ns < 0, 0))
        return st_fail(ST_EINVAL,
                       "st_semaphore_acquire: negative timeout %lld ns (use ST_FOREVER to wait without limit)",
                       (long long)timeout_ns);
    st_self_slot(sem->table);  /* registers a fresh (forked) process once */
    uint64_t word;
    if (__builtin_expect(try_take(sem->body, &word), 1)) {
        taken(sem, word, 0);
        return ST_OK;
    }
    if (timeout_ns == 0) {
        ST_ATOMIC_ADD(sem->body->timeouts, 1u);
        return st_fail(ST_ETIMEDOUT, "semaphore '%s' has no free unit (timeout 0)", sem_name(sem));
    }
    return acquire_contended(sem, timeout_ns);
}

st_result st_semaphore_try(st_semaphore *sem)
{
    if (__builtin_expect(!sem_handle_valid(sem), 0))
        return st_fail(ST_EINVAL, "st_semaphore_try: invalid semaphore handle");
    st_self_slot(sem->table);
    uint64_t word;
    if (try_take(sem->body, &word)) {
        taken(sem, word, 0);
        return ST_OK;
    }
    return ST_EBUSY;
}

static __attribute__((noinline)) st_result over_release(st_semaphore *sem, uint32_t value, uint32_t n)
{
    st_semaphore_body *b = sem->body;
    ST_ATOMIC_ADD(b->over_releases, 1u);
    if (st_object_traced(sem->slot))
        st_event_log(sem->table, sem->index, ST_OP_RELEASE, ST_EOVERFLOW, 0, value);
    if (sem->bounded)
        return st_fail(ST_EOVERFLOW, "bounded semaphore '%s' released above its initial value %u "
                       "(value %u, releasing %u): more releases than acquires", sem_name(sem), b->maximum,
                       value, n);
    return st_fail(ST_EOVERFLOW, "semaphore '%s': value %u + %u would pass the maximum %u", sem_name(sem), value,
                   n, b->maximum);
}

/* Give n (>= 1) units back on a valid handle. */
static inline st_result release_units(st_semaphore *sem, uint32_t n)
{
    st_semaphore_body *b = sem->body;
    uint64_t word = __atomic_load_n(&b->word, __ATOMIC_RELAXED);
    for (;;) {
        if (__builtin_expect((uint64_t)value_of(word) + n > b->maximum, 0))
            return over_release(sem, value_of(word), n);
        /* value + n stays below 2^31: no carry into the acquisition count. */
        if (__atomic_compare_exchange_n(&b->word, &word, word + n, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
            break;
    }
    if (__builtin_expect(__atomic_load_n(&b->waiters, __ATOMIC_SEQ_CST) > 0, 0))
        st_futex_wake(&b->halves[VALUE_HALF], n > INT32_MAX ? INT32_MAX : (int)n);
    if (st_object_traced(sem->slot))
        st_event_log(sem->table, sem->index, ST_OP_RELEASE, ST_OK, 0, value_of(word) + n);
    return ST_OK;
}

st_result st_semaphore_release(st_semaphore *sem)
{
    if (__builtin_expect(!sem_handle_valid(sem), 0))
        return st_fail(ST_EINVAL, "st_semaphore_release: invalid semaphore handle");
    return release_units(sem, 1);
}

st_result st_semaphore_release_n(st_semaphore *sem, uint32_t n)
{
    if (__builtin_expect(!sem_handle_valid(sem), 0))
        return st_fail(ST_EINVAL, "st_semaphore_release_n: invalid semaphore handle");
    if (__builtin_expect(n == 0, 0))
        return st_fail(ST_EINVAL, "st_semaphore_release_n: n is 0 (release at least one unit)");
    return release_units(sem, n);
}

st_result st_semaphore_value(st_semaphore *sem, uint32_t *value)
{
    if (!sem_handle_valid(sem))
        return st_fail(ST_EINVAL, "st_semaphore_value: invalid semaphore handle");
    if (!value)
        return st_fail(ST_EINVAL, "st_semaphore_value: value is NULL");
    *value = value_of(__atomic_load_n(&sem->body->word, __ATOMIC_RELAXED));
    return ST_OK;
}

static void describe(const st_semaphore_body *b, st_object_view *view, bool bounded)
{
    uint64_t word = b->word;
    uint32_t value = value_of(word);
    uint64_t acquisitions = (b->acquisitions_high << 32) | (word >> 32);
    /* value = initial - acquisitions + releases */
    uint64_t releases = acquisitions + value >= b->initial ? acquisitions + value - b->initial : 0;
    st_field_u64(view, "value", value, 0);
    st_field_u64(view, "initial", b->initial, 0);
    st_field_u64(view, "in_use", value < b->initial ? b->initial - value : 0, 0);
    st_field_u64(view, "peak_in_use", b->peak_in_use, 0);
    st_field_waiters(view, "waiters", b->waiters, ST_OP_ACQUIRE);
    st_field_u64(view, "acquisitions", acquisitions, ST_FIELD_COUNTER);
    st_field_u64(view, "contentions", b->contentions, ST_FIELD_COUNTER);
    st_field_u64(view, "wait_ns_total", b->wait_ns_total, ST_FIELD_COUNTER | ST_FIELD_DURATION);
    st_field_u64(view, "wait_ns_max", b->wait_ns_max, ST_FIELD_DURATION);
    st_field_u64(view, "wait_ns_p50", st_histogram_percentile(&b->wait_histogram, 50, b->wait_ns_max),
                 ST_FIELD_DURATION);
    st_field_u64(view, "wait_ns_p99", st_histogram_percentile(&b->wait_histogram, 99, b->wait_ns_max),
                 ST_FIELD_DURATION);
    st_field_u64(view, "timeouts", b->timeouts, ST_FIELD_COUNTER);
    st_field_u64(view, "releases", releases, ST_FIELD_COUNTER);
    if (bounded)
        st_field_u64(view, "over_releases", b->over_releases, ST_FIELD_COUNTER);
}

void st_semaphore_describe(const void *body, const st_clock_calibration *clock, st_object_view *view)
{
    (void)clock;
    describe(body, view, false);
}

void st_bounded_semaphore_describe(const void *body, const st_clock_calibration *clock, st_object_view *view)
{
    (void)clock;
    describe(body, view, true);
}
