/* dict.h - a shared dict of small byte strings (the Manager lesson:
 * multiprocessing.Manager().dict()).
 *
 * String keys (1 to ST_DICT_KEY_MAX bytes) map to values of 0 to
 * ST_DICT_VALUE_MAX bytes, kept in an open-addressing hash table in a data
 * segment of the dict's own; the object slot holds the built-in Lock and the
 * operation counts. Capacity (the number of entries) is fixed when the dict
 * is created.
 *
 * Every call takes the built-in lock for its operation and does not take it
 * again when the calling thread already holds it (st_dict_get_lock), so
 * read-modify-write of one key is made atomic the same way as for a Value:
 * acquire the lock, get, set, release. Without it, the lesson's lost
 * updates appear (two workers incrementing d["count"]).
 *
 * Values are bytes: store a C string with its terminating NUL (size
 * strlen(s) + 1) to read it back as one.
 */
#ifndef SYNCTOP_DICT_H
#define SYNCTOP_DICT_H

/* The library is built with hidden visibility: what this header declares
 * is its public API. */
#pragma GCC visibility push(default)

#include <stddef.h>
#include "lock.h"
#include "result.h"
#include "table.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ST_DICT_KEY_MAX 63         /* bytes, without the NUL */
#define ST_DICT_VALUE_MAX 256      /* bytes */
#define ST_DICT_MAX_CAPACITY 65536u

typedef struct st_dict st_dict;

/* One entry, as st_dict_items copies it out. */
typedef struct st_dict_item {
    char key[ST_DICT_KEY_MAX + 1];
    size_t size;
    unsigned char value[ST_DICT_VALUE_MAX];
} st_dict_item;

/* Open the dict called name, creating it with room for capacity entries
 * (1 to ST_DICT_MAX_CAPACITY; only the creator's matters). ST_EINVAL for a
 * capacity out of range at creation; ST_ENOSPC when /dev/shm has no room. */
st_result st_dict_open(st_table *table, const char *name, size_t capacity, st_dict **out);

/* Unmap the entries and drop the handle; the dict stays in the session. */
void st_dict_close(st_dict *dict);

/* The built-in lock; owned by the dict handle (do not close it). */
st_result st_dict_get_lock(st_dict *dict, st_lock **lock);

/* Insert or replace key's value (size bytes from value; value may be NULL
 * when size is 0). ST_EFULL when the key is new and all capacity entries
 * are used; ST_ENAMETOOLONG for a key over ST_DICT_KEY_MAX bytes; ST_EINVAL
 * for an empty key; ST_EOVERFLOW for a value over ST_DICT_VALUE_MAX bytes. */
st_result st_dict_set(st_dict *dict, const char *key, const void *value, size_t size);

/* Copy key's value into out (room for out_size bytes) and its size into
 * *size (size may be NULL). ST_ENOENT when the key is absent (counted as a
 * miss); ST_EOVERFLOW when the value does not fit in out_size (*size then
 * says how much is needed; nothing is copied). */
st_result st_dict_get(st_dict *dict, const char *key, void *out, size_t out_size, size_t *size);

/* Remove key. ST_ENOENT when it is absent (counted as a miss). */
st_result st_dict_delete(st_dict *dict, const char *key);

/* The number of entries now. */
st_result st_dict_size(st_dict *dict, size_t *entries);

/* Copy up to max entries (in no particular order) into items, consistently
 * (under the lock); *count gets the number of entries the dict holds, which
 * may exceed max. items may be NULL when max is 0. */
st_result st_dict_items(st_dict *dict, st_dict_item *items, size_t max, size_t *count);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
