/* value.c - the typed shared Value with a built-in lock (see value.h).
 *
 * The whole Value lives in its object slot: the built-in Lock (a complete
 * st_lock_body, so the dashboard shows its lockstat figures), the element
 * type, the value itself as one 64-bit word, and the read/write counts:
 *
 *   +--------------------------------------------+  slot body (640 B)
 *   | st_lock_body lock        (448 B)           |  the built-in lock
 *   | type (st_value_type)  | reserved           |
 *   | bits: the value, one 64-bit word           |  int32 sign-extended,
 *   |                                            |  double bit for bit
 *   | reads | writes                             |  atomic counts
 *   +--------------------------------------------+
 *
 * Invariants: `bits` is only read and written with single 64-bit atomic
 * loads and stores, so no reader (the viewer's copy included) ever sees a
 * torn value, with or without the lock. An int32 Value's word always holds
 * a value in int32 range (sets outside it are refused). The counts are
 * atomic increments even under the lock: the unlocked path must count
 * exactly too, which is the point of the race lesson (writes counted vs.
 * increments that survived). The type is fixed before the slot is
 * published and never changes.
 */
#include "internal.h"
#include "builtin_lock.h"
#include "event_log.h"
#include "object_types.h"

#include <stdlib.h>
#include <string.h>
#include <synctop/value.h>

#define ST_VALUE_HANDLE_MAGIC 0x56414c55u  /* "VALU" */

typedef struct value_body {
    st_lock_body lock;          /* the built-in lock */
    uint32_t type;              /* st_value_type */
    uint32_t reserved;
    uint64_t bits;              /* the value (see above) */
    uint64_t reads;             /* get + load calls */
    uint64_t writes;            /* set + store calls */
} value_body;

_Static_assert(sizeof(value_body) <= ST_OBJECT_BODY_SIZE, "value body fits its slot");

struct st_value {
    uint32_t magic;
    uint32_t index;
    st_value_type type;
    st_table *table;
    st_object_slot *slot;
    value_body *body;
    st_lock *lock;              /* handle on body->lock, owned */
};

typedef struct value_params {
    st_value_type type;
    uint64_t bits;
} value_params;

const char *st_value_type_name(st_value_type type)
{
    switch (type) {
    case ST_INT32:
        return "int32";
    case ST_INT64:
        return "int64";
    case ST_UINT64:
        return "uint64";
    case ST_DOUBLE:
        return "double";
    }
    return "unknown";
}

size_t st_value_type_size(st_value_type type)
{
    switch (type) {
    case ST_INT32:
        return sizeof(int32_t);
    case ST_INT64:
    case ST_UINT64:
    case ST_DOUBLE:
        return 8;
    }
    return 0;
}

static uint64_t double_bits(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits;
}

