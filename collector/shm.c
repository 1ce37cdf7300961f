/* shm.c - named shared-memory regions (see shm.h).
 *
 * A region's bytes live in a data segment of their own; its object slot is
 * the region's record: size, creator (pid and start time, so a reused pid
 * is not mistaken for it), the processes attached right now, and whether it
 * was unlinked. That record is what lets the viewer and `synctop --gc` tell
 * a leak from a region in use without mapping any data.
 *
 *   slot body (640 B)
 *   +---------------------------------------------+
 *   | mutex (robust, pshared): guards all below   |
 *   | state: never created / live / unlinked      |
 *   | size | stamp (names the segment)            |     data segment
 *   | pending_stamp (a creation in progress) -----+--> /synctop-<uid>-<s>.shm.<slot>-<stamp>
 *   | creator pid | creator start ticks           |
 *   | attaches | untracked | collected            |
 *   | attached[24]: (pid, start ticks, handles)   |
 *   +---------------------------------------------+
 *
 * Invariants: state, stamp and the attached list change only under the
 * mutex. A live region's segment exists under the name its stamp gives,
 * except after `synctop --gc` or an outside shm_unlink; each creation takes
 * a new stamp, so a handle can tell its region from a later one of the same
 * name. A creator that dies between creating the segment and marking the
 * region live leaves pending_stamp set; the next locker removes that segment.
 *
 * Trade-offs: the attached list is small (24 processes); more attachers
 * still work but are counted as `untracked` only. Attach and detach take a
 * lock and read /proc for the caller's start time: they are rare compared
 * with using the bytes, which costs nothing here.
 */
#include "internal.h"
#include "object_types.h"
#include "shm_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <synctop/shm.h>

#define ST_SHM_HANDLE_MAGIC 0x53484d52u  /* "SHMR" */
#define SHM_MAX_ATTACHED 24

enum shm_state {
    SHM_NEVER_CREATED = 0,
    SHM_LIVE = 1,
    SHM_UNLINKED = 2,
};

typedef struct shm_attachment {
    int32_t pid;                /* 0: free entry */
    uint32_t handles;           /* handles this process holds */
    uint64_t start_ticks;
} shm_attachment;

typedef struct shm_body {
    pthread_mutex_t mutex;
    uint32_t state;             /* enum shm_state */
    int32_t creator_pid;
    uint64_t creator_start_ticks;
    uint64_t size;              /* bytes */
    uint64_t stamp;             /* the current region's segment stamp */
    uint64_t pending_stamp;     /* a creation in progress (see above) */
    uint64_t attaches;          /* create + attach calls, ever */
    uint64_t untracked;         /* attachments the list had no room for */
    uint32_t collected;         /* 1: removed by the leak collector */
    uint32_t reserved;
    shm_attachment attached[SHM_MAX_ATTACHED];
} shm_body;

_Static_assert(sizeof(shm_body) <= ST_OBJECT_BODY_SIZE, "shm body fits its slot");

struct st_shm {
    uint32_t magic;
    uint32_t index;
    st_table *table;
    shm_body *body;
    uint64_t stamp;             /* which region of this name we mapped */
    pid_t pid;                  /* who attached (a forked child is not it) */
    uint64_t start_ticks;
    bool tracked;               /* recorded in the attached list */
    st_segment segment;
};

static void shm_body_init(void *raw, const void *params)
{
    (void)params;
    shm_body *b = raw;
    st_robust_mutex_init(&b->mutex);
}

static bool shm_handle_valid(const st_shm *region)
{
    return region && region->magic == ST_SHM_HANDLE_MAGIC;
}

static shm_body *body_at(st_table *table, uint32_t index)
{
    return (shm_body *)table->objects[index].body.raw;
}

static const char *region_name(st_table *table, uint32_t index)
{
    return table->objects[index].header.name;
}

st_result st_shm_segment_name(const st_table *table, uint32_t index, uint64_t stamp, char out[ST_SEGMENT_NAME_MAX])
{
    return st_segment_name(table, "shm", index, stamp, out);
}

