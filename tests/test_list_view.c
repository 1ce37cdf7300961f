/* test_list_view.c - the dashboard's pure parts, without curses: the
 * generic list (sorting numeric and text columns, inverted, stable;
 * filtering; searching; column and section layout), column formatting and
 * severity, the derived figures of the view table, the history rings (61
 * samples keep the last 60; items not seen are forgotten), sparklines in
 * ASCII and Unicode, and key decoding.
 *
 * Rows are hand-made st_object_view / st_process_view structs, so every
 * expectation is exact.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>   /* KEY_* codes only: nothing here starts curses */

#include "helpers.h"

#include "columns.h"
#include "history.h"
#include "keys.h"
#include "list_view.h"
#include "views.h"

/* ---- hand-made rows -------------------------------------------------------- */

static void add_u64(st_object_view *object, const char *name, uint64_t value, unsigned flags)
{
    st_field *field = &object->fields[object->field_count++];
    memset(field, 0, sizeof *field);
    field->name = name;
    field->kind = ST_VALUE_U64;
    field->flags = flags;
    field->value.u64 = value;
}

static void add_rate(st_object_view *object, const char *name, uint64_t value, double rate)
{
    add_u64(object, name, value, ST_FIELD_COUNTER);
    object->fields[object->field_count - 1].has_rate = true;
    object->fields[object->field_count - 1].rate_per_s = rate;
}

static void add_pid(st_object_view *object, const char *name, int64_t pid)
{
    st_field *field = &object->fields[object->field_count++];
    memset(field, 0, sizeof *field);
    field->name = name;
    field->kind = ST_VALUE_PID;
    field->value.i64 = pid;
}

static void make_lock(st_object_view *object, uint32_t index, const char *name, uint64_t acquisitions,
                      uint64_t contentions, double acquisitions_per_s)
{
    memset(object, 0, sizeof *object);
    object->index = index;
    object->type_name = "lock";
    object->created_ns = 1000 + index;
    snprintf(object->name, sizeof object->name, "%s", name);
    add_pid(object, "holder", 0);
    add_u64(object, "waiters", 0, 0);
    add_rate(object, "acquisitions", acquisitions, acquisitions_per_s);
    add_rate(object, "contentions", contentions, 0);
    add_u64(object, "wait_ns_max", 1500, ST_FIELD_DURATION);
}

static void make_queue(st_object_view *object, uint32_t index, const char *name, uint64_t depth, uint64_t capacity)
{
    memset(object, 0, sizeof *object);
    object->index = index;
    object->type_name = "queue";
    snprintf(object->name, sizeof object->name, "%s", name);
    add_u64(object, "depth", depth, 0);
    add_u64(object, "capacity", capacity, 0);
}

static void make_process(st_process_view *process, pid_t pid, const char *name, double cpu)
{
    memset(process, 0, sizeof *process);
    process->pid = pid;
    process->index = (uint32_t)pid % 100;
    process->start_ticks = 7;
    snprintf(process->name, sizeof process->name, "%s", name);
    process->state = ST_PROCESS_RUNNING;
    process->alive = true;
    process->sampled = true;
    process->cpu_percent = cpu;
}

/* A dataset of the given objects and processes (pointers kept in statics). */
#define TEST_ROWS_MAX 16
static const st_object_view *object_pointers[TEST_ROWS_MAX];
static const st_process_view *process_pointers[TEST_ROWS_MAX];

static dataset make_dataset(const st_object_view *objects, size_t object_count, const st_process_view *processes,
                            size_t process_count)
{
    for (size_t i = 0; i < object_count; i++)
        object_pointers[i] = &objects[i];
    for (size_t i = 0; i < process_count; i++)
        process_pointers[i] = &processes[i];
    dataset data = { .processes = process_pointers, .process_count = process_count,
                     .objects = object_pointers, .object_count = object_count };
    return data;
}