static double bits_double(uint64_t bits)
{
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static void value_body_init(void *raw, const void *params)
{
    value_body *b = raw;
    const value_params *p = params;
    st_lock_body_init(&b->lock);
    b->type = (uint32_t)p->type;
    b->bits = p->bits;
}

static const char *value_name(const st_value *value)
{
    return value->slot->header.name;
}

static bool value_handle_valid(const st_value *value)
{
    return value && value->magic == ST_VALUE_HANDLE_MAGIC;
}

st_result st_value_open(st_table *table, const char *name, st_value_type type, const void *initial,
                        st_value **out)
{
    if (!out)
        return st_fail(ST_EINVAL, "st_value_open: out is NULL");
    *out = NULL;
    if (st_value_type_size(type) == 0)
        return st_fail(ST_EINVAL, "st_value_open: unknown value type %d", (int)type);
    value_params params = { .type = type, .bits = 0 };
    if (initial) {
        switch (type) {
        case ST_INT32: {
            int32_t v;
            memcpy(&v, initial, sizeof v);
            params.bits = (uint64_t)(int64_t)v;
            break;
        }
        case ST_INT64:
        case ST_UINT64:
        case ST_DOUBLE:
            memcpy(&params.bits, initial, sizeof params.bits);
            break;
        }
    }
    uint32_t index;
    st_result r = st_object_open(table, ST_TYPE_VALUE, name, value_body_init, &params, &index);
    if (r != ST_OK)
        return r;
    value_body *body = (value_body *)table->objects[index].body.raw;
    st_value_type existing = (st_value_type)body->type;
    if (existing != type)
        return st_fail(ST_EWRONGTYPE, "value '%s' in session '%s' holds %s, not %s; open it with its own type",
                       name, table->session, st_value_type_name(existing), st_value_type_name(type));
    st_value *value = calloc(1, sizeof *value);
    if (!value)
        return st_fail(ST_ENOMEM, "out of memory for a value handle");
    r = st_lock_handle_for_body(table, index, &body->lock, &value->lock);
    if (r != ST_OK) {
        free(value);
        return r;
    }
    value->magic = ST_VALUE_HANDLE_MAGIC;
    value->index = index;
    value->type = type;
    value->table = table;
    value->slot = &table->objects[index];
    value->body = body;
    *out = value;
    return ST_OK;
}

void st_value_close(st_value *value)
{
    if (!value_handle_valid(value))
        return;
    st_lock_close(value->lock);
    value->magic = 0;
    free(value);
}

st_value_type st_value_get_type(const st_value *value)
{
    return value_handle_valid(value) ? value->type : (st_value_type)0;
}

st_result st_value_get_lock(st_value *value, st_lock **lock)
{
    if (!value_handle_valid(value))
        return st_fail(ST_EINVAL, "st_value_get_lock: invalid value handle");
    if (!lock)
        return st_fail(ST_EINVAL, "st_value_get_lock: lock is NULL");
    *lock = value->lock;
    return ST_OK;
}

/* ---- the checks every access makes ---- */

enum value_family { FAMILY_SIGNED, FAMILY_UNSIGNED, FAMILY_DOUBLE };

static bool family_fits(st_value_type type, enum value_family family)
{
    switch (family) {
    case FAMILY_SIGNED:
        return type == ST_INT32 || type == ST_INT64;
    case FAMILY_UNSIGNED:
        return type == ST_UINT64;
    case FAMILY_DOUBLE:
        return type == ST_DOUBLE;
    }
    return false;
}

static st_result check_access(const st_value *value, enum value_family family, const char *call, const void *out)
{
    if (__builtin_expect(!value_handle_valid(value), 0))
        return st_fail(ST_EINVAL, "%s: invalid value handle", call);
    if (__builtin_expect(!family_fits(value->type, family), 0))
        return st_fail(ST_EWRONGTYPE, "%s: value '%s' holds %s; use the st_value_*%s calls", call,
                       value_name(value), st_value_type_name(value->type),
                       value->type == ST_UINT64 ? "_u64" : value->type == ST_DOUBLE ? "_double" : "_i64");
    if (__builtin_expect(out == NULL, 0))
        return st_fail(ST_EINVAL, "%s: output pointer is NULL", call);
    return ST_OK;
}

static st_result check_int32(const st_value *value, int64_t v, const char *call)
{
    if (value->type == ST_INT32 && (v < INT32_MIN || v > INT32_MAX))
        return st_fail(ST_EOVERFLOW, "%s: %lld does not fit value '%s' (int32: %d to %d); it is unchanged", call,
                       (long long)v, value_name(value), INT32_MIN, INT32_MAX);
    return ST_OK;
}

/* ---- the raw word: one atomic load or store, counted, traced ---- */

static inline uint64_t raw_load(st_value *value)
{
    value_body *b = value->body;
    uint64_t bits = __atomic_load_n(&b->bits, __ATOMIC_RELAXED);
    ST_ATOMIC_ADD(b->reads, 1u);
    if (st_object_traced(value->slot))
        st_event_log(value->table, value->index, ST_OP_GET, ST_OK, 0,
                     value->type == ST_DOUBLE ? (int64_t)bits_double(bits) : (int64_t)bits);
    return bits;
}

static inline void raw_store(st_value *value, uint64_t bits)
{
    value_body *b = value->body;
    __atomic_store_n(&b->bits, bits, __ATOMIC_RELAXED);
    ST_ATOMIC_ADD(b->writes, 1u);
    if (st_object_traced(value->slot))
        st_event_log(value->table, value->index, ST_OP_SET, ST_OK, 0,
                     value->type == ST_DOUBLE ? (int64_t)bits_double(bits) : (int64_t)bits);
}

/* A locked load: the built-in lock around raw_load. */
static st_result locked_load(st_value *value, uint64_t *bits)
{
    bool taken;
    st_result r = st_builtin_lock_enter(value->lock, &value->body->lock, &taken);
    if (r != ST_OK && r != ST_EOWNERDEAD)
        return r;
    *bits = raw_load(value);
    st_builtin_lock_leave(value->lock, taken);
    return r;
}

static st_result locked_store(st_value *value, uint64_t bits)
{
    bool taken;
    st_result r = st_builtin_lock_enter(value->lock, &value->body->lock, &taken);
    if (r != ST_OK && r != ST_EOWNERDEAD)
        return r;
    raw_store(value, bits);
    st_builtin_lock_leave(value->lock, taken);
    return r;
}

/* ---- the typed calls ---- */

st_result st_value_get_i64(st_value *value, int64_t *out)
{
    st_result r = check_access(value, FAMILY_SIGNED, "st_value_get_i64", out);
    if (r != ST_OK)
        return r;
    uint64_t bits;
    r = locked_load(value, &bits);
    if (r == ST_OK || r == ST_EOWNERDEAD)
        *out = (int64_t)bits;
    return r;
}

st_result st_value_set_i64(st_value *value, int64_t v)
{
    st_result r = check_access(value, FAMILY_SIGNED, "st_value_set_i64", "");
    if (r == ST_OK)
        r = check_int32(value, v, "st_value_set_i64");
    return r == ST_OK ? locked_store(value, (uint64_t)v) : r;
}

st_result st_value_get_u64(st_value *value, uint64_t *out)
{
    st_result r = check_access(value, FAMILY_UNSIGNED, "st_value_get_u64", out);
    return r == ST_OK ? locked_load(value, out) : r;
}

st_result st_value_set_u64(st_value *value, uint64_t v)
{
    st_result r = check_access(value, FAMILY_UNSIGNED, "st_value_set_u64", "");
    return r == ST_OK ? locked_store(value, v) : r;
}

st_result st_value_get_double(st_value *value, double *out)
{
    st_result r = check_access(value, FAMILY_DOUBLE, "st_value_get_double", out);
    if (r != ST_OK)
        return r;
    uint64_t bits;
    r = locked_load(value, &bits);
    if (r == ST_OK || r == ST_EOWNERDEAD)
        *out = bits_double(bits);
    return r;
}

st_result st_value_set_double(st_value *value, double v)
{
    st_result r = check_access(value, FAMILY_DOUBLE, "st_value_set_double", "");
    return r == ST_OK ? locked_store(value, double_bits(v)) : r;
}

st_result st_value_load_i64(st_value *value, int64_t *out)
{
    st_result r = check_access(value, FAMILY_SIGNED, "st_value_load_i64", out);
    if (r == ST_OK)
        *out = (int64_t)raw_load(value);
    return r;
}

st_result st_value_store_i64(st_value *value, int64_t v)
{
    st_result r = check_access(value, FAMILY_SIGNED, "st_value_store_i64", "");
    if (r == ST_OK)
        r = check_int32(value, v, "st_value_store_i64");
    if (r == ST_OK)
        raw_store(value, (uint64_t)v);
    return r;
}

st_result st_value_load_u64(st_value *value, uint64_t *out)
{
    st_result r = check_access(value, FAMILY_UNSIGNED, "st_value_load_u64", out);
    if (r == ST_OK)
        *out = raw_load(value);
    return r;
}

st_result st_value_store_u64(st_value *value, uint64_t v)
{
    st_result r = check_access(value, FAMILY_UNSIGNED, "st_value_store_u64", "");
    if (r == ST_OK)
        raw_store(value, v);
    return r;
}

st_result st_value_load_double(st_value *value, double *out)
{
    st_result r = check_access(value, FAMILY_DOUBLE, "st_value_load_double", out);
    if (r == ST_OK)
        *out = bits_double(raw_load(value));
    return r;
}

st_result st_value_store_double(st_value *value, double v)
{
    st_result r = check_access(value, FAMILY_DOUBLE, "st_value_store_double", "");
    if (r == ST_OK)
        raw_store(value, double_bits(v));
    return r;
}

/* ---- the viewer's side ---- */

void st_value_describe(const void *raw, const st_clock_calibration *clock, st_object_view *view)
{
    const value_body *b = raw;
    st_value_type type = (st_value_type)b->type;
    st_field_text(view, "value_type", st_value_type_name(type), 16);
    switch (type) {
    case ST_INT32:
    case ST_INT64:
        st_field_i64(view, "value", (int64_t)b->bits, 0);
        break;
    case ST_UINT64:
        st_field_u64(view, "value", b->bits, 0);
        break;
    case ST_DOUBLE:
        st_field_double(view, "value", bits_double(b->bits), 0);
        break;
    default:
        break;  /* an unknown type shows no value rather than a wrong one */
    }
    st_field_u64(view, "reads", b->reads, ST_FIELD_COUNTER);
    st_field_u64(view, "writes", b->writes, ST_FIELD_COUNTER);
    st_lock_describe_body(&b->lock, clock, view);
}
