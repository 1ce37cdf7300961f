/* object_segment.h - the data segment of an Array or a Dict, created by
 * whichever process opens the object first.
 *
 * The object's slot body keeps a 64-bit stamp that names the segment (see
 * segment.h): 0 until the segment exists. The first opener takes the
 * object's built-in lock, creates the segment and publishes the stamp (a
 * release store); later openers see a non-zero stamp and just map it. So a
 * failed creation (a full /dev/shm) leaves the object without data, and the
 * next opener simply tries again. */
#ifndef SYNCTOP_OBJECT_SEGMENT_H
#define SYNCTOP_OBJECT_SEGMENT_H

#include "segment.h"

/* Map object index's data segment of size bytes (kind: "array", "dict"),
 * creating it when *stamp is 0. Whoever may find *stamp at 0 must hold the
 * object's built-in lock. *created says whether this call created it. */
st_result st_object_segment_open(st_table *table, uint32_t index, const char *kind, uint64_t *stamp, size_t size,
                                 st_segment *out, bool *created);

#endif
