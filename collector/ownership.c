/* ownership.c - is a shared-memory file ours, and private to us?
 *
 * /dev/shm is writable by every local user, and a name there proves
 * nothing: anyone can create /dev/shm/synctop-<our uid>-<session> before we
 * do, with mode 0666, and then read what our programs publish or hang them
 * by holding the registry mutex. So every table and data segment is checked
 * on its open descriptor (fstat, no race with a rename) before it is
 * mapped: a regular file, owned by our effective uid, with no group or
 * other permission bit. Housekeeping (--gc, session removal) checks a
 * directory entry the same way without following a symbolic link.
 *
 * Names use the effective uid too (st_owner_uid): shm_open creates a file
 * owned by the effective uid, so that is the uid the name must carry for
 * the check above to hold; in a set-uid program the real uid would name a
 * file that another uid owns.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

uid_t st_owner_uid(void)
{
    return geteuid();
}

static st_result describe_unsafe(const struct stat *st, const char *what)
{
    if (!S_ISREG(st->st_mode))
        return st_fail(ST_EUNSAFE, "%s is not a regular file (mode 0%o): someone else put it there; remove it "
                       "as its owner (uid %u) or root, or pick another session with -s", what,
                       (unsigned)st->st_mode, (unsigned)st->st_uid);
    return st_fail(ST_EUNSAFE, "%s is owned by uid %u, mode 0%03o, but synctop needs it owned by uid %u with "
                   "mode 0600: someone else created it or opened it up; remove it as that user or root, or "
                   "pick another session with -s", what, (unsigned)st->st_uid, (unsigned)(st->st_mode & 07777),
                   (unsigned)st_owner_uid());
}

bool st_stat_is_ours(const struct stat *st)
{
    return S_ISREG(st->st_mode) && st->st_uid == st_owner_uid() && (st->st_mode & 077) == 0;
}

st_result st_check_ours(int fd, const char *what)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return st_fail(ST_ESYSTEM, "inspecting %s: %s", what, strerror(errno));
    if (!st_stat_is_ours(&st))
        return describe_unsafe(&st, what);
    return ST_OK;
}

bool st_shm_entry_is_ours(const char *entry, struct stat *out)
{
    if (entry[0] == '/')
        entry++;
    char path[300];
    if (snprintf(path, sizeof path, "/dev/shm/%s", entry) >= (int)sizeof path)
        return false;
    struct stat st;
    if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0 || !st_stat_is_ours(&st))
        return false;
    if (out)
        *out = st;
    return true;
}
