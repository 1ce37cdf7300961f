/* ring.h - the bounded ring of framed messages behind the Queue and the Pipe.
 *
 * A ring moves variable-length messages (up to a fixed maximum) between
 * processes through fixed-size slots in a data segment. Its control block
 * (st_ring, 256 bytes: four cache lines) lives in the owning object's slot
 * body in the status table, so the viewer reads its figures without ever
 * mapping the data; the slots live in the object's data segment.
 *
 *   st_ring (in the slot body)                 data segment
 *   +--------------------------------------+   +-------------------------------+
 *   | put side: put_mutex, head_seen,      |   | st_ring_segment_header (4 KiB)|
 *   |   put_bytes, put_bytes_next          |   |   waiter records (who sleeps) |
 *   | tail line: tail, put_bytes_tail,     |   +-------------------------------+
 *   |   high_water, not_empty (futex),     |   | slot 0: u32 length | payload  |
 *   |   consumers_sleeping, closed         |   | slot 1                        |
 *   | get side: get_mutex, tail_seen,      |   | ...  capacity slots of        |
 *   |   get_bytes, get_bytes_next          |   |      slot_size bytes (64 B    |
 *   | head line: head, get_bytes_head,     |   |      multiple)                |
 *   |   not_full (futex),                  |   +-------------------------------+
 *   |   producers_sleeping                 |   (a Pipe has two rings' slots)
 *   +--------------------------------------+
 *
 * Two locks, not one: producers serialise on put_mutex, consumers on
 * get_mutex, and the two sides meet only through tail and head (message
 * counts since creation, never wrapped: the slot is index % capacity). So one
 * producer and one consumer never take the same lock; each keeps a cached
 * copy of the other side's index (head_seen, tail_seen) in its own line and
 * reads the other's line only when the cache says full (or empty).
 *
 * Commit points make SIGKILL harmless. A producer copies the message into
 * slot[tail] under put_mutex and only then publishes tail + 1; a consumer
 * copies slot[head] out and only then publishes head + 1. A process killed
 * in between leaves the index unmoved: its half-written message is never
 * visible, a half-read message stays queued. Both mutexes are robust: the
 * next locker gets EOWNERDEAD, marks the mutex consistent and repairs the
 * byte counters from a small journal (put_bytes_next / put_bytes_tail: the
 * bytes figure as it will be once tail moves, and the tail it is exact for).
 *
 * Blocking: a full (empty) ring spins for a couple of microseconds,
 * re-reading head (tail), then sleeps on the not_full (not_empty) futex
 * word. Bit 0 of a futex word says "somebody sleeps here"; the rest is a
 * sequence. A sleeper sets the bit, re-checks, and sleeps while the word is
 * unchanged; the other side, after publishing its index, reads the word and
 * only when the bit is set clears it (moving the sequence) and wakes every
 * sleeper. So a put or get makes no system call unless somebody sleeps, and
 * one wake-up serves a whole burst, however long the sleeper takes to run.
 * Both sides order "write mine, read theirs" with a full barrier, so a
 * wake-up is never lost (Dekker's pattern). Sleepers woken for nothing set
 * the bit again and sleep.
 *
 * For the dashboard the sleepers are also counted (producers_sleeping,
 * consumers_sleeping). A process killed while asleep would leave its count
 * behind forever; every sleeper therefore holds a waiter record (pid, start
 * time, which counter) in the segment header, and
 * st_ring_reap_dead_sleepers() takes the counts of dead ones back. It runs
 * when a handle is opened and after a run of wakes that woke nobody.
 */
#ifndef SYNCTOP_RING_H
#define SYNCTOP_RING_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "internal.h"
#include "segment.h"

#define ST_RING_LINE 64
/* The slot header: the message length (a u32) padded to 8 bytes. */
#define ST_RING_SLOT_HEADER 8u
/* Limits, to keep a typo from reserving all of /dev/shm. */
#define ST_RING_MAX_CAPACITY (1u << 24)
#define ST_RING_MAX_MESSAGE_BYTES (64u << 20)
#define ST_RING_MAX_SEGMENT_BYTES (1ull << 32)
/* Room for a segment name in a slot body (they are at most ~100 bytes). */
#define ST_RING_SEGMENT_NAME_BYTES 112
/* The data segment begins with this header; the slots follow. */
#define ST_RING_SEGMENT_HEADER_BYTES 4096u
#define ST_RING_WAITER_RECORDS 128

