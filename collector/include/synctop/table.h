/* table.h - the session's shared-memory status table.
 *
 * One POSIX shared-memory object per session, /synctop-<uid>-<session>
 * (the effective uid), mode 0600. A file under that name that another uid
 * owns, or with any group or other permission bit, is refused (ST_EUNSAFE).
 * Instrumented processes open it read-write (creating it when they are the
 * first); the viewer attaches read-only and never writes. See
 * ARCHITECTURE.md for the layout.
 */
#ifndef SYNCTOP_TABLE_H
#define SYNCTOP_TABLE_H

/* The library is built with hidden visibility: what this header declares
 * is its public API. */
#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "result.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ST_SESSION_NAME_MAX 48  /* bytes, without the terminating NUL */
#define ST_DEFAULT_SESSION "default"
#define ST_DEFAULT_PROCESS_CAPACITY 256u
#define ST_DEFAULT_OBJECT_CAPACITY 4096u
#define ST_DEFAULT_EVENT_CAPACITY 4096u
#define ST_MAX_PROCESS_CAPACITY 65536u
#define ST_MAX_EVENT_CAPACITY 1048576u
#define ST_MAX_OBJECT_CAPACITY 1048576u

typedef struct st_table st_table;

typedef struct st_table_options {
    const char *session;        /* NULL: $SYNCTOP_SESSION, else "default" */
    uint32_t process_capacity;  /* 0: $SYNCTOP_PROCESSES, else 256 */
    uint32_t object_capacity;   /* 0: $SYNCTOP_OBJECTS, else 4096 */
    uint32_t event_capacity;    /* 0: $SYNCTOP_EVENTS, else 4096 (event log ring entries) */
    unsigned mode;              /* 0 or 0600; tables are always private (other
                                   modes give ST_EINVAL; a table that another uid
                                   owns or others may open gives ST_EUNSAFE) */
    int attach_timeout_ms;      /* 0: 2000; how long to wait for a creator to finish */
    bool trace_new_objects;     /* objects created through this handle log their
                                   operations in the event ring (also: SYNCTOP_TRACE) */
} st_table_options;

/* Open the session's table read-write, creating it if it does not exist.
 * Capacities only matter to the creator; an attacher gets the existing ones.
 * opts may be NULL for all defaults. */
st_result st_table_open(const st_table_options *opts, st_table **out);

/* Attach to an existing table read-only (the viewer's way). Validates the
 * header and the size; ST_ENOENT when the session does not exist. */
st_result st_table_attach_readonly(const char *session, st_table **out);

/* Unmap and free the handle. Does not remove the session. NULL is a no-op. */
void st_table_close(st_table *table);

/* The session's name, and whether this handle is read-only. */
const char *st_table_session(const st_table *table);
bool st_table_is_readonly(const st_table *table);
uint32_t st_table_process_capacity(const st_table *table);
uint32_t st_table_object_capacity(const st_table *table);

/* Resolve the session name the way every program does: explicit name, else
 * $SYNCTOP_SESSION, else "default". Validates it (letters, digits, '-' and
 * '_', at most ST_SESSION_NAME_MAX bytes). */
st_result st_session_resolve(const char *explicit_name, char out[ST_SESSION_NAME_MAX + 1]);

/* The shared-memory object name for a session: "/synctop-<uid>-<session>". */
st_result st_session_shm_name(const char *session, char *out, size_t out_size);

typedef struct st_session_info {
    char name[ST_SESSION_NAME_MAX + 1];
    uint64_t size_bytes;
    uint32_t live_processes;    /* registered processes still running */
    uint32_t objects;
    bool valid;                 /* header validated */
    st_result status;           /* why it is not valid */
} st_session_info;

/* List this user's sessions (segments /dev/shm/synctop-<uid>-*). Fills up to
 * max entries, sets *count to the number found (may exceed max). */
st_result st_session_list(st_session_info *out, size_t max, size_t *count);

/* Remove a session: its table and its primitives' data segments. Refuses
 * with ST_EBUSY while live processes are registered in it, unless force. */
st_result st_session_remove(const char *session, bool force);

/* The same, but leave in /dev/shm the shared-memory regions that are
 * leaked right now (creator dead, never unlinked; see leaks.h): for a
 * lesson that leaks on purpose. Once the table is gone they are segments of
 * a dead session, which st_leaks_collect() and `synctop --gc` remove.
 * *kept (may be NULL) counts them. */
st_result st_session_remove_keeping_leaks(const char *session, bool force, uint32_t *kept);

/* Whether the session's segment has been removed since this handle
 * attached (the mapping stays readable; the viewer shows "session ended"). */
bool st_table_is_removed(const st_table *table);

/* Switch the event-log tracing of the named object on or off. */
st_result st_trace_set(st_table *table, const char *name, bool on);

/* Reclaim the slots of registered processes that died (pid gone, or pid
 * reused by another process). Returns the count reclaimed in *reclaimed. */
st_result st_table_reclaim_dead(st_table *table, uint32_t *reclaimed);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
