/* detail_view.h - everything about one process or object (Enter): all its
 * figures, a sparkline of the figure that matters for its kind, who waits
 * on it right now and for how long (or, for a process, what it holds), and
 * its recent operations when it is traced.
 */
#ifndef SYNCTOP_TUI_DETAIL_VIEW_H
#define SYNCTOP_TUI_DETAIL_VIEW_H

#include "columns.h"
#include "history.h"

/* The history key of a row. */
history_key detail_history_key(const list_row *row);

/* Draw the detail of row on lines y .. y + height - 1, starting scroll
 * lines down. row NULL: the item no longer exists. Returns the scroll
 * actually used (clamped to the content). */
int detail_draw(const list_row *row, const dataset *data, const history *past, int y, int height, int width,
                int scroll);

#endif
