/* values.c - the values lesson: shared Values (a counter, temperatures) and
 * a shared Array of recent readings, summarised by a statistics monitor.
 *
 * The process "weather-station" opens
 *
 *   "visitors"              an int64 Value: a counter;
 *   "temperature-kitchen",  double Values: the latest reading of each
 *   "temperature-garden",   sensor;
 *   "temperature-cellar"
 *   "temperature-history"   a double Array, 20 recent readings per sensor
 *                           (sensor s writes the elements s*20 .. s*20+19,
 *                           round robin);
 *
 * and forks
 *
 *   "turnstile-1" .. "turnstile-N"  each adds 1 to "visitors" now and then,
 *        holding the Value's built-in lock across the get and the set, so
 *        no visitor is lost (the race lesson's fix, with a Value);
 *   "sensor-kitchen", "sensor-garden", "sensor-cellar"  each sets its
 *        temperature every quarter of a second (a random walk around the
 *        room's usual temperature) and records it in the history;
 *   "statistics"  every second reads the whole history in one locked
 *        st_array_get_range and prints min / max / average per room.
 *
 * In the dashboard: "visitors" value climbing with its reads and writes,
 * each temperature changing, and the Array's own summary (sum, min, max)
 * kept current by its writers without anyone mapping its data.
 *
 * The claims checked at the end: "visitors" grew by exactly the number of
 * increments the turnstiles made (none lost), and each temperature Value
 * holds the same reading as the newest element its sensor wrote to the
 * history. Exit status 1 otherwise.
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>   /* INFINITY, NAN: no libm needed */
#include <stdio.h>
#include <string.h>

#include "crew.h"

#define SENSORS 3
#define HISTORY 20                    /* readings kept per sensor */
#define TURNSTILE_MIN_NS 30000000LL   /* between two visitors: 30-150 ms */
#define TURNSTILE_SPREAD_MS 120
#define SENSOR_NS 250000000LL
#define MONITOR_NS 1000000000LL
#define STOP_TIMEOUT_NS 5000000000LL

static const struct room {
    const char *name;
    double usual;   /* degrees Celsius */
} rooms[SENSORS] = {
    { "kitchen", 21.0 },
    { "garden", 12.0 },
    { "cellar", 9.0 },
};

/* Figures the members leave for the weather station (shared memory). */
struct tallies {
    int64_t increments[LESSON_MAX_WORKERS + 1];   /* per turnstile */
    int64_t readings[SENSORS];                     /* per sensor */
    double last_reading[SENSORS];
};

struct station {
    const struct lesson_options *opts;
    st_table *table;
    st_value *visitors;
    st_value *temperatures[SENSORS];
    st_array *history;
    struct tallies *tallies;
    int turnstiles;
    struct crew crew;
};

/* ==== the members ========================================================== */

static int turnstile_main(void *context, int number, struct crew_member *self)
{
    struct station *station = context;
    (void)self;
    st_lock *lock;
    st_result result = st_value_get_lock(station->visitors, &lock);
    if (result != ST_OK) {
        demo_report("st_value_get_lock(visitors)", result);
        return 1;
    }
    uint64_t seed = lesson_seed(number);
    while (!demo_should_stop()) {
        /* One visitor: read, add one, write, all under the Value's lock. */
        result = st_lock_acquire(lock, ST_SECONDS(5));
        if (result != ST_OK && result != ST_EOWNERDEAD) {
            demo_report("st_lock_acquire(visitors)", result);
            return 1;
        }
        int64_t count;
        result = st_value_get_i64(station->visitors, &count);
        if (result == ST_OK)
            result = st_value_set_i64(station->visitors, count + 1);
        st_result released = st_lock_release(lock);
        if (result != ST_OK || released != ST_OK) {
            demo_report("visitors += 1", result != ST_OK ? result : released);
            return 1;
        }
        station->tallies->increments[number]++;   /* only this turnstile writes it */
        lesson_nap(station->opts, TURNSTILE_MIN_NS +
                                  ST_MILLISECONDS(lesson_random(&seed, TURNSTILE_SPREAD_MS)));
    }
    return 0;
}

