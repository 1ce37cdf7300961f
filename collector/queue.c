/* queue.c - the instrumented Queue: one message ring (ring.c) in its own
 * data segment, plus JoinableQueue's task accounting and a shutdown flag.
 *
 * Everything the dashboard shows lives in the slot body: the ring's control
 * block (indices, byte counters, sleeper counts, high-water mark) and the
 * task counter. The counters are exact by construction rather than kept
 * alongside: puts is the ring's tail (messages ever published), gets its
 * head, depth = puts - gets, and unfinished_tasks = puts - tasks_done; so a
 * process killed half-way through an operation cannot leave them
 * disagreeing with one another.
 *
 * task_done is a compare-and-swap on tasks_done that refuses to pass the
 * tail (Python raises ValueError there; we return ST_EOVERFLOW). join
 * sleeps on join_sequence, which the task_done that brings unfinished tasks
 * to zero moves - with a system call only when a joiner sleeps.
 */
#include "internal.h"
#include "event_log.h"
#include "futex.h"
#include "object_types.h"
#include "ring.h"
#include "segment.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_QUEUE_HANDLE_MAGIC 0x51554555u  /* "QUEU" */

/* The Queue's slot body (640 bytes available):
 *
 *   offset   0  +---------------------------------------------+
 *               | st_ring ring (4 cache lines, see ring.h):   |
 *               |   put side | tail line | get side | head    |
 *   offset 256  +---------------------------------------------+
 *               | tasks_done, join_sequence, joiners,         |
 *               | task_done_overflows, shape (capacity, max   |
 *               | message, slot size, ready), segment name    |
 *   offset 448  +---------------------------------------------+
 */
typedef struct st_queue_body {
    st_ring ring;
    uint64_t tasks_done __attribute__((aligned(ST_RING_LINE)));  /* successful task_done calls */
    uint32_t join_sequence;         /* futex (bit 0: joiners sleep): moved when unfinished tasks reach zero */
    uint32_t joiners;               /* processes asleep in join right now */
    uint64_t task_done_overflows;   /* task_done calls refused (more than puts) */
    st_ring_shape shape;            /* fixed at creation */
    char segment[ST_RING_SEGMENT_NAME_BYTES];  /* the data segment's name */
} st_queue_body;

_Static_assert(sizeof(st_queue_body) <= ST_OBJECT_BODY_SIZE, "queue body fits its slot");

struct st_queue {
    uint32_t magic;
    uint32_t index;
    st_table *table;
    st_queue_body *body;
    st_segment segment;
    st_ring_port port;
    char label[ST_OBJECT_NAME_MAX + 16];
};

/* What body_init needs, and where it reports back (st_object_open runs it
 * under the registry lock, only when it creates the queue). */
typedef struct queue_params {
    st_table *table;
    st_ring_shape shape;
    size_t segment_bytes;
    bool *created;
    st_result *result;
    st_segment *segment;
} queue_params;

static void queue_body_init(void *raw, const void *params_raw)
{
    const queue_params *params = params_raw;
    st_queue_body *body = raw;
    st_ring_init(&body->ring);
    body->shape = params->shape;
    body->shape.ready = 0;
    *params->created = true;
    *params->result = st_ring_segment_create(params->table, raw, "queue", params->segment_bytes, body->segment,
                                             params->segment);
    if (*params->result == ST_OK)
        __atomic_store_n(&body->shape.ready, 1u, __ATOMIC_RELEASE);
}

static bool queue_valid(const st_queue *queue)
{
    return queue && queue->magic == ST_QUEUE_HANDLE_MAGIC;
}

