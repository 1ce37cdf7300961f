/* columns.c - cell values, formatting, ordering and severity of columns
 * described as data (see columns.h).
 *
 * A cell is computed once per use into a cell_value (number, fill, text)
 * and formatted separately, so sorting compares numbers, not the text a
 * narrow column happens to show. Formatting never fails: a figure too wide
 * for its column is shortened ("12k"), then cut with a '+' at its end, so a
 * table never shifts.
 */
#include "config.h"

#include "columns.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "format.h"

const st_process_view *dataset_process(const dataset *data, pid_t pid)
{
    if (data == NULL || pid <= 0)
        return NULL;
    for (size_t i = 0; i < data->process_count; i++)
        if (data->processes[i]->pid == pid)
            return data->processes[i];
    return NULL;
}

void column_field_value(const st_field *field, bool rate, cell_value *out)
{
    memset(out, 0, sizeof *out);
    if (field == NULL)
        return;
    if (rate) {
        out->known = field->has_rate && isfinite(field->rate_per_s);
        out->number = out->known ? field->rate_per_s : 0.0;
        return;
    }
    switch (field->kind) {
    case ST_VALUE_U64:
        out->known = true;
        out->number = (double)field->value.u64;
        return;
    case ST_VALUE_I64:
        out->known = true;
        out->number = (double)field->value.i64;
        return;
    case ST_VALUE_DOUBLE:
        out->known = isfinite(field->value.f64);
        out->number = out->known ? field->value.f64 : 0.0;
        return;
    case ST_VALUE_PID:
        out->known = field->value.i64 != 0;
        out->number = (double)field->value.i64;
        return;
    case ST_VALUE_TEXT:
        out->known = field->value.text != NULL && field->value.text[0] != '\0';
        snprintf(out->text, sizeof out->text, "%s", out->known ? field->value.text : "");
        return;
    }
}

void column_value(const column_spec *column, const list_row *row, const dataset *data, cell_value *out)
{
    memset(out, 0, sizeof *out);
    if (column->derive != NULL) {
        column->derive(column, row, data, out);
        return;
    }
    if (column->field != NULL && row->object != NULL)
        column_field_value(st_object_field(row->object, column->field), column->rate, out);
}

char *format_compact(double value, char *buffer)
{
    double magnitude = value < 0 ? -value : value;
    if (!isfinite(value))
        snprintf(buffer, FORMAT_BUFFER_BYTES, "-");
    else if (magnitude < 0.05)
        snprintf(buffer, FORMAT_BUFFER_BYTES, "0");
    else if (magnitude < 9.95 && magnitude != floor(magnitude))
        snprintf(buffer, FORMAT_BUFFER_BYTES, "%.1f", value);
    else if (magnitude < 999.5)
        snprintf(buffer, FORMAT_BUFFER_BYTES, "%.0f", value);
    else if (magnitude < 9950)
        snprintf(buffer, FORMAT_BUFFER_BYTES, "%.1fk", value / 1e3);
    else if (magnitude < 999500)
        snprintf(buffer, FORMAT_BUFFER_BYTES, "%.0fk", value / 1e3);
    else if (magnitude < 9.95e6)
        snprintf(buffer, FORMAT_BUFFER_BYTES, "%.1fM", value / 1e6);
    else if (magnitude < 999.5e6)
        snprintf(buffer, FORMAT_BUFFER_BYTES, "%.0fM", value / 1e6);
    else
        snprintf(buffer, FORMAT_BUFFER_BYTES, "%.1fG", value / 1e9);
    return buffer;
}

bool column_is_numeric(const column_spec *column)
{
    return column->format != COLUMN_TEXT && column->format != COLUMN_BAR;
}

/* A whole number, or its compact form when it does not fit in width. */
static void format_count(double value, int width, char *out, size_t size)
{
    snprintf(out, size, "%.0f", value);
    if (width > 0 && (int)strlen(out) > width) {
        char compact[FORMAT_BUFFER_BYTES];
        snprintf(out, size, "%s", format_compact(value, compact));
    }
}

/* A double as a person reads it: whole numbers without decimals, others
 * with about four significant digits. */
static void format_decimal(double value, int width, char *out, size_t size)
{
    if (value == floor(value) && fabs(value) < 1e15) {
        format_count(value, width, out, size);
        return;
    }
    snprintf(out, size, "%.4g", value);
}

