/* ring.c - the bounded message ring behind the Queue and the Pipe (see
 * ring.h for the layout, the commit points and the sleeping protocol).
 *
 * Every operation is "lock my side, look, copy, publish, unlock" with the
 * other side's index read only when the cached copy says there is nothing
 * to do. The fast path reads no clock and makes no system call: a put that
 * finds room and nobody asleep is a trylock, a memcpy, one exchange (the
 * publishing store, which is also the barrier the wake-up check needs) and
 * an unlock. Only the blocking path times the wait, marks the process
 * blocked, spins, and sleeps.
 */
#include "ring.h"
#include "event_log.h"
#include "futex.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* How long a blocked put or get re-checks before it sleeps: waking a
 * sleeper on another CPU costs ~20 us here, a hand-off between spinning
 * processes ~50 ns (notes/floors.md). */
#define RING_SPIN_NS 2000
/* Re-checks of a busy side mutex before sleeping on it. */
#define LOCK_SPINS 200
/* "Try once" (timeout 0) still waits out another producer's (consumer's)
 * copy, but never longer than this. */
#define TRY_LOCK_GRACE_NS 10000000
/* After this many wakes that woke nobody, look for sleepers that died. */
#define REAP_AFTER_FRUITLESS_WAKES 64

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

uint32_t st_ring_slot_size(uint32_t max_message_bytes)
{
    uint64_t size = (uint64_t)ST_RING_SLOT_HEADER + max_message_bytes;
    return (uint32_t)((size + ST_RING_LINE - 1) / ST_RING_LINE * ST_RING_LINE);
}

st_result st_ring_check_shape(const char *what, uint64_t capacity, uint64_t max_message_bytes, unsigned rings,
                              size_t *segment_bytes)
{
    if (capacity == 0 || capacity > ST_RING_MAX_CAPACITY)
        return st_fail(ST_EINVAL, "%s: capacity %llu messages is out of range (1 to %u)", what,
                       (unsigned long long)capacity, ST_RING_MAX_CAPACITY);
    if (max_message_bytes == 0 || max_message_bytes > ST_RING_MAX_MESSAGE_BYTES)
        return st_fail(ST_EINVAL, "%s: maximum message size %llu bytes is out of range (1 to %u)", what,
                       (unsigned long long)max_message_bytes, ST_RING_MAX_MESSAGE_BYTES);
    uint64_t bytes = ST_RING_SEGMENT_HEADER_BYTES +
                     (uint64_t)rings * capacity * st_ring_slot_size((uint32_t)max_message_bytes);
    if (bytes > ST_RING_MAX_SEGMENT_BYTES)
        return st_fail(ST_EINVAL, "%s: %llu messages of up to %llu bytes need %llu MiB of shared memory, more "
                       "than the %llu MiB limit; ask for fewer or smaller messages", what,
                       (unsigned long long)capacity, (unsigned long long)max_message_bytes,
                       (unsigned long long)(bytes >> 20), (unsigned long long)(ST_RING_MAX_SEGMENT_BYTES >> 20));
    *segment_bytes = (size_t)bytes;
    return ST_OK;
}

st_result st_ring_segment_create(st_table *table, const void *body, const char *kind, size_t bytes,
                                 char name_out[ST_RING_SEGMENT_NAME_BYTES], st_segment *segment)
{
    const st_object_slot *slot =
        (const st_object_slot *)((const uint8_t *)body - offsetof(st_object_slot, body));
    uint32_t index = (uint32_t)(slot - table->objects);
    char name[ST_SEGMENT_NAME_MAX];
    st_result result = st_segment_name(table, kind, index, slot->header.created_ns, name);
    if (result != ST_OK)
        return result;
    if (strlen(name) >= ST_RING_SEGMENT_NAME_BYTES)
        return st_fail(ST_ENAMETOOLONG, "the data segment name %s is too long for a %s's slot", name, kind);
    result = st_segment_create(name, bytes, segment);
    if (result != ST_OK)
        return result;
    memcpy(name_out, name, strlen(name) + 1);
    return ST_OK;
}

