/* dict.c - the shared dict (see dict.h).
 *
 * An open-addressing hash table (linear probing, FNV-1a) of fixed-size
 * entries in a data segment; the slot body holds the built-in Lock, the
 * shape and the operation counts:
 *
 *   slot body (640 B)                          data segment: slot_count entries
 *   +----------------------------------+      +---------------------------------+
 *   | st_lock_body lock    (448 B)     |      | state | hash | key_len | val_len |
 *   | capacity | slot_count            |      | key[64]          (NUL-ended)    |
 *   | entries | tombstones             |      | value[256]                      |
 *   | segment_stamp (0: no data yet) --+----->+---------------------------------+
 *   | gets sets deletes misses         |      | ...                             |
 *   | rehashes                         |      +---------------------------------+
 *   +----------------------------------+
 *
 * slot_count is a power of two at least twice the capacity, so a probe
 * sequence always meets an empty slot and stays short. Deleting leaves a
 * tombstone (probes continue past it, inserts reuse it); when live entries
 * plus tombstones pass 3/4 of the slots, the table is rebuilt in place
 * (`rehashes`). Everything changes under the built-in lock only.
 *
 * Crash safety: a new entry is written whole before its state says USED,
 * so a writer that dies leaves at worst a half-replaced value or, during a
 * rebuild, lost entries; the next locker gets ST_EOWNERDEAD and the counts
 * are recomputed from the entry states.
 */
#include "internal.h"
#include "builtin_lock.h"
#include "event_log.h"
#include "object_segment.h"
#include "object_types.h"

#include <stdlib.h>
#include <string.h>
#include <synctop/dict.h>

#define ST_DICT_HANDLE_MAGIC 0x44494354u  /* "DICT" */

enum entry_state {
    ENTRY_EMPTY = 0,
    ENTRY_USED = 1,
    ENTRY_DELETED = 2,  /* a tombstone */
};

typedef struct dict_entry {
    uint32_t state;             /* enum entry_state */
    uint32_t hash;
    uint16_t key_len;
    uint16_t value_len;
    char key[ST_DICT_KEY_MAX + 1];
    unsigned char value[ST_DICT_VALUE_MAX];
} dict_entry;

typedef struct dict_body {
    st_lock_body lock;          /* the built-in lock */
    uint32_t capacity;          /* entries allowed */
    uint32_t slot_count;        /* hash slots: a power of two >= 2 x capacity */
    uint32_t entries;           /* USED slots */
    uint32_t tombstones;        /* DELETED slots */
    uint64_t segment_stamp;     /* names the data segment; 0 until it exists */
    uint64_t gets;
    uint64_t sets;
    uint64_t deletes;
    uint64_t misses;            /* gets and deletes of absent keys */
    uint64_t rehashes;          /* in-place rebuilds that cleared tombstones */
} dict_body;

_Static_assert(sizeof(dict_body) <= ST_OBJECT_BODY_SIZE, "dict body fits its slot");

struct st_dict {
    uint32_t magic;
    uint32_t index;
    uint32_t slot_count;
    st_table *table;
    st_object_slot *slot;
    dict_body *body;
    st_lock *lock;              /* handle on body->lock, owned */
    st_segment data;
    dict_entry *entries;        /* data.base */
};

static uint32_t slots_for(uint32_t capacity)
{
    uint32_t slots = 2;
    while (slots < 2 * capacity)
        slots *= 2;
    return slots;
}

static void dict_body_init(void *raw, const void *params)
{
    dict_body *b = raw;
    uint32_t capacity = *(const uint32_t *)params;
    st_lock_body_init(&b->lock);
    b->capacity = capacity;
    b->slot_count = slots_for(capacity);
}

static const char *dict_name(const st_dict *dict)
{
    return dict->slot->header.name;
}

static bool dict_handle_valid(const st_dict *dict)
{
    return dict && dict->magic == ST_DICT_HANDLE_MAGIC;
}

