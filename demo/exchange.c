/* exchange.c - the exchange lesson: five ways to move data between
 * processes, raced side by side - speed against safety and ease.
 *
 * The material ranks the ways to exchange data between processes by speed:
 * shared memory > Pipe > Value/Array > Queue > a manager's dict, and by
 * safety and ease the other way round. The class watches the race here:
 * five pairs of processes move the same stream of 64-byte records (a
 * sequence number, a payload derived from it, and a checksum) at the same
 * time, each pair through one mechanism, all of synctop's own:
 *
 *   shm    shm-writer -> shm-reader      the region "exchange-shm-ring" (64
 *          record slots) and two semaphores as the handshake:
 *          "exchange-shm-free" (slots to write) and "exchange-shm-filled"
 *          (records to read). Without them the reader would see torn
 *          records - half old, half new.
 *   pipe   pipe-writer -> pipe-reader    the pipe "exchange-pipe", end A to
 *          end B (64 records in flight).
 *   value  value-writer -> value-reader  one record slot, the Array
 *          "exchange-value-slot" (8 uint64 under its built-in lock), and the
 *          semaphores "exchange-value-empty" / "exchange-value-full": the
 *          two take turns, one record at a time.
 *   queue  queue-writer -> queue-reader  the queue "exchange-queue" (64).
 *   dict   dict-writer -> dict-reader    the dict "exchange-dict": the
 *          writer sets key "rec-<i>", the reader gets and deletes it (it
 *          polls: a dict is not a channel; the dashboard counts misses).
 *
 * The process "exchange-referee" opens everything, forks the ten racers,
 * starts them together with the event "exchange-start", and while they run
 * prints each mechanism's records per second as text bars (once a second
 * of lesson time). The readers publish their rates in the Array
 * "records-per-second" (5 entries, in the order above: over the last
 * quarter second while racing, the whole race's average at the end) and
 * their counts in "records-moved". When the time is up each writer sends
 * an end record carrying the number of records it sent; its reader stops
 * there. At the end the referee prints the ranking the class just watched
 * next to the book's: it is reported, never asserted - on this machine the
 * pipe and the queue are rings in shared memory (Python's Pipe is a kernel
 * pipe, its Queue adds a feeder thread and pickling), the dict has no
 * manager process to ask, and on two busy cores the scheduler has its say.
 *
 * The racers run at nice 5 so that lessons running beside them keep their
 * pace. The hot objects are not traced (as the race lesson's bank-lock):
 * their million operations a second would push every other lesson's story
 * out of the session's event ring; the start event and the two arrays are.
 *
 * The claims checked: every record of every pair arrived exactly once,
 * intact, in order (none lost, duplicated or corrupted, and the end record
 * counts them all); each mechanism moved at least one record; and
 * "records-moved" and "records-per-second" hold what the readers counted.
 * Exit status 1 otherwise, naming the claim.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crew.h"

#define LANES 5
#define RING_SLOTS 64                  /* records in flight: ring, pipe, queue, dict */
#define RECORD_WORDS 8
#define PAYLOAD_WORDS 5
#define RACER_NICENESS 5
#define NARRATE_NS 1000000000LL        /* rate bars, once a second of lesson time */
#define PUBLISH_NS 250000000LL         /* readers publish their rate this often */
#define WAIT_SLICE_NS 200000000LL      /* every wait: so long, then look at the stop */
#define DICT_POLL_NS 100000LL          /* the dict's poll interval (a mechanism's
                                          property, not the story's pace: unscaled) */
#define READY_TIMEOUT_NS 30000000000LL
#define SILENCE_LIMIT_NS 10000000000LL /* after the end: a peer silent this long is lost */
#define BAR_WIDTH 40

#define RATES_NAME "records-per-second"
#define MOVED_NAME "records-moved"
#define START_NAME "exchange-start"
#define RING_NAME "exchange-shm-ring"
#define RING_FREE_NAME "exchange-shm-free"
#define RING_FILLED_NAME "exchange-shm-filled"
#define PIPE_NAME "exchange-pipe"
#define SLOT_NAME "exchange-value-slot"
#define SLOT_EMPTY_NAME "exchange-value-empty"
#define SLOT_FULL_NAME "exchange-value-full"
#define QUEUE_NAME "exchange-queue"
#define DICT_NAME "exchange-dict"
#define DICT_END_KEY "end"

enum lane_id { LANE_SHM, LANE_PIPE, LANE_VALUE, LANE_QUEUE, LANE_DICT };

enum record_kind { RECORD_DATA = 1, RECORD_END = 2 };

/* 64 bytes; an end record's sequence is the number of data records sent. */
struct record {
    uint64_t sequence;
    uint32_t kind;
    uint32_t lane;
    uint64_t payload[PAYLOAD_WORDS];
    uint64_t checksum;
};
_Static_assert(sizeof(struct record) == RECORD_WORDS * sizeof(uint64_t), "a record is 64 bytes");

/* What one pair wrote down (memory shared with the referee). */
struct lane_sheet {
    uint64_t sent;            /* writer: data records sent */
    uint64_t received;        /* reader: data records got (each counted once) */
    uint64_t lost, duplicated, corrupted;
    uint64_t end_count;       /* the end record's count */
    uint64_t average_rate;    /* reader: what it published at the end */
    int64_t finish_ns;        /* reader: when the end record came */
    int writer_finished, reader_finished;
    char problem[160];        /* the first thing that went wrong */
};

struct race_sheet {
    int ready;                /* racers waiting for the start */
    int64_t start_ns;
    struct lane_sheet lanes[LANES];
};