st_result st_ring_segment_attach(const char *what, const char name[ST_RING_SEGMENT_NAME_BYTES],
                                 const st_ring_shape *shape, unsigned rings, st_segment *segment)
{
    char copy[ST_RING_SEGMENT_NAME_BYTES];
    memcpy(copy, name, sizeof copy);
    copy[sizeof copy - 1] = '\0';
    if (!__atomic_load_n(&shape->ready, __ATOMIC_ACQUIRE) || copy[0] != '/')
        return st_fail(ST_ECORRUPT, "%s has no data segment: its creation failed (see the creator's error)", what);
    size_t bytes;
    st_result result = st_ring_check_shape(what, shape->capacity, shape->max_message_bytes, rings, &bytes);
    if (result != ST_OK || shape->slot_size != st_ring_slot_size(shape->max_message_bytes))
        return st_fail(ST_ECORRUPT, "%s: its recorded geometry is invalid", what);
    return st_segment_attach(copy, bytes, false, segment);
}

void st_ring_init(st_ring *ring)
{
    memset(ring, 0, sizeof *ring);
    st_robust_mutex_init(&ring->put_mutex);
    st_robust_mutex_init(&ring->get_mutex);
}

static uint64_t spin_ticks_for(const st_clock_calibration *clock)
{
    static int cpus;
    if (cpus == 0)
        cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus == 1)
        return 0;  /* the other side cannot run while we spin */
    if (clock->mult == 0)
        return RING_SPIN_NS;
    return ((uint64_t)RING_SPIN_NS << ST_CLOCK_SHIFT) / clock->mult;
}

void st_ring_port_init(st_ring_port *port, st_table *table, uint32_t object_index, st_ring *ring,
                       const st_ring_shape *shape, st_ring_segment_header *segment, uint8_t *slots,
                       st_operation put_op, st_operation get_op, const char *label)
{
    port->ring = ring;
    port->slots = slots;
    port->capacity = shape->capacity;
    port->slot_size = shape->slot_size;
    port->max_message_bytes = shape->max_message_bytes;
    port->put_op = put_op;
    port->get_op = get_op;
    port->table = table;
    port->object_index = object_index;
    port->body = table->objects[object_index].body.raw;
    port->segment = segment;
    port->spin_ticks = spin_ticks_for(&table->clock);
    port->label = label;
}

/* ---- figures ------------------------------------------------------------- */

uint64_t st_ring_depth(const st_ring *ring, uint32_t capacity)
{
    uint64_t tail = ST_LOAD(ring->tail), head = ST_LOAD(ring->head);
    if (tail <= head)
        return 0;
    return tail - head > capacity ? capacity : tail - head;
}

uint64_t st_ring_bytes(const st_ring *ring)
{
    uint64_t put = ST_LOAD(ring->put_bytes), got = ST_LOAD(ring->get_bytes);
    return put > got ? put - got : 0;
}

static inline void trace(st_ring_port *port, st_operation op, st_result result, uint64_t waited_ns)
{
    if (st_object_traced(&port->table->objects[port->object_index]))
        st_event_log(port->table, port->object_index, op, result, waited_ns,
                     (int64_t)st_ring_depth(port->ring, port->capacity));
}

/* ---- sleepers and their records -------------------------------------------- */

static int futex_wake_count(uint32_t *word, int count)
{
    long woken = syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
    return woken < 0 ? 0 : (int)woken;
}

