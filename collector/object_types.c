/* object_types.c - the table of object types (see object_types.h). */
#include "object_types.h"

static const st_object_type_descriptor descriptors[ST_TYPE_COUNT] = {
    [ST_TYPE_LOCK] = { "lock", st_lock_describe },
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

void st_field_pid(st_object_view *view, const char *name, int32_t pid)
{
    st_field *field = next_field(view, name, ST_VALUE_PID, 0);
    if (field)
        field->value.i64 = pid > 0 ? pid : 0;
}
