/* supervisor.c - the supervisor lesson: restarting crashing workers, at
 * most 3 times each.
 *
 * The "foreman" (this lesson's own process) runs the supervisor
 * "health-check" over three unstable workers, "unstable-1" ..
 * "unstable-3". A worker heartbeats while it lives, sometimes freezes
 * (stops heartbeating for a while: the supervisor marks it unhealthy until
 * it beats again), and after a random lifetime crashes - exit status 3,
 * exit status 70 or SIGKILL. The supervisor notices the crash, records the
 * failure, and starts the worker again, up to 3 restarts; a worker that
 * crashes a 4th time is given up on and stays crashed. When all three are
 * given up, a new shift starts (the supervisor is closed and opened
 * again), so there is always something to watch. In synctop: the
 * workers' states (starting, running, unhealthy, crashed), their restart
 * counts, and health-check's restarts_total, gave_up and last_failure.
 *
 * The claim: no worker is ever restarted more than 3 times - by the
 * supervisor's own account and by the restart counts in the status table
 * that the dashboard shows - and crashed workers are restarted (at least
 * one restart happened).
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "crew.h"
#include "lessons.h"

#define WORKERS 3
#define RESTART_LIMIT 3
#define SUPERVISOR_NAME "health-check"

/* ---- an unstable worker (forked by the supervisor) --------------------------- */

static int unstable_main(st_table *table, void *arg)
{
    (void)arg;
    /* The supervisor starts its workers with SIGTERM at its default (so that
     * closing stops them); take it back, so that a stop request - from the
     * supervisor closing, or Ctrl-C reaching the whole lesson - ends the
     * worker cleanly instead of counting as a crash. */
    demo_install_signal_handlers();
    int64_t lifetime_ms = demo_random(1000, 3000);
    bool freezes = demo_random(1, 4) == 1;
    int64_t born = demo_now_ns();
    int64_t lifetime_ns = demo_scaled_ns(lifetime_ms * 1000000LL);

    while (!demo_stop_requested() && demo_now_ns() - born < lifetime_ns) {
        st_process_heartbeat(table);
        if (freezes && demo_now_ns() - born > lifetime_ns / 3) {
            freezes = false;
            demo_pause(1500);   /* frozen: no heartbeat for a while */
        }
        demo_pause(250);
    }
    if (demo_stop_requested())
        return 0;   /* a clean stop: not a crash */
    switch (demo_random(0, 2)) {
    case 0:
        return 3;
    case 1:
        return 70;
    default:
        raise(SIGKILL);
        return 1;
    }
}

/* ---- the foreman ----------------------------------------------------------------- */

struct shift {
    st_supervisor *sup;
    st_supervisor_worker_info seen[WORKERS];   /* as last narrated */
    int64_t restarts;                          /* in all shifts */
    bool failed;
};

static bool start_shift(st_table *table, struct shift *shift, int number)
{
    st_supervisor_options options = {
        .restart_limit = RESTART_LIMIT,
        .heartbeat_timeout_ns = demo_scaled_ns(1000000000LL),
        .stop_timeout_ns = 2000000000LL,
        .log = NULL,   /* the foreman narrates, through demo_say() */
    };
    st_result result = st_supervisor_open(table, SUPERVISOR_NAME, &options, &shift->sup);
    if (result != ST_OK) {
        demo_report("st_supervisor_open(" SUPERVISOR_NAME ")", result);
        return false;
    }
    memset(shift->seen, 0, sizeof shift->seen);
    for (int i = 0; i < WORKERS; i++) {
        char name[ST_PROCESS_NAME_MAX + 1];
        snprintf(name, sizeof name, "unstable-%d", i + 1);
        result = st_supervisor_add(shift->sup, name, unstable_main, NULL);
        if (result != ST_OK) {
            demo_report("st_supervisor_add", result);
            return false;
        }
    }
    demo_say("foreman: shift %d: %d unstable workers start under " SUPERVISOR_NAME
             " (restarted at most %d times each)", number, WORKERS, RESTART_LIMIT);
    return true;
}

/* Tell what changed since the last look; check the limit. Returns how many
 * workers are finished (given up or stopped). */