st_result st_queue_open(st_table *table, const char *name, uint32_t capacity, uint32_t max_message_bytes,
                        st_queue **out)
{
    if (!out)
        return st_fail(ST_EINVAL, "st_queue_open: out is NULL");
    *out = NULL;
    size_t segment_bytes;
    st_result result = st_ring_check_shape("st_queue_open", capacity, max_message_bytes, 1, &segment_bytes);
    if (result != ST_OK)
        return result;
    st_queue *queue = calloc(1, sizeof *queue);
    if (!queue)
        return st_fail(ST_ENOMEM, "out of memory for a queue handle");
    bool created = false;
    st_result created_result = ST_OK;
    queue_params params = {
        .table = table,
        .shape = { capacity, max_message_bytes, st_ring_slot_size(max_message_bytes), 0 },
        .segment_bytes = segment_bytes,
        .created = &created,
        .result = &created_result,
        .segment = &queue->segment,
    };
    uint32_t index;
    result = st_object_open_reporting(table, ST_TYPE_QUEUE, name, queue_body_init, &params, &created_result, &index);
    if (result != ST_OK && created) {
        /* Name the queue in the detail: the segment's name alone says little. */
        char detail[400];
        snprintf(detail, sizeof detail, "%s", st_error_detail());
        result = st_fail(result, "queue '%s': %s", name, detail);
    }
    if (result != ST_OK) {
        free(queue);
        return result;
    }
    st_queue_body *body = (st_queue_body *)table->objects[index].body.raw;
    snprintf(queue->label, sizeof queue->label, "queue '%s'", table->objects[index].header.name);
    if (!created) {
        result = st_ring_segment_attach(queue->label, body->segment, &body->shape, 1, &queue->segment);
        if (result != ST_OK) {
            free(queue);
            return result;
        }
    }
    queue->magic = ST_QUEUE_HANDLE_MAGIC;
    queue->index = index;
    queue->table = table;
    queue->body = body;
    st_ring_segment_header *header = queue->segment.base;
    st_ring_port_init(&queue->port, table, index, &body->ring, &body->shape, header,
                      (uint8_t *)queue->segment.base + ST_RING_SEGMENT_HEADER_BYTES, ST_OP_PUT, ST_OP_GET,
                      queue->label);
    if (!created)
        st_ring_reap_dead_sleepers(&queue->port);
    *out = queue;
    return ST_OK;
}

void st_queue_close(st_queue *queue)
{
    if (!queue_valid(queue))
        return;
    queue->magic = 0;
    st_segment_close(&queue->segment);
    free(queue);
}

static st_result check_put(st_queue *queue, const void *data, size_t length, int64_t timeout_ns, const char *call)
{
    if (__builtin_expect(!queue_valid(queue), 0))
        return st_fail(ST_EINVAL, "%s: invalid queue handle", call);
    if (__builtin_expect(timeout_ns < 0, 0))
        return st_fail(ST_EINVAL, "%s: negative timeout %lld ns (use ST_FOREVER to wait without limit)", call,
                       (long long)timeout_ns);
    if (__builtin_expect(!data && length > 0, 0))
        return st_fail(ST_EINVAL, "%s: data is NULL", call);
    if (__builtin_expect(length > queue->port.max_message_bytes, 0))
        return st_fail(ST_EOVERFLOW, "%s: a message of %zu bytes is larger than %s's maximum of %u bytes", call,
                       length, queue->label, queue->port.max_message_bytes);
    st_self_slot(queue->table);  /* registers a fresh (forked) process once */
    return ST_OK;
}

st_result st_queue_put(st_queue *queue, const void *data, size_t length, int64_t timeout_ns)
{
    st_result result = check_put(queue, data, length, timeout_ns, "st_queue_put");
    if (__builtin_expect(result != ST_OK, 0))
        return result;
    return st_ring_put(&queue->port, data, length, timeout_ns);
}

st_result st_queue_try_put(st_queue *queue, const void *data, size_t length)
{
    st_result result = check_put(queue, data, length, 0, "st_queue_try_put");
    if (result != ST_OK)
        return result;
    return st_ring_try_put(&queue->port, data, length);
}

static st_result check_get(st_queue *queue, const void *buffer, size_t size, const size_t *length,
                           int64_t timeout_ns, const char *call)
{
    if (__builtin_expect(!queue_valid(queue), 0))
        return st_fail(ST_EINVAL, "%s: invalid queue handle", call);
    if (__builtin_expect(timeout_ns < 0, 0))
        return st_fail(ST_EINVAL, "%s: negative timeout %lld ns (use ST_FOREVER to wait without limit)", call,
                       (long long)timeout_ns);
    if (__builtin_expect(!length || (!buffer && size > 0), 0))
        return st_fail(ST_EINVAL, "%s: %s is NULL", call, length ? "buffer" : "length");
    st_self_slot(queue->table);
    return ST_OK;
}

