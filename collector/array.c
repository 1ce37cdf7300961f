/* array.c - the typed shared Array with a built-in lock (see array.h).
 *
 * The elements live in a data segment (native C types), followed by a
 * small tree of block extremes; the slot body holds the built-in Lock, the
 * shape, and a summary of the contents that writers keep current under the
 * lock, so the viewer, which maps only the table, can show sum, min, max:
 *
 *   slot body (640 B)                        data segment
 *   +----------------------------------+     +-------------------------------+
 *   | st_lock_body lock    (448 B)     |     | elements: length x size       |
 *   | type | element_size | length     |     |  (int32/int64/uint64/double)  |
 *   | segment_stamp (0: no data yet) --+---->+-------------------------------+
 *   | sum | min | max  (64-bit words)  |     | tree: 2 x P (min, max) pairs  |
 *   | reads | writes | rescans         |     |  leaf P + b: block b's        |
 *   +----------------------------------+     |  extremes (64 elements each)  |
 *                                            |  node i: its children's; 1 is |
 *                                            |  the root: the array's        |
 *                                            +-------------------------------+
 *
 * Why the tree: min and max cannot be kept in O(1) when a set overwrites
 * the current minimum with a larger value (a ring of readings does that
 * on every write). Rescanning the whole array then cost microseconds per
 * set for 1000 elements; with blocks of 64 a set rescans at most its own
 * block (`rescans` counts those) and walks log2(length / 64) tree nodes,
 * whatever the pattern. The tree costs 16 bytes per 64 elements.
 *
 * Summary words are int64 for ST_INT32 and ST_INT64, uint64 for ST_UINT64,
 * and the bits of a double for ST_DOUBLE. The sum is kept incrementally
 * (sum += new - old), wrapping for integers; a double sum carries the
 * rounding of its updates and is recomputed from scratch when the whole
 * array is written in one range, or when a non-finite value is involved.
 * NaN elements are left out of the tree (an all-NaN array shows NaN).
 *
 * Invariant, whenever the lock is free: tree and summary describe the
 * data. A writer that dies mid-update breaks it; the next one to take the
 * lock (ST_EOWNERDEAD) rebuilds everything, O(length). Counts are written
 * under the lock, so they are plain relaxed stores.
 */
#include "internal.h"
#include "builtin_lock.h"
#include "event_log.h"
#include "object_segment.h"
#include "object_types.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <synctop/array.h>

#define ST_ARRAY_HANDLE_MAGIC 0x41525259u  /* "ARRY" */
#define BLOCK_ELEMENTS 64u

typedef struct array_body {
    st_lock_body lock;          /* the built-in lock */
    uint32_t type;              /* st_value_type */
    uint32_t element_size;      /* bytes */
    uint64_t length;            /* elements */
    uint64_t segment_stamp;     /* names the data segment; 0 until it exists */
    uint64_t sum;               /* summary words (see above) */
    uint64_t min;
    uint64_t max;
    uint64_t reads;             /* get calls (element or range) */
    uint64_t writes;            /* set calls (element or range) */
    uint64_t rescans;           /* block rescans (at most 64 elements each) */
} array_body;

_Static_assert(sizeof(array_body) <= ST_OBJECT_BODY_SIZE, "array body fits its slot");

/* One node of the tree: extremes as summary words. */
typedef struct extremes {
    uint64_t min;
    uint64_t max;
} extremes;

/* Where things are in the data segment, from the shape alone (so every
 * opener computes the same). */
typedef struct array_layout {
    size_t blocks;              /* ceil(length / 64) */
    size_t leaves;              /* P: a power of two >= blocks */
    size_t tree_offset;         /* bytes: after the elements, 16-aligned */
    size_t size;                /* bytes in all */
} array_layout;

struct st_array {
    uint32_t magic;
    uint32_t index;
    st_value_type type;
    size_t length;
    st_table *table;
    st_object_slot *slot;
    array_body *body;
    st_lock *lock;              /* handle on body->lock, owned */
    array_layout layout;
    st_segment data;
    extremes *tree;             /* in data, at layout.tree_offset */
};

typedef struct array_params {
    st_value_type type;
    size_t length;
} array_params;

/* One element or summary figure, whatever the type. */
typedef union number {
    int64_t i;                  /* ST_INT32, ST_INT64 */
    uint64_t u;                 /* ST_UINT64, and the raw word */
    double d;                   /* ST_DOUBLE */
} number;

