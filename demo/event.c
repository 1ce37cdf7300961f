/* event.c - the event lesson: workers released together by one event.
 *
 * Four sprinters ("sprinter-1" .. "sprinter-4") wait at the start line on
 * the event "start-signal". Their waits have a timeout (1.5 s of the story):
 * each one that expires prints "still waiting" and the sprinter waits
 * again - the way to wait for something that may never come without
 * hanging. The process "starter" clears the signal, lets everyone line up,
 * holds them a moment, then sets it: one st_event_set() wakes every waiter
 * at once. The sprinters run (a pause), come back, and the next round
 * begins. In synctop: start-signal with is_set 0 and waiters 4, then a set,
 * waiters 0 and the sprinters running; sets, waits and wait_timeouts grow.
 *
 * Round protocol (shared memory): the starter publishes the round number
 * before it sets the event; a sprinter that wakes up records the time and
 * the round it ran. A sprinter back before the starter cleared the event
 * finds the round already run and waits for the clear.
 *
 * The claim: in every round all sprinters were waiting when the signal was
 * set, and every one of them was released by it (within 5 s - generous, for
 * a loaded machine; the spread actually measured is printed). The
 * dashboard must count the sets.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "crew.h"
#include "lessons.h"

#define SPRINTERS 4
#define EVENT_NAME "start-signal"
#define RELEASE_LIMIT_NS 5000000000LL
#define LINE_UP_LIMIT_NS 10000000000LL   /* plus 3 s of the story */
#define WAIT_TIMEOUT_NS 1500000000LL   /* of the story: a sprinter says "still waiting" */

struct start_line {
    int32_t round;                     /* published before the set */
    int32_t waiting[SPRINTERS];        /* 1: lined up, waiting for the signal */
    int32_t ran_round[SPRINTERS];      /* the last round each one ran */
    int64_t released_ns[SPRINTERS];    /* when it woke up for it */
};

struct meet {
    st_event *signal;
    struct start_line *line;
};

/* Wait (with timeouts) for a round after `last`. Returns it, 0 on a stop,
 * -1 on an error. */
static int await_start(struct meet *meet, const char *name, int last)
{
    for (;;) {
        if (demo_stop_requested())
            return 0;
        st_result result = st_event_wait(meet->signal, demo_scaled_ns(WAIT_TIMEOUT_NS));
        if (result == ST_ETIMEDOUT) {
            if (!demo_stop_requested())
                demo_say("%s: still waiting for " EVENT_NAME, name);
            continue;
        }
        if (result != ST_OK) {
            demo_report("st_event_wait(" EVENT_NAME ")", result);
            return -1;
        }
        int round = __atomic_load_n(&meet->line->round, __ATOMIC_SEQ_CST);
        if (round > last)
            return round;
        demo_pause(20);   /* still set from the round we ran: wait for the clear */
    }
}

static int sprinter_main(void *context, int number, struct crew_member *self)
{
    struct meet *meet = context;
    struct start_line *line = meet->line;
    int i = number - 1, last = 0;

    while (!demo_stop_requested()) {
        __atomic_store_n(&line->waiting[i], 1, __ATOMIC_SEQ_CST);
        int round = await_start(meet, self->name, last);
        if (round < 0)
            return 1;
        if (round == 0)
            break;
        __atomic_store_n(&line->released_ns[i], demo_now_ns(), __ATOMIC_SEQ_CST);
        __atomic_store_n(&line->waiting[i], 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&line->ran_round[i], round, __ATOMIC_SEQ_CST);
        last = round;
        demo_pause_between(500, 1500);   /* the sprint */
    }
    return 0;
}

static bool all_lined_up(const struct start_line *line)
{
    for (int i = 0; i < SPRINTERS; i++)
        if (__atomic_load_n(&line->waiting[i], __ATOMIC_SEQ_CST) == 0)
            return false;
    return true;
}

static bool all_ran(const struct start_line *line, int round)
{
    for (int i = 0; i < SPRINTERS; i++)
        if (__atomic_load_n(&line->ran_round[i], __ATOMIC_SEQ_CST) != round)
            return false;
    return true;
}

/* One round, from the starter's side. Returns 1 when it went as taught, 0
 * when a stop cut it short, -1 when the claim failed or a call failed. */
