/* array.h - a typed shared Array with a built-in lock (Python's
 * multiprocessing.Array).
 *
 * The elements live in a data segment of their own (length x element size);
 * the object slot holds the built-in Lock, the read/write counts and a
 * summary of the contents (sum, min, max) that the writers keep current, so
 * the dashboard shows the array's statistics without ever mapping its data.
 *
 * Every call takes the built-in lock for its whole operation and, like a
 * Value's get/set, does not take it again when the calling thread already
 * holds it: take the lock yourself (st_array_get_lock) to make several
 * calls one atomic step, or to wait with a timeout.
 *
 * Summary cost: a set updates the sum in O(1) (sum += new - old) and min
 * and max through a small tree of per-block extremes kept after the data
 * (blocks of 64 elements, 16 bytes each): at worst it rescans its own block
 * (when it overwrote the block's minimum with a larger value, or its
 * maximum with a smaller one) and walks log2(length / 64) tree nodes. A
 * range set costs its elements plus the blocks it touches. Integer sums
 * wrap modulo 2^64 (int64 for signed types, uint64 for ST_UINT64). A double
 * sum carries the rounding of its incremental updates, and is recomputed
 * exactly when the whole array is set in one range; NaN elements make the
 * sum NaN and are skipped by min/max.
 */
#ifndef SYNCTOP_ARRAY_H
#define SYNCTOP_ARRAY_H

/* The library is built with hidden visibility: what this header declares
 * is its public API. */
#pragma GCC visibility push(default)

#include <stddef.h>
#include <stdint.h>
#include "lock.h"
#include "result.h"
#include "table.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most elements an Array may have. */
#define ST_ARRAY_MAX_LENGTH (1u << 28)

typedef struct st_array st_array;

/* Open the Array called name, creating it with type and length elements
 * (all zero). type and length only matter to the creator (an opener sees
 * the existing length through st_array_length), but an existing Array of
 * another element type is refused with ST_EWRONGTYPE. ST_EINVAL for an
 * unknown type or a length of 0 at creation, ST_EOVERFLOW for a length
 * over ST_ARRAY_MAX_LENGTH, ST_ENOSPC when /dev/shm has no room. */
st_result st_array_open(st_table *table, const char *name, st_value_type type, size_t length, st_array **out);

/* Unmap the data and drop the handle; the Array stays in the session. */
void st_array_close(st_array *array);

/* Length and element type (0 for an invalid handle). */
size_t st_array_length(const st_array *array);
st_value_type st_array_type(const st_array *array);

/* The built-in lock; owned by the Array handle (do not close it). */
st_result st_array_get_lock(st_array *array, st_lock **lock);

/* One element. ST_EINVAL when index >= length; ST_EWRONGTYPE when the call
 * does not match the element type (as for a Value: *_i64 for ST_INT32 and
 * ST_INT64, *_u64 for ST_UINT64, *_double for ST_DOUBLE); ST_EOVERFLOW for
 * an int32 element outside [INT32_MIN, INT32_MAX] (unchanged). */
st_result st_array_get_i64(st_array *array, size_t index, int64_t *out);
st_result st_array_set_i64(st_array *array, size_t index, int64_t v);
st_result st_array_get_u64(st_array *array, size_t index, uint64_t *out);
st_result st_array_set_u64(st_array *array, size_t index, uint64_t v);
st_result st_array_get_double(st_array *array, size_t index, double *out);
st_result st_array_set_double(st_array *array, size_t index, double v);

/* count elements from start, copied as the array's own element type
 * (int32_t, int64_t, uint64_t or double) to or from buffer. ST_EINVAL when
 * the range does not fit in the array. One lock acquisition and one
 * summary update for the whole range. */
st_result st_array_get_range(st_array *array, size_t start, size_t count, void *buffer);
st_result st_array_set_range(st_array *array, size_t start, size_t count, const void *buffer);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
