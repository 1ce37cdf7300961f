/* table.c - creating, attaching to and validating a session's status table.
 *
 * Creation is race-free: the creator wins O_CREAT|O_EXCL, reserves the whole
 * size with posix_fallocate (a full /dev/shm is an error now, never a SIGBUS
 * later), fills the header and publishes the magic number last with a
 * release store. Everyone else attaches and waits, a bounded time, for the
 * magic. Whoever attaches (read-write or read-only) first checks that the
 * file is ours and private (ownership.c: another user may have created it
 * under our name), then validates the header against what this build
 * expects before trusting any offset in it. Tables are always mode 0600.
 * A read-only attach (the viewer side) maps nothing: it reads the header and
 * a private copy of the table with pread (table_image.c), so a segment
 * truncated under it is an error, never a SIGBUS.
 */
#include "internal.h"
#include "table_image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ST_DEFAULT_ATTACH_TIMEOUT_MS 2000

static uint64_t round_up(uint64_t value, uint64_t align)
{
    return (value + align - 1) / align * align;
}

/* The layout for the given capacities (all offsets page-aligned). */
static void compute_layout(uint32_t processes, uint32_t objects, uint32_t events, st_table_header *h)
{
    h->header_size = ST_HEADER_SIZE;
    h->process_slot_size = ST_PROCESS_SLOT_SIZE;
    h->object_slot_size = ST_OBJECT_SLOT_SIZE;
    h->process_capacity = processes;
    h->object_capacity = objects;
    h->process_offset = ST_HEADER_SIZE;
    h->object_offset = round_up(h->process_offset + (uint64_t)processes * ST_PROCESS_SLOT_SIZE, 4096);
    h->name_index_offset = round_up(h->object_offset + (uint64_t)objects * ST_OBJECT_SLOT_SIZE, 4096);
    h->event_capacity = events;
    h->event_entry_size = ST_EVENT_ENTRY_SIZE;
    h->event_offset = round_up(h->name_index_offset + (uint64_t)objects * ST_NAME_INDEX_FACTOR * sizeof(uint32_t), 4096);
    h->total_size = round_up(h->event_offset + (uint64_t)events * ST_EVENT_ENTRY_SIZE, 4096);
}

int st_robust_mutex_init(pthread_mutex_t *mutex)
{
    pthread_mutexattr_t attr;
    int rc = pthread_mutexattr_init(&attr);
    if (rc == 0)
        rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (rc == 0)
        rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    if (rc == 0)
        rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    if (rc == 0)
        rc = pthread_mutex_init(mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    return rc;
}

/* Validate a header against this build and against the segment's size.
 * Used on every attach and, for the fields that matter, on every snapshot. */
st_result st_header_validate(const st_table_header *h, uint64_t segment_size, const char *session)
{
    uint64_t magic = __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE);
    if (magic != ST_TABLE_MAGIC)
        return st_fail(ST_EFOREIGN, "session '%s': the segment does not start with synctop's magic number "
                       "(found 0x%016llx); it is not a synctop table. Remove it with: synctop --remove %s",
                       session, (unsigned long long)magic, session);
    if (h->abi_version != ST_TABLE_ABI_VERSION)
        return st_fail(ST_EVERSION, "session '%s' was created by a synctop with table version %u; this build "
                       "reads version %u. Stop its processes and remove it (synctop --remove %s), or use the "
                       "matching synctop", session, h->abi_version, ST_TABLE_ABI_VERSION, session);
    if (h->header_size != ST_HEADER_SIZE || h->process_slot_size != ST_PROCESS_SLOT_SIZE ||
        h->object_slot_size != ST_OBJECT_SLOT_SIZE)
        return st_fail(ST_ECORRUPT, "session '%s': slot sizes in the header (%u/%u/%u) differ from this "
                       "build's (%u/%u/%u)", session, h->header_size, h->process_slot_size,
                       h->object_slot_size, ST_HEADER_SIZE, ST_PROCESS_SLOT_SIZE, ST_OBJECT_SLOT_SIZE);
    if (h->process_capacity == 0 || h->process_capacity > ST_MAX_PROCESS_CAPACITY ||
        h->object_capacity == 0 || h->object_capacity > ST_MAX_OBJECT_CAPACITY ||
        h->event_capacity > ST_MAX_EVENT_CAPACITY || h->event_entry_size != ST_EVENT_ENTRY_SIZE)
        return st_fail(ST_ECORRUPT, "session '%s': capacities out of range (%u processes, %u objects, %u events)",
                       session, h->process_capacity, h->object_capacity, h->event_capacity);
    st_table_header expected;
    compute_layout(h->process_capacity, h->object_capacity, h->event_capacity, &expected);
    if (h->process_offset != expected.process_offset || h->object_offset != expected.object_offset ||
        h->name_index_offset != expected.name_index_offset || h->event_offset != expected.event_offset ||
        h->total_size != expected.total_size)
        return st_fail(ST_ECORRUPT, "session '%s': offsets in the header do not match its capacities", session);
    if (h->total_size > segment_size)
        return st_fail(ST_ETRUNCATED, "session '%s': the header describes %llu bytes but the segment has "
                       "only %llu", session, (unsigned long long)h->total_size,
                       (unsigned long long)segment_size);
    if (!st_clock_calibration_valid(&h->clock))
        return st_fail(ST_ECORRUPT, "session '%s': the clock calibration in the header is invalid", session);
    if (h->objects_used > h->object_capacity)
        return st_fail(ST_ECORRUPT, "session '%s': %u object slots used of %u", session,
                       h->objects_used, h->object_capacity);
    return ST_OK;
}

