/* leaks.c - finding and collecting leaked shared memory (see leaks.h).
 *
 * Two sources of evidence, both read-only until something is removed:
 *
 * - the status tables: every region slot records its creator (pid and start
 *   time) and its attached processes, so "creator dead, never unlinked" is
 *   read from the slot (shm.c's st_shm_status_of);
 * - /dev/shm and /proc: a data segment is named after its session and
 *   object slot (segment.h), so a segment whose session table is gone, or
 *   (in a session with no live process) whose object slot no longer records
 *   it, belongs to nobody; and /proc/PID/maps tells whether any live
 *   process still maps a segment, whatever the tables say (a child that
 *   inherited a mapping through fork() is in no table). A segment a table
 *   still records is data, not garbage, even when nobody runs: a queue's
 *   messages wait in it for the next get.
 *
 * Only what is provably synctop's is ever a candidate: a name exactly of
 * st_segment_name's form, a regular file (never a directory, never through
 * a symbolic link) owned by us with mode 0600.
 *
 * "Provably leaked" means: the evidence says nobody owns it, and no live
 * process is attached to it or maps it. Collection re-checks each item just
 * before removing it (regions under their own lock), but a process starting
 * to use a dead session's segment in between can still lose the race; that
 * is why only dead sessions' segments are touched. Reading every process's
 * maps costs a few milliseconds: this is a housekeeping command, not a
 * refresh path.
 *
 * Collecting a region needs to write its slot (to mark it unlinked, so the
 * dashboard stops calling it leaked): the collector opens the session
 * read-write like any program, and unregisters itself afterwards unless it
 * was registered already (a test process calling this).
 */
#include "internal.h"
#include "object_types.h"
#include "segment.h"
#include "shm_internal.h"
#include "preload/foreign_shm.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <synctop/leaks.h>
#include <synctop/text.h>

/* ---- growing lists ---- */

typedef struct mapping {
    char name[ST_LEAK_SEGMENT_MAX];   /* without the leading '/' */
    pid_t pid;
} mapping;

typedef struct mapping_list {
    mapping *items;
    size_t count, alloc;
} mapping_list;

typedef struct leak_list {
    st_leak *items;
    size_t count, alloc;
} leak_list;

static bool grow(void **items, size_t *alloc, size_t want, size_t size)
{
    if (want <= *alloc)
        return true;
    size_t n = *alloc ? *alloc * 2 : 16;
    while (n < want)
        n *= 2;
    void *p = realloc(*items, n * size);
    if (!p)
        return false;
    *items = p;
    *alloc = n;
    return true;
}

static void our_prefix(char *out, size_t size)
{
    snprintf(out, size, "synctop-%u-", (unsigned)st_owner_uid());   /* see ownership.c */
}

/* ---- who maps what (/proc/PID/maps) ---- */

static void add_mapping(mapping_list *list, const char *name, size_t len, pid_t pid)
{
    for (size_t i = list->count; i > 0; i--) {
        const mapping *m = &list->items[i - 1];
        if (m->pid != pid)
            break;     /* this pid's lines are contiguous: stop at the previous pid */
        if (strncmp(m->name, name, len) == 0 && m->name[len] == '\0')
            return;
    }
    if (len >= ST_LEAK_SEGMENT_MAX || !grow((void **)&list->items, &list->alloc, list->count + 1, sizeof *list->items))
        return;
    mapping *m = &list->items[list->count++];
    memcpy(m->name, name, len);
    m->name[len] = '\0';
    m->pid = pid;
}

/* Every mapping of one of our segments by a process we can inspect. */
static void load_mappings(mapping_list *list)
{
    list->count = 0;
    char prefix[48];
    our_prefix(prefix, sizeof prefix);
    char needle[64];
    snprintf(needle, sizeof needle, "/dev/shm/%s", prefix);
    DIR *proc = opendir("/proc");
    if (!proc)
        return;
    struct dirent *entry;
    char line[4096];
    while ((entry = readdir(proc)) != NULL) {
        char *end;
        long pid = strtol(entry->d_name, &end, 10);
        if (*end != '\0' || pid <= 0)
            continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/maps", pid);
        FILE *maps = fopen(path, "re");
        if (!maps)
            continue;
        while (fgets(line, sizeof line, maps)) {
            char *found = strstr(line, needle);
            if (!found)
                continue;
            char *name = found + strlen("/dev/shm/");
            size_t len = strcspn(name, " \n");
            add_mapping(list, name, len, (pid_t)pid);
        }
        fclose(maps);
    }
    closedir(proc);
}