enum transfer { MOVED, NOT_YET, BROKEN };

struct exchange {
    const struct lesson_options *opts;
    st_table *table;
    st_shm *region;                    /* the referee's */
    st_shm *own_region;                /* an shm racer's own attachment */
    struct record *ring;
    uint64_t cursor;                   /* a racer's next ring slot */
    st_semaphore *ring_free, *ring_filled;
    st_pipe_end *pipe_a, *pipe_b;
    st_array *slot;
    st_semaphore *slot_empty, *slot_full;
    st_queue *queue;
    st_dict *dict;
    st_array *rates, *moved;
    st_event *start;
    struct race_sheet *sheet;
    struct crew crew;
};

/* One mechanism: its racers' setup and one record in or out. */
struct transport {
    const char *name;
    int book_place;            /* 1 = fastest in the book */
    const char *how;           /* narration */
    const char *why_here;      /* why it may place differently on this machine */
    bool (*setup)(struct exchange *x, bool writer);   /* in the racer; may be NULL */
    enum transfer (*send)(struct exchange *x, const struct record *r, int64_t timeout_ns);
    enum transfer (*receive)(struct exchange *x, uint64_t expected, struct record *r,
                             int64_t timeout_ns);
};

static const struct transport transports[LANES];

/* ==== records ================================================================ */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static uint64_t record_checksum(const struct record *r)
{
    uint64_t words[RECORD_WORDS];
    memcpy(words, r, sizeof words);
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < RECORD_WORDS - 1; i++)
        h = (h ^ words[i]) * 1099511628211ull;
    return h;
}

static void make_record(struct record *r, int lane, uint64_t sequence, enum record_kind kind)
{
    r->sequence = sequence;
    r->kind = kind;
    r->lane = (uint32_t)lane;
    for (int k = 0; k < PAYLOAD_WORDS; k++)
        r->payload[k] = mix(sequence * PAYLOAD_WORDS + (uint64_t)k + ((uint64_t)lane << 56));
    r->checksum = record_checksum(r);
}

/* Checksum right and every word what its sequence number says: a torn
 * record (half of one, half of another) cannot pass. */
static bool record_intact(const struct record *r, int lane)
{
    if (r->checksum != record_checksum(r) || r->lane != (uint32_t)lane ||
        (r->kind != RECORD_DATA && r->kind != RECORD_END))
        return false;
    for (int k = 0; k < PAYLOAD_WORDS; k++)
        if (r->payload[k] != mix(r->sequence * PAYLOAD_WORDS + (uint64_t)k + ((uint64_t)lane << 56)))
            return false;
    return true;
}

/* ==== the five transports ====================================================== */

static enum transfer outcome(st_result result, const char *what)
{
    if (result == ST_OK)
        return MOVED;
    if (result == ST_ETIMEDOUT)
        return NOT_YET;
    demo_report(what, result);
    return BROKEN;
}

/* -- shm: a ring of record slots, two semaphores as the handshake -- */

static bool shm_setup(struct exchange *x, bool writer)
{
    (void)writer;
    /* Attach by name, as an unrelated process would: "attached" counts us.
     * (The referee's handle, inherited, stays as it is: closing it here
     * would detach the referee.) */
    st_result result = st_shm_attach(x->table, RING_NAME, &x->own_region);
    if (result != ST_OK) {
        demo_report("st_shm_attach(" RING_NAME ")", result);
        return false;
    }
    x->ring = st_shm_data(x->own_region);
    x->cursor = 0;
    return true;
}

static enum transfer shm_send(struct exchange *x, const struct record *r, int64_t timeout_ns)
{
    enum transfer t = outcome(st_semaphore_acquire(x->ring_free, timeout_ns),
                              "st_semaphore_acquire(" RING_FREE_NAME ")");
    if (t != MOVED)
        return t;
    x->ring[x->cursor++ % RING_SLOTS] = *r;
    return outcome(st_semaphore_release(x->ring_filled), "st_semaphore_release(" RING_FILLED_NAME ")");
}

static enum transfer shm_receive(struct exchange *x, uint64_t expected, struct record *r,
                                 int64_t timeout_ns)
{
    (void)expected;
    enum transfer t = outcome(st_semaphore_acquire(x->ring_filled, timeout_ns),
                              "st_semaphore_acquire(" RING_FILLED_NAME ")");
    if (t != MOVED)
        return t;
    *r = x->ring[x->cursor++ % RING_SLOTS];
    return outcome(st_semaphore_release(x->ring_free), "st_semaphore_release(" RING_FREE_NAME ")");
}

/* -- pipe: end A to end B -- */

static bool pipe_setup(struct exchange *x, bool writer)
{
    /* Each racer keeps its own end, as after Python's Pipe() and fork. */
    if (writer) {
        st_pipe_close(x->pipe_b);
        x->pipe_b = NULL;
    } else {
        st_pipe_close(x->pipe_a);
        x->pipe_a = NULL;
    }
    return true;
}

static enum transfer pipe_send(struct exchange *x, const struct record *r, int64_t timeout_ns)
{
    return outcome(st_pipe_send(x->pipe_a, r, sizeof *r, timeout_ns), "st_pipe_send(" PIPE_NAME ")");
}

static enum transfer pipe_receive(struct exchange *x, uint64_t expected, struct record *r,
                                  int64_t timeout_ns)
{
    (void)expected;
    size_t length = 0;
    enum transfer t = outcome(st_pipe_recv(x->pipe_b, r, sizeof *r, &length, timeout_ns),
                              "st_pipe_recv(" PIPE_NAME ")");
    if (t == MOVED && length != sizeof *r)
        memset(r, 0, sizeof *r);   /* counted as corrupted */
    return t;
}

