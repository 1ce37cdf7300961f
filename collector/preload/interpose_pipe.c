/* interpose_pipe.c - multiprocessing.Pipe() as a "pipe" object: pipe,
 * pipe2, socketpair, read, write and close.
 *
 * Only the file descriptors that multiprocessing's Pipe makes are watched:
 * socketpair (duplex) or pipe/pipe2 (os.pipe, duplex=False) called while
 * multiprocessing.connection.Pipe is on the Python stack
 * (python_pipe_site_read). Those fds are marked in an fd-indexed array
 * (st_preload_pipe_ends); a read or write on any other fd costs a bounds
 * check and one load. Descriptors at or above ST_PRELOAD_PIPE_FDS are not
 * watched.
 *
 * Connection (3.11) sends a message as a 4-byte big-endian length and the
 * payload (a length of -1 is followed by an 8-byte length), through
 * os.write, and receives with os.read of exactly the header then the
 * payload. Each fd end parses the bytes it writes and the bytes it reads
 * with a small state machine (frame_feed), so partial reads and writes are
 * counted right; a message counts when its last payload byte passes. A
 * read at a message boundary first looks whether data is there (a socket:
 * recv(MSG_DONTWAIT), which reads it too; a pipe: poll(0)): when not, and
 * the fd blocks, the process is marked blocked reading the object for the
 * duration of the read.
 *
 * End A is the first Connection Pipe() returns, end B the second; A's
 * writes and B's reads are "a_to_b". For duplex=False, A reads and B
 * writes, so all traffic is "b_to_a".
 *
 * Fork children inherit the array (and the fds): they count on the same
 * object. Spawned children receive the fds by fd passing: those new fds
 * are not watched. close() forgets an fd; dup2/dup3 over a watched fd are
 * not followed.
 *
 * The task and result pipes of a multiprocessing.Pool (two SimpleQueues)
 * are watched the same way, as parts of the Pool's object: their ends
 * (pipe_end.pool) keep each message's first bytes and hand every whole
 * message to python_pool.c, which counts tasks and results.
 */
#include "preload/preload.h"
#include "preload/python_pool.h"
#include "preload/python_site.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ST_PRELOAD_PIPE_FDS 4096

/* One direction's framing as seen by one process on one fd. */
typedef struct frame_parser {
    uint8_t header[12];
    uint8_t have;                   /* header bytes collected */
    uint64_t payload_left;          /* payload bytes still to pass */
    uint64_t size;                  /* a Pool's end: the message's payload length */
    uint8_t head_have;              /* a Pool's end: payload bytes kept in head */
    uint8_t head[POOL_HEAD];        /* a Pool's end: the message's first payload bytes */
} frame_parser;

typedef struct pipe_end {
    uint32_t slot_plus1;            /* object slot + 1; 0: not watched */
    uint8_t sends;                  /* the part its writes go to (0 A to B, 1 B to A) */
    uint8_t socket;                 /* a socketpair end (duplex), not a pipe */
    uint8_t pool;                   /* pool_end: what it is to a Pool (POOL_END_NONE: a Pipe's) */
    frame_parser out, in;
} pipe_end;

static pipe_end st_preload_pipe_ends[ST_PRELOAD_PIPE_FDS];

static struct {
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*write)(int, const void *, size_t);
    int (*close)(int);
    int (*pipe)(int[2]);
    int (*pipe2)(int[2], int);
    int (*socketpair)(int, int, int, int[2]);
    int (*poll)(struct pollfd *, nfds_t, int);
    ssize_t (*recv)(int, void *, size_t, int);
} st_preload_pipe_real;

#define RESOLVE_PIPE(field) \
    do { \
        void *found = dlsym(RTLD_NEXT, #field); \
        memcpy(&st_preload_pipe_real.field, &found, sizeof found); \
    } while (0)

static void pipe_real_resolve(void)
{
    RESOLVE_PIPE(read);
    RESOLVE_PIPE(write);
    RESOLVE_PIPE(close);
    RESOLVE_PIPE(pipe);
    RESOLVE_PIPE(pipe2);
    RESOLVE_PIPE(socketpair);
    RESOLVE_PIPE(poll);
    RESOLVE_PIPE(recv);
}

__attribute__((constructor)) static void pipe_real_start(void)
{
    pipe_real_resolve();
}

/* Calls before our constructor ran (another library's constructor). */
#define REAL(field) (__builtin_expect(st_preload_pipe_real.field != NULL, 1) ? 0 : (pipe_real_resolve(), 0), \
                     st_preload_pipe_real.field)