static st_waiter_record *claim_record(st_ring_port *port, uint32_t *sleepers)
{
    st_ring_segment_header *segment = port->segment;
    st_process_slot *self = st_self_slot(port->table);
    if (!segment || !self)
        return NULL;
    size_t offset = (size_t)((uint8_t *)sleepers - port->body);
    uint32_t start = (uint32_t)st_self_pid % ST_RING_WAITER_RECORDS;
    for (uint32_t i = 0; i < ST_RING_WAITER_RECORDS; i++) {
        st_waiter_record *record = &segment->records[(start + i) % ST_RING_WAITER_RECORDS];
        int32_t expected = 0;
        if (__atomic_load_n(&record->pid, __ATOMIC_RELAXED) != 0 ||
            !__atomic_compare_exchange_n(&record->pid, &expected, -1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            continue;
        /* pid -1: ours, and invisible to reapers until filled in. */
        ST_STORE(record->counted, 0u);
        ST_STORE(record->counter_offset, (uint32_t)offset);
        ST_STORE(record->start_ticks, ST_LOAD(self->start_ticks));
        __atomic_store_n(&record->pid, (int32_t)st_self_pid, __ATOMIC_RELEASE);
        return record;
    }
    return NULL;
}

void st_ring_sleeper_enter(st_ring_port *port, uint32_t *word, uint32_t *sleepers, st_ring_sleeper *sleeper)
{
    st_waiter_record *record = claim_record(port, sleepers);
    __atomic_fetch_add(sleepers, 1u, __ATOMIC_RELAXED);
    if (record)
        __atomic_store_n(&record->counted, 1u, __ATOMIC_RELEASE);
    uint32_t value = __atomic_load_n(word, __ATOMIC_RELAXED);
    while (!(value & 1u) &&
           !__atomic_compare_exchange_n(word, &value, value | 1u, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
    }
    /* The caller's re-check must not be read before the bit is visible (the
     * other side publishes, then reads the bit). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    sleeper->expected = value | 1u;
    sleeper->record = record;
}

void st_ring_sleeper_leave(st_ring_port *port, uint32_t *sleepers, st_ring_sleeper *sleeper)
{
    (void)port;
    /* Killed between these two stores, the count stays one too high until
     * the process is found dead; never one too low. */
    if (sleeper->record)
        __atomic_store_n(&sleeper->record->counted, 0u, __ATOMIC_RELEASE);
    __atomic_fetch_sub(sleepers, 1u, __ATOMIC_RELAXED);
    if (sleeper->record)
        __atomic_store_n(&sleeper->record->pid, 0, __ATOMIC_RELEASE);
}

void st_ring_reap_dead_sleepers(st_ring_port *port)
{
    st_ring_segment_header *segment = port->segment;
    if (!segment)
        return;
    for (uint32_t i = 0; i < ST_RING_WAITER_RECORDS; i++) {
        st_waiter_record *record = &segment->records[i];
        int32_t pid = __atomic_load_n(&record->pid, __ATOMIC_ACQUIRE);
        if (pid <= 0)
            continue;
        uint64_t start_ticks = ST_LOAD(record->start_ticks);
        if (st_proc_is_alive(pid, start_ticks))
            continue;
        /* Dead: claim the record (pid -> -1) so that exactly one reaper
         * takes its count back; the dead process writes nothing more. */
        if (!__atomic_compare_exchange_n(&record->pid, &pid, -1, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            continue;
        uint32_t offset = ST_LOAD(record->counter_offset);
        if (ST_LOAD(record->counted) && offset % sizeof(uint32_t) == 0 &&
            offset + sizeof(uint32_t) <= ST_OBJECT_BODY_SIZE) {
            uint32_t *counter = (uint32_t *)(port->body + offset);
            if (__atomic_load_n(counter, __ATOMIC_RELAXED) > 0)
                __atomic_fetch_sub(counter, 1u, __ATOMIC_SEQ_CST);
        }
        ST_STORE(record->counted, 0u);
        __atomic_store_n(&record->pid, 0, __ATOMIC_RELEASE);
    }
}

void st_ring_wake(st_ring_port *port, uint32_t *word)
{
    uint32_t value = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    if (__builtin_expect(!(value & 1u), 1))
        return;
    /* value + 1 clears bit 0 and carries into the sequence. */
    while ((value & 1u) &&
           !__atomic_compare_exchange_n(word, &value, value + 1u, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
    }
    if (!(value & 1u))
        return;  /* another waker got there first */
    if (futex_wake_count(word, INT_MAX) > 0 || !port->segment)
        return;
    /* The bit was set but nobody slept: a sleeper that timed out, or one
     * that died - every so often, look for the dead. */
    uint32_t fruitless = __atomic_add_fetch(&port->segment->fruitless_wakes, 1u, __ATOMIC_RELAXED);
    if (fruitless % REAP_AFTER_FRUITLESS_WAKES == 0)
        st_ring_reap_dead_sleepers(port);
}

/* ---- the side locks ---------------------------------------------------------- */

static inline bool mutex_looks_free(pthread_mutex_t *mutex)
{
#ifdef __GLIBC__
    /* glibc keeps the owner's tid in __lock: read it without a locked
     * instruction so spinners do not steal the line from the holder. */
    return (__atomic_load_n(&mutex->__data.__lock, __ATOMIC_RELAXED) & FUTEX_TID_MASK) == 0;
#else
    (void)mutex;
    return true;
#endif
}

/* Lock one side's mutex. deadline NULL: derive it from timeout_ns
 * (ST_FOREVER, or 0 for the short grace of a try). */
static st_result side_lock(st_ring_port *port, pthread_mutex_t *mutex, bool put_side, int64_t timeout_ns,
                           const struct timespec *deadline)
{
    int rc = pthread_mutex_trylock(mutex);
    if (__builtin_expect(rc == EBUSY, 0)) {
        for (int i = 0; i < LOCK_SPINS && rc == EBUSY; i++) {
            cpu_relax();
            if (mutex_looks_free(mutex))
                rc = pthread_mutex_trylock(mutex);
        }
        if (rc == EBUSY) {
            if (!deadline && timeout_ns == ST_FOREVER) {
                rc = pthread_mutex_lock(mutex);
            } else {
                struct timespec own;
                if (!deadline) {
                    own = st_deadline_after(timeout_ns > 0 ? timeout_ns : TRY_LOCK_GRACE_NS);
                    deadline = &own;
                }
                rc = pthread_mutex_clocklock(mutex, CLOCK_MONOTONIC, deadline);
            }
        }
    }
    if (__builtin_expect(rc == 0, 1))
        return ST_OK;
    st_ring *ring = port->ring;
    if (rc == EOWNERDEAD) {
        /* A process died holding this side: its message (put) was never
         * published or (get) never consumed; only the byte figure may lag
         * one message behind the index, and the journal says by how much. */
        pthread_mutex_consistent(mutex);
        if (put_side) {
            uint64_t tail = ST_LOAD(ring->tail);
            if (ST_LOAD(ring->put_bytes_tail) != tail) {
                ST_STORE(ring->put_bytes, ST_LOAD(ring->put_bytes_next));
                ST_STORE(ring->put_bytes_tail, tail);
            }
            ST_BUMP(ring->put_owner_died, 1u);
        } else {
            uint64_t head = ST_LOAD(ring->head);
            if (ST_LOAD(ring->get_bytes_head) != head) {
                ST_STORE(ring->get_bytes, ST_LOAD(ring->get_bytes_next));
                ST_STORE(ring->get_bytes_head, head);
            }
            ST_BUMP(ring->get_owner_died, 1u);
        }
        return ST_OK;
    }
    if (rc == ETIMEDOUT)
        return ST_ETIMEDOUT;
    if (rc == ENOTRECOVERABLE)
        return st_fail(ST_ECORRUPT, "%s: its %s lock is not recoverable", port->label, put_side ? "put" : "get");
    return st_fail(ST_ESYSTEM, "%s: locking its %s side: %s", port->label, put_side ? "put" : "get", strerror(rc));
}

/* ---- put ------------------------------------------------------------------------ */

static inline uint8_t *slot_at(const st_ring_port *port, uint64_t index)
{
    return port->slots + (size_t)(index % port->capacity) * port->slot_size;
}

/* Under put_mutex: ST_OK (published), ST_EBUSY (full) or ST_ECLOSED. */
static inline st_result put_locked(st_ring_port *port, const void *data, uint32_t length)
{
    st_ring *r = port->ring;
    if (__builtin_expect(__atomic_load_n(&r->closed, __ATOMIC_RELAXED) != 0, 0))
        return ST_ECLOSED;
    uint64_t tail = r->tail;  /* only producers write it, under this mutex */
    if (tail - r->head_seen >= port->capacity) {
        ST_STORE(r->head_seen, __atomic_load_n(&r->head, __ATOMIC_ACQUIRE));
        if (tail - r->head_seen >= port->capacity)
            return ST_EBUSY;
    }
    uint8_t *slot = slot_at(port, tail);
    if (length)
        memcpy(slot + ST_RING_SLOT_HEADER, data, length);
    *(uint32_t *)slot = length;
    uint64_t bytes = r->put_bytes + length;
    ST_STORE(r->put_bytes_next, bytes);
    /* The commit point. Sequentially consistent: the exchange is also the
     * barrier between publishing and reading consumers_sleeping. */
    __atomic_store_n(&r->tail, tail + 1, __ATOMIC_SEQ_CST);
    ST_STORE(r->put_bytes, bytes);
    ST_STORE(r->put_bytes_tail, tail + 1);
    /* The high-water mark from the cached head is an over-estimate; when it
     * would raise the mark, refresh the head and use the true depth. */
    if (tail + 1 - r->head_seen > r->high_water) {
        ST_STORE(r->head_seen, __atomic_load_n(&r->head, __ATOMIC_ACQUIRE));
        uint64_t depth = tail + 1 - r->head_seen;
        if (depth > r->high_water)
            ST_STORE(r->high_water, depth);
    }
    return ST_OK;
}

static inline st_result put_once(st_ring_port *port, const void *data, uint32_t length, int64_t timeout_ns,
                                 const struct timespec *deadline)
{
    st_ring *r = port->ring;
    st_result result = side_lock(port, &r->put_mutex, true, timeout_ns, deadline);
    if (__builtin_expect(result != ST_OK, 0))
        return result;
    result = put_locked(port, data, length);
    pthread_mutex_unlock(&r->put_mutex);
    if (result == ST_OK)
        st_ring_wake(port, &r->not_empty);
    return result;
}

static inline bool has_room(const st_ring_port *port)
{
    const st_ring *r = port->ring;
    uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    return ST_LOAD(r->tail) - head < port->capacity;
}

static inline bool has_message(const st_ring_port *port)
{
    const st_ring *r = port->ring;
    uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
    return tail != ST_LOAD(r->head);
}

static inline bool is_closed(const st_ring_port *port)
{
    return __atomic_load_n(&port->ring->closed, __ATOMIC_ACQUIRE) != 0;
}

/* Spin until ready (room for a producer, a message for a consumer) or
 * closed, for at most spin_ticks. */
static bool spin_until(const st_ring_port *port, bool want_room)
{
    if (port->spin_ticks == 0)
        return false;
    uint64_t start = st_clock_ticks(&port->table->clock);
    for (;;) {
        for (int i = 0; i < 16; i++) {
            if ((want_room ? has_room(port) : has_message(port)) || is_closed(port))
                return true;
            cpu_relax();
        }
        if (st_clock_ticks(&port->table->clock) - start > port->spin_ticks)
            return false;
    }
}

/* Sleep until the other side moves, unless the condition already holds. */
static void sleep_on(st_ring_port *port, bool want_room, const struct timespec *deadline)
{
    st_ring *r = port->ring;
    uint32_t *sequence = want_room ? &r->not_full : &r->not_empty;
    uint32_t *sleepers = want_room ? &r->producers_sleeping : &r->consumers_sleeping;
    st_ring_sleeper sleeper;
    st_ring_sleeper_enter(port, sequence, sleepers, &sleeper);
    if (!(want_room ? has_room(port) : has_message(port)) && !is_closed(port))
        st_futex_wait(sequence, sleeper.expected, deadline);
    st_ring_sleeper_leave(port, sleepers, &sleeper);
}

static st_result put_failed(st_ring_port *port, st_result result, int64_t timeout_ns, uint64_t waited_ns)
{
    trace(port, port->put_op, result, waited_ns);
    switch (result) {
    case ST_ETIMEDOUT:
        ST_ATOMIC_ADD(port->ring->put_timeouts, 1u);
        return st_fail(ST_ETIMEDOUT, "%s is full (%u messages) after %.3f s", port->label, port->capacity,
                       (double)timeout_ns / 1e9);
    case ST_ECLOSED:
        return st_fail(ST_ECLOSED, "%s is closed: no more messages can be put", port->label);
    default:
        return result;
    }
}

static st_result put_slow(st_ring_port *port, const void *data, uint32_t length, int64_t timeout_ns)
{
    st_table *table = port->table;
    uint64_t start = st_clock_ticks(&table->clock);
    struct timespec deadline_at, *deadline = NULL;
    if (timeout_ns != ST_FOREVER) {
        deadline_at = st_deadline_after(timeout_ns);
        deadline = &deadline_at;
    }
    st_process_mark_blocked(table, port->object_index, port->put_op);
    st_result result;
    for (;;) {
        if (!spin_until(port, true))
            sleep_on(port, true, deadline);
        result = put_once(port, data, length, timeout_ns, deadline);
        if (result != ST_EBUSY)
            break;
        if (deadline && st_deadline_passed(deadline)) {
            result = ST_ETIMEDOUT;
            break;
        }
    }
    st_process_mark_unblocked(table);
    uint64_t waited = st_clock_ticks_to_ns(&table->clock, st_clock_ticks(&table->clock) - start);
    if (result != ST_OK)
        return put_failed(port, result, timeout_ns, waited);
    trace(port, port->put_op, ST_OK, waited);
    return ST_OK;
}

st_result st_ring_put(st_ring_port *port, const void *data, size_t length, int64_t timeout_ns)
{
    st_result result = put_once(port, data, (uint32_t)length, timeout_ns, NULL);
    if (__builtin_expect(result == ST_OK, 1)) {
        trace(port, port->put_op, ST_OK, 0);
        return ST_OK;
    }
    if (result == ST_EBUSY) {
        if (timeout_ns == 0)
            return put_failed(port, ST_ETIMEDOUT, 0, 0);
        return put_slow(port, data, (uint32_t)length, timeout_ns);
    }
    return put_failed(port, result, timeout_ns, 0);
}

st_result st_ring_try_put(st_ring_port *port, const void *data, size_t length)
{
    st_result result = put_once(port, data, (uint32_t)length, 0, NULL);
    if (result == ST_OK || result == ST_EBUSY) {
        if (result == ST_OK)
            trace(port, port->put_op, ST_OK, 0);
        return result;
    }
    return put_failed(port, result, 0, 0);
}

/* ---- get ------------------------------------------------------------------------ */

/* Under get_mutex: ST_OK (consumed), ST_EOVERFLOW (too big for the buffer;
 * *length says how big; it stays), ST_EBUSY (empty), ST_ECORRUPT. */
static inline st_result get_locked(st_ring_port *port, void *buffer, size_t size, size_t *length)
{
    st_ring *r = port->ring;
    uint64_t head = r->head;  /* only consumers write it, under this mutex */
    if (head == r->tail_seen) {
        ST_STORE(r->tail_seen, __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE));
        if (head == r->tail_seen)
            return ST_EBUSY;
    }
    const uint8_t *slot = slot_at(port, head);
    uint32_t message_length = *(const uint32_t *)slot;
    if (__builtin_expect(message_length > port->max_message_bytes, 0))
        return ST_ECORRUPT;
    *length = message_length;
    if (message_length > size)
        return ST_EOVERFLOW;
    if (message_length)
        memcpy(buffer, slot + ST_RING_SLOT_HEADER, message_length);
    uint64_t bytes = r->get_bytes + message_length;
    ST_STORE(r->get_bytes_next, bytes);
    /* The commit point; also the barrier before reading producers_sleeping. */
    __atomic_store_n(&r->head, head + 1, __ATOMIC_SEQ_CST);
    ST_STORE(r->get_bytes, bytes);
    ST_STORE(r->get_bytes_head, head + 1);
    return ST_OK;
}

static inline st_result get_once(st_ring_port *port, void *buffer, size_t size, size_t *length,
                                 int64_t timeout_ns, const struct timespec *deadline)
{
    st_ring *r = port->ring;
    st_result result = side_lock(port, &r->get_mutex, false, timeout_ns, deadline);
    if (__builtin_expect(result != ST_OK, 0))
        return result;
    result = get_locked(port, buffer, size, length);
    pthread_mutex_unlock(&r->get_mutex);
    if (result == ST_OK)
        st_ring_wake(port, &r->not_full);
    /* Empty and closed means drained: closing takes the put lock, so every
     * put that saw the queue open has published before closed reads 1. */
    if (result == ST_EBUSY && is_closed(port) && !has_message(port))
        result = ST_ECLOSED;
    return result;
}

static st_result get_failed(st_ring_port *port, st_result result, int64_t timeout_ns, uint64_t waited_ns,
                            size_t size, const size_t *length)
{
    trace(port, port->get_op, result, waited_ns);
    switch (result) {
    case ST_ETIMEDOUT:
        ST_ATOMIC_ADD(port->ring->get_timeouts, 1u);
        return st_fail(ST_ETIMEDOUT, "%s is empty after %.3f s", port->label, (double)timeout_ns / 1e9);
    case ST_ECLOSED:
        return st_fail(ST_ECLOSED, "%s is closed and drained", port->label);
    case ST_EOVERFLOW:
        return st_fail(ST_EOVERFLOW, "%s: the next message has %zu bytes, the buffer only %zu; it stays queued",
                       port->label, *length, size);
    case ST_ECORRUPT:
        return st_fail(ST_ECORRUPT, "%s: a slot holds a length beyond the maximum message size", port->label);
    default:
        return result;
    }
}

static st_result get_slow(st_ring_port *port, void *buffer, size_t size, size_t *length, int64_t timeout_ns)
{
    st_table *table = port->table;
    uint64_t start = st_clock_ticks(&table->clock);
    struct timespec deadline_at, *deadline = NULL;
    if (timeout_ns != ST_FOREVER) {
        deadline_at = st_deadline_after(timeout_ns);
        deadline = &deadline_at;
    }
    st_process_mark_blocked(table, port->object_index, port->get_op);
    st_result result;
    for (;;) {
        if (!spin_until(port, false))
            sleep_on(port, false, deadline);
        result = get_once(port, buffer, size, length, timeout_ns, deadline);
        if (result != ST_EBUSY)
            break;
        if (deadline && st_deadline_passed(deadline)) {
            result = ST_ETIMEDOUT;
            break;
        }
    }
    st_process_mark_unblocked(table);
    uint64_t waited = st_clock_ticks_to_ns(&table->clock, st_clock_ticks(&table->clock) - start);
    if (result != ST_OK)
        return get_failed(port, result, timeout_ns, waited, size, length);
    trace(port, port->get_op, ST_OK, waited);
    return ST_OK;
}

st_result st_ring_get(st_ring_port *port, void *buffer, size_t size, size_t *length, int64_t timeout_ns)
{
    st_result result = get_once(port, buffer, size, length, timeout_ns, NULL);
    if (__builtin_expect(result == ST_OK, 1)) {
        trace(port, port->get_op, ST_OK, 0);
        return ST_OK;
    }
    if (result == ST_EBUSY) {
        if (timeout_ns == 0)
            return get_failed(port, ST_ETIMEDOUT, 0, 0, size, length);
        return get_slow(port, buffer, size, length, timeout_ns);
    }
    return get_failed(port, result, timeout_ns, 0, size, length);
}

st_result st_ring_try_get(st_ring_port *port, void *buffer, size_t size, size_t *length)
{
    st_result result = get_once(port, buffer, size, length, 0, NULL);
    if (result == ST_OK || result == ST_EBUSY) {
        if (result == ST_OK)
            trace(port, port->get_op, ST_OK, 0);
        return result;
    }
    return get_failed(port, result, 0, 0, size, length);
}

/* ---- poll and close ----------------------------------------------------------- */

st_result st_ring_wait_readable(st_ring_port *port, int64_t timeout_ns)
{
    if (has_message(port))
        return ST_OK;
    if (is_closed(port) && !has_message(port))
        return st_fail(ST_ECLOSED, "%s is closed and drained", port->label);
    if (timeout_ns == 0)
        return st_fail(ST_ETIMEDOUT, "%s: nothing to receive (timeout 0)", port->label);
    st_table *table = port->table;
    struct timespec deadline_at, *deadline = NULL;
    if (timeout_ns != ST_FOREVER) {
        deadline_at = st_deadline_after(timeout_ns);
        deadline = &deadline_at;
    }
    st_process_mark_blocked(table, port->object_index, port->get_op);
    st_result result = ST_ETIMEDOUT;
    for (;;) {
        if (!spin_until(port, false))
            sleep_on(port, false, deadline);
        if (has_message(port)) {
            result = ST_OK;
            break;
        }
        if (is_closed(port)) {
            result = ST_ECLOSED;
            break;
        }
        if (deadline && st_deadline_passed(deadline))
            break;
    }
    st_process_mark_unblocked(table);
    if (result == ST_ETIMEDOUT)
        return st_fail(ST_ETIMEDOUT, "%s: nothing to receive after %.3f s", port->label, (double)timeout_ns / 1e9);
    if (result == ST_ECLOSED)
        return st_fail(ST_ECLOSED, "%s is closed and drained", port->label);
    return ST_OK;
}

st_result st_ring_close(st_ring_port *port)
{
    st_ring *r = port->ring;
    /* Under the put lock, so no put is half-way between "open?" and its
     * commit when closed becomes visible. */
    st_result result = side_lock(port, &r->put_mutex, true, ST_FOREVER, NULL);
    if (result != ST_OK)
        return result;
    __atomic_store_n(&r->closed, 1u, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&r->put_mutex);
    st_ring_wake(port, &r->not_empty);
    st_ring_wake(port, &r->not_full);
    return ST_OK;
}
