/* startstop.c - the startstop lesson: a controller steering producers and
 * consumers with two events.
 *
 * A bakery line: "baker-1" and "baker-2" bake loaves onto the rack, the
 * queue "bread-rack"; "courier-1" and "courier-2" take them off and deliver
 * them. The "controller" runs the line in shifts: it sets the event
 * "line-start" (and clears "line-stop") and the line works; after a while
 * it clears line-start and sets "line-stop", and every worker finishes the
 * loaf in its hands, parks, and waits for line-start again (with a
 * timeout, so that a stop request is never missed). In synctop: the two
 * events flip, the workers go from running to blocked on line-start, the
 * rack's depth, puts and gets move only while the line runs.
 *
 * Parking, race-free: a worker marks itself "busy" BEFORE it looks at the
 * events, and "parked" after it saw them say stop. So when the controller,
 * after setting line-stop, sees every worker parked, any look a worker takes
 * afterwards sees line-stop, and no loaf can be baked or delivered until the
 * next line-start.
 *
 * The claim: after line-stop every worker parks (within 5 s, generous for a
 * loaded machine), and while the line is stopped not one loaf is baked or
 * delivered; while it runs, loaves are baked.
 */
#include "config.h"

#include <stdio.h>

#include "crew.h"
#include "lessons.h"

#define BAKERS 2
#define COURIERS 2
#define WORKERS (BAKERS + COURIERS)
#define PARK_LIMIT_NS 5000000000LL
#define RACK_CAPACITY 6

struct loaf {
    int64_t number;
    int32_t baker;
    int32_t pad;
};

struct line_shared {
    int32_t parked[WORKERS];
    int64_t baked;
    int64_t delivered;
    int64_t next_loaf;
};

struct bakery {
    st_event *start;
    st_event *stop;
    st_queue *rack;
    struct line_shared *shared;
};

/* Is the line running right now? false also on an error (reported). */
static bool line_runs(struct bakery *bakery, bool *failed)
{
    bool started = false, stopped = true;
    st_result result = st_event_is_set(bakery->start, &started);
    if (result == ST_OK)
        result = st_event_is_set(bakery->stop, &stopped);
    if (result != ST_OK) {
        demo_report("st_event_is_set", result);
        *failed = true;
        return false;
    }
    return started && !stopped;
}

/* Park until line-start (timeouts let a stop request through). */
static bool park(struct bakery *bakery, int i, const char *name, bool *announced)
{
    __atomic_store_n(&bakery->shared->parked[i], 1, __ATOMIC_SEQ_CST);
    if (!*announced) {
        demo_say("%s: line-stop seen; parked until line-start", name);
        *announced = true;
    }
    st_result result = st_event_wait(bakery->start, demo_scaled_ns(1500000000LL));
    if (result != ST_OK && result != ST_ETIMEDOUT) {
        demo_report("st_event_wait(line-start)", result);
        return false;
    }
    return true;
}

static int baker_main(void *context, int number, struct crew_member *self)
{
    struct bakery *bakery = context;
    int i = number - 1;
    bool announced = true, failed = false, in_hand = false;
    struct loaf loaf = { 0 };

    while (!demo_stop_requested()) {
        __atomic_store_n(&bakery->shared->parked[i], 0, __ATOMIC_SEQ_CST);   /* busy first... */
        if (!line_runs(bakery, &failed)) {                                   /* ...then look */
            if (failed || !park(bakery, i, self->name, &announced))
                return 1;
            continue;
        }
        announced = false;
        if (!in_hand) {
            demo_pause_between(200, 500);   /* baking */
            loaf.number = __atomic_add_fetch(&bakery->shared->next_loaf, 1, __ATOMIC_SEQ_CST);
            loaf.baker = number;
            in_hand = true;
            __atomic_add_fetch(&bakery->shared->baked, 1, __ATOMIC_SEQ_CST);
        }
        st_result result = st_queue_put(bakery->rack, &loaf, sizeof loaf,
                                        demo_scaled_ns(500000000LL));
        if (result == ST_OK)
            in_hand = false;
        else if (result != ST_ETIMEDOUT) {   /* a full rack: try again next time */
            demo_report("st_queue_put(bread-rack)", result);
            return 1;
        }
    }
    return 0;
}

