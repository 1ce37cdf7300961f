/* foreign_body.h - the slot body of a "foreign" object: a primitive that
 * libsynctop did not make but watches from outside, through the preloaded
 * interposition library (libsynctop-preload.so; see preload.c).
 *
 * A foreign object stands for one or more libc objects (POSIX semaphores,
 * process-shared pthread mutexes and condition variables). Python's
 * multiprocessing builds each of its primitives from semaphores, some from
 * several: an Event is a flag semaphore, a Condition (three semaphores) and
 * its lock; a Queue is a BoundedSemaphore counting the items plus two
 * locks. Those members are folded into one object, so that the dashboard
 * shows one Event and one Queue, with the figures a native Event or Queue
 * has, and no wait-for edge through a lock the user never made.
 *
 * Every member is one of three *parts* (or of none: a member that only
 * tells, when a process blocks on it, what the process waits for):
 *
 *   kind                 part 0 (primary)    part 1             part 2
 *   Lock, RLock, mutex   the lock            -                  -
 *   Semaphore(s)         the semaphore       -                  -
 *   Event                the flag            condition's wait   condition's lock
 *   Condition (Python)   its wait semaphore  -                  -
 *   pthread condition    the condvar         -                  -
 *   Queue                _sem (the items)    _rlock (getters)   _wlock (feeders)
 *   SimpleQueue          -                   _rlock (getters)   _wlock (putters)
 *   Pool                 task pipe           result pipe        -  (its locks: no part)
 *
 * Members are listed by identity key (a hash of the semaphore's name, or of
 * the device, inode and offset of the memory it lives in), so that another
 * process that meets the same semaphore (sem_open by name, or a mutex in a
 * file it mapped) finds the object it belongs to. The object's creator
 * appends members; member_count is published after the member (release).
 *
 * Layout in the 640-byte slot body (what a lock's fast path touches, on
 * the first cache line):
 *
 *   +0    kind, member_count, holder_thread, hold_start_ticks
 *   +24   parts[3]: holder_pid, waiters, acquisitions, releases,
 *         contentions, wait_ns_total, wait_ns_max, timeouts (56 bytes each)
 *   +192  members[5] (key << 8 | part << 4 | operation)
 *   +232  initial, maximum, peak_in_use, flag_at_lock
 *   +248  hold_samples, hold_ns_sampled, hold_ns_max, owner_died,
 *         try_failures, over_releases, notify_alls, sets, clears
 *   +320  wait_histogram (the primary part's contended waits, ns)
 *
 * A Pipe (ST_FOREIGN_PY_PIPE) uses parts 0 (A to B) and 1 (B to A) as
 * its two directions: releases = messages sent, acquisitions = messages
 * received, contentions = receives that blocked, waiters = processes
 * blocked reading; its byte counts replace the histogram (pipe).
 *
 * A Pool (ST_FOREIGN_PY_POOL) counts the messages of its two pipes the same
 * way: part 0 is the task pipe (_inqueue: releases = task messages written,
 * acquisitions = task messages read by workers), part 1 the result pipe
 * (_outqueue: releases = results written by workers, acquisitions = results
 * read by the pool's result handler); stop sentinels (None) are not
 * counted. Its locks are members without a part; the rest is in pool.
 *
 * An object a manager serves (ST_FOREIGN_PY_MANAGED, python_manager.c)
 * uses part 0 only: acquisitions = method calls received by the server,
 * releases = replies sent, waiters = calls received and not yet replied to
 * (the callers waiting for a reply); its typeid, server and length replace
 * the histogram (managed).
 *
 * Statistics follow the table's conventions (table_layout.h): relaxed
 * atomics; a figure many processes write uses a read-modify-write.
 */
#ifndef SYNCTOP_PRELOAD_FOREIGN_BODY_H
#define SYNCTOP_PRELOAD_FOREIGN_BODY_H

#include <stdint.h>
#include "table_layout.h"

/* What the foreign object is (st_foreign_body.kind). */
typedef enum st_foreign_kind {
    ST_FOREIGN_NONE = 0,
    ST_FOREIGN_PY_LOCK,              /* multiprocessing.Lock: a semaphore(1, max 1) */
    ST_FOREIGN_PY_RLOCK,             /* multiprocessing.RLock: re-entries make no libc call */
    ST_FOREIGN_PY_SEMAPHORE,
    ST_FOREIGN_PY_BOUNDED_SEMAPHORE,
    ST_FOREIGN_PY_EVENT,
    ST_FOREIGN_PY_CONDITION,
    ST_FOREIGN_PY_QUEUE,             /* Queue and JoinableQueue */
    ST_FOREIGN_PY_SIMPLE_QUEUE,      /* SimpleQueue (a pipe and two locks; Pool uses them) */
    ST_FOREIGN_SEM_NAMED,            /* sem_open */
    ST_FOREIGN_SEM_UNNAMED,          /* sem_init(pshared = 1) */
    ST_FOREIGN_PTHREAD_MUTEX,
    ST_FOREIGN_PTHREAD_COND,
    ST_FOREIGN_PY_PIPE,              /* multiprocessing.Pipe: a socketpair or os.pipe (interpose_pipe.c) */
    ST_FOREIGN_PY_POOL,              /* multiprocessing.Pool: its task and result pipes (python_pool.c) */
    ST_FOREIGN_PY_MANAGED,           /* an object a multiprocessing manager serves (python_manager.c) */
    ST_FOREIGN_KIND_COUNT
} st_foreign_kind;

