/* history.h - the recent past of every process and object, for sparklines.
 *
 * The model only knows the present; the dashboard keeps, per item, a ring
 * of the last N samples of the one figure that matters for its kind (CPU
 * for a process, wait time for a lock, depth for a queue ...). Items are
 * keyed by what identifies them across refreshes: an object by (slot index,
 * creation time), a process by (slot index, pid, start time), so a slot
 * reused by another object starts a new history.
 *
 * Recording goes in rounds, one per refresh: items not recorded in a round
 * are forgotten at its end, so the history never outgrows the session.
 * Pure C, no curses.
 */
#ifndef SYNCTOP_TUI_HISTORY_H
#define SYNCTOP_TUI_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum history_kind { HISTORY_PROCESS = 1, HISTORY_OBJECT = 2 } history_kind;

typedef struct history_key {
    history_kind kind;
    uint32_t index;     /* slot index */
    int64_t pid;        /* processes: the pid; objects: 0 */
    uint64_t stamp;     /* objects: created_ns; processes: start ticks */
} history_key;

typedef struct history history;

/* A history keeping the last capacity samples per item (capacity >= 1).
 * NULL when out of memory. */
history *history_new(size_t capacity);
void history_free(history *h);

size_t history_capacity(const history *h);

/* One refresh's samples: begin, record each item, end (forgets the items
 * not recorded since begin). */
void history_begin_round(history *h);
bool history_record(history *h, const history_key *key, double value);
void history_end_round(history *h);

/* The item's samples, oldest first, at most max of the newest; returns how
 * many (0 for an unknown item). */
size_t history_get(const history *h, const history_key *key, double *out, size_t max);

/* How many items are remembered. */
size_t history_item_count(const history *h);

/* Draw the last width values (oldest first in values[0..count)) as a
 * sparkline scaled from min(0, lowest) to the highest value: eight levels,
 * Unicode blocks (3 bytes each) or, in ASCII, the characters "_.-:=+*#".
 * Fewer values than width are right-aligned (the newest at the right end),
 * with blanks before them. out gets a NUL-terminated string (it needs
 * width * 3 + 1 bytes for Unicode); returns the number of screen columns. */
size_t sparkline_render(const double *values, size_t count, size_t width, bool ascii, char *out,
                        size_t out_size);

#endif