/* -- value: one record slot under its lock, taken in turns -- */

static enum transfer value_send(struct exchange *x, const struct record *r, int64_t timeout_ns)
{
    enum transfer t = outcome(st_semaphore_acquire(x->slot_empty, timeout_ns),
                              "st_semaphore_acquire(" SLOT_EMPTY_NAME ")");
    if (t != MOVED)
        return t;
    uint64_t words[RECORD_WORDS];
    memcpy(words, r, sizeof words);
    t = outcome(st_array_set_range(x->slot, 0, RECORD_WORDS, words), "st_array_set_range(" SLOT_NAME ")");
    if (t != MOVED)
        return BROKEN;
    return outcome(st_semaphore_release(x->slot_full), "st_semaphore_release(" SLOT_FULL_NAME ")");
}

static enum transfer value_receive(struct exchange *x, uint64_t expected, struct record *r,
                                   int64_t timeout_ns)
{
    (void)expected;
    enum transfer t = outcome(st_semaphore_acquire(x->slot_full, timeout_ns),
                              "st_semaphore_acquire(" SLOT_FULL_NAME ")");
    if (t != MOVED)
        return t;
    uint64_t words[RECORD_WORDS];
    t = outcome(st_array_get_range(x->slot, 0, RECORD_WORDS, words), "st_array_get_range(" SLOT_NAME ")");
    if (t != MOVED)
        return BROKEN;
    memcpy(r, words, sizeof *r);
    return outcome(st_semaphore_release(x->slot_empty), "st_semaphore_release(" SLOT_EMPTY_NAME ")");
}

/* -- queue -- */

static enum transfer queue_send(struct exchange *x, const struct record *r, int64_t timeout_ns)
{
    return outcome(st_queue_put(x->queue, r, sizeof *r, timeout_ns), "st_queue_put(" QUEUE_NAME ")");
}

static enum transfer queue_receive(struct exchange *x, uint64_t expected, struct record *r,
                                   int64_t timeout_ns)
{
    (void)expected;
    size_t length = 0;
    enum transfer t = outcome(st_queue_get(x->queue, r, sizeof *r, &length, timeout_ns),
                              "st_queue_get(" QUEUE_NAME ")");
    if (t != MOVED)
        return t;
    if (length != sizeof *r)
        memset(r, 0, sizeof *r);   /* counted as corrupted */
    /* A JoinableQueue: marking it done keeps unfinished_tasks honest. */
    return outcome(st_queue_task_done(x->queue), "st_queue_task_done(" QUEUE_NAME ")");
}

/* -- dict: key rec-<i> set by the writer, got and deleted by the reader -- */

static void dict_key(char *key, size_t size, const struct record *r)
{
    if (r->kind == RECORD_END)
        snprintf(key, size, DICT_END_KEY);
    else
        snprintf(key, size, "rec-%" PRIu64, r->sequence);
}

static void dict_poll_nap(void)
{
    demo_sleep_until(demo_now_ns() + DICT_POLL_NS);
}

static enum transfer dict_send(struct exchange *x, const struct record *r, int64_t timeout_ns)
{
    char key[32];
    dict_key(key, sizeof key, r);
    int64_t deadline = demo_now_ns() + timeout_ns;
    for (;;) {
        st_result result = st_dict_set(x->dict, key, r, sizeof *r);
        if (result != ST_EFULL)
            return outcome(result, "st_dict_set(" DICT_NAME ")");
        if (demo_now_ns() >= deadline || demo_stop_requested())
            return NOT_YET;   /* every entry taken: the reader is behind */
        dict_poll_nap();
    }
}

/* Copy key's value into r (and delete it when take): MOVED, or NOT_YET
 * when the key is not there. */
static enum transfer dict_fetch(struct exchange *x, const char *key, struct record *r, bool take)
{
    size_t size = 0;
    st_result result = st_dict_get(x->dict, key, r, sizeof *r, &size);
    if (result == ST_ENOENT)
        return NOT_YET;
    if (outcome(result, "st_dict_get(" DICT_NAME ")") != MOVED)
        return BROKEN;
    if (size != sizeof *r)
        memset(r, 0, sizeof *r);   /* counted as corrupted */
    return take ? outcome(st_dict_delete(x->dict, key), "st_dict_delete(" DICT_NAME ")") : MOVED;
}

static enum transfer dict_receive(struct exchange *x, uint64_t expected, struct record *r,
                                  int64_t timeout_ns)
{
    char key[32];
    snprintf(key, sizeof key, "rec-%" PRIu64, expected);
    int64_t deadline = demo_now_ns() + timeout_ns;
    for (;;) {
        enum transfer t = dict_fetch(x, key, r, true);
        if (t != NOT_YET)
            return t;
        /* The writer sets the end key after its last record: once it is
         * there, the record is there too - unless it was never set. It
         * may have come between our two looks: look once more. */
        t = dict_fetch(x, DICT_END_KEY, r, false);
        if (t == MOVED) {
            t = dict_fetch(x, key, r, true);
            return t != NOT_YET ? t : dict_fetch(x, DICT_END_KEY, r, true);
        }
        if (t == BROKEN)
            return BROKEN;
        if (demo_now_ns() >= deadline || demo_stop_requested())
            return NOT_YET;
        dict_poll_nap();   /* a miss: the dashboard's "misses" */
    }
}

