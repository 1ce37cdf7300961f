/* dashboard.h - the interactive dashboard (synctop on a terminal).
 *
 * Attaches read-only to the session named by the options (waiting, with a
 * friendly screen, until it exists), refreshes the model every -d seconds
 * and draws it with curses until q, F10, Ctrl-C, SIGTERM or SIGHUP.
 */
#ifndef SYNCTOP_TUI_DASHBOARD_H
#define SYNCTOP_TUI_DASHBOARD_H

#include "options.h"

/* Run the dashboard. Returns the exit status: 0 after a normal quit or a
 * stop signal, 1 when the terminal or the model cannot be set up, 2 for an
 * invalid session name. A session that does not exist (yet) or cannot be
 * read is not an error here: the dashboard says so on screen and waits. */
int dashboard_run(const synctop_options *options);

#endif
