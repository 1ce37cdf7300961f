/* list_view.c - rows, order, filter, search and layout of a generic list
 * (see list_view.h).
 *
 * Sorting computes each row's key once (a cell_value), then sorts indices
 * with the original position as the last tie-breaker: a stable order, so
 * rows with equal figures do not swap places on every refresh (which would
 * make the screen flicker and the selection jump). Unknown figures sort
 * after known ones in both directions: "-" never tops a table.
 *
 * Filtering and searching look at the text of every column as it would be
 * printed without width limits, so what matches is what a person can read
 * on screen ("blocked", "queue", a pid, "leaked"...).
 */
#include "config.h"

#include "list_view.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void list_section_init(list_section *section, const section_spec *spec)
{
    memset(section, 0, sizeof *section);
    section->spec = spec;
    section->sort_column = spec->sort_column < spec->column_count ? spec->sort_column : 0;
    section->sort_descending = spec->sort_descending;
}

void list_section_free(list_section *section)
{
    free(section->rows);
    section->rows = NULL;
    section->row_count = section->row_alloc = 0;
}

bool list_row_is_of(const section_spec *spec, const list_row *row)
{
    if (spec->accepts != NULL)
        return row->object != NULL && spec->accepts(row);
    if (spec->types == NULL)
        return row->process != NULL;
    if (row->object == NULL || row->object->type_name == NULL)
        return false;
    for (const char *const *type = spec->types; *type != NULL; type++)
        if (strcmp(*type, row->object->type_name) == 0)
            return true;
    return false;
}

