/* detail_view.c - the detail of one process or object (see detail_view.h).
 *
 * The page is built as a list of lines first (text and role), then the
 * part that fits is drawn from the scroll offset: content and drawing stay
 * apart, and scrolling is just an offset. Figures are printed in two
 * columns when the terminal is wide enough, each "name  value  rate/s",
 * formatted by the field's own flags (durations, bytes), so a new
 * primitive's fields show here with no change.
 */
#include "config.h"

#include "detail_view.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "end_text.h"
#include "format.h"
#include "i18n.h"
#include "screen.h"
#include "timeline.h"
#include "views.h"

#define DETAIL_LINES_MAX 160
#define DETAIL_LINE_BYTES 1024
#define RECENT_OPERATIONS 24

typedef struct detail_line {
    screen_role role;
    char text[DETAIL_LINE_BYTES];
} detail_line;

typedef struct detail_page {
    detail_line *lines;
    int count;
} detail_page;

static void add_line(detail_page *page, screen_role role, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void add_line(detail_page *page, screen_role role, const char *format, ...)
{
    if (page->count >= DETAIL_LINES_MAX)
        return;
    detail_line *line = &page->lines[page->count++];
    line->role = role;
    va_list args;
    va_start(args, format);
    vsnprintf(line->text, sizeof line->text, format, args);
    va_end(args);
}

history_key detail_history_key(const list_row *row)
{
    history_key key = { 0 };
    if (row->process != NULL) {
        key.kind = HISTORY_PROCESS;
        key.index = row->process->index;
        key.pid = row->process->pid;
        key.stamp = row->process->start_ticks;
    } else {
        key.kind = HISTORY_OBJECT;
        key.index = row->object->index;
        key.stamp = row->object->created_ns;
    }
    return key;
}

/* ---- figures ----------------------------------------------------------------- */

typedef struct figure {
    const char *name;
    char value[CELL_TEXT_BYTES + 32];
    char rate[FORMAT_BUFFER_BYTES + 4];
} figure;

/* Lay figures out as "name  value  rate", in two columns when the longest
 * name leaves room for both, else in one. */
static void add_figures(detail_page *page, const figure *figures, size_t count, int width)
{
    enum { VALUE_WIDTH = 9, RATE_WIDTH = 8 };
    int name_width = 8;
    for (size_t i = 0; i < count; i++)
        if ((int)strlen(figures[i].name) > name_width)
            name_width = (int)strlen(figures[i].name);
    if (name_width > 32)
        name_width = 32;
    int column_width = 2 + name_width + 1 + VALUE_WIDTH + 1 + RATE_WIDTH;
    int columns = 2 * column_width <= width ? 2 : 1;
    size_t rows = (count + (size_t)columns - 1) / (size_t)columns;
    for (size_t r = 0; r < rows; r++) {
        char text[DETAIL_LINE_BYTES] = "";
        size_t used = 0;
        for (int c = 0; c < columns; c++) {
            size_t i = r + (size_t)c * rows;
            if (i >= count || used >= sizeof text)
                break;
            const figure *f = &figures[i];
            /* A value wider than its column pushes the rate right rather than being cut. */
            used += (size_t)snprintf(text + used, sizeof text - used, "  %-*.*s %*s %-*s", name_width, name_width,
                                     f->name, VALUE_WIDTH, f->value, RATE_WIDTH, f->rate);
        }
        add_line(page, ROLE_NORMAL, "%s", text);
    }
}

static void object_figures(detail_page *page, const st_object_view *object, int width)
{
    figure figures[ST_MAX_FIELDS];
    size_t count = 0;
    for (uint32_t i = 0; i < object->field_count && i < ST_MAX_FIELDS; i++) {
        const st_field *field = &object->fields[i];
        figure *f = &figures[count++];
        f->name = field->name;
        column_spec column = { .format = column_format_for_field(field) };
        cell_value value;
        column_field_value(field, false, &value);
        column_format_cell(&column, &value, 0, f->value, sizeof f->value);
        f->rate[0] = '\0';
        if (field->flags & ST_FIELD_COUNTER) {
            cell_value rate;
            column_field_value(field, true, &rate);
            column_spec rate_column = { .format = (field->flags & (ST_FIELD_DURATION | ST_FIELD_BYTES))
                                                      ? column.format
                                                      : COLUMN_RATE };
            char text[FORMAT_BUFFER_BYTES];
            column_format_cell(&rate_column, &rate, 0, text, sizeof text);
            snprintf(f->rate, sizeof f->rate, "%s/s", text);
        }
    }
    add_figures(page, figures, count, width);
}

static void process_figures(detail_page *page, const st_process_view *process, int width)
{
    figure figures[16];
    size_t count = 0;
    char unit[FORMAT_BUFFER_BYTES];
#define FIGURE(name_, ...)                                                            \
    do {                                                                              \
        figures[count].name = name_;                                                  \
        snprintf(figures[count].value, sizeof figures[count].value, __VA_ARGS__);     \
        figures[count++].rate[0] = '\0';                                              \
    } while (0)
    FIGURE("pid", "%ld", (long)process->pid);
    FIGURE("name", "%s", process->name);
    FIGURE("role", "%s", process->role[0] ? process->role : "-");
    FIGURE("state", "%s", st_process_state_name(process->state));
    FIGURE("alive", "%s", process->alive ? "yes" : "no (exited)");
    if (process->exit_known) {
        char end[END_TEXT_BYTES];
        FIGURE("ended", "%s, %s ago", end_process_text(process, end, sizeof end),
               format_duration_ns(process->exited_for_ns, unit));
    }
    FIGURE("cpu_percent", "%s", process->sampled ? "" : "-");
    if (process->sampled)
        snprintf(figures[count - 1].value, sizeof figures[count - 1].value, "%.1f", process->cpu_percent);
    FIGURE("rss_bytes", "%s", process->sampled ? format_bytes(process->rss_bytes, unit) : "-");
    FIGURE("restarts", "%u", (unsigned)process->restarts);
    FIGURE("heartbeat_age", "%s", process->heartbeat_age_ns ? format_duration_ns(process->heartbeat_age_ns, unit) : "-");
    FIGURE("blocked", "%s", process->blocked ? "yes" : "no");
    if (process->blocked) {
        FIGURE("blocked_on", "%.15s %.40s", st_operation_name(process->blocked_op), process->blocked_object_name);
        FIGURE("blocked_for", "%s", format_duration_ns(process->blocked_for_ns, unit));
    }
    FIGURE("starving", "%s", process->starving ? "YES" : "no");
    FIGURE("deadlocked", "%s", process->deadlocked ? "YES" : "no");
#undef FIGURE
    add_figures(page, figures, count, width);
}

/* ---- history ------------------------------------------------------------------ */

static void add_history(detail_page *page, const list_row *row, const history *past, int width)
{
    const column_spec *figure_column = views_key_figure(row);
    size_t capacity = history_capacity(past);
    double *samples = capacity ? malloc(capacity * sizeof *samples) : NULL;
    history_key key = detail_history_key(row);
    size_t count = samples ? history_get(past, &key, samples, capacity) : 0;
    if (count == 0) {
        add_line(page, ROLE_TITLE, _("History of %s"), _(figure_column->title));
        add_line(page, ROLE_DIM, "%s", _("  (no samples yet)"));
        free(samples);
        return;
    }
    double low = samples[0], high = samples[0];
    for (size_t i = 1; i < count; i++) {
        if (samples[i] < low)
            low = samples[i];
        if (samples[i] > high)
            high = samples[i];
    }
    char low_text[CELL_TEXT_BYTES], high_text[CELL_TEXT_BYTES], now_text[CELL_TEXT_BYTES];
    cell_value value = { .known = true };
    value.number = low;
    column_format_cell(figure_column, &value, 0, low_text, sizeof low_text);
    value.number = high;
    column_format_cell(figure_column, &value, 0, high_text, sizeof high_text);
    value.number = samples[count - 1];
    column_format_cell(figure_column, &value, 0, now_text, sizeof now_text);
    add_line(page, ROLE_TITLE, _("History of %s (%zu samples, one per refresh)"), _(figure_column->title), count);
    size_t spark_width = (size_t)(width > 4 ? width - 4 : 1);
    if (spark_width > capacity)
        spark_width = capacity;
    char spark[DETAIL_LINE_BYTES - 8];
    sparkline_render(samples, count, spark_width, screen_ascii(), spark, sizeof spark);
    add_line(page, ROLE_GOOD, "  %s", spark);
    add_line(page, ROLE_NORMAL, "  now %s   min %s   max %s", now_text, low_text, high_text);
    free(samples);
}

/* ---- who waits, what is held -------------------------------------------------- */

static void add_waiters(detail_page *page, const st_object_view *object, const dataset *data)
{
    size_t waiting = 0;
    for (size_t i = 0; i < data->process_count; i++) {
        const st_process_view *p = data->processes[i];
        if (p->blocked && p->blocked_object == object->index && strcmp(p->blocked_object_name, object->name) == 0)
            waiting++;
    }
    add_line(page, ROLE_TITLE, _("Waiting on it now: %zu"), waiting);
    for (size_t i = 0; i < data->process_count; i++) {
        const st_process_view *p = data->processes[i];
        if (!(p->blocked && p->blocked_object == object->index && strcmp(p->blocked_object_name, object->name) == 0))
            continue;
        char unit[FORMAT_BUFFER_BYTES];
        add_line(page, p->starving || p->deadlocked ? ROLE_BAD : ROLE_NORMAL, "  %7ld %-16s %-8s for %s%s%s",
                 (long)p->pid, p->name, st_operation_name(p->blocked_op), format_duration_ns(p->blocked_for_ns, unit),
                 p->starving ? "  STARVING" : "", p->deadlocked ? "  DEADLOCK" : "");
    }
}

/* Objects whose holder or owner is the process. */
static void add_held(detail_page *page, const st_process_view *process, const dataset *data)
{
    static const char *const owner_fields[] = { "holder", "owner" };
    size_t held = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            add_line(page, ROLE_TITLE, _("Holds or owns: %zu"), held);
        for (size_t i = 0; i < data->object_count; i++) {
            const st_object_view *object = data->objects[i];
            for (size_t f = 0; f < 2; f++) {
                const st_field *field = st_object_field(object, owner_fields[f]);
                if (field == NULL || field->kind != ST_VALUE_PID || field->value.i64 != process->pid)
                    continue;
                if (pass == 0)
                    held++;
                else
                    add_line(page, ROLE_NORMAL, "  %-10s %s (%s)", object->type_name ? object->type_name : "?",
                             object->name, owner_fields[f]);
                break;
            }
        }
    }
    if (process->blocked)
        add_line(page, process->deadlocked || process->starving ? ROLE_BAD : ROLE_WARN, _("Waiting in %s %s for %s"),
                 st_operation_name(process->blocked_op), process->blocked_object_name,
                 process->deadlocked ? _("ever: it is part of a deadlock") : _("now"));
}

