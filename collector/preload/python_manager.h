/* python_manager.h - the objects a multiprocessing manager serves
 * (multiprocessing.Manager(), SyncManager, BaseManager subclasses), each
 * shown as one "managed" object named from the line that asked for it
 * (`shared = manager.dict()`), with the calls its server received, the
 * calls waiting for their reply and, for a dict or list, its length.
 */
#ifndef SYNCTOP_PRELOAD_PYTHON_MANAGER_H
#define SYNCTOP_PRELOAD_PYTHON_MANAGER_H

/* Install the hooks in this process's interpreter (once; fork children
 * inherit them). Called by python_site.c when BaseManager.start makes its
 * pipe: the GIL is held, the error indicator saved, the guard raised. */
void python_manager_install(void);

#endif
