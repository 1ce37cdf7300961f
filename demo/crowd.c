/* crowd.c - clients competing for a few slots guarded by a semaphore (see
 * crowd.h).
 *
 * Each client loops: wait for a slot (st_semaphore_acquire), work a while
 * holding it, give it back, rest. The semaphore starts at story->slots, so
 * at most that many clients work at once and the others queue on it: in
 * synctop the semaphore shows value 0, in_use at its initial value and
 * waiters, and the clients are "blocked" on it in turn.
 *
 * The lesson checks its claim twice, independently of the semaphore:
 *   - the clients count themselves in shared memory: `working` goes up
 *     right after a slot is granted and down right before it is given back
 *     (in that order, so the count can never over-state), and the largest
 *     value seen is kept in `peak`; it must never exceed the slots;
 *   - the semaphore's own `peak_in_use`, read back the way the dashboard
 *     reads it (watch.c), must not exceed them either.
 *
 * Waits are ST_FOREVER: a client blocked on the semaphore cannot see a stop
 * request, but every holder gives its slot back within one turn (and at
 * once when stopping: demo_pause() returns early), so the queue drains.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "crew.h"
#include "crowd.h"

enum client_state { RESTING = 0, WAITING, WORKING };

/* Shared by the manager and every client. */
struct crowd_shared {
    int32_t working;              /* clients holding a slot right now */
    int32_t peak;                 /* the most ever seen at once */
    int64_t turns;                /* turns completed (slot given back) */
    int64_t longest_wait_ns;
    int32_t state[CROWD_MAX_CLIENTS];
};

struct crowd {
    const struct crowd_story *story;
    st_semaphore *semaphore;
    struct crowd_shared *shared;
};