static const column_spec count_column = { .title = "N", .field = "acquisitions", .format = COLUMN_COUNT, .width = 6 };
static const column_spec name_column = { .title = "NAME", .field = NULL, .format = COLUMN_TEXT, .width = 8 };

/* The name of each row, joined by spaces, for order assertions. */
static const char *names_of(const list_row *rows, size_t count)
{
    static char text[512];
    text[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        strcat(text, i ? " " : "");
        strcat(text, rows[i].object ? rows[i].object->name : rows[i].process->name);
    }
    return text;
}

/* ---- sorting ----------------------------------------------------------------- */

static void test_sort_numeric_both_ways_unknown_last(void **state)
{
    (void)state;
    st_object_view objects[4];
    make_lock(&objects[0], 0, "b", 30, 0, 0);
    make_lock(&objects[1], 1, "a", 10, 0, 0);
    make_lock(&objects[2], 2, "c", 20, 0, 0);
    memset(&objects[3], 0, sizeof objects[3]);   /* no such field: unknown */
    snprintf(objects[3].name, sizeof objects[3].name, "x");
    objects[3].type_name = "lock";
    dataset data = make_dataset(objects, 4, NULL, 0);
    list_row rows[4];
    for (int i = 0; i < 4; i++)
        rows[i] = (list_row){ .object = &objects[i] };

    assert_true(list_sort_rows(rows, 4, &count_column, false, &data));
    assert_string_equal(names_of(rows, 4), "a c b x");
    assert_true(list_sort_rows(rows, 4, &count_column, true, &data));
    assert_string_equal(names_of(rows, 4), "b c a x");
}

static void name_derive(const column_spec *column, const list_row *row, const dataset *data, cell_value *out)
{
    out->known = true;
    snprintf(out->text, sizeof out->text, "%s", row->object->name);
}

static void test_sort_text_ignores_case(void **state)
{
    (void)state;
    st_object_view objects[3];
    make_lock(&objects[0], 0, "beta", 1, 0, 0);
    make_lock(&objects[1], 1, "Alpha", 1, 0, 0);
    make_lock(&objects[2], 2, "gamma", 1, 0, 0);
    dataset data = make_dataset(objects, 3, NULL, 0);
    list_row rows[3];
    for (int i = 0; i < 3; i++)
        rows[i] = (list_row){ .object = &objects[i] };
    column_spec by_name = name_column;
    by_name.derive = name_derive;
    assert_true(list_sort_rows(rows, 3, &by_name, false, &data));
    assert_string_equal(names_of(rows, 3), "Alpha beta gamma");
    assert_true(list_sort_rows(rows, 3, &by_name, true, &data));
    assert_string_equal(names_of(rows, 3), "gamma beta Alpha");
}

static void test_sort_is_stable(void **state)
{
    (void)state;
    st_object_view objects[5];
    make_lock(&objects[0], 0, "p", 5, 0, 0);
    make_lock(&objects[1], 1, "q", 1, 0, 0);
    make_lock(&objects[2], 2, "r", 5, 0, 0);
    make_lock(&objects[3], 3, "s", 1, 0, 0);
    make_lock(&objects[4], 4, "t", 5, 0, 0);
    dataset data = make_dataset(objects, 5, NULL, 0);
    list_row rows[5];
    for (int i = 0; i < 5; i++)
        rows[i] = (list_row){ .object = &objects[i] };
    assert_true(list_sort_rows(rows, 5, &count_column, false, &data));
    assert_string_equal(names_of(rows, 5), "q s p r t");
    /* Inverted, equal rows still keep the order they had. */
    assert_true(list_sort_rows(rows, 5, &count_column, true, &data));
    assert_string_equal(names_of(rows, 5), "p r t q s");
    /* Sorting again changes nothing (no flicker between refreshes). */
    assert_true(list_sort_rows(rows, 5, &count_column, true, &data));
    assert_string_equal(names_of(rows, 5), "p r t q s");
}