/* Live processes mapping the segment (name with or without its '/'). */
static uint32_t mapping_users(const mapping_list *list, const char *name)
{
    if (name[0] == '/')
        name++;
    uint32_t users = 0;
    pid_t last = 0;
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i].name, name) == 0 && list->items[i].pid != last) {
            users++;
            last = list->items[i].pid;
        }
    return users;
}

/* ---- sessions ---- */

typedef enum session_state {
    SESSION_ALIVE,          /* a registered process is alive */
    SESSION_GONE,           /* no table */
    SESSION_NO_PROCESS,     /* a valid table, nobody alive in it */
    SESSION_UNKNOWN,        /* a table we cannot read: prove nothing */
} session_state;

static session_state session_state_now(const char *session)
{
    st_table *table = NULL;
    st_result r = st_table_attach_readonly(session, &table);
    if (r == ST_ENOENT)
        return SESSION_GONE;
    if (r != ST_OK)
        return SESSION_UNKNOWN;
    uint32_t live = st_table_count_live_processes(table);
    st_table_close(table);
    return live ? SESSION_ALIVE : SESSION_NO_PROCESS;
}

typedef struct session_cache {
    struct {
        char name[ST_SESSION_NAME_MAX + 1];
        session_state state;
    } *items;
    size_t count, alloc;
} session_cache;

static session_state session_state_cached(session_cache *cache, const char *session)
{
    for (size_t i = 0; i < cache->count; i++)
        if (strcmp(cache->items[i].name, session) == 0)
            return cache->items[i].state;
    session_state state = session_state_now(session);
    if (grow((void **)&cache->items, &cache->alloc, cache->count + 1, sizeof *cache->items)) {
        snprintf(cache->items[cache->count].name, sizeof cache->items[0].name, "%s", session);
        cache->items[cache->count++].state = state;
    }
    return state;
}

/* ---- finding leaks ---- */

static st_leak *new_leak(leak_list *list)
{
    if (!grow((void **)&list->items, &list->alloc, list->count + 1, sizeof *list->items))
        return NULL;
    st_leak *leak = &list->items[list->count++];
    memset(leak, 0, sizeof *leak);
    return leak;
}

static bool already_listed(const leak_list *list, const char *segment)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i].segment, segment) == 0)
            return true;
    return false;
}

static const char *plural(uint32_t n)
{
    return n == 1 ? "" : "es";
}

/* ---- segments of unmodified programs (preload/foreign_shm.h) ---- */

/* Live processes mapping the foreign segment (any name: not our prefix,
 * so not in the mapping list), read from every /proc/PID/maps. */
static uint32_t foreign_mappers(const char *segment)
{
    char needle[ST_FOREIGN_SHM_NAME_MAX + 16];
    snprintf(needle, sizeof needle, "/dev/shm%s", segment);
    size_t needle_len = strlen(needle);
    uint32_t users = 0;
    DIR *proc = opendir("/proc");
    if (!proc)
        return 0;
    struct dirent *entry;
    char line[4096];
    while ((entry = readdir(proc)) != NULL) {
        char *end;
        long pid = strtol(entry->d_name, &end, 10);
        if (*end != '\0' || pid <= 0)
            continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/maps", pid);
        FILE *maps = fopen(path, "re");
        if (!maps)
            continue;
        bool maps_it = false;
        while (!maps_it && fgets(line, sizeof line, maps)) {
            char *found = strstr(line, needle);
            maps_it = found && (found[needle_len] == '\n' || found[needle_len] == ' ' || found[needle_len] == '\0');
        }
        fclose(maps);
        users += maps_it;
    }
    closedir(proc);
    return users;
}

/* Rule 1 for a segment a watched program opened with shm_open: its
 * recorded creator died, nobody unlinked it, and its file is still ours.
 * false only when out of memory. */
static bool foreign_region_leak(const st_table *table, uint32_t index, const char *session, leak_list *list)
{
    st_foreign_shm_status status;
    if (!st_foreign_shm_status_of(table, index, &status) || !status.live || status.creator_pid <= 0 ||
        status.creator_alive || !st_shm_entry_is_ours(status.segment, NULL))
        return true;
    st_leak *leak = new_leak(list);
    if (!leak)
        return false;
    leak->kind = ST_LEAK_REGION;
    snprintf(leak->session, sizeof leak->session, "%s", session);
    st_text_sanitize(status.segment, sizeof status.segment, leak->segment, sizeof leak->segment, 0);
    snprintf(leak->data_kind, sizeof leak->data_kind, "shm");
    const char *object = table->objects[index].header.name;
    st_text_sanitize(object, ST_OBJECT_NAME_MAX, leak->object, sizeof leak->object, 0);
    leak->size_bytes = status.size;
    leak->creator_pid = status.creator_pid;
    uint32_t mapped = foreign_mappers(status.segment);
    leak->users = status.live_attached > mapped ? status.live_attached : mapped;
    leak->collectable = leak->users == 0;
    snprintf(leak->reason, sizeof leak->reason, "creator pid %d (a watched program) died without unlinking it%s",
             (int)status.creator_pid, leak->users ? "; live processes still use it" : "");
    return true;
}

