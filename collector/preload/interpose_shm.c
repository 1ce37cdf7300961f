/* interpose_shm.c - POSIX shared memory (shm_open, shm_unlink), as the
 * program calls them: Python's multiprocessing.shared_memory.SharedMemory
 * (through _posixshmem) and C programs alike.
 *
 * Each segment a watched program opens becomes a foreign object of JSON
 * type "shm" (foreign_shm.h), named after the segment and, in Python,
 * after the user's line: "/psm_1a2b3c buf (app.py:12)". Its creator is
 * recorded only when we know this call created the file: O_CREAT|O_EXCL
 * succeeded, or, for O_CREAT alone, a first try with O_EXCL did (it
 * creates exactly the file the program's call would have; on any failure
 * the program's own call is made, unchanged, and answers). A segment whose
 * creator is unknown is shown but never called leaked, so `synctop --gc`
 * never removes what a program of ours did not make.
 *
 * Segments of synctop itself ("/synctop-...") are never watched, and
 * neither is anything while our own code runs (tls.guard). Both calls are
 * rare: the bookkeeping (a scan of the object slots under the registry
 * lock, /proc for the start time) happens after the real call, keeping its
 * result and errno. shm_unlink only marks a record (read without the lock)
 * and never makes or joins a session (table_for_unlink).
 */
#include "preload/preload.h"
#include "preload/foreign_shm.h"
#include "preload/python_site.h"
#include "proc_identity.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

/* "/name" for a shm_open name (glibc ignores leading slashes); false when
 * it is synctop's own or too long to record. */
static bool segment_name(const char *name, char out[ST_FOREIGN_SHM_NAME_MAX])
{
    while (*name == '/')
        name++;
    if (strncmp(name, "synctop-", 8) == 0)
        return false;
    int len = snprintf(out, ST_FOREIGN_SHM_NAME_MAX, "/%s", name);
    return len > 1 && len < ST_FOREIGN_SHM_NAME_MAX;
}

static st_foreign_shm_body *shm_body_at(st_table *table, uint32_t index)
{
    return (st_foreign_shm_body *)(void *)table->objects[index].body.raw;
}

/* The slot recording segment as live, or UINT32_MAX; read the way the
 * viewer reads, without the registry lock (whose holder must have a
 * process slot: an unlinking process need not join the session). */
static uint32_t find_live_unlocked(st_table *table, const char *segment)
{
    uint32_t used = ST_LOAD(table->header->objects_used);
    if (used > table->object_capacity)
        used = table->object_capacity;
    for (uint32_t i = 0; i < used; i++) {
        const st_object_slot *slot = &table->objects[i];
        const st_foreign_shm_body *b = shm_body_at(table, i);
        if (__atomic_load_n(&slot->header.status, __ATOMIC_ACQUIRE) == ST_SLOT_LIVE &&
            slot->header.type == ST_TYPE_FOREIGN_SHM && ST_LOAD(b->state) == ST_FOREIGN_SHM_LIVE &&
            strncmp(b->segment, segment, ST_FOREIGN_SHM_NAME_MAX) == 0)
            return i;
    }
    return UINT32_MAX;
}

/* The same under the registry lock (an opener, registered: two openers
 * racing on an unrecorded segment find each other's record). */
static uint32_t find_live(st_table *table, const char *segment)
{
    if (st_registry_lock(table) != ST_OK)
        return UINT32_MAX;
    uint32_t found = find_live_unlocked(table, segment);
    st_registry_unlock(table);
    return found;
}

/* The session's table for an unlink: the one this process has open, else
 * only if the session exists (Python's resource tracker unlinks leftovers
 * after the program ended and synctop run removed the session: it must
 * not make a new one). */
static st_table *table_for_unlink(void)
{
    if (watched_table)
        return watched_table;
    char session[ST_SESSION_NAME_MAX + 1], name[ST_SESSION_NAME_MAX + 64], path[ST_SESSION_NAME_MAX + 80];
    if (st_session_resolve(NULL, session) != ST_OK || st_session_shm_name(session, name, sizeof name) != ST_OK)
        return NULL;
    snprintf(path, sizeof path, "/dev/shm%s", name);
    struct stat st;
    if (lstat(path, &st) != 0)
        return NULL;
    return watch_table();
}