static st_result errno_result(int err, const char *what, const char *session)
{
    switch (err) {
    case ENOENT:
        return st_fail(ST_ENOENT, "no session '%s' exists (start a program that uses it, e.g. synctop-demo race -s %s)",
                       session, session);
    case EACCES:
    case EPERM:
        return st_fail(ST_EPERM, "%s session '%s': permission denied", what, session);
    case ENOSPC:
        return st_fail(ST_ENOSPC, "%s session '%s': /dev/shm is full", what, session);
    case ENOMEM:
        return st_fail(ST_ENOMEM, "%s session '%s': out of memory", what, session);
    default:
        return st_fail(ST_ESYSTEM, "%s session '%s': %s", what, session, strerror(err));
    }
}

static uint32_t capacity_from(uint32_t given, const char *env, uint32_t fallback)
{
    if (given)
        return given;
    const char *text = getenv(env);
    if (text && *text) {
        char *end;
        unsigned long value = strtoul(text, &end, 10);
        if (*end == '\0' && value > 0 && value <= UINT32_MAX)
            return (uint32_t)value;
    }
    return fallback;
}

static void bind_handle(st_table *t)
{
    t->header = (st_table_header *)t->base;
    t->process_capacity = t->header->process_capacity;
    t->object_capacity = t->header->object_capacity;
    t->processes = (st_process_slot *)(t->base + t->header->process_offset);
    t->objects = (st_object_slot *)(t->base + t->header->object_offset);
    t->name_index = (uint32_t *)(t->base + t->header->name_index_offset);
    t->event_capacity = t->header->event_capacity;
    t->events = (st_event_entry *)(t->base + t->header->event_offset);
    t->clock = t->header->clock;
}

static st_result create_table(st_table *t, int fd, uint32_t processes, uint32_t objects, uint32_t events)
{
    st_table_header layout;
    memset(&layout, 0, sizeof layout);
    compute_layout(processes, objects, events, &layout);
    int err = posix_fallocate(fd, 0, (off_t)layout.total_size);
    if (err) {
        if (err == ENOSPC)
            return st_fail(ST_ENOSPC, "cannot reserve %llu bytes in /dev/shm for session '%s': no space left. "
                           "Free space in /dev/shm (synctop --gc, or remove old sessions) or lower the capacity",
                           (unsigned long long)layout.total_size, t->session);
        return errno_result(err, "reserving", t->session);
    }
    void *base = mmap(NULL, layout.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED)
        return errno_result(errno, "mapping", t->session);
    t->base = base;
    t->size = layout.total_size;
    st_table_header *h = base;
    *h = layout;
    h->magic = 0;
    h->abi_version = ST_TABLE_ABI_VERSION;
    h->created_ns = st_realtime_ns();
    h->creator_pid = getpid();
    h->owner_uid = st_owner_uid();
    snprintf(h->session, sizeof h->session, "%s", t->session);
    st_clock_calibrate(&h->clock);
    int rc = st_robust_mutex_init(&h->registry_lock);
    if (rc)
        return errno_result(rc, "initialising", t->session);
    bind_handle(t);
    /* Publish: every field above is visible before the magic is. */
    __atomic_store_n(&h->magic, ST_TABLE_MAGIC, __ATOMIC_RELEASE);
    return ST_OK;
}