/* ---- building, filtering, searching ------------------------------------------- */

static const section_spec *locks_spec(void)
{
    const view_spec *locks = views_get(2);
    assert_non_null(locks);
    assert_string_equal(locks->name, "Locks");
    return locks->sections[0];
}

static void test_build_takes_its_kind_and_sorts(void **state)
{
    (void)state;
    st_object_view objects[4];
    make_lock(&objects[0], 0, "slow", 10, 0, 1.0);
    make_queue(&objects[1], 1, "jobs", 3, 10);
    make_lock(&objects[2], 2, "busy", 10, 0, 900.0);
    make_lock(&objects[3], 3, "idle", 10, 0, 0.0);
    dataset data = make_dataset(objects, 4, NULL, 0);
    list_section section;
    list_section_init(&section, locks_spec());
    assert_true(list_section_build(&section, &data, NULL));
    /* Locks only, busiest (ACQ/S) first. */
    assert_int_equal(section.row_count, 3);
    assert_int_equal(section.unfiltered_count, 3);
    assert_string_equal(names_of(section.rows, section.row_count), "busy slow idle");
    list_section_free(&section);
}

static void test_filter_matches_any_cell_ignoring_case(void **state)
{
    (void)state;
    st_object_view objects[3];
    st_process_view processes[1];
    make_lock(&objects[0], 0, "account-a", 10, 5, 0);
    make_lock(&objects[1], 1, "account-b", 10, 0, 0);
    make_lock(&objects[2], 2, "ledger", 10, 0, 0);
    make_process(&processes[0], 4243, "teller-2", 0);
    objects[2].fields[0].value.i64 = 4243;   /* ledger's holder */
    dataset data = make_dataset(objects, 3, processes, 1);
    list_section section;
    list_section_init(&section, locks_spec());

    assert_true(list_section_build(&section, &data, "ACCOUNT"));
    assert_int_equal(section.row_count, 2);
    assert_int_equal(section.unfiltered_count, 3);

    /* A holder's name is a cell too ("4243 teller-2"). */
    assert_true(list_section_build(&section, &data, "teller"));
    assert_int_equal(section.row_count, 1);
    assert_string_equal(section.rows[0].object->name, "ledger");

    /* Contention 50.0 % shows as "50.0": a figure matches as printed. */
    assert_true(list_section_build(&section, &data, "50.0"));
    assert_int_equal(section.row_count, 1);
    assert_string_equal(section.rows[0].object->name, "account-a");

    assert_true(list_section_build(&section, &data, "nothing-like-this"));
    assert_int_equal(section.row_count, 0);
    assert_true(list_section_build(&section, &data, ""));
    assert_int_equal(section.row_count, 3);
    list_section_free(&section);
}

static void test_search_wraps_and_reports_no_match(void **state)
{
    (void)state;
    st_object_view objects[4];
    make_lock(&objects[0], 0, "alpha", 40, 0, 4);
    make_lock(&objects[1], 1, "beta", 30, 0, 3);
    make_lock(&objects[2], 2, "alpine", 20, 0, 2);
    make_lock(&objects[3], 3, "gamma", 10, 0, 1);
    dataset data = make_dataset(objects, 4, NULL, 0);
    list_section section;
    list_section_init(&section, locks_spec());
    assert_true(list_section_build(&section, &data, NULL));
    assert_string_equal(names_of(section.rows, section.row_count), "alpha beta alpine gamma");

    assert_int_equal(list_section_search(&section, &data, "alp", 0), 0);
    assert_int_equal(list_section_search(&section, &data, "alp", 1), 2);
    assert_int_equal(list_section_search(&section, &data, "alp", 3), 0);   /* wrapped */
    assert_int_equal(list_section_search(&section, &data, "GAMMA", 0), 3);
    assert_int_equal(list_section_search(&section, &data, "zeta", 0), -1);

    list_row gamma = { .object = &objects[3] };
    assert_int_equal(list_section_find(&section, &gamma), 3);
    list_section_free(&section);
}

