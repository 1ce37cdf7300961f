/* clock.c - calibrating the cycle counter against CLOCK_MONOTONIC.
 *
 * The TSC is used only when the CPU says it is invariant (constant_tsc and
 * nonstop_tsc in /proc/cpuinfo): then it ticks at one rate on every core,
 * whatever the frequency scaling. Calibration takes the best of a few
 * ~2 ms windows. Everywhere else we fall back to CLOCK_MONOTONIC.
 */
#include "clock.h"

#include <stdio.h>
#include <string.h>

uint64_t st_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t st_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__) || defined(__i386__)
static bool tsc_is_invariant(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return false;
    char line[4096];
    bool constant = false, nonstop = false;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        constant = strstr(line, " constant_tsc") != NULL;
        nonstop = strstr(line, " nonstop_tsc") != NULL;
        break;
    }
    fclose(f);
    return constant && nonstop;
}

/* An attempt whose two ends are known within 1/10000 of its window is
 * as good as the calibration gets: no need for the others. */
#define CALIBRATION_GOOD_ENOUGH 10000u

static uint64_t measure_tsc_mult(void)
{
    uint64_t best = 0;
    uint64_t best_window_error = UINT64_MAX;
    for (int attempt = 0; attempt < 5; attempt++) {
        uint64_t t0 = st_monotonic_ns(), c0 = __rdtsc(), t0b = st_monotonic_ns();
        struct timespec pause = { 0, 2000000 };
        nanosleep(&pause, NULL);
        uint64_t t1 = st_monotonic_ns(), c1 = __rdtsc(), t1b = st_monotonic_ns();
        /* The uncertainty of each end is the time between its two clock reads. */
        uint64_t window_error = (t0b - t0) + (t1b - t1);
        uint64_t ns = ((t1 + t1b) / 2) - ((t0 + t0b) / 2);
        uint64_t cycles = c1 - c0;
        if (cycles == 0 || ns == 0)
            continue;
        if (window_error < best_window_error) {
            best_window_error = window_error;
            best = (uint64_t)(((unsigned __int128)ns << ST_CLOCK_SHIFT) / cycles);
        }
        if (best_window_error <= ns / CALIBRATION_GOOD_ENOUGH)
            break;   /* each table's creator (synctop run) waits for every attempt */
    }
    return best;
}
#endif

void st_clock_calibrate(st_clock_calibration *out)
{
    memset(out, 0, sizeof *out);
    out->source = ST_CLOCK_MONOTONIC;
    out->mult = 1ull << ST_CLOCK_SHIFT;
#if defined(__x86_64__) || defined(__i386__)
    if (tsc_is_invariant()) {
        uint64_t mult = measure_tsc_mult();
        if (mult != 0) {
            out->source = ST_CLOCK_TSC;
            out->mult = mult;
        }
    }
#endif
    out->base_ticks = st_clock_ticks(out);
    out->base_ns = st_monotonic_ns();
}

bool st_clock_calibration_valid(const st_clock_calibration *cal)
{
    if (cal->source == ST_CLOCK_MONOTONIC)
        return cal->mult == (1ull << ST_CLOCK_SHIFT);
    if (cal->source == ST_CLOCK_TSC)
        /* Between 0.01 and 100 ns per cycle: a 10 MHz .. 100 GHz counter. */
        return cal->mult >= (1ull << ST_CLOCK_SHIFT) / 100 && cal->mult <= (100ull << ST_CLOCK_SHIFT);
    return false;
}
