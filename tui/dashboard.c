/* dashboard.c - the interactive dashboard's main loop (see dashboard.h).
 *
 * One loop, htop's split: sample, decide, draw.
 *
 *   for (;;)
 *       draw the screen if something changed         (erase + doupdate: no flicker)
 *       getch() with a timeout until the next refresh (sleeps: no busy loop)
 *       a key -> keys_decode() -> one action handler -> "redraw" flag
 *       refresh time (and not paused) -> st_model_refresh -> rebuild -> redraw
 *
 * Nothing is drawn between those points, and nothing is refreshed because
 * of a key: the dashboard's own CPU is one model refresh and one frame per
 * interval, plus one frame per key.
 *
 * State kept across refreshes:
 *   - the table: NULL while the session does not exist yet (the waiting
 *     screen); after the session is removed the model keeps its last
 *     figures and says so, and we try to attach again on every refresh in
 *     case it comes back;
 *   - the selection: by position until the user moves it (so the top rows,
 *     the busiest, stay on screen), then by identity (an object's slot and
 *     creation time, a process's pid and start time), so it follows its row
 *     when the order changes;
 *   - per view, each section's sort column and scroll;
 *   - the history of each item's key figure (history.c), for sparklines;
 *   - under `synctop run --dashboard`, whether the command ended (asked of
 *     run_command.c through dashboard_command at every wake-up): once it
 *     has, one last refresh, then the figures stay as they were, frozen,
 *     and the header says how and when it ended until q.
 */
#include "config.h"

#include "dashboard.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <synctop/model.h>
#include <synctop/result.h>
#include <synctop/table.h>

#include "cli_text.h"
#include "detail_view.h"
#include "format.h"
#include "help.h"
#include "history.h"
#include "i18n.h"
#include "keys.h"
#include "list_panel.h"
#include "list_view.h"
#include "meters.h"
#include "screen.h"
#include "timeline.h"
#include "views.h"

#define VIEWS_MAX KEYS_MAX_VIEWS
#define HISTORY_SAMPLES 120          /* two minutes at the default refresh */
#define PROMPT_BYTES 64
#define MESSAGE_MS 3000
#define MAX_WAIT_MS 1000             /* getch wakes at least this often to see a stop signal */
#define DEADLOCK_BANNER_LINES 3
#define ENDED_TEXT_BYTES 96

typedef enum screen_mode { SHOW_LIST, SHOW_DETAIL, SHOW_HELP } screen_mode;
typedef enum prompt_kind { PROMPT_NONE, PROMPT_SEARCH, PROMPT_FILTER } prompt_kind;

/* Where things were drawn, for the mouse. */
typedef struct screen_layout {
    int tabs_y;
    int tab_x[VIEWS_MAX], tab_width[VIEWS_MAX];
    int section_y[VIEW_MAX_SECTIONS], section_height[VIEW_MAX_SECTIONS];
    int body_top, body_height;
} screen_layout;

typedef struct dashboard {
    const synctop_options *options;
    char session[ST_SESSION_NAME_MAX + 1];
    st_table *table;                    /* NULL: waiting for the session */
    char problem[256];                  /* why the session cannot be read, shown while waiting */
    st_model *model;
    history *past;

    /* Pointers into the model for the current refresh. */
    dataset data;
    size_t process_alloc, object_alloc, event_alloc;

    size_t view;
    list_section sections[VIEWS_MAX][VIEW_MAX_SECTIONS];
    size_t focus_section;
    size_t focus_row;
    bool has_selection;
    history_key selection;              /* the selected row's identity */
    bool follow;                        /* the user chose the row: keep it selected as the order changes */

    screen_mode mode;
    history_key detail;                 /* what the detail view shows */
    int detail_scroll;
    int help_scroll;

    prompt_kind prompt;
    char filter[PROMPT_BYTES];
    char search[PROMPT_BYTES];

    bool paused;
    bool timeline;
    double delay_s;
    uint64_t next_refresh_ms;
    long refreshes;

    char message[160];
    uint64_t message_until_ms;

    screen_layout layout;
    bool redraw;
    bool quit;

    const dashboard_command *command;   /* synctop run's command, or NULL */
    bool command_ended;                 /* then the figures are frozen */
    char ended_text[ENDED_TEXT_BYTES];  /* "COMMAND ENDED: ..." */
} dashboard;

static uint64_t now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

static void show_message(dashboard *d, const char *text)
{
    snprintf(d->message, sizeof d->message, "%s", text);
    d->message_until_ms = now_ms() + MESSAGE_MS;
}

static const view_spec *current_view(const dashboard *d)
{
    return views_get(d->view);
}

static size_t view_count(void)
{
    return views_count() < VIEWS_MAX ? views_count() : VIEWS_MAX;
}

/* ---- identity of rows ---------------------------------------------------------- */

static bool same_identity(const history_key *a, const history_key *b)
{
    return a->kind == b->kind && a->index == b->index && a->pid == b->pid && a->stamp == b->stamp;
}