/* Refuse a table file that another user owns or may open (see ownership.c). */
static st_result check_table_file(const st_table *t, int fd)
{
    char what[ST_SESSION_NAME_MAX + sizeof t->shm_name + 32];
    snprintf(what, sizeof what, "session '%s' (/dev/shm%s)", t->session, t->shm_name);
    return st_check_ours(fd, what);
}

/* The header names its creator's uid: it must be ours as well. */
static st_result check_header_owner(const st_table *t, const st_table_header *h)
{
    if (h->owner_uid == (uint32_t)st_owner_uid())
        return ST_OK;
    return st_fail(ST_EUNSAFE, "session '%s': its header says uid %u created it, not uid %u: someone else "
                   "made it; remove it (synctop --remove %s --force) or pick another session with -s",
                   t->session, (unsigned)h->owner_uid, (unsigned)st_owner_uid(), t->session);
}

/* A read-only handle's table: a private copy, read with pread. Only the
 * object slots ever allocated ([0, objects_used) of the copied header) are
 * read; the rest stays as calloc gives it, zeros (free slots), in pages the
 * kernel hands out untouched. A session with a few objects then costs a
 * few KiB of copying instead of the whole table (3.4 MB at the default
 * capacities, which took most of `synctop run`'s start and end). Slots
 * allocated after the header was read are simply not in this copy. */
static st_result copy_privately(st_table *t, int fd, uint64_t total)
{
    unsigned char *base = calloc(1, total);
    if (!base)
        return st_fail(ST_ENOMEM, "session '%s': out of memory copying its %llu bytes", t->session,
                       (unsigned long long)total);
    const st_table_header *h = (const st_table_header *)base;
    st_result r = st_pread_exact(fd, base, ST_HEADER_SIZE, 0, t->session);
    if (r == ST_OK)
        r = st_header_validate(h, total, t->session);   /* before trusting its offsets */
    if (r == ST_OK && h->total_size != total)
        r = st_fail(ST_ECORRUPT, "session '%s': header changed while attaching", t->session);
    if (r == ST_OK)
        r = st_pread_exact(fd, base + h->process_offset, h->object_offset - h->process_offset, h->process_offset,
                           t->session);
    if (r == ST_OK)
        r = st_pread_exact(fd, base + h->object_offset, (size_t)h->objects_used * ST_OBJECT_SLOT_SIZE,
                           h->object_offset, t->session);
    if (r == ST_OK)
        r = st_pread_exact(fd, base + h->name_index_offset, total - h->name_index_offset, h->name_index_offset,
                           t->session);
    if (r != ST_OK) {
        free(base);
        return r;
    }
    t->base = base;
    t->size = total;
    return ST_OK;
}

static st_result map_shared(st_table *t, int fd, uint64_t total)
{
    void *base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED)
        return errno_result(errno, "mapping", t->session);
    t->base = base;
    t->size = total;
    return ST_OK;
}

/* Wait (bounded) until the creator published the magic, then map it all
 * (read-only: copy it all). */
