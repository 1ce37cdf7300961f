/* proc_identity.h - who a pid is: its start time, read from /proc/PID/stat.
 *
 * A pid alone is not an identity (pids are reused); (pid, start time) is.
 * The writer side reads this one field directly instead of through libproc2:
 * instrumented programs may be multi-threaded, and libproc2 is neither
 * thread-safe nor cheap to set up for one field.
 */
#ifndef SYNCTOP_PROC_IDENTITY_H
#define SYNCTOP_PROC_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Start time of pid since boot in clock ticks (field 22). false if gone. */
bool st_proc_start_ticks(pid_t pid, uint64_t *ticks);

/* The process (pid, start_ticks) still exists and is not a zombie. */
bool st_proc_is_alive(pid_t pid, uint64_t start_ticks);

/* The command name of the calling process (from /proc/self/comm). */
void st_proc_self_command(char *out, size_t size);

#endif
