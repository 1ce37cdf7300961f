/* value.h - a typed shared Value with a built-in lock (Python's
 * multiprocessing.Value).
 *
 * The value lives in its object slot, next to its built-in Lock and its
 * read/write counts, so the dashboard shows the current value, how often it
 * is read and written, and the lock's lockstat figures.
 *
 * Two ways to touch it, as in the race lesson:
 *
 *   locked      st_value_get_* / st_value_set_* take the built-in lock for
 *               one read or one write. They are re-entrant with respect to
 *               that lock (like Python's Value, whose lock is an RLock):
 *               when the calling thread already holds it, they do not take
 *               it again. So the classic fix works as written:
 *
 *                   st_lock *lock;
 *                   st_value_get_lock(counter, &lock);
 *                   st_lock_acquire(lock, ST_FOREVER);
 *                   st_value_get_i64(counter, &v);
 *                   st_value_set_i64(counter, v + 1);
 *                   st_lock_release(lock);
 *
 *   unlocked    st_value_load_* / st_value_store_* never lock: each load and
 *               each store is atomic on its own, but load-then-store by two
 *               processes loses updates (the lesson's bug). Use them under
 *               the built-in lock, or to show the race.
 *
 * get/set wait for the built-in lock without a time limit (the wait lasts
 * one critical section; a holder that dies is recovered and get/set then
 * return ST_EOWNERDEAD). A caller that needs a bound takes the lock itself
 * with st_lock_acquire(lock, timeout) first: get/set then do not wait.
 *
 * Typed access, checked: the *_i64 calls serve ST_INT32 and ST_INT64
 * values, *_u64 ST_UINT64, *_double ST_DOUBLE; another type is refused with
 * ST_EWRONGTYPE. An ST_INT32 value refuses (ST_EOVERFLOW, value unchanged)
 * a set or store outside [INT32_MIN, INT32_MAX]: it never wraps silently.
 * Doubles are stored bit for bit (a set then get returns the same double).
 *
 * Reads and writes are counted exactly (atomic counts), the unlocked ones
 * too: in the race lesson `writes` says how many increments ran, the value
 * how many survived.
 */
#ifndef SYNCTOP_VALUE_H
#define SYNCTOP_VALUE_H

/* The library is built with hidden visibility: what this header declares
 * is its public API. */
#pragma GCC visibility push(default)

#include <stddef.h>
#include <stdint.h>
#include "lock.h"
#include "result.h"
#include "table.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element types of Values and Arrays (stored in the table: append only). */
typedef enum st_value_type {
    ST_INT32 = 1,    /* Python 'i' */
    ST_INT64 = 2,    /* Python 'q' */
    ST_UINT64 = 3,   /* Python 'Q' */
    ST_DOUBLE = 4,   /* Python 'd' */
} st_value_type;

/* "int32", "int64", "uint64", "double", or "unknown". */
const char *st_value_type_name(st_value_type type);

/* Size in bytes of one element of the type (0 for an unknown type). */
size_t st_value_type_size(st_value_type type);

typedef struct st_value st_value;

/* Open the Value called name, creating it with type and the initial value
 * it points to (an int32_t, int64_t, uint64_t or double matching type;
 * NULL means zero). The initial value only matters to the creator. An
 * existing Value of another element type is refused with ST_EWRONGTYPE
 * (as is another kind of object under that name); ST_EINVAL for an
 * unknown type; ST_ENAMETOOLONG for a name over ST_OBJECT_NAME_MAX bytes. */
st_result st_value_open(st_table *table, const char *name, st_value_type type, const void *initial,
                        st_value **out);

/* Drop the handle (and its lock handle); the Value stays in the session. */
void st_value_close(st_value *value);

/* The element type (0 for an invalid handle). */
st_value_type st_value_get_type(const st_value *value);

/* The built-in lock. The handle belongs to the Value handle: it is valid
 * until st_value_close(value), and must not be closed by the caller. */
st_result st_value_get_lock(st_value *value, st_lock **lock);

/* Locked read and write (see above). ST_EOWNERDEAD: done, but a previous
 * holder of the built-in lock died holding it. */
st_result st_value_get_i64(st_value *value, int64_t *out);
st_result st_value_set_i64(st_value *value, int64_t v);
st_result st_value_get_u64(st_value *value, uint64_t *out);
st_result st_value_set_u64(st_value *value, uint64_t v);
st_result st_value_get_double(st_value *value, double *out);
st_result st_value_set_double(st_value *value, double v);

/* Unlocked read and write (see above). */
st_result st_value_load_i64(st_value *value, int64_t *out);
st_result st_value_store_i64(st_value *value, int64_t v);
st_result st_value_load_u64(st_value *value, uint64_t *out);
st_result st_value_store_u64(st_value *value, uint64_t v);
st_result st_value_load_double(st_value *value, double *out);
st_result st_value_store_double(st_value *value, double v);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