/* ---- formatting and severity --------------------------------------------------- */

static const char *formatted(const column_spec *column, const cell_value *value, int width)
{
    static char text[128];
    column_format_cell(column, value, width, text, sizeof text);
    return text;
}

static void test_column_formatting(void **state)
{
    (void)state;
    cell_value value = { .known = true, .number = 1234 };
    column_spec column = { .format = COLUMN_COUNT };
    assert_string_equal(formatted(&column, &value, 6), "  1234");
    value.number = 12345678;
    assert_string_equal(formatted(&column, &value, 6), "   12M");   /* too wide: compact */

    column.format = COLUMN_DURATION;
    value.number = 1500;
    assert_string_equal(formatted(&column, &value, 7), " 1.50us");
    value.number = 2.5e9;
    assert_string_equal(formatted(&column, &value, 7), "  2.50s");

    column.format = COLUMN_BYTES;
    value.number = 4096;
    assert_string_equal(formatted(&column, &value, 7), " 4.0KiB");

    column.format = COLUMN_PERCENT;
    value.number = 36.44;
    assert_string_equal(formatted(&column, &value, 5), " 36.4");

    column.format = COLUMN_RATE;
    value.number = 4200;
    assert_string_equal(formatted(&column, &value, 6), "  4.2k");
    value.number = 0.5;
    assert_string_equal(formatted(&column, &value, 6), "   0.5");

    column.format = COLUMN_FLAG;
    value.number = 1;
    assert_string_equal(formatted(&column, &value, 6), "   yes");

    column.format = COLUMN_TEXT;
    snprintf(value.text, sizeof value.text, "a-very-long-name");
    assert_string_equal(formatted(&column, &value, 8), "a-very-+");   /* cut, and says so */
    assert_string_equal(formatted(&column, &value, 20), "a-very-long-name    ");
    assert_string_equal(formatted(&column, &value, 0), "a-very-long-name");

    cell_value unknown = { .known = false };
    column.format = COLUMN_COUNT;
    assert_string_equal(formatted(&column, &unknown, 4), "   -");

    column.format = COLUMN_BAR;
    cell_value bar = { .known = true, .number = 3, .fill = 0.3 };
    snprintf(bar.text, sizeof bar.text, "3/10");
    assert_string_equal(formatted(&column, &bar, 12), "[|||   3/10]");
    bar.fill = 1.0;
    snprintf(bar.text, sizeof bar.text, "10/10");
    assert_string_equal(formatted(&column, &bar, 12), "[|||||10/10]");
}

static void test_severity_thresholds(void **state)
{
    (void)state;
    column_spec column = { .format = COLUMN_PERCENT, .warn_at = 10, .bad_at = 50 };
    cell_value value = { .known = true, .number = 9.9 };
    assert_int_equal(column_severity(&column, &value), SEVERITY_NORMAL);
    value.number = 10;
    assert_int_equal(column_severity(&column, &value), SEVERITY_WARN);
    value.number = 75;
    assert_int_equal(column_severity(&column, &value), SEVERITY_BAD);
    value.known = false;
    assert_int_equal(column_severity(&column, &value), SEVERITY_NORMAL);

    column_spec bar = { .format = COLUMN_BAR, .warn_at = 0.75, .bad_at = 0.95 };
    cell_value fill = { .known = true, .number = 9, .fill = 0.9 };
    assert_int_equal(column_severity(&bar, &fill), SEVERITY_WARN);
}

/* ---- the view table's derived figures --------------------------------------------- */

static const column_spec *column_titled(const section_spec *section, const char *title)
{
    for (size_t c = 0; c < section->column_count; c++)
        if (strcmp(section->columns[c].title, title) == 0)
            return &section->columns[c];
    fail_msg("no column %s in %s", title, section->title);
    return NULL;
}