#define ST_FOREIGN_PARTS 3
#define ST_FOREIGN_PART_NONE 3u      /* a member without figures of its own */
#define ST_FOREIGN_MEMBERS_MAX 5

/* A member entry: identity key (56 bits), part (4 bits), operation (4 bits). */
static inline uint64_t st_foreign_member_pack(uint64_t key, unsigned part, unsigned op)
{
    return (key << 8) | ((uint64_t)(part & 0xfu) << 4) | (op & 0xfu);
}
static inline uint64_t st_foreign_member_key(uint64_t member) { return member >> 8; }
static inline unsigned st_foreign_member_part(uint64_t member) { return (unsigned)(member >> 4) & 0xfu; }
static inline unsigned st_foreign_member_op(uint64_t member) { return (unsigned)member & 0xfu; }
/* Keys are 56 bits and never 0 (0 is "no member"). */
#define ST_FOREIGN_KEY_MASK ((UINT64_C(1) << 56) - 1)

/* The figures of one part. holder_pid and waiters come first: with the
 * body's first fields they put what a lock's fast path writes on one
 * cache line. */
typedef struct st_foreign_part {
    int32_t holder_pid;             /* lock parts: who holds it, 0 when free */
    uint32_t waiters;               /* threads blocked on it right now */
    uint64_t acquisitions;          /* successful waits / locks / woken condition waits */
    uint64_t releases;              /* posts / condition signals */
    uint64_t contentions;           /* acquisitions that had to block */
    uint64_t wait_ns_total;         /* time blocked in those */
    uint64_t wait_ns_max;
    uint64_t timeouts;              /* timed waits that gave up */
} st_foreign_part;

typedef struct st_foreign_body {
    uint32_t kind;                  /* st_foreign_kind */
    uint32_t member_count;          /* members[0, member_count) are valid */
    uint64_t holder_thread;         /* primary lock: the holder's thread, with holder_pid */
    uint64_t hold_start_ticks;      /* the current hold, if it is timed (0: not) */
    st_foreign_part parts[ST_FOREIGN_PARTS];
    uint64_t members[ST_FOREIGN_MEMBERS_MAX];
    uint32_t initial;               /* the primary semaphore's value when it was registered */
    uint32_t maximum;               /* its bound: 1 for a Lock, the initial value of a
                                       BoundedSemaphore; 0 when unknown */
    uint32_t peak_in_use;           /* highest initial - value seen after an acquisition */
    uint32_t flag_at_lock;          /* Event: the flag's value when its lock was taken */
    uint64_t hold_samples;          /* holds timed (sampled as lock.c does) */
    uint64_t hold_ns_sampled;
    uint64_t hold_ns_max;
    uint64_t owner_died;            /* robust mutexes recovered from a dead holder */
    uint64_t try_failures;          /* non-blocking attempts that found it taken */
    uint64_t over_releases;         /* releases refused: bounded semaphore over-released */
    uint64_t notify_alls;           /* pthread_cond_broadcast calls */
    uint64_t sets;                  /* Event: changes from clear to set */
    uint64_t clears;                /* Event: changes from set to clear */
    union {
        st_histogram wait_histogram;    /* contended waits on the primary part, ns */
        struct {                        /* a Pipe: index 0 is A to B, 1 is B to A */
            uint64_t bytes_sent[2];     /* message payloads written (headers not counted) */
            uint64_t bytes_received[2]; /* message payloads read */
        } pipe;
        struct {                        /* a Pool (python_pool.c) */
            int32_t creator_pid;        /* the process that made it (runs its handler threads) */
            int32_t terminated;         /* 1 once it is being terminated (its creator drains the tasks) */
            uint64_t workers_started;   /* worker processes seen taking part */
            uint64_t workers_stopped;   /* of those, the ones that read their stop sentinel or left */
            uint64_t workers_replaced;  /* of those, the ones that left after maxtasksperchild tasks */
            uint64_t tasks_discarded;   /* task messages drained by the creator at terminate() */
            uint64_t tasks_failed;      /* result messages read that carry an exception */
            uint64_t task_ns_total;     /* worker time from reading a task to writing its result */
            uint64_t task_ns_max;
        } pool;
        struct {                        /* an object a manager serves */
            int64_t length;             /* len() of a dict or list after its last call; -1: not known */
            int32_t server_pid;         /* the manager's server process (0 until it served a call) */
            uint32_t pad;
            char typeid[32];            /* what the manager registered it as: "dict", "Lock"... */
        } managed;
    };
} st_foreign_body;

_Static_assert(sizeof(st_foreign_body) <= ST_OBJECT_BODY_SIZE, "foreign body fits its slot");

/* The value of the primary semaphore, derived from its counts the way the
 * native semaphore does: initial - acquisitions + releases, kept in
 * [0, maximum] (a moment's race between two processes may push it out). */
static inline uint64_t st_foreign_value(const st_foreign_body *b)
{
    uint64_t up = (uint64_t)b->initial + b->parts[0].releases;
    uint64_t down = b->parts[0].acquisitions;
    uint64_t value = up > down ? up - down : 0;
    if (b->maximum != 0 && value > b->maximum)
        value = b->maximum;
    return value;
}

#endif