static uint32_t hash_key(const char *key, size_t len)
{
    uint32_t h = 2166136261u;   /* FNV-1a, 32 bits */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 16777619u;
    }
    return h;
}

/* ---- the hash table (caller holds the lock) ---- */

/* The slot holding key, or UINT32_MAX; *insert_at gets where a new key
 * would go (the first tombstone on the way, else the empty slot). */
static uint32_t probe(const st_dict *dict, const char *key, size_t len, uint32_t hash, uint32_t *insert_at)
{
    uint32_t mask = dict->slot_count - 1;
    uint32_t first_free = UINT32_MAX;
    for (uint32_t n = 0, pos = hash & mask; n < dict->slot_count; n++, pos = (pos + 1) & mask) {
        const dict_entry *e = &dict->entries[pos];
        if (e->state == ENTRY_EMPTY) {
            if (first_free == UINT32_MAX)
                first_free = pos;
            break;
        }
        if (e->state == ENTRY_DELETED) {
            if (first_free == UINT32_MAX)
                first_free = pos;
            continue;
        }
        if (e->hash == hash && e->key_len == len && memcmp(e->key, key, len) == 0)
            return pos;
    }
    if (insert_at)
        *insert_at = first_free;
    return UINT32_MAX;
}

/* Rebuild the table without tombstones. The live entries go through a
 * private copy; without memory we keep the tombstones (still correct). */
static void rehash(st_dict *dict)
{
    dict_body *b = dict->body;
    uint32_t live = 0;
    dict_entry *copy = malloc((size_t)(b->entries ? b->entries : 1) * sizeof *copy);
    if (!copy)
        return;
    for (uint32_t i = 0; i < dict->slot_count && live < b->entries; i++)
        if (dict->entries[i].state == ENTRY_USED)
            copy[live++] = dict->entries[i];
    for (uint32_t i = 0; i < dict->slot_count; i++)
        dict->entries[i].state = ENTRY_EMPTY;
    for (uint32_t i = 0; i < live; i++) {
        uint32_t at = UINT32_MAX;
        probe(dict, copy[i].key, copy[i].key_len, copy[i].hash, &at);
        dict->entries[at] = copy[i];
    }
    free(copy);
    ST_STORE(b->entries, live);
    ST_STORE(b->tombstones, 0u);
    ST_BUMP(b->rehashes, 1u);
}

/* After a holder died: trust only the entry states. */
static void recount(st_dict *dict)
{
    uint32_t used = 0, deleted = 0;
    for (uint32_t i = 0; i < dict->slot_count; i++) {
        used += dict->entries[i].state == ENTRY_USED;
        deleted += dict->entries[i].state == ENTRY_DELETED;
    }
    ST_STORE(dict->body->entries, used);
    ST_STORE(dict->body->tombstones, deleted);
}

static st_result dict_enter(st_dict *dict, bool *taken)
{
    st_result r = st_builtin_lock_enter(dict->lock, &dict->body->lock, taken);
    if (r == ST_EOWNERDEAD)
        recount(dict);
    return r;
}

/* ---- open / close ---- */

static st_result dict_map_data(st_dict *dict)
{
    dict_body *b = dict->body;
    size_t size = (size_t)dict->slot_count * sizeof(dict_entry);
    bool created;
    if (__atomic_load_n(&b->segment_stamp, __ATOMIC_ACQUIRE) != 0)
        return st_object_segment_open(dict->table, dict->index, "dict", &b->segment_stamp, size, &dict->data,
                                      &created);
    bool taken;
    st_result locked = st_builtin_lock_enter(dict->lock, &b->lock, &taken);
    if (locked != ST_OK && locked != ST_EOWNERDEAD)
        return locked;
    st_result r = st_object_segment_open(dict->table, dict->index, "dict", &b->segment_stamp, size, &dict->data,
                                         &created);
    if (r == ST_OK && locked == ST_EOWNERDEAD && !created) {
        dict->entries = dict->data.base;
        recount(dict);   /* a writer died holding the lock */
    }
    st_builtin_lock_leave(dict->lock, taken);
    return r;
}