/* The row of the current refresh with this identity, or false. */
static bool find_row(const dashboard *d, const history_key *key, list_row *out)
{
    if (key->kind == HISTORY_PROCESS) {
        for (size_t i = 0; i < d->data.process_count; i++) {
            list_row row = { .process = d->data.processes[i] };
            history_key candidate = detail_history_key(&row);
            if (same_identity(&candidate, key)) {
                *out = row;
                return true;
            }
        }
        return false;
    }
    for (size_t i = 0; i < d->data.object_count; i++) {
        list_row row = { .object = d->data.objects[i] };
        history_key candidate = detail_history_key(&row);
        if (same_identity(&candidate, key)) {
            *out = row;
            return true;
        }
    }
    return false;
}

/* ---- the model ----------------------------------------------------------------- */

static bool reserve_pointers(void *pointer_to_array, size_t *alloc, size_t need)
{
    void **array = pointer_to_array;
    if (need <= *alloc)
        return true;
    size_t grown = *alloc ? *alloc : 64;
    while (grown < need)
        grown *= 2;
    void *moved = realloc(*array, grown * sizeof(void *));
    if (moved == NULL)
        return false;
    *array = moved;
    *alloc = grown;
    return true;
}

/* Point the dataset at the model's current figures. */
static void rebuild_dataset(dashboard *d)
{
    dataset *data = &d->data;
    size_t processes = st_model_process_count(d->model);
    size_t objects = st_model_object_count(d->model);
    size_t events = st_model_event_count(d->model);
    if (!reserve_pointers(&data->processes, &d->process_alloc, processes))
        processes = d->process_alloc;
    if (!reserve_pointers(&data->objects, &d->object_alloc, objects))
        objects = d->object_alloc;
    if (!reserve_pointers(&data->events, &d->event_alloc, events))
        events = d->event_alloc;
    for (size_t i = 0; i < processes; i++)
        data->processes[i] = st_model_process(d->model, i);
    for (size_t i = 0; i < objects; i++)
        data->objects[i] = st_model_object(d->model, i);
    for (size_t i = 0; i < events; i++)
        data->events[i] = st_model_event(d->model, i);
    data->process_count = processes;
    data->object_count = objects;
    data->event_count = events;
}

/* One sample of every item's key figure. */
static void record_history(dashboard *d)
{
    history_begin_round(d->past);
    for (size_t i = 0; i < d->data.process_count + d->data.object_count; i++) {
        list_row row = { 0 };
        if (i < d->data.process_count)
            row.process = d->data.processes[i];
        else
            row.object = d->data.objects[i - d->data.process_count];
        cell_value value;
        column_value(views_key_figure(&row), &row, &d->data, &value);
        history_key key = detail_history_key(&row);
        history_record(d->past, &key, value.known ? value.number : 0.0);
    }
    history_end_round(d->past);
}

/* Attach to the session if it exists now. */
static void try_attach(dashboard *d)
{
    st_table *table = NULL;
    st_result result = st_table_attach_readonly(d->session, &table);
    if (result == ST_OK) {
        d->table = table;
        d->problem[0] = '\0';
        return;
    }
    if (result == ST_ENOENT) {
        d->problem[0] = '\0';
        return;
    }
    const char *detail = st_error_detail();
    snprintf(d->problem, sizeof d->problem, "the session exists but cannot be read: %s%s%.150s",
             st_strerror(result), detail[0] ? ": " : "", detail);
}

/* The session was removed: attach again if one of that name is back. */
static void try_reattach(dashboard *d)
{
    st_table *table = NULL;
    if (st_table_attach_readonly(d->session, &table) != ST_OK)
        return;
    if (st_table_is_removed(table)) {
        st_table_close(table);
        return;
    }
    st_table_close(d->table);
    d->table = table;
    show_message(d, _("the session is back: attached again"));
}

static void rebuild_view(dashboard *d);

static void refresh_model(dashboard *d)
{
    if (d->table == NULL)
        try_attach(d);
    else if (st_model_session_ended(d->model))
        try_reattach(d);
    bool was_ended = st_model_session_ended(d->model);
    st_result result = st_model_refresh(d->model, d->table);
    if (result != ST_OK) {
        const char *detail = st_error_detail();
        char text[160];
        snprintf(text, sizeof text, "cannot read the session: %s%s%.100s", st_strerror(result),
                 detail[0] ? ": " : "", detail);
        show_message(d, text);
    }
    rebuild_dataset(d);
    if (result == ST_OK && d->table != NULL && !st_model_session_ended(d->model))
        record_history(d);
    if (!was_ended && st_model_session_ended(d->model))
        show_message(d, _("the session ended"));
    d->refreshes++;
    rebuild_view(d);
    d->redraw = true;
}

/* ---- the current view's sections and the selection ------------------------------ */

static list_section *section_at(dashboard *d, size_t s)
{
    return &d->sections[d->view][s];
}

static const list_row *selected_row(dashboard *d)
{
    if (d->focus_section >= current_view(d)->section_count)
        return NULL;
    list_section *section = section_at(d, d->focus_section);
    return d->focus_row < section->row_count ? &section->rows[d->focus_row] : NULL;
}

static void remember_selection(dashboard *d)
{
    const list_row *row = selected_row(d);
    d->has_selection = row != NULL;
    if (row != NULL)
        d->selection = detail_history_key(row);
}

