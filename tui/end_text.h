/* end_text.h - how a process or the command of `synctop run` ended, in
 * words: "exited 3", "killed SIGKILL", and the dashboard's
 * "COMMAND ENDED: exit status 5 after 12.3 s".
 *
 * Pure functions of their arguments (no clock, no terminal), shared by the
 * dashboard's STATE column, --batch and `synctop run`, and tested alone
 * (tests/test_end_text.c).
 */
#ifndef SYNCTOP_TUI_END_TEXT_H
#define SYNCTOP_TUI_END_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include <synctop/model.h>

#define END_TEXT_BYTES 96

/* "SIGKILL" for 9, ..., "signal 42" for one without a usual name. */
const char *end_signal_name(int signal, char *buffer, size_t size);

/* How a process whose end was recorded ended: "exited 3", "killed SIGKILL",
 * "killed SIGSEGV (core)"; "" when its end is not known. */
char *end_process_text(const st_process_view *process, char *buffer, size_t size);

/* A run's length for people: "0.4 s", "12.3 s", "2 min 05 s", "1 h 02 min". */
char *end_duration_text(uint64_t ns, char *buffer, size_t size);

/* The dashboard's header once the command ended, from its wait status and
 * how long it ran: "COMMAND ENDED: exit status 5 after 12.3 s",
 * "COMMAND ENDED: killed by SIGKILL after 2 min 05 s". */
char *end_command_text(int wait_status, uint64_t ran_ns, char *buffer, size_t size);

#endif