st_result st_dict_open(st_table *table, const char *name, size_t capacity, st_dict **out)
{
    if (!out)
        return st_fail(ST_EINVAL, "st_dict_open: out is NULL");
    *out = NULL;
    if (capacity == 0 || capacity > ST_DICT_MAX_CAPACITY)
        return st_fail(ST_EINVAL, "st_dict_open: capacity %zu is not between 1 and %u entries", capacity,
                       ST_DICT_MAX_CAPACITY);
    uint32_t params = (uint32_t)capacity;
    uint32_t index;
    st_result r = st_object_open(table, ST_TYPE_DICT, name, dict_body_init, &params, &index);
    if (r != ST_OK)
        return r;
    dict_body *body = (dict_body *)table->objects[index].body.raw;
    uint32_t slot_count = body->slot_count;
    if (body->capacity == 0 || body->capacity > ST_DICT_MAX_CAPACITY || slot_count != slots_for(body->capacity))
        return st_fail(ST_ECORRUPT, "dict '%s' in session '%s' has an invalid shape (capacity %u, %u slots)", name,
                       table->session, body->capacity, slot_count);
    st_dict *dict = calloc(1, sizeof *dict);
    if (!dict)
        return st_fail(ST_ENOMEM, "out of memory for a dict handle");
    r = st_lock_handle_for_body(table, index, &body->lock, &dict->lock);
    if (r != ST_OK) {
        free(dict);
        return r;
    }
    dict->magic = ST_DICT_HANDLE_MAGIC;
    dict->index = index;
    dict->slot_count = slot_count;
    dict->table = table;
    dict->slot = &table->objects[index];
    dict->body = body;
    r = dict_map_data(dict);
    if (r != ST_OK) {
        st_lock_close(dict->lock);
        free(dict);
        return r;
    }
    dict->entries = dict->data.base;
    *out = dict;
    return ST_OK;
}

void st_dict_close(st_dict *dict)
{
    if (!dict_handle_valid(dict))
        return;
    st_segment_close(&dict->data);
    st_lock_close(dict->lock);
    dict->magic = 0;
    free(dict);
}

st_result st_dict_get_lock(st_dict *dict, st_lock **lock)
{
    if (!dict_handle_valid(dict))
        return st_fail(ST_EINVAL, "st_dict_get_lock: invalid dict handle");
    if (!lock)
        return st_fail(ST_EINVAL, "st_dict_get_lock: lock is NULL");
    *lock = dict->lock;
    return ST_OK;
}

/* ---- the calls ---- */

static st_result check_key(const st_dict *dict, const char *key, size_t *len, const char *call)
{
    if (!dict_handle_valid(dict))
        return st_fail(ST_EINVAL, "%s: invalid dict handle", call);
    if (!key)
        return st_fail(ST_EINVAL, "%s: key is NULL", call);
    *len = strnlen(key, ST_DICT_KEY_MAX + 1);
    if (*len == 0)
        return st_fail(ST_EINVAL, "%s: key is empty", call);
    if (*len > ST_DICT_KEY_MAX)
        return st_fail(ST_ENAMETOOLONG, "%s: key '%.20s...' is longer than %d bytes", call, key, ST_DICT_KEY_MAX);
    return ST_OK;
}

