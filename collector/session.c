/* session.c - session names, and the sessions that exist for this user:
 * resolving a name, listing /dev/shm/synctop-<uid>-*, removing one.
 *
 * Removing deletes the table and the data segments it records, nothing
 * else with its prefix; without force it refuses while a registered process
 * is alive, reading the process slots even of a table that fails
 * validation when it can locate them, and refusing when it cannot. */
#include "internal.h"
#include "object_types.h"
#include <synctop/leaks.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static bool valid_session_char(char c)
{
    /* No '.': it separates a session from its primitives' segments
     * (synctop-<uid>-<session>.<kind>.<...>). */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

st_result st_session_resolve(const char *explicit_name, char out[ST_SESSION_NAME_MAX + 1])
{
    const char *name = explicit_name;
    if (!name || !*name)
        name = getenv("SYNCTOP_SESSION");
    if (!name || !*name)
        name = ST_DEFAULT_SESSION;
    size_t len = strlen(name);
    if (len > ST_SESSION_NAME_MAX)
        return st_fail(ST_ENAMETOOLONG, "session name '%.20s...' is %zu bytes; the limit is %d",
                       name, len, ST_SESSION_NAME_MAX);
    for (size_t i = 0; i < len; i++)
        if (!valid_session_char(name[i]))
            return st_fail(ST_EINVAL, "session name '%s' may only contain letters, digits, '-' and '_'",
                           name);
    memcpy(out, name, len + 1);
    return ST_OK;
}

static void shm_prefix(char *out, size_t size)
{
    snprintf(out, size, "synctop-%u-", (unsigned)st_owner_uid());   /* see ownership.c */
}

st_result st_session_shm_name(const char *session, char *out, size_t out_size)
{
    char prefix[48];
    shm_prefix(prefix, sizeof prefix);
    int n = snprintf(out, out_size, "/%s%s", prefix, session);
    if (n < 0 || (size_t)n >= out_size)
        return st_fail(ST_ENAMETOOLONG, "shared-memory name for session '%s' does not fit", session);
    return ST_OK;
}

uint32_t st_table_count_live_processes(const st_table *table)
{
    uint32_t live = 0;
    for (uint32_t i = 0; i < table->process_capacity; i++) {
        const st_process_slot *slot = &table->processes[i];
        if (__atomic_load_n(&slot->status, __ATOMIC_ACQUIRE) != ST_SLOT_LIVE)
            continue;
        if (st_proc_is_alive(ST_LOAD(slot->pid), ST_LOAD(slot->start_ticks)))
            live++;
    }
    return live;
}

st_result st_session_list(st_session_info *out, size_t max, size_t *count)
{
    st_clear_detail();
    if (!count || (max > 0 && !out))
        return st_fail(ST_EINVAL, "st_session_list: NULL output");
    *count = 0;
    DIR *dir = opendir("/dev/shm");
    if (!dir)
        return st_fail(ST_ESYSTEM, "cannot read /dev/shm: %s", strerror(errno));
    char prefix[48];
    shm_prefix(prefix, sizeof prefix);
    size_t prefix_len = strlen(prefix);
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strncmp(entry->d_name, prefix, prefix_len) != 0)
            continue;
        const char *name = entry->d_name + prefix_len;
        if (strchr(name, '.'))
            continue;  /* a primitive's segment, not a session */
        if (*count < max) {
            st_session_info *info = &out[*count];
            memset(info, 0, sizeof *info);
            snprintf(info->name, sizeof info->name, "%s", name);
            st_table *table = NULL;
            info->status = st_table_attach_readonly(name, &table);
            info->valid = info->status == ST_OK;
            if (table) {
                info->size_bytes = table->size;
                info->live_processes = st_table_count_live_processes(table);
                info->objects = ST_LOAD(table->header->live_objects);
                st_table_close(table);
            } else {
                char path[300];
                struct stat st;
                snprintf(path, sizeof path, "/dev/shm/%s", entry->d_name);
                if (lstat(path, &st) == 0)
                    info->size_bytes = (uint64_t)st.st_size;
            }
        }
        (*count)++;
    }
    closedir(dir);
    st_clear_detail();
    return ST_OK;
}

