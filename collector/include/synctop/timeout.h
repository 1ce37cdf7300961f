/* timeout.h - how every blocking synctop call expresses its timeout:
 * a count of nanoseconds; 0 means "try once", ST_FOREVER means "no limit",
 * and a negative value is refused with ST_EINVAL. */
#ifndef SYNCTOP_TIMEOUT_H
#define SYNCTOP_TIMEOUT_H

/* The library is built with hidden visibility: what this header declares
 * is its public API. */
#pragma GCC visibility push(default)

#include <stdint.h>

#define ST_FOREVER INT64_MAX
#define ST_MILLISECONDS(ms) ((int64_t)(ms) * 1000000LL)
#define ST_SECONDS(s) ((int64_t)((s) * 1e9))

#pragma GCC visibility pop
#endif