st_result st_dict_set(st_dict *dict, const char *key, const void *value, size_t size)
{
    size_t len;
    st_result r = check_key(dict, key, &len, "st_dict_set");
    if (r != ST_OK)
        return r;
    if (size > ST_DICT_VALUE_MAX)
        return st_fail(ST_EOVERFLOW, "st_dict_set: a value of %zu bytes for key '%s' is over the limit of %d bytes",
                       size, key, ST_DICT_VALUE_MAX);
    if (size > 0 && !value)
        return st_fail(ST_EINVAL, "st_dict_set: value is NULL");
    uint32_t hash = hash_key(key, len);
    bool taken;
    r = dict_enter(dict, &taken);
    if (r != ST_OK && r != ST_EOWNERDEAD)
        return r;
    dict_body *b = dict->body;
    uint32_t at = UINT32_MAX;
    uint32_t pos = probe(dict, key, len, hash, &at);
    if (pos != UINT32_MAX) {
        dict_entry *e = &dict->entries[pos];
        if (size)
            memcpy(e->value, value, size);
        e->value_len = (uint16_t)size;
    } else if (b->entries >= b->capacity || at == UINT32_MAX) {
        uint32_t capacity = b->capacity;
        st_builtin_lock_leave(dict->lock, taken);
        return st_fail(ST_EFULL, "dict '%s' is full: all %u entries are used (delete some, or create it with a "
                       "larger capacity); key '%s' was not added", dict_name(dict), capacity, key);
    } else {
        dict_entry *e = &dict->entries[at];
        bool reused_tombstone = e->state == ENTRY_DELETED;
        e->hash = hash;
        e->key_len = (uint16_t)len;
        memcpy(e->key, key, len);
        e->key[len] = '\0';
        if (size)
            memcpy(e->value, value, size);
        e->value_len = (uint16_t)size;
        __atomic_store_n(&e->state, (uint32_t)ENTRY_USED, __ATOMIC_RELEASE);
        ST_STORE(b->entries, b->entries + 1);
        if (reused_tombstone)
            ST_STORE(b->tombstones, b->tombstones - 1);
        else if ((uint64_t)(b->entries + b->tombstones) * 4 > (uint64_t)dict->slot_count * 3)
            rehash(dict);
    }
    ST_BUMP(b->sets, 1u);
    if (st_object_traced(dict->slot))
        st_event_log(dict->table, dict->index, ST_OP_SET, ST_OK, 0, (int64_t)b->entries);
    st_builtin_lock_leave(dict->lock, taken);
    return r;
}

st_result st_dict_get(st_dict *dict, const char *key, void *out, size_t out_size, size_t *size)
{
    size_t len;
    st_result r = check_key(dict, key, &len, "st_dict_get");
    if (r != ST_OK)
        return r;
    if (!out && out_size > 0)
        return st_fail(ST_EINVAL, "st_dict_get: out is NULL");
    uint32_t hash = hash_key(key, len);
    bool taken;
    r = dict_enter(dict, &taken);
    if (r != ST_OK && r != ST_EOWNERDEAD)
        return r;
    dict_body *b = dict->body;
    ST_BUMP(b->gets, 1u);
    uint32_t pos = probe(dict, key, len, hash, NULL);
    st_result outcome = r;
    if (pos == UINT32_MAX) {
        ST_BUMP(b->misses, 1u);
        outcome = st_fail(ST_ENOENT, "dict '%s' has no key '%s'", dict_name(dict), key);
    } else {
        const dict_entry *e = &dict->entries[pos];
        size_t value_len = e->value_len <= ST_DICT_VALUE_MAX ? e->value_len : ST_DICT_VALUE_MAX;
        if (size)
            *size = value_len;
        if (value_len > out_size)
            outcome = st_fail(ST_EOVERFLOW, "dict '%s': the value of key '%s' has %zu bytes, more than the %zu "
                              "offered", dict_name(dict), key, value_len, out_size);
        else if (value_len)
            memcpy(out, e->value, value_len);
    }
    if (st_object_traced(dict->slot))
        st_event_log(dict->table, dict->index, ST_OP_GET, pos == UINT32_MAX ? ST_ENOENT : ST_OK, 0,
                     (int64_t)b->entries);
    st_builtin_lock_leave(dict->lock, taken);
    return outcome;
}

