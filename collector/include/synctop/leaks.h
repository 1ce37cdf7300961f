/* leaks.h - finding and collecting leaked shared memory.
 *
 * Two kinds of leak are recognised, both only for the calling user:
 *
 *   region     a shared-memory region (shm.h) whose creator died without
 *              unlinking it: nobody will ever remove it.
 *   orphan     a data segment (/dev/shm/synctop-<uid>-<session>.<kind>...)
 *              of a dead session: its status table is gone, or no process
 *              registered in it is alive any more and no object in it
 *              refers to the segment (one that an object still refers to
 *              holds data, a queue's messages say, and is never an orphan).
 *
 * Only files synctop made are considered: names exactly of its form,
 * regular files (never a directory or a symbolic link) owned by the
 * effective uid with mode 0600.
 *
 * A leak is collectable only when no live process uses it: a region with a
 * live attached process, or any segment that a live process still maps
 * (seen in /proc/PID/maps), is reported but never removed. Collecting a
 * region unlinks its segment and marks it unlinked in the status table; an
 * orphan segment is simply unlinked. Session tables themselves are never
 * removed here (synctop --remove does that).
 */
#ifndef SYNCTOP_LEAKS_H
#define SYNCTOP_LEAKS_H

/* The library is built with hidden visibility: what this header declares
 * is its public API. */
#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "lock.h"
#include "result.h"
#include "table.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum st_leak_kind {
    ST_LEAK_REGION = 1,    /* a region whose creator died, never unlinked */
    ST_LEAK_ORPHAN = 2,    /* a data segment of a dead session */
} st_leak_kind;

#define ST_LEAK_SEGMENT_MAX 128
#define ST_LEAK_REASON_MAX 160

typedef struct st_leak {
    st_leak_kind kind;
    char session[ST_SESSION_NAME_MAX + 1];
    char segment[ST_LEAK_SEGMENT_MAX];       /* "/synctop-<uid>-<session>.shm.3-..." */
    char data_kind[16];                       /* "shm", "queue", ... from the name */
    char object[ST_OBJECT_NAME_MAX + 1];      /* the region's name; "" for an orphan */
    uint64_t size_bytes;
    pid_t creator_pid;                        /* regions; 0 when unknown */
    uint32_t users;                           /* live processes attached to or mapping it */
    bool collectable;                         /* users == 0 */
    char reason[ST_LEAK_REASON_MAX];          /* "creator pid 123 died", ... */
} st_leak;

/* Find the leaks of one session (session non-NULL) or of all the user's
 * sessions (NULL). Fills up to max entries of out, and sets *count to the
 * number found (it may exceed max). out may be NULL when max is 0. */
st_result st_leaks_scan(const char *session, st_leak *out, size_t max, size_t *count);

/* Remove what st_leaks_scan finds collectable (checking each again just
 * before removing it), and report what was removed (up to max entries;
 * *count may exceed max). */
st_result st_leaks_collect(const char *session, st_leak *out, size_t max, size_t *count);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
