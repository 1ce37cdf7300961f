/* shm_split.c - the shm-split lesson: one array in shared memory, split
 * among workers, each doubling its own slice in place.
 *
 * The process "splitter" creates the shared-memory region "numbers" (an
 * array of int64, --deposits elements per worker, 250000 by default) and
 * forks the workers "doubler-1" .. "doubler-N". Each doubler attaches to the
 * region by name, so the dashboard's `attached` for "numbers" reads N + 1
 * while the lesson runs. Every round (about one a second) the splitter
 * fills the array with fresh numbers, hands doubler k the slice
 * [k * n / N, (k + 1) * n / N), and waits for all of them; then it checks
 * every element: each must be exactly twice what it wrote. No lock is
 * needed: the slices do not overlap, so no two processes ever write the
 * same element - that is the lesson.
 *
 * At the end the doublers detach, the splitter unlinks "numbers" and checks
 * that the name is gone (attaching again must fail with ST_ENOENT): the
 * region's `unlinked` turns 1 and its memory leaves /dev/shm. A region
 * left over by a killed run of the lesson is unlinked first.
 *
 * The claim checked: every element of every round doubled exactly once,
 * and the region unlinked at the end. Exit status 1 otherwise.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "crew.h"
#include "../tui/i18n.h"

#define REGION_NAME "numbers"
#define DEFAULT_PER_WORKER 250000L
#define ROUND_NS 1000000000LL     /* a round starts every second */
#define STEPS_PER_SLICE 8         /* a slice is doubled in steps, with naps between */
#define STEP_NAP_NS 40000000LL    /* so that the doublers are seen at work */
#define DISMISS_TIMEOUT_NS 3000000000LL

enum { ORDER_DOUBLE = 1 };

struct split {
    const struct lesson_options *opts;
    st_table *table;
    st_shm *region;
    int64_t *numbers;
    size_t count;
    struct crew crew;
    int rounds;
    int wrong_rounds;
    bool failed;
};

/* The number the splitter writes at index i in a round: different every
 * round, so a slice left undoubled, or doubled twice, cannot pass. */
static int64_t original(size_t i, int round)
{
    return (int64_t)i * 3 + round * 7 + 1;
}

/* ==== a doubler ============================================================= */

static int doubler_main(void *context, int number, struct crew_member *self)
{
    struct split *split = context;
    (void)number;

    /* Attach by name, as an unrelated process would: the region counts us. */
    st_shm *region;
    st_result result = st_shm_attach(split->table, REGION_NAME, &region);
    if (result != ST_OK) {
        demo_report("st_shm_attach(" REGION_NAME ")", result);
        return 1;
    }
    int64_t *numbers = st_shm_data(region);

    struct crew_order order;
    int status = 0;
    while (crew_next_order(self, &order)) {
        size_t start = (size_t)order.arg[0], count = (size_t)order.arg[1];
        struct crew_report report = { .status = CREW_DONE };
        size_t step = (count + STEPS_PER_SLICE - 1) / STEPS_PER_SLICE;
        for (size_t done = 0; done < count; done += step) {
            size_t end = done + step < count ? done + step : count;
            for (size_t i = start + done; i < start + end; i++)
                numbers[i] *= 2;
            report.value[0] += (int64_t)(end - done);
            if (end < count)
                lesson_nap(split->opts, STEP_NAP_NS);
        }
        if (demo_stop_requested())
            report.status = CREW_STOPPED;
        if (!crew_report(self, &report))
            break;
    }
    st_shm_close(region);
    return status;
}

/* ==== the splitter ========================================================== */

static bool create_region(struct split *split)
{
    size_t bytes = split->count * sizeof(int64_t);
    st_result result = st_shm_create(split->table, REGION_NAME, bytes, &split->region);
    if (result == ST_EBUSY) {
        /* Left over by an earlier run that was killed: start afresh. */
        st_shm_unlink_name(split->table, REGION_NAME);
        result = st_shm_create(split->table, REGION_NAME, bytes, &split->region);
    }
    if (result != ST_OK) {
        demo_report("st_shm_create(" REGION_NAME ")", result);
        return false;
    }
    split->numbers = st_shm_data(split->region);
    return true;
}