static int courier_main(void *context, int number, struct crew_member *self)
{
    struct bakery *bakery = context;
    int i = BAKERS + number - 1;
    bool announced = true, failed = false;

    while (!demo_stop_requested()) {
        __atomic_store_n(&bakery->shared->parked[i], 0, __ATOMIC_SEQ_CST);
        if (!line_runs(bakery, &failed)) {
            if (failed || !park(bakery, i, self->name, &announced))
                return 1;
            continue;
        }
        announced = false;
        struct loaf loaf;
        size_t length = 0;
        st_result result = st_queue_get(bakery->rack, &loaf, sizeof loaf, &length,
                                        demo_scaled_ns(500000000LL));
        if (result == ST_ETIMEDOUT)
            continue;   /* an empty rack */
        if (result != ST_OK) {
            demo_report("st_queue_get(bread-rack)", result);
            return 1;
        }
        demo_pause_between(250, 600);   /* delivering */
        __atomic_add_fetch(&bakery->shared->delivered, 1, __ATOMIC_SEQ_CST);
    }
    return 0;
}

static bool set_line(struct bakery *bakery, bool run)
{
    /* Start: lower stop, then raise start. Stop: lower start, then raise
     * stop. Both orders keep "start set and stop clear" false in between. */
    st_result result = run ? st_event_clear(bakery->stop) : st_event_clear(bakery->start);
    if (result == ST_OK)
        result = run ? st_event_set(bakery->start) : st_event_set(bakery->stop);
    if (result != ST_OK) {
        demo_report(run ? "starting the line" : "stopping the line", result);
        return false;
    }
    return true;
}

static bool everyone_parked(const struct line_shared *shared)
{
    for (int i = 0; i < WORKERS; i++)
        if (__atomic_load_n(&shared->parked[i], __ATOMIC_SEQ_CST) == 0)
            return false;
    return true;
}

static const char *worker_name(int i, char *buf, size_t size)
{
    if (i < BAKERS)
        snprintf(buf, size, "baker-%d", i + 1);
    else
        snprintf(buf, size, "courier-%d", i - BAKERS + 1);
    return buf;
}

/* One shift and one pause. 1: as taught, 0: cut short by a stop, -1: the
 * claim failed or a call failed. */
static int run_shift(struct bakery *bakery, int shift)
{
    struct line_shared *shared = bakery->shared;
    int64_t baked_before = __atomic_load_n(&shared->baked, __ATOMIC_SEQ_CST);
    if (!set_line(bakery, true))
        return -1;
    demo_say("controller: shift %d: line-start set, line-stop cleared: the line runs", shift);
    demo_pause(3000);
    if (demo_stop_requested())
        return 0;

    if (!set_line(bakery, false))
        return -1;
    int64_t stopped_at = demo_now_ns();
    while (!everyone_parked(shared)) {
        if (demo_now_ns() - stopped_at > PARK_LIMIT_NS) {
            char name[ST_PROCESS_NAME_MAX + 1];
            for (int i = 0; i < WORKERS; i++)
                if (shared->parked[i] == 0)
                    demo_claim_failed("%s still worked %.0f s after line-stop was set",
                                      worker_name(i, name, sizeof name), PARK_LIMIT_NS / 1e9);
            return -1;
        }
        if (demo_stop_requested())
            return 0;
        demo_pause_between(1, 1);
    }
    int64_t baked = __atomic_load_n(&shared->baked, __ATOMIC_SEQ_CST);
    int64_t delivered = __atomic_load_n(&shared->delivered, __ATOMIC_SEQ_CST);
    demo_say("controller: line-stop set: all %d workers parked within %.0f ms; %lld loaves "
             "baked this shift", WORKERS, (demo_now_ns() - stopped_at) / 1e6,
             (long long)(baked - baked_before));
    if (baked == baked_before && shift > 0)
        demo_say("controller: note: no loaf was baked this shift (a busy machine?)");

    demo_pause(2000);   /* the line stands still */
    if (demo_stop_requested())
        return 0;
    int64_t baked_after = __atomic_load_n(&shared->baked, __ATOMIC_SEQ_CST);
    int64_t delivered_after = __atomic_load_n(&shared->delivered, __ATOMIC_SEQ_CST);
    if (baked_after != baked || delivered_after != delivered) {
        demo_claim_failed("while the line was stopped, %lld loaves were baked and %lld "
                          "delivered", (long long)(baked_after - baked),
                          (long long)(delivered_after - delivered));
        return -1;
    }
    demo_say("controller: while stopped nothing was baked or delivered (in all: %lld baked, "
             "%lld delivered)", (long long)baked_after, (long long)delivered_after);
    return 1;
}