static void test_derived_figures(void **state)
{
    (void)state;
    st_object_view objects[2];
    st_process_view processes[1];
    make_lock(&objects[0], 0, "account", 200, 50, 12);
    objects[0].fields[0].value.i64 = 4243;
    make_queue(&objects[1], 1, "jobs", 9, 10);
    make_process(&processes[0], 4243, "teller-2", 0);
    dataset data = make_dataset(objects, 2, processes, 1);
    list_row lock = { .object = &objects[0] }, queue = { .object = &objects[1] };

    const section_spec *locks = locks_spec();
    cell_value value;
    const column_spec *contention = column_titled(locks, "CONT%");
    column_value(contention, &lock, &data, &value);
    assert_true(value.known);
    assert_true(fabs(value.number - 25.0) < 1e-9);
    assert_int_equal(column_severity(contention, &value), SEVERITY_WARN);

    column_value(column_titled(locks, "HOLDER"), &lock, &data, &value);
    assert_string_equal(value.text, "4243 teller-2");

    const section_spec *queues = views_get(5)->sections[0];
    const column_spec *depth = column_titled(queues, "DEPTH");
    column_value(depth, &queue, &data, &value);
    assert_true(fabs(value.fill - 0.9) < 1e-9);
    assert_string_equal(formatted(depth, &value, 14), "[||||||||9/10]");
    assert_int_equal(column_severity(depth, &value), SEVERITY_WARN);

    /* The detail view's key figure: a queue graphs its depth. */
    column_value(views_key_figure(&queue), &queue, &data, &value);
    assert_true(value.known && value.number == 9);
}

/* An object of a kind without a table still shows, in the overview. */
static void test_unknown_kinds_are_listed_as_other(void **state)
{
    (void)state;
    st_object_view objects[2];
    make_lock(&objects[0], 0, "known", 1, 0, 0);
    memset(&objects[1], 0, sizeof objects[1]);
    objects[1].type_name = "barrier";
    snprintf(objects[1].name, sizeof objects[1].name, "start-line");
    add_u64(&objects[1], "parties", 4, 0);
    add_u64(&objects[1], "waiting", 3, 0);
    dataset data = make_dataset(objects, 2, NULL, 0);
    const view_spec *overview = views_get(0);
    const section_spec *other = overview->sections[overview->section_count - 1];
    assert_string_equal(other->title, "Other objects");
    list_section section;
    list_section_init(&section, other);
    assert_true(list_section_build(&section, &data, NULL));
    assert_int_equal(section.row_count, 1);
    assert_string_equal(section.rows[0].object->name, "start-line");
    cell_value value;
    column_value(&other->columns[2], &section.rows[0], &data, &value);
    assert_string_equal(value.text, "parties=4, waiting=3");
    list_row known = { .object = &objects[0] };
    assert_ptr_equal(views_section_of(&known), locks_spec());
    list_section_free(&section);
}

/* Every table shows its essential columns at 80 columns, and every column
 * is explained in the help. */
static void test_every_table_fits_80_columns(void **state)
{
    (void)state;
    const view_spec *overview = views_get(0);
    assert_true(views_count() >= 8);
    for (size_t s = 0; s < overview->section_count; s++) {
        const section_spec *section = overview->sections[s];
        int width = -1;
        for (size_t c = 0; c < section->column_count; c++) {
            assert_non_null(section->columns[c].help);
            if (section->columns[c].priority <= 1)
                width += section->columns[c].width + 1;
        }
        if (width > 80)
            fail_msg("%s needs %d columns", section->title, width);
        size_t visible[32];
        int x[32], w[32];
        size_t count = list_layout_columns(section, 80, visible, x, w);
        assert_true(count >= 2);
        assert_true(x[count - 1] + w[count - 1] <= 80);
    }
}

