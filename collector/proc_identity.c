/* proc_identity.c - reading a process's start time and command name from
 * /proc (see proc_identity.h for why this does not go through libproc2). */
#include "proc_identity.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool read_stat(pid_t pid, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n;
    do {
        n = read(fd, buf, size - 1);
    } while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return true;
}

/* Fields after the command: "S ppid ..." where the command ends at the last
 * ')' (a command may itself contain spaces and parentheses). */
static const char *after_command(const char *stat)
{
    const char *close_paren = strrchr(stat, ')');
    return close_paren ? close_paren + 2 : NULL;
}

static bool parse_stat(const char *stat, char *state, uint64_t *start_ticks)
{
    const char *p = after_command(stat);
    if (!p || !*p)
        return false;
    *state = *p;
    /* After the command, field 3 is the state; the start time is field 22. */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return false;
        p++;
    }
    char *end;
    errno = 0;
    unsigned long long value = strtoull(p, &end, 10);
    if (errno || end == p)
        return false;
    *start_ticks = value;
    return true;
}

bool st_proc_start_ticks(pid_t pid, uint64_t *ticks)
{
    char buf[1024];
    char state;
    return read_stat(pid, buf, sizeof buf) && parse_stat(buf, &state, ticks);
}

bool st_proc_is_alive(pid_t pid, uint64_t start_ticks)
{
    if (pid <= 0)
        return false;
    if (kill(pid, 0) < 0 && errno == ESRCH)
        return false;
    char buf[1024];
    char state;
    uint64_t ticks;
    if (!read_stat(pid, buf, sizeof buf) || !parse_stat(buf, &state, &ticks))
        return false;
    return ticks == start_ticks && state != 'Z' && state != 'X';
}

void st_proc_self_command(char *out, size_t size)
{
    out[0] = '\0';
    int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, out, size - 1);
    close(fd);
    if (n <= 0) {
        out[0] = '\0';
        return;
    }
    out[n] = '\0';
    char *newline = strchr(out, '\n');
    if (newline)
        *newline = '\0';
}
