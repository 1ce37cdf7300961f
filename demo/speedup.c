/* speedup.c - the speedup lesson: the same CPU-bound job done serially and
 * by 1, 2 ... N workers (N = the CPUs this program may use), with the
 * speed-up and the efficiency of each.
 *
 * The job: mix every number of a range (a few rounds of xorshift and
 * multiply) and add the results up - the same cost per number, so an even
 * split of the range is an even split of the work. The process
 * "timekeeper" times it alone (serially), then hands 1 .. N of the workers
 * "cruncher-1" .. "cruncher-N" an equal share each and times them until
 * the last one reports:
 *
 *     speed-up   = serial time / parallel time        (ideally k with k workers)
 *     efficiency = speed-up / k                       (ideally 100%)
 *
 * Fewer CPUs than workers, other busy programs, and the cost of handing out
 * the work and collecting it keep both below the ideal. The size of the job
 * is calibrated at the start so that the serial run takes about half a
 * second (less with --speed, and less with a short --duration).
 *
 * In the dashboard: the crunchers' CPU% jumping to 100 for their share,
 * one more of them busy at each step, and the Arrays "speedup-by-workers"
 * and "efficiency-by-workers" (element k - 1 for k workers) with the Value
 * "serial-seconds".
 *
 * The claim checked: every parallel run computes exactly the serial result
 * (the split covers the range once). The speed-up itself depends on the
 * machine: it is reported, with a note when it stays low, not enforced.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crew.h"

#define TARGET_SERIAL_NS 500000000LL
#define CALIBRATION_SIZE 200000
#define MIN_SIZE 10000
#define ROUND_NS 2000000000LL
#define STOP_TIMEOUT_NS 10000000000LL

enum { ORDER_CRUNCH = 1 };

struct race_track {
    const struct lesson_options *opts;
    st_table *table;
    st_array *speedups;
    st_array *efficiencies;
    st_value *serial_seconds;
    int workers;
    uint64_t size;               /* numbers in the job */
    struct crew crew;
    double best_speedup;
    int rounds, wrong_runs;
    bool failed;
};

static uint64_t mix(uint64_t x)
{
    for (int r = 0; r < 24; r++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x *= 0x2545f4914f6cdd1dull;
    }
    return x;
}

static uint64_t crunch(uint64_t start, uint64_t end)
{
    uint64_t sum = 0;
    for (uint64_t i = start; i < end; i++)
        sum += mix(i + 1);
    return sum;
}

/* ==== a cruncher =========================================================== */

static int cruncher_main(void *context, int number, struct crew_member *self)
{
    (void)context;
    (void)number;
    struct crew_order order;
    while (crew_next_order(self, &order)) {
        struct crew_report report = {
            .status = CREW_DONE,
            .value = { (int64_t)crunch((uint64_t)order.arg[0], (uint64_t)order.arg[1]) },
        };
        if (!crew_report(self, &report))
            break;
    }
    return 0;
}

/* ==== the timekeeper ======================================================= */

/* Size the job so that the serial run takes about the target time. */
static void calibrate(struct race_track *track)
{
    int64_t target = lesson_pace(track->opts, TARGET_SERIAL_NS);
    if (track->opts->duration_s > 0) {
        /* A round is about serial x (2 + 1/2 + ... + 1/N): leave room for two. */
        int64_t room = (int64_t)(track->opts->duration_s * 1e9) / (4 * (track->workers + 2));
        if (room < target)
            target = room;
    }
    int64_t started = demo_now_ns();
    volatile uint64_t sink = crunch(0, CALIBRATION_SIZE);
    (void)sink;
    int64_t took = demo_now_ns() - started;
    if (took < 1)
        took = 1;
    double size = (double)CALIBRATION_SIZE * (double)target / (double)took;
    track->size = size < MIN_SIZE ? MIN_SIZE : (uint64_t)size;
}

/* The job on the first k crunchers; false when it could not complete. */
static bool run_parallel(struct race_track *track, int k, uint64_t *sum, double *seconds)
{
    struct crew_order orders[CREW_MAX_MEMBERS];
    struct crew_report reports[CREW_MAX_MEMBERS];
    for (int i = 0; i < k; i++)
        orders[i] = (struct crew_order){
            .kind = ORDER_CRUNCH,
            .arg = { (int64_t)(track->size * (uint64_t)i / (uint64_t)k),
                     (int64_t)(track->size * (uint64_t)(i + 1) / (uint64_t)k) },
        };
    int64_t started = demo_now_ns();
    bool complete = crew_run_orders(&track->crew, k, orders, reports, &track->failed);
    *sum = 0;
    for (int i = 0; complete && i < k; i++)
        *sum += (uint64_t)reports[i].value[0];
    *seconds = (double)(demo_now_ns() - started) / 1e9;
    return complete;
}

