/* preload.h - what the files of the interposition library share.
 *
 * libsynctop-preload.so is loaded into an unmodified program with
 * LD_PRELOAD (`synctop run -- COMMAND` does it). It defines sem_*,
 * pthread_mutex_* and pthread_cond_*; each definition calls the real libc
 * function (found with dlsym(RTLD_NEXT)) and, when the object is shared
 * between processes, records what happened in a foreign object of the
 * session's status table (foreign_body.h).
 *
 * Three rules hold everywhere:
 *  - The program's behaviour never changes: every call returns what the
 *    real call returned, with its errno. Our bookkeeping happens around
 *    the real call and saves and restores errno.
 *  - Objects private to a process (sem_init(pshared = 0), ordinary
 *    mutexes, the GIL) cost one load and one branch: glibc records "process
 *    shared" inside the object, so we read it before anything else.
 *  - No recursion: our own code (and libsynctop's, linked in: the table's
 *    registry lock is a process-shared mutex) calls the functions we
 *    define. A thread-local guard is raised while we are busy: an object
 *    met then is left unwatched and an object created then is not
 *    registered, so our own mutexes only ever take the straight path to
 *    libc (the fast paths need not read the guard: only the first meeting
 *    with an object can lead back into our code).
 *  - Nothing depends on exit handlers (Python's fork children leave with
 *    os._exit) and a fork child starts clean (lifecycle.c).
 *
 * This library carries its own copy of libsynctop's code (the convenience
 * library libsynctop_core), with hidden visibility, and exports only the
 * functions it interposes (a libtool -export-symbols-regex). A program that
 * links libsynctop.so itself keeps using its own copy: the two copies never
 * see each other's symbols, share nothing but the table in shared memory,
 * and our copy ignores the mutexes that live in synctop's own segments. Had
 * we linked libsynctop.so instead, its internals would be out of reach
 * (they are hidden) and a program built against another version of it
 * would get ours. The one cost: libtool links a convenience library whole,
 * viewer side included; without_proc2.c keeps libproc2 (and libsystemd)
 * from being loaded into the watched program all the same.
 */
#ifndef SYNCTOP_PRELOAD_H
#define SYNCTOP_PRELOAD_H

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "internal.h"
#include "preload/foreign_body.h"

/* The functions the module exports (everything else is hidden). */
#define INTERPOSED __attribute__((visibility("default")))

/* ---- the real functions (real_calls.c) ---- */

typedef struct real_functions {
    sem_t *(*sem_open)(const char *, int, ...);
    int (*sem_close)(sem_t *);
    int (*sem_unlink)(const char *);
    int (*sem_init)(sem_t *, int, unsigned);
    int (*sem_destroy)(sem_t *);
    int (*sem_wait)(sem_t *);
    int (*sem_trywait)(sem_t *);
    int (*sem_timedwait)(sem_t *, const struct timespec *);
    int (*sem_clockwait)(sem_t *, clockid_t, const struct timespec *);
    int (*sem_post)(sem_t *);
    int (*sem_getvalue)(sem_t *, int *);
    int (*mutex_init)(pthread_mutex_t *, const pthread_mutexattr_t *);
    int (*mutex_destroy)(pthread_mutex_t *);
    int (*mutex_lock)(pthread_mutex_t *);
    int (*mutex_trylock)(pthread_mutex_t *);
    int (*mutex_timedlock)(pthread_mutex_t *, const struct timespec *);
    int (*mutex_clocklock)(pthread_mutex_t *, clockid_t, const struct timespec *);
    int (*mutex_unlock)(pthread_mutex_t *);
    int (*cond_init)(pthread_cond_t *, const pthread_condattr_t *);
    int (*cond_destroy)(pthread_cond_t *);
    int (*cond_wait)(pthread_cond_t *, pthread_mutex_t *);
    int (*cond_timedwait)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
    int (*cond_clockwait)(pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *);
    int (*cond_signal)(pthread_cond_t *);
    int (*cond_broadcast)(pthread_cond_t *);
    int (*shm_open)(const char *, int, mode_t);
    int (*shm_unlink)(const char *);
} real_functions;

/* libc's functions; until resolved, stubs that resolve and forward. */
extern real_functions real;
/* Resolve `real` (idempotent; the stubs call it). */
void real_resolve(void);

/* ---- recognising shared objects without a lookup (glibc's layouts) ---- */

