/* timeline.c - recent operations of traced objects (see timeline.h).
 *
 * The model keeps the latest events oldest first; the pane shows newest
 * first, so what just happened is always on the top line. Failed
 * operations (timeouts, owner died, over-releases) are coloured: they are
 * usually the lesson.
 */
#include "config.h"

#include "timeline.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "format.h"
#include "i18n.h"
#include "screen.h"

static bool event_is_about(const st_event_view *event, const list_row *about)
{
    if (about == NULL)
        return true;
    if (about->process != NULL)
        return event->pid == about->process->pid;
    return event->object == about->object->index && strcmp(event->object_name, about->object->name) == 0;
}

size_t timeline_select(const dataset *data, const list_row *about, const st_event_view **out, size_t max)
{
    size_t count = 0;
    for (size_t i = data->event_count; i > 0 && count < max; i--) {
        const st_event_view *event = data->events[i - 1];
        if (event_is_about(event, about))
            out[count++] = event;
    }
    return count;
}

/* "ok", or the result's name without its "ST_" prefix ("ETIMEDOUT"). */
static const char *result_text(st_result result)
{
    if (result == ST_OK)
        return "ok";
    const char *name = st_result_name(result);
    return strncmp(name, "ST_", 3) == 0 ? name + 3 : name;
}

void timeline_format_event(const st_event_view *event, const dataset *data, char *out, size_t size)
{
    time_t seconds = (time_t)(event->time_ns / 1000000000u);
    unsigned milliseconds = (unsigned)(event->time_ns / 1000000u % 1000u);
    struct tm local;
    char when[16] = "??:??:??";
    if (localtime_r(&seconds, &local) != NULL)
        strftime(when, sizeof when, "%H:%M:%S", &local);
    const st_process_view *process = dataset_process(data, event->pid);
    char wait[FORMAT_BUFFER_BYTES + 8] = "";
    if (event->wait_ns > 0) {
        char duration[FORMAT_BUFFER_BYTES];
        snprintf(wait, sizeof wait, "  wait %s", format_duration_ns(event->wait_ns, duration));
    }
    char value[32] = "";
    if (event->value != 0)
        snprintf(value, sizeof value, "  value %lld", (long long)event->value);
    snprintf(out, size, "%s.%03u %7ld %-12.12s %-8s %-14.40s %-9s%s%s", when, milliseconds, (long)event->pid,
             process ? process->name : "?", st_operation_name(event->operation), event->object_name,
             result_text(event->result), wait, value);
}

void timeline_draw(const dataset *data, int y, int height, int width)
{
    if (height <= 0)
        return;
    /* The same widths as timeline_format_event's line. */
    static const struct {
        const char *title;
        int width;
        bool right;
    } heads[] = { { N_("TIME"), 12, false }, { N_("PID"), 7, true }, { N_("PROCESS"), 12, false },
                  { N_("OP"), 8, false }, { N_("OBJECT"), 14, false }, { N_("RESULT"), 9, false } };
    char title[320];
    size_t used = 0;
    for (size_t i = 0; i < sizeof heads / sizeof heads[0] && used < sizeof title; i++) {
        char cell[64];   /* padded in display cells: the titles may be Chinese */
        format_pad_cells(_(heads[i].title), heads[i].width, heads[i].right, '\0', cell, sizeof cell);
        used += (size_t)snprintf(title + used, sizeof title - used, "%s ", cell);
    }
    if (used < sizeof title)
        snprintf(title + used, sizeof title - used, " %s", _("(timeline: latest first)"));
    screen_fill(y, 0, width, screen_attr(ROLE_COLUMN_HEADER));
    screen_put(y, 0, width, screen_attr(ROLE_COLUMN_HEADER), title);
    const st_event_view *events[256];
    size_t max = (size_t)(height - 1) < 256 ? (size_t)(height - 1) : 256;
    size_t count = timeline_select(data, NULL, events, max);
    if (count == 0 && height > 1) {
        screen_put(y + 1, 1, width - 1, screen_attr(ROLE_DIM),
                   _("No traced operations yet. Tracing is per object and off by default: start the "
                     "workload with SYNCTOP_TRACE=all (or SYNCTOP_TRACE=name,name)."));
        return;
    }
    for (size_t i = 0; i < count; i++) {
        char line[512];
        timeline_format_event(events[i], data, line, sizeof line);
        screen_role role = events[i]->result == ST_OK ? ROLE_NORMAL
                           : events[i]->result == ST_ETIMEDOUT ? ROLE_WARN
                                                               : ROLE_BAD;
        screen_put(y + 1 + (int)i, 0, width, screen_attr(role), line);
    }
}