static number word_number(uint64_t word)
{
    number n;
    n.u = word;
    return n;
}

static array_layout layout_for(size_t length, size_t element_size)
{
    array_layout l;
    l.blocks = (length + BLOCK_ELEMENTS - 1) / BLOCK_ELEMENTS;
    l.leaves = 1;
    while (l.leaves < l.blocks)
        l.leaves *= 2;
    l.tree_offset = (length * element_size + 15) / 16 * 16;
    l.size = l.tree_offset + 2 * l.leaves * sizeof(extremes);
    return l;
}

static void array_body_init(void *raw, const void *params)
{
    array_body *b = raw;
    const array_params *p = params;
    st_lock_body_init(&b->lock);
    b->type = (uint32_t)p->type;
    b->element_size = (uint32_t)st_value_type_size(p->type);
    b->length = p->length;
    /* An all-zero array: sum, min and max are 0 in every encoding. */
}

static const char *array_name(const st_array *array)
{
    return array->slot->header.name;
}

static bool array_handle_valid(const st_array *array)
{
    return array && array->magic == ST_ARRAY_HANDLE_MAGIC;
}

/* ---- elements (caller holds the lock) ---- */

static number element_load(const st_array *a, size_t i)
{
    number n;
    switch (a->type) {
    case ST_INT32:
        n.i = ((const int32_t *)a->data.base)[i];
        break;
    case ST_INT64:
        n.i = ((const int64_t *)a->data.base)[i];
        break;
    case ST_UINT64:
        n.u = ((const uint64_t *)a->data.base)[i];
        break;
    case ST_DOUBLE:
    default:
        n.d = ((const double *)a->data.base)[i];
        break;
    }
    return n;
}

static void element_store(st_array *a, size_t i, number n)
{
    switch (a->type) {
    case ST_INT32:
        ((int32_t *)a->data.base)[i] = (int32_t)n.i;
        break;
    case ST_INT64:
        ((int64_t *)a->data.base)[i] = n.i;
        break;
    case ST_UINT64:
        ((uint64_t *)a->data.base)[i] = n.u;
        break;
    case ST_DOUBLE:
    default:
        ((double *)a->data.base)[i] = n.d;
        break;
    }
}

static bool number_less(st_value_type type, number a, number b)
{
    switch (type) {
    case ST_UINT64:
        return a.u < b.u;
    case ST_DOUBLE:
        return a.d < b.d;
    default:
        return a.i < b.i;
    }
}

static bool number_equal(st_value_type type, number a, number b)
{
    return type == ST_DOUBLE ? a.d == b.d : a.u == b.u;
}

/* sum + add - sub, wrapping for integers. */
static number number_adjust(st_value_type type, number sum, number add, number sub)
{
    if (type == ST_DOUBLE)
        sum.d += add.d - sub.d;
    else
        sum.u = sum.u + add.u - sub.u;   /* two's complement: right for int64 too */
    return sum;
}

/* ---- the tree of block extremes (caller holds the lock) ---- */

/* Extremes of nothing: min above and max below every value. */
static extremes extremes_empty(st_value_type type)
{
    switch (type) {
    case ST_UINT64:
        return (extremes){ UINT64_MAX, 0 };
    case ST_DOUBLE: {
        number inf = { .d = INFINITY }, minus_inf = { .d = -INFINITY };
        return (extremes){ inf.u, minus_inf.u };
    }
    default:
        return (extremes){ (uint64_t)INT64_MAX, (uint64_t)INT64_MIN };
    }
}

static extremes extremes_combine(st_value_type type, extremes a, extremes b)
{
    extremes out = a;
    if (number_less(type, word_number(b.min), word_number(a.min)))
        out.min = b.min;
    if (number_less(type, word_number(a.max), word_number(b.max)))
        out.max = b.max;
    return out;
}

static bool extremes_equal(extremes a, extremes b)
{
    return a.min == b.min && a.max == b.max;
}

static extremes block_scan(st_array *a, size_t block)
{
    extremes e = extremes_empty(a->type);
    size_t end = (block + 1) * BLOCK_ELEMENTS;
    if (end > a->length)
        end = a->length;
    for (size_t i = block * BLOCK_ELEMENTS; i < end; i++) {
        number n = element_load(a, i);
        if (a->type == ST_DOUBLE && isnan(n.d))
            continue;
        e = extremes_combine(a->type, e, (extremes){ n.u, n.u });
    }
    return e;
}