/* strcasestr without needing _GNU_SOURCE's version semantics. */
static bool contains_ignoring_case(const char *haystack, const char *needle)
{
    size_t length = strlen(needle);
    if (length == 0)
        return true;
    for (; *haystack != '\0'; haystack++) {
        size_t i = 0;
        while (i < length && haystack[i] != '\0' &&
               tolower((unsigned char)haystack[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == length)
            return true;
    }
    return false;
}

bool list_row_matches(const section_spec *spec, const list_row *row, const dataset *data,
                      const char *needle)
{
    if (needle == NULL || needle[0] == '\0')
        return true;
    char text[CELL_TEXT_BYTES + 32];
    for (size_t c = 0; c < spec->column_count; c++) {
        cell_value value;
        column_value(&spec->columns[c], row, data, &value);
        column_format_cell(&spec->columns[c], &value, 0, text, sizeof text);
        if (contains_ignoring_case(text, needle))
            return true;
    }
    /* The name and type even where no column shows them. */
    if (row->object != NULL)
        return contains_ignoring_case(row->object->name, needle) ||
               (row->object->type_name && contains_ignoring_case(row->object->type_name, needle));
    return contains_ignoring_case(row->process->name, needle) ||
           contains_ignoring_case(row->process->role, needle);
}

/* ---- sorting ------------------------------------------------------------- */

typedef struct sort_key {
    cell_value value;
    size_t position;
} sort_key;

typedef struct sort_context {
    const column_spec *column;
    bool descending;
} sort_context;

static int compare_keys(const void *a, const void *b, void *context_pointer)
{
    const sort_key *x = a, *y = b;
    const sort_context *context = context_pointer;
    int order = column_compare(context->column, &x->value, &y->value);
    /* Unknown cells stay last: only flip the order between known ones. */
    if (context->descending && x->value.known && y->value.known)
        order = -order;
    if (order != 0)
        return order;
    return (x->position > y->position) - (x->position < y->position);
}

bool list_sort_rows(list_row *rows, size_t count, const column_spec *column, bool descending,
                    const dataset *data)
{
    if (count < 2)
        return true;
    sort_key *keys = malloc(count * sizeof *keys);
    list_row *sorted = malloc(count * sizeof *sorted);
    if (keys == NULL || sorted == NULL) {
        free(keys);
        free(sorted);
        return false;
    }
    for (size_t i = 0; i < count; i++) {
        column_value(column, &rows[i], data, &keys[i].value);
        keys[i].position = i;
    }
    sort_context context = { column, descending };
    qsort_r(keys, count, sizeof *keys, compare_keys, &context);
    for (size_t i = 0; i < count; i++)
        sorted[i] = rows[keys[i].position];
    memcpy(rows, sorted, count * sizeof *rows);
    free(keys);
    free(sorted);
    return true;
}

/* ---- building a section -------------------------------------------------- */

static bool append_row(list_section *section, list_row row)
{
    if (section->row_count == section->row_alloc) {
        size_t alloc = section->row_alloc ? section->row_alloc * 2 : 32;
        list_row *rows = realloc(section->rows, alloc * sizeof *rows);
        if (rows == NULL)
            return false;
        section->rows = rows;
        section->row_alloc = alloc;
    }
    section->rows[section->row_count++] = row;
    return true;
}

bool list_section_build(list_section *section, const dataset *data, const char *filter)
{
    const section_spec *spec = section->spec;
    section->row_count = 0;
    section->unfiltered_count = 0;
    bool processes = spec->types == NULL && spec->accepts == NULL;
    size_t candidates = processes ? data->process_count : data->object_count;
    for (size_t i = 0; i < candidates; i++) {
        list_row row = { 0 };
        if (processes)
            row.process = data->processes[i];
        else
            row.object = data->objects[i];
        if (!list_row_is_of(spec, &row))
            continue;
        section->unfiltered_count++;
        if (!list_row_matches(spec, &row, data, filter))
            continue;
        if (!append_row(section, row)) {
            section->row_count = 0;
            return false;
        }
    }
    if (section->sort_column >= spec->column_count)
        section->sort_column = 0;
    if (spec->column_count > 0 &&
        !list_sort_rows(section->rows, section->row_count, &spec->columns[section->sort_column],
                        section->sort_descending, data)) {
        section->row_count = 0;
        return false;
    }
    if (section->scroll >= section->row_count)
        section->scroll = section->row_count > 0 ? section->row_count - 1 : 0;
    return true;
}

long list_section_search(const list_section *section, const dataset *data, const char *needle,
                         size_t from)
{
    size_t count = section->row_count;
    if (count == 0)
        return -1;
    for (size_t step = 0; step < count; step++) {
        size_t i = (from + step) % count;
        if (list_row_matches(section->spec, &section->rows[i], data, needle))
            return (long)i;
    }
    return -1;
}

bool list_row_same(const list_row *a, const list_row *b)
{
    if (a->process != NULL && b->process != NULL)
        return a->process->pid == b->process->pid && a->process->start_ticks == b->process->start_ticks;
    if (a->object != NULL && b->object != NULL)
        return a->object->index == b->object->index && a->object->created_ns == b->object->created_ns;
    return false;
}

long list_section_find(const list_section *section, const list_row *row)
{
    for (size_t i = 0; i < section->row_count; i++)
        if (list_row_same(&section->rows[i], row))
            return (long)i;
    return -1;
}

/* ---- layout -------------------------------------------------------------- */

size_t list_layout_columns(const section_spec *spec, int width, size_t *visible, int *x, int *w)
{
    /* Drop the least important columns until the rest fit. */
    int max_priority = 0;
    for (size_t c = 0; c < spec->column_count; c++)
        if (spec->columns[c].priority > max_priority)
            max_priority = spec->columns[c].priority;
    int keep = max_priority;
    for (; keep > 0; keep--) {
        int needed = -1;
        for (size_t c = 0; c < spec->column_count; c++)
            if (spec->columns[c].priority <= keep)
                needed += spec->columns[c].width + 1;
        if (needed <= width)
            break;
    }
    size_t count = 0;
    int used = -1;
    for (size_t c = 0; c < spec->column_count; c++) {
        if (spec->columns[c].priority > keep)
            continue;
        if (used + 1 + spec->columns[c].width > width && count > 0)
            break;   /* even the essential columns do not fit: cut at the edge */
        visible[count] = c;
        w[count] = spec->columns[c].width;
        used += 1 + w[count];
        count++;
    }
    /* Spare width to the growing column (or nobody). */
    int spare = width - used;
    if (spare > 0) {
        for (size_t i = 0; i < count; i++) {
            if (spec->columns[visible[i]].grow) {
                w[i] += spare;
                break;
            }
        }
    }
    int at = 0;
    for (size_t i = 0; i < count; i++) {
        if (at + w[i] > width)
            w[i] = width - at > 0 ? width - at : 0;
        x[i] = at;
        at += w[i] + 1;
    }
    return count;
}

void list_layout_sections(const size_t *rows, size_t count, size_t focus, int height, int *heights)
{
    int left = height;
    for (size_t i = 0; i < count; i++)
        heights[i] = 0;
    if (focus < count && rows[focus] > 0 && left >= 2) {
        heights[focus] = 2;
        left -= 2;
    }
    /* A header and one row each, in order, while there is room. */
    for (size_t i = 0; i < count && left >= 2; i++) {
        if (heights[i] > 0)
            continue;
        if (rows[i] == 0)
            continue;
        heights[i] = 2;
        left -= 2;
    }
    /* Then one more row at a time to each section still hiding rows. */
    bool gave = true;
    while (left > 0 && gave) {
        gave = false;
        for (size_t i = 0; i < count && left > 0; i++) {
            if (heights[i] > 0 && (size_t)(heights[i] - 1) < rows[i]) {
                heights[i]++;
                left--;
                gave = true;
            }
        }
    }
}
