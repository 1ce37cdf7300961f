/* views.h - the dashboard's view table: which views exist, which tables
 * (sections) each one shows, and with which columns.
 *
 * Everything here is data plus a few small derive functions (contention %,
 * "pid name" of a holder, a queue's fill): the generic list (list_view.h)
 * sorts, filters and searches them, list_panel.c draws them, help.c
 * explains them. Adding a primitive to the dashboard means adding one
 * section here and naming it in a view. No curses.
 */
#ifndef SYNCTOP_TUI_VIEWS_H
#define SYNCTOP_TUI_VIEWS_H

#include <stdbool.h>
#include <stddef.h>

#include "list_view.h"

#define VIEW_MAX_SECTIONS 16

typedef struct view_spec {
    const char *name;                /* "Locks", on the tab line and in help */
    const char *short_name;          /* for narrow terminals */
    const char *description;         /* one line for the help screen */
    const section_spec *const *sections;
    size_t section_count;
} view_spec;

/* The views in tab order: 0 is the overview (every section, busiest rows
 * first, sections without rows hidden), then one view per kind. */
size_t views_count(void);
const view_spec *views_get(size_t index);

/* The figure the detail view graphs for a row (CPU for a process, wait time
 * for a lock, depth for a queue, value for values and semaphores ...), as a
 * column whose title names it. */
const column_spec *views_key_figure(const list_row *row);

/* The section that lists rows like row (for a detail view's title). */
const section_spec *views_section_of(const list_row *row);

#endif