/* Rebuild the view's sections from the dataset, then find the selection
 * again (or the nearest row where it was). */
static void rebuild_view(dashboard *d)
{
    const view_spec *view = current_view(d);
    for (size_t s = 0; s < view->section_count; s++)
        if (!list_section_build(section_at(d, s), &d->data, d->filter))
            show_message(d, "out of memory: a table is not shown");

    /* Until the user picks a row, the cursor stays on the top row, so the
     * busiest rows are the ones on screen; after that it follows its row. */
    if (d->follow && d->has_selection) {
        for (size_t s = 0; s < view->section_count; s++) {
            list_section *section = section_at(d, s);
            for (size_t r = 0; r < section->row_count; r++) {
                history_key key = detail_history_key(&section->rows[r]);
                if (same_identity(&key, &d->selection)) {
                    d->focus_section = s;
                    d->focus_row = r;
                    return;
                }
            }
        }
    }
    /* Gone (or nothing was selected): the same place, or the first table with rows. */
    if (d->focus_section >= view->section_count || section_at(d, d->focus_section)->row_count == 0) {
        d->focus_section = 0;
        d->focus_row = 0;
        for (size_t s = 0; s < view->section_count; s++) {
            if (section_at(d, s)->row_count > 0) {
                d->focus_section = s;
                break;
            }
        }
    }
    list_section *section = section_at(d, d->focus_section);
    if (d->focus_row >= section->row_count)
        d->focus_row = section->row_count > 0 ? section->row_count - 1 : 0;
    remember_selection(d);
}

static void switch_view(dashboard *d, size_t view)
{
    if (view >= view_count() || view == d->view)
        return;
    d->view = view;
    d->focus_section = 0;
    d->focus_row = 0;
    d->mode = SHOW_LIST;
    rebuild_view(d);   /* finds the selection if this view shows it too */
    d->redraw = true;
}

/* Move the selection by delta rows, across the view's tables. */
static void move_selection(dashboard *d, long delta)
{
    const view_spec *view = current_view(d);
    /* Flatten: position = rows of the tables before + row. */
    size_t total = 0, position = 0;
    for (size_t s = 0; s < view->section_count; s++) {
        if (s == d->focus_section)
            position = total + d->focus_row;
        total += section_at(d, s)->row_count;
    }
    if (total == 0)
        return;
    long target = (long)position + delta;
    if (target < 0)
        target = 0;
    if (target >= (long)total)
        target = (long)total - 1;
    for (size_t s = 0; s < view->section_count; s++) {
        size_t rows = section_at(d, s)->row_count;
        if ((size_t)target < rows) {
            d->focus_section = s;
            d->focus_row = (size_t)target;
            break;
        }
        target -= (long)rows;
    }
    d->follow = true;
    remember_selection(d);
    d->redraw = true;
}

/* The next row matching the search, from the selection (itself included
 * when include_current), across the view's tables, wrapping around. */
static bool search_next(dashboard *d, bool include_current)
{
    if (d->search[0] == '\0')
        return false;
    const view_spec *view = current_view(d);
    size_t total = 0, position = 0;
    for (size_t s = 0; s < view->section_count; s++) {
        if (s == d->focus_section)
            position = total + d->focus_row;
        total += section_at(d, s)->row_count;
    }
    for (size_t step = include_current ? 0 : 1; step <= total; step++) {
        size_t target = (position + step) % (total ? total : 1);
        for (size_t s = 0; s < view->section_count; s++) {
            list_section *section = section_at(d, s);
            if (target < section->row_count) {
                if (list_row_matches(section->spec, &section->rows[target], &d->data, d->search)) {
                    d->focus_section = s;
                    d->focus_row = target;
                    d->follow = true;
                    remember_selection(d);
                    return true;
                }
                break;
            }
            target -= section->row_count;
        }
    }
    return false;
}

static void sort_focused(dashboard *d, int step, bool invert, long column)
{
    if (d->focus_section >= current_view(d)->section_count)
        return;
    list_section *section = section_at(d, d->focus_section);
    size_t columns = section->spec->column_count;
    if (invert) {
        section->sort_descending = !section->sort_descending;
    } else if (column >= 0) {
        if ((size_t)column == section->sort_column)
            section->sort_descending = !section->sort_descending;
        else
            section->sort_column = (size_t)column;
    } else {
        section->sort_column = (section->sort_column + columns + (size_t)(long)step) % columns;
    }
    rebuild_view(d);
    char text[96];
    snprintf(text, sizeof text, _("sorted by %s, %s"), _(section->spec->columns[section->sort_column].title),
             section->sort_descending ? _("largest first") : _("smallest first"));
    show_message(d, text);
    d->redraw = true;
}

/* ---- drawing ---------------------------------------------------------------------- */