static const struct transport transports[LANES] = {
    [LANE_SHM] = { "shm", 1,
                   "a ring of 64 slots in the region \"" RING_NAME "\", handshake by the "
                   "semaphores \"" RING_FREE_NAME "\" and \"" RING_FILLED_NAME "\"",
                   "every record costs two semaphore operations (a futex call when a side waits): "
                   "the memory is fast, the handshake is not free",
                   shm_setup, shm_send, shm_receive },
    [LANE_PIPE] = { "pipe", 2, "the pipe \"" PIPE_NAME "\", end A to end B",
                    "synctop's Pipe is a ring in shared memory like its Queue (Python's is a kernel "
                    "pipe plus pickling): the two differ by little more than scheduling",
                    pipe_setup, pipe_send, pipe_receive },
    [LANE_VALUE] = { "value", 3,
                     "one record slot, the Array \"" SLOT_NAME "\" under its lock, taken in "
                     "turns through \"" SLOT_EMPTY_NAME "\" and \"" SLOT_FULL_NAME "\"",
                     "one slot: writer and reader take turns, two hand-offs and a lock per "
                     "record, so it cannot pipeline as the rings do",
                     NULL, value_send, value_receive },
    [LANE_QUEUE] = { "queue", 4, "the queue \"" QUEUE_NAME "\" (64 records)",
                     "a ring in shared memory too (Python's Queue adds a feeder thread, a pipe and "
                     "pickling); it also counts task_done",
                     NULL, queue_send, queue_receive },
    [LANE_DICT] = { "dict", 5,
                    "the dict \"" DICT_NAME "\": set rec-<i>, get and delete it",
                    "a hash table in shared memory under one lock, not a manager process a socket "
                    "away: no round trip, but the reader polls (misses) and each record is a set, "
                    "a get and a delete",
                    NULL, dict_send, dict_receive },
};

/* ==== the racers ================================================================ */

static void note_problem(struct lane_sheet *sheet, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note_problem(struct lane_sheet *sheet, const char *fmt, ...)
{
    if (sheet->problem[0] != '\0')
        return;   /* the first one tells the story */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sheet->problem, sizeof sheet->problem, fmt, ap);
    va_end(ap);
}

/* Say "ready" and wait for the starter. False when stopped first. */
static bool await_start(struct exchange *x)
{
    __atomic_add_fetch(&x->sheet->ready, 1, __ATOMIC_RELEASE);
    for (;;) {
        st_result result = st_event_wait(x->start, WAIT_SLICE_NS);
        if (result == ST_OK)
            return true;
        if (result != ST_ETIMEDOUT) {
            demo_report("st_event_wait(" START_NAME ")", result);
            return false;
        }
        if (demo_stop_requested() || getppid() != x->crew.parent)
            return false;
    }
}

/* A racer's setup, shared by writer and reader. */
static bool racer_setup(struct exchange *x, int lane, bool writer)
{
    errno = 0;
    if (nice(RACER_NICENESS) == -1 && errno != 0)
        demo_warn("nice: %s (racing at the usual priority)", strerror(errno));
    const struct transport *t = &transports[lane];
    return t->setup == NULL || t->setup(x, writer);
}

static void racer_teardown(struct exchange *x)
{
    st_shm_close(x->own_region);   /* only the shm racers attached one */
    x->own_region = NULL;
}

/* Send one record, waiting as long as it takes - unless a stop is
 * requested, the referee is gone, or (after the end) the reader has been
 * silent too long. */
static enum transfer send_patiently(struct exchange *x, int lane, const struct record *r)
{
    const struct transport *t = &transports[lane];
    int64_t since = demo_now_ns();
    for (;;) {
        enum transfer result = t->send(x, r, WAIT_SLICE_NS);
        if (result != NOT_YET)
            return result;
        if (demo_stop_requested() || getppid() != x->crew.parent)
            return NOT_YET;
        if (demo_time_is_up() && demo_now_ns() - since > SILENCE_LIMIT_NS) {
            note_problem(&x->sheet->lanes[lane], "%s-reader took nothing for %.0f s", t->name,
                         SILENCE_LIMIT_NS / 1e9);
            return BROKEN;
        }
    }
}

static int writer_main(void *context, int number, struct crew_member *self)
{
    struct exchange *x = context;
    int lane = number - 1;
    struct lane_sheet *sheet = &x->sheet->lanes[lane];
    (void)self;
    if (!racer_setup(x, lane, true))
        return 1;
    int status = 0;
    if (await_start(x)) {
        struct record r;
        uint64_t sent = 0;
        enum transfer result;
        do {   /* at least one record, however early the end */
            make_record(&r, lane, sent, RECORD_DATA);
            result = send_patiently(x, lane, &r);
            if (result == MOVED)
                sheet->sent = ++sent;
        } while (result == MOVED && !demo_should_stop());
        if (result == MOVED) {
            make_record(&r, lane, sent, RECORD_END);
            result = send_patiently(x, lane, &r);
        }
        sheet->writer_finished = result == MOVED;
        status = result == BROKEN ? 1 : 0;
    }
    racer_teardown(x);
    return status;
}

/* A reader's running count, and its rate as it publishes it. */
struct reader_state {
    int lane;
    uint64_t expected;         /* the next sequence number */
    uint64_t window_count;     /* received when the window began */
    int64_t window_start_ns;
    int64_t next_publish_ns;
};

