/* object_registry.c - named objects in the status table.
 *
 * Names are unique per session: opening a name that exists attaches to that
 * object (so unrelated processes share a lock by name), provided the type
 * matches. Lookup goes through an open-addressing hash index of names kept
 * in the table after the object slots (slot + 1 per entry, 0 empty), so
 * opening stays cheap with thousands of objects. The index and the slots
 * change only under the registry lock; readers never use the index.
 */
#include "internal.h"
#include "event_log.h"
#include "object_types.h"

#include <string.h>

static uint32_t hash_name(const char *name)
{
    /* FNV-1a, 32 bits. */
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h;
}

static uint32_t index_size(const st_table *table)
{
    return table->object_capacity * ST_NAME_INDEX_FACTOR;
}

/* Under the registry lock: the live slot called name, or UINT32_MAX. */
static uint32_t index_lookup(st_table *table, const char *name)
{
    uint32_t size = index_size(table);
    uint32_t pos = hash_name(name) % size;
    for (uint32_t probe = 0; probe < size; probe++, pos = (pos + 1) % size) {
        uint32_t entry = table->name_index[pos];
        if (entry == ST_NAME_INDEX_EMPTY)
            return UINT32_MAX;
        if (entry == ST_NAME_INDEX_TOMBSTONE || entry > table->object_capacity)
            continue;
        st_object_slot *slot = &table->objects[entry - 1];
        if (slot->header.status == ST_SLOT_LIVE &&
            strncmp(slot->header.name, name, sizeof slot->header.name) == 0)
            return entry - 1;
    }
    return UINT32_MAX;
}

static void index_insert(st_table *table, const char *name, uint32_t slot_index)
{
    uint32_t size = index_size(table);
    uint32_t pos = hash_name(name) % size;
    for (uint32_t probe = 0; probe < size; probe++, pos = (pos + 1) % size) {
        uint32_t entry = table->name_index[pos];
        if (entry == ST_NAME_INDEX_EMPTY || entry == ST_NAME_INDEX_TOMBSTONE || entry > table->object_capacity) {
            table->name_index[pos] = slot_index + 1;
            return;
        }
    }
}

void st_registry_recover(st_table *table)
{
    uint32_t used = table->header->objects_used;
    if (used > table->object_capacity)
        used = table->object_capacity;
    uint32_t live = 0;
    for (uint32_t i = 0; i < used; i++) {
        st_object_slot *slot = &table->objects[i];
        if (slot->header.status == ST_SLOT_INITIALIZING)
            __atomic_store_n(&slot->header.status, ST_SLOT_FREE, __ATOMIC_RELEASE);
        if (slot->header.status == ST_SLOT_LIVE)
            live++;
    }
    for (uint32_t i = 0; i < table->process_capacity; i++)
        if (table->processes[i].status == ST_SLOT_INITIALIZING)
            __atomic_store_n(&table->processes[i].status, ST_SLOT_FREE, __ATOMIC_RELEASE);
    memset(table->name_index, 0, (size_t)index_size(table) * sizeof(uint32_t));
    for (uint32_t i = 0; i < used; i++) {
        st_object_slot *slot = &table->objects[i];
        if (slot->header.status == ST_SLOT_LIVE) {
            slot->header.name[ST_OBJECT_NAME_MAX] = '\0';
            index_insert(table, slot->header.name, i);
        }
    }
    ST_STORE(table->header->live_objects, live);
}

static const char *type_label(st_object_type type)
{
    const st_object_type_descriptor *descriptor = st_object_type_get(type);
    return descriptor ? descriptor->name : "object";
}

static st_result validate_name(const char *name)
{
    if (!name)
        return st_fail(ST_EINVAL, "object name is NULL");
    size_t len = strnlen(name, ST_OBJECT_NAME_MAX + 1);
    if (len == 0)
        return st_fail(ST_EINVAL, "object name is empty");
    if (len > ST_OBJECT_NAME_MAX)
        return st_fail(ST_ENAMETOOLONG, "object name '%.20s...' is longer than %d bytes", name,
                       ST_OBJECT_NAME_MAX);
    return ST_OK;
}