static void draw_tabs(dashboard *d, int y)
{
    screen_layout *layout = &d->layout;
    layout->tabs_y = y;
    /* Full names if they fit, else short ones. */
    bool short_names = false;
    int needed = 0;
    for (size_t v = 0; v < view_count(); v++)
        needed += screen_text_width(_(views_get(v)->name)) + 3;
    if (needed > COLS)
        short_names = true;
    int x = 0;
    for (size_t v = 0; v < view_count(); v++) {
        const view_spec *view = views_get(v);
        char tab[40];
        snprintf(tab, sizeof tab, "%zu %s", v + 1, _(short_names ? view->short_name : view->name));
        layout->tab_x[v] = x;
        layout->tab_width[v] = screen_text_width(tab);
        x += screen_put(y, x, COLS - x, screen_attr(v == d->view ? ROLE_TAB_ACTIVE : ROLE_TAB), tab);
        x += 1;
    }
    /* The filter and the latest message at the right end. */
    char right[256] = "";
    if (d->message[0] != '\0' && now_ms() < d->message_until_ms)
        snprintf(right, sizeof right, "%s", d->message);
    else if (d->filter[0] != '\0')
        snprintf(right, sizeof right, _("filter: %s"), d->filter);
    int width = screen_text_width(right);
    if (width > 0 && x + width + 1 < COLS)
        screen_put(y, COLS - width - 1, width, screen_attr(d->filter[0] ? ROLE_WARN : ROLE_DIM), right);
}

/* Lines of text cut at spaces to fit width; returns how many (at most max). */
static int wrap_text(const char *text, int width, char lines[][512], int max)
{
    int count = 0;
    while (*text != '\0' && count < max) {
        int length = (int)strlen(text);
        int take = (int)format_fit_cells(text, width, NULL);   /* display cells, whole characters */
        if (take < length) {
            int space = take;
            while (space > width / 2 && text[space] != ' ')
                space--;
            if (text[space] == ' ')
                take = space;
        }
        if (take > 511)
            take = 511;
        memcpy(lines[count], text, (size_t)take);
        lines[count][take] = '\0';
        count++;
        text += take;
        while (*text == ' ')
            text++;
    }
    return count;
}

/* The red banner naming every wait-for cycle: who waits for which lock
 * held by whom, around the cycle. */
static int draw_deadlocks(dashboard *d, int y)
{
    size_t cycles = st_model_deadlock_count(d->model);
    int lines = 0;
    for (size_t c = 0; c < cycles && lines < DEADLOCK_BANNER_LINES; c++) {
        const st_deadlock_view *cycle = st_model_deadlock(d->model, c);
        if (cycle == NULL || cycle->length == 0)
            continue;
        char text[2048], unit[FORMAT_BUFFER_BYTES];
        uint32_t length = cycle->length < ST_DEADLOCK_MAX_CYCLE ? cycle->length : ST_DEADLOCK_MAX_CYCLE;
        size_t used = (size_t)snprintf(text, sizeof text, _("DEADLOCK for %s: %s (%ld)"),
                                       format_duration_ns(cycle->for_ns, unit), cycle->process_names[0],
                                       (long)cycle->pids[0]);
        for (uint32_t i = 0; i < length && used < sizeof text; i++) {
            uint32_t holder = (i + 1) % length;
            used += (size_t)snprintf(text + used, sizeof text - used, _("%s waits for %s held by %s (%ld)"),
                                     i ? _(", which") : "", cycle->locks[i], cycle->process_names[holder],
                                     (long)cycle->pids[holder]);
        }
        if (c + 1 < cycles && used < sizeof text)
            snprintf(text + used, sizeof text - used, _("   [%zu cycles]"), cycles);
        char wrapped[DEADLOCK_BANNER_LINES][512];
        int count = wrap_text(text, COLS - 2, wrapped, DEADLOCK_BANNER_LINES - lines);
        for (int i = 0; i < count; i++) {
            screen_fill(y + lines, 0, COLS, screen_attr(ROLE_BANNER));
            screen_put(y + lines, 1, COLS - 1, screen_attr(ROLE_BANNER), wrapped[i]);
            lines++;
        }
    }
    return lines;
}

static void draw_waiting(dashboard *d, int y, int height)
{
    const char *lines[12];
    char first[160], second[200], third[200];
    int count = 0;
    snprintf(first, sizeof first, _("Waiting for session '%s' to appear ..."), d->session);
    lines[count++] = first;
    lines[count++] = "";
    if (d->problem[0] != '\0') {
        lines[count++] = d->problem;
        lines[count++] = "";
    }
    lines[count++] = _("No process has created it yet. Start a workload, for example:");
    lines[count++] = "";
    if (strcmp(d->session, ST_DEFAULT_SESSION) == 0) {
        snprintf(second, sizeof second, "    synctop-demo race");
        snprintf(third, sizeof third, "%s", _("    (or: synctop-demo race --session NAME, then synctop -s NAME)"));
    } else {
        snprintf(second, sizeof second, "    synctop-demo race --session %s", d->session);
        snprintf(third, sizeof third, _("    (or any program using libsynctop with SYNCTOP_SESSION=%s)"), d->session);
    }
    lines[count++] = second;
    lines[count++] = third;
    lines[count++] = "";
    lines[count++] = _("The dashboard attaches as soon as the session exists. F1 help, q quits.");
    int top = y + (height - count) / 3;
    if (top < y)
        top = y;
    for (int i = 0; i < count && top + i < y + height; i++)
        screen_put(top + i, 2, COLS - 2, screen_attr(i == 0 ? ROLE_TITLE : ROLE_NORMAL), lines[i]);
}