static uint64_t self_start_ticks(void)
{
    uint64_t ticks = 0;
    st_proc_start_ticks(st_self_pid, &ticks);
    return ticks;
}

/* ---- the region's lock ---- */

static st_result region_lock(st_table *table, uint32_t index)
{
    shm_body *b = body_at(table, index);
    int rc = pthread_mutex_lock(&b->mutex);
    if (rc == EOWNERDEAD) {
        pthread_mutex_consistent(&b->mutex);
        uint64_t pending = b->pending_stamp;
        if (pending) {
            /* Its creator died half-way: nobody knows that segment. */
            char name[ST_SEGMENT_NAME_MAX];
            if (st_shm_segment_name(table, index, pending, name) == ST_OK)
                shm_unlink(name);
            ST_STORE(b->pending_stamp, (uint64_t)0);
        }
        return ST_OK;
    }
    if (rc)
        return st_fail(ST_ESYSTEM, "region '%s': cannot lock its record: %s", region_name(table, index),
                       strerror(rc));
    return ST_OK;
}

static void region_unlock(st_table *table, uint32_t index)
{
    pthread_mutex_unlock(&body_at(table, index)->mutex);
}

/* Under the lock: record one more handle of (pid, ticks). false when the
 * list is full of live processes (the attachment is counted untracked). */
static bool record_attach(shm_body *b, pid_t pid, uint64_t ticks)
{
    int free_entry = -1;
    for (int i = 0; i < SHM_MAX_ATTACHED; i++) {
        shm_attachment *a = &b->attached[i];
        if (a->pid == pid && a->start_ticks == ticks) {
            ST_BUMP(a->handles, 1u);
            return true;
        }
        if (a->pid == 0 && free_entry < 0)
            free_entry = i;
    }
    for (int i = 0; i < SHM_MAX_ATTACHED && free_entry < 0; i++)
        if (!st_proc_is_alive(b->attached[i].pid, b->attached[i].start_ticks))
            free_entry = i;   /* a process that died attached */
    if (free_entry < 0) {
        ST_BUMP(b->untracked, 1u);
        return false;
    }
    shm_attachment *a = &b->attached[free_entry];
    ST_STORE(a->pid, (int32_t)0);
    ST_STORE(a->start_ticks, ticks);
    ST_STORE(a->handles, 1u);
    ST_STORE(a->pid, (int32_t)pid);
    return true;
}

static void record_detach(shm_body *b, pid_t pid, uint64_t ticks)
{
    for (int i = 0; i < SHM_MAX_ATTACHED; i++) {
        shm_attachment *a = &b->attached[i];
        if (a->pid == pid && a->start_ticks == ticks) {
            if (a->handles > 1)
                ST_STORE(a->handles, a->handles - 1);
            else
                ST_STORE(a->pid, (int32_t)0);
            return;
        }
    }
}

static uint32_t count_live_attached(const shm_body *b)
{
    uint32_t live = 0;
    for (int i = 0; i < SHM_MAX_ATTACHED; i++)
        if (b->attached[i].pid > 0 && st_proc_is_alive(b->attached[i].pid, b->attached[i].start_ticks))
            live++;
    return live;
}

/* ---- finding a region without creating one ---- */

static st_result check_table_and_name(st_table *table, const char *name, const char *call)
{
    if (!table)
        return st_fail(ST_EINVAL, "%s: table is NULL", call);
    if (table->readonly)
        return st_fail(ST_EPERM, "%s: the table of session '%s' was attached read-only", call, table->session);
    if (!name)
        return st_fail(ST_EINVAL, "%s: name is NULL", call);
    if (!*name)
        return st_fail(ST_EINVAL, "%s: name is empty", call);
    if (strnlen(name, ST_OBJECT_NAME_MAX + 1) > ST_OBJECT_NAME_MAX)
        return st_fail(ST_ENAMETOOLONG, "%s: name '%.20s...' is longer than %d bytes", call, name,
                       ST_OBJECT_NAME_MAX);
    return ST_OK;
}

