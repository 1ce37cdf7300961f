/* python_process.h - a Python process's own name and role, asked of its
 * interpreter: multiprocessing's current_process().name ("producer-1",
 * "Process-2", "ForkPoolWorker-1") and its target function ("producer");
 * the main process is named after its script ("app.py", "-c").
 */
#ifndef SYNCTOP_PRELOAD_PYTHON_PROCESS_H
#define SYNCTOP_PRELOAD_PYTHON_PROCESS_H

#include <stdbool.h>
#include <stddef.h>

/* Only with the GIL held (python_active()). is_main: the process synctop run
 * started. Fills name and role (either may stay "" when unknown) as valid
 * UTF-8 cut at a character boundary; returns whether the answer is final
 * (a child whose target is known, or the main process with its script). */
bool python_process_identity(bool is_main, char *name, size_t name_size, char *role, size_t role_size);

/* Only with the GIL held. When this process runs multiprocessing.pool's
 * worker with a maxtasks (Pool(maxtasksperchild=N)): N, the tasks after
 * which it leaves (to be replaced); else 0. */
long python_pool_worker_maxtasks(void);

#endif