static inline pipe_end *watched_end(int fd)
{
    if (__builtin_expect((unsigned)fd >= ST_PRELOAD_PIPE_FDS, 0))
        return NULL;
    pipe_end *end = &st_preload_pipe_ends[fd];
    return __builtin_expect(__atomic_load_n(&end->slot_plus1, __ATOMIC_ACQUIRE) == 0, 1) ? NULL : end;
}

/* ---- framing ---- */

static uint64_t big_endian(const uint8_t *bytes, unsigned count)
{
    uint64_t value = 0;
    for (unsigned i = 0; i < count; i++)
        value = value << 8 | bytes[i];
    return value;
}

/* A Pool's end: one whole message passed (python_pool.c counts it). */
static void pool_message_done(const pipe_end *pool, frame_parser *p)
{
    st_table *table = watched_table;
    if (table)
        pool_message(table, pool->slot_plus1 - 1, (pool_end)pool->pool, p->head, p->head_have, p->size);
    p->head_have = 0;
}

/* Feed n bytes that passed; returns the messages they completed and adds
 * the payload bytes among them to *payload. pool: the end, when it is a
 * Pool's (its messages are handed over one by one), else NULL. */
static uint64_t frame_feed(frame_parser *p, const uint8_t *data, size_t n, uint64_t *payload, const pipe_end *pool)
{
    uint64_t messages = 0;
    while (n > 0) {
        if (p->payload_left > 0) {
            size_t take = n < p->payload_left ? n : (size_t)p->payload_left;
            if (pool && p->head_have < POOL_HEAD) {
                size_t keep = POOL_HEAD - p->head_have < take ? POOL_HEAD - p->head_have : take;
                memcpy(p->head + p->head_have, data, keep);
                p->head_have = (uint8_t)(p->head_have + keep);
            }
            p->payload_left -= take;
            *payload += take;
            data += take;
            n -= take;
            if (p->payload_left == 0) {
                messages++;
                if (pool)
                    pool_message_done(pool, p);
            }
            continue;
        }
        p->header[p->have++] = *data++;
        n--;
        uint64_t size;
        if (p->have == 4) {
            uint32_t length = (uint32_t)big_endian(p->header, 4);
            if (length == UINT32_MAX)       /* -1: an 8-byte length follows */
                continue;
            size = (length & 0x80000000u) ? 0 : length;
        } else if (p->have == 12) {
            size = big_endian(p->header + 4, 8);
        } else {
            continue;
        }
        p->have = 0;
        p->payload_left = size;
        p->size = size;
        p->head_have = 0;
        if (size == 0) {
            messages++;
            if (pool)
                pool_message_done(pool, p);
        }
    }
    return messages;
}

static bool at_boundary(const frame_parser *p)
{
    return p->have == 0 && p->payload_left == 0;
}

/* ---- counting ---- */

static st_foreign_body *pipe_body(st_table *table, const pipe_end *end)
{
    return (st_foreign_body *)(void *)table->objects[end->slot_plus1 - 1].body.raw;
}

static void count_written(pipe_end *end, const void *buf, size_t n)
{
    st_table *table = watched_table;
    if (!table)
        return;
    watch_register_if_new(table);
    uint64_t bytes = 0;
    if (end->pool) {
        frame_feed(&end->out, buf, n, &bytes, end);
        return;
    }
    uint64_t messages = frame_feed(&end->out, buf, n, &bytes, NULL);
    st_foreign_body *body = pipe_body(table, end);
    unsigned part = end->sends;
    if (bytes)
        ST_ATOMIC_ADD(body->pipe.bytes_sent[part], bytes);
    if (messages)
        ST_ATOMIC_ADD(body->parts[part].releases, messages);
}

static void count_read(pipe_end *end, const void *buf, size_t n)
{
    st_table *table = watched_table;
    if (!table)
        return;
    uint64_t bytes = 0;
    if (end->pool) {
        frame_feed(&end->in, buf, n, &bytes, end);
        return;
    }
    uint64_t messages = frame_feed(&end->in, buf, n, &bytes, NULL);
    st_foreign_body *body = pipe_body(table, end);
    unsigned part = end->sends ^ 1u;
    if (bytes)
        ST_ATOMIC_ADD(body->pipe.bytes_received[part], bytes);
    if (messages)
        ST_ATOMIC_ADD(body->parts[part].acquisitions, messages);
}