static void publish(struct exchange *x, struct reader_state *s, uint64_t rate)
{
    struct lane_sheet *sheet = &x->sheet->lanes[s->lane];
    st_result result = st_array_set_u64(x->rates, (size_t)s->lane, rate);
    if (result == ST_OK)
        result = st_array_set_u64(x->moved, (size_t)s->lane, sheet->received);
    if (result != ST_OK)
        demo_report("st_array_set_u64(" RATES_NAME "/" MOVED_NAME ")", result);
}

/* While racing: the rate over the last window. */
static void publish_if_due(struct exchange *x, struct reader_state *s)
{
    int64_t now = demo_now_ns();
    if (now < s->next_publish_ns)
        return;
    uint64_t received = x->sheet->lanes[s->lane].received;
    int64_t span = now - s->window_start_ns;
    uint64_t rate = span > 0 ? (uint64_t)((double)(received - s->window_count) * 1e9 / (double)span) : 0;
    publish(x, s, rate);
    s->window_count = received;
    s->window_start_ns = now;
    s->next_publish_ns = now + lesson_pace(x->opts, PUBLISH_NS);
}

/* The whole race's average: records over the time from the start to the
 * end record. */
static uint64_t average_rate(uint64_t records, int64_t start_ns, int64_t finish_ns)
{
    int64_t span = finish_ns - start_ns;
    return span > 0 ? (uint64_t)((double)records * 1e9 / (double)span) : 0;
}

/* Check one record against what should come next; true at the end record. */
static bool check_record(struct lane_sheet *sheet, struct reader_state *s, const struct record *r)
{
    const char *name = transports[s->lane].name;
    if (!record_intact(r, s->lane)) {
        sheet->corrupted++;
        note_problem(sheet, "%s: a corrupted record after sequence %" PRIu64, name, s->expected);
        return false;
    }
    if (r->kind == RECORD_END) {
        sheet->end_count = r->sequence;
        if (r->sequence > s->expected) {
            sheet->lost += r->sequence - s->expected;
            note_problem(sheet, "%s: the writer sent %" PRIu64 " records, the reader got up to %" PRIu64,
                         name, r->sequence, s->expected);
        }
        return true;
    }
    if (r->sequence < s->expected) {
        sheet->duplicated++;
        note_problem(sheet, "%s: record %" PRIu64 " came again after %" PRIu64, name, r->sequence,
                     s->expected - 1);
        return false;
    }
    if (r->sequence > s->expected) {
        sheet->lost += r->sequence - s->expected;
        note_problem(sheet, "%s: records %" PRIu64 " .. %" PRIu64 " never came", name, s->expected,
                     r->sequence - 1);
    }
    sheet->received++;
    s->expected = r->sequence + 1;
    return false;
}

/* Receive until the end record. Stops early only on a stop request or when
 * the referee is gone: the writer's last records must still be got. */
static int read_until_end(struct exchange *x, struct reader_state *s)
{
    const struct transport *t = &transports[s->lane];
    struct lane_sheet *sheet = &x->sheet->lanes[s->lane];
    int64_t last_news = demo_now_ns();
    for (;;) {
        struct record r;
        enum transfer result = t->receive(x, s->expected, &r, WAIT_SLICE_NS);
        if (result == BROKEN)
            return 1;
        if (result == NOT_YET) {
            if (demo_stop_requested())
                return 0;
            if (getppid() != x->crew.parent)
                return 1;
            if (demo_time_is_up() && demo_now_ns() - last_news > SILENCE_LIMIT_NS) {
                note_problem(sheet, "no end record from %s-writer %.0f s after the end", t->name,
                             SILENCE_LIMIT_NS / 1e9);
                return 1;
            }
        } else {
            last_news = demo_now_ns();
            if (check_record(sheet, s, &r))
                break;
        }
        publish_if_due(x, s);
    }
    sheet->finish_ns = demo_now_ns();
    sheet->average_rate = average_rate(sheet->received, x->sheet->start_ns, sheet->finish_ns);
    publish(x, s, sheet->average_rate);
    sheet->reader_finished = 1;
    return 0;
}

static int reader_main(void *context, int number, struct crew_member *self)
{
    struct exchange *x = context;
    struct reader_state s = { .lane = number - 1 };
    (void)self;
    if (!racer_setup(x, s.lane, false))
        return 1;
    int status = 0;
    if (await_start(x)) {
        s.window_start_ns = demo_now_ns();
        s.next_publish_ns = s.window_start_ns + lesson_pace(x->opts, PUBLISH_NS);
        status = read_until_end(x, &s);
    }
    racer_teardown(x);
    return status;
}

/* ==== the referee: setting up ===================================================== */

static bool opened(st_result result, const char *what)
{
    if (result != ST_OK)
        demo_report(what, result);
    return result == ST_OK;
}

/* A fresh ring: one left over by a killed run is unlinked first. */
static bool open_ring(struct exchange *x)
{
    size_t bytes = RING_SLOTS * sizeof(struct record);
    st_result result = st_shm_create(x->table, RING_NAME, bytes, &x->region);
    if (result == ST_EBUSY) {
        st_shm_unlink_name(x->table, RING_NAME);
        result = st_shm_create(x->table, RING_NAME, bytes, &x->region);
    }
    if (!opened(result, "st_shm_create(" RING_NAME ")"))
        return false;
    x->ring = st_shm_data(x->region);
    return true;
}

