/* shm_internal.h - what the leak collector (leaks.c) needs to know of a
 * shared-memory region's slot, and may do to it. */
#ifndef SYNCTOP_SHM_INTERNAL_H
#define SYNCTOP_SHM_INTERNAL_H

#include "internal.h"
#include "segment.h"

/* A region slot as seen from outside, from a copy of its body. */
typedef struct st_shm_status {
    bool live;                  /* created and not unlinked */
    uint64_t size;
    uint64_t stamp;             /* names its segment */
    int32_t creator_pid;
    bool creator_alive;
    uint32_t live_attached;     /* attached processes still alive */
} st_shm_status;

/* Read slot index of table (an ST_TYPE_SHM slot, read-only handle is fine)
 * without locking. false when the slot is not a live region slot. */
bool st_shm_status_of(const st_table *table, uint32_t index, st_shm_status *status);

/* The segment name of the region in slot index created with stamp. */
st_result st_shm_segment_name(const st_table *table, uint32_t index, uint64_t stamp,
                              char out[ST_SEGMENT_NAME_MAX]);

/* Collect the leaked region in slot index of a read-write table: under
 * the region's lock, check again that it still is the region of that stamp,
 * never unlinked, its creator dead and no attached process alive; then
 * unlink its segment and mark it unlinked (and collected). ST_OK when
 * removed; ST_EBUSY when it is in use now; ST_ENOENT when it changed. */
st_result st_shm_collect(st_table *table, uint32_t index, uint64_t stamp);

#endif
