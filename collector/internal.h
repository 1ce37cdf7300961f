/* internal.h - what the collector's files share and the public headers do
 * not show: the table handle, the calling process's identity, the object
 * registry and the error-detail helper. */
#ifndef SYNCTOP_INTERNAL_H
#define SYNCTOP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <pthread.h>
#include <synctop/synctop.h>
#include "table_layout.h"

/* Object types stored in st_object_header.type. Append only: the values are
 * part of the table ABI. */
typedef enum st_object_type {
    ST_TYPE_NONE = 0,
    ST_TYPE_LOCK = 1,
    ST_TYPE_RLOCK = 2,
    ST_TYPE_SEMAPHORE = 3,
    ST_TYPE_BOUNDED_SEMAPHORE = 4,
    ST_TYPE_EVENT = 5,
    ST_TYPE_CONDITION = 6,
    ST_TYPE_QUEUE = 7,
    ST_TYPE_PIPE = 8,
    ST_TYPE_VALUE = 9,
    ST_TYPE_ARRAY = 10,
    ST_TYPE_SHM = 11,
    ST_TYPE_DICT = 12,
    ST_TYPE_POOL = 13,
    ST_TYPE_SUPERVISOR = 14,
    /* Foreign objects: primitives of unmodified programs, watched through
     * the preloaded interposition library (collector/preload/). One body
     * layout (preload/foreign_body.h), shown as the native JSON types. */
    ST_TYPE_FOREIGN_LOCK = 15,
    ST_TYPE_FOREIGN_RLOCK = 16,
    ST_TYPE_FOREIGN_SEMAPHORE = 17,
    ST_TYPE_FOREIGN_BOUNDED_SEMAPHORE = 18,
    ST_TYPE_FOREIGN_EVENT = 19,
    ST_TYPE_FOREIGN_CONDITION = 20,
    ST_TYPE_FOREIGN_QUEUE = 21,
    ST_TYPE_FOREIGN_PIPE = 22,
    ST_TYPE_FOREIGN_SHM = 23,       /* a segment of shm_open (preload/foreign_shm.h) */
    ST_TYPE_FOREIGN_POOL = 24,      /* a multiprocessing.Pool (preload/python_pool.c) */
    ST_TYPE_FOREIGN_MANAGED = 25,   /* an object a multiprocessing manager serves (preload/python_manager.c) */
    ST_TYPE_COUNT
} st_object_type;

struct st_table {
    int fd;
    bool readonly;
    uint8_t *base;                  /* the mapping */
    size_t size;
    st_table_header *header;
    st_process_slot *processes;
    st_object_slot *objects;
    uint32_t *name_index;
    st_event_entry *events;
    uint32_t event_capacity;
    /* A private copy of the header's layout, validated once at attach. */
    uint32_t process_capacity;
    uint32_t object_capacity;
    st_clock_calibration clock;
    char session[ST_SESSION_NAME_MAX + 1];
    char shm_name[ST_SESSION_NAME_MAX + 64];
    bool trace_new_objects;
    /* Lock holds are timed for 1 acquisition in 2^(64 - shift): see lock.c. */
    unsigned hold_sample_shift;
    /* The calling process's own slot; re-registered after fork. */
    st_process_slot *self;
    unsigned self_fork_generation;
};

/* Set the thread's error detail and return code (printf-style). */
st_result st_fail(st_result code, const char *format, ...) __attribute__((format(printf, 2, 3)));
void st_clear_detail(void);

/* ---- the calling process (process_registry.c) ---- */

/* The caller's pid, kept current across fork (no syscall). */
extern pid_t st_self_pid;
/* A non-negative double as a uint64_t, saturating: figures read from a
 * table may be garbage, and converting a double beyond UINT64_MAX (or NaN)
 * is undefined behaviour. */
static inline uint64_t st_u64_from_double(double value)
{
    if (!(value > 0.0))
        return 0;
    return value < 18446744073709549568.0 ? (uint64_t)value : UINT64_MAX;
}

/* A number that tells the calling thread from the process's other threads:
 * the thread pointer (one register read), or pthread_self() where the
 * compiler cannot read it. Together with the pid it names a lock holder. */
static inline uint64_t st_thread_token(void)
{
#if defined(__x86_64__) && defined(__GNUC__) && __GNUC__ >= 11
    return (uint64_t)(uintptr_t)__builtin_thread_pointer();
#else
    return (uint64_t)pthread_self();
#endif
}

/* Bumped in every child after fork(). */
extern unsigned st_fork_generation;
void st_process_identity_init(void);

/* The calling process's slot in table, registering it (named after its
 * command) when it has none yet or forked since. NULL when the process
 * table is full: primitives then work on, unlisted. */
st_process_slot *st_self_slot_slow(st_table *table);
static inline st_process_slot *st_self_slot(st_table *table)
{
    if (__builtin_expect(table->self != NULL && table->self_fork_generation == st_fork_generation, 1))
        return table->self;
    return st_self_slot_slow(table);
}

/* Mark the caller blocked on an object (or not). */
void st_process_mark_blocked(st_table *table, uint32_t object_index, st_operation op);
void st_process_mark_unblocked(st_table *table);

/* Count registered processes that are still alive (pid and start time). */
uint32_t st_table_count_live_processes(const st_table *table);

/* ---- registry lock (table.c) ---- */
st_result st_registry_lock(st_table *table);
void st_registry_unlock(st_table *table);
/* After a process died holding the registry lock: free half-made slots and
 * rebuild the name index from the live slots (object_registry.c). */
void st_registry_recover(st_table *table);
/* Validate a header against this build and a segment size (table.c). */
st_result st_header_validate(const st_table_header *h, uint64_t segment_size, const char *session);

/* ---- ownership (ownership.c) ---- */
struct stat;
/* The uid that owns and names our segments: the effective uid. */
uid_t st_owner_uid(void);
/* Whether st describes a regular file owned by st_owner_uid() with no group
 * or other permission bit. */
bool st_stat_is_ours(const struct stat *st);
/* ST_OK when fd is such a file, else ST_EUNSAFE saying what was found
 * ("what" names it: "session 'x'", "segment /synctop-..."). */
st_result st_check_ours(int fd, const char *what);
/* The same for a /dev/shm entry (with or without its '/'), without
 * following a symbolic link; fills *out (may be NULL) when ours. */
bool st_shm_entry_is_ours(const char *entry, struct stat *out);

/* Initialise a robust, process-shared, error-checking mutex in place. */
int st_robust_mutex_init(pthread_mutex_t *mutex);

/* ---- objects (object_registry.c) ---- */

typedef void (*st_body_init_fn)(void *body, const void *params);

/* Find the object called name, or create it with type and init(body, params).
 * Validates the name. Returns its slot index. */
st_result st_object_open(st_table *table, st_object_type type, const char *name,
                         st_body_init_fn init, const void *params, uint32_t *index_out);
/* The same for an init that can fail (creating a data segment): init sets
 * *init_result; when that is not ST_OK the new slot is given back, nothing
 * is left under the name, and the call returns *init_result (so the next
 * open of the name simply tries again). */
st_result st_object_open_reporting(st_table *table, st_object_type type, const char *name,
                                   st_body_init_fn init, const void *params, const st_result *init_result,
                                   uint32_t *index_out);

static inline st_object_slot *st_object_slot_at(st_table *table, uint32_t index)
{
    return &table->objects[index];
}

/* ---- process identity (proc_identity.c) ---- */
#include "proc_identity.h"

#endif