/* Rule 1: the regions of one session whose creator died. */
static st_result scan_regions(const char *session, const mapping_list *mappings, leak_list *list)
{
    st_table *table = NULL;
    if (st_table_attach_readonly(session, &table) != ST_OK)
        return ST_OK;   /* gone or unreadable: rule 2 covers its segments */
    uint32_t used = ST_LOAD(table->header->objects_used);
    if (used > table->object_capacity)
        used = table->object_capacity;
    for (uint32_t i = 0; i < used; i++) {
        st_shm_status status;
        if (!foreign_region_leak(table, i, session, list))
            return st_fail(ST_ENOMEM, "out of memory listing leaks");
        if (!st_shm_status_of(table, i, &status) || !status.live || status.creator_pid <= 0 ||
            status.creator_alive)
            continue;
        char segment[ST_SEGMENT_NAME_MAX];
        if (st_shm_segment_name(table, i, status.stamp, segment) != ST_OK)
            continue;
        st_leak *leak = new_leak(list);
        if (!leak) {
            st_table_close(table);
            return st_fail(ST_ENOMEM, "out of memory listing leaks");
        }
        leak->kind = ST_LEAK_REGION;
        snprintf(leak->session, sizeof leak->session, "%s", session);
        snprintf(leak->segment, sizeof leak->segment, "%s", segment);
        snprintf(leak->data_kind, sizeof leak->data_kind, "shm");
        const char *object = table->objects[i].header.name;
        size_t len = strnlen(object, ST_OBJECT_NAME_MAX);
        memcpy(leak->object, object, len);
        leak->object[len] = '\0';
        leak->size_bytes = status.size;
        leak->creator_pid = status.creator_pid;
        uint32_t mapped = mapping_users(mappings, segment);
        leak->users = status.live_attached > mapped ? status.live_attached : mapped;
        leak->collectable = leak->users == 0;
        if (leak->users)
            snprintf(leak->reason, sizeof leak->reason, "creator pid %d died without unlinking it; %u live "
                     "process%s still use%s it", (int)status.creator_pid, leak->users, plural(leak->users),
                     leak->users == 1 ? "s" : "");
        else
            snprintf(leak->reason, sizeof leak->reason, "creator pid %d died without unlinking it",
                     (int)status.creator_pid);
    }
    st_table_close(table);
    return ST_OK;
}

/* Whether the session's table records segment for the object slot its
 * name gives (a table we cannot read records everything: prove nothing). */
static bool recorded_in_table(const st_segment_name_parts *parts, const char *segment)
{
    st_table *table = NULL;
    if (st_table_attach_readonly(parts->session, &table) != ST_OK)
        return true;
    st_segment_names names;
    unsigned count = st_object_data_segments(table, parts->index, names);
    bool recorded = false;
    for (unsigned i = 0; i < count && !recorded; i++)
        recorded = strcmp(names[i], segment) == 0;
    st_table_close(table);
    return recorded;
}

/* Whether segment (our name, "/synctop-...") is an orphan now, given its
 * session's state; writes why into reason. */
static bool orphan_now(const char *segment, const st_segment_name_parts *parts, session_state state,
                       char *reason, size_t size)
{
    if (!st_shm_entry_is_ours(segment, NULL))
        return false;   /* not a regular file of ours with mode 0600: never touched */
    if (state == SESSION_GONE) {
        snprintf(reason, size, "its session '%s' no longer exists", parts->session);
        return true;
    }
    if (state != SESSION_NO_PROCESS || recorded_in_table(parts, segment))
        return false;
    snprintf(reason, size, "no live process is left in session '%s' and no object in it refers to it",
             parts->session);
    return true;
}

