/* foreign_shm.c - the viewer's and the leak collector's side of the
 * shared-memory segments of unmodified programs (foreign_shm.h): their
 * fields (those of a native region, shm.c), whether one is leaked, and
 * removing it when `synctop --gc` may.
 *
 * A foreign segment's name ("/psm_1a2b3c") is not synctop's naming
 * pattern, so nothing about the name makes it ours: the collector removes
 * one only on the record of this table (a watched process of ours created
 * it, that creator is dead and nobody unlinked it, no opener is alive) and
 * on /dev/shm's entry (a regular file owned by us with mode 0600, not
 * followed through a symbolic link: the mode Python and most programs
 * create segments with). The leak scan (leaks.c) also checks that no live
 * process maps it.
 *
 * This file is part of libsynctop itself (the viewer needs it); the
 * interposition library that fills the bodies lives beside it.
 */
#include "internal.h"
#include "object_types.h"
#include "proc_identity.h"
#include "preload/foreign_shm.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

uint32_t st_foreign_shm_live_attached(const st_foreign_shm_body *body)
{
    uint32_t live = 0;
    for (int i = 0; i < ST_FOREIGN_SHM_ATTACHED; i++) {
        int32_t pid = ST_LOAD(body->attached[i].pid);
        if (pid > 0 && st_proc_is_alive(pid, ST_LOAD(body->attached[i].start_ticks)))
            live++;
    }
    return live;
}

/* The segment's name from a copy of the body, NUL-terminated; false when
 * the body holds none. */
static bool segment_of(const st_foreign_shm_body *body, char out[ST_FOREIGN_SHM_NAME_MAX])
{
    size_t len = strnlen(body->segment, ST_FOREIGN_SHM_NAME_MAX - 1);
    memcpy(out, body->segment, len);
    out[len] = '\0';
    return len > 1 && out[0] == '/';
}

/* Whether /dev/shm holds the segment as a regular file of ours (its size in
 * *size when so). */
static bool file_is_ours(const char *segment, uint64_t *size)
{
    struct stat st;
    if (!st_shm_entry_is_ours(segment, &st))
        return false;
    if (size)
        *size = (uint64_t)st.st_size;
    return true;
}

static bool creator_dead(const st_foreign_shm_body *body)
{
    return body->creator_pid > 0 && !st_proc_is_alive(body->creator_pid, body->creator_start_ticks);
}

void st_foreign_shm_describe(const void *raw, const st_clock_calibration *clock, st_object_view *view)
{
    (void)clock;
    const st_foreign_shm_body *b = raw;
    char segment[ST_FOREIGN_SHM_NAME_MAX];
    bool live = b->state == ST_FOREIGN_SHM_LIVE;
    uint64_t size = b->size;
    bool present = live && segment_of(b, segment) && file_is_ours(segment, &size);
    st_field_u64(view, "size_bytes", size, ST_FIELD_BYTES);
    st_field_pid(view, "creator", b->creator_pid);
    st_field_u64(view, "attached", st_foreign_shm_live_attached(b), 0);
    st_field_u64(view, "unlinked", b->state == ST_FOREIGN_SHM_UNLINKED, 0);
    st_field_u64(view, "leaked", present && creator_dead(b), 0);
    st_field_u64(view, "collected", b->collected != 0, 0);
    st_field_u64(view, "attaches", b->opens, ST_FIELD_COUNTER);
    st_field_u64(view, "untracked", b->untracked, 0);
    st_field_text(view, "origin", "shm_open", 40);
}

bool st_foreign_shm_status_of(const st_table *table, uint32_t index, st_foreign_shm_status *status)
{
    if (index >= table->object_capacity)
        return false;
    st_object_slot slot;
    memcpy(&slot, &table->objects[index], sizeof slot);
    if (slot.header.status != ST_SLOT_LIVE || slot.header.type != ST_TYPE_FOREIGN_SHM)
        return false;
    const st_foreign_shm_body *b = (const st_foreign_shm_body *)slot.body.raw;
    memset(status, 0, sizeof *status);
    if (!segment_of(b, status->segment))
        return false;
    status->live = b->state == ST_FOREIGN_SHM_LIVE;
    status->creator_pid = b->creator_pid;
    status->creator_alive = b->creator_pid > 0 && !creator_dead(b);
    status->live_attached = st_foreign_shm_live_attached(b);
    status->size = b->size;
    file_is_ours(status->segment, &status->size);
    return true;
}

st_result st_foreign_shm_collect(st_table *table, uint32_t index, const char *segment)
{
    st_foreign_shm_status status;
    if (!st_foreign_shm_status_of(table, index, &status) || strcmp(status.segment, segment) != 0 || !status.live)
        return st_fail(ST_ENOENT, "segment %s changed since it was found leaked", segment);
    if (status.creator_pid <= 0 || status.creator_alive || status.live_attached > 0)
        return st_fail(ST_EBUSY, "segment %s is in use", segment);
    if (!file_is_ours(segment, NULL))
        return st_fail(ST_EUNSAFE, "segment %s is not a regular file of ours with mode 0600: left alone", segment);
    st_foreign_shm_body *b = (st_foreign_shm_body *)table->objects[index].body.raw;
    uint32_t live = ST_FOREIGN_SHM_LIVE;
    if (!__atomic_compare_exchange_n(&b->state, &live, (uint32_t)ST_FOREIGN_SHM_UNLINKED, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return st_fail(ST_ENOENT, "segment %s was unlinked since it was found leaked", segment);
    ST_STORE(b->size, status.size);   /* the file's, kept once it is gone */
    if (shm_unlink(segment) < 0 && errno != ENOENT) {
        int err = errno;
        ST_STORE(b->state, (uint32_t)ST_FOREIGN_SHM_LIVE);
        return st_fail(err == EACCES || err == EPERM ? ST_EPERM : ST_ESYSTEM, "unlinking segment %s: %s", segment,
                       strerror(err));
    }
    ST_STORE(b->collected, 1u);
    return ST_OK;
}