/* The region slot called name. A linear scan under the registry lock: the
 * registry's name index is private to it, and attaching is rare. */
static st_result find_region(st_table *table, const char *name, uint32_t *index)
{
    st_self_slot(table);
    st_result r = st_registry_lock(table);
    if (r != ST_OK)
        return r;
    uint32_t used = table->header->objects_used;
    if (used > table->object_capacity)
        used = table->object_capacity;
    for (uint32_t i = 0; i < used; i++) {
        const st_object_slot *slot = &table->objects[i];
        if (slot->header.status != ST_SLOT_LIVE || strncmp(slot->header.name, name, sizeof slot->header.name) != 0)
            continue;
        uint32_t type = slot->header.type;
        st_registry_unlock(table);
        if (type != ST_TYPE_SHM)
            return st_fail(ST_EWRONGTYPE, "'%s' in session '%s' is not a shared-memory region", name,
                           table->session);
        *index = i;
        return ST_OK;
    }
    st_registry_unlock(table);
    return st_fail(ST_ENOENT, "no shared-memory region '%s' in session '%s'", name, table->session);
}

/* ---- the calls ---- */

static st_result new_handle(st_table *table, uint32_t index, uint64_t stamp, bool tracked, uint64_t ticks,
                            const st_segment *segment, st_shm **out)
{
    st_shm *region = calloc(1, sizeof *region);
    if (!region)
        return st_fail(ST_ENOMEM, "out of memory for a region handle");
    region->magic = ST_SHM_HANDLE_MAGIC;
    region->index = index;
    region->table = table;
    region->body = body_at(table, index);
    region->stamp = stamp;
    region->pid = st_self_pid;
    region->start_ticks = ticks;
    region->tracked = tracked;
    region->segment = *segment;
    *out = region;
    return ST_OK;
}

st_result st_shm_create(st_table *table, const char *name, size_t size, st_shm **out)
{
    if (!out)
        return st_fail(ST_EINVAL, "st_shm_create: out is NULL");
    *out = NULL;
    if (size == 0)
        return st_fail(ST_EINVAL, "st_shm_create: size 0 (a region has at least one byte)");
    uint32_t index;
    st_result r = st_object_open(table, ST_TYPE_SHM, name, shm_body_init, NULL, &index);
    if (r != ST_OK)
        return r;
    shm_body *b = body_at(table, index);
    r = region_lock(table, index);
    if (r != ST_OK)
        return r;
    if (b->state == SHM_LIVE) {
        int32_t creator = b->creator_pid;
        region_unlock(table, index);
        return st_fail(ST_EBUSY, "region '%s' already exists in session '%s' (created by pid %d); attach to it, "
                       "or unlink it first", name, table->session, (int)creator);
    }
    uint64_t stamp = st_realtime_ns();
    if (stamp <= b->stamp)
        stamp = b->stamp + 1;
    char segment_name[ST_SEGMENT_NAME_MAX];
    st_segment segment;
    r = st_shm_segment_name(table, index, stamp, segment_name);
    if (r == ST_OK) {
        ST_STORE(b->pending_stamp, stamp);
        r = st_segment_create(segment_name, size, &segment);
        if (r != ST_OK)
            ST_STORE(b->pending_stamp, (uint64_t)0);
    }
    if (r != ST_OK) {
        region_unlock(table, index);
        return r;
    }
    uint64_t ticks = self_start_ticks();
    for (int i = 0; i < SHM_MAX_ATTACHED; i++)
        ST_STORE(b->attached[i].pid, (int32_t)0);   /* the previous region's attachers are not this one's */
    ST_STORE(b->untracked, (uint64_t)0);
    ST_STORE(b->collected, 0u);
    ST_STORE(b->size, (uint64_t)size);
    ST_STORE(b->stamp, stamp);
    ST_STORE(b->creator_pid, (int32_t)st_self_pid);
    ST_STORE(b->creator_start_ticks, ticks);
    ST_BUMP(b->attaches, 1u);
    bool tracked = record_attach(b, st_self_pid, ticks);
    ST_STORE(b->state, (uint32_t)SHM_LIVE);
    ST_STORE(b->pending_stamp, (uint64_t)0);
    region_unlock(table, index);
    r = new_handle(table, index, stamp, tracked, ticks, &segment, out);
    if (r != ST_OK)
        st_segment_close(&segment);
    return r;
}