static bool open_objects(st_table *table, struct bakery *bakery)
{
    st_result result = st_event_open(table, "line-start", &bakery->start);
    if (result == ST_OK)
        result = st_event_open(table, "line-stop", &bakery->stop);
    if (result == ST_OK)
        result = st_queue_open(table, "bread-rack", RACK_CAPACITY, sizeof(struct loaf),
                               &bakery->rack);
    if (result != ST_OK) {
        demo_report("opening line-start, line-stop and bread-rack", result);
        return false;
    }
    return true;
}

int lesson_startstop(const struct lesson_options *opts)
{
    struct bakery bakery = { 0 };
    st_table *table = NULL;
    struct crew crew;
    bool hired = false;
    int status = 1, shifts = 0;

    if (!lesson_open(opts, "controller", &table) || !open_objects(table, &bakery))
        goto out;
    bakery.shared = crew_shared_alloc(sizeof *bakery.shared);
    if (bakery.shared == NULL || !set_line(&bakery, false))
        goto out;

    demo_say("the controller runs a bakery line in shifts with the events \"line-start\" and "
             "\"line-stop\": bakers fill the queue \"bread-rack\", couriers empty it. Watch: "
             "synctop -s %s", opts->session);
    crew_init(&crew, table, demo_lesson_name());
    hired = true;
    for (int i = 1; i <= BAKERS; i++) {
        char name[ST_PROCESS_NAME_MAX + 1];
        snprintf(name, sizeof name, "baker-%d", i);
        if (crew_hire(&crew, name, "producer", baker_main, &bakery, i) < 0)
            goto out;
    }
    for (int i = 1; i <= COURIERS; i++) {
        char name[ST_PROCESS_NAME_MAX + 1];
        snprintf(name, sizeof name, "courier-%d", i);
        if (crew_hire(&crew, name, "consumer", courier_main, &bakery, i) < 0)
            goto out;
    }

    status = 0;
    while (!demo_stop_requested() && !(demo_time_is_up() && shifts > 0)) {
        int outcome = run_shift(&bakery, shifts + 1);
        if (outcome < 0)
            status = 1;
        if (outcome <= 0)
            break;
        shifts++;
    }

out:
    if (hired) {
        for (int i = 0; i < crew.count; i++)
            crew_ask_to_stop(&crew, i);
        if (!crew_dismiss(&crew, DEMO_DISMISS_NS))
            status = 1;
    }
    if (status == 0 && bakery.shared != NULL) {
        if (shifts == 0)
            demo_say("stopped before the first shift ended.");
        else if (bakery.shared->baked == 0)
            status = demo_claim_failed("%d shift%s ran but no loaf was baked", shifts,
                                       shifts == 1 ? "" : "s");
        else
            demo_say("%d shift%s: %lld loaves baked and %lld delivered, none while the line "
                     "was stopped.", shifts, shifts == 1 ? "" : "s",
                     (long long)bakery.shared->baked, (long long)bakery.shared->delivered);
    }
    crew_shared_free(bakery.shared, sizeof *bakery.shared);
    st_queue_close(bakery.rack);
    st_event_close(bakery.start);
    st_event_close(bakery.stop);
    lesson_close(table);
    return status;
}