/* "[|||||     3/10]" in exactly width characters (at least 2). */
static void format_bar(const cell_value *value, int width, char *out, size_t size)
{
    if (width <= 0) {   /* natural form, for filters */
        snprintf(out, size, "%s", value->text);
        return;
    }
    if ((size_t)width + 1 > size)
        width = (int)size - 1;
    if (width < 2) {
        snprintf(out, size, "%.*s", width, value->text);
        return;
    }
    int inner = width - 2;
    double fill = value->fill < 0 ? 0 : value->fill > 1 ? 1 : value->fill;
    int bars = (int)(fill * inner + 0.5);
    if (fill > 0 && bars == 0)
        bars = 1;   /* anything at all shows */
    out[0] = '[';
    for (int i = 0; i < inner; i++)
        out[1 + i] = i < bars ? '|' : ' ';
    out[width - 1] = ']';
    out[width] = '\0';
    /* The label sits at the right end inside the brackets, over the bar. */
    size_t label = strlen(value->text);
    if (value->known && label > 0 && (int)label <= inner)
        memcpy(out + 1 + inner - label, value->text, label);
}

/* The natural text of a known numeric cell. */
static void format_number(const column_spec *column, const cell_value *value, int width, char *out,
                          size_t size)
{
    char unit[FORMAT_BUFFER_BYTES];
    double number = value->number;
    switch (column->format) {
    case COLUMN_COUNT:
        format_count(number, width, out, size);
        return;
    case COLUMN_RATE:
        snprintf(out, size, "%s", format_compact(number, unit));
        return;
    case COLUMN_DURATION:
        snprintf(out, size, "%s", format_duration_ns(number > 0 ? (uint64_t)number : 0, unit));
        return;
    case COLUMN_BYTES:
        snprintf(out, size, "%s", format_bytes(number > 0 ? (uint64_t)(number + 0.5) : 0, unit));
        return;
    case COLUMN_PERCENT:
        snprintf(out, size, number < 99.95 ? "%.1f" : "%.0f", number);
        return;
    case COLUMN_FLAG:
        snprintf(out, size, "%s", number != 0 ? "yes" : "-");
        return;
    case COLUMN_AUTO:
    case COLUMN_TEXT:
    case COLUMN_BAR:
        break;
    }
    format_decimal(number, width, out, size);
}

column_format column_format_for_field(const st_field *field)
{
    if (field == NULL)
        return COLUMN_AUTO;
    if (field->kind == ST_VALUE_TEXT)
        return COLUMN_TEXT;
    if (field->flags & ST_FIELD_DURATION)
        return COLUMN_DURATION;
    if (field->flags & ST_FIELD_BYTES)
        return COLUMN_BYTES;
    return field->kind == ST_VALUE_DOUBLE ? COLUMN_AUTO : COLUMN_COUNT;
}

/* COLUMN_AUTO shows text when the cell has some, else the number as a
 * person writes it (no decimals for whole numbers). */
void column_format_cell(const column_spec *column, const cell_value *value, int width, char *out,
                        size_t out_size)
{
    if (out_size == 0)
        return;
    if (width > 0 && (size_t)width + 1 > out_size)
        width = (int)out_size - 1;
    if (column->format == COLUMN_BAR) {
        format_bar(value, width, out, out_size);
        return;
    }
    char text[CELL_TEXT_BYTES + FORMAT_BUFFER_BYTES];
    if (!value->known)
        snprintf(text, sizeof text, "-");
    else if (column->format == COLUMN_TEXT || (column->format == COLUMN_AUTO && value->text[0] != '\0'))
        snprintf(text, sizeof text, "%s", value->text);
    else
        format_number(column, value, width, text, sizeof text);

    if (width <= 0) {
        snprintf(out, out_size, "%s", text);
        return;
    }
    bool numeric = column_is_numeric(column) && !(column->format == COLUMN_AUTO && value->text[0] != '\0');
    /* In display cells (a CJK name takes two a character); too wide: cut at
     * a character boundary, and say so with a '+' where the cut is. */
    format_pad_cells(text, width, numeric, '+', out, out_size);
}

int column_compare(const column_spec *column, const cell_value *a, const cell_value *b)
{
    if (a->known != b->known)
        return a->known ? -1 : 1;
    if (!a->known)
        return 0;
    bool textual = (column->format == COLUMN_TEXT && !column->sort_by_number) ||
                   (column->format == COLUMN_AUTO && (a->text[0] != '\0' || b->text[0] != '\0'));
    if (textual) {
        int order = strcasecmp(a->text, b->text);
        return order != 0 ? order : strcmp(a->text, b->text);
    }
    double x = column->format == COLUMN_BAR ? a->fill : a->number;
    double y = column->format == COLUMN_BAR ? b->fill : b->number;
    if (column->format == COLUMN_BAR && x == y) {
        x = a->number;   /* equal fill: the larger figure first */
        y = b->number;
    }
    return (x > y) - (x < y);
}

severity column_severity(const column_spec *column, const cell_value *value)
{
    if (!value->known)
        return SEVERITY_NORMAL;
    double figure = column->format == COLUMN_BAR ? value->fill : value->number;
    if (column->bad_at > 0 && figure >= column->bad_at)
        return SEVERITY_BAD;
    if (column->warn_at > 0 && figure >= column->warn_at)
        return SEVERITY_WARN;
    return SEVERITY_NORMAL;
}
