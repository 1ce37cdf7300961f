/* test_queue.c - the Queue across real processes: a million messages through
 * four producers and four consumers with every one seen exactly once and in
 * order per producer; SIGKILLs in the middle of puts and gets; timeouts,
 * shutdown, task_done/join, oversized messages; and the figures the
 * viewer's model reads back. */
#include "helpers.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <synctop/synctop.h>
#include "segment.h"   /* st_segment_inject_create_failure: a full /dev/shm on demand */

static st_table *table;
static st_queue *queue;

static int setup(void **state)
{
    (void)state;
    st_table_options opts = { .session = test_session_new() };
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    return 0;
}

static int teardown(void **state)
{
    test_teardown(state);
    st_queue_close(queue);
    queue = NULL;
    st_table_close(table);
    table = NULL;
    return 0;
}

static void *shared_alloc(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    memset(p, 0, size);
    return p;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The figure field_name of the object called object_name, through the
 * viewer's read-only attach and model (as the dashboard reads it). */
static uint64_t figure(const char *object_name, const char *field_name)
{
    return test_object_field_u64(st_table_session(table), "queue", object_name, field_name);
}

/* ---- messages that check themselves ---------------------------------------- */

typedef struct message_header {
    uint32_t producer;
    uint32_t payload;               /* payload bytes after the header */
    uint64_t seq;
    uint32_t checksum;              /* of producer, seq and the payload */
    uint32_t reserved;
} message_header;

/* FNV-style over 8-byte words (fast enough that a 4 KiB message costs less
 * than the copies the queue makes, so kills land inside puts and gets). */
static uint32_t checksum(const message_header *h, const uint8_t *payload)
{
    uint64_t x = 14695981039346656037ull ^ h->producer;
    x = (x ^ h->seq) * 1099511628211ull;
    x = (x ^ h->payload) * 1099511628211ull;
    uint32_t i = 0;
    for (; i + 8 <= h->payload; i += 8) {
        uint64_t word;
        memcpy(&word, payload + i, 8);
        x = (x ^ word) * 1099511628211ull;
    }
    for (; i < h->payload; i++)
        x = (x ^ payload[i]) * 1099511628211ull;
    return (uint32_t)(x ^ (x >> 32));
}

/* Build a message of header + payload bytes into buf; returns its length. */
static size_t make_message(uint8_t *buf, uint32_t producer, uint64_t seq, uint32_t payload)
{
    message_header h = { producer, payload, seq, 0, 0 };
    uint8_t *body = buf + sizeof h;
    uint64_t word = (seq + 1) * 0x9e3779b97f4a7c15ull ^ producer;
    uint32_t i = 0;
    for (; i + 8 <= payload; i += 8, word += 0x0101010101010101ull)
        memcpy(body + i, &word, 8);
    for (; i < payload; i++)
        body[i] = (uint8_t)(seq + i);
    h.checksum = checksum(&h, body);
    memcpy(buf, &h, sizeof h);
    return sizeof h + payload;
}

/* Whether buf (length bytes) is a whole, uncorrupted message. */
static bool message_whole(const uint8_t *buf, size_t length, message_header *out)
{
    if (length < sizeof *out)
        return false;
    memcpy(out, buf, sizeof *out);
    return length == sizeof *out + out->payload && checksum(out, buf + sizeof *out) == out->checksum;
}

/* ---- a million messages, 4 producers, 4 consumers ----------------------------- */

/* The whole million under ASan too: it takes well under a second either way. */
#define MILLION_MESSAGES 1000000
#define PRODUCERS 4
#define CONSUMERS 4
#define PER_PRODUCER (MILLION_MESSAGES / PRODUCERS)
#define MPMC_MAX_MESSAGE 256

typedef struct mpmc_area {
    uint8_t seen[PRODUCERS][PER_PRODUCER / 8 + 1];
    uint64_t got[CONSUMERS];
    uint64_t got_bytes[CONSUMERS];
    int bad_checksum;
    int duplicates;
    int out_of_order;
    int ready;
    int go;
} mpmc_area;

static mpmc_area *mpmc;

static uint32_t mpmc_payload(uint32_t producer, uint64_t seq)
{
    return (uint32_t)((seq * 7 + producer * 13) % (MPMC_MAX_MESSAGE - sizeof(message_header) + 1));
}

static void wait_for_go(int *ready, int *go)
{
    __atomic_add_fetch(ready, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(go, __ATOMIC_SEQ_CST))
        test_sleep_ms(1);   /* a poll interval: the parent's test_wait bounds this */
}

static int mpmc_producer(void *arg)
{
    uint32_t id = (uint32_t)(intptr_t)arg;
    uint8_t buf[MPMC_MAX_MESSAGE];
    wait_for_go(&mpmc->ready, &mpmc->go);
    for (uint64_t seq = 0; seq < PER_PRODUCER; seq++) {
        size_t length = make_message(buf, id, seq, mpmc_payload(id, seq));
        if (st_queue_put(queue, buf, length, ST_SECONDS(30)) != ST_OK)
            return 2;
    }
    return 0;
}

static int mpmc_consumer(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint8_t buf[MPMC_MAX_MESSAGE];
    int64_t last[PRODUCERS];
    for (int p = 0; p < PRODUCERS; p++)
        last[p] = -1;
    wait_for_go(&mpmc->ready, &mpmc->go);
    for (;;) {
        size_t length;
        st_result r = st_queue_get(queue, buf, sizeof buf, &length, ST_SECONDS(30));
        if (r == ST_ECLOSED)
            return 0;
        if (r != ST_OK)
            return 2;
        message_header h;
        if (!message_whole(buf, length, &h) || h.producer >= PRODUCERS || h.seq >= PER_PRODUCER) {
            __atomic_add_fetch(&mpmc->bad_checksum, 1, __ATOMIC_RELAXED);
            continue;
        }
        /* FIFO per producer: one consumer sees each producer's messages in
         * the order they were put. */
        if ((int64_t)h.seq <= last[h.producer])
            __atomic_add_fetch(&mpmc->out_of_order, 1, __ATOMIC_RELAXED);
        last[h.producer] = (int64_t)h.seq;
        uint8_t bit = (uint8_t)(1u << (h.seq % 8));
        if (__atomic_fetch_or(&mpmc->seen[h.producer][h.seq / 8], bit, __ATOMIC_RELAXED) & bit)
            __atomic_add_fetch(&mpmc->duplicates, 1, __ATOMIC_RELAXED);
        mpmc->got[id]++;
        mpmc->got_bytes[id] += length;
    }
}

static void test_million_messages_exactly_once(void **state)
{
    (void)state;
    mpmc = shared_alloc(sizeof *mpmc);
    assert_int_equal(st_queue_open(table, "million", 1024, MPMC_MAX_MESSAGE, &queue), ST_OK);
    pid_t producers[PRODUCERS], consumers[CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++)
        consumers[i] = test_spawn(mpmc_consumer, (void *)(intptr_t)i);
    for (int i = 0; i < PRODUCERS; i++)
        producers[i] = test_spawn(mpmc_producer, (void *)(intptr_t)i);
    assert_true(test_wait_count(&mpmc->ready, PRODUCERS + CONSUMERS, TEST_WAIT_MS));
    uint64_t t0 = now_ns();
    __atomic_store_n(&mpmc->go, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < PRODUCERS; i++)
        assert_int_equal(test_wait(producers[i], 120000), 0);
    /* Every message is in; shutting down lets the consumers drain and stop. */
    assert_int_equal(st_queue_shutdown(queue), ST_OK);
    for (int i = 0; i < CONSUMERS; i++)
        assert_int_equal(test_wait(consumers[i], 120000), 0);
    double seconds = (double)(now_ns() - t0) / 1e9;
    print_message("# %d messages through 4 producers and 4 consumers in %.2f s (%.2f M msg/s)\n",
                  MILLION_MESSAGES, seconds, MILLION_MESSAGES / seconds / 1e6);

    assert_int_equal(mpmc->bad_checksum, 0);
    assert_int_equal(mpmc->duplicates, 0);
    assert_int_equal(mpmc->out_of_order, 0);
    uint64_t got = 0, got_bytes = 0, expected_bytes = 0;
    for (int i = 0; i < CONSUMERS; i++) {
        got += mpmc->got[i];
        got_bytes += mpmc->got_bytes[i];
    }
    assert_int_equal(got, MILLION_MESSAGES);
    for (uint32_t p = 0; p < PRODUCERS; p++) {
        for (uint64_t seq = 0; seq < PER_PRODUCER; seq++) {
            if (!(mpmc->seen[p][seq / 8] & (1u << (seq % 8))))
                fail_msg("producer %u's message %llu was never got", p, (unsigned long long)seq);
            expected_bytes += sizeof(message_header) + mpmc_payload(p, seq);
        }
    }
    assert_int_equal(got_bytes, expected_bytes);
    assert_int_equal(figure("million", "puts"), MILLION_MESSAGES);
    assert_int_equal(figure("million", "gets"), MILLION_MESSAGES);
    assert_int_equal(figure("million", "depth"), 0);
    assert_int_equal(figure("million", "bytes"), 0);
    assert_int_equal(figure("million", "put_bytes"), expected_bytes);
    assert_int_equal(figure("million", "get_bytes"), expected_bytes);
    assert_int_equal(figure("million", "closed"), 1);
    assert_int_equal(figure("million", "producers_blocked"), 0);
    assert_int_equal(figure("million", "consumers_blocked"), 0);
    assert_int_equal(figure("million", "unfinished_tasks"), MILLION_MESSAGES);
    assert_int_equal(figure("million", "owner_died"), 0);
    uint64_t high_water = figure("million", "high_water");
    assert_true(high_water >= 1 && high_water <= 1024);
    munmap(mpmc, sizeof *mpmc);
}

/* ---- SIGKILL in the middle of puts and gets ------------------------------------- */

#define STORM_KILLS 50
#define STORM_INCARNATIONS 64
#define STORM_MAX_SEQ 32768
#define STORM_MAX_MESSAGE 4096

typedef struct storm_area {
    uint64_t attempted[STORM_INCARNATIONS];  /* seq + 1 of the put under way (set before it) */
    uint64_t acked[STORM_INCARNATIONS];      /* puts that returned ST_OK */
    uint8_t seen[STORM_INCARNATIONS][STORM_MAX_SEQ / 8];
    uint64_t seen_count;
    int stop_producers;
    int drain;
    int bad_checksum;
    int duplicates;
    int unexpected;                          /* a message that was never attempted */
    int errors;
} storm_area;

static storm_area *storm;

static int storm_producer(void *arg)
{
    uint32_t incarnation = (uint32_t)(intptr_t)arg;
    uint8_t buf[STORM_MAX_MESSAGE];
    unsigned seed = incarnation * 7919u + 1;
    for (uint64_t seq = 0; seq < STORM_MAX_SEQ && !__atomic_load_n(&storm->stop_producers, __ATOMIC_SEQ_CST);) {
        uint32_t payload = 1024 + (uint32_t)rand_r(&seed) % (STORM_MAX_MESSAGE - 1024 - sizeof(message_header) + 1);
        size_t length = make_message(buf, incarnation, seq, payload);
        __atomic_store_n(&storm->attempted[incarnation], seq + 1, __ATOMIC_SEQ_CST);
        st_result r = st_queue_put(queue, buf, length, ST_MILLISECONDS(100));
        if (r == ST_OK) {
            __atomic_store_n(&storm->acked[incarnation], seq + 1, __ATOMIC_SEQ_CST);
            seq++;
        } else if (r != ST_ETIMEDOUT) {
            __atomic_add_fetch(&storm->errors, 1, __ATOMIC_SEQ_CST);
            return 2;
        }
    }
    return 0;
}

static int storm_consumer(void *arg)
{
    (void)arg;
    uint8_t buf[STORM_MAX_MESSAGE];
    for (;;) {
        size_t length;
        st_result r = st_queue_get(queue, buf, sizeof buf, &length, ST_MILLISECONDS(100));
        if (r == ST_ETIMEDOUT) {
            if (__atomic_load_n(&storm->drain, __ATOMIC_SEQ_CST))
                return 0;
            continue;
        }
        if (r != ST_OK) {
            __atomic_add_fetch(&storm->errors, 1, __ATOMIC_SEQ_CST);
            return 2;
        }
        message_header h;
        if (!message_whole(buf, length, &h) || h.producer >= STORM_INCARNATIONS || h.seq >= STORM_MAX_SEQ) {
            __atomic_add_fetch(&storm->bad_checksum, 1, __ATOMIC_SEQ_CST);
            continue;
        }
        if (h.seq >= __atomic_load_n(&storm->attempted[h.producer], __ATOMIC_SEQ_CST))
            __atomic_add_fetch(&storm->unexpected, 1, __ATOMIC_SEQ_CST);
        uint8_t bit = (uint8_t)(1u << (h.seq % 8));
        if (__atomic_fetch_or(&storm->seen[h.producer][h.seq / 8], bit, __ATOMIC_SEQ_CST) & bit)
            __atomic_add_fetch(&storm->duplicates, 1, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&storm->seen_count, 1, __ATOMIC_SEQ_CST);
    }
}

static void test_sigkill_during_puts_and_gets(void **state)
{
    (void)state;
    storm = shared_alloc(sizeof *storm);
    assert_int_equal(st_queue_open(table, "storm", 8, STORM_MAX_MESSAGE, &queue), ST_OK);
    /* Two producers (workers 0, 2) and two consumers (1, 3); killed in turn. */
    pid_t workers[4];
    uint32_t incarnation[4] = { 0, 0, 0, 0 };
    uint32_t next_incarnation = 0;
    for (int w = 0; w < 4; w++) {
        if (w % 2 == 0) {
            incarnation[w] = next_incarnation++;
            workers[w] = test_spawn(storm_producer, (void *)(intptr_t)incarnation[w]);
        } else {
            workers[w] = test_spawn(storm_consumer, NULL);
        }
    }
    unsigned seed = 12345;
    int producer_kills = 0, consumer_kills = 0;
    for (int kill_no = 0; kill_no < STORM_KILLS; kill_no++) {
        test_sleep_ms(1 + (int)(rand_r(&seed) % 8));   /* a random moment to kill at, not synchronization */
        int w = kill_no % 4;
        test_kill(workers[w]);
        if (w % 2 == 0) {
            producer_kills++;
            assert_true(next_incarnation < STORM_INCARNATIONS);
            incarnation[w] = next_incarnation++;
            workers[w] = test_spawn(storm_producer, (void *)(intptr_t)incarnation[w]);
        } else {
            consumer_kills++;
            workers[w] = test_spawn(storm_consumer, NULL);
        }
    }
    /* The survivors: producers stop, consumers drain. */
    __atomic_store_n(&storm->stop_producers, 1, __ATOMIC_SEQ_CST);
    assert_int_equal(test_wait(workers[0], 30000), 0);
    assert_int_equal(test_wait(workers[2], 30000), 0);
    __atomic_store_n(&storm->drain, 1, __ATOMIC_SEQ_CST);
    assert_int_equal(test_wait(workers[1], 30000), 0);
    assert_int_equal(test_wait(workers[3], 30000), 0);

    assert_int_equal(storm->errors, 0);
    assert_int_equal(storm->bad_checksum, 0);
    assert_int_equal(storm->duplicates, 0);
    assert_int_equal(storm->unexpected, 0);
    /* A message acknowledged to its producer is lost only if a consumer
     * was killed after taking it and before recording it: at most one per
     * consumer kill. */
    uint64_t acked = 0, attempted = 0, missing = 0;
    for (uint32_t i = 0; i < next_incarnation; i++) {
        acked += storm->acked[i];
        attempted += storm->attempted[i];
        for (uint64_t seq = 0; seq < storm->acked[i]; seq++)
            missing += !(storm->seen[i][seq / 8] & (1u << (seq % 8)));
    }
    assert_true(missing <= (uint64_t)consumer_kills);
    uint64_t puts = figure("storm", "puts"), gets = figure("storm", "gets");
    assert_true(puts >= acked && puts <= attempted);
    assert_true(gets >= storm->seen_count && gets - storm->seen_count <= (uint64_t)consumer_kills);
    assert_int_equal(figure("storm", "depth"), puts - gets);
    assert_int_equal(figure("storm", "depth"), 0);
    assert_int_equal(figure("storm", "bytes"), 0);
    assert_int_equal(figure("storm", "put_bytes"), figure("storm", "get_bytes"));
    print_message("# %d kills (%d producers, %d consumers): %llu messages put, %llu got, %llu lost with a "
                  "killed consumer, %llu dead-holder recoveries\n", STORM_KILLS, producer_kills, consumer_kills,
                  (unsigned long long)puts, (unsigned long long)gets, (unsigned long long)missing,
                  (unsigned long long)figure("storm", "owner_died"));

    /* Opening the queue again takes back the sleeper counts of the dead. */
    st_queue *again = NULL;
    assert_int_equal(st_queue_open(table, "storm", 1, 1, &again), ST_OK);
    assert_int_equal(figure("storm", "producers_blocked"), 0);
    assert_int_equal(figure("storm", "consumers_blocked"), 0);
    /* And it still works. */
    uint8_t buf[STORM_MAX_MESSAGE];
    size_t length = make_message(buf, 0, 0, 4000), got;
    assert_int_equal(st_queue_put(again, buf, length, 0), ST_OK);
    memset(buf, 0, sizeof buf);
    assert_int_equal(st_queue_get(queue, buf, sizeof buf, &got, 0), ST_OK);
    message_header h;
    assert_true(message_whole(buf, got, &h));
    assert_int_equal(figure("storm", "puts"), puts + 1);
    assert_int_equal(figure("storm", "gets"), gets + 1);
    st_queue_close(again);
    munmap(storm, sizeof *storm);
}

/* ---- killed holding a side's lock ------------------------------------------------------ */

/* Messages so large (8 MiB: milliseconds to copy) that a kill at a random
 * moment usually lands in the middle of the copy, with the put (get) lock
 * held. Repeated until it did, for puts and then for gets. */
#define HUGE_MESSAGE (8u << 20)
#define HUGE_ATTEMPTS 60

typedef struct huge_area {
    int started;
} huge_area;
static huge_area *huge;
static uint8_t *huge_buf;

static int huge_putter(void *arg)
{
    (void)arg;
    __atomic_store_n(&huge->started, 1, __ATOMIC_SEQ_CST);
    for (;;)
        if (st_queue_put(queue, huge_buf, HUGE_MESSAGE, ST_FOREVER) != ST_OK)
            return 2;
}

static int huge_getter(void *arg)
{
    (void)arg;
    __atomic_store_n(&huge->started, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        size_t length;
        if (st_queue_get(queue, huge_buf, HUGE_MESSAGE, &length, ST_FOREVER) != ST_OK)
            return 2;
    }
}

/* Kill a child running fn at a random moment of its work. */
static void kill_at_random(int (*fn)(void *), unsigned *seed)
{
    __atomic_store_n(&huge->started, 0, __ATOMIC_SEQ_CST);
    pid_t child = test_spawn(fn, NULL);
    assert_true(test_wait_count(&huge->started, 1, TEST_WAIT_MS));
    struct timespec pause = { 0, (long)(rand_r(seed) % 6000) * 1000L };
    nanosleep(&pause, NULL);   /* a random moment to kill at, not synchronization */
    test_kill(child);
}

/* Take every message out; each must be whole. Returns how many. */
static int drain_whole(uint8_t *buf)
{
    int count = 0;
    size_t length;
    st_result r;
    while ((r = st_queue_try_get(queue, buf, HUGE_MESSAGE, &length)) == ST_OK) {
        message_header h;
        assert_true(message_whole(buf, length, &h));
        count++;
    }
    assert_int_equal(r, ST_EBUSY);
    return count;
}

static void test_killed_holding_the_lock(void **state)
{
    (void)state;
    huge = shared_alloc(sizeof *huge);
    huge_buf = malloc(HUGE_MESSAGE);
    uint8_t *mine = malloc(HUGE_MESSAGE);
    assert_non_null(huge_buf);
    assert_non_null(mine);
    make_message(huge_buf, 1, 1, HUGE_MESSAGE - sizeof(message_header));
    assert_int_equal(st_queue_open(table, "huge", 2, HUGE_MESSAGE, &queue), ST_OK);
    unsigned seed = 777;

    /* Producers killed while copying in. */
    int attempts = 0;
    while (figure("huge", "owner_died") == 0 && attempts++ < HUGE_ATTEMPTS) {
        kill_at_random(huge_putter, &seed);
        /* The next put recovers the lock if the dead held it. */
        st_result r = st_queue_try_put(queue, huge_buf, HUGE_MESSAGE);
        assert_true(r == ST_OK || r == ST_EBUSY);
        assert_int_equal(figure("huge", "depth"), figure("huge", "puts") - figure("huge", "gets"));
        drain_whole(mine);
        assert_int_equal(figure("huge", "depth"), 0);
        assert_int_equal(figure("huge", "bytes"), 0);
    }
    print_message("# a producer died holding the put lock after %d attempts\n", attempts);
    assert_int_equal(figure("huge", "owner_died"), 1);

    /* Consumers killed while copying out: the message stays queued. */
    attempts = 0;
    while (figure("huge", "owner_died") == 1 && attempts++ < HUGE_ATTEMPTS) {
        while (st_queue_try_put(queue, huge_buf, HUGE_MESSAGE) == ST_OK) {
        }
        uint64_t gets = figure("huge", "gets");
        kill_at_random(huge_getter, &seed);
        uint64_t got_by_the_dead = figure("huge", "gets") - gets;
        int left = drain_whole(mine);  /* recovers the get lock if needed */
        assert_int_equal((uint64_t)left + got_by_the_dead, 2);
        assert_int_equal(figure("huge", "put_bytes"), figure("huge", "get_bytes"));
    }
    print_message("# a consumer died holding the get lock after %d attempts\n", attempts);
    assert_int_equal(figure("huge", "owner_died"), 2);
    /* Sleepers that died are found when the queue is opened again. */
    st_queue *again = NULL;
    assert_int_equal(st_queue_open(table, "huge", 2, HUGE_MESSAGE, &again), ST_OK);
    assert_int_equal(figure("huge", "producers_blocked"), 0);
    assert_int_equal(figure("huge", "consumers_blocked"), 0);
    st_queue_close(again);
    free(mine);
    free(huge_buf);
    munmap(huge, sizeof *huge);
}

/* ---- timeouts ---------------------------------------------------------------------- */

static void test_put_on_full_times_out(void **state)
{
    (void)state;
    assert_int_equal(st_queue_open(table, "full", 2, 16, &queue), ST_OK);
    assert_int_equal(st_queue_put(queue, "one", 3, 0), ST_OK);
    assert_int_equal(st_queue_put(queue, "two", 3, ST_FOREVER), ST_OK);
    uint64_t t0 = now_ns();
    assert_int_equal(st_queue_put(queue, "three", 5, ST_MILLISECONDS(100)), ST_ETIMEDOUT);
    uint64_t waited = now_ns() - t0;
    assert_true(waited >= 95000000u);
    assert_true(waited < 2000000000u);
    assert_non_null(strstr(st_error_detail(), "full"));
    assert_int_equal(st_queue_put(queue, "three", 5, 0), ST_ETIMEDOUT);
    assert_int_equal(st_queue_try_put(queue, "three", 5), ST_EBUSY);
    assert_int_equal(figure("full", "put_timeouts"), 2);
    assert_int_equal(figure("full", "depth"), 2);
    assert_int_equal(figure("full", "puts"), 2);
    assert_int_equal(figure("full", "high_water"), 2);
    assert_int_equal(figure("full", "producers_blocked"), 0);
}

static void test_get_on_empty_times_out(void **state)
{
    (void)state;
    assert_int_equal(st_queue_open(table, "empty", 4, 16, &queue), ST_OK);
    char buf[16];
    size_t length = 99;
    assert_int_equal(st_queue_get(queue, buf, sizeof buf, &length, 0), ST_ETIMEDOUT);
    assert_int_equal(st_queue_try_get(queue, buf, sizeof buf, &length), ST_EBUSY);
    uint64_t t0 = now_ns();
    assert_int_equal(st_queue_get(queue, buf, sizeof buf, &length, ST_MILLISECONDS(100)), ST_ETIMEDOUT);
    assert_true(now_ns() - t0 >= 95000000u);
    assert_non_null(strstr(st_error_detail(), "empty"));
    assert_int_equal(figure("empty", "get_timeouts"), 2);
    assert_int_equal(figure("empty", "gets"), 0);
    assert_int_equal(figure("empty", "consumers_blocked"), 0);
}

/* ---- blocking, visible ----------------------------------------------------------------- */

static int put_forever(void *arg)
{
    return st_queue_put(queue, arg, strlen(arg), ST_SECONDS(30)) == ST_OK ? 0 : 2;
}

static int get_expecting(void *arg)
{
    char buf[64];
    size_t length;
    st_result r = st_queue_get(queue, buf, sizeof buf - 1, &length, ST_SECONDS(30));
    if (r != ST_OK)
        return r == ST_ECLOSED ? 3 : 2;
    buf[length] = '\0';
    return strcmp(buf, arg) == 0 ? 0 : 4;
}

typedef struct figure_goal {
    const char *object;
    const char *field;
    uint64_t value;
} figure_goal;

static bool figure_has_goal(void *arg)
{
    const figure_goal *goal = arg;
    return figure(goal->object, goal->field) == goal->value;
}

/* Poll the model until figure reaches value (up to TEST_WAIT_MS of
 * elapsed time). */
static bool figure_reaches(const char *object, const char *field, uint64_t value)
{
    figure_goal goal = { object, field, value };
    return test_wait_until(figure_has_goal, &goal, TEST_WAIT_MS);
}

static void test_blocked_producers_and_consumers_are_visible(void **state)
{
    (void)state;
    assert_int_equal(st_queue_open(table, "visible", 1, 16, &queue), ST_OK);
    assert_int_equal(st_queue_put(queue, "first", 5, 0), ST_OK);
    pid_t producer = test_spawn(put_forever, "second");
    assert_true(figure_reaches("visible", "producers_blocked", 1));
    /* The model also names what the producer is blocked on. */
    st_table *reader = NULL;
    st_model *model;
    assert_int_equal(st_table_attach_readonly(st_table_session(table), &reader), ST_OK);
    assert_int_equal(st_model_new(&model), ST_OK);
    assert_int_equal(st_model_refresh(model, reader), ST_OK);
    bool named = false;
    for (size_t i = 0; i < st_model_process_count(model); i++) {
        const st_process_view *p = st_model_process(model, i);
        if (p->pid == producer) {
            assert_true(p->blocked);
            assert_string_equal(p->blocked_object_name, "visible");
            named = true;
        }
    }
    assert_true(named);
    st_model_free(model);
    st_table_close(reader);
    char buf[16];
    size_t length;
    assert_int_equal(st_queue_get(queue, buf, sizeof buf, &length, 0), ST_OK);
    assert_memory_equal(buf, "first", 5);
    assert_int_equal(test_wait(producer, 10000), 0);
    assert_int_equal(figure("visible", "producers_blocked"), 0);
    assert_int_equal(figure("visible", "depth"), 1);
    assert_int_equal(st_queue_get(queue, buf, sizeof buf, &length, 0), ST_OK);
    assert_memory_equal(buf, "second", 6);

    /* And a consumer on an empty queue. */
    pid_t consumer = test_spawn(get_expecting, "third");
    assert_true(figure_reaches("visible", "consumers_blocked", 1));
    assert_int_equal(st_queue_put(queue, "third", 5, 0), ST_OK);
    assert_int_equal(test_wait(consumer, 10000), 0);
    assert_int_equal(figure("visible", "consumers_blocked"), 0);
}

/* ---- shutdown ---------------------------------------------------------------------------- */

static void test_shutdown_drains_then_fails(void **state)
{
    (void)state;
    assert_int_equal(st_queue_open(table, "closing", 4, 16, &queue), ST_OK);
    /* A consumer asleep on the empty queue wakes up with ST_ECLOSED. */
    pid_t sleeper = test_spawn(get_expecting, "never");
    assert_true(figure_reaches("closing", "consumers_blocked", 1));
    assert_int_equal(st_queue_shutdown(queue), ST_OK);
    assert_int_equal(test_wait(sleeper, 10000), 3);
    assert_int_equal(figure("closing", "closed"), 1);

    st_queue_close(queue);
    assert_int_equal(st_queue_open(table, "closing2", 2, 16, &queue), ST_OK);
    assert_int_equal(st_queue_put(queue, "a", 1, 0), ST_OK);
    assert_int_equal(st_queue_put(queue, "b", 1, 0), ST_OK);
    /* A producer asleep on the full queue wakes up with ST_ECLOSED. */
    pid_t producer = test_spawn(put_forever, "c");
    assert_true(figure_reaches("closing2", "producers_blocked", 1));
    assert_int_equal(st_queue_shutdown(queue), ST_OK);
    assert_int_equal(test_wait(producer, 10000), 2);
    assert_int_equal(st_queue_put(queue, "d", 1, ST_SECONDS(1)), ST_ECLOSED);
    assert_int_equal(st_queue_try_put(queue, "d", 1), ST_ECLOSED);
    assert_non_null(strstr(st_error_detail(), "closed"));
    /* Getters drain what was queued, in order, then get ST_ECLOSED. */
    char buf[4];
    size_t length;
    assert_int_equal(st_queue_get(queue, buf, sizeof buf, &length, ST_FOREVER), ST_OK);
    assert_true(length == 1 && buf[0] == 'a');
    assert_int_equal(st_queue_try_get(queue, buf, sizeof buf, &length), ST_OK);
    assert_true(length == 1 && buf[0] == 'b');
    assert_int_equal(st_queue_get(queue, buf, sizeof buf, &length, ST_FOREVER), ST_ECLOSED);
    assert_int_equal(st_queue_get(queue, buf, sizeof buf, &length, 0), ST_ECLOSED);
    assert_int_equal(st_queue_try_get(queue, buf, sizeof buf, &length), ST_ECLOSED);
    assert_int_equal(st_queue_shutdown(queue), ST_OK);  /* again: harmless */
    st_queue_info info;
    assert_int_equal(st_queue_info_get(queue, &info), ST_OK);
    assert_true(info.closed);
    assert_int_equal(info.depth, 0);
    assert_int_equal(figure("closing2", "puts"), 2);
    assert_int_equal(figure("closing2", "gets"), 2);
}

/* ---- task_done / join ----------------------------------------------------------------------- */

typedef struct join_area {
    int processed;
} join_area;
static join_area *joins;

static int slow_worker(void *arg)
{
    int count = (int)(intptr_t)arg;
    for (int i = 0; i < count; i++) {
        char buf[16];
        size_t length;
        if (st_queue_get(queue, buf, sizeof buf, &length, ST_SECONDS(10)) != ST_OK)
            return 2;
        test_sleep_ms(20);   /* the work a task takes, not synchronization */
        __atomic_add_fetch(&joins->processed, 1, __ATOMIC_SEQ_CST);
        if (st_queue_task_done(queue) != ST_OK)
            return 3;
    }
    return 0;
}

static int join_child(void *arg)
{
    (void)arg;
    return st_queue_join(queue, ST_SECONDS(10)) == ST_OK ? 0 : 2;
}

static void test_join_waits_for_every_task_done(void **state)
{
    (void)state;
    joins = shared_alloc(sizeof *joins);
    assert_int_equal(st_queue_open(table, "tasks", 8, 16, &queue), ST_OK);
    assert_int_equal(st_queue_join(queue, 0), ST_OK);  /* nothing put: nothing to wait for */
    for (int i = 0; i < 5; i++)
        assert_int_equal(st_queue_put(queue, "job", 3, 0), ST_OK);
    assert_int_equal(figure("tasks", "unfinished_tasks"), 5);
    assert_int_equal(st_queue_join(queue, 0), ST_ETIMEDOUT);
    pid_t worker = test_spawn(slow_worker, (void *)(intptr_t)5);
    assert_int_equal(st_queue_join(queue, ST_MILLISECONDS(30)), ST_ETIMEDOUT);
    assert_int_equal(figure("tasks", "joiners_blocked"), 0);
    assert_int_equal(st_queue_join(queue, ST_SECONDS(10)), ST_OK);
    /* join returned only after the fifth task_done. */
    assert_int_equal(__atomic_load_n(&joins->processed, __ATOMIC_SEQ_CST), 5);
    assert_int_equal(test_wait(worker, 10000), 0);
    assert_int_equal(figure("tasks", "unfinished_tasks"), 0);
    /* One task_done too many is refused and counted. */
    assert_int_equal(st_queue_task_done(queue), ST_EOVERFLOW);
    assert_int_equal(figure("tasks", "task_done_overflows"), 1);
    assert_int_equal(figure("tasks", "unfinished_tasks"), 0);
    /* A joiner in another process shows while it waits, and returns once
     * the last task is done. */
    assert_int_equal(st_queue_put(queue, "job", 3, 0), ST_OK);
    pid_t joiner = test_spawn(join_child, NULL);
    assert_true(figure_reaches("tasks", "joiners_blocked", 1));
    char buf[16];
    size_t length;
    assert_int_equal(st_queue_get(queue, buf, sizeof buf, &length, 0), ST_OK);
    /* Not synchronization: a window in which a joiner wrongly returning
     * would show. */
    test_sleep_ms(50);
    assert_int_equal(test_wait(joiner, 0), -1);  /* got but not done: still waiting */
    assert_int_equal(st_queue_task_done(queue), ST_OK);
    assert_int_equal(test_wait(joiner, 10000), 0);
    assert_int_equal(figure("tasks", "joiners_blocked"), 0);
    munmap(joins, sizeof *joins);
}

/* ---- sizes ------------------------------------------------------------------------------------ */

static void test_message_sizes(void **state)
{
    (void)state;
    assert_int_equal(st_queue_open(table, "sizes", 4, 100, &queue), ST_OK);
    uint8_t big[101];
    memset(big, 'x', sizeof big);
    assert_int_equal(st_queue_put(queue, big, 101, ST_FOREVER), ST_EOVERFLOW);
    assert_non_null(strstr(st_error_detail(), "larger"));
    assert_int_equal(st_queue_try_put(queue, big, 101), ST_EOVERFLOW);
    assert_int_equal(figure("sizes", "puts"), 0);
    assert_int_equal(st_queue_put(queue, big, 100, 0), ST_OK);  /* exactly the maximum */
    assert_int_equal(st_queue_put(queue, NULL, 0, 0), ST_OK);   /* an empty message */
    assert_int_equal(figure("sizes", "bytes"), 100);
    assert_int_equal(figure("sizes", "max_message_bytes"), 100);
    /* Too small a buffer: ST_EOVERFLOW, the size needed, and it stays. */
    uint8_t small[10];
    size_t length = 0;
    assert_int_equal(st_queue_get(queue, small, sizeof small, &length, 0), ST_EOVERFLOW);
    assert_int_equal(length, 100);
    assert_int_equal(st_queue_try_get(queue, small, sizeof small, &length), ST_EOVERFLOW);
    assert_int_equal(st_queue_get(queue, NULL, 0, &length, 0), ST_EOVERFLOW);
    assert_int_equal(length, 100);
    assert_int_equal(figure("sizes", "depth"), 2);
    uint8_t out[100];
    assert_int_equal(st_queue_get(queue, out, sizeof out, &length, 0), ST_OK);
    assert_int_equal(length, 100);
    assert_memory_equal(out, big, 100);
    assert_int_equal(st_queue_get(queue, NULL, 0, &length, 0), ST_OK);
    assert_int_equal(length, 0);
    assert_int_equal(figure("sizes", "gets"), 2);
    assert_int_equal(figure("sizes", "get_bytes"), 100);
    assert_int_equal(figure("sizes", "bytes"), 0);
}

/* ---- figures, order, sharing by name ------------------------------------------------------------ */

static int open_by_name_and_put(void *arg)
{
    (void)arg;
    st_table *own = NULL;
    st_table_options opts = { .session = st_table_session(table) };
    if (st_table_open(&opts, &own) != ST_OK)
        return 2;
    st_queue *by_name = NULL;
    /* Other creation parameters: the existing queue keeps its own. */
    if (st_queue_open(own, "shared", 1000, 1000, &by_name) != ST_OK)
        return 3;
    st_queue_info info;
    if (st_queue_info_get(by_name, &info) != ST_OK || info.capacity != 64 || info.max_message_bytes != 32)
        return 4;
    for (int i = 0; i < 200; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "message %d", i);
        if (st_queue_put(by_name, msg, (size_t)n, ST_SECONDS(10)) != ST_OK)
            return 5;
    }
    st_queue_close(by_name);
    st_table_close(own);
    return 0;
}

