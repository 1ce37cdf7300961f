/* table_layout.h - the memory layout of a session's status table.
 *
 * Everything that lives in /dev/shm/synctop-<uid>-<session> is declared here,
 * and nothing else. Writers (instrumented processes) and the reader (the
 * viewer's snapshot) share these declarations; the reader never trusts them:
 * it checks every size, count and index against the header it validated.
 *
 *   offset 0         +--------------------------------------------+
 *                    | st_table_header           (4096 bytes)     |
 *                    |   magic (published last), abi version,     |
 *                    |   slot sizes and counts, offsets, creation |
 *                    |   time, clock calibration, registry mutex  |
 *   process_offset   +--------------------------------------------+
 *                    | st_process_slot [process_capacity]  256 B  |
 *                    |   pid + start time, name, role, state,     |
 *                    |   heartbeat, blocked on (object, op, since)|
 *                    |   and, once its parent reaped it, its wait |
 *                    |   status and when (exit_*)                 |
 *   object_offset    +--------------------------------------------+
 *                    | st_object_slot [object_capacity]    768 B  |
 *                    |   128 B header: status, type, name, creator|
 *                    |   640 B body: the primitive itself (the    |
 *                    |   lock word) next to its statistics; each  |
 *                    |   primitive declares its body at the top   |
 *                    |   of its own file (the Lock's is here, as  |
 *                    |   others embed it)                         |
 *   name_index_offset+--------------------------------------------+
 *                    | uint32_t name_index [2 * object_capacity]  |
 *                    |   open-addressing hash of object names,    |
 *                    |   slot + 1 (0 empty); writers only         |
 *   event_offset     +--------------------------------------------+
 *                    | st_event_entry [event_capacity]     64 B   |
 *                    |   the event log ring of traced objects:    |
 *                    |   entry n % capacity holds event n         |
 *   total_size       +--------------------------------------------+
 *
 * Invariants:
 * - Slots are allocated and names indexed only under header.registry_lock
 *   (a robust process-shared mutex), so a dead process cannot wedge it.
 * - A slot's status goes FREE -> INITIALIZING -> LIVE with release stores;
 *   readers skip anything not LIVE.
 * - Statistics are plain uint64 fields written with relaxed atomic stores by
 *   the process holding the primitive, and read with relaxed loads: a reader
 *   may see one figure a moment older than another, never a torn value.
 */
#ifndef SYNCTOP_TABLE_LAYOUT_H
#define SYNCTOP_TABLE_LAYOUT_H

#include <pthread.h>
#include <stdint.h>
#include <synctop/process.h>
#include <synctop/lock.h>
#include <synctop/table.h>
#include "clock.h"

#define ST_TABLE_MAGIC 0x31656c6261547453ull  /* "StTable1" little-endian */
#define ST_TABLE_ABI_VERSION 2u   /* 2: process slots are 256 bytes apart and record an exit */
#define ST_HEADER_SIZE 4096u
#define ST_PROCESS_SLOT_SIZE 256u
#define ST_OBJECT_SLOT_SIZE 768u
#define ST_OBJECT_HEADER_SIZE 128u
#define ST_OBJECT_BODY_SIZE (ST_OBJECT_SLOT_SIZE - ST_OBJECT_HEADER_SIZE)
#define ST_NAME_INDEX_FACTOR 2u
#define ST_NAME_INDEX_EMPTY 0u
#define ST_NAME_INDEX_TOMBSTONE UINT32_MAX

enum st_slot_status {
    ST_SLOT_FREE = 0,
    ST_SLOT_INITIALIZING = 1,
    ST_SLOT_LIVE = 2,
};

typedef struct st_table_header {
    uint64_t magic;                 /* ST_TABLE_MAGIC, stored last (release) */
    uint32_t abi_version;
    uint32_t header_size;
    uint32_t process_slot_size;
    uint32_t object_slot_size;
    uint32_t process_capacity;
    uint32_t object_capacity;
    uint32_t event_capacity;        /* entries in the event log ring */
    uint32_t event_entry_size;
    uint64_t process_offset;
    uint64_t object_offset;
    uint64_t name_index_offset;
    uint64_t event_offset;
    uint64_t total_size;
    uint64_t created_ns;            /* CLOCK_REALTIME */
    int32_t creator_pid;
    uint32_t owner_uid;
    char session[ST_SESSION_NAME_MAX + 1];
    st_clock_calibration clock;
    uint32_t objects_used;          /* object slots [0, objects_used) were ever allocated */
    uint32_t live_objects;
    uint64_t generation;            /* bumped whenever a slot is allocated or freed */
    uint64_t event_next;            /* number of events ever logged */
    pthread_mutex_t registry_lock;  /* robust, process-shared */
} st_table_header;