/* Count one more shm_open of this process. */
static void note_opener(st_foreign_shm_body *b, uint64_t ticks)
{
    int32_t pid = (int32_t)st_self_pid;
    ST_ATOMIC_ADD(b->opens, 1u);
    for (int i = 0; i < ST_FOREIGN_SHM_ATTACHED; i++) {
        st_foreign_shm_opener *o = &b->attached[i];
        if (ST_LOAD(o->pid) == pid && ST_LOAD(o->start_ticks) == ticks) {
            ST_ATOMIC_ADD(o->opens, 1u);
            return;
        }
    }
    for (int i = 0; i < ST_FOREIGN_SHM_ATTACHED; i++) {
        st_foreign_shm_opener *o = &b->attached[i];
        int32_t old = ST_LOAD(o->pid);
        if (old != 0 && st_proc_is_alive(old, ST_LOAD(o->start_ticks)))
            continue;
        if (__atomic_compare_exchange_n(&o->pid, &old, pid, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            ST_STORE(o->start_ticks, ticks);
            ST_STORE(o->opens, 1u);
            return;
        }
    }
    ST_ATOMIC_ADD(b->untracked, 1u);
}

/* "<segment> <variable> (<file>:<line>)" in Python, "<segment>" elsewhere;
 * cut to the slot's name size (the reader drops a character cut short). */
static void object_name(const char *segment, const void *caller, char *out, size_t size)
{
    char variable[32] = "", file[32] = "", full[256];
    int line = 0;
    if (python_shm_caller_site(caller, variable, sizeof variable, file, sizeof file, &line)) {
        if (variable[0])
            snprintf(full, sizeof full, "%s %s (%s:%d)", segment, variable, file, line);
        else
            snprintf(full, sizeof full, "%s (%s:%d)", segment, file, line);
    } else {
        snprintf(full, sizeof full, "%s", segment);
    }
    size_t len = strnlen(full, size - 1);
    memcpy(out, full, len);
    out[len] = '\0';
}

/* A new record for segment (created here when creator, else opened). */
static uint32_t record_segment(st_table *table, const char *segment, const void *caller, bool creator, uint64_t size,
                               uint64_t ticks)
{
    char name[ST_OBJECT_NAME_MAX + 1];
    object_name(segment, caller, name, sizeof name);
    uint32_t index;
    if (st_object_open(table, ST_TYPE_FOREIGN_SHM, name, NULL, NULL, &index) != ST_OK)
        return UINT32_MAX;   /* the table is full, or the name is taken by another type */
    st_foreign_shm_body *b = shm_body_at(table, index);
    /* A record of the same name is reused: an earlier segment of that name,
     * never a live one of another (two long names cut to the same). */
    if (ST_LOAD(b->state) == ST_FOREIGN_SHM_LIVE && strncmp(b->segment, segment, sizeof b->segment) != 0)
        return UINT32_MAX;
    ST_STORE(b->state, 0u);
    for (int i = 0; i < ST_FOREIGN_SHM_ATTACHED; i++)
        ST_STORE(b->attached[i].pid, 0);
    memset(b->segment, 0, sizeof b->segment);
    memcpy(b->segment, segment, strlen(segment));
    ST_STORE(b->size, size);
    ST_STORE(b->untracked, (uint64_t)0);
    ST_STORE(b->collected, 0u);
    ST_STORE(b->creator_start_ticks, creator ? ticks : 0);
    ST_STORE(b->creator_pid, creator ? (int32_t)st_self_pid : 0);
    __atomic_store_n(&b->state, (uint32_t)ST_FOREIGN_SHM_LIVE, __ATOMIC_RELEASE);
    return index;
}

static void watch_shm_opened(int fd, const char *segment, const void *caller, bool created)
{
    st_table *table = watch_table();
    if (!table)
        return;
    watch_register_if_new(table);
    struct stat st;
    uint64_t size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    uint64_t ticks = 0;
    st_proc_start_ticks(st_self_pid, &ticks);
    uint32_t index = find_live(table, segment);
    if (created && index != UINT32_MAX) {
        /* The file we just created replaces one removed behind our back. */
        ST_STORE(shm_body_at(table, index)->state, (uint32_t)ST_FOREIGN_SHM_UNLINKED);
        index = UINT32_MAX;
    }
    if (index == UINT32_MAX)
        index = record_segment(table, segment, caller, created, size, ticks);
    if (index != UINT32_MAX)
        note_opener(shm_body_at(table, index), ticks);
}

static void watch_shm_unlinked(const char *segment, uint64_t size)
{
    st_table *table = table_for_unlink();
    if (!table)
        return;
    uint32_t index = find_live_unlocked(table, segment);
    if (index == UINT32_MAX)
        return;
    st_foreign_shm_body *b = shm_body_at(table, index);
    ST_STORE(b->size, size);   /* the viewer reads the file's size while there is one */
    ST_STORE(b->state, (uint32_t)ST_FOREIGN_SHM_UNLINKED);
}

/* The size of /dev/shm's file for segment (0 if none), for the record. */
static uint64_t segment_size(const char *segment)
{
    char path[ST_FOREIGN_SHM_NAME_MAX + 16];
    snprintf(path, sizeof path, "/dev/shm%s", segment);
    struct stat st;
    return lstat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

INTERPOSED int shm_open(const char *name, int oflag, mode_t mode)
{
    char segment[ST_FOREIGN_SHM_NAME_MAX];
    if (tls.guard || !name || !segment_name(name, segment))
        return real.shm_open(name, oflag, mode);
    bool created = false;
    int fd = -1;
    int entry_errno = errno;
    if ((oflag & (O_CREAT | O_EXCL)) == O_CREAT) {
        fd = real.shm_open(name, oflag | O_EXCL, mode);
        created = fd >= 0;
        errno = entry_errno;
    }
    if (fd < 0) {
        fd = real.shm_open(name, oflag, mode);
        created = fd >= 0 && (oflag & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
    }
    if (fd < 0)
        return fd;
    int saved_errno = errno;
    tls.guard++;
    watch_shm_opened(fd, segment, __builtin_return_address(0), created);
    tls.guard--;
    errno = saved_errno;
    return fd;
}

INTERPOSED int shm_unlink(const char *name)
{
    char segment[ST_FOREIGN_SHM_NAME_MAX];
    if (tls.guard || !name || !segment_name(name, segment))
        return real.shm_unlink(name);
    int entry_errno = errno;
    uint64_t size = segment_size(segment);
    errno = entry_errno;
    int rc = real.shm_unlink(name);
    if (rc != 0)
        return rc;
    int saved_errno = errno;
    tls.guard++;
    watch_shm_unlinked(segment, size);
    tls.guard--;
    errno = saved_errno;
    return rc;
}
