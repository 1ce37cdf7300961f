/* event_log.c - writing the event log ring, and switching tracing on/off.
 *
 * Writers claim event number n with one atomic increment of the header's
 * event_next and write entry n % capacity: sequence 0 first (being written),
 * the fields, then sequence n + 1 with a release store. A slow writer lapped
 * by the ring may garble an entry; readers detect that by the sequence not
 * matching the event number they expect, and skip it.
 */
#include "event_log.h"

#include <stdlib.h>
#include <string.h>

void st_event_log(st_table *table, uint32_t object_index, st_operation op, st_result result,
                  uint64_t wait_ns, int64_t value)
{
    uint32_t capacity = table->event_capacity;
    if (capacity == 0)
        return;
    uint64_t n = __atomic_fetch_add(&table->header->event_next, 1, __ATOMIC_RELAXED);
    st_event_entry *entry = &table->events[n % capacity];
    __atomic_store_n(&entry->sequence, 0, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    ST_STORE(entry->time_ns, st_realtime_ns());
    ST_STORE(entry->pid, (int32_t)st_self_pid);
    ST_STORE(entry->object, object_index);
    ST_STORE(entry->operation, (uint32_t)op);
    ST_STORE(entry->result, (uint32_t)result);
    ST_STORE(entry->wait_ns, wait_ns);
    ST_STORE(entry->value, value);
    __atomic_store_n(&entry->sequence, n + 1, __ATOMIC_RELEASE);
}

bool st_trace_wanted_by_environment(const char *name)
{
    const char *spec = getenv("SYNCTOP_TRACE");
    if (!spec || !*spec)
        return false;
    if (strcmp(spec, "all") == 0 || strcmp(spec, "1") == 0)
        return true;
    size_t len = strlen(name);
    for (const char *p = spec; *p;) {
        const char *comma = strchr(p, ',');
        size_t item = comma ? (size_t)(comma - p) : strlen(p);
        if (item == len && strncmp(p, name, len) == 0)
            return true;
        if (!comma)
            break;
        p = comma + 1;
    }
    return false;
}

st_result st_trace_set(st_table *table, const char *name, bool on)
{
    if (!table || !name)
        return st_fail(ST_EINVAL, "st_trace_set: NULL argument");
    if (table->readonly)
        return st_fail(ST_EPERM, "st_trace_set: the table was attached read-only");
    st_result r = st_registry_lock(table);
    if (r != ST_OK)
        return r;
    uint32_t used = table->header->objects_used;
    r = st_fail(ST_ENOENT, "no object '%s' in session '%s'", name, table->session);
    for (uint32_t i = 0; i < used && i < table->object_capacity; i++) {
        st_object_slot *slot = &table->objects[i];
        if (slot->header.status != ST_SLOT_LIVE || strncmp(slot->header.name, name, sizeof slot->header.name) != 0)
            continue;
        uint32_t flags = ST_LOAD(slot->header.flags);
        ST_STORE(slot->header.flags, on ? flags | ST_OBJECT_TRACED : flags & ~ST_OBJECT_TRACED);
        r = ST_OK;
        break;
    }
    st_registry_unlock(table);
    return r;
}
