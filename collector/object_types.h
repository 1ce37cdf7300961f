/* object_types.h - the viewer side's table of object types.
 *
 * Each primitive describes itself once: its name (the JSON "type") and how
 * to turn a private copy of its slot body into named fields. Snapshot, model,
 * JSON, batch output and the dashboard all go through this table, so adding
 * a primitive means adding one entry here, not a case in five switches.
 */
#ifndef SYNCTOP_OBJECT_TYPES_H
#define SYNCTOP_OBJECT_TYPES_H

#include <synctop/model.h>
#include "internal.h"
#include "segment.h"

/* At most this many data segments per object (a region: current + pending). */
#define ST_MAX_DATA_SEGMENTS 2
typedef char st_segment_names[ST_MAX_DATA_SEGMENTS][ST_SEGMENT_NAME_MAX];

typedef struct st_object_type_descriptor {
    const char *name;
    /* Fill view->fields from body, a private copy of the slot's body. */
    void (*describe)(const void *body, const st_clock_calibration *clock, st_object_view *view);
    /* For types with data segments (NULL otherwise): the names the body
     * (a private copy of object index's) records; returns how many. */
    unsigned (*data_segments)(const st_table *table, uint32_t index, const void *body, st_segment_names names);
} st_object_type_descriptor;

/* The descriptor of a type, or NULL for an unknown one. */
const st_object_type_descriptor *st_object_type_get(uint32_t type);

/* Field builders for describe() functions. */
void st_field_u64(st_object_view *view, const char *name, uint64_t value, unsigned flags);
void st_field_pid(st_object_view *view, const char *name, int32_t pid);
void st_field_i64(st_object_view *view, const char *name, int64_t value, unsigned flags);
void st_field_double(st_object_view *view, const char *name, double value, unsigned flags);
/* A count of processes blocked on the object in op (ST_OP_NONE: any
 * operation), reconciled by the model with the live processes blocked. */
void st_field_waiters(st_object_view *view, const char *name, uint64_t count, st_operation op);
/* A text field: copies at most max_len bytes of text (stopping at a NUL)
 * into the view's own text[] storage; truncated when that is full. */
void st_field_text(st_object_view *view, const char *name, const char *text, size_t max_len);

/* Each primitive's describe function (in its own .c file). */
void st_lock_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_rlock_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_semaphore_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_bounded_semaphore_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_event_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_condition_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_queue_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_pipe_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_value_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_array_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_shm_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_dict_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_pool_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_supervisor_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
/* The data segments each such primitive records (in its own .c file). */
unsigned st_queue_data_segments(const st_table *table, uint32_t index, const void *body, st_segment_names names);
unsigned st_pipe_data_segments(const st_table *table, uint32_t index, const void *body, st_segment_names names);
unsigned st_array_data_segments(const st_table *table, uint32_t index, const void *body, st_segment_names names);
unsigned st_shm_data_segments(const st_table *table, uint32_t index, const void *body, st_segment_names names);
unsigned st_dict_data_segments(const st_table *table, uint32_t index, const void *body, st_segment_names names);

/* The data segments that live (or initialising) object index of table
 * records, each a "/synctop-<uid>-<session>.<...>" name of this table's;
 * returns how many. 0 for a free slot or a type without data segments
 * (a pool unlinks its segment as soon as it has mapped it). */
unsigned st_object_data_segments(const st_table *table, uint32_t index, st_segment_names names);

/* Foreign objects (collector/preload/foreign_describe.c). */
void st_foreign_lock_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_foreign_rlock_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_foreign_semaphore_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_foreign_bounded_semaphore_describe(const void *body, const st_clock_calibration *clock,
                                           st_object_view *view);
void st_foreign_event_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_foreign_condition_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_foreign_queue_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_foreign_pipe_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_foreign_pool_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_foreign_shm_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);
void st_foreign_managed_describe(const void *body, const st_clock_calibration *clock, st_object_view *view);

#endif