static int start_round(struct meet *meet, int round)
{
    struct start_line *line = meet->line;
    st_result result = st_event_clear(meet->signal);
    if (result != ST_OK) {
        demo_report("st_event_clear(" EVENT_NAME ")", result);
        return -1;
    }
    int64_t asked = demo_now_ns();
    while (!all_lined_up(line)) {
        if (demo_stop_requested())
            return 0;
        if (demo_now_ns() - asked > LINE_UP_LIMIT_NS + demo_scaled_ns(3000000000LL)) {
            for (int i = 0; i < SPRINTERS; i++)
                if (line->waiting[i] == 0)
                    demo_warn("sprinter-%d never came back to the start line", i + 1);
            return -1;
        }
        demo_pause(10);
    }
    demo_say("starter: all %d sprinters wait on " EVENT_NAME "; holding them a moment",
             SPRINTERS);
    demo_pause(2500);
    if (demo_stop_requested())
        return 0;

    __atomic_store_n(&line->round, round, __ATOMIC_SEQ_CST);
    int64_t set_ns = demo_now_ns();
    result = st_event_set(meet->signal);
    if (result != ST_OK) {
        demo_report("st_event_set(" EVENT_NAME ")", result);
        return -1;
    }
    while (!all_ran(line, round)) {
        if (demo_now_ns() - set_ns > RELEASE_LIMIT_NS) {
            for (int i = 0; i < SPRINTERS; i++)
                if (line->ran_round[i] != round)
                    demo_claim_failed("sprinter-%d was still waiting %.0f s after "
                                      EVENT_NAME " was set", i + 1, RELEASE_LIMIT_NS / 1e9);
            return -1;
        }
        if (demo_stop_requested())
            return 0;
        demo_pause_between(1, 1);
    }

    int64_t first = INT64_MAX, last = 0;
    for (int i = 0; i < SPRINTERS; i++) {
        int64_t t = line->released_ns[i];
        first = t < first ? t : first;
        last = t > last ? t : last;
    }
    demo_say("round %d: starter set " EVENT_NAME ": all %d sprinters released together, "
             "within %.2f ms of each other (the last %.2f ms after the set)", round, SPRINTERS,
             (last - first) / 1e6, (last - set_ns) / 1e6);
    return 1;
}

static int check_dashboard(const struct lesson_options *opts, int rounds)
{
    struct demo_watch watch;
    if (!demo_watch_open(&watch, opts->session))
        return 1;
    uint64_t sets = 0, timeouts = 0;
    bool seen = demo_watch_refresh(&watch) && demo_watch_u64(&watch, EVENT_NAME, "sets", &sets);
    demo_watch_u64(&watch, EVENT_NAME, "wait_timeouts", &timeouts);
    demo_watch_close(&watch);
    if (!seen)
        return demo_claim_failed("the dashboard shows no sets for " EVENT_NAME);
    if (sets < (uint64_t)rounds)
        return demo_claim_failed("%d rounds were started, but the dashboard counts %llu sets "
                                 "of " EVENT_NAME, rounds, (unsigned long long)sets);
    demo_say("%d round%s, each releasing all %d sprinters at once (the dashboard: %llu sets, "
             "%llu waits that timed out).", rounds, rounds == 1 ? "" : "s", SPRINTERS,
             (unsigned long long)sets, (unsigned long long)timeouts);
    return 0;
}

int lesson_event(const struct lesson_options *opts)
{
    struct meet meet = { 0 };
    st_table *table = NULL;
    struct crew crew;
    bool hired = false;
    int status = 1, rounds = 0;

    if (!lesson_open(opts, "starter", &table))
        goto out;
    st_result result = st_event_open(table, EVENT_NAME, &meet.signal);
    if (result != ST_OK) {
        demo_report("st_event_open(" EVENT_NAME ")", result);
        goto out;
    }
    meet.line = crew_shared_alloc(sizeof *meet.line);
    if (meet.line == NULL)
        goto out;
    /* An earlier run in this session may have left the event set. */
    result = st_event_clear(meet.signal);
    if (result != ST_OK) {
        demo_report("st_event_clear(" EVENT_NAME ")", result);
        goto out;
    }

    demo_say("%d sprinters wait on the event \"" EVENT_NAME "\" (saying \"still waiting\" "
             "when a wait times out); the starter sets it and all go at once. Watch: "
             "synctop -s %s", SPRINTERS, opts->session);
    crew_init(&crew, table, demo_lesson_name());
    hired = true;
    for (int i = 1; i <= SPRINTERS; i++) {
        char name[ST_PROCESS_NAME_MAX + 1];
        snprintf(name, sizeof name, "sprinter-%d", i);
        if (crew_hire(&crew, name, "sprinter", sprinter_main, &meet, i) < 0)
            goto out;
    }

    status = 0;
    while (!demo_stop_requested() && !(demo_time_is_up() && rounds > 0)) {
        int outcome = start_round(&meet, rounds + 1);
        if (outcome < 0) {
            status = 1;
            break;
        }
        if (outcome == 0)
            break;
        rounds++;
    }

out:
    if (hired) {
        for (int i = 0; i < crew.count; i++)
            crew_ask_to_stop(&crew, i);
        if (!crew_dismiss(&crew, DEMO_DISMISS_NS))
            status = 1;
    }
    if (status == 0 && rounds == 0 && meet.line != NULL)
        demo_say("stopped before the first start.");
    else if (status == 0 && meet.line != NULL)
        status = check_dashboard(opts, rounds);
    crew_shared_free(meet.line, sizeof *meet.line);
    st_event_close(meet.signal);
    lesson_close(table);
    return status;
}