static void test_shared_by_name_in_order(void **state)
{
    (void)state;
    assert_int_equal(st_queue_open(table, "shared", 64, 32, &queue), ST_OK);
    pid_t child = test_spawn(open_by_name_and_put, NULL);
    for (int i = 0; i < 200; i++) {
        char buf[33], expected[32];
        size_t length;
        assert_int_equal(st_queue_get(queue, buf, sizeof buf - 1, &length, ST_SECONDS(10)), ST_OK);
        buf[length] = '\0';
        snprintf(expected, sizeof expected, "message %d", i);
        assert_string_equal(buf, expected);
    }
    assert_int_equal(test_wait(child, 10000), 0);
    assert_int_equal(figure("shared", "capacity"), 64);
    assert_int_equal(figure("shared", "puts"), 200);
    assert_int_equal(figure("shared", "gets"), 200);
    assert_true(figure("shared", "high_water") <= 64);
    /* One object in the session, and one data segment. */
    char needle[128];
    snprintf(needle, sizeof needle, "%s.queue.", st_table_session(table));
    assert_int_equal(test_shm_count(needle), 1);
}

static void test_segment_removed_with_the_session(void **state)
{
    (void)state;
    const char *session = test_session_new();
    st_table_options opts = { .session = session };
    st_table *other = NULL;
    assert_int_equal(st_table_open(&opts, &other), ST_OK);
    st_queue *a = NULL, *b = NULL;
    assert_int_equal(st_queue_open(other, "q1", 4, 4096, &a), ST_OK);
    assert_int_equal(st_queue_open(other, "q2", 4, 4096, &b), ST_OK);
    char needle[128];
    snprintf(needle, sizeof needle, "%s.queue.", session);
    assert_int_equal(test_shm_count(needle), 2);
    st_queue_close(a);
    st_queue_close(b);
    st_process_unregister(other);
    st_table_close(other);
    assert_int_equal(st_session_remove(session, false), ST_OK);
    assert_int_equal(test_shm_count(needle), 0);
    assert_int_equal(test_shm_count(session), 0);
}

