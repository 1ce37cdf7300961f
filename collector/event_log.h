/* event_log.h - the event log ring: the last operations on traced objects.
 *
 * Tracing is per object (st_object_header.flags & ST_OBJECT_TRACED), off by
 * default; it is switched on at creation (st_table_options.trace_new_objects
 * or SYNCTOP_TRACE=all|name,name...) or later with st_trace_set(). When it is
 * off, a primitive pays one load of its own slot header's flags.
 */
#ifndef SYNCTOP_EVENT_LOG_H
#define SYNCTOP_EVENT_LOG_H

#include "internal.h"

static inline bool st_object_traced(const st_object_slot *slot)
{
    return __builtin_expect((ST_LOAD(slot->header.flags) & ST_OBJECT_TRACED) != 0, 0);
}

/* Append one event to the ring (writer side). */
void st_event_log(st_table *table, uint32_t object_index, st_operation op, st_result result,
                  uint64_t wait_ns, int64_t value);

/* Whether SYNCTOP_TRACE asks for an object of this name to be traced. */
bool st_trace_wanted_by_environment(const char *name);

#endif
