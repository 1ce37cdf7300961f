/* pipe.c - the instrumented Pipe: two message rings (ring.c), one per
 * direction, in one data segment.
 *
 * End A sends into ring a_to_b and receives from b_to_a; end B the other
 * way round. An end's handle is therefore two ports: the producer side of
 * one ring and the consumer side of the other. The rings are the Queue's
 * (locks per side, commit points, counted sleepers), so a pipe end may be
 * shared by several processes and a SIGKILLed sender or receiver loses or
 * duplicates nothing, exactly as with a Queue.
 */
#include "internal.h"
#include "object_types.h"
#include "ring.h"
#include "segment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_PIPE_HANDLE_MAGIC 0x50495045u  /* "PIPE" */

/* The Pipe's slot body (640 bytes, all used):
 *
 *   offset   0  +---------------------------------------------+
 *               | st_ring a_to_b (4 cache lines, see ring.h)  |
 *   offset 256  +---------------------------------------------+
 *               | st_ring b_to_a                              |
 *   offset 512  +---------------------------------------------+
 *               | shape (capacity, max message, slot size,    |
 *               | ready) | data segment name                  |
 *   offset 640  +---------------------------------------------+
 *
 * The data segment: a 4 KiB header (waiter records), then a_to_b's
 * capacity slots, then b_to_a's.
 */
typedef struct st_pipe_body {
    st_ring a_to_b;
    st_ring b_to_a;
    st_ring_shape shape;
    char segment[ST_RING_SEGMENT_NAME_BYTES];
} st_pipe_body;

_Static_assert(sizeof(st_pipe_body) <= ST_OBJECT_BODY_SIZE, "pipe body fits its slot");

struct st_pipe_end {
    uint32_t magic;
    char end;                       /* 'a' or 'b' */
    st_table *table;
    st_segment segment;
    st_ring_port send;
    st_ring_port recv;
    char send_label[ST_OBJECT_NAME_MAX + 32];
    char recv_label[ST_OBJECT_NAME_MAX + 32];
};

typedef struct pipe_params {
    st_table *table;
    st_ring_shape shape;
    size_t segment_bytes;
    bool *created;
    st_result *result;
    st_segment *segment;
} pipe_params;

static void pipe_body_init(void *raw, const void *params_raw)
{
    const pipe_params *params = params_raw;
    st_pipe_body *body = raw;
    st_ring_init(&body->a_to_b);
    st_ring_init(&body->b_to_a);
    body->shape = params->shape;
    body->shape.ready = 0;
    *params->created = true;
    *params->result = st_ring_segment_create(params->table, raw, "pipe", params->segment_bytes, body->segment,
                                             params->segment);
    if (*params->result == ST_OK)
        __atomic_store_n(&body->shape.ready, 1u, __ATOMIC_RELEASE);
}

static bool end_valid(const st_pipe_end *end)
{
    return end && end->magic == ST_PIPE_HANDLE_MAGIC;
}

/* Build the handle of one end over a mapped segment (taken over). */
static st_pipe_end *make_end(st_table *table, uint32_t index, char which, st_segment *segment)
{
    st_pipe_end *end = calloc(1, sizeof *end);
    if (!end)
        return NULL;
    st_pipe_body *body = (st_pipe_body *)table->objects[index].body.raw;
    const char *name = table->objects[index].header.name;
    end->magic = ST_PIPE_HANDLE_MAGIC;
    end->end = which;
    end->table = table;
    end->segment = *segment;
    memset(segment, 0, sizeof *segment);
    uint8_t *base = end->segment.base;
    uint8_t *slots_a_to_b = base + ST_RING_SEGMENT_HEADER_BYTES;
    uint8_t *slots_b_to_a = slots_a_to_b + (size_t)body->shape.capacity * body->shape.slot_size;
    bool is_a = which == 'a';
    snprintf(end->send_label, sizeof end->send_label, "pipe '%s' (%s)", name, is_a ? "A to B" : "B to A");
    snprintf(end->recv_label, sizeof end->recv_label, "pipe '%s' (%s)", name, is_a ? "B to A" : "A to B");
    st_ring_port_init(&end->send, table, index, is_a ? &body->a_to_b : &body->b_to_a, &body->shape,
                      (st_ring_segment_header *)base, is_a ? slots_a_to_b : slots_b_to_a, ST_OP_SEND, ST_OP_RECV,
                      end->send_label);
    st_ring_port_init(&end->recv, table, index, is_a ? &body->b_to_a : &body->a_to_b, &body->shape,
                      (st_ring_segment_header *)base, is_a ? slots_b_to_a : slots_a_to_b, ST_OP_SEND, ST_OP_RECV,
                      end->recv_label);
    return end;
}