static void test_bad_input(void **state)
{
    (void)state;
    assert_int_equal(st_queue_open(table, "bad", 4, 16, &queue), ST_OK);
    char buf[16];
    size_t length;
    assert_int_equal(st_queue_put(NULL, "x", 1, 0), ST_EINVAL);
    assert_int_equal(st_queue_try_put(NULL, "x", 1), ST_EINVAL);
    assert_int_equal(st_queue_get(NULL, buf, sizeof buf, &length, 0), ST_EINVAL);
    assert_int_equal(st_queue_try_get(NULL, buf, sizeof buf, &length), ST_EINVAL);
    assert_int_equal(st_queue_shutdown(NULL), ST_EINVAL);
    assert_int_equal(st_queue_task_done(NULL), ST_EINVAL);
    assert_int_equal(st_queue_join(NULL, 0), ST_EINVAL);
    assert_int_equal(st_queue_info_get(NULL, NULL), ST_EINVAL);
    assert_int_equal(st_queue_put(queue, "x", 1, -1), ST_EINVAL);
    assert_non_null(strstr(st_error_detail(), "negative"));
    assert_int_equal(st_queue_get(queue, buf, sizeof buf, &length, -5), ST_EINVAL);
    assert_int_equal(st_queue_join(queue, -1), ST_EINVAL);
    assert_int_equal(st_queue_put(queue, NULL, 1, 0), ST_EINVAL);
    assert_int_equal(st_queue_get(queue, NULL, 4, &length, 0), ST_EINVAL);
    assert_int_equal(st_queue_get(queue, buf, sizeof buf, NULL, 0), ST_EINVAL);
    st_queue *other = NULL;
    assert_int_equal(st_queue_open(NULL, "x", 4, 16, &other), ST_EINVAL);
    assert_int_equal(st_queue_open(table, NULL, 4, 16, &other), ST_EINVAL);
    assert_int_equal(st_queue_open(table, "", 4, 16, &other), ST_EINVAL);
    assert_int_equal(st_queue_open(table, "x", 4, 16, NULL), ST_EINVAL);
    assert_int_equal(st_queue_open(table, "x", 0, 16, &other), ST_EINVAL);
    assert_int_equal(st_queue_open(table, "x", 4, 0, &other), ST_EINVAL);
    assert_int_equal(st_queue_open(table, "x", 1u << 30, 16, &other), ST_EINVAL);
    assert_int_equal(st_queue_open(table, "x", 1u << 20, 1u << 20, &other), ST_EINVAL);
    assert_null(other);
    char long_name[ST_OBJECT_NAME_MAX + 2];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(st_queue_open(table, long_name, 4, 16, &other), ST_ENAMETOOLONG);
    st_lock *lock = NULL;
    assert_int_equal(st_lock_open(table, "a-lock", &lock), ST_OK);
    assert_int_equal(st_queue_open(table, "a-lock", 4, 16, &other), ST_EWRONGTYPE);
    assert_null(other);
    st_lock_close(lock);
    /* A queue's name is not a lock's either. */
    assert_int_equal(st_lock_open(table, "bad", &lock), ST_EWRONGTYPE);
    st_queue_close(NULL);
}

