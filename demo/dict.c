/* dict.c - the dict lesson: a job board in a shared dict (the Manager
 * lesson: multiprocessing.Manager().dict()).
 *
 * The process "dispatcher" opens the dict "jobs" (room for 64 entries)
 * and posts jobs on it: key "job-17", value { queued, input }. The workers
 * "clerk-1" .. "clerk-N" look over the board (st_dict_items), pick a queued
 * job and claim it - holding the dict's built-in lock across the get and
 * the set, so that two clerks can never both see it queued and both take
 * it - then work on it (the length of the Collatz path of its input, with
 * a pause) and post it back as done, with the result and their number. The
 * dispatcher collects done jobs, checks each result and deletes the entry;
 * the "board-monitor" prints the board every second: how many jobs are
 * queued, running and done, and who ran what.
 *
 * In the dashboard: "jobs" with its entries rising and falling, its gets,
 * sets, deletes and misses, and its lock's acquisitions and contentions.
 *
 * The claims checked at the end (after the dispatcher stops posting and
 * the board empties): every job posted was claimed exactly once (counted
 * by job number in shared memory: a job claimed twice would show), done
 * once, with the right result. Exit status 1 otherwise.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crew.h"
#include "../tui/i18n.h"

#define DICT_NAME "jobs"
#define CAPACITY 64
#define BACKLOG 12                     /* the dispatcher keeps about this many jobs queued */
#define MAX_JOBS (1u << 20)            /* per run; the dispatcher stops posting there */
#define DISPATCH_NS 200000000LL
#define WORK_MIN_MS 300                /* a clerk's work on one job */
#define WORK_SPREAD_MS 400
#define LOOK_NS 100000000LL            /* a clerk finding nothing looks again after this */
#define MONITOR_NS 1000000000LL
#define DRAIN_TIMEOUT_NS 20000000000LL
#define STOP_TIMEOUT_NS 5000000000LL

enum job_state { QUEUED = 1, RUNNING = 2, DONE = 3 };

/* A job's value in the dict. */
struct job {
    uint32_t state;     /* enum job_state */
    int32_t clerk;      /* who claimed it (RUNNING, DONE) */
    uint64_t input;
    uint64_t result;    /* DONE */
};

/* Shared with every member. */
struct register_book {
    int closing;                               /* set by the dispatcher: clerks go home */
    uint8_t claims[MAX_JOBS];                  /* times each job was claimed */
    int64_t ran[LESSON_MAX_WORKERS + 1];       /* jobs each clerk finished */
};

struct board {
    const struct lesson_options *opts;
    st_table *table;
    st_dict *jobs;
    struct register_book *book;
    int clerks;
    struct crew crew;
    /* the dispatcher's own figures */
    uint32_t posted, collected;
    int wrong;
    bool failed;
};

static uint64_t collatz_steps(uint64_t n)
{
    uint64_t steps = 0;
    while (n > 1) {
        n = n % 2 == 0 ? n / 2 : 3 * n + 1;
        steps++;
    }
    return steps;
}

static uint32_t job_number(const char *key)
{
    return (uint32_t)strtoul(key + 4, NULL, 10);   /* "job-17" */
}

/* ==== a clerk ============================================================== */

/* Claim a queued job: under the dict's lock, so get-then-set is one step. */
static bool claim(struct board *board, const char *key, int clerk, struct job *job)
{
    st_lock *lock;
    st_result result = st_dict_get_lock(board->jobs, &lock);
    if (result == ST_OK)
        result = st_lock_acquire(lock, ST_SECONDS(5));
    if (result != ST_OK && result != ST_EOWNERDEAD) {
        demo_report("st_lock_acquire(" DICT_NAME ")", result);
        return false;
    }
    bool claimed = false;
    size_t size;
    if (st_dict_get(board->jobs, key, job, sizeof *job, &size) == ST_OK && size == sizeof *job &&
        job->state == QUEUED) {
        job->state = RUNNING;
        job->clerk = clerk;
        claimed = st_dict_set(board->jobs, key, job, sizeof *job) == ST_OK;
    }
    st_lock_release(lock);
    return claimed;
}

