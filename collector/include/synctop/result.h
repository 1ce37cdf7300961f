/* result.h - result codes returned by every public synctop call.
 *
 * Every call returns an st_result; ST_OK is zero. st_strerror() gives a
 * fixed one-line explanation of a code; st_error_detail() gives the detailed
 * message of the last failure in the calling thread (which capacity was
 * full, which file was foreign, which errno the system returned) so a program
 * can print exactly what happened and what to do about it.
 */
#ifndef SYNCTOP_RESULT_H
#define SYNCTOP_RESULT_H

/* The library is built with hidden visibility: what this header declares
 * is its public API. */
#pragma GCC visibility push(default)

#ifdef __cplusplus
extern "C" {
#endif

typedef enum st_result {
    ST_OK = 0,
    ST_EINVAL,        /* a NULL handle, a negative timeout, a bad option */
    ST_ENOMEM,        /* out of process memory */
    ST_ENOENT,        /* no such session or object */
    ST_ETIMEDOUT,     /* the timeout expired before the operation could complete */
    ST_EOWNERDEAD,    /* acquired, but the previous holder died holding it; the lock was recovered */
    ST_ENOTOWNER,     /* released something the caller does not hold */
    ST_EDEADLK,       /* the caller already holds this lock: waiting would deadlock */
    ST_EBUSY,         /* a try call found the primitive taken; or the session is in use */
    ST_EFULL,         /* the table's capacity is used up */
    ST_ENAMETOOLONG,  /* a session or object name is too long */
    ST_EWRONGTYPE,    /* an object exists under that name with another type */
    ST_EFOREIGN,      /* the segment is not a synctop table (bad magic) */
    ST_EVERSION,      /* the table was made by an incompatible synctop version */
    ST_ECORRUPT,      /* the table's header or a slot fails validation */
    ST_ETRUNCATED,    /* the segment is smaller than its header says */
    ST_ENOSPC,        /* no room in /dev/shm to reserve the table */
    ST_EPERM,         /* permission denied by the system */
    ST_ENOTREADY,     /* the table's creator never finished initialising it */
    ST_EOVERFLOW,     /* a counter or bounded value would exceed its limit */
    ST_ECLOSED,       /* the primitive was closed */
    ST_ESYSTEM,       /* an unexpected system error (see st_error_detail) */
    ST_EWORKERDIED,   /* the worker process running the task died (a signal, or it exited) */
    ST_EUNSAFE,       /* a segment is not owned by us, or others may read or write it */
    ST_RESULT_COUNT
} st_result;

/* A fixed, one-line explanation of a result code. Never NULL. */
const char *st_strerror(st_result code);

/* The detailed message of the most recent failure in this thread
 * ("object table full: all 4096 object slots of session 'default' are in
 * use. Recreate the session with more ..."). Calls that succeed do not
 * clear it, except the table-level calls (open, attach, list, remove). */
const char *st_error_detail(void);

/* A stable, upper-case name of a code ("ST_ETIMEDOUT"), for logs and JSON. */
const char *st_result_name(st_result code);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