static void add_operations(detail_page *page, const list_row *row, const dataset *data)
{
    const st_event_view *events[RECENT_OPERATIONS];
    size_t count = timeline_select(data, row, events, RECENT_OPERATIONS);
    add_line(page, ROLE_TITLE, _("Recent operations%s"), count ? _(" (newest first)") : "");
    if (count == 0) {
        add_line(page, ROLE_DIM, "  none recorded: operations are logged only for traced objects "
                                 "(start the workload with SYNCTOP_TRACE=all)");
        return;
    }
    for (size_t i = 0; i < count; i++) {
        char text[512];
        timeline_format_event(events[i], data, text, sizeof text);
        add_line(page, events[i]->result == ST_OK ? ROLE_NORMAL : ROLE_WARN, "  %s", text);
    }
}

/* ---- the page ----------------------------------------------------------------- */

static void build_page(detail_page *page, const list_row *row, const dataset *data, const history *past, int width)
{
    if (row == NULL) {
        add_line(page, ROLE_WARN, "%s", _("This item no longer exists (it was closed, or its process exited)."));
        add_line(page, ROLE_DIM, "%s", _("Press Esc to go back to the list."));
        return;
    }
    if (row->process != NULL) {
        const st_process_view *p = row->process;
        add_line(page, ROLE_TITLE, _("PROCESS %s  (pid %ld, slot %u)%s"), p->name, (long)p->pid, (unsigned)p->index,
                 p->alive ? "" : _("  - exited"));
        add_line(page, ROLE_NORMAL, "%s", "");
        process_figures(page, p, width);
        add_line(page, ROLE_NORMAL, "%s", "");
        add_history(page, row, past, width);
        add_line(page, ROLE_NORMAL, "%s", "");
        add_held(page, p, data);
    } else {
        const st_object_view *o = row->object;
        const st_process_view *creator = dataset_process(data, o->creator_pid);
        time_t seconds = (time_t)(o->created_ns / 1000000000u);
        struct tm local;
        char when[32] = "?";
        if (localtime_r(&seconds, &local) != NULL)
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &local);
        char type[32];
        snprintf(type, sizeof type, "%s", o->type_name ? o->type_name : "object");
        for (char *c = type; *c; c++)
            *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
        add_line(page, ROLE_TITLE, "%s %s  (slot %u, created by %ld%s%s%s at %s)", type, o->name, (unsigned)o->index,
                 (long)o->creator_pid, creator ? " " : "", creator ? creator->name : "", "", when);
        add_line(page, ROLE_NORMAL, "%s", "");
        object_figures(page, o, width);
        add_line(page, ROLE_NORMAL, "%s", "");
        add_history(page, row, past, width);
        add_line(page, ROLE_NORMAL, "%s", "");
        add_waiters(page, o, data);
    }
    add_line(page, ROLE_NORMAL, "%s", "");
    add_operations(page, row, data);
}

int detail_draw(const list_row *row, const dataset *data, const history *past, int y, int height, int width,
                int scroll)
{
    detail_page page = { calloc(DETAIL_LINES_MAX, sizeof(detail_line)), 0 };
    if (page.lines == NULL) {
        screen_put(y, 0, width, screen_attr(ROLE_BAD), _("out of memory"));
        return 0;
    }
    build_page(&page, row, data, past, width);
    int most = page.count - height;
    if (scroll > most)
        scroll = most;
    if (scroll < 0)
        scroll = 0;
    for (int i = 0; i < height && scroll + i < page.count; i++) {
        const detail_line *line = &page.lines[scroll + i];
        screen_put(y + i, 0, width, screen_attr(line->role), line->text);
    }
    free(page.lines);
    return scroll;
}
