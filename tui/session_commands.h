/* session_commands.h - session housekeeping: --list and --remove.
 *
 * Both return the program's exit status (0 ok, 1 runtime error, 2 usage
 * error or unknown session) and write their messages themselves: results to
 * stdout, "synctop: ..." errors to stderr.
 */
#ifndef SYNCTOP_TUI_SESSION_COMMANDS_H
#define SYNCTOP_TUI_SESSION_COMMANDS_H

#include <stdbool.h>

/* --list: one line per session of this user, or "no sessions". */
int session_list_command(void);

/* --remove SESSION [--force]. */
int session_remove_command(const char *session, bool force);

#endif
