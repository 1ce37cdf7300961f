/* foreign_shm.h - the slot body of a POSIX shared-memory segment an
 * unmodified program opened with shm_open (Python's
 * multiprocessing.shared_memory.SharedMemory, or C), shared by the writer
 * (interpose_shm.c, in the preload library) and the viewer and leak
 * collector (foreign_shm.c, in libsynctop).
 *
 * It shows as the JSON type "shm" with the native region's field names
 * (shm.c). The body records the segment's own name ("/psm_1a2b3c"), its
 * creator (pid and start time: a reused pid is not mistaken for it),
 * whether it was unlinked, and the processes that opened it by name.
 * "attached" counts those still alive: a close or munmap is not watched
 * (interposing them would tax every file descriptor and mapping of the
 * program), so a process counts from its shm_open until it exits.
 *
 * Writers update the body with single atomic stores, without a lock: one
 * creator writes the creation fields once (O_EXCL made it the only one),
 * openers claim an attached entry with a compare-and-swap.
 */
#ifndef SYNCTOP_PRELOAD_FOREIGN_SHM_H
#define SYNCTOP_PRELOAD_FOREIGN_SHM_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

#define ST_FOREIGN_SHM_NAME_MAX 128      /* the segment's name with its '/', NUL included */
#define ST_FOREIGN_SHM_ATTACHED 16

enum st_foreign_shm_state {
    ST_FOREIGN_SHM_LIVE = 1,
    ST_FOREIGN_SHM_UNLINKED = 2,
};

typedef struct st_foreign_shm_opener {
    int32_t pid;                    /* 0: free entry */
    uint32_t opens;                 /* shm_open calls of this process */
    uint64_t start_ticks;
} st_foreign_shm_opener;

typedef struct st_foreign_shm_body {
    uint32_t state;                 /* enum st_foreign_shm_state */
    int32_t creator_pid;            /* 0: opened here, created outside the session */
    uint64_t creator_start_ticks;
    uint64_t size;                  /* its size when last opened (the viewer reads the file's) */
    uint64_t opens;                 /* shm_open calls, ever */
    uint64_t untracked;             /* openers the list had no room for */
    uint32_t collected;             /* 1: removed by synctop --gc */
    uint32_t reserved;
    st_foreign_shm_opener attached[ST_FOREIGN_SHM_ATTACHED];
    char segment[ST_FOREIGN_SHM_NAME_MAX];   /* "/psm_1a2b3c" */
} st_foreign_shm_body;

_Static_assert(sizeof(st_foreign_shm_body) <= ST_OBJECT_BODY_SIZE, "foreign shm body fits its slot");

/* A foreign segment's slot as the leak collector sees it. */
typedef struct st_foreign_shm_status {
    bool live;                      /* created here and never unlinked */
    bool creator_alive;
    int32_t creator_pid;
    uint32_t live_attached;
    uint64_t size;                  /* the file's size now, if it is ours */
    char segment[ST_FOREIGN_SHM_NAME_MAX];
} st_foreign_shm_status;

/* Read slot index (any table handle) without locking; false when it is not
 * a live foreign shm slot. */
bool st_foreign_shm_status_of(const st_table *table, uint32_t index, st_foreign_shm_status *status);

/* Remove the leaked segment of slot index (a read-write table) after
 * checking again: still segment, never unlinked, a creator recorded and
 * dead, no opener alive, and /dev/shm's entry a regular file of ours (not
 * followed through a symbolic link). ST_OK when removed. */
st_result st_foreign_shm_collect(st_table *table, uint32_t index, const char *segment);

/* Live openers of body (shared with the writer side). */
uint32_t st_foreign_shm_live_attached(const st_foreign_shm_body *body);

#endif
