/* dashboard.h - the interactive dashboard (synctop on a terminal).
 *
 * Attaches read-only to the session named by the options (waiting, with a
 * friendly screen, until it exists), refreshes the model every -d seconds
 * and draws it with curses until q, F10, Ctrl-C, SIGTERM or SIGHUP.
 */
#ifndef SYNCTOP_TUI_DASHBOARD_H
#define SYNCTOP_TUI_DASHBOARD_H

#include <stdbool.h>
#include <stddef.h>

#include "options.h"

/* The command `synctop run --dashboard` runs, as the dashboard sees it:
 * only through this question, asked at every wake-up (at least once a
 * second). ended() returns false while the command runs; once it ended,
 * true with the words to show ("COMMAND ENDED: exit status 5 after 1.2 s").
 * The dashboard then takes the figures one last time, shows the words in
 * its header, stops refreshing and waits for q. It never reads the table
 * for this, nor reaps anything: run_command.c does. */
typedef struct dashboard_command {
    bool (*ended)(void *context, char *text, size_t size);
    void *context;
} dashboard_command;

/* Run the dashboard. Returns the exit status: 0 after a normal quit or a
 * stop signal, 1 when the terminal or the model cannot be set up, 2 for an
 * invalid session name. A session that does not exist (yet) or cannot be
 * read is not an error here: the dashboard says so on screen and waits. */
int dashboard_run(const synctop_options *options);

/* The same, for synctop run --dashboard: command says when it ended. */
int dashboard_run_command(const synctop_options *options, const dashboard_command *command);

#endif