typedef struct st_ring {
    /* Put side: written only by the holder of put_mutex. */
    pthread_mutex_t put_mutex;      /* robust, pshared */
    uint64_t head_seen;             /* head as a producer last read it (head only grows) */
    uint64_t put_bytes;             /* payload bytes ever put (exact when put_bytes_tail == tail) */
    uint64_t put_bytes_next;        /* journal: put_bytes once the put in flight has committed */

    /* Tail line: written by producers, read by consumers when they look empty. */
    uint64_t tail __attribute__((aligned(ST_RING_LINE)));  /* messages ever put */
    uint64_t put_bytes_tail;        /* journal: the tail that put_bytes is exact for */
    uint64_t high_water;            /* the deepest the ring was seen */
    uint64_t put_timeouts;          /* puts that gave up (full) */
    uint32_t not_empty;             /* futex: bit 0 consumers sleep, bits 1.. sequence */
    uint32_t consumers_sleeping;    /* consumers asleep on not_empty right now */
    uint32_t closed;                /* no more puts; gets drain then fail */
    uint32_t put_owner_died;        /* put_mutex recovered from a dead producer */

    /* Get side: written only by the holder of get_mutex. */
    pthread_mutex_t get_mutex __attribute__((aligned(ST_RING_LINE)));
    uint64_t tail_seen;             /* tail as a consumer last read it */
    uint64_t get_bytes;             /* payload bytes ever got (exact when get_bytes_head == head) */
    uint64_t get_bytes_next;        /* journal */

    /* Head line: written by consumers, read by producers when they look full. */
    uint64_t head __attribute__((aligned(ST_RING_LINE)));  /* messages ever got */
    uint64_t get_bytes_head;        /* journal: the head that get_bytes is exact for */
    uint64_t get_timeouts;          /* gets that gave up (empty) */
    uint32_t not_full;              /* futex: bit 0 producers sleep, bits 1.. sequence */
    uint32_t producers_sleeping;    /* producers asleep on not_full right now */
    uint32_t get_owner_died;        /* get_mutex recovered from a dead consumer */
    uint32_t reserved;
} st_ring;

_Static_assert(sizeof(st_ring) == 4 * ST_RING_LINE, "a ring's control block is four cache lines");
_Static_assert(sizeof(pthread_mutex_t) + 3 * sizeof(uint64_t) <= ST_RING_LINE, "a side fits its line");

/* The geometry of a ring, fixed at creation (kept in the owner's body). */
typedef struct st_ring_shape {
    uint32_t capacity;              /* messages */
    uint32_t max_message_bytes;
    uint32_t slot_size;             /* ST_RING_SLOT_HEADER + max, rounded up to 64 */
    uint32_t ready;                 /* 1 once the data segment exists */
} st_ring_shape;

/* Who sleeps on which counter: one per sleeper, in the segment header. */
typedef struct st_waiter_record {
    int32_t pid;                    /* 0 free, -1 being filled or reaped, else the sleeper */
    uint32_t counted;               /* 1 while the sleeper is in its counter */
    uint32_t counter_offset;        /* the counter: a u32 at this offset in the owner's body */
    uint32_t reserved;
    uint64_t start_ticks;           /* with pid: the process (pid reuse is real) */
} st_waiter_record;

typedef struct st_ring_segment_header {
    uint32_t fruitless_wakes;       /* wakes that found nobody asleep, since the last reap */
    uint32_t record_count;
    uint8_t pad[ST_RING_LINE - 8];
    st_waiter_record records[ST_RING_WAITER_RECORDS];
} st_ring_segment_header;

_Static_assert(sizeof(st_ring_segment_header) <= ST_RING_SEGMENT_HEADER_BYTES, "segment header fits");

/* A process's view of one ring (or of a sleep site, for Queue's join). */
typedef struct st_ring_port {
    st_ring *ring;
    uint8_t *slots;                 /* slot 0 in the mapped segment */
    uint32_t capacity;
    uint32_t slot_size;
    uint32_t max_message_bytes;
    st_operation put_op;            /* ST_OP_PUT or ST_OP_SEND: for "blocked on" */
    st_operation get_op;            /* ST_OP_GET or ST_OP_RECV */
    st_table *table;
    uint32_t object_index;
    uint8_t *body;                  /* the owner's slot body: counter offsets are relative to it */
    st_ring_segment_header *segment;
    uint64_t spin_ticks;            /* how long to spin before sleeping */
    const char *label;              /* "queue 'jobs'", for messages */
} st_ring_port;

/* The slot size for a maximum message size. */
uint32_t st_ring_slot_size(uint32_t max_message_bytes);

