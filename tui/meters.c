/* meters.c - the header: CPU and memory bars, session, status, counts,
 * load and uptime (see meters.h).
 *
 *     0[|||||||            23.5%]   Session: race  LIVE 1.0s
 *     1[||                  6.1%]   Processes: 5, 2 blocked
 *   Mem[||||||||   1.2GiB/3.8GiB]   Objects: 4: 2 lock, 1 queue, 1 event
 *                                   Load average: 0.52 0.40 0.31
 *                                   Uptime: 3h07m
 *
 * CPUs are laid out one per line up to four, then in two or four columns
 * of bars; past 32 CPUs only the average bar is drawn (the per-CPU bars
 * would be too thin to read). Bars are coloured by how busy they are.
 */
#include "config.h"

#include "meters.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "i18n.h"

#define RIGHT_LINES_MAX 6

/* How the CPU bars are arranged: rows x columns of bars, or one average. */
typedef struct cpu_layout {
    int bars;          /* per-CPU bars drawn; 0: only the average */
    int columns;
    int rows;
} cpu_layout;

static cpu_layout layout_cpus(const st_system_view *system)
{
    cpu_layout layout = { 0, 1, 1 };
    int count = (int)system->per_cpu_count;
    if (count <= 0 || count > 32)
        return layout;
    layout.bars = count;
    while ((count + layout.columns - 1) / layout.columns > 4 && layout.columns < 4)
        layout.columns *= 2;
    layout.rows = (count + layout.columns - 1) / layout.columns;
    return layout;
}

/* One meter: "label[|||||     text]" in width columns. */
static void draw_meter(int y, int x, int width, const char *label, double fraction, const char *text)
{
    int label_width = (int)strlen(label);
    screen_put(y, x, label_width, screen_attr(ROLE_METER_LABEL), label);
    int inner = width - label_width - 2;
    if (inner < 1)
        return;
    screen_put(y, x + label_width, 1, screen_attr(ROLE_METER_BRACKET), "[");
    screen_put(y, x + label_width + 1 + inner, 1, screen_attr(ROLE_METER_BRACKET), "]");
    if (!isfinite(fraction) || fraction < 0)
        fraction = 0;
    if (fraction > 1)
        fraction = 1;
    int bars = (int)(fraction * inner + 0.5);
    int text_width = (int)strlen(text);
    screen_role role = fraction >= 0.85 ? ROLE_METER_HIGH : fraction >= 0.6 ? ROLE_METER_MID : ROLE_METER_LOW;
    char line[512];
    if (inner >= (int)sizeof line)
        inner = (int)sizeof line - 1;
    for (int i = 0; i < inner; i++)
        line[i] = i < bars ? '|' : ' ';
    line[inner] = '\0';
    screen_put(y, x + label_width + 1, inner, screen_attr(role), line);
    if (text_width < inner)
        screen_put(y, x + label_width + 1 + inner - text_width, text_width, screen_attr(ROLE_DIM), text);
}

static int draw_cpus(const st_system_view *system, int y, int x, int width)
{
    cpu_layout layout = layout_cpus(system);
    /* Room for any double the format can produce: %.1f of a corrupt 1e300
     * is long, and the compiler rightly asks for the room. */
    char label[16], text[400];
    if (layout.bars == 0) {
        snprintf(text, sizeof text, "%.1f%%", system->cpu_percent);
        draw_meter(y, x, width, "CPU", system->cpu_percent / 100.0, text);
        return 1;
    }
    int column_width = (width + 1) / layout.columns - 1;
    for (int cpu = 0; cpu < layout.bars; cpu++) {
        int row = cpu % layout.rows, column = cpu / layout.rows;
        double percent = system->cpu_percent_per_cpu[cpu];
        snprintf(label, sizeof label, "%3d", cpu);
        snprintf(text, sizeof text, "%.1f%%", percent);
        draw_meter(y + row, x + column * (column_width + 1), column_width, label, percent / 100.0, text);
    }
    return layout.rows;
}

static void draw_memory(const st_system_view *system, int y, int x, int width)
{
    uint64_t total = system->mem_total_bytes;
    uint64_t used = total > system->mem_available_bytes ? total - system->mem_available_bytes : 0;
    char used_text[FORMAT_BUFFER_BYTES], total_text[FORMAT_BUFFER_BYTES], text[2 * FORMAT_BUFFER_BYTES];
    snprintf(text, sizeof text, "%s/%s", format_bytes(used, used_text), format_bytes(total, total_text));
    draw_meter(y, x, width, "Mem", total ? (double)used / (double)total : 0.0, text);
}

/* "4: 2 lock, 1 queue, 1 event": objects by kind, the most numerous first. */
static void objects_by_kind(const dataset *data, char *out, size_t size)
{
    const char *kinds[32];
    size_t counts[32];
    size_t kind_count = 0;
    for (size_t i = 0; i < data->object_count; i++) {
        const char *type = data->objects[i]->type_name ? data->objects[i]->type_name : "?";
        size_t k = 0;
        while (k < kind_count && strcmp(kinds[k], type) != 0)
            k++;
        if (k == kind_count) {
            if (kind_count == sizeof kinds / sizeof kinds[0])
                continue;
            kinds[kind_count] = type;
            counts[kind_count++] = 0;
        }
        counts[k]++;
    }
    /* Stable insertion sort by count, descending: ties keep first-seen order. */
    for (size_t i = 1; i < kind_count; i++) {
        for (size_t j = i; j > 0 && counts[j] > counts[j - 1]; j--) {
            size_t count = counts[j];
            const char *kind = kinds[j];
            counts[j] = counts[j - 1];
            kinds[j] = kinds[j - 1];
            counts[j - 1] = count;
            kinds[j - 1] = kind;
        }
    }
    size_t used = (size_t)snprintf(out, size, "%zu", data->object_count);
    for (size_t k = 0; k < kind_count && used < size; k++)
        used += (size_t)snprintf(out + used, size - used, "%s%zu %s", k == 0 ? ": " : ", ", counts[k], kinds[k]);
}

