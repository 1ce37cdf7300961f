/* deadlock.c - the deadlock lesson: two locks taken in opposite orders.
 *
 * Two philosophers share two forks, the locks "fork-left" and
 * "fork-right". "philosopher-1" picks up fork-left, then fork-right;
 * "philosopher-2" picks up fork-right, then fork-left. Each round both
 * pick up their first fork (they wait for each other to, so that the bad
 * interleaving happens every time instead of now and then) and reach for
 * the second: each waits for a fork the other holds, and neither can ever
 * go on - a deadlock, a cycle in the wait-for graph.
 *
 * The "observer" (this lesson's own process) watches the session the way
 * synctop does: read-only, refreshing the model every 0.5 s of the story.
 * The model joins every process's "blocked on" with every lock's holder and
 * finds the cycle; synctop shows it as a banner and in "deadlocks".
 *
 * The way out: philosopher-1 waits without a limit, but philosopher-2 asks
 * for its second fork with a timeout (3 s of the story). When it expires,
 * it puts its first fork down ("deadlock broken by a timeout"), which lets
 * philosopher-1 eat; it backs off a moment, and the next round starts.
 * (The cure that avoids the deadlock altogether - both taking the forks in
 * the same order - is told, not shown: there would be nothing to watch.)
 *
 * The claim: whenever the model shows both philosophers blocked on the
 * forks, it reports the deadlock within 2 refreshes; and during the run a
 * deadlock was detected and broken by the timeout.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "crew.h"
#include "lessons.h"

#define PATIENCE_NS 3000000000LL     /* philosopher-2's timeout, of the story */
#define REFRESH_NS 500000000LL       /* the observer's refresh, of the story */

struct dining {
    int32_t holding_first[2];   /* the round in which each holds its first fork */
    int64_t broken;             /* deadlocks broken by philosopher-2's timeout */
    int64_t meals;
};

struct philosophers {
    st_lock *forks[2];          /* fork-left, fork-right */
    struct dining *dining;
};

static const char *const fork_names[2] = { "fork-left", "fork-right" };

static bool pick_up(st_lock *fork, int which, int64_t timeout_ns, st_result *result)
{
    *result = st_lock_acquire(fork, timeout_ns);
    if (*result == ST_OK || *result == ST_ETIMEDOUT)
        return true;
    if (*result == ST_EOWNERDEAD) {   /* a philosopher was killed holding it */
        *result = ST_OK;
        return true;
    }
    char what[64];
    snprintf(what, sizeof what, "st_lock_acquire(%s)", fork_names[which]);
    demo_report(what, *result);
    return false;
}

static bool put_down(st_lock *fork, int which)
{
    st_result result = st_lock_release(fork);
    if (result == ST_OK)
        return true;
    char what[64];
    snprintf(what, sizeof what, "st_lock_release(%s)", fork_names[which]);
    demo_report(what, result);
    return false;
}

/* philosopher-1 (number 1): left then right, patient. philosopher-2: right
 * then left, with a timeout on the second. */
static int philosopher_main(void *context, int number, struct crew_member *self)
{
    struct philosophers *table = context;
    struct dining *dining = table->dining;
    int me = number - 1, other = 1 - me;
    int first = me == 0 ? 0 : 1, second = 1 - first;
    bool patient = me == 0;

    for (int32_t round = 1; !demo_stop_requested(); round++) {
        st_result result;
        if (!pick_up(table->forks[first], first, ST_FOREVER, &result))
            return 1;
        __atomic_store_n(&dining->holding_first[me], round, __ATOMIC_SEQ_CST);
        /* Wait until the other holds its first fork too: the bad interleaving. */
        while (__atomic_load_n(&dining->holding_first[other], __ATOMIC_SEQ_CST) < round) {
            if (demo_stop_requested())
                return put_down(table->forks[first], first) ? 0 : 1;
            demo_pause_between(5, 5);
        }
        demo_say("%s holds %s and reaches for %s", self->name, fork_names[first],
                 fork_names[second]);

        if (!pick_up(table->forks[second], second,
                     patient ? ST_FOREVER : demo_scaled_ns(PATIENCE_NS), &result))
            return 1;
        if (result == ST_ETIMEDOUT) {
            __atomic_add_fetch(&dining->broken, 1, __ATOMIC_SEQ_CST);
            demo_say("%s waited %.1f s for %s: deadlock broken by a timeout - it puts %s down "
                     "and backs off", self->name, demo_scaled_ns(PATIENCE_NS) / 1e9,
                     fork_names[second], fork_names[first]);
            if (!put_down(table->forks[first], first))
                return 1;
            demo_pause_between(500, 800);   /* backing off */
            continue;
        }
        __atomic_add_fetch(&dining->meals, 1, __ATOMIC_RELAXED);
        demo_say("%s eats with both forks", self->name);
        demo_pause(500);
        if (!put_down(table->forks[second], second) || !put_down(table->forks[first], first))
            return 1;
        demo_pause(1000);   /* thinking */
    }
    return 0;
}

/* ---- the observer ------------------------------------------------------------ */

struct observation {
    pid_t pids[2];
    int blocked_streak;      /* refreshes in a row with both blocked on the forks */
    bool reported;           /* the current streak's deadlock was reported */
    int64_t detections;
    bool failed;
};