/* Check a capacity and a maximum message size (before creating anything);
 * rings is how many rings share the segment. Sets *segment_bytes. */
st_result st_ring_check_shape(const char *what, uint64_t capacity, uint64_t max_message_bytes, unsigned rings,
                              size_t *segment_bytes);

/* From inside an object's body init (under st_object_open): create the
 * data segment of bytes for the object whose body this is, named after the
 * session, kind, slot and creation time; the name goes to name_out. */
st_result st_ring_segment_create(st_table *table, const void *body, const char *kind, size_t bytes,
                                 char name_out[ST_RING_SEGMENT_NAME_BYTES], st_segment *segment);

/* Map the data segment named in a body (a bounded copy is taken), checking
 * that it is as large as shape and rings require. */
st_result st_ring_segment_attach(const char *what, const char name[ST_RING_SEGMENT_NAME_BYTES],
                                 const st_ring_shape *shape, unsigned rings, st_segment *segment);

/* Initialise a control block in place (mutexes; everything else zero). */
void st_ring_init(st_ring *ring);

/* Fill a port. slots is where this ring's slot 0 lies in the segment. */
void st_ring_port_init(st_ring_port *port, st_table *table, uint32_t object_index, st_ring *ring,
                       const st_ring_shape *shape, st_ring_segment_header *segment, uint8_t *slots,
                       st_operation put_op, st_operation get_op, const char *label);

/* Put a message (length <= max_message_bytes, checked by the caller).
 * ST_OK, ST_ETIMEDOUT (full for timeout_ns; 0 tries once), ST_ECLOSED. */
st_result st_ring_put(st_ring_port *port, const void *data, size_t length, int64_t timeout_ns);

/* Only if there is room right now: ST_OK, ST_EBUSY (full), ST_ECLOSED. */
st_result st_ring_try_put(st_ring_port *port, const void *data, size_t length);

/* Get the oldest message into buffer. *length is its size, also when the
 * buffer is too small (ST_EOVERFLOW: the message stays queued). ST_OK,
 * ST_ETIMEDOUT (empty for timeout_ns), ST_ECLOSED (closed and drained). */
st_result st_ring_get(st_ring_port *port, void *buffer, size_t size, size_t *length, int64_t timeout_ns);

/* Only if there is a message right now: ST_OK, ST_EOVERFLOW, ST_EBUSY
 * (empty), ST_ECLOSED (closed and drained). */
st_result st_ring_try_get(st_ring_port *port, void *buffer, size_t size, size_t *length);

/* Wait until a message is there (ST_OK) or timeout_ns passes (ST_ETIMEDOUT);
 * ST_ECLOSED when closed and drained. Consumes nothing. */
st_result st_ring_wait_readable(st_ring_port *port, int64_t timeout_ns);

/* Close: puts fail from now on, gets drain what is left then fail; every
 * sleeper wakes. Idempotent. */
st_result st_ring_close(st_ring_port *port);

/* Messages queued right now (tail - head, clamped to [0, capacity]): for a
 * private copy of a control block as well. */
uint64_t st_ring_depth(const st_ring *ring, uint32_t capacity);
/* Payload bytes queued right now (put_bytes - get_bytes, clamped). */
uint64_t st_ring_bytes(const st_ring *ring);

/* ---- sleeping, for the ring and for other waits of the same object ---- */

typedef struct st_ring_sleeper {
    uint32_t expected;              /* the futex word's value to sleep on */
    st_waiter_record *record;       /* NULL when all records are taken */
} st_ring_sleeper;

/* About to sleep on word (a futex word as above, in the port's body):
 * count the caller in *sleepers, record who it is, set the word's sleep
 * bit, and issue a full barrier. The caller then re-checks its condition
 * and, if it still must wait, calls st_futex_wait(word, sleeper->expected,
 * deadline); then st_ring_sleeper_leave() in every case. */
void st_ring_sleeper_enter(st_ring_port *port, uint32_t *word, uint32_t *sleepers, st_ring_sleeper *sleeper);
void st_ring_sleeper_leave(st_ring_port *port, uint32_t *sleepers, st_ring_sleeper *sleeper);

/* After publishing (with a full barrier): if word's sleep bit is set, clear
 * it, move its sequence and wake every sleeper. */
void st_ring_wake(st_ring_port *port, uint32_t *word);

/* Take back the sleeper counts of processes that died asleep. */
void st_ring_reap_dead_sleepers(st_ring_port *port);

#endif
