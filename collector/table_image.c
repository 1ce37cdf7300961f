/* table_image.c - copying a table's regions with pread (see table_image.h).
 *
 * Only what the header describes is copied, and only after the header was
 * validated against the data's size: a hostile header cannot make us read
 * or allocate more than the segment holds.
 */
#include "table_image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static ssize_t read_fd(int fd, void *dst, size_t len, uint64_t offset)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (char *)dst + done, len - done, (off_t)(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static ssize_t read_source(const st_image_source *source, void *dst, size_t len, uint64_t offset)
{
    if (!source->data)
        return read_fd(source->fd, dst, len, offset);
    if (offset >= source->size)
        return 0;
    size_t n = source->size - offset < len ? (size_t)(source->size - offset) : len;
    memcpy(dst, source->data + offset, n);
    return (ssize_t)n;
}

static st_result read_exact(const st_image_source *source, void *dst, size_t len, uint64_t offset)
{
    ssize_t n = read_source(source, dst, len, offset);
    if (n < 0)
        return st_fail(ST_ESYSTEM, "session '%s': cannot read the segment: %s", source->session, strerror(errno));
    if ((size_t)n < len)
        return st_fail(ST_ETRUNCATED, "session '%s': the segment shrank while it was read (%zu of %zu bytes "
                       "at offset %llu); its creator may be resizing or removing it. Try again",
                       source->session, (size_t)n, len, (unsigned long long)offset);
    return ST_OK;
}

st_result st_pread_exact(int fd, void *dst, size_t len, uint64_t offset, const char *session)
{
    st_image_source source = { .fd = fd, .session = session };
    return read_exact(&source, dst, len, offset);
}

static bool reserve(void **buffer, size_t *allocated, size_t bytes)
{
    if (bytes <= *allocated)
        return true;
    void *p = realloc(*buffer, bytes);
    if (!p)
        return false;
    *buffer = p;
    *allocated = bytes;
    return true;
}

/* Copy events [first, next) of the ring in at most two contiguous reads. */
static st_result read_event_span(const st_table_image *image, st_event_entry *dst)
{
    uint32_t capacity = image->header.event_capacity;
    uint64_t count = image->event_next - image->event_first;
    uint64_t start = image->event_first % capacity;
    uint64_t first_part = capacity - start < count ? capacity - start : count;
    st_result r = read_exact(&image->source, dst, first_part * sizeof *dst,
                             image->header.event_offset + start * sizeof *dst);
    if (r == ST_OK && count > first_part)
        r = read_exact(&image->source, dst + first_part, (count - first_part) * sizeof *dst,
                       image->header.event_offset);
    return r;
}

/* The latest events; an entry whose sequence changed between two copies
 * was being rewritten and is marked torn (sequence 0). */
static st_result read_events(st_table_image *image, uint32_t events_wanted)
{
    uint32_t capacity = image->header.event_capacity;
    uint64_t next = image->header.event_next;
    image->event_first = image->event_next = 0;
    if (capacity == 0 || next == 0 || events_wanted == 0)
        return ST_OK;
    uint64_t span = capacity < events_wanted ? capacity : events_wanted;
    image->event_first = next > span ? next - span : 0;
    image->event_next = next;
    size_t count = (size_t)(next - image->event_first);
    if (!reserve((void **)&image->events, &image->event_bytes, 2 * count * sizeof *image->events))
        return st_fail(ST_ENOMEM, "snapshot: out of memory");
    st_event_entry *again = image->events + count;
    st_result r = read_event_span(image, image->events);
    if (r == ST_OK)
        r = read_event_span(image, again);
    for (size_t i = 0; r == ST_OK && i < count; i++)
        if (image->events[i].sequence != again[i].sequence)
            image->events[i].sequence = 0;
    return r;
}

static st_result read_image(st_table_image *image, uint64_t size, uint32_t events_wanted)
{
    st_result r = read_exact(&image->source, &image->header, sizeof image->header, 0);
    if (r != ST_OK)
        return r;
    r = st_header_validate(&image->header, size, image->source.session);
    if (r != ST_OK)
        return r;
    const st_table_header *h = &image->header;
    size_t process_bytes = (size_t)h->process_capacity * sizeof *image->processes;
    if (!reserve((void **)&image->processes, &image->process_bytes, process_bytes) ||
        !reserve((void **)&image->objects, &image->object_bytes, ST_IMAGE_OBJECT_CHUNK * sizeof *image->objects))
        return st_fail(ST_ENOMEM, "snapshot: out of memory");
    r = read_exact(&image->source, image->processes, process_bytes, h->process_offset);
    if (r == ST_OK)
        r = read_events(image, events_wanted);
    return r;
}

st_result st_table_image_read_fd(st_table_image *image, int fd, const char *session, uint32_t events_wanted)
{
    image->source = (st_image_source){ .fd = fd, .session = session };
    struct stat st;
    if (fstat(fd, &st) < 0)
        return st_fail(ST_ESYSTEM, "session '%s': cannot inspect the segment: %s", session, strerror(errno));
    return read_image(image, (uint64_t)st.st_size, events_wanted);
}

st_result st_table_image_read_buffer(st_table_image *image, const void *data, size_t size,
                                     const char *session, uint32_t events_wanted)
{
    image->source = (st_image_source){ .fd = -1, .data = data, .size = size, .session = session };
    return read_image(image, size, events_wanted);
}

st_result st_table_image_read_objects(st_table_image *image, uint32_t first, uint32_t count)
{
    if (count > ST_IMAGE_OBJECT_CHUNK || first > image->header.objects_used ||
        count > image->header.objects_used - first)
        return st_fail(ST_EINVAL, "st_table_image_read_objects: slots %u..%u are not in the table's %u",
                       first, first + count, image->header.objects_used);
    return read_exact(&image->source, image->objects, (size_t)count * sizeof *image->objects,
                      image->header.object_offset + (uint64_t)first * sizeof *image->objects);
}

void st_table_image_free(st_table_image *image)
{
    free(image->processes);
    free(image->objects);
    free(image->events);
    memset(image, 0, sizeof *image);
}