typedef struct st_process_slot {
    uint32_t status;                /* st_slot_status */
    int32_t pid;
    uint64_t start_ticks;           /* /proc/PID/stat field 22: pid reuse shows here */
    uint64_t registered_ns;         /* CLOCK_REALTIME */
    char name[ST_PROCESS_NAME_MAX + 1];
    char role[ST_PROCESS_ROLE_MAX + 1];
    uint32_t state;                 /* st_process_state */
    uint32_t restarts;
    uint64_t heartbeat_ns;          /* CLOCK_MONOTONIC, 0 = never */
    uint32_t blocked_object;        /* object slot + 1, 0 = not blocked */
    uint32_t blocked_op;            /* st_operation */
    uint64_t blocked_since_ns;      /* CLOCK_MONOTONIC */
    /* How the process ended, written by its parent when it reaped it
     * (st_process_record_exit): exit_status as wait() gave it, exited_ns,
     * then exit_recorded (release). The slot is kept ST_EXITED_KEEP_NS after
     * that, unless the table needs it (process_registry.c). */
    uint32_t exit_recorded;         /* 1: exit_status and exited_ns are valid */
    int32_t exit_status;            /* a wait status: WIFEXITED or WIFSIGNALED */
    uint64_t exited_ns;             /* CLOCK_MONOTONIC, when it was reaped */
    uint8_t reserved[ST_PROCESS_SLOT_SIZE - 128];   /* zero; room for later fields */
} st_process_slot;

/* How long a reaped process's slot is kept for the viewer, at least (a
 * class sees who finished, and how), unless the table runs out of slots. */
#define ST_EXITED_KEEP_NS 60000000000ull

/* A log2 histogram: bucket b counts values in [2^b, 2^(b+1)) (bucket 0 also
 * holds 0 and 1); the last bucket holds everything above. */
#define ST_HISTOGRAM_BUCKETS 40
typedef struct st_histogram {
    uint64_t buckets[ST_HISTOGRAM_BUCKETS];
} st_histogram;

/* Lock body: the robust mutex and, next to it, its lockstat figures. */
typedef struct st_lock_body {
    pthread_mutex_t mutex;
    int32_t holder_pid;             /* 0 when free */
    uint32_t waiters;               /* processes blocked in acquire right now */
    uint64_t holder_thread;         /* pthread_self() of the holder: with the pid, who may release */
    uint64_t hold_start_ticks;      /* when this hold began, if it is timed; 0 if not */
    uint64_t acquisitions;
    uint64_t contentions;           /* acquisitions that had to wait */
    uint64_t wait_ns_total;
    uint64_t wait_ns_max;
    uint64_t hold_samples;          /* holds that were timed (see lock.c: sampling) */
    uint64_t hold_ns_sampled;       /* their total */
    uint64_t hold_ns_max;           /* the longest of them */
    uint64_t owner_died;            /* recoveries from a dead holder */
    uint64_t timeouts;              /* timed acquires that gave up */
    st_histogram wait_histogram;    /* wait times of contended acquisitions, ns */
} st_lock_body;

/* One event of the log ring. sequence is 0 while the entry is being
 * written and n + 1 once it holds event n: a reader that sees the same
 * non-zero sequence before and after copying an entry has a whole event. */
#define ST_EVENT_ENTRY_SIZE 64u
typedef struct st_event_entry {
    uint64_t sequence;
    uint64_t time_ns;               /* CLOCK_REALTIME */
    int32_t pid;
    uint32_t object;                /* object slot index */
    uint32_t operation;             /* st_operation */
    uint32_t result;                /* st_result */
    uint64_t wait_ns;
    int64_t value;                  /* what the operation left: a value, a depth ... */
    uint8_t pad[ST_EVENT_ENTRY_SIZE - 48];
} st_event_entry;

/* st_object_header.flags */
#define ST_OBJECT_TRACED 1u         /* operations are logged in the event ring */

typedef struct st_object_header {
    uint32_t status;                /* st_slot_status */
    uint32_t type;                  /* st_object_type */
    uint32_t flags;
    int32_t creator_pid;
    uint64_t created_ns;            /* CLOCK_REALTIME */
    uint32_t handles;               /* handles opened, ever (informational) */
    uint32_t reserved;
    char name[ST_OBJECT_NAME_MAX + 1];
    uint8_t pad[ST_OBJECT_HEADER_SIZE - 32 - (ST_OBJECT_NAME_MAX + 1)];
} st_object_header;

typedef struct st_object_slot {
    st_object_header header;
    union {
        st_lock_body lock;
        uint8_t raw[ST_OBJECT_BODY_SIZE];
    } body __attribute__((aligned(64)));
} st_object_slot;

_Static_assert(sizeof(st_table_header) <= ST_HEADER_SIZE, "header fits its page");
_Static_assert(sizeof(st_process_slot) == ST_PROCESS_SLOT_SIZE, "process slot is 256 bytes (the stride)");
_Static_assert(sizeof(st_object_header) == ST_OBJECT_HEADER_SIZE, "object header is 128 bytes");
_Static_assert(sizeof(st_object_slot) == ST_OBJECT_SLOT_SIZE, "object slot is 768 bytes");
_Static_assert(sizeof(st_lock_body) <= ST_OBJECT_BODY_SIZE, "lock body fits");
_Static_assert(sizeof(st_event_entry) == ST_EVENT_ENTRY_SIZE, "event entry is 64 bytes");

/* Relaxed atomic access to statistics (see the invariants above). */
#define ST_LOAD(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)
#define ST_STORE(field, value) __atomic_store_n(&(field), (value), __ATOMIC_RELAXED)
/* Add to a figure only its owner writes (no read-modify-write instruction). */
#define ST_BUMP(field, delta) ST_STORE(field, ST_LOAD(field) + (delta))
/* Add to a figure many processes write. */
#define ST_ATOMIC_ADD(field, delta) __atomic_fetch_add(&(field), (delta), __ATOMIC_RELAXED)
#define ST_ATOMIC_SUB(field, delta) __atomic_fetch_sub(&(field), (delta), __ATOMIC_RELAXED)

#endif