static void draw_list(dashboard *d, int y, int height)
{
    const view_spec *view = current_view(d);
    size_t rows[VIEW_MAX_SECTIONS];
    int heights[VIEW_MAX_SECTIONS];
    size_t total = 0;
    for (size_t s = 0; s < view->section_count; s++) {
        rows[s] = section_at(d, s)->row_count;
        total += rows[s];
    }
    list_layout_sections(rows, view->section_count, d->focus_section, height, heights);
    int at = y;
    for (size_t s = 0; s < view->section_count; s++) {
        d->layout.section_y[s] = at;
        d->layout.section_height[s] = heights[s];
        if (heights[s] == 0)
            continue;
        list_panel_draw(section_at(d, s), &d->data, at, heights[s], COLS,
                        s == d->focus_section ? (long)d->focus_row : -1);
        at += heights[s];
    }
    if (total > 0)
        return;
    char text[200];
    if (d->filter[0] != '\0')
        snprintf(text, sizeof text, _("Nothing here matches the filter '%s' (F4 to change it, Esc to clear it)."),
                 d->filter);
    else if (d->view == 0)
        snprintf(text, sizeof text, "%s", _("The session has no processes or objects yet."));
    else
        snprintf(text, sizeof text, _("No %s in this session (%s)."), _(view->name), _(view->description));
    screen_put(y + 1, 2, COLS - 2, screen_attr(ROLE_DIM), text);
}

typedef struct function_key {
    const char *key;
    const char *label;
} function_key;

static void draw_function_bar(dashboard *d, int y)
{
    if (d->prompt != PROMPT_NONE) {
        const char *what = d->prompt == PROMPT_SEARCH ? _("Search: ") : _("Filter: ");
        const char *text = d->prompt == PROMPT_SEARCH ? d->search : d->filter;
        screen_fill(y, 0, COLS, screen_attr(ROLE_KEY_LABEL));
        int x = screen_put(y, 0, COLS, screen_attr(ROLE_KEY), what);
        x += screen_put(y, x, COLS - x, screen_attr(ROLE_KEY_LABEL), text);
        screen_put(y, x, 1, screen_attr(ROLE_KEY), "_");
        const char *hint = d->prompt == PROMPT_SEARCH ? _("Enter done  F3 next  Esc cancel") : _("Enter keep  Esc clear");
        int width = (int)strlen(hint);
        if (x + width + 4 < COLS)
            screen_put(y, COLS - width - 1, width, screen_attr(ROLE_KEY_LABEL), hint);
        return;
    }
    static const function_key list_keys[] = {
        { "F1", N_("Help") }, { "F3", N_("Search") }, { "F4", N_("Filter") }, { "F6", N_("SortBy") }, { "Enter", N_("Detail") },
        { "t", N_("Timeline") }, { "p", N_("Pause") }, { "F10", N_("Quit") },
    };
    static const function_key detail_keys[] = {
        { "Esc", N_("Back") }, { "Up/Dn", N_("Scroll") }, { "t", N_("Timeline") }, { "p", N_("Pause") }, { "F1", N_("Help") },
        { "F10", "Quit" },
    };
    static const function_key help_keys[] = {
        { "Esc", N_("Close") }, { "Up/Dn", N_("Scroll") }, { "PgUp/PgDn", N_("Page") }, { "F10", N_("Quit") },
    };
    const function_key *keys = list_keys;
    size_t count = sizeof list_keys / sizeof list_keys[0];
    if (d->mode == SHOW_DETAIL) {
        keys = detail_keys;
        count = sizeof detail_keys / sizeof detail_keys[0];
    } else if (d->mode == SHOW_HELP) {
        keys = help_keys;
        count = sizeof help_keys / sizeof help_keys[0];
    }
    screen_fill(y, 0, COLS, screen_attr(ROLE_KEY_LABEL));
    int x = 0;
    for (size_t i = 0; i < count && x < COLS; i++) {
        x += screen_put(y, x, COLS - x, screen_attr(ROLE_KEY), keys[i].key);
        char label[24];
        snprintf(label, sizeof label, "%-6s ", _(keys[i].label));
        x += screen_put(y, x, COLS - x, screen_attr(ROLE_KEY_LABEL), label);
    }
}