/* One round (a lesson_round_fn): serial, then 1 .. N workers. */
static bool play_round(void *context, int round)
{
    struct race_track *track = context;
    int64_t started = demo_now_ns();
    uint64_t serial_sum = crunch(0, track->size);
    double serial = (double)(demo_now_ns() - started) / 1e9;
    if (serial <= 0)
        serial = 1e-9;
    st_value_set_double(track->serial_seconds, serial);

    char line[512];
    int used = snprintf(line, sizeof line, "round %-3d serial %.3f s", round, serial);
    for (int k = 1; k <= track->workers; k++) {
        uint64_t sum;
        double seconds;
        if (!run_parallel(track, k, &sum, &seconds))
            return false;
        if (sum != serial_sum) {
            demo_warn("round %d: %d worker%s computed %" PRIu64 ", serially %" PRIu64, round, k,
                      k == 1 ? "" : "s", sum, serial_sum);
            track->wrong_runs++;
        }
        double speedup = serial / (seconds > 0 ? seconds : 1e-9);
        double efficiency = speedup / k;
        if (speedup > track->best_speedup && k > 1)
            track->best_speedup = speedup;
        st_array_set_double(track->speedups, (size_t)(k - 1), speedup);
        st_array_set_double(track->efficiencies, (size_t)(k - 1), efficiency * 100.0);
        if (used > 0 && (size_t)used < sizeof line)
            used += snprintf(line + used, sizeof line - (size_t)used,
                             " | %d: %.3f s, speed-up %.2fx, efficiency %.0f%%", k, seconds,
                             speedup, efficiency * 100.0);
    }
    demo_say("%s", line);
    track->rounds++;
    return true;
}

static bool open_objects(struct race_track *track)
{
    double zero = 0;
    st_result result = st_array_open(track->table, "speedup-by-workers", ST_DOUBLE,
                                     (size_t)track->workers, &track->speedups);
    if (result == ST_OK)
        result = st_array_open(track->table, "efficiency-by-workers", ST_DOUBLE,
                               (size_t)track->workers, &track->efficiencies);
    if (result == ST_OK)
        result = st_value_open(track->table, "serial-seconds", ST_DOUBLE, &zero,
                               &track->serial_seconds);
    if (result != ST_OK) {
        demo_report("opening the speedup figures", result);
        return false;
    }
    if (st_array_length(track->speedups) < (size_t)track->workers ||
        st_array_length(track->efficiencies) < (size_t)track->workers) {
        demo_warn("the session already has shorter speed-up arrays (made on a machine with "
                  "fewer CPUs?); use another --session");
        return false;
    }
    return true;
}

int lesson_speedup(const struct lesson_options *opts)
{
    struct race_track track = { .opts = opts };
    track.workers = demo_cpu_count();
    if (track.workers > LESSON_MAX_WORKERS)
        track.workers = LESSON_MAX_WORKERS;

    if (!lesson_open(opts, "timekeeper", &track.table) || !open_objects(&track))
        track.failed = true;
    if (!track.failed) {
        calibrate(&track);
        demo_say("one CPU-bound job of %" PRIu64 " numbers, serially and on 1..%d crunchers "
                 "(%d CPU%s)", track.size, track.workers, track.workers,
                 track.workers == 1 ? "" : "s");
        crew_init(&track.crew, track.table, demo_lesson_name());
        char name[ST_PROCESS_NAME_MAX + 1];
        for (int i = 1; i <= track.workers && !track.failed; i++) {
            snprintf(name, sizeof name, "cruncher-%d", i);
            if (crew_hire(&track.crew, name, "cruncher", cruncher_main, &track, i) < 0)
                track.failed = true;
        }
        if (!track.failed)
            lesson_play_rounds(play_round, &track, ROUND_NS);
        if (!crew_dismiss(&track.crew, STOP_TIMEOUT_NS))
            track.failed = true;
    }
    st_array_close(track.speedups);
    st_array_close(track.efficiencies);
    st_value_close(track.serial_seconds);
    lesson_close(track.table);

    if (track.wrong_runs > 0)
        return demo_claim_failed("%d parallel run%s did not compute the serial result",
                                 track.wrong_runs, track.wrong_runs == 1 ? "" : "s");
    if (!track.failed && track.rounds > 0) {
        demo_say("%d round%s: every parallel run computed exactly the serial result; best "
                 "speed-up %.2fx with %d CPU%s", track.rounds, track.rounds == 1 ? "" : "s",
                 track.workers > 1 ? track.best_speedup : 1.0, track.workers,
                 track.workers == 1 ? "" : "s");
        if (track.workers > 1 && track.best_speedup < 1.2)
            demo_say("note: hardly any speed-up - other programs keep the CPUs busy (compare "
                     "the CPU meters in synctop), or this machine's CPUs are shared");
    }
    return track.failed ? 1 : 0;
}
