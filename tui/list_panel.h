/* list_panel.h - draws one section of the generic list with curses: its
 * header line (the sort column marked) and as many rows as fit, the
 * selected row highlighted, cells coloured by severity.
 */
#ifndef SYNCTOP_TUI_LIST_PANEL_H
#define SYNCTOP_TUI_LIST_PANEL_H

#include "list_view.h"

/* Draw section on lines y .. y + height - 1 (header included) across width
 * columns. selected is a row index, or -1 when the selection is elsewhere;
 * section->scroll is adjusted so the selected row shows. */
void list_panel_draw(list_section *section, const dataset *data, int y, int height, int width, long selected);

/* The spec column under screen column x of a section's header, or -1. */
long list_panel_column_at(const section_spec *spec, int width, int x);

#endif
