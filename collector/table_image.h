/* table_image.h - a private copy of a table's regions, read with pread.
 *
 * The viewer side never reads a mapping of a segment that anyone may
 * truncate under it (a read past the new end is a SIGBUS): it copies the
 * regions it needs with pread, so a segment that shrank is a short read,
 * reported as ST_ETRUNCATED for this refresh. The same code reads a byte
 * buffer, which is how the fuzz target (tests/fuzz/) feeds it.
 */
#ifndef SYNCTOP_TABLE_IMAGE_H
#define SYNCTOP_TABLE_IMAGE_H

#include <sys/types.h>
#include "internal.h"

/* Object slots are copied this many at a time (st_table_image_read_objects):
 * a chunk stays in the CPU's cache while it is described. */
#define ST_IMAGE_OBJECT_CHUNK 64u

/* Where an image is read from: a descriptor, or a buffer when data is set. */
typedef struct st_image_source {
    int fd;
    const unsigned char *data;
    size_t size;
    const char *session;          /* for error messages */
} st_image_source;

typedef struct st_table_image {
    st_table_header header;       /* validated against the segment's size */
    st_image_source source;       /* what the last st_table_image_read* read */
    st_process_slot *processes;   /* header.process_capacity slots */
    st_object_slot *objects;      /* room for ST_IMAGE_OBJECT_CHUNK slots */
    st_event_entry *events;       /* events [event_first, event_next): entry n at n - event_first;
                                   * a sequence of 0 marks one torn while copying */
    uint64_t event_first;
    uint64_t event_next;
    size_t process_bytes, object_bytes, event_bytes;   /* allocated */
} st_table_image;

/* Copy the header, the process slots and the latest events (at most
 * events_wanted) of a table into image, reusing its buffers, from a
 * descriptor (its size from fstat) or a byte buffer (kept, not copied, until
 * the next read). ST_ETRUNCATED when the data ends early. */
st_result st_table_image_read_fd(st_table_image *image, int fd, const char *session, uint32_t events_wanted);
st_result st_table_image_read_buffer(st_table_image *image, const void *data, size_t size,
                                     const char *session, uint32_t events_wanted);
/* Copy object slots [first, first + count) (count <= ST_IMAGE_OBJECT_CHUNK,
 * first + count <= header.objects_used) into image->objects, from the same
 * source. */
st_result st_table_image_read_objects(st_table_image *image, uint32_t first, uint32_t count);
void st_table_image_free(st_table_image *image);

/* Read exactly len bytes at offset from fd: ST_OK, ST_ETRUNCATED on a short
 * read (the segment shrank), ST_ESYSTEM on an error. */
st_result st_pread_exact(int fd, void *dst, size_t len, uint64_t offset, const char *session);

#endif
