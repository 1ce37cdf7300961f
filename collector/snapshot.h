/* snapshot.h - a validated, private copy of what a table holds right now. */
#ifndef SYNCTOP_SNAPSHOT_H
#define SYNCTOP_SNAPSHOT_H

#include <synctop/model.h>
#include "internal.h"
#include "table_image.h"

typedef struct st_snapshot {
    char session[ST_SESSION_NAME_MAX + 1];
    uint64_t taken_ns;               /* CLOCK_MONOTONIC */
    st_process_view *processes;      /* live slots, by slot index; /proc figures not yet filled */
    size_t process_count;
    size_t process_alloc;
    st_object_view *objects;         /* live slots, by slot index */
    size_t object_count;
    size_t object_alloc;
    st_event_view *events;           /* oldest first */
    size_t event_count;
    uint32_t corrupt_slots;
    st_table_image image;            /* the private copy the views were made from */
} st_snapshot;

/* Copy (pread) and validate every live slot of table into snap (reusing
 * its buffers). On an error snap is left empty; a segment that shrank while
 * it was read is ST_ETRUNCATED, never a signal. */
st_result st_snapshot_take(const st_table *table, st_snapshot *snap);
/* The same from a byte buffer holding a whole table (the fuzz target). */
st_result st_snapshot_take_from_buffer(const void *data, size_t size, st_snapshot *snap);
void st_snapshot_free(st_snapshot *snap);

/* The object at slot index, by binary search, or NULL. */
const st_object_view *st_snapshot_find_object(const st_snapshot *snap, uint32_t index);

#endif