static void draw(dashboard *d)
{
    erase();
    if (LINES < 5 || COLS < 20) {
        screen_put(0, 0, COLS, A_BOLD, _("synctop: terminal too small"));
        wnoutrefresh(stdscr);
        doupdate();
        return;
    }
    bool waiting = d->table == NULL;
    bool ended = !waiting && st_model_session_ended(d->model);
    meters_status status = {
        .session = d->session,
        .status = waiting ? N_("WAITING") : ended ? N_("SESSION ENDED") : d->paused ? N_("PAUSED") : N_("LIVE"),
        .status_role = waiting || d->paused ? ROLE_STATUS_PAUSED : ended ? ROLE_STATUS_ENDED : ROLE_STATUS_LIVE,
        .delay_s = d->delay_s,
    };
    if (d->command_ended) {
        status.status = d->ended_text;
        status.status_role = ROLE_STATUS_ENDED;
    }
    int y = 0;
    int header = meters_height(d->model, &d->data, COLS);
    if (header > LINES / 2)
        header = LINES / 2;   /* a tiny terminal keeps room for the list */
    meters_draw(d->model, &d->data, &status, COLS);
    y += header;
    draw_tabs(d, y++);
    y += draw_deadlocks(d, y);
    if (ended) {
        char text[200];
        snprintf(text, sizeof text,
                 _(" SESSION ENDED: '%s' was removed. These are its last figures; synctop attaches again if it "
                 "comes back."), d->session);
        screen_fill(y, 0, COLS, screen_attr(ROLE_STATUS_ENDED));
        screen_put(y++, 0, COLS, screen_attr(ROLE_STATUS_ENDED), text);
    }
    if (d->command_ended) {
        char text[200];
        snprintf(text, sizeof text, " %s. These are its last figures (no more refreshes); q quits.",
                 d->ended_text);
        screen_fill(y, 0, COLS, screen_attr(ROLE_STATUS_ENDED));
        screen_put(y++, 0, COLS, screen_attr(ROLE_STATUS_ENDED), text);
    }
    int bottom = LINES - 1;   /* the function bar */
    int body = bottom - y;
    d->layout.body_top = y;
    d->layout.body_height = body;
    for (size_t s = 0; s < VIEW_MAX_SECTIONS; s++)
        d->layout.section_height[s] = 0;

    if (d->mode == SHOW_HELP) {
        d->help_scroll = help_draw(y, body, COLS, d->help_scroll, st_model_starvation_threshold(d->model));
    } else if (waiting) {
        draw_waiting(d, y, body);
    } else {
        int pane = 0;
        if (d->timeline && body >= 8) {
            pane = body / 3 > 4 ? body / 3 : 4;
            timeline_draw(&d->data, bottom - pane, pane, COLS);
        }
        if (d->mode == SHOW_DETAIL) {
            list_row row;
            bool exists = find_row(d, &d->detail, &row);
            d->detail_scroll = detail_draw(exists ? &row : NULL, &d->data, d->past, y, body - pane, COLS,
                                           d->detail_scroll);
        } else {
            draw_list(d, y, body - pane);
        }
    }
    draw_function_bar(d, bottom);
    wnoutrefresh(stdscr);
    doupdate();
}

/* ---- input ------------------------------------------------------------------------ */

static const double delay_steps[] = { 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0 };
#define DELAY_STEP_COUNT (sizeof delay_steps / sizeof delay_steps[0])

static void change_delay(dashboard *d, bool faster)
{
    double delay = d->delay_s;
    if (faster) {
        for (size_t i = DELAY_STEP_COUNT; i > 0; i--) {
            if (delay_steps[i - 1] < delay - 1e-9) {
                delay = delay_steps[i - 1];
                break;
            }
        }
    } else {
        for (size_t i = 0; i < DELAY_STEP_COUNT; i++) {
            if (delay_steps[i] > delay + 1e-9) {
                delay = delay_steps[i];
                break;
            }
        }
    }
    d->delay_s = delay;
    d->next_refresh_ms = now_ms() + (uint64_t)(delay * 1000.0);
    char text[64];
    snprintf(text, sizeof text, _("refresh every %.3g s"), delay);
    show_message(d, text);
}

static int page_rows(const dashboard *d)
{
    int rows = d->layout.section_height[d->focus_section] - 1;
    if (rows < 1)
        rows = d->layout.body_height - 1;
    return rows > 1 ? rows : 1;
}

/* Up, down and pages scroll a page in the detail and help screens. */
static void scroll_page(dashboard *d, int lines)
{
    int *scroll = d->mode == SHOW_HELP ? &d->help_scroll : &d->detail_scroll;
    *scroll += lines;
    if (*scroll < 0)
        *scroll = 0;
    d->redraw = true;
}

