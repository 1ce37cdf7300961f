/* segment.c - creating, attaching and removing a primitive's data segment
 * (see segment.h for the naming scheme). */
#include "segment.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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

st_result st_segment_create(const char *name, size_t size, st_segment *out)
{
    memset(out, 0, sizeof *out);
    if (size == 0)
        return st_fail(ST_EINVAL, "segment %s: size 0", name);
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return segment_errno(errno, "creating segment", name);
    fchmod(fd, 0600);
    int err = posix_fallocate(fd, 0, (off_t)size);
    if (err) {
        close(fd);
        shm_unlink(name);
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
    snprintf(prefix, sizeof prefix, "synctop-%u-", (unsigned)getuid());
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