static void test_layout_drops_least_important_columns(void **state)
{
    (void)state;
    const section_spec *locks = locks_spec();
    size_t visible[32];
    int x[32], w[32];
    size_t narrow = list_layout_columns(locks, 80, visible, x, w);
    for (size_t i = 0; i < narrow; i++)
        assert_true(locks->columns[visible[i]].priority <= 1);
    assert_int_equal(x[narrow - 1] + w[narrow - 1], 80);   /* NAME grew to fill the line */
    size_t wide = list_layout_columns(locks, 200, visible, x, w);
    assert_int_equal(wide, locks->column_count);
    assert_true(wide > narrow);
}

static void test_layout_sections(void **state)
{
    (void)state;
    size_t rows[4] = { 10, 0, 1, 5 };
    int heights[4];
    list_layout_sections(rows, 4, 0, 10, heights);
    /* Header + row each, then spare lines round-robin to those still hiding rows. */
    assert_int_equal(heights[0], 4);
    assert_int_equal(heights[1], 0);
    assert_int_equal(heights[2], 2);
    assert_int_equal(heights[3], 4);

    /* Too little room: the focus section comes first. */
    list_layout_sections(rows, 4, 3, 3, heights);
    assert_int_equal(heights[3], 3);
    assert_int_equal(heights[0], 0);
}

/* ---- history and sparklines ---------------------------------------------------------- */

static void test_history_keeps_the_last_60(void **state)
{
    (void)state;
    history *h = history_new(60);
    assert_non_null(h);
    history_key key = { .kind = HISTORY_OBJECT, .index = 3, .stamp = 99 };
    for (int i = 0; i < 61; i++) {
        history_begin_round(h);
        assert_true(history_record(h, &key, (double)i));
        history_end_round(h);
    }
    double samples[100];
    size_t count = history_get(h, &key, samples, 100);
    assert_int_equal(count, 60);
    assert_true(samples[0] == 1.0);    /* sample 0 fell out */
    assert_true(samples[59] == 60.0);  /* the newest last */
    /* Asking for fewer gives the newest ones. */
    assert_int_equal(history_get(h, &key, samples, 3), 3);
    assert_true(samples[0] == 58.0 && samples[2] == 60.0);

    /* A reused slot (another creation time) is another item. */
    history_key reused = key;
    reused.stamp = 100;
    assert_int_equal(history_get(h, &reused, samples, 100), 0);
    history_free(h);
}

static void test_history_forgets_items_not_recorded(void **state)
{
    (void)state;
    history *h = history_new(60);
    history_key keys[200];
    history_begin_round(h);
    for (int i = 0; i < 200; i++) {
        keys[i] = (history_key){ .kind = i % 2 ? HISTORY_PROCESS : HISTORY_OBJECT, .index = (uint32_t)i,
                                 .pid = i % 2 ? 1000 + i : 0, .stamp = 5 };
        assert_true(history_record(h, &keys[i], i));
    }
    history_end_round(h);
    assert_int_equal(history_item_count(h), 200);
    history_begin_round(h);
    assert_true(history_record(h, &keys[7], 1));
    history_end_round(h);
    assert_int_equal(history_item_count(h), 1);
    double samples[60];
    assert_int_equal(history_get(h, &keys[7], samples, 60), 2);
    assert_true(samples[0] == 7.0 && samples[1] == 1.0);
    assert_int_equal(history_get(h, &keys[8], samples, 60), 0);
    history_free(h);
}