/* /dev/shm full when the data segment is made (posix_fallocate says
 * ENOSPC; injected, since a real full /dev/shm would hurt everyone on the
 * machine): the error says what was full, nothing half-made stays under the
 * name, and the next open of it, with a capacity that fits, just works. */
static void test_full_dev_shm_leaves_no_half_made_queue(void **state)
{
    (void)state;
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s.queue.", st_table_session(table));
    st_segment_inject_create_failure(ENOSPC);
    st_queue *failed = NULL;
    assert_int_equal(st_queue_open(table, "jobs", 65536, 4096, &failed), ST_ENOSPC);
    assert_null(failed);
    char detail[512];
    snprintf(detail, sizeof detail, "%s", st_error_detail());
    assert_int_equal(test_shm_count(prefix), 0);

    assert_int_equal(st_queue_open(table, "jobs", 4, 64, &queue), ST_OK);
    assert_int_equal(st_queue_put(queue, "hello", 6, ST_FOREVER), ST_OK);
    char buffer[64];
    size_t length = 0;
    assert_int_equal(st_queue_get(queue, buffer, sizeof buffer, &length, ST_FOREVER), ST_OK);
    assert_int_equal(length, 6);
    assert_string_equal(buffer, "hello");
    assert_int_equal(test_shm_count(prefix), 1);

    /* The headline says /dev/shm was full; the detail names the queue. */
    assert_non_null(strstr(st_strerror(ST_ENOSPC), "/dev/shm is full"));
    if (!strstr(detail, "queue 'jobs'") || !strstr(detail, "data segment") || !strstr(detail, "/dev/shm is full"))
        fail_msg("unexpected detail: %s", detail);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_million_messages_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigkill_during_puts_and_gets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_holding_the_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_on_full_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_on_empty_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocked_producers_and_consumers_are_visible, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_drains_then_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_waits_for_every_task_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_by_name_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_removed_with_the_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_dev_shm_leaves_no_half_made_queue, setup, teardown),
    };
    return cmocka_run_group_tests_name("queue", tests, NULL, NULL);
}