static int narrate(struct shift *shift)
{
    int finished = 0;
    for (uint32_t i = 0; i < WORKERS && i < st_supervisor_worker_count(shift->sup); i++) {
        st_supervisor_worker_info info;
        st_result result = st_supervisor_worker(shift->sup, i, &info);
        if (result != ST_OK) {
            demo_report("st_supervisor_worker", result);
            shift->failed = true;
            return WORKERS;
        }
        st_supervisor_worker_info *before = &shift->seen[i];
        if (info.restarts > before->restarts) {
            shift->restarts += info.restarts - before->restarts;
            demo_say("%s crashed (%s): restarted, %u of %d", info.name, info.last_failure,
                     info.restarts, RESTART_LIMIT);
        }
        if (info.gave_up && !before->gave_up)
            demo_say("%s crashed again (%s): the supervisor gives up on it after %u restarts",
                     info.name, info.last_failure, info.restarts);
        if (info.state == ST_PROCESS_UNHEALTHY && before->state != ST_PROCESS_UNHEALTHY)
            demo_say("%s missed its heartbeats: unhealthy", info.name);
        if (info.restarts > RESTART_LIMIT) {
            demo_claim_failed("%s was restarted %u times, more than %d", info.name,
                              info.restarts, RESTART_LIMIT);
            shift->failed = true;
        }
        if (info.gave_up || info.state == ST_PROCESS_STOPPED)
            finished++;
        *before = info;
    }
    return finished;
}

/* The restart counts the dashboard shows, for every unstable-N process. */
static bool check_dashboard(const struct lesson_options *opts)
{
    struct demo_watch watch;
    if (!demo_watch_open(&watch, opts->session))
        return false;
    bool well = demo_watch_refresh(&watch);
    size_t count = well ? st_model_process_count(watch.model) : 0;
    for (size_t i = 0; i < count; i++) {
        const st_process_view *process = st_model_process(watch.model, i);
        if (strncmp(process->name, "unstable-", 9) == 0 && process->restarts > RESTART_LIMIT) {
            demo_claim_failed("the dashboard shows %s (pid %d) restarted %u times, more than %d",
                              process->name, (int)process->pid, process->restarts,
                              RESTART_LIMIT);
            well = false;
        }
    }
    demo_watch_close(&watch);
    return well;
}

static bool end_shift(const struct lesson_options *opts, struct shift *shift)
{
    bool well = check_dashboard(opts);
    st_result result = st_supervisor_close(shift->sup);
    shift->sup = NULL;
    if (result != ST_OK) {
        demo_report("st_supervisor_close(" SUPERVISOR_NAME ")", result);
        well = false;
    }
    return well;
}

int lesson_supervisor(const struct lesson_options *opts)
{
    struct shift shift = { 0 };
    st_table *table = NULL;
    int status = 1, shifts = 1;

    if (!lesson_open(opts, "foreman", &table))
        goto out;
    demo_say("unstable workers heartbeat, freeze now and then, and crash; the supervisor \""
             SUPERVISOR_NAME "\" restarts each at most %d times. Watch: synctop -s %s",
             RESTART_LIMIT, opts->session);
    if (!start_shift(table, &shift, shifts))
        goto out;

    status = 0;
    while (!demo_stop_requested() && !shift.failed) {
        st_result result = st_supervisor_poll(shift.sup, demo_scaled_ns(200000000LL));
        if (result != ST_OK && result != ST_ETIMEDOUT) {
            demo_report("st_supervisor_poll", result);
            status = 1;
            break;
        }
        int finished = narrate(&shift);
        if (demo_time_is_up() && shift.restarts > 0)
            break;
        if (finished == WORKERS && !demo_stop_requested()) {
            demo_say("foreman: all %d workers were given up on; a new shift", WORKERS);
            if (!end_shift(opts, &shift) || !start_shift(table, &shift, ++shifts)) {
                status = 1;
                break;
            }
        }
    }
    if (shift.failed)
        status = 1;

out:
    if (shift.sup != NULL && !end_shift(opts, &shift))
        status = 1;
    if (status == 0) {
        if (shift.restarts == 0 && demo_stop_requested())
            demo_say("stopped before the first restart.");
        else if (shift.restarts == 0)
            status = demo_claim_failed("no crashed worker was restarted");
        else
            demo_say("%d shift%s, %lld restarts, none beyond %d per worker.", shifts,
                     shifts == 1 ? "" : "s", (long long)shift.restarts, RESTART_LIMIT);
    }
    lesson_close(table);
    return status;
}