/* Whether a read of fd would block now: nothing to read and a blocking fd. */
static bool read_would_block(int fd)
{
    struct pollfd probe = { .fd = fd, .events = POLLIN, .revents = 0 };
    if (REAL(poll)(&probe, 1, 0) != 0)
        return false;
    int flags = fcntl(fd, F_GETFL);
    return flags >= 0 && !(flags & O_NONBLOCK);
}

static st_foreign_part *mark_blocked(pipe_end *end)
{
    st_table *table = watched_table;
    if (!table)
        return NULL;
    /* A Pool's result handler (a thread of its creator) always waits for
     * results: not shown as the whole process blocked. */
    if (end->pool == POOL_END_RESULT_READER)
        return NULL;
    watch_register_if_new(table);
    if (end->pool == POOL_END_TASK_READER)
        pool_task_reader(table, end->slot_plus1 - 1);   /* a worker waiting for a task */
    st_foreign_part *part = &pipe_body(table, end)->parts[end->sends ^ 1u];
    ST_ATOMIC_ADD(part->waiters, 1u);
    ST_ATOMIC_ADD(part->contentions, 1u);
    tls.guard++;
    st_process_mark_blocked(table, end->slot_plus1 - 1, end->pool ? ST_OP_GET : ST_OP_RECV);
    tls.guard--;
    return part;
}

static void unmark_blocked(st_foreign_part *part)
{
    tls.guard++;
    st_process_mark_unblocked(watched_table);
    tls.guard--;
    ST_ATOMIC_SUB(part->waiters, 1u);
}

/* ---- creation ---- */

static void forget_fd(int fd)
{
    if ((unsigned)fd < ST_PRELOAD_PIPE_FDS && st_preload_pipe_ends[fd].slot_plus1) {
        __atomic_store_n(&st_preload_pipe_ends[fd].slot_plus1, 0u, __ATOMIC_RELEASE);
        memset(&st_preload_pipe_ends[fd].out, 0, sizeof(frame_parser));
        memset(&st_preload_pipe_ends[fd].in, 0, sizeof(frame_parser));
    }
}

static void watch_end(int fd, uint32_t slot, unsigned sends, bool socket, pool_end pool)
{
    pipe_end *end = &st_preload_pipe_ends[fd];
    end->socket = socket;
    end->pool = (uint8_t)pool;
    memset(&end->out, 0, sizeof end->out);
    memset(&end->in, 0, sizeof end->in);
    end->sends = (uint8_t)sends;
    __atomic_store_n(&end->slot_plus1, slot + 1, __ATOMIC_RELEASE);
}

/* fds[0] and fds[1] were just made: if by multiprocessing's Pipe, watch them. */
static void pipe_created(const int fds[2], bool socket)
{
    if (tls.guard > 0 || (unsigned)fds[0] >= ST_PRELOAD_PIPE_FDS || (unsigned)fds[1] >= ST_PRELOAD_PIPE_FDS)
        return;
    forget_fd(fds[0]);               /* numbers reused without our close (dup2, close_range) */
    forget_fd(fds[1]);
    py_site site;
    if (!python_pipe_site_read(&site))
        return;
    st_table *table = watch_table();
    if (!table)
        return;
    if (site.pool_frame) {
        /* A Pool's SimpleQueue: fds[0] its reader, fds[1] its writer. The
         * task reader reads part 0 (sends ^ 1), the result reader part 1. */
        uint32_t slot;
        pool_end reader, writer;
        tls.guard++;
        bool watched = pool_pipe_made(table, &site, &slot, &reader, &writer);
        tls.guard--;
        if (watched) {
            bool tasks = reader == POOL_END_TASK_READER;
            watch_end(fds[0], slot, tasks ? 1 : 0, socket, reader);
            watch_end(fds[1], slot, tasks ? 0 : 1, socket, writer);
        }
        return;
    }
    char full[160], name[ST_OBJECT_NAME_MAX + 1 - 4];   /* room for a " #nn" suffix */
    if (site.variable[0])
        snprintf(full, sizeof full, "%.16s %.30s (%.20s:%d)", site.display, site.variable, site.file, site.line);
    else
        snprintf(full, sizeof full, "%.16s (%.20s:%d)", site.display, site.file, site.line);
    size_t len = strnlen(full, sizeof name - 1);
    memcpy(name, full, len);
    name[len] = '\0';
    foreign_spec spec = {
        .type = ST_TYPE_FOREIGN_PIPE,
        .kind = ST_FOREIGN_PY_PIPE,
        .key = key_of_words((uint64_t)getpid(), ticks_now(), (uint64_t)fds[0] << 32 | (uint32_t)fds[1]),
        .part = 0,
        .op = ST_OP_RECV,
        .name = name,
    };
    uint32_t slot;
    if (!watch_create_object(table, &spec, &slot))
        return;
    /* A = fds[0] sends A to B and reads B to A (one-way: it only reads);
     * B = fds[1] the other way round (one-way: it only writes). */
    watch_end(fds[0], slot, 0, socket, POOL_END_NONE);
    watch_end(fds[1], slot, 1, socket, POOL_END_NONE);
}