static void note_peak(struct crowd_shared *shared, int32_t now_working)
{
    int32_t peak = __atomic_load_n(&shared->peak, __ATOMIC_RELAXED);
    while (now_working > peak &&
           !__atomic_compare_exchange_n(&shared->peak, &peak, now_working, false,
                                        __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
        ;
}

static void note_wait(struct crowd_shared *shared, int64_t waited_ns)
{
    int64_t longest = __atomic_load_n(&shared->longest_wait_ns, __ATOMIC_RELAXED);
    while (waited_ns > longest &&
           !__atomic_compare_exchange_n(&shared->longest_wait_ns, &longest, waited_ns, false,
                                        __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
        ;
}

/* One client's life (a crew member): turns until asked to stop. */
static int client_main(void *context, int number, struct crew_member *self)
{
    (void)self;
    struct crowd *crowd = context;
    const struct crowd_story *story = crowd->story;
    struct crowd_shared *shared = crowd->shared;
    int32_t *state = &shared->state[number - 1];

    while (!demo_stop_requested()) {
        __atomic_store_n(state, WAITING, __ATOMIC_RELAXED);
        int64_t asked = demo_now_ns();
        st_result result = st_semaphore_acquire(crowd->semaphore, ST_FOREVER);
        if (result != ST_OK) {
            demo_report("st_semaphore_acquire", result);
            return 1;
        }
        note_wait(shared, demo_now_ns() - asked);

        /* Count ourselves in after the grant... */
        note_peak(shared, __atomic_add_fetch(&shared->working, 1, __ATOMIC_SEQ_CST));
        __atomic_store_n(state, WORKING, __ATOMIC_RELAXED);
        demo_pause_between(story->work_min_ms, story->work_max_ms);
        /* ...and out before giving the slot back. */
        __atomic_store_n(state, RESTING, __ATOMIC_RELAXED);
        __atomic_sub_fetch(&shared->working, 1, __ATOMIC_SEQ_CST);

        result = st_semaphore_release(crowd->semaphore);
        if (result != ST_OK) {
            demo_report("st_semaphore_release", result);
            return 1;
        }
        __atomic_add_fetch(&shared->turns, 1, __ATOMIC_RELAXED);
        demo_pause_between(story->rest_min_ms, story->rest_max_ms);
    }
    return 0;
}

/* "working: download-2 download-7 download-9 | waiting 5 | 14 done" */
static void report_progress(const struct crowd *crowd)
{
    const struct crowd_story *story = crowd->story;
    char who[512] = "";
    int waiting = 0;
    for (int i = 0; i < story->clients; i++) {
        int32_t state = __atomic_load_n(&crowd->shared->state[i], __ATOMIC_RELAXED);
        if (state == WAITING)
            waiting++;
        if (state == WORKING) {
            size_t used = strlen(who);
            snprintf(who + used, sizeof who - used, " %s-%d", story->client_prefix, i + 1);
        }
    }
    demo_say("%s:%s | waiting for a %s: %d | turns done: %lld | most at once: %d of %u",
             story->doing, who[0] != '\0' ? who : " nobody", story->slot_word, waiting,
             (long long)__atomic_load_n(&crowd->shared->turns, __ATOMIC_RELAXED),
             (int)__atomic_load_n(&crowd->shared->peak, __ATOMIC_RELAXED), story->slots);
}

/* The claim, by the clients' count and by the semaphore's figures. */
static int check_claim(const struct lesson_options *opts, const struct crowd *crowd)
{
    const struct crowd_story *story = crowd->story;
    int32_t peak = crowd->shared->peak;
    int64_t turns = crowd->shared->turns;

    if (peak > (int32_t)story->slots)
        return demo_claim_failed("%d clients held a %s of %s at once, but it has only %u",
                                 peak, story->slot_word, story->semaphore, story->slots);

    struct demo_watch watch;
    if (!demo_watch_open(&watch, opts->session))
        return 1;
    uint64_t peak_in_use = 0, acquisitions = 0, contentions = 0;
    bool seen = demo_watch_refresh(&watch) &&
                demo_watch_u64(&watch, story->semaphore, "peak_in_use", &peak_in_use) &&
                demo_watch_u64(&watch, story->semaphore, "acquisitions", &acquisitions);
    demo_watch_u64(&watch, story->semaphore, "contentions", &contentions);
    demo_watch_close(&watch);
    if (!seen)
        return demo_claim_failed("the dashboard does not show %s's peak_in_use and "
                                 "acquisitions", story->semaphore);
    if (peak_in_use > story->slots)
        return demo_claim_failed("the dashboard shows %s with peak_in_use %llu, above its "
                                 "%u %ss", story->semaphore, (unsigned long long)peak_in_use,
                                 story->slots, story->slot_word);
    if (turns > 0 && acquisitions == 0)
        return demo_claim_failed("%lld turns were taken but %s counts no acquisition",
                                 (long long)turns, story->semaphore);

    if (turns == 0)
        demo_say("stopped before the first turn finished.");
    else
        demo_say("%lld turns; at most %d of %u %ss in use at once (the dashboard's "
                 "peak_in_use: %llu); %llu of %llu acquisitions had to wait, the longest "
                 "%.2f s.", (long long)turns, peak, story->slots, story->slot_word,
                 (unsigned long long)peak_in_use, (unsigned long long)contentions,
                 (unsigned long long)acquisitions, crowd->shared->longest_wait_ns / 1e9);
    return 0;
}

int crowd_run(const struct lesson_options *opts, const struct crowd_story *story)
{
    struct crowd crowd = { .story = story };
    st_table *table = NULL;
    int status = 1;
    struct crew crew;
    bool hired = false;

    if (!lesson_open(opts, story->manager, &table))
        goto out;
    st_result result = st_semaphore_open(table, story->semaphore, story->slots,
                                         &crowd.semaphore);
    if (result != ST_OK) {
        demo_report("st_semaphore_open", result);
        goto out;
    }
    crowd.shared = crew_shared_alloc(sizeof *crowd.shared);
    if (crowd.shared == NULL)
        goto out;

    demo_say("%d %ss share %u %ss: the semaphore \"%s\" starts at %u, so at most %u are "
             "%s at once and the others wait. Watch: synctop -s %s", story->clients,
             story->client_prefix, story->slots, story->slot_word, story->semaphore, story->slots,
             story->slots, story->doing, opts->session);

    crew_init(&crew, table, demo_lesson_name());
    hired = true;
    for (int i = 1; i <= story->clients; i++) {
        char name[ST_PROCESS_NAME_MAX + 1];
        snprintf(name, sizeof name, "%s-%d", story->client_prefix, i);
        if (crew_hire(&crew, name, story->client_role, client_main, &crowd, i) < 0)
            goto out;
    }

    /* Report once a second (of the story) until the end; at least one turn
     * must finish before the claim means anything. */
    while (!demo_stop_requested()) {
        demo_pause(1000);
        if (demo_stop_requested())
            break;
        report_progress(&crowd);
        if (demo_time_is_up() && __atomic_load_n(&crowd.shared->turns, __ATOMIC_RELAXED) > 0)
            break;
    }
    status = 0;

out:
    if (hired) {
        for (int i = 0; i < crew.count; i++)
            crew_ask_to_stop(&crew, i);
        if (!crew_dismiss(&crew, DEMO_DISMISS_NS))
            status = 1;
    }
    if (status == 0 && crowd.shared != NULL)
        status = check_claim(opts, &crowd);
    crew_shared_free(crowd.shared, sizeof *crowd.shared);
    st_semaphore_close(crowd.semaphore);
    lesson_close(table);
    return status;
}