/* Rule 2: data segments of dead sessions (filter: one session or NULL). */
static st_result scan_orphans(const char *filter, const mapping_list *mappings, leak_list *list)
{
    DIR *dir = opendir("/dev/shm");
    if (!dir)
        return st_fail(ST_ESYSTEM, "cannot read /dev/shm: %s", strerror(errno));
    session_cache cache = { 0 };
    st_result r = ST_OK;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        const char *name = entry->d_name;
        st_segment_name_parts parts;
        if (!st_segment_parse(name, &parts))
            continue;
        if (filter && strcmp(filter, parts.session) != 0)
            continue;
        char segment[ST_LEAK_SEGMENT_MAX];
        if (snprintf(segment, sizeof segment, "/%s", name) >= (int)sizeof segment || already_listed(list, segment))
            continue;
        char reason[ST_LEAK_REASON_MAX];
        if (!orphan_now(segment, &parts, session_state_cached(&cache, parts.session), reason, sizeof reason))
            continue;
        st_leak *leak = new_leak(list);
        if (!leak) {
            r = st_fail(ST_ENOMEM, "out of memory listing leaks");
            break;
        }
        leak->kind = ST_LEAK_ORPHAN;
        snprintf(leak->session, sizeof leak->session, "%s", parts.session);
        snprintf(leak->segment, sizeof leak->segment, "%s", segment);
        snprintf(leak->data_kind, sizeof leak->data_kind, "%s", parts.kind);
        struct stat st;
        if (st_shm_entry_is_ours(segment, &st))
            leak->size_bytes = (uint64_t)st.st_size;
        leak->users = mapping_users(mappings, segment);
        leak->collectable = leak->users == 0;
        int n = snprintf(leak->reason, sizeof leak->reason, "%s", reason);
        if (leak->users && n > 0 && (size_t)n < sizeof leak->reason)
            snprintf(leak->reason + n, sizeof leak->reason - (size_t)n, "; %u live process%s still map%s it",
                     leak->users, plural(leak->users), leak->users == 1 ? "s" : "");
    }
    closedir(dir);
    free(cache.items);
    return r;
}

/* The names of our sessions with a table in /dev/shm. */
static st_result list_sessions(char (**names)[ST_SESSION_NAME_MAX + 1], size_t *count)
{
    *names = NULL;
    *count = 0;
    size_t alloc = 0;
    char prefix[48];
    our_prefix(prefix, sizeof prefix);
    size_t prefix_len = strlen(prefix);
    DIR *dir = opendir("/dev/shm");
    if (!dir)
        return st_fail(ST_ESYSTEM, "cannot read /dev/shm: %s", strerror(errno));
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        const char *session = entry->d_name + prefix_len;
        if (strncmp(entry->d_name, prefix, prefix_len) != 0 || strchr(session, '.') ||
            strlen(session) > ST_SESSION_NAME_MAX || !*session)
            continue;
        if (!grow((void **)names, &alloc, *count + 1, sizeof **names)) {
            closedir(dir);
            return st_fail(ST_ENOMEM, "out of memory listing sessions");
        }
        snprintf((*names)[(*count)++], sizeof **names, "%s", session);
    }
    closedir(dir);
    return ST_OK;
}

static st_result scan_into(const char *session, mapping_list *mappings, leak_list *list)
{
    list->count = 0;
    load_mappings(mappings);
    st_result r;
    if (session) {
        r = scan_regions(session, mappings, list);
    } else {
        char (*names)[ST_SESSION_NAME_MAX + 1];
        size_t count;
        r = list_sessions(&names, &count);
        for (size_t i = 0; i < count && r == ST_OK; i++)
            r = scan_regions(names[i], mappings, list);
        free(names);
    }
    if (r == ST_OK)
        r = scan_orphans(session, mappings, list);
    return r;
}

static st_result check_arguments(const char *session, const st_leak *out, size_t max, size_t *count,
                                  char resolved[ST_SESSION_NAME_MAX + 1], const char *call)
{
    if (!count || (max > 0 && !out))
        return st_fail(ST_EINVAL, "%s: NULL output", call);
    *count = 0;
    if (session) {
        if (!*session)
            return st_fail(ST_EINVAL, "%s: empty session name", call);
        return st_session_resolve(session, resolved);
    }
    return ST_OK;
}

static void copy_out(const leak_list *list, st_leak *out, size_t max, size_t *count)
{
    for (size_t i = 0; i < list->count && i < max; i++)
        out[i] = list->items[i];
    *count = list->count;
}

st_result st_leaks_scan(const char *session, st_leak *out, size_t max, size_t *count)
{
    char resolved[ST_SESSION_NAME_MAX + 1];
    st_result r = check_arguments(session, out, max, count, resolved, "st_leaks_scan");
    if (r != ST_OK)
        return r;
    mapping_list mappings = { 0 };
    leak_list list = { 0 };
    r = scan_into(session ? resolved : NULL, &mappings, &list);
    if (r == ST_OK)
        copy_out(&list, out, max, count);
    free(mappings.items);
    free(list.items);
    return r;
}