/* ---- the interposed calls ---- */

/* A read at a message boundary of a socket end: first without waiting
 * (recv MSG_DONTWAIT gives what read would, in one call); only when
 * nothing is there, and the socket blocks, is the read a blocked one. */
static ssize_t read_socket_boundary(pipe_end *end, int fd, void *buf, size_t count)
{
    int saved = errno;
    ssize_t n = REAL(recv)(fd, buf, count, MSG_DONTWAIT);
    if (n >= 0) {
        errno = saved;
        return n;
    }
    st_foreign_part *blocked = NULL;
    if (errno == EAGAIN) {
        int flags = fcntl(fd, F_GETFL);
        if (flags >= 0 && (flags & O_NONBLOCK)) {
            errno = EAGAIN;
            return -1;
        }
        blocked = mark_blocked(end);
    }
    errno = saved;                   /* anything else: read says what it is */
    n = REAL(read)(fd, buf, count);
    if (blocked) {
        saved = errno;
        unmark_blocked(blocked);
        errno = saved;
    }
    return n;
}

/* A read of a pipe end: when at a message boundary, poll(0) first. */
static ssize_t read_pipe(pipe_end *end, int fd, void *buf, size_t count)
{
    int saved = errno;
    st_foreign_part *blocked = NULL;
    if (at_boundary(&end->in) && read_would_block(fd))
        blocked = mark_blocked(end);
    errno = saved;
    ssize_t n = REAL(read)(fd, buf, count);
    if (blocked) {
        saved = errno;
        unmark_blocked(blocked);
        errno = saved;
    }
    return n;
}

INTERPOSED ssize_t read(int fd, void *buf, size_t count)
{
    pipe_end *end = watched_end(fd);
    if (__builtin_expect(end == NULL, 1))
        return REAL(read)(fd, buf, count);
    ssize_t n;
    if (count == 0)
        n = REAL(read)(fd, buf, count);
    else if (end->socket && at_boundary(&end->in))
        n = read_socket_boundary(end, fd, buf, count);
    else
        n = read_pipe(end, fd, buf, count);
    if (n > 0) {
        int saved = errno;
        count_read(end, buf, (size_t)n);
        errno = saved;
    }
    return n;
}

INTERPOSED ssize_t write(int fd, const void *buf, size_t count)
{
    pipe_end *end = watched_end(fd);
    ssize_t n = REAL(write)(fd, buf, count);
    if (__builtin_expect(end == NULL, 1) || n <= 0)
        return n;
    int saved = errno;
    count_written(end, buf, (size_t)n);
    errno = saved;
    return n;
}

INTERPOSED int close(int fd)
{
    if (__builtin_expect((unsigned)fd < ST_PRELOAD_PIPE_FDS, 1) && st_preload_pipe_ends[fd].slot_plus1)
        forget_fd(fd);
    return REAL(close)(fd);
}

INTERPOSED int pipe(int fds[2])
{
    int r = REAL(pipe)(fds);
    if (r == 0) {
        int saved = errno;
        pipe_created(fds, false);
        errno = saved;
    }
    return r;
}

INTERPOSED int pipe2(int fds[2], int flags)
{
    int r = REAL(pipe2)(fds, flags);
    if (r == 0) {
        int saved = errno;
        pipe_created(fds, false);
        errno = saved;
    }
    return r;
}

INTERPOSED int socketpair(int domain, int type, int protocol, int fds[2])
{
    int r = REAL(socketpair)(domain, type, protocol, fds);
    if (r == 0) {
        int saved = errno;
        pipe_created(fds, true);
        errno = saved;
    }
    return r;
}