static void test_sparkline_ascii_and_unicode(void **state)
{
    (void)state;
    char out[256];
    const double ramp[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
    assert_int_equal(sparkline_render(ramp, 8, 8, true, out, sizeof out), 8);
    assert_string_equal(out, "_.-:=+*#");

    /* Fewer values than columns: right-aligned, the newest at the end. */
    const double two[2] = { 0, 10 };
    sparkline_render(two, 2, 5, true, out, sizeof out);
    assert_string_equal(out, "   _#");

    /* Only the last width values are drawn, still scaled from 0. */
    sparkline_render(ramp, 8, 3, true, out, sizeof out);
    assert_string_equal(out, "+*#");

    /* A steady figure is a full bar (scaled from 0); all zeros the lowest
     * level, without dividing by zero. */
    const double flat[4] = { 5, 5, 5, 5 };
    sparkline_render(flat, 4, 4, true, out, sizeof out);
    assert_string_equal(out, "####");
    const double zeros[3] = { 0, 0, 0 };
    sparkline_render(zeros, 3, 3, true, out, sizeof out);
    assert_string_equal(out, "___");

    sparkline_render(two, 2, 2, false, out, sizeof out);
    assert_string_equal(out, "\u2581\u2588");
    assert_int_equal(strlen(out), 6);
}

/* ---- keys ------------------------------------------------------------------------------ */

static void test_keys_decode(void **state)
{
    (void)state;
    assert_int_equal(keys_decode('q'), ACTION_QUIT);
    assert_int_equal(keys_decode(KEY_F(10)), ACTION_QUIT);
    assert_int_equal(keys_decode(KEY_F(1)), ACTION_HELP);
    assert_int_equal(keys_decode('h'), ACTION_HELP);
    assert_int_equal(keys_decode('/'), ACTION_SEARCH);
    assert_int_equal(keys_decode(KEY_F(3)), ACTION_SEARCH);
    assert_int_equal(keys_decode('\\'), ACTION_FILTER);
    assert_int_equal(keys_decode(KEY_F(4)), ACTION_FILTER);
    assert_int_equal(keys_decode(KEY_F(6)), ACTION_SORT_NEXT);
    assert_int_equal(keys_decode('<'), ACTION_SORT_PREVIOUS);
    assert_int_equal(keys_decode('I'), ACTION_SORT_INVERT);
    assert_int_equal(keys_decode('p'), ACTION_PAUSE);
    assert_int_equal(keys_decode('Z'), ACTION_PAUSE);
    assert_int_equal(keys_decode('+'), ACTION_FASTER);
    assert_int_equal(keys_decode('-'), ACTION_SLOWER);
    assert_int_equal(keys_decode('t'), ACTION_TIMELINE);
    assert_int_equal(keys_decode('\t'), ACTION_NEXT_VIEW);
    assert_int_equal(keys_decode('\n'), ACTION_ENTER);
    assert_int_equal(keys_decode(27), ACTION_BACK);
    assert_int_equal(keys_decode('1'), ACTION_VIEW_FIRST);
    assert_int_equal(keys_decode('3'), ACTION_VIEW_FIRST + 2);
    assert_int_equal(keys_decode(KEY_RESIZE), ACTION_RESIZE);
    assert_int_equal(keys_decode('x'), ACTION_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort_numeric_both_ways_unknown_last),
        cmocka_unit_test(test_sort_text_ignores_case),
        cmocka_unit_test(test_sort_is_stable),
        cmocka_unit_test(test_build_takes_its_kind_and_sorts),
        cmocka_unit_test(test_filter_matches_any_cell_ignoring_case),
        cmocka_unit_test(test_search_wraps_and_reports_no_match),
        cmocka_unit_test(test_column_formatting),
        cmocka_unit_test(test_severity_thresholds),
        cmocka_unit_test(test_derived_figures),
        cmocka_unit_test(test_unknown_kinds_are_listed_as_other),
        cmocka_unit_test(test_every_table_fits_80_columns),
        cmocka_unit_test(test_layout_drops_least_important_columns),
        cmocka_unit_test(test_layout_sections),
        cmocka_unit_test(test_history_keeps_the_last_60),
        cmocka_unit_test(test_history_forgets_items_not_recorded),
        cmocka_unit_test(test_sparkline_ascii_and_unicode),
        cmocka_unit_test(test_keys_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
