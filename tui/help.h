/* help.h - the help screen (F1 or h): every key, every view, what each
 * primitive is for and what every column means, in plain sentences for a
 * class. The column explanations come from the column specs themselves
 * (views.c), so help and tables cannot drift apart.
 */
#ifndef SYNCTOP_TUI_HELP_H
#define SYNCTOP_TUI_HELP_H

#include <stdint.h>

/* Draw the help on lines y .. y + height - 1, scroll lines down. Returns
 * the scroll actually used (clamped). */
int help_draw(int y, int height, int width, int scroll, uint64_t starvation_ns);

#endif