/* Whether glibc's layout was confirmed at start-up (real_calls.c checks it
 * on objects of its own); when not, nothing is discovered by layout and
 * only objects seen at creation are watched. */
extern bool layout_known;
/* Check glibc's layout on objects of our own (real_calls.c). */
bool real_layout_matches(void);

static inline bool sem_is_shared(const sem_t *sem)
{
    /* glibc's struct new_sem: { uint64_t data; int private; int pad; }:
     * private is 0 for a process-private semaphore. */
    return ((const int *)(const void *)sem)[2] != 0;
}

static inline bool mutex_is_shared(const pthread_mutex_t *mutex)
{
#ifdef __GLIBC__
    return (mutex->__data.__kind & 128) != 0;   /* PTHREAD_MUTEX_PSHARED_BIT */
#else
    (void)mutex;
    return true;
#endif
}

static inline bool cond_is_shared(const pthread_cond_t *cond)
{
#ifdef __GLIBC__
    return (cond->__data.__wrefs & 1u) != 0;    /* __PTHREAD_COND_SHARED_MASK */
#else
    (void)cond;
    return true;
#endif
}

/* ---- per-thread state ---- */

typedef struct thread_state {
    int guard;                  /* > 0: inside our own code, pass everything through */
    const void *tried;          /* the semaphore whose trywait last failed (EAGAIN) */
    uint64_t pending_start;     /* ticks when a wait interrupted by EINTR began */
    struct tracked_object *marked_get;  /* a Queue getter marked blocked on reading */
    pid_t tid;                  /* the thread's id, once asked (0: not yet) */
} thread_state;

extern __thread thread_state tls __attribute__((tls_model("initial-exec")));

/* The calling thread's kernel id (one system call per thread, and again
 * after fork: the atfork handler clears it). */
pid_t thread_id_slow(void);
static inline pid_t thread_id(void)
{
    pid_t tid = tls.tid;
    return __builtin_expect(tid != 0, 1) ? tid : thread_id_slow();
}

/* ---- the process's map of watched objects (tracked_map.c) ---- */

/* Role flags of a tracked object. */
enum {
    ROLE_HOLDER = 1u << 0,          /* a lock: record holder, hold times (primary part) */
    ROLE_PART_HOLDER = 1u << 1,     /* a lock inside a composite: holder_pid of its part */
    ROLE_PEAK = 1u << 2,            /* a counting semaphore: track peak_in_use */
    ROLE_EVENT_LOCK = 1u << 3,      /* an Event's lock: count set/clear on release */
    ROLE_QUEUE_GET_LOCK = 1u << 4,  /* a Queue's _rlock: its holder may wait on the pipe */
    ROLE_PYTHON_BOUND = 1u << 5,    /* Python checks maximum before a release (sem_getvalue) */
    ROLE_POOL_TASK_LOCK = 1u << 6,  /* a Pool's _inqueue._rlock: taken by workers (python_pool.c) */
};

#define TRACK_IGNORED UINT32_MAX

typedef struct tracked_object {
    uintptr_t address;              /* 0 empty, 1 removed; published last (release) */
    uint32_t slot;                  /* object slot index, or TRACK_IGNORED */
    uint8_t part;                   /* 0..2, or ST_FOREIGN_PART_NONE */
    uint8_t op;                     /* st_operation shown while blocked on it */
    uint16_t roles;
    uint32_t maximum;               /* ROLE_PYTHON_BOUND: the value a release may not reach */
    uint32_t opens;                 /* sem_open references (glibc shares one mapping) */
    st_foreign_body *body;          /* NULL when ignored */
    st_object_slot *object;
} tracked_object;

/* The map (tracked_map.c): a static array, so that a lookup needs no
 * pointer to load (its pages are committed only where entries are). */
#define TRACKED_MAP_BITS 16
#define TRACKED_MAP_SIZE (1u << TRACKED_MAP_BITS)
#define TRACKED_MAP_PROBES 64
extern tracked_object tracked_entries[TRACKED_MAP_SIZE];

static inline size_t tracked_home(uintptr_t address)
{
    /* Objects are at least 8-byte aligned; folding in the higher bits
     * spreads arrays of them and separate mappings alike. */
    return (size_t)(((address >> 3) ^ (address >> (3 + TRACKED_MAP_BITS))) & (TRACKED_MAP_SIZE - 1));
}

/* The entry for address, or NULL (lock-free; inline: every call on a
 * shared object makes one). */