st_result st_queue_get(st_queue *queue, void *buffer, size_t size, size_t *length, int64_t timeout_ns)
{
    st_result result = check_get(queue, buffer, size, length, timeout_ns, "st_queue_get");
    if (__builtin_expect(result != ST_OK, 0))
        return result;
    return st_ring_get(&queue->port, buffer, size, length, timeout_ns);
}

st_result st_queue_try_get(st_queue *queue, void *buffer, size_t size, size_t *length)
{
    st_result result = check_get(queue, buffer, size, length, 0, "st_queue_try_get");
    if (result != ST_OK)
        return result;
    return st_ring_try_get(&queue->port, buffer, size, length);
}

st_result st_queue_shutdown(st_queue *queue)
{
    if (!queue_valid(queue))
        return st_fail(ST_EINVAL, "st_queue_shutdown: invalid queue handle");
    st_self_slot(queue->table);
    st_result result = st_ring_close(&queue->port);
    /* Joiners wait for task_done calls that shutdown does not prevent. */
    return result;
}

/* ---- tasks ------------------------------------------------------------------ */

static bool all_tasks_done(const st_queue_body *body)
{
    uint64_t puts = __atomic_load_n(&body->ring.tail, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&body->tasks_done, __ATOMIC_SEQ_CST) >= puts;
}

st_result st_queue_task_done(st_queue *queue)
{
    if (!queue_valid(queue))
        return st_fail(ST_EINVAL, "st_queue_task_done: invalid queue handle");
    st_queue_body *body = queue->body;
    uint64_t done = __atomic_load_n(&body->tasks_done, __ATOMIC_RELAXED);
    for (;;) {
        uint64_t puts = __atomic_load_n(&body->ring.tail, __ATOMIC_ACQUIRE);
        if (done >= puts) {
            ST_ATOMIC_ADD(body->task_done_overflows, 1u);
            return st_fail(ST_EOVERFLOW, "st_queue_task_done on %s: called more times (%llu) than messages "
                           "were put (%llu)", queue->label, (unsigned long long)done + 1,
                           (unsigned long long)puts);
        }
        if (__atomic_compare_exchange_n(&body->tasks_done, &done, done + 1, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED))
            break;
    }
    if (done + 1 == __atomic_load_n(&body->ring.tail, __ATOMIC_SEQ_CST))
        st_ring_wake(&queue->port, &body->join_sequence);
    return ST_OK;
}

st_result st_queue_join(st_queue *queue, int64_t timeout_ns)
{
    if (!queue_valid(queue))
        return st_fail(ST_EINVAL, "st_queue_join: invalid queue handle");
    if (timeout_ns < 0)
        return st_fail(ST_EINVAL, "st_queue_join: negative timeout %lld ns (use ST_FOREVER to wait without limit)",
                       (long long)timeout_ns);
    st_queue_body *body = queue->body;
    st_table *table = queue->table;
    st_self_slot(table);
    if (all_tasks_done(body))
        return ST_OK;
    if (timeout_ns == 0)
        return st_fail(ST_ETIMEDOUT, "%s has unfinished tasks (timeout 0)", queue->label);
    uint64_t start = st_clock_ticks(&table->clock);
    struct timespec deadline_at, *deadline = NULL;
    if (timeout_ns != ST_FOREVER) {
        deadline_at = st_deadline_after(timeout_ns);
        deadline = &deadline_at;
    }
    st_process_mark_blocked(table, queue->index, ST_OP_JOIN);
    st_result result = ST_OK;
    for (;;) {
        st_ring_sleeper sleeper;
        st_ring_sleeper_enter(&queue->port, &body->join_sequence, &body->joiners, &sleeper);
        if (!all_tasks_done(body))
            st_futex_wait(&body->join_sequence, sleeper.expected, deadline);
        st_ring_sleeper_leave(&queue->port, &body->joiners, &sleeper);
        if (all_tasks_done(body))
            break;
        if (deadline && st_deadline_passed(deadline)) {
            result = ST_ETIMEDOUT;
            break;
        }
    }
    st_process_mark_unblocked(table);
    uint64_t waited = st_clock_ticks_to_ns(&table->clock, st_clock_ticks(&table->clock) - start);
    if (st_object_traced(&table->objects[queue->index]))
        st_event_log(table, queue->index, ST_OP_JOIN, result, waited,
                     (int64_t)(ST_LOAD(body->ring.tail) - ST_LOAD(body->tasks_done)));
    if (result != ST_OK)
        return st_fail(ST_ETIMEDOUT, "%s still has %llu unfinished tasks after %.3f s", queue->label,
                       (unsigned long long)(ST_LOAD(body->ring.tail) - ST_LOAD(body->tasks_done)),
                       (double)timeout_ns / 1e9);
    return ST_OK;
}

