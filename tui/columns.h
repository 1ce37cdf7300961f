/* columns.h - a table column described as data, and what one cell holds.
 *
 * Every list in the dashboard (processes, locks, queues, ...) is drawn by
 * the same code from a list of column_spec: a title, where the figure comes
 * from (an object's field by name, that field's rate per second, or a small
 * derive function for figures computed from several fields), how to format
 * it, how wide it is, how important it is when the screen is narrow, and
 * the thresholds at which it turns yellow or red. Sorting, filtering,
 * searching, the help text and the drawing read these specs; nothing there
 * names a primitive. (tmux's mode-tree idea: one generic list, columns as
 * data.)
 *
 * This file and columns.c know nothing of curses, so they are unit-tested
 * (tests/test_list_view.c) on hand-made views.
 */
#ifndef SYNCTOP_TUI_COLUMNS_H
#define SYNCTOP_TUI_COLUMNS_H

#include <stdbool.h>
#include <stddef.h>
#include <synctop/model.h>

/* One row of a list: a process or an object (exactly one is set). */
typedef struct list_row {
    const st_process_view *process;
    const st_object_view *object;
} list_row;

/* Everything of one refresh a column may look up besides its own row:
 * pointers into the model, valid until the next refresh. */
typedef struct dataset {
    const st_process_view **processes;
    size_t process_count;
    const st_object_view **objects;
    size_t object_count;
    const st_event_view **events;      /* oldest first */
    size_t event_count;
} dataset;

/* The process registered with pid, or NULL. */
const st_process_view *dataset_process(const dataset *data, pid_t pid);

/* How alarming a figure is; the screen maps it to a colour (or to bold and
 * underline on a monochrome terminal). */
typedef enum severity { SEVERITY_NORMAL = 0, SEVERITY_GOOD, SEVERITY_WARN, SEVERITY_BAD } severity;

#define CELL_TEXT_BYTES 96

/* The value of one cell before formatting. */
typedef struct cell_value {
    bool known;                  /* false: no figure; shown as "-", sorted last */
    double number;               /* numeric columns: the figure (and the sort key) */
    double fill;                 /* COLUMN_BAR: how full, 0..1 */
    char text[CELL_TEXT_BYTES];  /* COLUMN_TEXT: the text; COLUMN_BAR: its label */
} cell_value;

typedef enum column_format {
    COLUMN_TEXT = 0,   /* left-aligned text; sorted alphabetically */
    COLUMN_AUTO,       /* text if the cell has text, else a number as written ("3", "21.5") */
    COLUMN_COUNT,      /* a whole number; "12k" when it does not fit */
    COLUMN_RATE,       /* per second, compact: "0", "0.5", "12", "4.2k" */
    COLUMN_DURATION,   /* nanoseconds: "850ns", "1.20ms", "2m05s" */
    COLUMN_BYTES,      /* "4.0KiB" */
    COLUMN_PERCENT,    /* "12.5" */
    COLUMN_BAR,        /* "[|||||     3/10]": fill and a label */
    COLUMN_FLAG,       /* "yes" or "-" */
} column_format;

struct column_spec;

/* Computes a cell from its row (and, when needed, the rest of the refresh;
 * column->field may name the field it works on). Sets out->known (and
 * number/text/fill); out comes zeroed. */
typedef void (*column_derive_fn)(const struct column_spec *column, const list_row *row,
                                 const dataset *data, cell_value *out);

typedef struct column_spec {
    const char *title;          /* the header, e.g. "ACQ/S" */
    const char *field;          /* an object field by name (also a derive function's argument) */
    bool rate;                  /* show the field's rate per second, not its value */
    column_derive_fn derive;
    column_format format;
    int width;                  /* screen columns */
    int priority;               /* 0: always shown; 1, 2, 3: dropped, 3 first, when narrow */
    bool grow;                  /* takes the screen's spare width */
    bool sort_by_number;        /* a text column sorted by its cells' numbers (a state's rank) */
    double warn_at, bad_at;     /* severity thresholds on number (fill for bars); 0: none */
    const char *help;           /* one sentence for the help screen */
} column_spec;

/* The cell of column for row. */
void column_value(const column_spec *column, const list_row *row, const dataset *data, cell_value *out);

/* The cell as text of exactly width characters (numbers right-aligned,
 * text left-aligned and cut), into out (at least width + 1 bytes). With
 * width 0, the natural text without padding (for filtering). */
void column_format_cell(const column_spec *column, const cell_value *value, int width, char *out,
                        size_t out_size);

/* Ascending order of two cells of the column: numbers by value, text
 * case-insensitively; unknown cells after known ones. */
int column_compare(const column_spec *column, const cell_value *a, const cell_value *b);

/* Severity of a cell by the column's thresholds. */
severity column_severity(const column_spec *column, const cell_value *value);

/* Whether the column is right-aligned (numbers). */
bool column_is_numeric(const column_spec *column);

/* A field's value as a cell (value, or rate when rate is set). */
void column_field_value(const st_field *field, bool rate, cell_value *out);

/* The format a field's kind and flags call for (durations, bytes, text...). */
column_format column_format_for_field(const st_field *field);

/* A number in at most 5 characters: "0", "0.5", "12", "999", "4.2k", "12k", "1.3M". */
char *format_compact(double value, char *buffer);

#endif
