/* histogram.h - log2 histograms of durations, and percentiles from them.
 *
 * Recording costs a count-leading-zeros and one increment; a percentile is
 * interpolated linearly inside its power-of-two bucket, which is as precise
 * as lockstat-style reporting needs (within a factor of 2, usually far
 * closer) and keeps the histogram a fixed 320 bytes in the table.
 */
#ifndef SYNCTOP_HISTOGRAM_H
#define SYNCTOP_HISTOGRAM_H

#include <stdint.h>
#include "table_layout.h"

static inline unsigned st_histogram_bucket(uint64_t value)
{
    if (value < 2)
        return 0;
    unsigned bucket = 63u - (unsigned)__builtin_clzll(value);
    return bucket < ST_HISTOGRAM_BUCKETS ? bucket : ST_HISTOGRAM_BUCKETS - 1;
}

/* Record one value; the caller is the only writer (it holds the lock). */
static inline void st_histogram_record(st_histogram *h, uint64_t value)
{
    ST_BUMP(h->buckets[st_histogram_bucket(value)], 1u);
}

/* The p-th percentile (0 < p <= 100) of the values in h (a private copy),
 * never above max_value when max_value > 0. 0 for an empty histogram. */
uint64_t st_histogram_percentile(const st_histogram *h, double p, uint64_t max_value);

/* Total count of values in h. */
uint64_t st_histogram_count(const st_histogram *h);

#endif