/* ---- collecting ---- */

/* Whether this process has a live slot in the session (then it must not
 * unregister after collecting: that slot is its own program's). */
static bool registered_in(const char *session)
{
    st_table *table = NULL;
    if (st_table_attach_readonly(session, &table) != ST_OK)
        return false;
    bool found = false;
    for (uint32_t i = 0; i < table->process_capacity && !found; i++) {
        const st_process_slot *slot = &table->processes[i];
        found = __atomic_load_n(&slot->status, __ATOMIC_ACQUIRE) == ST_SLOT_LIVE && slot->pid == getpid();
    }
    st_table_close(table);
    return found;
}

/* Remove a leaked region: find its slot again and let shm.c re-check and
 * unlink it under the region's lock. */
static st_result collect_region(const st_leak *leak)
{
    bool was_registered = registered_in(leak->session);
    st_table_options opts = { .session = leak->session };
    st_table *table = NULL;
    st_result r = st_table_open(&opts, &table);
    if (r != ST_OK)
        return r;
    if (table->header->creator_pid == getpid() && ST_LOAD(table->header->live_objects) == 0) {
        /* The session disappeared since the scan and we just made a new,
         * empty one: take it back. */
        shm_unlink(table->shm_name);
        st_table_close(table);
        return st_fail(ST_ENOENT, "session '%s' is gone", leak->session);
    }
    r = st_fail(ST_ENOENT, "region '%s' is no longer in session '%s'", leak->object, leak->session);
    uint32_t used = ST_LOAD(table->header->objects_used);
    if (used > table->object_capacity)
        used = table->object_capacity;
    for (uint32_t i = 0; i < used; i++) {
        st_shm_status status;
        st_foreign_shm_status foreign;
        char segment[ST_SEGMENT_NAME_MAX];
        if (st_foreign_shm_status_of(table, i, &foreign) && foreign.live &&
            strcmp(foreign.segment, leak->segment) == 0) {
            r = foreign_mappers(foreign.segment) > 0
                    ? st_fail(ST_EBUSY, "segment %s is mapped again", leak->segment)
                    : st_foreign_shm_collect(table, i, foreign.segment);
            break;
        }
        if (!st_shm_status_of(table, i, &status) || !status.live ||
            st_shm_segment_name(table, i, status.stamp, segment) != ST_OK || strcmp(segment, leak->segment) != 0)
            continue;
        r = st_shm_collect(table, i, status.stamp);
        break;
    }
    if (!was_registered)
        st_process_unregister(table);
    st_table_close(table);
    return r;
}

static st_result collect_orphan(const st_leak *leak)
{
    st_segment_name_parts parts;
    char reason[ST_LEAK_REASON_MAX];
    if (!st_segment_parse(leak->segment, &parts) ||
        !orphan_now(leak->segment, &parts, session_state_now(leak->session), reason, sizeof reason))
        return st_fail(ST_EBUSY, "segment %s is in use again, or changed, since the scan", leak->segment);
    return st_segment_unlink(leak->segment);
}

st_result st_leaks_collect(const char *session, st_leak *out, size_t max, size_t *count)
{
    char resolved[ST_SESSION_NAME_MAX + 1];
    st_result r = check_arguments(session, out, max, count, resolved, "st_leaks_collect");
    if (r != ST_OK)
        return r;
    mapping_list mappings = { 0 };
    leak_list found = { 0 }, removed = { 0 };
    r = scan_into(session ? resolved : NULL, &mappings, &found);
    /* Mappings again, just before removing: someone may have mapped one
     * since the scan (once for all: reading every maps file is not free). */
    if (r == ST_OK)
        load_mappings(&mappings);
    for (size_t i = 0; i < found.count && r == ST_OK; i++) {
        const st_leak *leak = &found.items[i];
        if (!leak->collectable || mapping_users(&mappings, leak->segment) > 0)
            continue;
        st_result done = leak->kind == ST_LEAK_REGION ? collect_region(leak) : collect_orphan(leak);
        if (done != ST_OK)
            continue;   /* changed or in use since the scan: not provably leaked now */
        st_leak *entry = new_leak(&removed);
        if (!entry) {
            r = st_fail(ST_ENOMEM, "out of memory listing what was collected");
            break;
        }
        *entry = *leak;
    }
    if (r == ST_OK)
        copy_out(&removed, out, max, count);
    free(mappings.items);
    free(found.items);
    free(removed.items);
    return r;
}