/* A handshake semaphore at value, whatever a killed run left in it. */
static bool open_handshake(st_table *table, const char *name, uint32_t value, st_semaphore **out)
{
    char what[96];
    snprintf(what, sizeof what, "st_semaphore_open(%s)", name);
    if (!opened(st_semaphore_open(table, name, value, out), what))
        return false;
    uint32_t now = 0;
    if (st_semaphore_value(*out, &now) != ST_OK || now == value)
        return true;
    while (st_semaphore_try(*out) == ST_OK)
        ;
    return value == 0 || opened(st_semaphore_release_n(*out, value), "st_semaphore_release_n");
}

/* Records a killed run left behind are not ours. */
static void discard_leftovers(struct exchange *x)
{
    struct record stale;
    size_t length;
    while (st_pipe_recv(x->pipe_b, &stale, sizeof stale, &length, 0) == ST_OK)
        ;
    while (st_queue_try_get(x->queue, &stale, sizeof stale, &length) == ST_OK)
        st_queue_task_done(x->queue);
    st_dict_item item;
    size_t count = 0;
    while (st_dict_items(x->dict, &item, 1, &count) == ST_OK && count > 0)
        if (st_dict_delete(x->dict, item.key) != ST_OK)
            break;
}

static bool open_array(st_table *table, const char *name, size_t length, st_array **out)
{
    char what[96];
    snprintf(what, sizeof what, "st_array_open(%s)", name);
    if (!opened(st_array_open(table, name, ST_UINT64, length, out), what))
        return false;
    if (st_array_length(*out) != length) {
        demo_warn("the session already has an Array \"%s\" of another length; use another --session",
                  name);
        return false;
    }
    return true;
}

/* The readers' figures start from zero, whatever a killed run left. */
static bool zero_figures(struct exchange *x)
{
    uint64_t zeros[LANES] = { 0 };
    return opened(st_array_set_range(x->rates, 0, LANES, zeros), "st_array_set_range(" RATES_NAME ")") &&
           opened(st_array_set_range(x->moved, 0, LANES, zeros), "st_array_set_range(" MOVED_NAME ")");
}

static bool queue_usable(struct exchange *x)
{
    st_queue_info info;
    if (!opened(st_queue_info_get(x->queue, &info), "st_queue_info_get(" QUEUE_NAME ")"))
        return false;
    if (info.closed || info.max_message_bytes < sizeof(struct record)) {
        demo_warn("the session already has a queue \"" QUEUE_NAME "\" that %s; use another --session",
                  info.closed ? "was shut down" : "cannot hold a record");
        return false;
    }
    return true;
}

/* The hot objects are not traced (see the top). */
static void untrace_hot_objects(struct exchange *x)
{
    static const char *const hot[] = { RING_FREE_NAME, RING_FILLED_NAME, PIPE_NAME, SLOT_NAME,
                                       SLOT_EMPTY_NAME, SLOT_FULL_NAME, QUEUE_NAME, DICT_NAME };
    for (size_t i = 0; i < sizeof hot / sizeof hot[0]; i++) {
        st_result result = st_trace_set(x->table, hot[i], false);
        if (result != ST_OK)
            demo_report("st_trace_set", result);
    }
}

static bool open_objects(struct exchange *x)
{
    st_table *t = x->table;
    bool ok = open_ring(x) && open_handshake(t, RING_FREE_NAME, RING_SLOTS, &x->ring_free) &&
              open_handshake(t, RING_FILLED_NAME, 0, &x->ring_filled) &&
              opened(st_pipe_open(t, PIPE_NAME, RING_SLOTS, sizeof(struct record), &x->pipe_a, &x->pipe_b),
                     "st_pipe_open(" PIPE_NAME ")") &&
              open_array(t, SLOT_NAME, RECORD_WORDS, &x->slot) &&
              open_handshake(t, SLOT_EMPTY_NAME, 1, &x->slot_empty) &&
              open_handshake(t, SLOT_FULL_NAME, 0, &x->slot_full) &&
              opened(st_queue_open(t, QUEUE_NAME, RING_SLOTS, sizeof(struct record), &x->queue),
                     "st_queue_open(" QUEUE_NAME ")") &&
              queue_usable(x) &&
              opened(st_dict_open(t, DICT_NAME, RING_SLOTS, &x->dict), "st_dict_open(" DICT_NAME ")") &&
              open_array(t, RATES_NAME, LANES, &x->rates) && open_array(t, MOVED_NAME, LANES, &x->moved) &&
              opened(st_event_open(t, START_NAME, &x->start), "st_event_open(" START_NAME ")") &&
              opened(st_event_clear(x->start), "st_event_clear(" START_NAME ")");
    if (!ok)
        return false;
    untrace_hot_objects(x);   /* before anything is done with them */
    discard_leftovers(x);
    return zero_figures(x);
}

static void close_objects(struct exchange *x)
{
    st_shm_close(x->region);
    st_semaphore_close(x->ring_free);
    st_semaphore_close(x->ring_filled);
    st_pipe_close(x->pipe_a);
    st_pipe_close(x->pipe_b);
    st_array_close(x->slot);
    st_semaphore_close(x->slot_empty);
    st_semaphore_close(x->slot_full);
    st_queue_close(x->queue);
    st_dict_close(x->dict);
    st_array_close(x->rates);
    st_array_close(x->moved);
    st_event_close(x->start);
}

static bool hire_racers(struct exchange *x)
{
    for (int lane = 0; lane < LANES; lane++) {
        char name[ST_PROCESS_NAME_MAX + 1];
        snprintf(name, sizeof name, "%s-writer", transports[lane].name);
        if (crew_hire(&x->crew, name, "writer", writer_main, x, lane + 1) < 0)
            return false;
        snprintf(name, sizeof name, "%s-reader", transports[lane].name);
        if (crew_hire(&x->crew, name, "reader", reader_main, x, lane + 1) < 0)
            return false;
    }
    return true;
}

