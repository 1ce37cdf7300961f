/* snapshot.c - the reader side's only contact with a table's slots.
 *
 * The table is mapped read-only and may be written by anyone at any time,
 * including by a buggy or hostile process. So each refresh re-checks the
 * header against the copy validated at attach, copies each live slot into
 * private memory before looking at it, bounds-checks every index and enum,
 * and copies strings bounded and NUL-terminated. A slot that fails is
 * counted (corrupt_slots) and skipped; it never reaches the model.
 */
#include "snapshot.h"
#include "object_types.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void copy_bounded(char *dst, size_t dst_size, const char *src, size_t src_size)
{
    size_t len = strnlen(src, src_size);
    if (len >= dst_size)
        len = dst_size - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static bool grow(void **buf, size_t *alloc, size_t want, size_t elem)
{
    if (want <= *alloc)
        return true;
    size_t n = *alloc ? *alloc : 64;
    while (n < want)
        n *= 2;
    void *p = realloc(*buf, n * elem);
    if (!p)
        return false;
    *buf = p;
    *alloc = n;
    return true;
}

static st_result check_header(const st_table *table)
{
    struct stat st;
    if (fstat(table->fd, &st) < 0)
        return st_fail(ST_ESYSTEM, "session '%s': cannot inspect the segment", table->session);
    if ((uint64_t)st.st_size < table->size)
        return st_fail(ST_ETRUNCATED, "session '%s': the segment shrank to %lld bytes under us",
                       table->session, (long long)st.st_size);
    st_table_header copy;
    memcpy(&copy, table->header, sizeof copy);
    st_result r = st_header_validate(&copy, (uint64_t)st.st_size, table->session);
    if (r != ST_OK)
        return r;
    if (copy.process_capacity != table->process_capacity || copy.object_capacity != table->object_capacity ||
        copy.total_size != table->size)
        return st_fail(ST_ECORRUPT, "session '%s': the header's layout changed after we attached",
                       table->session);
    return ST_OK;
}

static bool take_process(const st_table *table, const st_process_slot *shared, uint32_t index,
                         st_process_view *view, uint64_t now_ns)
{
    st_process_slot slot;
    memcpy(&slot, shared, sizeof slot);
    if (slot.pid <= 0 || slot.state >= ST_PROCESS_STATE_COUNT || slot.blocked_op >= ST_OP_COUNT ||
        slot.blocked_object > table->object_capacity)
        return false;
    memset(view, 0, sizeof *view);
    view->index = index;
    view->pid = slot.pid;
    view->start_ticks = slot.start_ticks;
    copy_bounded(view->name, sizeof view->name, slot.name, sizeof slot.name);
    copy_bounded(view->role, sizeof view->role, slot.role, sizeof slot.role);
    view->state = (st_process_state)slot.state;
    view->restarts = slot.restarts;
    if (slot.heartbeat_ns && now_ns > slot.heartbeat_ns)
        view->heartbeat_age_ns = now_ns - slot.heartbeat_ns;
    if (slot.blocked_object) {
        view->blocked = true;
        view->blocked_object = slot.blocked_object - 1;
        view->blocked_op = (st_operation)slot.blocked_op;
        view->blocked_for_ns = now_ns > slot.blocked_since_ns ? now_ns - slot.blocked_since_ns : 0;
    }
    return true;
}

static bool take_object(const st_table *table, const st_object_slot *shared, uint32_t index,
                        st_object_view *view)
{
    st_object_slot slot;
    memcpy(&slot, shared, sizeof slot);
    if (slot.header.status != ST_SLOT_LIVE)
        return false;
    const st_object_type_descriptor *type = st_object_type_get(slot.header.type);
    if (!type)
        return false;
    view->index = index;
    view->type = slot.header.type;
    view->type_name = type->name;
    copy_bounded(view->name, sizeof view->name, slot.header.name, sizeof slot.header.name);
    view->creator_pid = slot.header.creator_pid;
    view->created_ns = slot.header.created_ns;
    view->field_count = 0;
    type->describe(&slot.body, &table->clock, view);
    return true;
}

/* The latest events of the ring, each copied only if it was whole. */
static st_result take_events(const st_table *table, st_snapshot *snap)
{
    uint32_t capacity = table->event_capacity;
    uint64_t next = ST_LOAD(table->header->event_next);
    if (capacity == 0 || next == 0)
        return ST_OK;
    if (!snap->events) {
        snap->events = calloc(ST_MODEL_EVENTS_MAX, sizeof *snap->events);
        if (!snap->events)
            return st_fail(ST_ENOMEM, "snapshot: out of memory");
    }
    uint64_t span = capacity < ST_MODEL_EVENTS_MAX ? capacity : ST_MODEL_EVENTS_MAX;
    uint64_t first = next > span ? next - span : 0;
    for (uint64_t n = first; n < next; n++) {
        const st_event_entry *shared = &table->events[n % capacity];
        uint64_t before = __atomic_load_n(&shared->sequence, __ATOMIC_ACQUIRE);
        st_event_entry entry;
        memcpy(&entry, shared, sizeof entry);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        uint64_t after = __atomic_load_n(&shared->sequence, __ATOMIC_RELAXED);
        if (before != n + 1 || after != n + 1)
            continue;  /* being written, or overwritten by a later lap */
        if (entry.object >= table->object_capacity || entry.operation >= ST_OP_COUNT ||
            entry.result >= ST_RESULT_COUNT)
            continue;
        st_event_view *view = &snap->events[snap->event_count++];
        memset(view, 0, sizeof *view);
        view->sequence = n;
        view->time_ns = entry.time_ns;
        view->pid = entry.pid;
        view->object = entry.object;
        view->operation = (st_operation)entry.operation;
        view->result = (st_result)entry.result;
        view->wait_ns = entry.wait_ns;
        view->value = entry.value;
        const st_object_view *object = st_snapshot_find_object(snap, entry.object);
        view->type_name = object ? object->type_name : "";
        if (object)
            memcpy(view->object_name, object->name, sizeof view->object_name);
    }
    return ST_OK;
}

st_result st_snapshot_take(const st_table *table, st_snapshot *snap)
{
    snap->process_count = 0;
    snap->object_count = 0;
    snap->event_count = 0;
    snap->corrupt_slots = 0;
    if (!table)
        return st_fail(ST_EINVAL, "st_snapshot_take: table is NULL");
    st_result r = check_header(table);
    if (r != ST_OK)
        return r;
    copy_bounded(snap->session, sizeof snap->session, table->session, sizeof table->session);
    snap->taken_ns = st_monotonic_ns();

    for (uint32_t i = 0; i < table->process_capacity; i++) {
        const st_process_slot *shared = &table->processes[i];
        if (__atomic_load_n(&shared->status, __ATOMIC_ACQUIRE) != ST_SLOT_LIVE)
            continue;
        if (!grow((void **)&snap->processes, &snap->process_alloc, snap->process_count + 1,
                  sizeof *snap->processes))
            return st_fail(ST_ENOMEM, "snapshot: out of memory");
        if (take_process(table, shared, i, &snap->processes[snap->process_count], snap->taken_ns))
            snap->process_count++;
        else
            snap->corrupt_slots++;
    }

    uint32_t used = ST_LOAD(table->header->objects_used);
    if (used > table->object_capacity) {
        snap->corrupt_slots++;
        used = table->object_capacity;
    }
    /* Size the array once: views must not move while it fills, because a
     * text field points into its own view's text[]. */
    if (used > 0 && !grow((void **)&snap->objects, &snap->object_alloc, used, sizeof *snap->objects))
        return st_fail(ST_ENOMEM, "snapshot: out of memory");
    for (uint32_t i = 0; i < used; i++) {
        const st_object_slot *shared = &table->objects[i];
        if (__atomic_load_n(&shared->header.status, __ATOMIC_ACQUIRE) != ST_SLOT_LIVE)
            continue;
        if (!grow((void **)&snap->objects, &snap->object_alloc, snap->object_count + 1, sizeof *snap->objects))
            return st_fail(ST_ENOMEM, "snapshot: out of memory");
        if (take_object(table, shared, i, &snap->objects[snap->object_count]))
            snap->object_count++;
        else
            snap->corrupt_slots++;
    }

    for (size_t i = 0; i < snap->process_count; i++) {
        st_process_view *process = &snap->processes[i];
        if (!process->blocked)
            continue;
        const st_object_view *object = st_snapshot_find_object(snap, process->blocked_object);
        if (object)
            memcpy(process->blocked_object_name, object->name, sizeof object->name);
    }
    return take_events(table, snap);
}

const st_object_view *st_snapshot_find_object(const st_snapshot *snap, uint32_t index)
{
    size_t low = 0, high = snap->object_count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (snap->objects[mid].index < index)
            low = mid + 1;
        else
            high = mid;
    }
    if (low < snap->object_count && snap->objects[low].index == index)
        return &snap->objects[low];
    return NULL;
}

void st_snapshot_free(st_snapshot *snap)
{
    free(snap->processes);
    free(snap->objects);
    free(snap->events);
    memset(snap, 0, sizeof *snap);
}