static int sensor_main(void *context, int number, struct crew_member *self)
{
    struct station *station = context;
    (void)self;
    int s = number - 1;
    uint64_t seed = lesson_seed(number + 100);
    double temperature = rooms[s].usual;
    while (!demo_should_stop()) {
        /* A random walk of +-0.3 degrees, pulled back towards the usual. */
        temperature += ((double)lesson_random(&seed, 61) - 30.0) / 100.0;
        temperature += (rooms[s].usual - temperature) * 0.05;
        temperature = (double)(int64_t)(temperature * 100.0 + 0.5) / 100.0;   /* 2 decimals */

        int64_t k = station->tallies->readings[s];
        st_result result = st_value_set_double(station->temperatures[s], temperature);
        if (result == ST_OK)
            result = st_array_set_double(station->history, (size_t)(s * HISTORY + k % HISTORY),
                                         temperature);
        if (result != ST_OK) {
            demo_report("recording a temperature", result);
            return 1;
        }
        station->tallies->last_reading[s] = temperature;
        station->tallies->readings[s] = k + 1;
        lesson_nap(station->opts, SENSOR_NS);
    }
    return 0;
}

static int monitor_main(void *context, int number, struct crew_member *self)
{
    struct station *station = context;
    (void)number;
    (void)self;
    double history[SENSORS * HISTORY];
    while (!demo_should_stop()) {
        lesson_nap(station->opts, MONITOR_NS);
        if (demo_should_stop())
            break;
        st_result result = st_array_get_range(station->history, 0, SENSORS * HISTORY, history);
        int64_t visitors = 0;
        if (result == ST_OK)
            result = st_value_get_i64(station->visitors, &visitors);
        if (result != ST_OK) {
            demo_report("statistics", result);
            return 1;
        }
        if (station->opts->quiet)
            continue;
        char line[256];
        int used = snprintf(line, sizeof line, "statistics: visitors %-5" PRId64, visitors);
        for (int s = 0; s < SENSORS && used > 0 && (size_t)used < sizeof line; s++) {
            int64_t filled = station->tallies->readings[s];
            if (filled > HISTORY)
                filled = HISTORY;
            if (filled == 0)
                continue;
            double min = INFINITY, max = -INFINITY, sum = 0;
            for (int k = 0; k < filled; k++) {
                double t = history[s * HISTORY + k];
                min = t < min ? t : min;
                max = t > max ? t : max;
                sum += t;
            }
            used += snprintf(line + used, sizeof line - (size_t)used,
                             " | %s min %.2f max %.2f avg %.2f", rooms[s].name, min, max,
                             sum / (double)filled);
        }
        demo_say("%s", line);
    }
    return 0;
}

/* ==== the weather station ================================================= */

static bool open_objects(struct station *station)
{
    int64_t zero = 0;
    st_result result = st_value_open(station->table, "visitors", ST_INT64, &zero,
                                     &station->visitors);
    if (result != ST_OK) {
        demo_report("st_value_open(visitors)", result);
        return false;
    }
    for (int s = 0; s < SENSORS; s++) {
        char name[ST_OBJECT_NAME_MAX + 1];
        snprintf(name, sizeof name, "temperature-%s", rooms[s].name);
        result = st_value_open(station->table, name, ST_DOUBLE, &rooms[s].usual,
                               &station->temperatures[s]);
        if (result != ST_OK) {
            demo_report("st_value_open(temperature)", result);
            return false;
        }
    }
    result = st_array_open(station->table, "temperature-history", ST_DOUBLE,
                           SENSORS * HISTORY, &station->history);
    if (result != ST_OK) {
        demo_report("st_array_open(temperature-history)", result);
        return false;
    }
    if (st_array_length(station->history) < SENSORS * HISTORY) {
        demo_warn("the session already has a shorter \"temperature-history\" (%zu elements); "
                  "use another --session",
                  st_array_length(station->history));
        return false;
    }
    return true;
}

static void close_objects(struct station *station)
{
    st_value_close(station->visitors);
    for (int s = 0; s < SENSORS; s++)
        st_value_close(station->temperatures[s]);
    st_array_close(station->history);
}

