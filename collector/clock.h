/* clock.h - the cheap cycle-counter clock used for wait and hold times.
 *
 * On x86-64 with an invariant TSC the counter is read with rdtsc (~9 ns
 * against ~21 ns for clock_gettime); its rate is calibrated once, when a
 * table is created, and stored in the table's header so every process
 * converts ticks to nanoseconds the same way. Elsewhere the "ticks" are
 * CLOCK_MONOTONIC nanoseconds and the conversion is the identity.
 */
#ifndef SYNCTOP_CLOCK_H
#define SYNCTOP_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

/* Conversion from ticks to ns: ns = (ticks * mult) >> ST_CLOCK_SHIFT. */
#define ST_CLOCK_SHIFT 24

enum st_clock_source {
    ST_CLOCK_MONOTONIC = 1,  /* ticks are CLOCK_MONOTONIC ns */
    ST_CLOCK_TSC = 2,        /* ticks are rdtsc cycles */
};

typedef struct st_clock_calibration {
    uint32_t source;          /* st_clock_source */
    uint32_t reserved;
    uint64_t mult;            /* ns per tick << ST_CLOCK_SHIFT */
    uint64_t base_ticks;      /* a tick reading ... */
    uint64_t base_ns;         /* ... and the CLOCK_MONOTONIC ns it was taken at */
} st_clock_calibration;

/* Measure the best clock on this machine (takes ~10 ms with a TSC). */
void st_clock_calibrate(st_clock_calibration *out);

/* Whether a calibration read from a table is usable. */
bool st_clock_calibration_valid(const st_clock_calibration *cal);

uint64_t st_monotonic_ns(void);
uint64_t st_realtime_ns(void);

static inline uint64_t st_clock_ticks(const st_clock_calibration *cal)
{
#if defined(__x86_64__) || defined(__i386__)
    if (cal->source == ST_CLOCK_TSC)
        return __rdtsc();
#endif
    (void)cal;
    return st_monotonic_ns();
}

static inline uint64_t st_clock_ticks_to_ns(const st_clock_calibration *cal, uint64_t ticks)
{
    return (uint64_t)(((unsigned __int128)ticks * cal->mult) >> ST_CLOCK_SHIFT);
}

/* A tick reading expressed on the CLOCK_MONOTONIC time line. */
static inline uint64_t st_clock_ticks_to_monotonic_ns(const st_clock_calibration *cal, uint64_t ticks)
{
    if (ticks >= cal->base_ticks)
        return cal->base_ns + st_clock_ticks_to_ns(cal, ticks - cal->base_ticks);
    return cal->base_ns - st_clock_ticks_to_ns(cal, cal->base_ticks - ticks);
}

#endif
