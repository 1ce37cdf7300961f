/* object_types.c - the table of object types (see object_types.h). */
#include "object_types.h"

#include <string.h>

static const st_object_type_descriptor descriptors[ST_TYPE_COUNT] = {
    [ST_TYPE_LOCK] = { "lock", st_lock_describe },
    [ST_TYPE_RLOCK] = { "rlock", st_rlock_describe },
    [ST_TYPE_SEMAPHORE] = { "semaphore", st_semaphore_describe },
    [ST_TYPE_BOUNDED_SEMAPHORE] = { "bounded_semaphore", st_bounded_semaphore_describe },
    [ST_TYPE_EVENT] = { "event", st_event_describe },
    [ST_TYPE_CONDITION] = { "condition", st_condition_describe },
    [ST_TYPE_QUEUE] = { "queue", st_queue_describe, st_queue_data_segments },
    [ST_TYPE_PIPE] = { "pipe", st_pipe_describe, st_pipe_data_segments },
    [ST_TYPE_VALUE] = { "value", st_value_describe },
    [ST_TYPE_ARRAY] = { "array", st_array_describe, st_array_data_segments },
    [ST_TYPE_SHM] = { "shm", st_shm_describe, st_shm_data_segments },
    [ST_TYPE_DICT] = { "dict", st_dict_describe, st_dict_data_segments },
    [ST_TYPE_POOL] = { "pool", st_pool_describe },
    [ST_TYPE_SUPERVISOR] = { "supervisor", st_supervisor_describe },
    [ST_TYPE_FOREIGN_LOCK] = { "lock", st_foreign_lock_describe },
    [ST_TYPE_FOREIGN_RLOCK] = { "rlock", st_foreign_rlock_describe },
    [ST_TYPE_FOREIGN_SEMAPHORE] = { "semaphore", st_foreign_semaphore_describe },
    [ST_TYPE_FOREIGN_BOUNDED_SEMAPHORE] = { "bounded_semaphore", st_foreign_bounded_semaphore_describe },
    [ST_TYPE_FOREIGN_EVENT] = { "event", st_foreign_event_describe },
    [ST_TYPE_FOREIGN_CONDITION] = { "condition", st_foreign_condition_describe },
    [ST_TYPE_FOREIGN_QUEUE] = { "queue", st_foreign_queue_describe },
    [ST_TYPE_FOREIGN_PIPE] = { "pipe", st_foreign_pipe_describe },
    [ST_TYPE_FOREIGN_SHM] = { "shm", st_foreign_shm_describe },
    [ST_TYPE_FOREIGN_POOL] = { "pool", st_foreign_pool_describe },
    [ST_TYPE_FOREIGN_MANAGED] = { "managed", st_foreign_managed_describe },
};

const st_object_type_descriptor *st_object_type_get(uint32_t type)
{
    if (type == ST_TYPE_NONE || type >= ST_TYPE_COUNT || !descriptors[type].describe)
        return NULL;
    return &descriptors[type];
}

static st_field *next_field(st_object_view *view, const char *name, st_value_kind kind, unsigned flags)
{
    if (view->field_count >= ST_MAX_FIELDS)
        return NULL;
    st_field *field = &view->fields[view->field_count++];
    field->name = name;
    field->kind = kind;
    field->flags = flags;
    field->blocked_in = ST_OP_NONE;
    field->has_rate = false;
    field->rate_per_s = 0;
    return field;
}

void st_field_u64(st_object_view *view, const char *name, uint64_t value, unsigned flags)
{
    st_field *field = next_field(view, name, ST_VALUE_U64, flags);
    if (field)
        field->value.u64 = value;
}

void st_field_waiters(st_object_view *view, const char *name, uint64_t count, st_operation op)
{
    st_field *field = next_field(view, name, ST_VALUE_U64, ST_FIELD_WAITERS);
    if (!field)
        return;
    field->value.u64 = count;
    field->blocked_in = op;
}

void st_field_pid(st_object_view *view, const char *name, int32_t pid)
{
    st_field *field = next_field(view, name, ST_VALUE_PID, 0);
    if (field)
        field->value.i64 = pid > 0 ? pid : 0;
}

void st_field_i64(st_object_view *view, const char *name, int64_t value, unsigned flags)
{
    st_field *field = next_field(view, name, ST_VALUE_I64, flags);
    if (field)
        field->value.i64 = value;
}

void st_field_double(st_object_view *view, const char *name, double value, unsigned flags)
{
    st_field *field = next_field(view, name, ST_VALUE_DOUBLE, flags);
    if (field)
        field->value.f64 = value;
}

/* The first free byte of view->text: after the last text already stored
 * there (text fields are the only users, so their pointers say it all). */
static size_t text_used(const st_object_view *view)
{
    size_t used = 0;
    for (uint32_t i = 0; i < view->field_count && i < ST_MAX_FIELDS; i++) {
        const st_field *field = &view->fields[i];
        uintptr_t at = (uintptr_t)field->value.text, base = (uintptr_t)view->text;
        if (field->kind != ST_VALUE_TEXT || at < base || at >= base + sizeof view->text)
            continue;
        size_t end = (size_t)(at - base) + strlen(field->value.text) + 1;
        if (end > used)
            used = end;
    }
    return used;
}

void st_field_text(st_object_view *view, const char *name, const char *text, size_t max_len)
{
    size_t used = text_used(view);
    if (used >= sizeof view->text)
        return;
    st_field *field = next_field(view, name, ST_VALUE_TEXT, 0);
    if (!field)
        return;
    char *dst = view->text + used;
    /* Valid UTF-8, cut at a character boundary when the room runs out. */
    st_text_sanitize(text, max_len, dst, sizeof view->text - used, 0);
    field->value.text = dst;
}

/* A recorded name counts only when it is one of this table's segments. */
static bool names_a_segment_of(const st_table *table, const char *name)
{
    size_t len = strlen(table->shm_name);
    return strncmp(name, table->shm_name, len) == 0 && name[len] == '.';
}

unsigned st_object_data_segments(const st_table *table, uint32_t index, st_segment_names names)
{
    if (index >= table->object_capacity)
        return 0;
    const st_object_slot *slot = &table->objects[index];
    uint32_t status = __atomic_load_n(&slot->header.status, __ATOMIC_ACQUIRE);
    if (status != ST_SLOT_LIVE && status != ST_SLOT_INITIALIZING)
        return 0;
    const st_object_type_descriptor *descriptor = st_object_type_get(ST_LOAD(slot->header.type));
    if (!descriptor || !descriptor->data_segments)
        return 0;
    st_object_slot copy;   /* a private copy of the body: writers may be busy */
    memcpy(&copy.body, &slot->body, sizeof copy.body);
    st_segment_names found;
    unsigned count = descriptor->data_segments(table, index, &copy.body, found);
    unsigned kept = 0;
    for (unsigned i = 0; i < count && i < ST_MAX_DATA_SEGMENTS; i++) {
        found[i][ST_SEGMENT_NAME_MAX - 1] = '\0';
        if (names_a_segment_of(table, found[i]))
            memcpy(names[kept++], found[i], ST_SEGMENT_NAME_MAX);
    }
    return kept;
}
