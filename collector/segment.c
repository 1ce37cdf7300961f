/* segment.c - creating, attaching and removing a primitive's data segment
 * (see segment.h for the naming scheme), and reading such a name back.
 * An existing segment is mapped only when it is ours and private
 * (ownership.c). */
#include "segment.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

st_result st_segment_name(const st_table *table, const char *kind, uint32_t object_index, uint64_t created_ns,
                          char out[ST_SEGMENT_NAME_MAX])
{
    int n = snprintf(out, ST_SEGMENT_NAME_MAX, "%s.%s.%u-%llx", table->shm_name, kind, object_index,
                     (unsigned long long)created_ns);
    if (n < 0 || n >= ST_SEGMENT_NAME_MAX)
        return st_fail(ST_ENAMETOOLONG, "segment name for a %s in session '%s' is too long", kind, table->session);
    return ST_OK;
}

static st_result segment_errno(int err, const char *what, const char *name)
{
    switch (err) {
    case ENOENT:
        return st_fail(ST_ENOENT, "%s %s: it does not exist (it was unlinked, or its session was removed)",
                       what, name);
    case EEXIST:
        return st_fail(ST_EBUSY, "%s %s: it already exists", what, name);
    case EACCES:
    case EPERM:
        return st_fail(ST_EPERM, "%s %s: permission denied", what, name);
    case ENOSPC:
        return st_fail(ST_ENOSPC, "%s %s: no space left in /dev/shm; free some (synctop --gc) or ask for less",
                       what, name);
    case ENOMEM:
        return st_fail(ST_ENOMEM, "%s %s: out of memory", what, name);
    default:
        return st_fail(ST_ESYSTEM, "%s %s: %s", what, name, strerror(err));
    }
}

static int injected_create_errno;

void st_segment_inject_create_failure(int err)
{
    injected_create_errno = err;
}

/* posix_fallocate, or the failure a test asked for (once). */
static int reserve(int fd, size_t size)
{
    int injected = __atomic_exchange_n(&injected_create_errno, 0, __ATOMIC_RELAXED);
    return injected ? injected : posix_fallocate(fd, 0, (off_t)size);
}

st_result st_segment_create(const char *name, size_t size, st_segment *out)
{
    memset(out, 0, sizeof *out);
    if (size == 0)
        return st_fail(ST_EINVAL, "segment %s: size 0", name);
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return segment_errno(errno, "creating segment", name);
    fchmod(fd, 0600);
    int err = reserve(fd, size);
    if (err) {
        close(fd);
        shm_unlink(name);
        if (err == ENOSPC)
            return st_fail(ST_ENOSPC, "/dev/shm is full: cannot reserve %zu bytes for the data segment %s; free "
                           "some (synctop --gc, synctop --remove of old sessions) or ask for a smaller capacity",
                           size, name);
        return segment_errno(err, "reserving segment", name);
    }
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int map_err = errno;
    close(fd);
    if (base == MAP_FAILED) {
        shm_unlink(name);
        return segment_errno(map_err, "mapping segment", name);
    }
    out->base = base;
    out->size = size;
    snprintf(out->name, sizeof out->name, "%s", name);
    return ST_OK;
}

st_result st_segment_attach(const char *name, size_t expected_size, bool readonly, st_segment *out)
{
    memset(out, 0, sizeof *out);
    int fd = shm_open(name, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC, 0);
    if (fd < 0)
        return segment_errno(errno, "opening segment", name);
    char what[ST_SEGMENT_NAME_MAX + 16];
    snprintf(what, sizeof what, "segment %s", name);
    st_result owned = st_check_ours(fd, what);
    if (owned != ST_OK) {
        close(fd);
        return owned;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int err = errno;
        close(fd);
        return segment_errno(err, "inspecting segment", name);
    }
    if ((uint64_t)st.st_size < expected_size || st.st_size == 0) {
        close(fd);
        return st_fail(ST_ETRUNCATED, "segment %s has %lld bytes, less than the %zu expected", name,
                       (long long)st.st_size, expected_size);
    }
    size_t size = expected_size ? expected_size : (size_t)st.st_size;
    void *base = mmap(NULL, size, readonly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int map_err = errno;
    close(fd);
    if (base == MAP_FAILED)
        return segment_errno(map_err, "mapping segment", name);
    out->base = base;
    out->size = size;
    snprintf(out->name, sizeof out->name, "%s", name);
    return ST_OK;
}

void st_segment_close(st_segment *segment)
{
    if (segment && segment->base) {
        munmap(segment->base, segment->size);
        segment->base = NULL;
        segment->size = 0;
    }
}

st_result st_segment_unlink(const char *name)
{
    if (shm_unlink(name) < 0)
        return segment_errno(errno, "removing segment", name);
    return ST_OK;
}

bool st_segment_session_of(const char *shm_name, char session[ST_SESSION_NAME_MAX + 1])
{
    char prefix[48];
    snprintf(prefix, sizeof prefix, "synctop-%u-", (unsigned)st_owner_uid());
    size_t prefix_len = strlen(prefix);
    if (shm_name[0] == '/')
        shm_name++;
    if (strncmp(shm_name, prefix, prefix_len) != 0)
        return false;
    const char *start = shm_name + prefix_len;
    size_t len = strcspn(start, ".");
    if (len == 0 || len > ST_SESSION_NAME_MAX)
        return false;
    memcpy(session, start, len);
    session[len] = '\0';
    return true;
}

static bool all_of(const char *start, size_t len, const char *allowed)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!strchr(allowed, start[i]))
            return false;
    return true;
}

bool st_segment_parse(const char *shm_name, st_segment_name_parts *out)
{
    memset(out, 0, sizeof *out);
    if (shm_name[0] == '/')
        shm_name++;
    if (!st_segment_session_of(shm_name, out->session))
        return false;
    /* After the session: ".<kind>.<index>-<hex>" and nothing else. */
    const char *kind = strchr(shm_name, '.');
    if (!kind++)
        return false;
    size_t kind_len = strcspn(kind, ".");
    const char *index = kind + kind_len;
    if (*index++ != '.' || kind_len >= sizeof out->kind || !all_of(kind, kind_len, "abcdefghijklmnopqrstuvwxyz"))
        return false;
    size_t index_len = strcspn(index, "-");
    const char *stamp = index + index_len;
    if (*stamp++ != '-' || index_len > 9 || !all_of(index, index_len, "0123456789"))
        return false;
    size_t stamp_len = strlen(stamp);
    if (stamp_len > 16 || !all_of(stamp, stamp_len, "0123456789abcdef"))
        return false;
    memcpy(out->kind, kind, kind_len);
    out->index = (uint32_t)strtoul(index, NULL, 10);
    out->stamp = strtoull(stamp, NULL, 16);
    return true;
}