/* Publish the root as the summary's min and max. */
static void publish_extremes(st_array *a)
{
    extremes root = a->tree[1];
    if (a->type == ST_DOUBLE && word_number(root.min).d > word_number(root.max).d) {
        number nan = { .d = NAN };   /* every element is NaN */
        root.min = root.max = nan.u;
    }
    ST_STORE(a->body->min, root.min);
    ST_STORE(a->body->max, root.max);
}

/* Recompute the ancestors of leaves [first, last] (block numbers). */
static void tree_fix_up(st_array *a, size_t first, size_t last)
{
    size_t lo = (a->layout.leaves + first) / 2, hi = (a->layout.leaves + last) / 2;
    for (; lo >= 1; lo /= 2, hi /= 2) {
        bool changed = false;
        for (size_t i = lo; i <= hi; i++) {
            extremes e = extremes_combine(a->type, a->tree[2 * i], a->tree[2 * i + 1]);
            if (!extremes_equal(e, a->tree[i])) {
                a->tree[i] = e;
                changed = true;
            }
        }
        if (!changed)
            break;   /* unchanged nodes have unchanged ancestors */
    }
}

static number sum_from_scratch(st_array *a)
{
    number sum = { .u = 0 };
    for (size_t i = 0; i < a->length; i++)
        sum = number_adjust(a->type, sum, element_load(a, i), (number){ .u = 0 });
    return sum;
}

/* Everything from the data: O(length). At creation, and after a writer
 * died mid-update. */
static void summary_rebuild(st_array *a)
{
    size_t leaves = a->layout.leaves;
    for (size_t b = 0; b < leaves; b++)
        a->tree[leaves + b] = b < a->layout.blocks ? block_scan(a, b) : extremes_empty(a->type);
    for (size_t i = leaves - 1; i >= 1; i--)
        a->tree[i] = extremes_combine(a->type, a->tree[2 * i], a->tree[2 * i + 1]);
    ST_STORE(a->body->sum, sum_from_scratch(a).u);
    publish_extremes(a);
}

/* Element i went from old to new: the sum; *sum_stale when only a full
 * recomputation gets it right (non-finite doubles). */
static void sum_update(st_array *a, number old, number new, bool *sum_stale)
{
    if (*sum_stale)
        return;
    number sum = word_number(ST_LOAD(a->body->sum));
    if (a->type == ST_DOUBLE && (!isfinite(old.d) || !isfinite(new.d) || !isfinite(sum.d))) {
        *sum_stale = true;   /* inf - inf, NaN: only a fresh sum is right */
        return;
    }
    ST_STORE(a->body->sum, number_adjust(a->type, sum, new, old).u);
}

/* Element i of block went from old to new: the block's leaf. Returns
 * whether the leaf changed. */
static bool leaf_update(st_array *a, size_t block, number old, number new)
{
    extremes *leaf = &a->tree[a->layout.leaves + block];
    extremes before = *leaf;
    st_value_type type = a->type;
    bool rescan = type == ST_DOUBLE && (isnan(old.d) || isnan(new.d));
    if (!rescan) {
        if (number_less(type, new, word_number(leaf->min)))
            leaf->min = new.u;
        else if (number_equal(type, old, word_number(leaf->min)) && number_less(type, old, new))
            rescan = true;   /* the block's minimum grew: which element is it now? */
        if (number_less(type, word_number(leaf->max), new))
            leaf->max = new.u;
        else if (number_equal(type, old, word_number(leaf->max)) && number_less(type, new, old))
            rescan = true;
    }
    if (rescan) {
        *leaf = block_scan(a, block);
        ST_BUMP(a->body->rescans, 1u);
    }
    return !extremes_equal(before, *leaf);
}

/* ---- open / close ---- */

/* Map the data segment; the first opener creates it under the built-in
 * lock and builds its tree (all zeros: every block's extremes are 0). */