st_result st_queue_info_get(st_queue *queue, st_queue_info *info)
{
    if (!queue_valid(queue) || !info)
        return st_fail(ST_EINVAL, "st_queue_info_get: %s", info ? "invalid queue handle" : "info is NULL");
    const st_queue_body *body = queue->body;
    info->capacity = queue->port.capacity;
    info->max_message_bytes = queue->port.max_message_bytes;
    info->depth = st_ring_depth(&body->ring, queue->port.capacity);
    uint64_t puts = ST_LOAD(body->ring.tail), done = ST_LOAD(body->tasks_done);
    info->unfinished_tasks = puts > done ? puts - done : 0;
    info->closed = ST_LOAD(body->ring.closed) != 0;
    return ST_OK;
}

/* ---- the viewer's side ---------------------------------------------------------- */

unsigned st_queue_data_segments(const st_table *table, uint32_t index, const void *raw, st_segment_names names)
{
    (void)table;
    (void)index;
    const st_queue_body *body = raw;
    if (body->segment[0] != '/')
        return 0;
    size_t len = strnlen(body->segment, sizeof body->segment);
    if (len >= ST_SEGMENT_NAME_MAX || len == sizeof body->segment)
        return 0;
    memcpy(names[0], body->segment, len);
    names[0][len] = '\0';
    return 1;
}

void st_queue_describe(const void *raw, const st_clock_calibration *clock, st_object_view *view)
{
    (void)clock;
    const st_queue_body *b = raw;
    const st_ring *r = &b->ring;
    uint32_t capacity = b->shape.capacity;
    st_field_u64(view, "depth", st_ring_depth(r, capacity), 0);
    st_field_u64(view, "capacity", capacity, 0);
    st_field_u64(view, "bytes", st_ring_bytes(r), ST_FIELD_BYTES);
    st_field_u64(view, "max_message_bytes", b->shape.max_message_bytes, ST_FIELD_BYTES);
    st_field_u64(view, "high_water", r->high_water > capacity ? capacity : r->high_water, 0);
    st_field_u64(view, "puts", r->tail, ST_FIELD_COUNTER);
    st_field_u64(view, "gets", r->head, ST_FIELD_COUNTER);
    st_field_u64(view, "put_bytes", r->put_bytes, ST_FIELD_COUNTER | ST_FIELD_BYTES);
    st_field_u64(view, "get_bytes", r->get_bytes, ST_FIELD_COUNTER | ST_FIELD_BYTES);
    st_field_waiters(view, "producers_blocked", r->producers_sleeping, ST_OP_PUT);
    st_field_waiters(view, "consumers_blocked", r->consumers_sleeping, ST_OP_GET);
    st_field_waiters(view, "joiners_blocked", b->joiners, ST_OP_JOIN);
    st_field_u64(view, "put_timeouts", r->put_timeouts, ST_FIELD_COUNTER);
    st_field_u64(view, "get_timeouts", r->get_timeouts, ST_FIELD_COUNTER);
    st_field_u64(view, "unfinished_tasks", r->tail > b->tasks_done ? r->tail - b->tasks_done : 0, 0);
    st_field_u64(view, "task_done_overflows", b->task_done_overflows, ST_FIELD_COUNTER);
    st_field_u64(view, "owner_died", (uint64_t)r->put_owner_died + r->get_owner_died, ST_FIELD_COUNTER);
    st_field_u64(view, "closed", r->closed != 0, 0);
}
