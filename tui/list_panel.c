/* list_panel.c - curses drawing of one list section (see list_panel.h).
 *
 * Only what is on screen is formatted: a table of thousands of objects
 * costs its visible rows per frame. Colours, in order of precedence: the
 * selected row (one colour for the whole row, so the cursor is always
 * visible), a cell's own severity (contention, fill, wait), the row's
 * severity (a starving process, a leaked region), unknown cells dimmed.
 */
#include "config.h"

#include "list_panel.h"

#include <stdio.h>
#include <string.h>

#include "i18n.h"
#include "screen.h"

#define MAX_VISIBLE_COLUMNS 32

static void draw_header(const list_section *section, int y, int width, const size_t *visible, const int *x,
                        const int *w, size_t count)
{
    const section_spec *spec = section->spec;
    screen_fill(y, 0, width, screen_attr(ROLE_COLUMN_HEADER));
    for (size_t i = 0; i < count; i++) {
        const column_spec *column = &spec->columns[visible[i]];
        const char *column_title = _(column->title);   /* in the user's language */
        bool sorted = visible[i] == section->sort_column;
        const char *mark = sorted ? (section->sort_descending ? screen_glyph_sort_down() : screen_glyph_sort_up()) : "";
        /* No room for the mark beside a full-width title: the header's
         * colour (reverse bold without colours) marks the column alone. */
        if (screen_text_width(column_title) + 1 > w[i])
            mark = "";
        char title[64];
        /* The mark goes next to the title, on the side the figures align to. */
        if (column_is_numeric(column))
            snprintf(title, sizeof title, "%s%s", mark, column_title);
        else
            snprintf(title, sizeof title, "%s%s", column_title, mark);
        int title_width = screen_text_width(title);
        int at = x[i];
        if (column_is_numeric(column) && title_width < w[i])
            at += w[i] - title_width;
        attr_t attributes = screen_attr(sorted ? ROLE_COLUMN_SORTED : ROLE_COLUMN_HEADER);
        if (sorted)
            screen_fill(y, x[i], w[i], attributes);
        screen_put(y, at, w[i] - (at - x[i]), attributes, title);
    }
}

static void draw_row(const list_section *section, const list_row *row, const dataset *data, int y, int width,
                     bool selected, const size_t *visible, const int *x, const int *w, size_t count)
{
    const section_spec *spec = section->spec;
    severity row_level = spec->row_severity ? spec->row_severity(row) : SEVERITY_NORMAL;
    attr_t row_attributes = selected ? screen_attr(ROLE_SELECTED) : screen_attr(screen_role_of(row_level));
    if (selected)
        screen_fill(y, 0, width, row_attributes);
    for (size_t i = 0; i < count; i++) {
        const column_spec *column = &spec->columns[visible[i]];
        cell_value value;
        column_value(column, row, data, &value);
        char text[CELL_TEXT_BYTES + 256];
        column_format_cell(column, &value, w[i], text, sizeof text);
        attr_t attributes = row_attributes;
        if (!selected) {
            severity level = column_severity(column, &value);
            if (level != SEVERITY_NORMAL)
                attributes = screen_attr(screen_role_of(level));
            else if (!value.known && row_level == SEVERITY_NORMAL)
                attributes = screen_attr(ROLE_DIM);
        }
        screen_put(y, x[i], w[i], attributes, text);
    }
}

void list_panel_draw(list_section *section, const dataset *data, int y, int height, int width, long selected)
{
    if (height <= 0)
        return;
    size_t visible[MAX_VISIBLE_COLUMNS];
    int x[MAX_VISIBLE_COLUMNS], w[MAX_VISIBLE_COLUMNS];
    const section_spec *spec = section->spec;
    if (spec->column_count > MAX_VISIBLE_COLUMNS)
        return;
    size_t count = list_layout_columns(spec, width, visible, x, w);
    draw_header(section, y, width, visible, x, w, count);

    size_t rows_on_screen = (size_t)(height - 1);
    if (selected >= 0) {
        if ((size_t)selected < section->scroll)
            section->scroll = (size_t)selected;
        else if ((size_t)selected >= section->scroll + rows_on_screen)
            section->scroll = (size_t)selected - rows_on_screen + 1;
    }
    if (section->row_count <= rows_on_screen)
        section->scroll = 0;
    else if (section->scroll > section->row_count - rows_on_screen)
        section->scroll = section->row_count - rows_on_screen;

    for (size_t r = 0; r < rows_on_screen && section->scroll + r < section->row_count; r++) {
        size_t index = section->scroll + r;
        draw_row(section, &section->rows[index], data, y + 1 + (int)r, width, (long)index == selected, visible,
                 x, w, count);
    }
}

long list_panel_column_at(const section_spec *spec, int width, int at)
{
    size_t visible[MAX_VISIBLE_COLUMNS];
    int x[MAX_VISIBLE_COLUMNS], w[MAX_VISIBLE_COLUMNS];
    if (spec->column_count > MAX_VISIBLE_COLUMNS)
        return -1;
    size_t count = list_layout_columns(spec, width, visible, x, w);
    for (size_t i = 0; i < count; i++)
        if (at >= x[i] && at <= x[i] + w[i])
            return (long)visible[i];
    return -1;
}
