/* history.c - per-item sample rings and sparklines (see history.h).
 *
 * Layout: an open-addressing hash table of entries (linear probing, at most
 * half full), each entry owning a ring of capacity doubles:
 *
 *   entries[slot] = { key, used, round, head, count, samples -> [c0 .. cN-1] }
 *                                          head: where the next sample goes
 *
 * history_end_round() rebuilds the table from the entries recorded in the
 * round (no tombstones to manage); a rebuild costs one pass, once per
 * refresh, which is nothing next to reading /proc.
 */
#include "config.h"

#include "history.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct history_entry {
    bool used;
    history_key key;
    uint64_t round;          /* the last round it was recorded in */
    size_t head;             /* next sample's position in the ring */
    size_t count;            /* samples held, <= capacity */
    double *samples;
} history_entry;

struct history {
    size_t capacity;         /* samples per item */
    history_entry *entries;
    size_t slots;            /* a power of two */
    size_t used;
    uint64_t round;
};

history *history_new(size_t capacity)
{
    if (capacity == 0)
        return NULL;
    history *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->capacity = capacity;
    h->slots = 64;
    h->entries = calloc(h->slots, sizeof *h->entries);
    if (h->entries == NULL) {
        free(h);
        return NULL;
    }
    h->round = 1;
    return h;
}

void history_free(history *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->slots; i++)
        free(h->entries[i].samples);
    free(h->entries);
    free(h);
}

size_t history_capacity(const history *h)
{
    return h ? h->capacity : 0;
}

static uint64_t hash_key(const history_key *key)
{
    /* FNV-1a over the fields (not the struct: padding is not ours to hash). */
    uint64_t hash = 1469598103934665603ull;
    uint64_t parts[4] = { (uint64_t)key->kind, key->index, (uint64_t)key->pid, key->stamp };
    for (size_t p = 0; p < 4; p++) {
        for (int byte = 0; byte < 8; byte++) {
            hash ^= (parts[p] >> (byte * 8)) & 0xff;
            hash *= 1099511628211ull;
        }
    }
    return hash;
}

static bool same_key(const history_key *a, const history_key *b)
{
    return a->kind == b->kind && a->index == b->index && a->pid == b->pid && a->stamp == b->stamp;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t find_slot(const history_entry *entries, size_t slots, const history_key *key)
{
    size_t slot = (size_t)hash_key(key) & (slots - 1);
    while (entries[slot].used && !same_key(&entries[slot].key, key))
        slot = (slot + 1) & (slots - 1);
    return slot;
}

/* Move the entries worth keeping into a table of slots slots. */
static bool rebuild(history *h, size_t slots, bool keep_all)
{
    history_entry *entries = calloc(slots, sizeof *entries);
    if (entries == NULL)
        return false;
    size_t used = 0;
    for (size_t i = 0; i < h->slots; i++) {
        history_entry *old = &h->entries[i];
        if (!old->used)
            continue;
        if (!keep_all && old->round != h->round) {
            free(old->samples);
            continue;
        }
        entries[find_slot(entries, slots, &old->key)] = *old;
        used++;
    }
    free(h->entries);
    h->entries = entries;
    h->slots = slots;
    h->used = used;
    return true;
}

void history_begin_round(history *h)
{
    if (h != NULL)
        h->round++;
}

bool history_record(history *h, const history_key *key, double value)
{
    if (h == NULL || key == NULL)
        return false;
    if ((h->used + 1) * 2 > h->slots && !rebuild(h, h->slots * 2, true))
        return false;
    size_t slot = find_slot(h->entries, h->slots, key);
    history_entry *entry = &h->entries[slot];
    if (!entry->used) {
        double *samples = malloc(h->capacity * sizeof *samples);
        if (samples == NULL)
            return false;
        *entry = (history_entry){ .used = true, .key = *key, .samples = samples };
        h->used++;
    }
    entry->round = h->round;
    entry->samples[entry->head] = isfinite(value) ? value : 0.0;
    entry->head = (entry->head + 1) % h->capacity;
    if (entry->count < h->capacity)
        entry->count++;
    return true;
}

void history_end_round(history *h)
{
    if (h == NULL)
        return;
    size_t slots = h->slots;
    /* Shrink when mostly empty, but never below the starting size. */
    size_t live = 0;
    for (size_t i = 0; i < h->slots; i++)
        if (h->entries[i].used && h->entries[i].round == h->round)
            live++;
    while (slots > 64 && live * 8 < slots)
        slots /= 2;
    if (live == h->used && slots == h->slots)
        return;   /* nothing to forget */
    rebuild(h, slots, false);
}

size_t history_get(const history *h, const history_key *key, double *out, size_t max)
{
    if (h == NULL || key == NULL || out == NULL)
        return 0;
    const history_entry *entry = &h->entries[find_slot(h->entries, h->slots, key)];
    if (!entry->used)
        return 0;
    size_t count = entry->count < max ? entry->count : max;
    /* The oldest of the newest count samples sits count places before head. */
    size_t start = (entry->head + h->capacity - count) % h->capacity;
    for (size_t i = 0; i < count; i++)
        out[i] = entry->samples[(start + i) % h->capacity];
    return count;
}

size_t history_item_count(const history *h)
{
    return h ? h->used : 0;
}

size_t sparkline_render(const double *values, size_t count, size_t width, bool ascii, char *out,
                        size_t out_size)
{
    static const char ascii_levels[] = "_.-:=+*#";
    static const char *const block_levels[] = {
        "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588",
    };
    if (out_size == 0)
        return 0;
    out[0] = '\0';
    size_t per_glyph = ascii ? 1 : 3;
    if (width > (out_size - 1) / per_glyph)
        width = (out_size - 1) / per_glyph;
    size_t shown = count < width ? count : width;
    const double *first = values + (count - shown);
    double low = 0.0, high = 0.0;
    for (size_t i = 0; i < shown; i++) {
        if (first[i] < low)
            low = first[i];
        if (first[i] > high)
            high = first[i];
    }
    size_t at = 0;
    for (size_t i = shown; i < width; i++)
        out[at++] = ' ';
    for (size_t i = 0; i < shown; i++) {
        int level = 0;
        if (high > low)
            level = (int)((first[i] - low) / (high - low) * 7.0 + 0.5);
        if (level < 0)
            level = 0;
        if (level > 7)
            level = 7;
        if (ascii) {
            out[at++] = ascii_levels[level];
        } else {
            memcpy(out + at, block_levels[level], 3);
            at += 3;
        }
    }
    out[at] = '\0';
    return width;
}