static st_result attach_table(st_table *t, int fd, int timeout_ms, bool readonly)
{
    uint64_t deadline = st_monotonic_ns() + (uint64_t)timeout_ms * 1000000ull;
    for (;;) {
        struct stat st;
        if (fstat(fd, &st) < 0)
            return errno_result(errno, "inspecting", t->session);
        if ((uint64_t)st.st_size >= ST_HEADER_SIZE) {
            st_table_header head;
            st_result r = st_pread_exact(fd, &head, sizeof head, 0, t->session);
            if (r != ST_OK && (r != ST_ETRUNCATED || st_monotonic_ns() >= deadline))
                return r;   /* a segment shrinking under us is retried until the deadline */
            uint64_t magic = __atomic_load_n(&head.magic, __ATOMIC_ACQUIRE);
            if (r == ST_OK && (magic == ST_TABLE_MAGIC || st_monotonic_ns() >= deadline)) {
                r = st_header_validate(&head, (uint64_t)st.st_size, t->session);
                if (r == ST_EFOREIGN && magic == 0)
                    r = st_fail(ST_ENOTREADY, "session '%s' was never initialised (its creator may have died "
                                "while creating it). Remove it with: synctop --remove %s", t->session, t->session);
                if (r != ST_OK)
                    return r;
                uint64_t total = head.total_size;
                r = readonly ? copy_privately(t, fd, total) : map_shared(t, fd, total);
                if (r != ST_OK)
                    return r;
                void *base = t->base;
                /* Validate again on the full mapping, against the segment's size
                 * now: the header or the size may have changed meanwhile. */
                uint64_t size_now = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
                r = st_header_validate((const st_table_header *)base, size_now, t->session);
                if (r != ST_OK || ((const st_table_header *)base)->total_size != total)
                    return r != ST_OK ? r : st_fail(ST_ECORRUPT, "session '%s': header changed while attaching", t->session);
                r = check_header_owner(t, (const st_table_header *)base);
                if (r != ST_OK)
                    return r;
                bind_handle(t);
                return ST_OK;
            }
        } else if (st_monotonic_ns() >= deadline) {
            if (st.st_size == 0)
                return st_fail(ST_ENOTREADY, "session '%s' exists but is empty (its creator may have died while "
                               "creating it). Remove it with: synctop --remove %s", t->session, t->session);
            return st_fail(ST_ETRUNCATED, "session '%s': the segment has %lld bytes, less than a header",
                           t->session, (long long)st.st_size);
        }
        struct timespec pause = { 0, 1000000 };
        nanosleep(&pause, NULL);
    }
}

/* 64 - log2(N) for SYNCTOP_HOLD_SAMPLING=N (a power of two; default 64). */
static unsigned hold_sample_shift_from_environment(void)
{
    unsigned log2_n = 6;
    const char *text = getenv("SYNCTOP_HOLD_SAMPLING");
    if (text && *text) {
        char *end;
        unsigned long n = strtoul(text, &end, 10);
        if (*end == '\0' && n >= 1 && n <= (1ul << 20) && (n & (n - 1)) == 0)
            log2_n = (unsigned)__builtin_ctzl(n);
    }
    return 64u - log2_n;   /* 64 when N = 1: every hold (see hold_is_sampled) */
}

static st_table *new_handle(const char *session)
{
    st_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->fd = -1;
    t->hold_sample_shift = hold_sample_shift_from_environment();
    snprintf(t->session, sizeof t->session, "%s", session);
    st_session_shm_name(session, t->shm_name, sizeof t->shm_name);
    return t;
}

