/* object_segment.c - mapping (or first creating) an object's data segment
 * (see object_segment.h). */
#include "object_segment.h"

st_result st_object_segment_open(st_table *table, uint32_t index, const char *kind, uint64_t *stamp, size_t size,
                                 st_segment *out, bool *created)
{
    *created = false;
    char name[ST_SEGMENT_NAME_MAX];
    uint64_t published = __atomic_load_n(stamp, __ATOMIC_ACQUIRE);
    if (published != 0) {
        st_result r = st_segment_name(table, kind, index, published, name);
        return r == ST_OK ? st_segment_attach(name, size, false, out) : r;
    }
    /* The slot's creation time names the segment: unique for this slot. */
    uint64_t fresh = table->objects[index].header.created_ns;
    if (fresh == 0)
        fresh = 1;
    st_result r = st_segment_name(table, kind, index, fresh, name);
    if (r != ST_OK)
        return r;
    r = st_segment_create(name, size, out);
    if (r == ST_EBUSY) {
        /* A creator died after creating the segment but before publishing
         * the stamp (we hold the lock it held): its segment is ours to redo,
         * if it is ours at all (anyone can create a file under that name). */
        if (!st_shm_entry_is_ours(name, NULL))
            return st_fail(ST_EUNSAFE, "segment %s already exists and is not ours (another uid owns it, or "
                           "others may open it); remove it as its owner or root, or use another session", name);
        st_segment_unlink(name);
        r = st_segment_create(name, size, out);
    }
    if (r != ST_OK)
        return r;
    __atomic_store_n(stamp, fresh, __ATOMIC_RELEASE);
    *created = true;
    return ST_OK;
}