static st_result array_map_data(st_array *array)
{
    array_body *b = array->body;
    array->layout = layout_for(array->length, st_value_type_size(array->type));
    size_t size = array->layout.size;
    bool created;
    st_result r;
    if (__atomic_load_n(&b->segment_stamp, __ATOMIC_ACQUIRE) != 0) {
        r = st_object_segment_open(array->table, array->index, "array", &b->segment_stamp, size, &array->data,
                                   &created);
        if (r == ST_OK)
            array->tree = (extremes *)((char *)array->data.base + array->layout.tree_offset);
        return r;
    }
    bool taken;
    st_result locked = st_builtin_lock_enter(array->lock, &b->lock, &taken);
    if (locked != ST_OK && locked != ST_EOWNERDEAD)
        return locked;
    r = st_object_segment_open(array->table, array->index, "array", &b->segment_stamp, size, &array->data,
                               &created);
    if (r == ST_OK) {
        array->tree = (extremes *)((char *)array->data.base + array->layout.tree_offset);
        /* New, or left half-updated by a writer that died holding the lock. */
        if (created || locked == ST_EOWNERDEAD)
            summary_rebuild(array);
    }
    st_builtin_lock_leave(array->lock, taken);
    return r;
}

st_result st_array_open(st_table *table, const char *name, st_value_type type, size_t length, st_array **out)
{
    if (!out)
        return st_fail(ST_EINVAL, "st_array_open: out is NULL");
    *out = NULL;
    if (st_value_type_size(type) == 0)
        return st_fail(ST_EINVAL, "st_array_open: unknown element type %d", (int)type);
    if (length == 0)
        return st_fail(ST_EINVAL, "st_array_open: length 0 (an array has at least one element)");
    if (length > ST_ARRAY_MAX_LENGTH)
        return st_fail(ST_EOVERFLOW, "st_array_open: length %zu is over the limit of %u elements", length,
                       ST_ARRAY_MAX_LENGTH);
    array_params params = { .type = type, .length = length };
    uint32_t index;
    st_result r = st_object_open(table, ST_TYPE_ARRAY, name, array_body_init, &params, &index);
    if (r != ST_OK)
        return r;
    array_body *body = (array_body *)table->objects[index].body.raw;
    st_value_type existing = (st_value_type)body->type;
    if (existing != type)
        return st_fail(ST_EWRONGTYPE, "array '%s' in session '%s' holds %s, not %s; open it with its own type",
                       name, table->session, st_value_type_name(existing), st_value_type_name(type));
    uint64_t existing_length = body->length;
    if (existing_length == 0 || existing_length > ST_ARRAY_MAX_LENGTH ||
        body->element_size != st_value_type_size(type))
        return st_fail(ST_ECORRUPT, "array '%s' in session '%s' has an invalid shape (%llu elements of %u bytes)",
                       name, table->session, (unsigned long long)existing_length, body->element_size);
    st_array *array = calloc(1, sizeof *array);
    if (!array)
        return st_fail(ST_ENOMEM, "out of memory for an array handle");
    r = st_lock_handle_for_body(table, index, &body->lock, &array->lock);
    if (r != ST_OK) {
        free(array);
        return r;
    }
    array->magic = ST_ARRAY_HANDLE_MAGIC;
    array->index = index;
    array->type = type;
    array->length = (size_t)existing_length;
    array->table = table;
    array->slot = &table->objects[index];
    array->body = body;
    r = array_map_data(array);
    if (r != ST_OK) {
        st_lock_close(array->lock);
        free(array);
        return r;
    }
    *out = array;
    return ST_OK;
}

void st_array_close(st_array *array)
{
    if (!array_handle_valid(array))
        return;
    st_segment_close(&array->data);
    st_lock_close(array->lock);
    array->magic = 0;
    free(array);
}

size_t st_array_length(const st_array *array)
{
    return array_handle_valid(array) ? array->length : 0;
}

st_value_type st_array_type(const st_array *array)
{
    return array_handle_valid(array) ? array->type : (st_value_type)0;
}

st_result st_array_get_lock(st_array *array, st_lock **lock)
{
    if (!array_handle_valid(array))
        return st_fail(ST_EINVAL, "st_array_get_lock: invalid array handle");
    if (!lock)
        return st_fail(ST_EINVAL, "st_array_get_lock: lock is NULL");
    *lock = array->lock;
    return ST_OK;
}

/* ---- element access ---- */

enum array_family { FAMILY_SIGNED, FAMILY_UNSIGNED, FAMILY_DOUBLE, FAMILY_ANY };

