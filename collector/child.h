/* child.h - the worker processes the library forks itself (pool workers,
 * supervised workers): set-up in the child, reaping and stopping in the
 * parent, and a wait status as words.
 *
 * These children belong to the library, not to the application: the parent
 * reaps only their pids (never waitpid(-1)), so an application's own
 * children are left alone. An application that reaps with waitpid(-1), or
 * sets SIGCHLD to SIG_IGN, takes the exit status away from us: such a
 * child then reads as "exit status 0".
 */
#ifndef SYNCTOP_CHILD_H
#define SYNCTOP_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* In a freshly forked child: die with the parent (PR_SET_PDEATHSIG,
 * SIGKILL), and exit at once if the parent is already gone. */
void st_child_bind_to_parent(pid_t parent);

/* fork() with stdio flushed first, so buffered output is not written twice. */
pid_t st_child_fork(void);

/* Reap pid if it has ended (no waiting). true with its wait status when it
 * did; false while it runs. A pid that is not our child (already reaped)
 * counts as ended with status 0. */
bool st_child_reap(pid_t pid, int *status);

/* Send signal to each pid still listed (non-zero) and reap them, waiting at
 * most timeout_ns for them to end by themselves first (0: signal at once).
 * Reaped entries are set to 0; statuses[i] (may be NULL) gets each status.
 * Returns how many had to be sent SIGKILL. */
uint32_t st_child_stop_all(pid_t *pids, int *statuses, uint32_t count, int first_signal, int64_t timeout_ns);

/* "exit status 3", "killed by SIGSEGV", "killed by SIGKILL (core dumped)". */
void st_child_describe_status(int status, char *out, size_t size);

/* Whether the status is a clean exit (status 0). */
bool st_child_exited_cleanly(int status);

#endif