/* Whether segment (a /dev/shm name, with or without its '/') is among the
 * count names in keep. */
static bool kept_segment(const char *segment, const st_leak *keep, size_t count)
{
    if (segment[0] == '/')
        segment++;
    for (size_t i = 0; i < count; i++) {
        const char *name = keep[i].segment[0] == '/' ? keep[i].segment + 1 : keep[i].segment;
        if (strcmp(segment, name) == 0)
            return true;
    }
    return false;
}

static st_result remove_session(const char *session_name, bool force, const st_leak *keep, size_t keep_count);

/* Unlink the data segments the table records (queue rings, arrays,
 * regions, ...): only those, and only when they are ours. A file that
 * merely shares the session's prefix was not made by this session; what a
 * dead session left unrecorded is for st_leaks_collect (synctop --gc). */
static void remove_recorded_segments(const st_table *table, const st_leak *keep, size_t keep_count)
{
    uint32_t used = ST_LOAD(table->header->objects_used);
    if (used > table->object_capacity)
        used = table->object_capacity;
    for (uint32_t i = 0; i < used; i++) {
        st_segment_names names;
        unsigned count = st_object_data_segments(table, i, names);
        for (unsigned n = 0; n < count; n++)
            if (!kept_segment(names[n], keep, keep_count) && st_shm_entry_is_ours(names[n], NULL))
                shm_unlink(names[n]);
    }
}

/* Whether a header that failed validation still places the process slots
 * where this build does (the fields that locate them agree), so that they
 * can be read: a header damaged elsewhere (magic, version, clock) must not
 * let a removal pull the table from under live processes. */
static bool process_slots_locatable(const st_table_header *h, uint64_t file_size)
{
    return h->process_slot_size == ST_PROCESS_SLOT_SIZE && h->process_offset == ST_HEADER_SIZE &&
           h->process_capacity > 0 && h->process_capacity <= ST_MAX_PROCESS_CAPACITY &&
           ST_HEADER_SIZE + (uint64_t)h->process_capacity * ST_PROCESS_SLOT_SIZE <= file_size;
}

static bool never_initialised(const st_table_header *h)
{
    return h->magic == 0 && h->process_capacity == 0 && h->process_offset == 0 && h->total_size == 0;
}

static uint32_t count_live_slots(const st_process_slot *slots, uint32_t capacity)
{
    uint32_t live = 0;
    for (uint32_t i = 0; i < capacity; i++)
        if (__atomic_load_n(&slots[i].status, __ATOMIC_ACQUIRE) == ST_SLOT_LIVE &&
            st_proc_is_alive(ST_LOAD(slots[i].pid), ST_LOAD(slots[i].start_ticks)))
            live++;
    return live;
}

/* The live processes registered in a table that failed validation (why:
 * its detail message), read where this build puts the process slots.
 * ST_ECORRUPT when they cannot be located: then nobody can tell. Read with
 * pread, not a mapping: whoever owns the file may truncate it meanwhile. */
static st_result live_processes_unvalidated(const char *session, const char *shm_name, const char *why,
                                            uint32_t *live)
{
    *live = 0;
    int fd = shm_open(shm_name, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return errno == ENOENT ? st_fail(ST_ENOENT, "no session '%s' exists", session)
                               : st_fail(ST_ESYSTEM, "opening session '%s': %s", session, strerror(errno));
    struct stat st;
    st_table_header header;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < ST_HEADER_SIZE ||
        pread(fd, &header, sizeof header, 0) != (ssize_t)sizeof header) {
        close(fd);
        return ST_OK;   /* no complete header: nobody ever attached, so nobody registered */
    }
    st_result r = ST_OK;
    if (process_slots_locatable(&header, (uint64_t)st.st_size)) {
        size_t bytes = (size_t)header.process_capacity * ST_PROCESS_SLOT_SIZE;
        st_process_slot *slots = malloc(bytes);
        if (!slots)
            r = st_fail(ST_ENOMEM, "out of memory reading session '%s'", session);
        else if (pread(fd, slots, bytes, ST_HEADER_SIZE) == (ssize_t)bytes)
            *live = count_live_slots(slots, header.process_capacity);
        else
            r = st_fail(ST_ECORRUPT, "session '%s': its process slots cannot be read (%s); check with: "
                        "fuser -v /dev/shm%s, then remove it with --force", session, why, shm_name);
        free(slots);
    } else if (!never_initialised(&header)) {
        r = st_fail(ST_ECORRUPT, "session '%s': its header is corrupt (%s), so synctop cannot tell whether "
                    "processes still use it; check with: fuser -v /dev/shm%s (or lsof), stop them, then "
                    "remove it with --force", session, why, shm_name);
    }
    close(fd);
    return r;
}

