/* histogram.c - percentiles from log2 histograms (see histogram.h). */
#include "histogram.h"

#include <math.h>

uint64_t st_histogram_count(const st_histogram *h)
{
    uint64_t total = 0;
    for (unsigned b = 0; b < ST_HISTOGRAM_BUCKETS; b++)
        total += h->buckets[b];
    return total;
}

uint64_t st_histogram_percentile(const st_histogram *h, double p, uint64_t max_value)
{
    uint64_t total = st_histogram_count(h);
    if (total == 0 || !(p > 0))
        return 0;
    if (p > 100)
        p = 100;
    /* The rank of the value sought, 1-based: the smallest value with at
     * least p% of all values at or below it. */
    double rank = ceil(p / 100.0 * (double)total - 1e-9);  /* 99.9% of 1000 is 999, not 1000 */
    if (rank < 1)
        rank = 1;
    uint64_t below = 0;
    for (unsigned b = 0; b < ST_HISTOGRAM_BUCKETS; b++) {
        uint64_t count = h->buckets[b];
        if (count == 0)
            continue;
        if ((double)(below + count) >= rank) {
            double low = b == 0 ? 0.0 : ldexp(1.0, (int)b);
            double high = ldexp(1.0, (int)b + 1);
            /* The middle of the rank's share of the bucket: always inside it. */
            double fraction = (rank - (double)below - 0.5) / (double)count;
            uint64_t value = (uint64_t)(low + (high - low) * fraction);
            if (max_value > 0 && value > max_value)
                value = max_value;
            return value;
        }
        below += count;
    }
    return max_value;
}