st_result st_dict_delete(st_dict *dict, const char *key)
{
    size_t len;
    st_result r = check_key(dict, key, &len, "st_dict_delete");
    if (r != ST_OK)
        return r;
    uint32_t hash = hash_key(key, len);
    bool taken;
    r = dict_enter(dict, &taken);
    if (r != ST_OK && r != ST_EOWNERDEAD)
        return r;
    dict_body *b = dict->body;
    uint32_t pos = probe(dict, key, len, hash, NULL);
    st_result outcome = r;
    if (pos == UINT32_MAX) {
        ST_BUMP(b->misses, 1u);
        outcome = st_fail(ST_ENOENT, "dict '%s' has no key '%s' to delete", dict_name(dict), key);
    } else {
        __atomic_store_n(&dict->entries[pos].state, (uint32_t)ENTRY_DELETED, __ATOMIC_RELEASE);
        ST_STORE(b->entries, b->entries - 1);
        ST_STORE(b->tombstones, b->tombstones + 1);
        ST_BUMP(b->deletes, 1u);
    }
    if (st_object_traced(dict->slot))
        st_event_log(dict->table, dict->index, ST_OP_CLEAR, pos == UINT32_MAX ? ST_ENOENT : ST_OK, 0,
                     (int64_t)b->entries);
    st_builtin_lock_leave(dict->lock, taken);
    return outcome;
}

st_result st_dict_size(st_dict *dict, size_t *entries)
{
    if (!dict_handle_valid(dict))
        return st_fail(ST_EINVAL, "st_dict_size: invalid dict handle");
    if (!entries)
        return st_fail(ST_EINVAL, "st_dict_size: entries is NULL");
    *entries = ST_LOAD(dict->body->entries);
    return ST_OK;
}

st_result st_dict_items(st_dict *dict, st_dict_item *items, size_t max, size_t *count)
{
    if (!dict_handle_valid(dict))
        return st_fail(ST_EINVAL, "st_dict_items: invalid dict handle");
    if (!count || (max > 0 && !items))
        return st_fail(ST_EINVAL, "st_dict_items: NULL output");
    bool taken;
    st_result r = dict_enter(dict, &taken);
    if (r != ST_OK && r != ST_EOWNERDEAD)
        return r;
    size_t copied = 0;
    for (uint32_t i = 0; i < dict->slot_count && copied < max; i++) {
        const dict_entry *e = &dict->entries[i];
        if (e->state != ENTRY_USED)
            continue;
        st_dict_item *item = &items[copied++];
        size_t key_len = e->key_len <= ST_DICT_KEY_MAX ? e->key_len : ST_DICT_KEY_MAX;
        memcpy(item->key, e->key, key_len);
        item->key[key_len] = '\0';
        item->size = e->value_len <= ST_DICT_VALUE_MAX ? e->value_len : ST_DICT_VALUE_MAX;
        memcpy(item->value, e->value, item->size);
    }
    *count = dict->body->entries;
    st_builtin_lock_leave(dict->lock, taken);
    return r;
}

/* ---- the viewer's side ---- */

unsigned st_dict_data_segments(const st_table *table, uint32_t index, const void *raw, st_segment_names names)
{
    const dict_body *body = raw;
    return body->segment_stamp != 0 && st_segment_name(table, "dict", index, body->segment_stamp, names[0]) == ST_OK;
}

void st_dict_describe(const void *raw, const st_clock_calibration *clock, st_object_view *view)
{
    const dict_body *b = raw;
    st_field_u64(view, "entries", b->entries, 0);
    st_field_u64(view, "capacity", b->capacity, 0);
    st_field_u64(view, "gets", b->gets, ST_FIELD_COUNTER);
    st_field_u64(view, "sets", b->sets, ST_FIELD_COUNTER);
    st_field_u64(view, "deletes", b->deletes, ST_FIELD_COUNTER);
    st_field_u64(view, "misses", b->misses, ST_FIELD_COUNTER);
    st_field_u64(view, "rehashes", b->rehashes, ST_FIELD_COUNTER);
    st_lock_describe_body(&b->lock, clock, view);
}