/* Without --force: refuse while a registered process is alive. table is
 * the session attached read-only, or NULL when that failed with
 * `attached` (whose detail message is still the thread's). */
static st_result check_unused(const char *session, const char *shm_name, const st_table *table, st_result attached)
{
    if (attached == ST_ENOENT)
        return attached;
    uint32_t live = 0;
    if (table) {
        live = st_table_count_live_processes(table);
    } else {
        char why[256];
        snprintf(why, sizeof why, "%s", st_error_detail());
        st_result r = live_processes_unvalidated(session, shm_name, why, &live);
        if (r != ST_OK)
            return r;
    }
    if (live > 0)
        return st_fail(ST_EBUSY, "session '%s' has %u live process%s attached; stop them first, "
                       "or remove it anyway with --force", session, live, live == 1 ? "" : "es");
    return ST_OK;
}

st_result st_session_remove(const char *session_name, bool force)
{
    return remove_session(session_name, force, NULL, 0);
}

#define ST_MAX_KEPT_LEAKS 256

st_result st_session_remove_keeping_leaks(const char *session_name, bool force, uint32_t *kept)
{
    if (kept)
        *kept = 0;
    st_leak *leaks = calloc(ST_MAX_KEPT_LEAKS, sizeof *leaks);
    if (!leaks)
        return st_fail(ST_ENOMEM, "out of memory");
    size_t found = 0;
    st_result r = st_leaks_scan(session_name, leaks, ST_MAX_KEPT_LEAKS, &found);
    size_t regions = 0;
    if (r == ST_OK) {
        for (size_t i = 0; i < found && i < ST_MAX_KEPT_LEAKS; i++)
            if (leaks[i].kind == ST_LEAK_REGION)
                leaks[regions++] = leaks[i];
    }
    r = remove_session(session_name, force, leaks, regions);
    if (r == ST_OK && kept)
        *kept = (uint32_t)regions;
    free(leaks);
    return r;
}

static st_result remove_session(const char *session_name, bool force, const st_leak *keep, size_t keep_count)
{
    st_clear_detail();
    char session[ST_SESSION_NAME_MAX + 1];
    st_result r = st_session_resolve(session_name, session);
    if (r != ST_OK)
        return r;
    char shm_name[ST_SESSION_NAME_MAX + 64];
    st_session_shm_name(session, shm_name, sizeof shm_name);
    /* Attached once (a copy of the whole table) for both the check and
     * the segments, which only a table we can trust records (ours, valid). */
    st_table *table = NULL;
    st_result attached = st_table_attach_readonly(session, &table);
    if (!force) {
        r = check_unused(session, shm_name, table, attached);
        if (r != ST_OK) {
            st_table_close(table);
            return r;
        }
    }
    if (table) {
        remove_recorded_segments(table, keep, keep_count);
        st_table_close(table);
    }
    if (shm_unlink(shm_name) < 0) {
        if (errno == ENOENT)
            return st_fail(ST_ENOENT, "no session '%s' exists", session);
        if (errno == EACCES || errno == EPERM)
            return st_fail(ST_EPERM, "removing session '%s': permission denied", session);
        return st_fail(ST_ESYSTEM, "removing session '%s': %s", session, strerror(errno));
    }
    st_clear_detail();
    return ST_OK;
}