static bool blocked_on_a_fork(const struct demo_watch *watch, pid_t pid)
{
    const st_process_view *process = demo_watch_process(watch, pid);
    return process != NULL && process->blocked &&
           (strcmp(process->blocked_object_name, fork_names[0]) == 0 ||
            strcmp(process->blocked_object_name, fork_names[1]) == 0);
}

/* The model's cycle made of our two philosophers, or NULL. */
static const st_deadlock_view *our_cycle(const struct demo_watch *watch, const pid_t pids[2])
{
    size_t count = st_model_deadlock_count(watch->model);
    for (size_t i = 0; i < count; i++) {
        const st_deadlock_view *cycle = st_model_deadlock(watch->model, i);
        bool has[2] = { false, false };
        for (uint32_t k = 0; k < cycle->length && k < ST_DEADLOCK_MAX_CYCLE; k++)
            for (int p = 0; p < 2; p++)
                if (cycle->pids[k] == pids[p])
                    has[p] = true;
        if (has[0] && has[1])
            return cycle;
    }
    return NULL;
}

static void observe(struct demo_watch *watch, struct observation *seen)
{
    if (!demo_watch_refresh(watch)) {
        seen->failed = true;
        return;
    }
    bool both = blocked_on_a_fork(watch, seen->pids[0]) && blocked_on_a_fork(watch, seen->pids[1]);
    const st_deadlock_view *cycle = our_cycle(watch, seen->pids);
    if (!both) {
        seen->blocked_streak = 0;
        seen->reported = false;
    } else {
        seen->blocked_streak++;
    }
    if (cycle != NULL && !seen->reported) {
        seen->reported = true;
        seen->detections++;
        char story[512] = "";
        uint32_t length = cycle->length < ST_DEADLOCK_MAX_CYCLE ? cycle->length
                                                                 : ST_DEADLOCK_MAX_CYCLE;
        for (uint32_t k = 0; k < length; k++) {
            size_t used = strlen(story);
            snprintf(story + used, sizeof story - used, "%s%s waits for %s, held by %s",
                     k > 0 ? "; " : "", cycle->process_names[k], cycle->locks[k],
                     cycle->process_names[(k + 1) % length]);
        }
        demo_say("observer: DEADLOCK detected by the model: %s", story);
    }
    if (both && cycle == NULL && seen->blocked_streak >= 2 && !seen->reported) {
        demo_claim_failed("both philosophers were blocked on the forks for %d refreshes, "
                          "but the model reported no deadlock", seen->blocked_streak);
        seen->failed = true;
    }
}

int lesson_deadlock(const struct lesson_options *opts)
{
    struct philosophers table = { { NULL, NULL }, NULL };
    struct observation seen = { { 0, 0 }, 0, false, 0, false };
    struct demo_watch watch = { NULL, NULL };
    st_table *session = NULL;
    struct crew crew;
    bool hired = false, watching = false;
    int status = 1;

    if (!lesson_open(opts, "observer", &session))
        goto out;
    for (int i = 0; i < 2; i++) {
        st_result result = st_lock_open(session, fork_names[i], &table.forks[i]);
        if (result != ST_OK) {
            demo_report("st_lock_open", result);
            goto out;
        }
    }
    table.dining = crew_shared_alloc(sizeof *table.dining);
    if (table.dining == NULL || !(watching = demo_watch_open(&watch, opts->session)))
        goto out;

    demo_say("philosopher-1 takes fork-left then fork-right, philosopher-2 fork-right then "
             "fork-left: each round they deadlock, the model finds the cycle, and "
             "philosopher-2's timeout breaks it. Watch the deadlock banner: synctop -s %s",
             opts->session);
    crew_init(&crew, session, demo_lesson_name());
    hired = true;
    if (crew_hire(&crew, "philosopher-1", "philosopher", philosopher_main, &table, 1) < 0 ||
        crew_hire(&crew, "philosopher-2", "philosopher", philosopher_main, &table, 2) < 0)
        goto out;
    seen.pids[0] = crew.members[0].pid;
    seen.pids[1] = crew.members[1].pid;

    status = 0;
    while (!demo_stop_requested()) {
        demo_pause(REFRESH_NS / 1000000);
        observe(&watch, &seen);
        if (seen.failed) {
            status = 1;
            break;
        }
        if (demo_time_is_up() && seen.detections > 0 &&
            __atomic_load_n(&table.dining->broken, __ATOMIC_SEQ_CST) > 0)
            break;
    }

out:
    if (hired) {
        for (int i = 0; i < crew.count; i++)
            crew_ask_to_stop(&crew, i);
        if (!crew_dismiss(&crew, DEMO_DISMISS_NS))
            status = 1;
    }
    if (status == 0 && table.dining != NULL) {
        int64_t broken = table.dining->broken;
        if (seen.detections == 0 && broken == 0)
            demo_say("stopped before the first deadlock was seen.");
        else if (seen.detections == 0)
            status = demo_claim_failed("the philosophers deadlocked %lld time%s, but the model "
                                       "never reported it", (long long)broken,
                                       broken == 1 ? "" : "s");
        else
            demo_say("%lld deadlock%s detected by the model, %lld broken by the timeout; "
                     "%lld meals.", (long long)seen.detections,
                     seen.detections == 1 ? "" : "s", (long long)broken,
                     (long long)table.dining->meals);
    }
    if (watching)
        demo_watch_close(&watch);
    crew_shared_free(table.dining, sizeof *table.dining);
    st_lock_close(table.forks[0]);
    st_lock_close(table.forks[1]);
    lesson_close(session);
    return status;
}