static void handle_action(dashboard *d, action what)
{
    bool paging = d->mode != SHOW_LIST;
    int page = d->layout.body_height > 2 ? d->layout.body_height - 1 : 1;
    switch (what) {
    case ACTION_NONE:
        return;
    case ACTION_QUIT:
        d->quit = true;
        return;
    case ACTION_HELP:
        d->mode = d->mode == SHOW_HELP ? SHOW_LIST : SHOW_HELP;
        d->help_scroll = 0;
        break;
    case ACTION_UP:
        if (paging)
            scroll_page(d, -1);
        else
            move_selection(d, -1);
        break;
    case ACTION_DOWN:
        if (paging)
            scroll_page(d, 1);
        else
            move_selection(d, 1);
        break;
    case ACTION_PAGE_UP:
        if (paging)
            scroll_page(d, -page);
        else
            move_selection(d, -page_rows(d));
        break;
    case ACTION_PAGE_DOWN:
        if (paging)
            scroll_page(d, page);
        else
            move_selection(d, page_rows(d));
        break;
    case ACTION_HOME:
        if (paging)
            scroll_page(d, -1000000);
        else
            move_selection(d, -1000000);
        break;
    case ACTION_END:
        if (paging)
            scroll_page(d, 1000000);
        else
            move_selection(d, 1000000);
        break;
    case ACTION_ENTER: {
        const list_row *row = d->mode == SHOW_LIST ? selected_row(d) : NULL;
        if (row != NULL) {
            d->detail = detail_history_key(row);
            d->detail_scroll = 0;
            d->mode = SHOW_DETAIL;
        }
        break;
    }
    case ACTION_BACK:
        if (d->mode != SHOW_LIST) {
            d->mode = SHOW_LIST;
        } else if (d->filter[0] != '\0') {
            d->filter[0] = '\0';
            rebuild_view(d);
            show_message(d, _("filter cleared"));
        }
        break;
    case ACTION_SEARCH:
        d->mode = SHOW_LIST;
        d->prompt = PROMPT_SEARCH;
        d->search[0] = '\0';
        break;
    case ACTION_SEARCH_NEXT:
        if (d->mode == SHOW_LIST && d->search[0] != '\0' && !search_next(d, false))
            show_message(d, _("no match"));
        break;
    case ACTION_FILTER:
        d->mode = SHOW_LIST;
        d->prompt = PROMPT_FILTER;
        break;
    case ACTION_SORT_NEXT:
        sort_focused(d, 1, false, -1);
        break;
    case ACTION_SORT_PREVIOUS:
        sort_focused(d, -1, false, -1);
        break;
    case ACTION_SORT_INVERT:
        sort_focused(d, 0, true, -1);
        break;
    case ACTION_PAUSE:
        d->paused = !d->paused;
        if (!d->paused)
            d->next_refresh_ms = now_ms();   /* catch up at once */
        break;
    case ACTION_FASTER:
        change_delay(d, true);
        break;
    case ACTION_SLOWER:
        change_delay(d, false);
        break;
    case ACTION_TIMELINE:
        d->timeline = !d->timeline;
        break;
    case ACTION_NEXT_VIEW:
        switch_view(d, (d->view + 1) % view_count());
        break;
    case ACTION_PREVIOUS_VIEW:
        switch_view(d, (d->view + view_count() - 1) % view_count());
        break;
    case ACTION_RESIZE:
        break;
    case ACTION_REDRAW:
        clearok(curscr, TRUE);
        break;
    case ACTION_MOUSE:
        break;   /* handled by handle_mouse */
    default:
        if (what >= ACTION_VIEW_FIRST && (size_t)(what - ACTION_VIEW_FIRST) < view_count())
            switch_view(d, (size_t)(what - ACTION_VIEW_FIRST));
        break;
    }
    d->redraw = true;
}

/* A key while the search or filter prompt is open: the key is text. */
static void handle_prompt_key(dashboard *d, int key)
{
    bool search = d->prompt == PROMPT_SEARCH;
    char *text = search ? d->search : d->filter;
    size_t length = strlen(text);
    d->redraw = true;
    if (key == 27) {                     /* Esc: cancel */
        if (!search) {
            text[0] = '\0';
            rebuild_view(d);
        }
        d->prompt = PROMPT_NONE;
        return;
    }
    if (key == '\n' || key == '\r' || key == KEY_ENTER) {
        d->prompt = PROMPT_NONE;
        return;
    }
    if (key == KEY_F(3) && search) {
        if (!search_next(d, false))
            show_message(d, _("no match"));
        return;
    }
    if (key == KEY_BACKSPACE || key == 127 || key == 8) {
        if (length > 0)
            text[length - 1] = '\0';
    } else if (key >= 32 && key < 127 && length + 1 < PROMPT_BYTES) {
        text[length] = (char)key;
        text[length + 1] = '\0';
    } else if (key == KEY_RESIZE) {
        return;
    } else {
        return;
    }
    if (search) {
        if (!search_next(d, true) && d->search[0] != '\0')
            show_message(d, _("no match"));
    } else {
        rebuild_view(d);
    }
}

static void handle_mouse(dashboard *d)
{
    MEVENT event;
    if (getmouse(&event) != OK)
        return;
    d->redraw = true;
#ifdef BUTTON5_PRESSED
    if (event.bstate & BUTTON5_PRESSED) {
        handle_action(d, ACTION_DOWN);
        return;
    }
#endif
    if (event.bstate & BUTTON4_PRESSED) {
        handle_action(d, ACTION_UP);
        return;
    }
    if (!(event.bstate & BUTTON1_PRESSED))
        return;
    const screen_layout *layout = &d->layout;
    if (event.y == layout->tabs_y) {
        for (size_t v = 0; v < view_count(); v++)
            if (event.x >= layout->tab_x[v] && event.x < layout->tab_x[v] + layout->tab_width[v])
                switch_view(d, v);
        return;
    }
    if (d->mode != SHOW_LIST)
        return;
    const view_spec *view = current_view(d);
    for (size_t s = 0; s < view->section_count; s++) {
        int top = layout->section_y[s], height = layout->section_height[s];
        if (height == 0 || event.y < top || event.y >= top + height)
            continue;
        list_section *section = section_at(d, s);
        if (event.y == top) {   /* the header: sort by the column clicked */
            long column = list_panel_column_at(section->spec, COLS, event.x);
            if (column >= 0) {
                d->focus_section = s;
                d->focus_row = 0;
                remember_selection(d);
                sort_focused(d, 0, false, column);
            }
            return;
        }
        size_t row = section->scroll + (size_t)(event.y - top - 1);
        if (row < section->row_count) {
            d->focus_section = s;
            d->focus_row = row;
            d->follow = true;
            remember_selection(d);
        }
        return;
    }
}