/* Wait until all ten racers are at the line, then fire the start. */
static bool start_race(struct exchange *x)
{
    int64_t deadline = demo_now_ns() + READY_TIMEOUT_NS;
    while (__atomic_load_n(&x->sheet->ready, __ATOMIC_ACQUIRE) < 2 * LANES) {
        if (demo_stop_requested())
            return false;
        if (demo_now_ns() > deadline) {
            demo_warn("only %d of %d racers ready after %.0f s", x->sheet->ready, 2 * LANES,
                      READY_TIMEOUT_NS / 1e9);
            return false;
        }
        int64_t next = demo_now_ns() + 10000000LL;
        if (demo_should_stop())
            demo_sleep_until(next);
        else if (!crew_watch_until(&x->crew, next))
            return false;
    }
    x->sheet->start_ns = demo_now_ns();
    return opened(st_event_set(x->start), "st_event_set(" START_NAME ")");
}

/* ==== the referee: narrating ====================================================== */

static const char *format_rate(double per_s, char *buf, size_t size)
{
    if (per_s >= 1e6)
        snprintf(buf, size, "%.2fM", per_s / 1e6);
    else if (per_s >= 1e3)
        snprintf(buf, size, "%.1fk", per_s / 1e3);
    else
        snprintf(buf, size, "%.0f", per_s);
    return buf;
}

/* One bar per mechanism: its rate as the readers last published it. */
static void narrate_rates(struct exchange *x)
{
    uint64_t rates[LANES] = { 0 }, fastest = 0;
    st_result result = st_array_get_range(x->rates, 0, LANES, rates);
    if (result != ST_OK) {
        demo_report("st_array_get_range(" RATES_NAME ")", result);
        return;
    }
    for (int lane = 0; lane < LANES; lane++)
        if (rates[lane] > fastest)
            fastest = rates[lane];
    double elapsed = (double)(demo_now_ns() - x->sheet->start_ns) / 1e9;
    for (int lane = 0; lane < LANES; lane++) {
        char bar[BAR_WIDTH + 1], rate[32];
        int length = fastest > 0 ? (int)((double)rates[lane] * BAR_WIDTH / (double)fastest + 0.5) : 0;
        if (length == 0 && rates[lane] > 0)
            length = 1;
        memset(bar, '#', (size_t)length);
        memset(bar + length, ' ', (size_t)(BAR_WIDTH - length));
        bar[BAR_WIDTH] = '\0';
        demo_say("%5.1f s  %-5s |%s| %s rec/s", elapsed, transports[lane].name, bar,
                 format_rate((double)rates[lane], rate, sizeof rate));
    }
}

static bool race(struct exchange *x)
{
    int64_t period = lesson_pace(x->opts, NARRATE_NS);
    int64_t next = x->sheet->start_ns + period;
    while (!demo_should_stop()) {
        if (!crew_watch_until(&x->crew, next))
            return false;
        if (demo_should_stop())
            break;
        narrate_rates(x);
        next += period;
        if (next < demo_now_ns())
            next = demo_now_ns() + period;   /* running late: no catching up */
    }
    return true;
}

/* ==== the referee: judging ========================================================= */

/* Lanes by their average rate, fastest first (ties in the book's order). */
static void rank_lanes(const struct race_sheet *sheet, int order[LANES])
{
    for (int i = 0; i < LANES; i++)
        order[i] = i;
    for (int i = 1; i < LANES; i++) {
        for (int j = i; j > 0; j--) {
            uint64_t a = sheet->lanes[order[j]].average_rate, b = sheet->lanes[order[j - 1]].average_rate;
            if (a <= b)
                break;
            int swap = order[j];
            order[j] = order[j - 1];
            order[j - 1] = swap;
        }
    }
}

static void say_ranking(const struct race_sheet *sheet)
{
    int order[LANES];
    rank_lanes(sheet, order);
    char measured[512] = "", book[256] = "";
    for (int place = 0; place < LANES; place++) {
        const struct lane_sheet *lane = &sheet->lanes[order[place]];
        char rate[32];
        size_t used = strlen(measured);
        snprintf(measured + used, sizeof measured - used, "%s%d. %s (%s rec/s)", place ? ", " : "",
                 place + 1, transports[order[place]].name,
                 format_rate((double)lane->average_rate, rate, sizeof rate));
        used = strlen(book);
        snprintf(book + used, sizeof book - used, "%s%d. %s", place ? ", " : "", place + 1,
                 transports[place].name);
    }
    demo_say("ranking measured here: %s", measured);
    demo_say("the book's ranking:    %s (by speed; by safety and ease the other way round)", book);

    bool agrees = true;
    for (int place = 0; place < LANES; place++)
        agrees = agrees && transports[order[place]].book_place == place + 1;
    if (agrees) {
        demo_say("this machine agrees with the book");
        return;
    }
    demo_say("this machine disagrees with the book; why, mechanism by mechanism:");
    for (int place = 0; place < LANES; place++) {
        const struct transport *t = &transports[order[place]];
        if (t->book_place != place + 1)
            demo_say("  %s: place %d here, %d in the book: %s", t->name, place + 1, t->book_place,
                     t->why_here);
    }
    int cpus = demo_cpu_count();
    demo_say("  and on %d CPU%s shared by 10 racers (and whatever else runs) the scheduler decides "
             "who runs when: a few seconds measure this machine, not the mechanisms",
             cpus, cpus == 1 ? "" : "s");
}

