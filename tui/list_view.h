/* list_view.h - the generic list: which rows a table shows, in what order,
 * which of them pass the filter, where a search lands, and which columns
 * fit on the screen. Written once for every table of the dashboard.
 *
 * A section_spec says what a table is (which rows, which columns, the
 * initial order); a list_section is one table's state on screen (its
 * current rows, sort column and scroll). A view is one or more sections
 * (views.h). Pure functions, no curses: list_panel.c draws a section.
 */
#ifndef SYNCTOP_TUI_LIST_VIEW_H
#define SYNCTOP_TUI_LIST_VIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "columns.h"

typedef struct section_spec {
    const char *title;              /* "Locks": the help screen's name for it */
    const char *const *types;       /* object type names, NULL-terminated; NULL: processes */
    bool (*accepts)(const list_row *row);   /* instead of types, when set: which objects */
    const column_spec *columns;
    size_t column_count;
    size_t sort_column;             /* the initial order: busiest first */
    bool sort_descending;
    /* Optional: a colour for the whole row (a starving process, a leak). */
    severity (*row_severity)(const list_row *row);
} section_spec;

typedef struct list_section {
    const section_spec *spec;
    list_row *rows;                 /* filtered and sorted */
    size_t row_count;
    size_t row_alloc;
    size_t unfiltered_count;        /* rows before the filter */
    size_t sort_column;
    bool sort_descending;
    size_t scroll;                  /* first row on screen */
} list_section;

void list_section_init(list_section *section, const section_spec *spec);
void list_section_free(list_section *section);

/* Collect the rows of section's kind from data, keep those matching filter
 * (NULL or "" keeps all), sort them. False when out of memory (the section
 * is then empty). */
bool list_section_build(list_section *section, const dataset *data, const char *filter);

/* Sort rows by column (stable: equal rows keep their order). */
bool list_sort_rows(list_row *rows, size_t count, const column_spec *column, bool descending,
                    const dataset *data);

/* Whether a row belongs in a section of spec (its kind, its type). */
bool list_row_is_of(const section_spec *spec, const list_row *row);

/* Whether any cell of row (as text) contains needle, ignoring case. An
 * empty needle matches everything. */
bool list_row_matches(const section_spec *spec, const list_row *row, const dataset *data,
                      const char *needle);

/* The first row at or after from, wrapping around, that matches needle;
 * -1 when none does. */
long list_section_search(const list_section *section, const dataset *data, const char *needle,
                         size_t from);

/* Whether two rows show the same thing: a process (pid and start time) or
 * an object (slot index and creation time). */
bool list_row_same(const list_row *a, const list_row *b);

/* The row's position in the section, or -1. */
long list_section_find(const list_section *section, const list_row *row);

/* Which columns fit in width screen columns: the most important ones (by
 * priority, keeping their order), one space apart, the growing column
 * taking what is left. Fills visible[] (spec column indices), x[] and w[]
 * (position and width of each); returns how many. */
size_t list_layout_columns(const section_spec *spec, int width, size_t *visible, int *x, int *w);

/* Split height lines between sections with rows[i] rows each: every
 * section with rows gets a header line and at least one row while there is
 * room (the focus section first, so the selection is always on screen),
 * then spare lines go round-robin to sections with rows still hidden.
 * Sections without rows get 0. Writes heights[] (header included). */
void list_layout_sections(const size_t *rows, size_t count, size_t focus, int height, int *heights);

#endif