st_result st_pipe_open(st_table *table, const char *name, uint32_t capacity, uint32_t max_message_bytes,
                       st_pipe_end **end_a, st_pipe_end **end_b)
{
    if (!end_a && !end_b)
        return st_fail(ST_EINVAL, "st_pipe_open: both end pointers are NULL");
    if (end_a)
        *end_a = NULL;
    if (end_b)
        *end_b = NULL;
    size_t segment_bytes;
    st_result result = st_ring_check_shape("st_pipe_open", capacity, max_message_bytes, 2, &segment_bytes);
    if (result != ST_OK)
        return result;
    bool created = false;
    st_result created_result = ST_OK;
    st_segment segment;
    memset(&segment, 0, sizeof segment);
    pipe_params params = {
        .table = table,
        .shape = { capacity, max_message_bytes, st_ring_slot_size(max_message_bytes), 0 },
        .segment_bytes = segment_bytes,
        .created = &created,
        .result = &created_result,
        .segment = &segment,
    };
    uint32_t index;
    result = st_object_open_reporting(table, ST_TYPE_PIPE, name, pipe_body_init, &params, &created_result, &index);
    if (result != ST_OK && created) {
        /* Name the pipe in the detail: the segment's name alone says little. */
        char detail[400];
        snprintf(detail, sizeof detail, "%s", st_error_detail());
        result = st_fail(result, "pipe '%s': %s", name, detail);
    }
    if (result != ST_OK)
        return result;
    st_pipe_body *body = (st_pipe_body *)table->objects[index].body.raw;
    char what[ST_OBJECT_NAME_MAX + 16];
    snprintf(what, sizeof what, "pipe '%s'", table->objects[index].header.name);
    /* Each end maps the segment on its own, so each can be closed alone. */
    st_segment second;
    memset(&second, 0, sizeof second);
    if (!created)
        result = st_ring_segment_attach(what, body->segment, &body->shape, 2, &segment);
    if (result == ST_OK && end_a && end_b)
        result = st_ring_segment_attach(what, body->segment, &body->shape, 2, &second);
    st_pipe_end *a = NULL, *b = NULL;
    if (result == ST_OK && end_a && !(a = make_end(table, index, 'a', &segment)))
        result = st_fail(ST_ENOMEM, "out of memory for a pipe end");
    if (result == ST_OK && end_b && !(b = make_end(table, index, 'b', end_a ? &second : &segment)))
        result = st_fail(ST_ENOMEM, "out of memory for a pipe end");
    if (result != ST_OK) {
        st_pipe_close(a);
        st_pipe_close(b);
        st_segment_close(&segment);
        st_segment_close(&second);
        return result;
    }
    if (!created)
        st_ring_reap_dead_sleepers(a ? &a->send : &b->send);
    if (end_a)
        *end_a = a;
    if (end_b)
        *end_b = b;
    return ST_OK;
}

void st_pipe_close(st_pipe_end *end)
{
    if (!end_valid(end))
        return;
    end->magic = 0;
    st_segment_close(&end->segment);
    free(end);
}

char st_pipe_end_name(const st_pipe_end *end)
{
    return end_valid(end) ? end->end : 0;
}

st_result st_pipe_send(st_pipe_end *end, const void *data, size_t length, int64_t timeout_ns)
{
    if (__builtin_expect(!end_valid(end), 0))
        return st_fail(ST_EINVAL, "st_pipe_send: invalid pipe end handle");
    if (__builtin_expect(timeout_ns < 0, 0))
        return st_fail(ST_EINVAL, "st_pipe_send: negative timeout %lld ns (use ST_FOREVER to wait without limit)",
                       (long long)timeout_ns);
    if (__builtin_expect(!data && length > 0, 0))
        return st_fail(ST_EINVAL, "st_pipe_send: data is NULL");
    if (__builtin_expect(length > end->send.max_message_bytes, 0))
        return st_fail(ST_EOVERFLOW, "st_pipe_send: a message of %zu bytes is larger than %s's maximum of %u bytes",
                       length, end->send_label, end->send.max_message_bytes);
    st_self_slot(end->table);
    return st_ring_put(&end->send, data, length, timeout_ns);
}