static bool hire_crew(struct station *station)
{
    char name[ST_PROCESS_NAME_MAX + 1];
    for (int i = 1; i <= station->turnstiles; i++) {
        snprintf(name, sizeof name, "turnstile-%d", i);
        if (crew_hire(&station->crew, name, "turnstile", turnstile_main, station, i) < 0)
            return false;
    }
    for (int s = 0; s < SENSORS; s++) {
        snprintf(name, sizeof name, "sensor-%s", rooms[s].name);
        if (crew_hire(&station->crew, name, "sensor", sensor_main, station, s + 1) < 0)
            return false;
    }
    return crew_hire(&station->crew, "statistics", "monitor", monitor_main, station, 1) >= 0;
}

/* After every member stopped: did the figures add up? */
static bool check_claims(struct station *station, int64_t visitors_before)
{
    bool held = true;
    int64_t visitors_after = 0, increments = 0;
    for (int i = 1; i <= station->turnstiles; i++)
        increments += station->tallies->increments[i];
    st_result result = st_value_get_i64(station->visitors, &visitors_after);
    if (result != ST_OK) {
        demo_report("st_value_get_i64(visitors)", result);
        return false;
    }
    if (visitors_after - visitors_before != increments) {
        demo_claim_failed("the turnstiles counted %" PRId64 " visitors but \"visitors\" grew "
                          "by %" PRId64, increments, visitors_after - visitors_before);
        held = false;
    }

    for (int s = 0; s < SENSORS; s++) {
        int64_t k = station->tallies->readings[s];
        if (k == 0)
            continue;
        double value = NAN, newest = NAN;
        result = st_value_get_double(station->temperatures[s], &value);
        if (result == ST_OK)
            result = st_array_get_double(station->history,
                                         (size_t)(s * HISTORY + (k - 1) % HISTORY), &newest);
        if (result != ST_OK) {
            demo_report("reading a temperature", result);
            return false;
        }
        if (value != newest || value != station->tallies->last_reading[s]) {
            demo_claim_failed("\"temperature-%s\" holds %.2f, its newest history "
                              "element %.2f, its sensor's last reading %.2f",
                              rooms[s].name, value, newest, station->tallies->last_reading[s]);
            held = false;
        }
    }
    if (held)
        demo_say("the turnstiles counted %" PRId64 " visitors and \"visitors\" grew by %" PRId64
                 ": none lost; every temperature Value matches its newest history element",
                 increments, visitors_after - visitors_before);
    return held;
}

int lesson_values(const struct lesson_options *opts)
{
    struct station station = {
        .opts = opts,
        .turnstiles = opts->workers > 0 ? opts->workers : LESSON_DEFAULT_WORKERS,
    };
    bool failed = false;
    station.tallies = crew_shared_alloc(sizeof *station.tallies);
    if (station.tallies != NULL && lesson_open(opts, "weather-station", &station.table) &&
        open_objects(&station)) {
        int64_t visitors_before = 0;
        st_result result = st_value_get_i64(station.visitors, &visitors_before);
        if (result != ST_OK) {
            demo_report("st_value_get_i64(visitors)", result);
            failed = true;
        }
        demo_say("%d turnstile%s count \"visitors\"; three sensors set \"temperature-kitchen\", "
                 "\"-garden\", \"-cellar\" and \"temperature-history\"",
                 station.turnstiles, station.turnstiles == 1 ? "" : "s");
        demo_say("\"statistics\" prints min/max/avg of the history every second");
        crew_init(&station.crew, station.table, demo_lesson_name());
        if (failed || !hire_crew(&station) ||
            !crew_watch_until(&station.crew, INT64_MAX))
            failed = true;
        for (int i = 0; i < station.crew.count; i++)
            crew_ask_to_stop(&station.crew, i);
        if (!crew_dismiss(&station.crew, STOP_TIMEOUT_NS))
            failed = true;
        if (!failed && !check_claims(&station, visitors_before))
            failed = true;
    } else {
        failed = true;
    }
    if (station.table != NULL)
        close_objects(&station);
    lesson_close(station.table);
    crew_shared_free(station.tallies, sizeof *station.tallies);
    return failed ? 1 : 0;
}
