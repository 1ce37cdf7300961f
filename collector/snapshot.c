/* snapshot.c - the reader side's only contact with a table's slots.
 *
 * The table may be written, resized or truncated by anyone at any time,
 * including by a buggy or hostile process. So each refresh copies the
 * regions it needs into private memory with pread (table_image.c: a segment
 * that shrank is a short read and an error, never a SIGBUS), re-checks the
 * header against the layout validated at attach, bounds-checks every index
 * and enum, and copies strings bounded, NUL-terminated and as valid UTF-8.
 * A slot that fails is counted (corrupt_slots) and skipped; it never
 * reaches the model. The clock is read after the copy, so no time in it
 * (a wait's start, a heartbeat) is later than the snapshot's own time.
 */
#include "snapshot.h"
#include "object_types.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static void copy_name(char *dst, size_t dst_size, const char *src, size_t src_size)
{
    st_text_sanitize(src, src_size, dst, dst_size, 0);
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

/* The layout must still be the one validated at attach. */
static st_result check_layout(const st_table *table, const st_table_header *header)
{
    if (header->process_capacity != table->process_capacity || header->object_capacity != table->object_capacity ||
        header->event_capacity != table->event_capacity || header->total_size != table->size)
        return st_fail(ST_ECORRUPT, "session '%s': the header's layout changed after we attached",
                       table->session);
    return ST_OK;
}

static bool take_process(const st_table_header *header, const st_process_slot *slot, uint32_t index,
                         st_process_view *view, uint64_t now_ns)
{
    if (slot->pid <= 0 || slot->state >= ST_PROCESS_STATE_COUNT || slot->blocked_op >= ST_OP_COUNT ||
        slot->blocked_object > header->object_capacity || slot->exit_recorded > 1)
        return false;
    int status = slot->exit_status;
    if (slot->exit_recorded && !(WIFEXITED(status) || (WIFSIGNALED(status) && WTERMSIG(status) < 128)))
        return false;
    memset(view, 0, sizeof *view);
    view->index = index;
    view->pid = slot->pid;
    view->start_ticks = slot->start_ticks;
    copy_name(view->name, sizeof view->name, slot->name, sizeof slot->name);
    copy_name(view->role, sizeof view->role, slot->role, sizeof slot->role);
    view->state = (st_process_state)slot->state;
    view->restarts = slot->restarts;
    if (slot->heartbeat_ns && now_ns > slot->heartbeat_ns)
        view->heartbeat_age_ns = now_ns - slot->heartbeat_ns;
    view->exit_status = view->exit_signal = -1;
    if (slot->exit_recorded) {
        view->exit_known = true;
        if (WIFEXITED(status)) {
            view->exit_status = WEXITSTATUS(status);
        } else {
            view->exit_signal = WTERMSIG(status);
            view->core_dumped = WCOREDUMP(status) != 0;
        }
        view->exited_for_ns = now_ns > slot->exited_ns ? now_ns - slot->exited_ns : 0;
    }
    if (slot->blocked_object) {
        view->blocked = true;
        view->blocked_object = slot->blocked_object - 1;
        view->blocked_op = (st_operation)slot->blocked_op;
        view->blocked_for_ns = now_ns > slot->blocked_since_ns ? now_ns - slot->blocked_since_ns : 0;
    }
    return true;
}

static bool take_object(const st_object_slot *slot, const st_clock_calibration *clock, uint32_t index,
                        st_object_view *view)
{
    if (slot->header.status != ST_SLOT_LIVE)
        return false;
    const st_object_type_descriptor *type = st_object_type_get(slot->header.type);
    if (!type)
        return false;
    view->index = index;
    view->type = slot->header.type;
    view->type_name = type->name;
    copy_name(view->name, sizeof view->name, slot->header.name, sizeof slot->header.name);
    view->creator_pid = slot->header.creator_pid;
    view->created_ns = slot->header.created_ns;
    view->field_count = 0;
    type->describe(&slot->body, clock, view);
    return true;
}

/* The latest events of the copied ring, each only if it was whole. */
static st_result take_events(st_snapshot *snap)
{
    const st_table_image *image = &snap->image;
    if (image->event_next == image->event_first)
        return ST_OK;
    if (!snap->events) {
        snap->events = calloc(ST_MODEL_EVENTS_MAX, sizeof *snap->events);
        if (!snap->events)
            return st_fail(ST_ENOMEM, "snapshot: out of memory");
    }
    for (uint64_t n = image->event_first; n < image->event_next && snap->event_count < ST_MODEL_EVENTS_MAX; n++) {
        const st_event_entry *entry = &image->events[n - image->event_first];
        if (entry->sequence != n + 1)
            continue;  /* being written, or overwritten by a later lap */
        if (entry->object >= image->header.object_capacity || entry->operation >= ST_OP_COUNT ||
            entry->result >= ST_RESULT_COUNT)
            continue;
        st_event_view *view = &snap->events[snap->event_count++];
        memset(view, 0, sizeof *view);
        view->sequence = n;
        view->time_ns = entry->time_ns;
        view->pid = entry->pid;
        view->object = entry->object;
        view->operation = (st_operation)entry->operation;
        view->result = (st_result)entry->result;
        view->wait_ns = entry->wait_ns;
        view->value = entry->value;
        const st_object_view *object = st_snapshot_find_object(snap, entry->object);
        view->type_name = object ? object->type_name : "";
        if (object)
            memcpy(view->object_name, object->name, sizeof view->object_name);
    }
    return ST_OK;
}

static st_result take_processes(st_snapshot *snap)
{
    const st_table_image *image = &snap->image;
    for (uint32_t i = 0; i < image->header.process_capacity; i++) {
        const st_process_slot *slot = &image->processes[i];
        if (slot->status != ST_SLOT_LIVE)
            continue;
        if (!grow((void **)&snap->processes, &snap->process_alloc, snap->process_count + 1,
                  sizeof *snap->processes))
            return st_fail(ST_ENOMEM, "snapshot: out of memory");
        if (take_process(&image->header, slot, i, &snap->processes[snap->process_count], snap->taken_ns))
            snap->process_count++;
        else
            snap->corrupt_slots++;
    }
    return ST_OK;
}

/* Object slots are copied a chunk at a time and described while the chunk
 * is still in the cache. */
static st_result take_objects(st_snapshot *snap, const st_clock_calibration *clock)
{
    st_table_image *image = &snap->image;
    uint32_t used = image->header.objects_used;
    /* Size the array once: views must not move while it fills, because a
     * text field points into its own view's text[]. */
    if (used > 0 && !grow((void **)&snap->objects, &snap->object_alloc, used, sizeof *snap->objects))
        return st_fail(ST_ENOMEM, "snapshot: out of memory");
    for (uint32_t first = 0; first < used; first += ST_IMAGE_OBJECT_CHUNK) {
        uint32_t count = used - first < ST_IMAGE_OBJECT_CHUNK ? used - first : ST_IMAGE_OBJECT_CHUNK;
        st_result r = st_table_image_read_objects(image, first, count);
        if (r != ST_OK)
            return r;
        for (uint32_t i = 0; i < count; i++) {
            const st_object_slot *slot = &image->objects[i];
            if (slot->header.status != ST_SLOT_LIVE)
                continue;
            if (take_object(slot, clock, first + i, &snap->objects[snap->object_count]))
                snap->object_count++;
            else
                snap->corrupt_slots++;
        }
    }
    for (size_t i = 0; i < snap->process_count; i++) {
        st_process_view *process = &snap->processes[i];
        if (!process->blocked)
            continue;
        const st_object_view *object = st_snapshot_find_object(snap, process->blocked_object);
        if (object)
            memcpy(process->blocked_object_name, object->name, sizeof object->name);
    }
    return ST_OK;
}

/* Views from the image just copied; clock converts the table's tick counts. */
static st_result take_from_image(st_snapshot *snap, const st_clock_calibration *clock)
{
    snap->taken_ns = st_monotonic_ns();   /* after the copy: see the top of this file */
    st_result r = take_processes(snap);
    if (r == ST_OK)
        r = take_objects(snap, clock);
    if (r == ST_OK)
        r = take_events(snap);
    if (r != ST_OK)
        snap->process_count = snap->object_count = snap->event_count = 0;
    return r;
}

static void reset(st_snapshot *snap)
{
    snap->process_count = 0;
    snap->object_count = 0;
    snap->event_count = 0;
    snap->corrupt_slots = 0;
}

st_result st_snapshot_take(const st_table *table, st_snapshot *snap)
{
    reset(snap);
    if (!table)
        return st_fail(ST_EINVAL, "st_snapshot_take: table is NULL");
    st_result r = st_table_image_read_fd(&snap->image, table->fd, table->session, ST_MODEL_EVENTS_MAX);
    if (r == ST_OK)
        r = check_layout(table, &snap->image.header);
    if (r != ST_OK)
        return r;
    copy_name(snap->session, sizeof snap->session, table->session, sizeof table->session);
    return take_from_image(snap, &table->clock);
}

st_result st_snapshot_take_from_buffer(const void *data, size_t size, st_snapshot *snap)
{
    reset(snap);
    if (!data)
        return st_fail(ST_EINVAL, "st_snapshot_take_from_buffer: data is NULL");
    st_result r = st_table_image_read_buffer(&snap->image, data, size, "buffer", ST_MODEL_EVENTS_MAX);
    if (r != ST_OK)
        return r;
    copy_name(snap->session, sizeof snap->session, snap->image.header.session, sizeof snap->image.header.session);
    return take_from_image(snap, &snap->image.header.clock);
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
    st_table_image_free(&snap->image);
    memset(snap, 0, sizeof *snap);
}