/* Under the registry lock: a free slot, growing the used range if needed. */
static uint32_t allocate_slot_locked(st_table *table)
{
    uint32_t used = table->header->objects_used;
    if (used > table->object_capacity)
        used = table->object_capacity;
    if (table->header->live_objects < used) {
        for (uint32_t i = 0; i < used; i++)
            if (table->objects[i].header.status == ST_SLOT_FREE)
                return i;
    }
    if (used < table->object_capacity) {
        ST_STORE(table->header->objects_used, used + 1);
        return used;
    }
    return UINT32_MAX;
}

st_result st_object_open(st_table *table, st_object_type type, const char *name,
                         st_body_init_fn init, const void *params, uint32_t *index_out)
{
    return st_object_open_reporting(table, type, name, init, params, NULL, index_out);
}

/* Under the registry lock: give back a slot whose initialisation failed
 * (it was never indexed nor counted live), so no half-made object stays. */
static void discard_slot_locked(st_object_slot *slot)
{
    memset(&slot->header.type, 0, sizeof *slot - offsetof(st_object_slot, header.type));
    __atomic_store_n(&slot->header.status, ST_SLOT_FREE, __ATOMIC_RELEASE);
}

st_result st_object_open_reporting(st_table *table, st_object_type type, const char *name,
                                   st_body_init_fn init, const void *params, const st_result *init_result,
                                   uint32_t *index_out)
{
    if (!table)
        return st_fail(ST_EINVAL, "table is NULL");
    if (table->readonly)
        return st_fail(ST_EPERM, "the table of session '%s' was attached read-only", table->session);
    st_result r = validate_name(name);
    if (r != ST_OK)
        return r;
    st_self_slot(table);
    r = st_registry_lock(table);
    if (r != ST_OK)
        return r;
    uint32_t index = index_lookup(table, name);
    if (index != UINT32_MAX) {
        st_object_slot *slot = &table->objects[index];
        if (slot->header.type != (uint32_t)type) {
            st_registry_unlock(table);
            return st_fail(ST_EWRONGTYPE, "'%s' already exists in session '%s' as another type, not a %s; "
                           "choose another name", name, table->session, type_label(type));
        }
        ST_BUMP(slot->header.handles, 1u);
        st_registry_unlock(table);
        *index_out = index;
        return ST_OK;
    }
    index = allocate_slot_locked(table);
    if (index == UINT32_MAX) {
        st_registry_unlock(table);
        return st_fail(ST_EFULL, "object table full: all %u object slots of session '%s' are in use. "
                       "Recreate the session with more (SYNCTOP_OBJECTS=N, or st_table_options.object_capacity)",
                       table->object_capacity, table->session);
    }
    st_object_slot *slot = &table->objects[index];
    __atomic_store_n(&slot->header.status, ST_SLOT_INITIALIZING, __ATOMIC_RELAXED);
    memset(&slot->header.type, 0, sizeof *slot - offsetof(st_object_slot, header.type));
    slot->header.type = (uint32_t)type;
    slot->header.creator_pid = st_self_pid;
    slot->header.created_ns = st_realtime_ns();
    slot->header.handles = 1;
    if (table->trace_new_objects || st_trace_wanted_by_environment(name))
        slot->header.flags |= ST_OBJECT_TRACED;
    memcpy(slot->header.name, name, strlen(name) + 1);
    if (init)
        init(&slot->body, params);
    if (init_result && *init_result != ST_OK) {
        discard_slot_locked(slot);
        st_registry_unlock(table);
        return *init_result;
    }
    __atomic_store_n(&slot->header.status, ST_SLOT_LIVE, __ATOMIC_RELEASE);
    index_insert(table, name, index);
    ST_BUMP(table->header->live_objects, 1u);
    ST_BUMP(table->header->generation, 1u);
    st_registry_unlock(table);
    *index_out = index;
    return ST_OK;
}
