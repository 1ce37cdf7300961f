/* result.c - the one place where result codes get their names and messages,
 * plus the per-thread detailed message of the last failure. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>

static const struct {
    const char *name;
    const char *message;
} result_table[ST_RESULT_COUNT] = {
    [ST_OK] = { "ST_OK", "success" },
    [ST_EINVAL] = { "ST_EINVAL", "invalid argument (a NULL handle, a negative timeout or a bad option)" },
    [ST_ENOMEM] = { "ST_ENOMEM", "out of memory" },
    [ST_ENOENT] = { "ST_ENOENT", "no such session or object" },
    [ST_ETIMEDOUT] = { "ST_ETIMEDOUT", "timed out before the operation could complete" },
    [ST_EOWNERDEAD] = { "ST_EOWNERDEAD", "acquired, but the previous holder died holding it; the lock was recovered and the data it guards may be inconsistent" },
    [ST_ENOTOWNER] = { "ST_ENOTOWNER", "released by a process that does not hold it" },
    [ST_EDEADLK] = { "ST_EDEADLK", "the caller already holds it; waiting would deadlock" },
    [ST_EBUSY] = { "ST_EBUSY", "busy: taken by someone else right now, or in use by live processes" },
    [ST_EFULL] = { "ST_EFULL", "the status table is full; recreate the session with a larger capacity" },
    [ST_ENAMETOOLONG] = { "ST_ENAMETOOLONG", "name too long" },
    [ST_EWRONGTYPE] = { "ST_EWRONGTYPE", "an object of another type already has that name in this session" },
    [ST_EFOREIGN] = { "ST_EFOREIGN", "not a synctop status table (bad magic number)" },
    [ST_EVERSION] = { "ST_EVERSION", "the table was made by an incompatible version of synctop" },
    [ST_ECORRUPT] = { "ST_ECORRUPT", "the status table is corrupt" },
    [ST_ETRUNCATED] = { "ST_ETRUNCATED", "the status table is truncated (smaller than its header says)" },
    [ST_ENOSPC] = { "ST_ENOSPC", "/dev/shm is full: no room to reserve a new shared-memory segment (a status table or a primitive's data)" },
    [ST_EPERM] = { "ST_EPERM", "permission denied" },
    [ST_ENOTREADY] = { "ST_ENOTREADY", "the table's creator never finished initialising it" },
    [ST_EOVERFLOW] = { "ST_EOVERFLOW", "would exceed its limit" },
    [ST_ECLOSED] = { "ST_ECLOSED", "closed" },
    [ST_ESYSTEM] = { "ST_ESYSTEM", "unexpected system error" },
    [ST_EWORKERDIED] = { "ST_EWORKERDIED", "the worker process running the task died before finishing it" },
    [ST_EUNSAFE] = { "ST_EUNSAFE", "unsafe segment: another user owns it, or others may read or write it; synctop will not use it" },
};

static __thread char detail[512];

const char *st_strerror(st_result code)
{
    if ((unsigned)code >= ST_RESULT_COUNT)
        return "unknown synctop result code";
    return result_table[code].message;
}

const char *st_result_name(st_result code)
{
    if ((unsigned)code >= ST_RESULT_COUNT)
        return "ST_UNKNOWN";
    return result_table[code].name;
}

const char *st_error_detail(void)
{
    return detail;
}

st_result st_fail(st_result code, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    vsnprintf(detail, sizeof detail, format, ap);
    va_end(ap);
    return code;
}

void st_clear_detail(void)
{
    detail[0] = '\0';
}