st_result st_shm_attach(st_table *table, const char *name, st_shm **out)
{
    if (!out)
        return st_fail(ST_EINVAL, "st_shm_attach: out is NULL");
    *out = NULL;
    st_result r = check_table_and_name(table, name, "st_shm_attach");
    uint32_t index;
    if (r == ST_OK)
        r = find_region(table, name, &index);
    if (r != ST_OK)
        return r;
    shm_body *b = body_at(table, index);
    r = region_lock(table, index);
    if (r != ST_OK)
        return r;
    if (b->state != SHM_LIVE) {
        bool unlinked = b->state == SHM_UNLINKED;
        region_unlock(table, index);
        return st_fail(ST_ENOENT, "region '%s' in session '%s' %s", name, table->session,
                       unlinked ? "was unlinked" : "was never created (its creation failed)");
    }
    uint64_t stamp = b->stamp;
    char segment_name[ST_SEGMENT_NAME_MAX];
    st_segment segment;
    r = st_shm_segment_name(table, index, stamp, segment_name);
    if (r == ST_OK)
        r = st_segment_attach(segment_name, (size_t)b->size, false, &segment);
    if (r != ST_OK) {
        region_unlock(table, index);
        return r;
    }
    uint64_t ticks = self_start_ticks();
    ST_BUMP(b->attaches, 1u);
    bool tracked = record_attach(b, st_self_pid, ticks);
    region_unlock(table, index);
    r = new_handle(table, index, stamp, tracked, ticks, &segment, out);
    if (r != ST_OK)
        st_segment_close(&segment);
    return r;
}

void *st_shm_data(const st_shm *region)
{
    return shm_handle_valid(region) ? region->segment.base : NULL;
}

size_t st_shm_size(const st_shm *region)
{
    return shm_handle_valid(region) ? region->segment.size : 0;
}

void st_shm_close(st_shm *region)
{
    if (!shm_handle_valid(region))
        return;
    st_segment_close(&region->segment);
    /* A child that inherited the handle through fork() never attached. */
    if (region->tracked && region->pid == st_self_pid &&
        region_lock(region->table, region->index) == ST_OK) {
        if (region->body->stamp == region->stamp)
            record_detach(region->body, region->pid, region->start_ticks);
        region_unlock(region->table, region->index);
    }
    region->magic = 0;
    free(region);
}

/* Under the lock: unlink the live region of stamp. */
static st_result unlink_locked(st_table *table, uint32_t index, uint64_t stamp)
{
    shm_body *b = body_at(table, index);
    if (b->state != SHM_LIVE || b->stamp != stamp)
        return st_fail(ST_ENOENT, "region '%s' in session '%s' was already unlinked", region_name(table, index),
                       table->session);
    char segment_name[ST_SEGMENT_NAME_MAX];
    st_result r = st_shm_segment_name(table, index, stamp, segment_name);
    if (r != ST_OK)
        return r;
    if (shm_unlink(segment_name) < 0 && errno != ENOENT)
        return st_fail(errno == EACCES || errno == EPERM ? ST_EPERM : ST_ESYSTEM, "unlinking region '%s': %s",
                       region_name(table, index), strerror(errno));
    ST_STORE(b->state, (uint32_t)SHM_UNLINKED);
    return ST_OK;
}

st_result st_shm_unlink(st_shm *region)
{
    if (!shm_handle_valid(region))
        return st_fail(ST_EINVAL, "st_shm_unlink: invalid region handle");
    st_result r = region_lock(region->table, region->index);
    if (r != ST_OK)
        return r;
    r = unlink_locked(region->table, region->index, region->stamp);
    region_unlock(region->table, region->index);
    return r;
}

