/* mapping_identity.c - reading /proc/self/maps for an address's identity
 * (see mapping_identity.h). Plain open/read and a hand-written parser: no
 * stdio (the program's streams and their locks stay untouched) and no
 * allocation. */
#include "preload/preload.h"
#include "preload/mapping_identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct maps_line {
    uintptr_t start, end;
    uint64_t offset;
    uint64_t dev_major, dev_minor;
    uint64_t inode;
    const char *path;        /* NUL-terminated, "" for anonymous memory */
} maps_line;

static const char *parse_hex(const char *p, uint64_t *value)
{
    uint64_t v = 0;
    const char *start = p;
    for (;; p++) {
        unsigned digit;
        if (*p >= '0' && *p <= '9')
            digit = (unsigned)(*p - '0');
        else if (*p >= 'a' && *p <= 'f')
            digit = (unsigned)(*p - 'a' + 10);
        else
            break;
        v = v * 16 + digit;
    }
    *value = v;
    return p == start ? NULL : p;
}

static const char *parse_dec(const char *p, uint64_t *value)
{
    uint64_t v = 0;
    const char *start = p;
    for (; *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (uint64_t)(*p - '0');
    *value = v;
    return p == start ? NULL : p;
}

static const char *skip_spaces(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* "start-end perms offset major:minor inode   path" */
static bool parse_line(char *text, maps_line *out)
{
    uint64_t start, end, offset, major, minor, inode;
    const char *p = parse_hex(text, &start);
    if (!p || *p != '-')
        return false;
    p = parse_hex(p + 1, &end);
    if (!p || *p != ' ')
        return false;
    p = skip_spaces(p);
    while (*p && *p != ' ')
        p++;                           /* perms */
    p = parse_hex(skip_spaces(p), &offset);
    if (!p)
        return false;
    p = parse_hex(skip_spaces(p), &major);
    if (!p || *p != ':')
        return false;
    p = parse_hex(p + 1, &minor);
    if (!p)
        return false;
    p = parse_dec(skip_spaces(p), &inode);
    if (!p)
        return false;
    out->start = (uintptr_t)start;
    out->end = (uintptr_t)end;
    out->offset = offset;
    out->dev_major = major;
    out->dev_minor = minor;
    out->inode = inode;
    out->path = skip_spaces(p);
    return true;
}

/* Find the line of /proc/self/maps that holds address; copies its path
 * into path_buf. */
static bool find_mapping(uintptr_t address, maps_line *found, char *path_buf, size_t path_size)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char buffer[4096 + 512];
    size_t have = 0;
    bool ok = false;
    for (;;) {
        ssize_t n = read(fd, buffer + have, sizeof buffer - 1 - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
        buffer[have] = '\0';
        char *line = buffer;
        char *newline;
        while ((newline = memchr(line, '\n', have - (size_t)(line - buffer))) != NULL) {
            *newline = '\0';
            maps_line parsed;
            if (parse_line(line, &parsed) && address >= parsed.start && address < parsed.end) {
                *found = parsed;
                snprintf(path_buf, path_size, "%s", parsed.path);
                found->path = path_buf;
                ok = true;
                break;
            }
            line = newline + 1;
        }
        if (ok)
            break;
        /* Keep the unfinished line for the next read. */
        size_t rest = have - (size_t)(line - buffer);
        if (rest == sizeof buffer - 1)
            rest = 0;                  /* a line longer than the buffer: drop it */
        memmove(buffer, line, rest);
        have = rest;
    }
    close(fd);
    return ok;
}

static bool starts_with(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* The file's short name for object names: its basename, without
 * " (deleted)" and glibc's "sem." prefix. */
static void short_file_name(const char *path, char *out, size_t size)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strcspn(base, " ");
    snprintf(out, size, "%.*s", (int)(len > 24 ? 24 : len), base);
}

void mapping_identify(const void *address, mapping_identity *out)
{
    memset(out, 0, sizeof *out);
    uintptr_t at = (uintptr_t)address;
    char path[256];
    maps_line line;
    bool found = find_mapping(at, &line, path, sizeof path);
    if (!found || line.inode == 0) {
        /* Private memory: only this process (and its threads) can use it. */
        out->key = key_of_words((uint64_t)getpid(), (uint64_t)at, 0x70726976ull);
        snprintf(out->where, sizeof out->where, "%#lx", (unsigned long)at);
        return;
    }
    uint64_t file_offset = line.offset + (uint64_t)(at - line.start);
    out->key = key_of_words((line.dev_major << 32) | line.dev_minor, line.inode, file_offset);
    out->synctop = starts_with(path, "/dev/shm/synctop-");
    out->file_backed = !starts_with(path, "/dev/zero") && !starts_with(path, "/SYSV");
    if (out->file_backed) {
        char file[32];
        short_file_name(path, file, sizeof file);
        snprintf(out->where, sizeof out->where, "%s+%#llx", file, (unsigned long long)file_offset);
    } else {
        snprintf(out->where, sizeof out->where, "%#lx", (unsigned long)at);
    }
}