static int clerk_main(void *context, int number, struct crew_member *self)
{
    struct board *board = context;
    (void)self;
    uint64_t seed = lesson_seed(number);
    static st_dict_item items[CAPACITY];
    /* Not demo_should_stop(): when the time is up the clerks still finish
     * the jobs on the board, until the dispatcher closes it. */
    while (!__atomic_load_n(&board->book->closing, __ATOMIC_ACQUIRE) && !demo_stop_requested()) {
        if (getppid() != board->crew.parent)
            return 1;   /* the dispatcher is gone */
        size_t count = 0;
        st_result result = st_dict_items(board->jobs, items, CAPACITY, &count);
        if (result != ST_OK) {
            demo_report("st_dict_items(" DICT_NAME ")", result);
            return 1;
        }
        if (count > CAPACITY)
            count = CAPACITY;

        /* Start looking at a random entry, so clerks spread over the jobs. */
        size_t start = count > 0 ? lesson_random(&seed, (uint32_t)count) : 0;
        bool worked = false;
        for (size_t k = 0; k < count && !worked; k++) {
            const st_dict_item *item = &items[(start + k) % count];
            struct job job;
            if (item->size != sizeof job || strncmp(item->key, "job-", 4) != 0)
                continue;
            memcpy(&job, item->value, sizeof job);
            if (job.state != QUEUED || !claim(board, item->key, number, &job))
                continue;   /* another clerk was quicker: look further */
            uint32_t n = job_number(item->key);
            if (n < MAX_JOBS)
                __atomic_add_fetch(&board->book->claims[n], 1, __ATOMIC_RELAXED);

            lesson_nap(board->opts, ST_MILLISECONDS(WORK_MIN_MS +
                                                    lesson_random(&seed, WORK_SPREAD_MS)));
            job.result = collatz_steps(job.input);
            job.state = DONE;
            result = st_dict_set(board->jobs, item->key, &job, sizeof job);
            if (result != ST_OK) {
                demo_report("st_dict_set(" DICT_NAME ")", result);
                return 1;
            }
            board->book->ran[number]++;
            worked = true;
        }
        if (!worked)
            lesson_nap(board->opts, LOOK_NS);
    }
    return 0;
}

/* ==== the board monitor ==================================================== */

static int monitor_main(void *context, int number, struct crew_member *self)
{
    struct board *board = context;
    (void)number;
    (void)self;
    static st_dict_item items[CAPACITY];
    while (!demo_should_stop()) {
        lesson_nap(board->opts, MONITOR_NS);
        if (demo_should_stop())
            break;
        size_t count = 0;
        st_result result = st_dict_items(board->jobs, items, CAPACITY, &count);
        if (result != ST_OK) {
            demo_report("st_dict_items(" DICT_NAME ")", result);
            return 1;
        }
        int by_state[4] = { 0 };
        for (size_t k = 0; k < count && k < CAPACITY; k++) {
            struct job job;
            if (items[k].size != sizeof job)
                continue;
            memcpy(&job, items[k].value, sizeof job);
            if (job.state <= DONE)
                by_state[job.state]++;
        }
        char ran[160] = "";
        size_t used = 0;
        for (int c = 1; c <= board->clerks && used < sizeof ran; c++)
            used += (size_t)snprintf(ran + used, sizeof ran - used, "%sclerk-%d %" PRId64,
                                     c > 1 ? ", " : "", c, board->book->ran[c]);
        demo_say("board-monitor: \"" DICT_NAME "\" holds %zu: %d queued, %d running, %d done; "
                 "ran so far: %s", count, by_state[QUEUED], by_state[RUNNING], by_state[DONE], ran);
    }
    return 0;
}

/* ==== the dispatcher ======================================================= */

static bool post_job(struct board *board, uint64_t *seed)
{
    uint32_t n = board->posted + 1;
    char key[ST_DICT_KEY_MAX + 1];
    snprintf(key, sizeof key, "job-%u", n);
    struct job job = { .state = QUEUED, .input = 1000 + lesson_random(seed, 1000000) };
    st_result result = st_dict_set(board->jobs, key, &job, sizeof job);
    if (result == ST_EFULL)
        return false;   /* the board is full: post later */
    if (result != ST_OK) {
        demo_report("st_dict_set(" DICT_NAME ")", result);
        board->failed = true;
        return false;
    }
    board->posted = n;
    return true;
}

/* Collect the done jobs (check and delete them); count the queued ones. */
static int collect(struct board *board, int *queued)
{
    static st_dict_item items[CAPACITY];
    size_t count = 0;
    *queued = 0;
    st_result result = st_dict_items(board->jobs, items, CAPACITY, &count);
    if (result != ST_OK) {
        demo_report("st_dict_items(" DICT_NAME ")", result);
        board->failed = true;
        return 0;
    }
    int pending = 0;
    for (size_t k = 0; k < count && k < CAPACITY; k++) {
        struct job job;
        if (items[k].size != sizeof job)
            continue;
        memcpy(&job, items[k].value, sizeof job);
        if (job.state == QUEUED)
            (*queued)++;
        if (job.state != DONE) {
            pending++;
            continue;
        }
        if (job.result != collatz_steps(job.input) || job.clerk < 1 || job.clerk > board->clerks) {
            demo_warn("%s came back wrong: input %" PRIu64 ", result %" PRIu64 " by clerk %d",
                      items[k].key, job.input, job.result, job.clerk);
            board->wrong++;
        }
        result = st_dict_delete(board->jobs, items[k].key);
        if (result != ST_OK) {
            demo_report("st_dict_delete(" DICT_NAME ")", result);
            board->failed = true;
        }
        board->collected++;
    }
    return pending;
}

