/* timeline.h - the latest operations on traced objects, from the model's
 * copy of the event log ring: as a pane under the list (key 't') and as
 * the "recent operations" of a detail view.
 *
 * Events exist only for traced objects (SYNCTOP_TRACE=all or
 * SYNCTOP_TRACE=name,... in the workload's environment, or st_trace_set);
 * the pane says so when there are none.
 */
#ifndef SYNCTOP_TUI_TIMELINE_H
#define SYNCTOP_TUI_TIMELINE_H

#include <stddef.h>

#include "columns.h"

/* The newest events first, at most max: all of them (about NULL), or those
 * of one object or one process. Returns how many. */
size_t timeline_select(const dataset *data, const list_row *about, const st_event_view **out, size_t max);

/* One event as a line:
 *   "12:00:01.123  4243 teller-2      acquire  account       ok  wait 1.20ms" */
void timeline_format_event(const st_event_view *event, const dataset *data, char *out, size_t size);

/* The pane: a title line and the newest events, on lines y .. y + height - 1. */
void timeline_draw(const dataset *data, int y, int height, int width);

#endif