static st_result check_call(const st_array *array, enum array_family family, size_t start, size_t count,
                            const void *buffer, const char *call)
{
    if (__builtin_expect(!array_handle_valid(array), 0))
        return st_fail(ST_EINVAL, "%s: invalid array handle", call);
    bool fits = family == FAMILY_ANY ||
                (family == FAMILY_SIGNED && (array->type == ST_INT32 || array->type == ST_INT64)) ||
                (family == FAMILY_UNSIGNED && array->type == ST_UINT64) ||
                (family == FAMILY_DOUBLE && array->type == ST_DOUBLE);
    if (!fits)
        return st_fail(ST_EWRONGTYPE, "%s: array '%s' holds %s; use the st_array_*%s calls", call,
                       array_name(array), st_value_type_name(array->type),
                       array->type == ST_UINT64 ? "_u64" : array->type == ST_DOUBLE ? "_double" : "_i64");
    if (start > array->length || count > array->length - start)
        return st_fail(ST_EINVAL, "%s: elements [%zu, %zu + %zu) are outside array '%s' of length %zu", call,
                       start, start, count, array_name(array), array->length);
    if (!buffer && count > 0)
        return st_fail(ST_EINVAL, "%s: buffer is NULL", call);
    return ST_OK;
}

/* Take the built-in lock for one call; after a dead holder, repair the
 * summary it may have left half-updated. */
static st_result array_enter(st_array *array, bool *taken)
{
    st_result r = st_builtin_lock_enter(array->lock, &array->body->lock, taken);
    if (r == ST_EOWNERDEAD)
        summary_rebuild(array);
    return r;
}

static st_result get_one(st_array *array, size_t index, number *out)
{
    bool taken;
    st_result r = array_enter(array, &taken);
    if (r != ST_OK && r != ST_EOWNERDEAD)
        return r;
    *out = element_load(array, index);
    ST_BUMP(array->body->reads, 1u);
    if (st_object_traced(array->slot))
        st_event_log(array->table, array->index, ST_OP_GET, ST_OK, 0, (int64_t)index);
    st_builtin_lock_leave(array->lock, taken);
    return r;
}

static st_result set_one(st_array *array, size_t index, number value)
{
    bool taken;
    st_result r = array_enter(array, &taken);
    if (r != ST_OK && r != ST_EOWNERDEAD)
        return r;
    number old = element_load(array, index);
    element_store(array, index, value);
    bool sum_stale = false;
    sum_update(array, old, value, &sum_stale);
    if (sum_stale)
        ST_STORE(array->body->sum, sum_from_scratch(array).u);
    size_t block = index / BLOCK_ELEMENTS;
    if (leaf_update(array, block, old, value)) {
        tree_fix_up(array, block, block);
        publish_extremes(array);
    }
    ST_BUMP(array->body->writes, 1u);
    if (st_object_traced(array->slot))
        st_event_log(array->table, array->index, ST_OP_SET, ST_OK, 0, (int64_t)index);
    st_builtin_lock_leave(array->lock, taken);
    return r;
}

st_result st_array_get_i64(st_array *array, size_t index, int64_t *out)
{
    st_result r = check_call(array, FAMILY_SIGNED, index, 1, out, "st_array_get_i64");
    number n;
    if (r == ST_OK)
        r = get_one(array, index, &n);
    if (r == ST_OK || r == ST_EOWNERDEAD)
        *out = n.i;
    return r;
}

st_result st_array_set_i64(st_array *array, size_t index, int64_t v)
{
    st_result r = check_call(array, FAMILY_SIGNED, index, 1, "", "st_array_set_i64");
    if (r != ST_OK)
        return r;
    if (array->type == ST_INT32 && (v < INT32_MIN || v > INT32_MAX))
        return st_fail(ST_EOVERFLOW, "st_array_set_i64: %lld does not fit an element of array '%s' (int32); "
                       "it is unchanged", (long long)v, array_name(array));
    return set_one(array, index, (number){ .i = v });
}

st_result st_array_get_u64(st_array *array, size_t index, uint64_t *out)
{
    st_result r = check_call(array, FAMILY_UNSIGNED, index, 1, out, "st_array_get_u64");
    number n;
    if (r == ST_OK)
        r = get_one(array, index, &n);
    if (r == ST_OK || r == ST_EOWNERDEAD)
        *out = n.u;
    return r;
}

st_result st_array_set_u64(st_array *array, size_t index, uint64_t v)
{
    st_result r = check_call(array, FAMILY_UNSIGNED, index, 1, "", "st_array_set_u64");
    return r == ST_OK ? set_one(array, index, (number){ .u = v }) : r;
}

st_result st_array_get_double(st_array *array, size_t index, double *out)
{
    st_result r = check_call(array, FAMILY_DOUBLE, index, 1, out, "st_array_get_double");
    number n;
    if (r == ST_OK)
        r = get_one(array, index, &n);
    if (r == ST_OK || r == ST_EOWNERDEAD)
        *out = n.d;
    return r;
}

