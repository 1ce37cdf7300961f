/* segment.h - the separate shared-memory segments that hold a primitive's
 * bulk data (queue and pipe rings, arrays, shared-memory regions, dicts,
 * pool task tables), named after the session so leaks can be traced:
 *
 *     /synctop-<uid>-<session>.<kind>.<object index>-<creation time, hex>
 *
 * Created like the table itself: O_CREAT|O_EXCL, mode 0600, the whole size
 * reserved with posix_fallocate (a full /dev/shm is an error now, not a
 * SIGBUS later). Attaching refuses a segment that is not ours and private
 * (ST_EUNSAFE, see ownership.c). */
#ifndef SYNCTOP_SEGMENT_H
#define SYNCTOP_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "internal.h"

#define ST_SEGMENT_NAME_MAX 128

typedef struct st_segment {
    void *base;
    size_t size;
    char name[ST_SEGMENT_NAME_MAX];
} st_segment;

/* The segment name for an object's data ("kind" is a short word: "queue"). */
st_result st_segment_name(const st_table *table, const char *kind, uint32_t object_index, uint64_t created_ns,
                          char out[ST_SEGMENT_NAME_MAX]);

/* Create, reserve and map (read-write) a new segment of size bytes. */
st_result st_segment_create(const char *name, size_t size, st_segment *out);

/* Map an existing segment; its size must be at least expected_size. */
st_result st_segment_attach(const char *name, size_t expected_size, bool readonly, st_segment *out);

/* Unmap (the segment stays). */
void st_segment_close(st_segment *segment);

/* Remove the segment's name; mappings stay valid until closed. */
st_result st_segment_unlink(const char *name);

/* A data segment's name read back: "synctop-<our uid>-<session>.<kind>.
 * <index>-<hex>" exactly (as st_segment_name writes it), or false. */
typedef struct st_segment_name_parts {
    char session[ST_SESSION_NAME_MAX + 1];
    char kind[16];
    uint32_t index;
    uint64_t stamp;
} st_segment_name_parts;
bool st_segment_parse(const char *shm_name, st_segment_name_parts *out);

/* For tests: the next st_segment_create in this process fails as if
 * posix_fallocate had returned err (ENOSPC: a full /dev/shm). 0 cancels. */
void st_segment_inject_create_failure(int err);

/* The session a segment or table name ("synctop-<uid>-<session>[.<...>]",
 * without the leading '/') belongs to, for this user. false if the name is
 * not ours. */
bool st_segment_session_of(const char *shm_name, char session[ST_SESSION_NAME_MAX + 1]);

#endif
