/* screen.h - the terminal: curses set-up and tear-down, colours with a
 * monochrome fallback, glyphs with an ASCII fallback, and a terminal that
 * is restored however the program ends.
 *
 * Everything that draws asks for a role's attributes (screen_attr), never
 * for a colour: on a colour terminal a role is a colour pair, on a
 * monochrome one (or with --no-color / NO_COLOR) it is bold, underline or
 * reverse video, so severity still shows.
 */
#ifndef SYNCTOP_TUI_SCREEN_H
#define SYNCTOP_TUI_SCREEN_H

#include <stdbool.h>
#include <curses.h>

#include "columns.h"   /* severity */

typedef enum screen_role {
    ROLE_NORMAL = 0,
    ROLE_DIM,              /* secondary text */
    ROLE_TITLE,            /* bold headings */
    ROLE_COLUMN_HEADER,    /* a table's header line */
    ROLE_COLUMN_SORTED,    /* the header of the sort column */
    ROLE_SELECTED,         /* the selected row */
    ROLE_METER_LABEL,      /* "Mem", "Load average:" */
    ROLE_METER_LOW,        /* a meter's bar by how full it is */
    ROLE_METER_MID,
    ROLE_METER_HIGH,
    ROLE_METER_BRACKET,
    ROLE_GOOD,
    ROLE_WARN,
    ROLE_BAD,
    ROLE_BANNER,           /* the deadlock banner */
    ROLE_TAB,
    ROLE_TAB_ACTIVE,
    ROLE_KEY,              /* a function bar key ("F1") */
    ROLE_KEY_LABEL,        /* its label ("Help") */
    ROLE_STATUS_LIVE,
    ROLE_STATUS_PAUSED,
    ROLE_STATUS_ENDED,
    ROLE_COUNT
} screen_role;

/* Install the signal handlers (SIGINT, SIGTERM, SIGHUP ask the loop to
 * stop; SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL restore the terminal and
 * re-raise), then start curses. color: use colours if the terminal has
 * them; ascii: no Unicode glyphs (also forced when the locale is not
 * UTF-8). False, with a message on stderr, when curses cannot start. */
bool screen_open(bool color, bool ascii);

/* Restore the terminal (endwin). Safe to call twice. */
void screen_close(void);

/* Whether SIGINT, SIGTERM or SIGHUP arrived. */
bool screen_stop_requested(void);

attr_t screen_attr(screen_role role);
screen_role screen_role_of(severity level);
bool screen_ascii(void);
bool screen_has_color(void);

/* Line drawing and marks, Unicode or ASCII. */
const char *screen_glyph_sort_down(void);   /* "▼" or "v" */
const char *screen_glyph_sort_up(void);
const char *screen_glyph_hline(void);       /* "─" or "-" */

/* Draw text at (y, x), at most width screen columns, with attributes;
 * text is UTF-8 (a CJK character takes two columns; one never cut in
 * half: format_fit_cells). Returns columns drawn. */
int screen_put(int y, int x, int width, attr_t attributes, const char *text);

/* Fill width columns at (y, x) with blanks in attributes. */
void screen_fill(int y, int x, int width, attr_t attributes);

/* Screen columns taken by UTF-8 text (display cells: format_cells). */
int screen_text_width(const char *text);

#endif