st_result st_table_open(const st_table_options *opts, st_table **out)
{
    st_clear_detail();
    if (!out)
        return st_fail(ST_EINVAL, "st_table_open: out is NULL");
    *out = NULL;
    st_table_options defaults = { 0 };
    if (!opts)
        opts = &defaults;
    char session[ST_SESSION_NAME_MAX + 1];
    st_result r = st_session_resolve(opts->session, session);
    if (r != ST_OK)
        return r;
    uint32_t processes = capacity_from(opts->process_capacity, "SYNCTOP_PROCESSES", ST_DEFAULT_PROCESS_CAPACITY);
    uint32_t objects = capacity_from(opts->object_capacity, "SYNCTOP_OBJECTS", ST_DEFAULT_OBJECT_CAPACITY);
    uint32_t events = capacity_from(opts->event_capacity, "SYNCTOP_EVENTS", ST_DEFAULT_EVENT_CAPACITY);
    if (processes > ST_MAX_PROCESS_CAPACITY || objects > ST_MAX_OBJECT_CAPACITY || events > ST_MAX_EVENT_CAPACITY)
        return st_fail(ST_EINVAL, "capacity too large: at most %u processes, %u objects and %u events",
                       ST_MAX_PROCESS_CAPACITY, ST_MAX_OBJECT_CAPACITY, ST_MAX_EVENT_CAPACITY);
    /* Only private tables: whoever can open the file can read every name
     * and hold the registry mutex (see ownership.c). */
    if (opts->mode != 0 && opts->mode != 0600)
        return st_fail(ST_EINVAL, "st_table_open: mode 0%o asked for, but a status table is always private "
                       "(0600): leave st_table_options.mode at 0", opts->mode);
    st_table *t = new_handle(session);
    if (!t)
        return st_fail(ST_ENOMEM, "out of memory");
    t->trace_new_objects = opts->trace_new_objects;
    const mode_t mode = 0600;
    int timeout_ms = opts->attach_timeout_ms > 0 ? opts->attach_timeout_ms : ST_DEFAULT_ATTACH_TIMEOUT_MS;
    for (int attempt = 0; attempt < 10; attempt++) {
        int fd = shm_open(t->shm_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd >= 0) {
            t->fd = fd;
            /* shm_open applies the umask; the mode asked for is the mode meant. */
            fchmod(fd, mode);
            r = create_table(t, fd, processes, objects, events);
            if (r != ST_OK) {
                shm_unlink(t->shm_name);
                st_table_close(t);
                return r;
            }
            st_self_slot(t);
            *out = t;
            return ST_OK;
        }
        if (errno != EEXIST) {
            r = errno_result(errno, "creating", session);
            st_table_close(t);
            return r;
        }
        fd = shm_open(t->shm_name, O_RDWR | O_CLOEXEC, 0);
        if (fd < 0 && errno == ENOENT)
            continue;  /* removed between our two calls: try to create it again */
        if (fd < 0) {
            r = errno_result(errno, "opening", session);
            st_table_close(t);
            return r;
        }
        t->fd = fd;
        r = check_table_file(t, fd);
        if (r == ST_OK)
            r = attach_table(t, fd, timeout_ms, false);
        if (r != ST_OK) {
            st_table_close(t);
            return r;
        }
        st_self_slot(t);
        *out = t;
        return ST_OK;
    }
    st_table_close(t);
    return st_fail(ST_ESYSTEM, "session '%s' kept appearing and disappearing while opening it", session);
}

st_result st_table_attach_readonly(const char *session_name, st_table **out)
{
    st_clear_detail();
    if (!out)
        return st_fail(ST_EINVAL, "st_table_attach_readonly: out is NULL");
    *out = NULL;
    char session[ST_SESSION_NAME_MAX + 1];
    st_result r = st_session_resolve(session_name, session);
    if (r != ST_OK)
        return r;
    st_table *t = new_handle(session);
    if (!t)
        return st_fail(ST_ENOMEM, "out of memory");
    t->readonly = true;
    t->fd = shm_open(t->shm_name, O_RDONLY | O_CLOEXEC, 0);
    if (t->fd < 0) {
        r = errno_result(errno, "opening", session);
        st_table_close(t);
        return r;
    }
    r = check_table_file(t, t->fd);
    if (r == ST_OK)
        r = attach_table(t, t->fd, 200, true);
    if (r != ST_OK) {
        st_table_close(t);
        return r;
    }
    *out = t;
    return ST_OK;
}

void st_table_close(st_table *table)
{
    if (!table)
        return;
    if (table->base && table->readonly)
        free(table->base);
    else if (table->base)
        munmap(table->base, table->size);
    if (table->fd >= 0)
        close(table->fd);
    free(table);
}

const char *st_table_session(const st_table *table)
{
    return table ? table->session : "";
}

bool st_table_is_readonly(const st_table *table)
{
    return table && table->readonly;
}

uint32_t st_table_process_capacity(const st_table *table)
{
    return table ? table->process_capacity : 0;
}

uint32_t st_table_object_capacity(const st_table *table)
{
    return table ? table->object_capacity : 0;
}

bool st_table_is_removed(const st_table *table)
{
    struct stat st;
    if (!table || table->fd < 0 || fstat(table->fd, &st) < 0)
        return true;
    /* After shm_unlink the open descriptor's link count drops to zero. */
    return st.st_nlink == 0;
}

st_result st_registry_lock(st_table *table)
{
    int rc = pthread_mutex_lock(&table->header->registry_lock);
    if (rc == EOWNERDEAD) {
        /* A process died while allocating a slot: repair what it left. */
        pthread_mutex_consistent(&table->header->registry_lock);
        st_registry_recover(table);
        return ST_OK;
    }
    if (rc)
        return st_fail(ST_ESYSTEM, "session '%s': cannot lock the registry: %s", table->session, strerror(rc));
    return ST_OK;
}

void st_registry_unlock(st_table *table)
{
    pthread_mutex_unlock(&table->header->registry_lock);
}