/* Every record once, intact, in order; > 0 each; the arrays agree. */
static bool claims_hold(struct exchange *x)
{
    uint64_t rates[LANES], moved[LANES];
    if (!opened(st_array_get_range(x->rates, 0, LANES, rates), "st_array_get_range(" RATES_NAME ")") ||
        !opened(st_array_get_range(x->moved, 0, LANES, moved), "st_array_get_range(" MOVED_NAME ")"))
        return false;
    bool held = true;
    for (int lane = 0; lane < LANES; lane++) {
        const struct lane_sheet *s = &x->sheet->lanes[lane];
        const char *name = transports[lane].name;
        if (s->lost > 0 || s->duplicated > 0 || s->corrupted > 0 || s->received != s->sent ||
            s->end_count != s->sent) {
            held = demo_claim_failed("%s: not every record arrived exactly once, intact, in order: "
                                     "%" PRIu64 " sent, %" PRIu64 " got, %" PRIu64 " lost, %" PRIu64
                                     " duplicated, %" PRIu64 " corrupted (%s)",
                                     name, s->sent, s->received, s->lost, s->duplicated, s->corrupted,
                                     s->problem[0] ? s->problem : "the end record's count differs") == 0;
        } else if (s->received == 0) {
            held = demo_claim_failed("%s moved no record at all", name) == 0;
        } else if (moved[lane] != s->received ||
                   rates[lane] != average_rate(s->received, x->sheet->start_ns, s->finish_ns) ||
                   rates[lane] != s->average_rate) {
            held = demo_claim_failed("%s: " MOVED_NAME " reads %" PRIu64 " and " RATES_NAME
                                     " %" PRIu64 ", but %s-reader counted %" PRIu64 " records, %"
                                     PRIu64 " a second",
                                     name, moved[lane], rates[lane], name, s->received,
                                     s->average_rate) == 0;
        }
    }
    return held;
}

static void say_results(const struct race_sheet *sheet)
{
    for (int lane = 0; lane < LANES; lane++) {
        const struct lane_sheet *s = &sheet->lanes[lane];
        char rate[32];
        demo_say("%-5s moved %" PRIu64 " records in %.2f s: every one once, intact, in order "
                 "(%s rec/s)",
                 transports[lane].name, s->received, (double)(s->finish_ns - sheet->start_ns) / 1e9,
                 format_rate((double)s->average_rate, rate, sizeof rate));
    }
}

/* Every racer finished its part (writers sent their end record, readers
 * got it)? */
static bool everyone_finished(const struct race_sheet *sheet)
{
    bool finished = true;
    for (int lane = 0; lane < LANES; lane++) {
        const struct lane_sheet *s = &sheet->lanes[lane];
        if (!s->writer_finished || !s->reader_finished) {
            demo_claim_failed("the %s pair did not finish its stream (%s)", transports[lane].name,
                              s->problem[0] ? s->problem : "see the messages above");
            finished = false;
        }
    }
    return finished;
}

static void introduce(void)
{
    demo_say("five pairs move the same stream of 64-byte records (sequence number, payload, "
             "checksum) at the same time, each through one mechanism:");
    for (int lane = 0; lane < LANES; lane++)
        demo_say("  %-5s %s-writer -> %s-reader: %s", transports[lane].name, transports[lane].name,
                 transports[lane].name, transports[lane].how);
    demo_say("the readers publish their rates in the Array \"" RATES_NAME "\" and their counts in "
             "\"" MOVED_NAME "\"");
}

/* Unlink the ring so that nothing of it stays in /dev/shm. */
static bool unlink_ring(struct exchange *x)
{
    if (x->region == NULL)
        return true;
    return opened(st_shm_unlink(x->region), "st_shm_unlink(" RING_NAME ")");
}

/* Hire, start, race, reap. Returns false when something failed (not when
 * a stop was requested). *raced: the race ran to its end. */
static bool run_race(struct exchange *x, bool *raced)
{
    crew_init(&x->crew, x->table, demo_lesson_name());
    bool well = hire_racers(x) && start_race(x) && race(x);
    *raced = well && !demo_stop_requested();
    /* The readers give up on a silent writer themselves, after
     * SILENCE_LIMIT_NS: let them say so before anyone is killed. */
    if (!crew_dismiss(&x->crew, SILENCE_LIMIT_NS + DEMO_DISMISS_NS))
        return false;
    return well || demo_stop_requested();
}

int lesson_exchange(const struct lesson_options *opts)
{
    struct exchange x = { .opts = opts };
    bool failed = true, raced = false;
    x.sheet = crew_shared_alloc(sizeof *x.sheet);
    if (x.sheet != NULL && lesson_open(opts, "exchange-referee", &x.table) && open_objects(&x)) {
        introduce();
        failed = !run_race(&x, &raced);
        bool started = x.sheet->start_ns != 0;
        if (started && (raced || failed) && !demo_stop_requested()) {
            /* Name the pair that did not finish, or check the claims. */
            bool finished = everyone_finished(x.sheet);
            if (!failed && finished && claims_hold(&x)) {
                say_results(x.sheet);
                say_ranking(x.sheet);
            } else {
                failed = true;
            }
        }
        if (!unlink_ring(&x))
            failed = true;
    }
    close_objects(&x);
    lesson_close(x.table);
    if (x.sheet != NULL)
        crew_shared_free(x.sheet, sizeof *x.sheet);
    return failed ? 1 : 0;
}