/* One round (a lesson_round_fn). Returns false when it could not complete. */
static bool play_round(void *context, int round)
{
    struct split *split = context;
    for (size_t i = 0; i < split->count; i++)
        split->numbers[i] = original(i, round);

    int workers = split->crew.count;
    struct crew_order orders[CREW_MAX_MEMBERS];
    for (int k = 0; k < workers; k++) {
        size_t first = split->count * (size_t)k / (size_t)workers;
        size_t end = split->count * (size_t)(k + 1) / (size_t)workers;
        orders[k] = (struct crew_order){
            .kind = ORDER_DOUBLE,
            .round = round,
            .arg = { (int64_t)first, (int64_t)(end - first) },
        };
    }
    int64_t started = demo_now_ns();
    if (!crew_run_orders(&split->crew, workers, orders, NULL, &split->failed))
        return false;

    double seconds = (double)(demo_now_ns() - started) / 1e9;
    size_t wrong = 0, first_wrong = 0;
    for (size_t i = 0; i < split->count; i++) {
        if (split->numbers[i] != 2 * original(i, round)) {
            if (wrong++ == 0)
                first_wrong = i;
        }
    }
    split->rounds++;
    if (wrong > 0) {
        split->wrong_rounds++;
        demo_warn("round %d: %zu of %zu numbers not doubled exactly once "
                  "(first at index %zu: %" PRId64 " instead of %" PRId64 ")",
                  round, wrong, split->count, first_wrong, split->numbers[first_wrong],
                  2 * original(first_wrong, round));
    } else {
        demo_say("round %-3d %d doubler%s doubled %zu numbers of \"" REGION_NAME "\" "
                 "in %.2f s: all correct",
                 round, workers, workers == 1 ? "" : "s", split->count, seconds);
    }
    return true;
}

/* Unlink the region and make sure its name is gone. */
static bool unlink_region(struct split *split)
{
    st_result result = st_shm_unlink(split->region);
    if (result != ST_OK) {
        demo_report("st_shm_unlink(" REGION_NAME ")", result);
        return false;
    }
    st_shm_close(split->region);
    split->region = NULL;
    split->numbers = NULL;

    st_shm *again = NULL;
    result = st_shm_attach(split->table, REGION_NAME, &again);
    if (result != ST_ENOENT) {
        demo_claim_failed("\"" REGION_NAME "\" can still be attached after "
                          "st_shm_unlink (%s)", st_strerror(result));
        st_shm_close(again);
        return false;
    }
    return true;
}

int lesson_shm_split(const struct lesson_options *opts)
{
    struct split split = { .opts = opts };
    long per_worker = opts->deposits > 0 ? opts->deposits : DEFAULT_PER_WORKER;
    int workers = opts->workers > 0 ? opts->workers : LESSON_DEFAULT_WORKERS;
    split.count = (size_t)per_worker * (size_t)workers;

    bool unlinked = false;
    if (lesson_open(opts, "splitter", &split.table) && create_region(&split)) {
        crew_init(&split.crew, split.table, demo_lesson_name());
        demo_say("%d doubler%s each double%s a slice of %zu int64 in the shared-memory "
                 "region \"" REGION_NAME "\" (%zu bytes)",
                 workers, workers == 1 ? "" : "s", workers == 1 ? "s" : "",
                 split.count / (size_t)workers, split.count * sizeof(int64_t));
        for (int i = 1; i <= workers && !split.failed; i++) {
            char name[ST_PROCESS_NAME_MAX + 1];
            snprintf(name, sizeof name, "doubler-%d", i);
            if (crew_hire(&split.crew, name, "doubler", doubler_main, &split, i) < 0)
                split.failed = true;
        }
        if (!split.failed)
            lesson_play_rounds(play_round, &split, ROUND_NS);
        if (!crew_dismiss(&split.crew, DISMISS_TIMEOUT_NS))
            split.failed = true;
        unlinked = unlink_region(&split);
    } else {
        split.failed = true;
    }
    st_shm_close(split.region);
    lesson_close(split.table);

    if (split.rounds > 0)
        demo_say("%d of %d rounds doubled every number exactly once; \"" REGION_NAME "\" %s",
                 split.rounds - split.wrong_rounds, split.rounds,
                 unlinked ? _("unlinked: its memory is gone from /dev/shm") : _("NOT unlinked"));
    if (split.wrong_rounds > 0)
        return demo_claim_failed("in %d round%s some slice was not doubled exactly once",
                                 split.wrong_rounds, split.wrong_rounds == 1 ? "" : "s");
    return split.failed || !unlinked ? 1 : 0;
}