st_result st_array_set_double(st_array *array, size_t index, double v)
{
    st_result r = check_call(array, FAMILY_DOUBLE, index, 1, "", "st_array_set_double");
    return r == ST_OK ? set_one(array, index, (number){ .d = v }) : r;
}

st_result st_array_get_range(st_array *array, size_t start, size_t count, void *buffer)
{
    st_result r = check_call(array, FAMILY_ANY, start, count, buffer, "st_array_get_range");
    if (r != ST_OK)
        return r;
    bool taken;
    r = array_enter(array, &taken);
    if (r != ST_OK && r != ST_EOWNERDEAD)
        return r;
    size_t size = st_value_type_size(array->type);
    if (count > 0)
        memcpy(buffer, (const char *)array->data.base + start * size, count * size);
    ST_BUMP(array->body->reads, 1u);
    if (st_object_traced(array->slot))
        st_event_log(array->table, array->index, ST_OP_GET, ST_OK, 0, (int64_t)count);
    st_builtin_lock_leave(array->lock, taken);
    return r;
}

st_result st_array_set_range(st_array *array, size_t start, size_t count, const void *buffer)
{
    st_result r = check_call(array, FAMILY_ANY, start, count, buffer, "st_array_set_range");
    if (r != ST_OK)
        return r;
    size_t size = st_value_type_size(array->type);
    bool taken;
    r = array_enter(array, &taken);
    if (r != ST_OK && r != ST_EOWNERDEAD)
        return r;
    /* Elements and sum first, then each touched block's extremes from
     * scratch (at most 64 elements more than written), then their
     * ancestors once. Writing the whole array recomputes the sum. */
    bool whole = start == 0 && count == array->length;
    bool sum_stale = whole;
    for (size_t i = 0; i < count; i++) {
        number old = element_load(array, start + i);
        number value = { .u = 0 };
        const char *source = (const char *)buffer + i * size;
        if (array->type == ST_INT32) {
            int32_t v;
            memcpy(&v, source, sizeof v);
            value.i = v;
        } else {
            memcpy(&value, source, 8);
        }
        element_store(array, start + i, value);
        sum_update(array, old, value, &sum_stale);
    }
    if (sum_stale)
        ST_STORE(array->body->sum, sum_from_scratch(array).u);
    if (count > 0) {
        size_t first = start / BLOCK_ELEMENTS, last = (start + count - 1) / BLOCK_ELEMENTS;
        for (size_t b = first; b <= last; b++)
            array->tree[array->layout.leaves + b] = block_scan(array, b);
        tree_fix_up(array, first, last);
        publish_extremes(array);
    }
    ST_BUMP(array->body->writes, 1u);
    if (st_object_traced(array->slot))
        st_event_log(array->table, array->index, ST_OP_SET, ST_OK, 0, (int64_t)count);
    st_builtin_lock_leave(array->lock, taken);
    return r;
}

/* ---- the viewer's side ---- */

static void summary_field(st_object_view *view, const char *name, st_value_type type, uint64_t word)
{
    switch (type) {
    case ST_INT32:
    case ST_INT64:
        st_field_i64(view, name, (int64_t)word, 0);
        break;
    case ST_UINT64:
        st_field_u64(view, name, word, 0);
        break;
    case ST_DOUBLE:
        st_field_double(view, name, word_number(word).d, 0);
        break;
    }
}

unsigned st_array_data_segments(const st_table *table, uint32_t index, const void *raw, st_segment_names names)
{
    const array_body *body = raw;
    return body->segment_stamp != 0 && st_segment_name(table, "array", index, body->segment_stamp, names[0]) == ST_OK;
}

void st_array_describe(const void *raw, const st_clock_calibration *clock, st_object_view *view)
{
    const array_body *b = raw;
    st_value_type type = (st_value_type)b->type;
    st_field_u64(view, "length", b->length, 0);
    st_field_text(view, "element_type", st_value_type_name(type), 16);
    summary_field(view, "sum", type, b->sum);
    summary_field(view, "min", type, b->min);
    summary_field(view, "max", type, b->max);
    st_field_u64(view, "reads", b->reads, ST_FIELD_COUNTER);
    st_field_u64(view, "writes", b->writes, ST_FIELD_COUNTER);
    st_field_u64(view, "rescans", b->rescans, ST_FIELD_COUNTER);
    st_lock_describe_body(&b->lock, clock, view);
}