st_result st_pipe_recv(st_pipe_end *end, void *buffer, size_t size, size_t *length, int64_t timeout_ns)
{
    if (__builtin_expect(!end_valid(end), 0))
        return st_fail(ST_EINVAL, "st_pipe_recv: invalid pipe end handle");
    if (__builtin_expect(timeout_ns < 0, 0))
        return st_fail(ST_EINVAL, "st_pipe_recv: negative timeout %lld ns (use ST_FOREVER to wait without limit)",
                       (long long)timeout_ns);
    if (__builtin_expect(!length || (!buffer && size > 0), 0))
        return st_fail(ST_EINVAL, "st_pipe_recv: %s is NULL", length ? "buffer" : "length");
    st_self_slot(end->table);
    return st_ring_get(&end->recv, buffer, size, length, timeout_ns);
}

st_result st_pipe_poll(st_pipe_end *end, int64_t timeout_ns)
{
    if (!end_valid(end))
        return st_fail(ST_EINVAL, "st_pipe_poll: invalid pipe end handle");
    if (timeout_ns < 0)
        return st_fail(ST_EINVAL, "st_pipe_poll: negative timeout %lld ns (use ST_FOREVER to wait without limit)",
                       (long long)timeout_ns);
    st_self_slot(end->table);
    return st_ring_wait_readable(&end->recv, timeout_ns);
}

/* ---- the viewer's side ---------------------------------------------------------- */

unsigned st_pipe_data_segments(const st_table *table, uint32_t index, const void *raw, st_segment_names names)
{
    (void)table;
    (void)index;
    const st_pipe_body *body = raw;
    if (body->segment[0] != '/')
        return 0;
    size_t len = strnlen(body->segment, sizeof body->segment);
    if (len >= ST_SEGMENT_NAME_MAX || len == sizeof body->segment)
        return 0;
    memcpy(names[0], body->segment, len);
    names[0][len] = '\0';
    return 1;
}

void st_pipe_describe(const void *raw, const st_clock_calibration *clock, st_object_view *view)
{
    (void)clock;
    const st_pipe_body *b = raw;
    const st_ring *ab = &b->a_to_b, *ba = &b->b_to_a;
    uint32_t capacity = b->shape.capacity;
    st_field_u64(view, "capacity", capacity, 0);
    st_field_u64(view, "max_message_bytes", b->shape.max_message_bytes, ST_FIELD_BYTES);
    st_field_u64(view, "messages_a_to_b", ab->tail, ST_FIELD_COUNTER);
    st_field_u64(view, "messages_b_to_a", ba->tail, ST_FIELD_COUNTER);
    st_field_u64(view, "bytes_a_to_b", ab->put_bytes, ST_FIELD_COUNTER | ST_FIELD_BYTES);
    st_field_u64(view, "bytes_b_to_a", ba->put_bytes, ST_FIELD_COUNTER | ST_FIELD_BYTES);
    st_field_u64(view, "unread_messages_a_to_b", st_ring_depth(ab, capacity), 0);
    st_field_u64(view, "unread_messages_b_to_a", st_ring_depth(ba, capacity), 0);
    st_field_u64(view, "unread_bytes_a_to_b", st_ring_bytes(ab), ST_FIELD_BYTES);
    st_field_u64(view, "unread_bytes_b_to_a", st_ring_bytes(ba), ST_FIELD_BYTES);
    st_field_waiters(view, "a_send_blocked", ab->producers_sleeping, ST_OP_SEND);
    st_field_waiters(view, "a_recv_blocked", ba->consumers_sleeping, ST_OP_RECV);
    st_field_waiters(view, "b_send_blocked", ba->producers_sleeping, ST_OP_SEND);
    st_field_waiters(view, "b_recv_blocked", ab->consumers_sleeping, ST_OP_RECV);
    st_field_u64(view, "send_timeouts", ab->put_timeouts + ba->put_timeouts, ST_FIELD_COUNTER);
    st_field_u64(view, "recv_timeouts", ab->get_timeouts + ba->get_timeouts, ST_FIELD_COUNTER);
    st_field_u64(view, "owner_died",
                 (uint64_t)ab->put_owner_died + ab->get_owner_died + ba->put_owner_died + ba->get_owner_died,
                 ST_FIELD_COUNTER);
}