st_result st_shm_unlink_name(st_table *table, const char *name)
{
    st_result r = check_table_and_name(table, name, "st_shm_unlink_name");
    uint32_t index;
    if (r == ST_OK)
        r = find_region(table, name, &index);
    if (r != ST_OK)
        return r;
    r = region_lock(table, index);
    if (r != ST_OK)
        return r;
    shm_body *b = body_at(table, index);
    if (b->state != SHM_LIVE)
        r = st_fail(ST_ENOENT, "region '%s' in session '%s' %s", name, table->session,
                    b->state == SHM_UNLINKED ? "was already unlinked" : "was never created");
    else
        r = unlink_locked(table, index, b->stamp);
    region_unlock(table, index);
    return r;
}

/* ---- for the leak collector ---- */

bool st_shm_status_of(const st_table *table, uint32_t index, st_shm_status *status)
{
    if (index >= table->object_capacity)
        return false;
    st_object_slot slot;
    memcpy(&slot, &table->objects[index], sizeof slot);
    if (slot.header.status != ST_SLOT_LIVE || slot.header.type != ST_TYPE_SHM)
        return false;
    const shm_body *b = (const shm_body *)slot.body.raw;
    memset(status, 0, sizeof *status);
    status->live = b->state == SHM_LIVE;
    status->size = b->size;
    status->stamp = b->stamp;
    status->creator_pid = b->creator_pid;
    status->creator_alive = st_proc_is_alive(b->creator_pid, b->creator_start_ticks);
    status->live_attached = count_live_attached(b);
    return true;
}

st_result st_shm_collect(st_table *table, uint32_t index, uint64_t stamp)
{
    if (index >= table->object_capacity || table->objects[index].header.type != ST_TYPE_SHM)
        return st_fail(ST_ENOENT, "slot %u is not a region", index);
    st_result r = region_lock(table, index);
    if (r != ST_OK)
        return r;
    shm_body *b = body_at(table, index);
    if (b->state != SHM_LIVE || b->stamp != stamp) {
        r = st_fail(ST_ENOENT, "region '%s' changed since it was found leaked", region_name(table, index));
    } else if (st_proc_is_alive(b->creator_pid, b->creator_start_ticks) || count_live_attached(b) > 0) {
        r = st_fail(ST_EBUSY, "region '%s' is in use", region_name(table, index));
    } else {
        r = unlink_locked(table, index, stamp);
        if (r == ST_OK)
            ST_STORE(b->collected, 1u);
    }
    region_unlock(table, index);
    return r;
}

/* ---- the viewer's side ---- */

unsigned st_shm_data_segments(const st_table *table, uint32_t index, const void *raw, st_segment_names names)
{
    const shm_body *body = raw;
    unsigned count = 0;
    if (body->stamp != 0 && st_shm_segment_name(table, index, body->stamp, names[count]) == ST_OK)
        count++;
    if (body->pending_stamp != 0 && st_shm_segment_name(table, index, body->pending_stamp, names[count]) == ST_OK)
        count++;
    return count;
}

void st_shm_describe(const void *raw, const st_clock_calibration *clock, st_object_view *view)
{
    (void)clock;
    const shm_body *b = raw;
    bool live = b->state == SHM_LIVE;
    bool creator_dead = b->creator_pid > 0 && !st_proc_is_alive(b->creator_pid, b->creator_start_ticks);
    st_field_u64(view, "size_bytes", b->size, ST_FIELD_BYTES);
    st_field_pid(view, "creator", b->creator_pid);
    st_field_u64(view, "attached", count_live_attached(b), 0);
    st_field_u64(view, "unlinked", b->state == SHM_UNLINKED, 0);
    st_field_u64(view, "leaked", live && creator_dead, 0);
    st_field_u64(view, "collected", b->collected != 0, 0);
    st_field_u64(view, "attaches", b->attaches, ST_FIELD_COUNTER);
    st_field_u64(view, "untracked", b->untracked, 0);
}