static inline tracked_object *tracked_find(const void *address)
{
    uintptr_t wanted = (uintptr_t)address;
    size_t i = tracked_home(wanted);
    for (unsigned probe = 0; probe < TRACKED_MAP_PROBES; probe++, i = (i + 1) & (TRACKED_MAP_SIZE - 1)) {
        uintptr_t at = __atomic_load_n(&tracked_entries[i].address, __ATOMIC_ACQUIRE);
        if (__builtin_expect(at == wanted, 1))
            return &tracked_entries[i];
        if (at == 0)
            return NULL;
    }
    return NULL;
}

/* Fill an entry for address (replacing any) with *value; NULL when the map
 * is full. */
tracked_object *tracked_put(const void *address, const tracked_object *value);
void tracked_remove(const void *address);
/* In a fork child: the lock another parent thread may have held is free. */
void tracked_after_fork(void);

/* ---- the session (watch_session.c) ---- */

/* The session's table, opened on first use; NULL when it cannot be (one
 * warning was printed) or while disabled. */
st_table *watch_table(void);
/* The table once open (NULL before): for fast paths that already know an
 * object is watched, hence that the table is open. */
extern st_table *watched_table;
/* Register the calling process (after fork: again) before it is counted. */
void watch_register_process(st_table *table);
/* True until this process registered (set again in a fork child). */
extern bool watch_unregistered;
static inline void watch_register_if_new(st_table *table)
{
    if (__builtin_expect(watch_unregistered, 0))
        watch_register_process(table);
}
/* The table's hold sampling (st_table.hold_sample_shift), for fast paths. */
extern unsigned watch_hold_shift;
/* In a fork child: locks other parent threads may have held are free. */
void watch_after_fork(void);
/* Name this process as its Python program knows it (python_process.c):
 * asked on every counted operation until the answer is final, then every
 * 64th (a name may be set after start); only ever with the GIL held. */
extern bool watch_name_settled;
extern unsigned watch_name_ops;
void watch_name_refresh(void);
static inline void watch_name_if_due(void)
{
    if (__builtin_expect(!watch_name_settled || (++watch_name_ops & 63u) == 0, 0))
        watch_name_refresh();
}
/* One line on stderr, at most once per program (children inherit "said"). */
void watch_warn_once(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* How to create a foreign object. */
typedef struct foreign_spec {
    st_object_type type;
    st_foreign_kind kind;
    uint64_t key;                   /* identity of its first member */
    unsigned part, op;
    uint32_t initial, maximum;      /* of the primary semaphore, if part 0 */
    const char *name;               /* unique-ified with " #2", " #3" ... */
    const char *typeid;             /* ST_FOREIGN_PY_MANAGED: what the manager serves ("dict") */
} foreign_spec;

/* Create (or attach to, when the same key registered it) the object. */
bool watch_create_object(st_table *table, const foreign_spec *spec, uint32_t *slot_out);
/* Add a member to an object this process created. */
void watch_add_member(st_table *table, uint32_t slot, uint64_t key, unsigned part, unsigned op,
                      uint32_t initial, uint32_t maximum);
/* The object that lists key as a member: slot, part and operation. */
bool watch_find_member(st_table *table, uint64_t key, uint32_t *slot, unsigned *part, unsigned *op);
/* Fill t's table pointers and default roles from its object. */
void watch_bind(st_table *table, tracked_object *t, uint32_t slot, unsigned part, unsigned op);

/* 56-bit identity keys. */
uint64_t key_of_name(const char *name);
uint64_t key_of_words(uint64_t a, uint64_t b, uint64_t c);

/* ---- bookkeeping (bookkeeping.c) ---- */

/* The caller now holds / took one unit of t (a semaphore or mutex). */
void note_acquired(tracked_object *t, const void *object, bool contended, uint64_t waited_ns, uint64_t now_ticks);
void note_try_failed(tracked_object *t, const void *object);
void note_try_withdrawn(tracked_object *t);
/* Around a blocking call. */
uint64_t note_block_begin(tracked_object *t);
void note_block_end(tracked_object *t);
void note_timeout(tracked_object *t);
/* Before a release (post / unlock): the holder goes; returns whether a
 * holder was cleared (to put back if the release fails). */
int32_t note_release_begin(tracked_object *t);
void note_release_failed(tracked_object *t, int32_t holder);
void note_released(tracked_object *t);
uint64_t ticks_now(void);
uint64_t ticks_to_ns(uint64_t ticks);

#endif