/* Split text after the last ", " that keeps the first part within room;
 * returns where the rest starts, or NULL when it fits (or cannot split). */
static char *split_list(char *text, int room)
{
    if ((int)strlen(text) <= room)
        return NULL;
    char *cut = NULL;
    for (char *at = strstr(text, ", "); at != NULL && at - text + 1 <= room; at = strstr(at + 1, ", "))
        cut = at;
    if (cut == NULL)
        return NULL;
    cut[1] = '\0';   /* keep the comma */
    return cut + 2;
}

/* The right-hand lines: label and text of each. */
typedef struct info_line {
    const char *label;
    char text[160];
} info_line;

static int right_lines(const st_model *model, const dataset *data, int width, info_line *lines)
{
    const st_system_view *system = st_model_system(model);
    int count = 0;
    lines[count].label = _("Session: ");
    lines[count++].text[0] = '\0';   /* drawn specially: name and status */

    size_t blocked = 0, starving = 0, deadlocked = 0;
    for (size_t i = 0; i < data->process_count; i++) {
        blocked += data->processes[i]->blocked;
        starving += data->processes[i]->starving;
        deadlocked += data->processes[i]->deadlocked;
    }
    info_line *line = &lines[count++];
    line->label = _("Processes: ");
    int used = snprintf(line->text, sizeof line->text, "%zu", data->process_count);
    if (blocked)
        used += snprintf(line->text + used, sizeof line->text - (size_t)used, _(", %zu blocked"), blocked);
    if (starving)
        used += snprintf(line->text + used, sizeof line->text - (size_t)used, _(", %zu starving"), starving);
    if (deadlocked)
        snprintf(line->text + used, sizeof line->text - (size_t)used, _(", %zu deadlocked"), deadlocked);

    line = &lines[count++];
    line->label = _("Objects: ");
    objects_by_kind(data, line->text, sizeof line->text);
    /* A long list continues on a second line, split between kinds; what
     * still does not fit ends in "..." */
    int room = width - (int)strlen(line->label);
    char *rest = split_list(line->text, room);
    if (rest != NULL) {
        info_line *more = &lines[count++];
        more->label = "         ";
        snprintf(more->text, sizeof more->text, "%s", rest);
        if ((int)strlen(more->text) > room && room > 3)
            snprintf(more->text + room - 3, sizeof more->text - (size_t)(room - 3), "...");
    }

    line = &lines[count++];
    line->label = _("Load average: ");
    snprintf(line->text, sizeof line->text, "%.2f %.2f %.2f", system->load[0], system->load[1], system->load[2]);

    line = &lines[count++];
    line->label = _("Uptime: ");
    char uptime[FORMAT_BUFFER_BYTES];
    snprintf(line->text, sizeof line->text, "%s", format_uptime(system->uptime_s, uptime));
    return count;
}

/* Left and right halves, or one above the other on a narrow terminal. */
static bool side_by_side(int width)
{
    return width >= 60;
}

int meters_height(const st_model *model, const dataset *data, int width)
{
    const st_system_view *system = st_model_system(model);
    int left = layout_cpus(system).rows + 1;
    int right_width = side_by_side(width) ? width - width / 2 - 1 : width;
    info_line lines[RIGHT_LINES_MAX];
    int right = right_lines(model, data, right_width, lines);
    return side_by_side(width) ? (left > right ? left : right) : left + right;
}

void meters_draw(const st_model *model, const dataset *data, const meters_status *status, int width)
{
    const st_system_view *system = st_model_system(model);
    bool two_sides = side_by_side(width);
    int left_width = two_sides ? width / 2 - 1 : width;
    int rows = draw_cpus(system, 0, 0, left_width);
    draw_memory(system, rows, 0, left_width);

    int right_x = two_sides ? width / 2 + 1 : 0;
    int right_y = two_sides ? 0 : rows + 1;
    int right_width = width - right_x;
    info_line lines[RIGHT_LINES_MAX];
    int count = right_lines(model, data, right_width, lines);
    for (int i = 0; i < count; i++) {
        int y = right_y + i;
        int x = right_x + screen_put(y, right_x, right_width, screen_attr(ROLE_METER_LABEL), lines[i].label);
        if (i == 0) {
            x += screen_put(y, x, right_x + right_width - x, screen_attr(ROLE_TITLE), status->session);
            char badge[112];
            if (strcmp(status->status, "LIVE") == 0)
                snprintf(badge, sizeof badge, " %s %.3gs ", _(status->status), status->delay_s);
            else
                snprintf(badge, sizeof badge, " %s ", _(status->status));
            screen_put(y, x + 1, right_x + right_width - x - 1, screen_attr(status->status_role), badge);
            continue;
        }
        screen_put(y, x, right_x + right_width - x, A_BOLD, lines[i].text);
    }
}