/* ---- the loop ------------------------------------------------------------------------ */

static void dashboard_free(dashboard *d)
{
    for (size_t v = 0; v < VIEWS_MAX; v++)
        for (size_t s = 0; s < VIEW_MAX_SECTIONS; s++)
            list_section_free(&d->sections[v][s]);
    free(d->data.processes);
    free(d->data.objects);
    free(d->data.events);
    history_free(d->past);
    st_model_free(d->model);
    if (d->table != NULL)
        st_table_close(d->table);
}

static bool dashboard_init(dashboard *d, const synctop_options *options)
{
    memset(d, 0, sizeof *d);
    d->options = options;
    d->delay_s = options->delay_s;
    for (size_t v = 0; v < view_count(); v++) {
        const view_spec *view = views_get(v);
        for (size_t s = 0; s < view->section_count && s < VIEW_MAX_SECTIONS; s++)
            list_section_init(&d->sections[v][s], view->sections[s]);
    }
    st_result result = st_model_new(&d->model);
    if (result != ST_OK) {
        fprintf(stderr, "synctop: cannot build a model: %s\n", st_strerror(result));
        return false;
    }
    d->past = history_new(HISTORY_SAMPLES);
    if (d->past == NULL) {
        fprintf(stderr, "synctop: out of memory\n");
        return false;
    }
    return true;
}

/* Wait for a key until the next refresh is due; ERR when none came. */
static int wait_for_key(dashboard *d)
{
    uint64_t now = now_ms();
    long wait = MAX_WAIT_MS;
    if (!d->paused && !d->command_ended)
        wait = d->next_refresh_ms > now ? (long)(d->next_refresh_ms - now) : 0;
    if (wait > MAX_WAIT_MS)
        wait = MAX_WAIT_MS;
    if (d->message[0] != '\0' && d->message_until_ms > now && (long)(d->message_until_ms - now) < wait)
        wait = (long)(d->message_until_ms - now) + 1;   /* wake to take the message away */
    timeout((int)wait);
    return getch();
}

/* Whether synctop run's command ended just now: then the last figures. */
static void check_command(dashboard *d)
{
    if (d->command == NULL || d->command_ended)
        return;
    if (!d->command->ended(d->command->context, d->ended_text, sizeof d->ended_text))
        return;
    refresh_model(d);          /* the figures at the end, the command's own exit among them */
    d->command_ended = true;   /* and no more after them */
    d->redraw = true;
}

int dashboard_run(const synctop_options *options)
{
    return dashboard_run_command(options, NULL);
}

int dashboard_run_command(const synctop_options *options, const dashboard_command *command)
{
    dashboard *d = calloc(1, sizeof *d);
    if (d == NULL) {
        fputs("synctop: out of memory\n", stderr);
        return 1;
    }
    char session[ST_SESSION_NAME_MAX + 1];
    char problem[CLI_MESSAGE_BYTES];
    if (!cli_resolve_session(options->session, session, problem, sizeof problem)) {
        fprintf(stderr, "synctop: %s\n", problem);
        options_print_usage(stderr);
        free(d);
        return 2;
    }
    if (!dashboard_init(d, options) || !screen_open(!options->no_color, options->ascii)) {
        dashboard_free(d);
        free(d);
        return 1;
    }
    memcpy(d->session, session, sizeof session);
    d->command = command;

    refresh_model(d);
    check_command(d);
    d->next_refresh_ms = now_ms() + (uint64_t)(d->delay_s * 1000.0);
    bool message_shown = false;
    while (!d->quit && !screen_stop_requested()) {
        if (d->redraw) {
            draw(d);
            d->redraw = false;
            message_shown = d->message[0] != '\0' && now_ms() < d->message_until_ms;
        }
        if (options->iterations > 0 && d->refreshes >= options->iterations)
            break;
        int key = wait_for_key(d);
        if (key != ERR) {
            if (d->prompt != PROMPT_NONE && key != KEY_MOUSE && key != KEY_RESIZE)
                handle_prompt_key(d, key);
            else if (key == KEY_MOUSE)
                handle_mouse(d);
            else
                handle_action(d, keys_decode(key));
        }
        check_command(d);
        uint64_t now = now_ms();
        if (!d->paused && !d->command_ended && now >= d->next_refresh_ms) {
            refresh_model(d);
            d->next_refresh_ms += (uint64_t)(d->delay_s * 1000.0);
            if (d->next_refresh_ms <= now)
                d->next_refresh_ms = now + (uint64_t)(d->delay_s * 1000.0);
        }
        if (message_shown && now >= d->message_until_ms)
            d->redraw = true;   /* the message expired */
    }
    screen_close();
    dashboard_free(d);
    free(d);
    return 0;
}
