/* python_site.h - who is creating a semaphore, asked of the Python
 * interpreter the semaphore is created in.
 *
 * CPython's _multiprocessing.SemLock calls sem_open with the GIL held, from
 * multiprocessing/synchronize.py's SemLock.__init__. At that moment the
 * Python stack says what the semaphore is for: which class made it (Lock,
 * RLock, Semaphore, BoundedSemaphore), inside which composite (an Event's
 * flag, a Queue's _rlock...), and where the user's code asked for it
 * (`orders = mp.Queue(5)` at app.py:31). We read that stack through the
 * CPython C API, found with dlsym in the running process (3.9 and later):
 * frames, their code's file and qualified name, their line; and the source
 * line of a frame, to see which name the new object is assigned to.
 */
#ifndef SYNCTOP_PRELOAD_PYTHON_SITE_H
#define SYNCTOP_PRELOAD_PYTHON_SITE_H

#include <stdbool.h>

typedef enum py_leaf {
    PY_LEAF_NONE = 0,
    PY_LEAF_LOCK,
    PY_LEAF_RLOCK,
    PY_LEAF_SEMAPHORE,
    PY_LEAF_BOUNDED_SEMAPHORE,
} py_leaf;

typedef enum py_root {
    PY_ROOT_NONE = 0,              /* the leaf stands alone */
    PY_ROOT_EVENT,
    PY_ROOT_CONDITION,
    PY_ROOT_QUEUE,                 /* Queue, JoinableQueue */
    PY_ROOT_SIMPLE_QUEUE,
} py_root;

#define PY_SITE_TEXT 32

typedef struct py_site {
    py_leaf leaf;                  /* the class that made this semaphore */
    py_root root;                  /* the composite it is a member of */
    const void *root_frame;        /* the composite's __init__ frame: one per instance */
    const void *pool_frame;        /* a multiprocessing.Pool's __init__ frame it is made in, or NULL */
    char display[PY_SITE_TEXT];    /* what the user asked for: "Queue", "Value", "Pool" */
    char variable[PY_SITE_TEXT];   /* the name assigned at the user's line, or "" */
    char outer_attr[PY_SITE_TEXT]; /* the attribute between it and the user ("inqueue"), or "" */
    char attr1[PY_SITE_TEXT];      /* attributes inside the composite, outermost first: */
    char attr2[PY_SITE_TEXT];      /* "_cond", "_wait_semaphore" */
    char file[PY_SITE_TEXT];       /* the user's file (basename) and line */
    int line;
} py_site;

/* Whether this thread runs Python code and holds the GIL right now. */
bool python_active(void);

/* Read the site of a semaphore being created by multiprocessing. false
 * when the caller is not multiprocessing's SemLock (another extension, C
 * code) or Python cannot be asked. Call only when python_active(). */
bool python_site_read(py_site *out);

/* Read the site of a pipe being created (socketpair, pipe, pipe2) by
 * multiprocessing.connection.Pipe: display "Pipe", the user's file, line
 * and variables ("parent/child"); or, for the pipe of a SimpleQueue made
 * by a multiprocessing.Pool, the Pool's site (pool_frame set, outer_attr
 * the queue: "inqueue", "outqueue", "change_notifier"). Callable with or without the GIL (it is
 * taken for the read); false when the caller is not multiprocessing's Pipe. */
bool python_pipe_site_read(py_site *out);

/* For sem_getvalue: whether the Python code running is releasing (a
 * release checks the value first), not asking for the value (get_value,
 * qsize, full, __repr__...). */
bool python_release_in_progress(void);

/* For listen(): when a multiprocessing manager's Server is being made
 * (Server.__init__ on the stack: a server process started by spawn or
 * forkserver, which never ran BaseManager.start), install the manager hooks
 * (python_manager.c). Callable with or without the GIL (it is taken). */
void python_manager_listen_check(void);

/* Whether the process was found not to be Python (after python_active()). */
bool python_absent(void);
/* For shm_open: the user's frame calling into multiprocessing (or the
 * innermost frame, when the call is the user's own): the name assigned at
 * that line ("" if none), the file's basename and the line. false when
 * Python cannot be asked. Call only when python_active(). */
bool python_caller_site(char *variable, size_t variable_size, char *file, size_t file_size, int *line);

/* The same for a shm_open made by the code at caller. CPython's
 * _posixshmem calls shm_open with the GIL released; for that module only
 * (it holds no other lock there, so waiting for the GIL cannot deadlock)
 * the GIL is taken back for the time of the reading. */
bool python_shm_caller_site(const void *caller, char *variable, size_t variable_size, char *file, size_t file_size,
                            int *line);

#endif
