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

typedef struct st_table_image {
    st_table_header header;       /* validated against the segment's size */
    st_process_slot *processes;   /* header.process_capacity slots */
    st_object_slot *objects;      /* the header.objects_used slots ever allocated */
    st_event_entry *events;       /* events [event_first, event_next): entry n at n - event_first;
                                   * a sequence of 0 marks one torn while copying */
    uint64_t event_first;
    uint64_t event_next;
    size_t process_bytes, object_bytes, event_bytes;   /* allocated */
} st_table_image;

/* Reads up to len bytes at offset into dst, like pread: the count read
 * (short at the end of the data), or -1. */
typedef ssize_t (*st_image_reader)(void *source, void *dst, size_t len, uint64_t offset);

/* Copy the header, the process slots, the used object slots and the latest
 * events (at most events_wanted) of a table into image, reusing its
 * buffers. ST_ETRUNCATED when the data ends early. */
st_result st_table_image_read(st_table_image *image, st_image_reader read, void *source,
                              uint64_t size, const char *session, uint32_t events_wanted);
/* The same from a descriptor (its size from fstat) or a byte buffer. */
st_result st_table_image_read_fd(st_table_image *image, int fd, const char *session, uint32_t events_wanted);
st_result st_table_image_read_buffer(st_table_image *image, const void *data, size_t size,
                                     const char *session, uint32_t events_wanted);
void st_table_image_free(st_table_image *image);

/* Read exactly len bytes at offset from fd: ST_OK, ST_ETRUNCATED on a short
 * read (the segment shrank), ST_ESYSTEM on an error. */
st_result st_pread_exact(int fd, void *dst, size_t len, uint64_t offset, const char *session);

#endif
