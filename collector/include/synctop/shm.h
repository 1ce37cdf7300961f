/* shm.h - named shared-memory regions (Python's
 * multiprocessing.shared_memory.SharedMemory), with leaks made visible.
 *
 * A region is a block of bytes of any size in a data segment of its own,
 * known in the session by a name. One process creates it, others attach to
 * it by name, each closes its handle when done, and someone unlinks it once
 * nobody needs the name any more. The status table records who created it,
 * which processes are attached right now, and whether it was unlinked, so
 * the dashboard can show the lesson's classic leak: a region whose creator
 * died without unlinking it (see leaks.h and `synctop --gc`).
 *
 *   creator                      others                      anyone, once
 *   st_shm_create("frames", n)   st_shm_attach("frames")      st_shm_unlink
 *   ... st_shm_data ...          ... st_shm_data ...
 *   st_shm_close                 st_shm_close
 *
 * Unlinking removes the name: later attaches fail with ST_ENOENT, and a new
 * region may be created under the same name; handles already attached keep
 * their mapping until they close. A child that inherits a handle through
 * fork() shares its parent's attachment (it is not counted in `attached`
 * unless it attaches by name itself, but it still protects the region from
 * being collected while it maps it).
 */
#ifndef SYNCTOP_SHM_H
#define SYNCTOP_SHM_H

/* The library is built with hidden visibility: what this header declares
 * is its public API. */
#pragma GCC visibility push(default)

#include <stddef.h>
#include "result.h"
#include "table.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct st_shm st_shm;

/* Create the region called name with size bytes (zero-filled) and attach
 * the caller to it. ST_EBUSY when a region of that name exists and was not
 * unlinked (attach to it instead); ST_EINVAL for size 0; ST_ENOSPC when
 * /dev/shm has no room; ST_EWRONGTYPE when another kind of object has the
 * name; ST_ENAMETOOLONG for a name over ST_OBJECT_NAME_MAX bytes. */
st_result st_shm_create(st_table *table, const char *name, size_t size, st_shm **out);

/* Attach to the existing region called name. ST_ENOENT when there is none,
 * or it was unlinked. */
st_result st_shm_attach(st_table *table, const char *name, st_shm **out);

/* The region's bytes and their count (NULL and 0 for an invalid handle). */
void *st_shm_data(const st_shm *region);
size_t st_shm_size(const st_shm *region);

/* Detach: unmap and free the handle. The region stays until unlinked.
 * NULL is a no-op. */
void st_shm_close(st_shm *region);

/* Remove the region's name (its data goes once the last mapping is gone).
 * ST_ENOENT when it was already unlinked. The handle stays usable until
 * st_shm_close. */
st_result st_shm_unlink(st_shm *region);

/* The same by name, without attaching. */
st_result st_shm_unlink_name(st_table *table, const char *name);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