static void dispatch(struct board *board)
{
    uint64_t seed = lesson_seed(0);
    while (!demo_should_stop() && !board->failed) {
        int queued;
        collect(board, &queued);
        while (queued < BACKLOG && board->posted + 1 < MAX_JOBS && post_job(board, &seed))
            queued++;
        int64_t next = demo_now_ns() + lesson_pace(board->opts, DISPATCH_NS);
        if (!crew_watch_until(&board->crew, next)) {
            board->failed = true;
            return;
        }
    }
}

/* No more posting: wait until the clerks have done every job on the board.
 * After a Ctrl-C the clerks stop as we do and may leave jobs behind; the
 * check then covers the jobs that were done. */
static void drain(struct board *board)
{
    int64_t give_up = demo_now_ns() + DRAIN_TIMEOUT_NS;
    int queued;
    while (collect(board, &queued) > 0 && !board->failed) {
        if (demo_stop_requested() || demo_now_ns() > give_up)
            return;
        usleep(20000);
    }
}

static void check_claims(struct board *board)
{
    uint32_t unclaimed = 0, twice = 0;
    for (uint32_t n = 1; n <= board->posted; n++) {
        uint8_t times = board->book->claims[n];
        unclaimed += times == 0;
        twice += times > 1;
    }
    bool complete = board->collected == board->posted;
    if (twice > 0 || board->wrong > 0 || (complete && unclaimed > 0)) {
        demo_claim_failed("%u of %u jobs claimed twice or more, %u never claimed, %d with a "
                          "wrong result", twice, board->posted, unclaimed, board->wrong);
        board->failed = true;
        return;
    }
    demo_say("%u jobs posted, %u done and collected: each claimed exactly once, every result "
             "right%s", board->posted, board->collected,
             complete ? "" : _(" (stopped early: the rest were left on the board)"));
}

/* Entries left by an earlier run that was killed are not ours. */
static void clear_board(struct board *board)
{
    static st_dict_item items[CAPACITY];
    size_t count = 0;
    if (st_dict_items(board->jobs, items, CAPACITY, &count) != ST_OK)
        return;
    for (size_t k = 0; k < count && k < CAPACITY; k++)
        st_dict_delete(board->jobs, items[k].key);
}

int lesson_dict(const struct lesson_options *opts)
{
    struct board board = {
        .opts = opts,
        .clerks = opts->workers > 0 ? opts->workers : LESSON_DEFAULT_WORKERS,
    };
    board.book = crew_shared_alloc(sizeof *board.book);
    if (board.book != NULL && lesson_open(opts, "dispatcher", &board.table)) {
        st_result result = st_dict_open(board.table, DICT_NAME, CAPACITY, &board.jobs);
        if (result != ST_OK) {
            demo_report("st_dict_open(" DICT_NAME ")", result);
            board.failed = true;
        }
    } else {
        board.failed = true;
    }
    if (!board.failed) {
        clear_board(&board);
        demo_say("the dispatcher posts jobs on \"" DICT_NAME "\"; clerk-1..%d claim them under "
                 "its lock; the board-monitor shows the board", board.clerks);
        crew_init(&board.crew, board.table, demo_lesson_name());
        char name[ST_PROCESS_NAME_MAX + 1];
        for (int i = 1; i <= board.clerks && !board.failed; i++) {
            snprintf(name, sizeof name, "clerk-%d", i);
            if (crew_hire(&board.crew, name, "worker", clerk_main, &board, i) < 0)
                board.failed = true;
        }
        if (!board.failed &&
            crew_hire(&board.crew, "board-monitor", "monitor", monitor_main, &board, 1) < 0)
            board.failed = true;
        if (!board.failed) {
            dispatch(&board);
            drain(&board);
        }
        __atomic_store_n(&board.book->closing, 1, __ATOMIC_RELEASE);   /* go home */
        if (!crew_dismiss(&board.crew, STOP_TIMEOUT_NS))
            board.failed = true;
        if (!board.failed) {
            int queued;
            collect(&board, &queued);   /* what finished while we stopped them */
            check_claims(&board);
        }
    }
    st_dict_close(board.jobs);
    lesson_close(board.table);
    crew_shared_free(board.book, sizeof *board.book);
    return board.failed ? 1 : 0;
}
