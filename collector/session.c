/* session.c - session names, and the sessions that exist for this user:
 * resolving a name, listing /dev/shm/synctop-<uid>-*, removing one. */
#include "internal.h"
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
    snprintf(out, size, "synctop-%u-", (unsigned)getuid());
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
                if (stat(path, &st) == 0)
                    info->size_bytes = (uint64_t)st.st_size;
            }
        }
        (*count)++;
    }
    closedir(dir);
    st_clear_detail();
    return ST_OK;
}

/* Unlink the session's data segments (queue rings, arrays, ...): every
 * /dev/shm entry named "<table name>.<...>". */
/* Whether segment (a /dev/shm entry name) is among the count names in keep. */
static bool kept_segment(const char *segment, const st_leak *keep, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const char *name = keep[i].segment[0] == '/' ? keep[i].segment + 1 : keep[i].segment;
        if (strcmp(segment, name) == 0)
            return true;
    }
    return false;
}

static st_result remove_session(const char *session_name, bool force, const st_leak *keep, size_t keep_count);

static void remove_session_segments(const char *shm_name, const st_leak *keep, size_t keep_count)
{
    const char *table_name = shm_name[0] == '/' ? shm_name + 1 : shm_name;
    size_t len = strlen(table_name);
    DIR *dir = opendir("/dev/shm");
    if (!dir)
        return;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strncmp(entry->d_name, table_name, len) != 0 || entry->d_name[len] != '.')
            continue;
        if (kept_segment(entry->d_name, keep, keep_count))
            continue;
        char segment[300];
        snprintf(segment, sizeof segment, "/%s", entry->d_name);
        shm_unlink(segment);
    }
    closedir(dir);
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
    if (!force) {
        st_table *table = NULL;
        r = st_table_attach_readonly(session, &table);
        if (r == ST_ENOENT)
            return r;
        if (table) {
            uint32_t live = st_table_count_live_processes(table);
            st_table_close(table);
            if (live > 0)
                return st_fail(ST_EBUSY, "session '%s' has %u live process%s attached; stop them first, "
                               "or remove it anyway with --force", session, live, live == 1 ? "" : "es");
        }
        /* A table that fails validation has no process we could know of. */
    }
    remove_session_segments(shm_name, keep, keep_count);
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
