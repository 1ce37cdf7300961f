/* run_log.c - open the log of `synctop run --dashboard` safely (see
 * run_log.h): never through a link, never truncating, mode 0600, the
 * default one in a directory no one else can write to. */
#include "config.h"

#include "run_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_text.h"

/* Other names tried when synctop-run-SESSION.log exists already. */
#define MAX_NAME_ATTEMPTS 100

static void reset(run_log *log)
{
    log->fd = -1;
    log->path[0] = log->made_dir[0] = '\0';
    log->made_file = false;
}

int run_log_open_given(const char *path, run_log *log)
{
    reset(log);
    char shown[CLI_MESSAGE_BYTES / 2];
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == ELOOP) {
        fprintf(stderr, "synctop run: invalid --log '%s': it is a symbolic link; give the file itself "
                "(synctop run does not write through links)\n", cli_shown(path, shown, sizeof shown));
        return 2;
    }
    if (fd < 0) {
        int error = errno;
        fprintf(stderr, "synctop run: invalid --log '%s': cannot open it for appending: %s; give a file "
                "you may write\n", cli_shown(path, shown, sizeof shown), strerror(error));
        return 2;
    }
    snprintf(log->path, sizeof log->path, "%s", path);
    log->fd = fd;
    return 0;
}

/* Whether dir (already open) is a directory of the effective user that
 * neither its group nor others may write to. */
static bool is_private_dir(int dir_fd)
{
    struct stat st;
    return fstat(dir_fd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
           (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* $XDG_RUNTIME_DIR, opened, when it may be trusted; else -1. */
static int open_runtime_dir(char *path, size_t size)
{
    const char *dir = getenv("XDG_RUNTIME_DIR");
    if (dir == NULL || dir[0] != '/')
        return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (!is_private_dir(fd) || snprintf(path, size, "%s", dir) >= (int)size) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A new directory ($TMPDIR or /tmp)/synctop-run-XXXXXX (mode 0700), opened;
 * or -1 after printing why not. */
static int make_private_dir(run_log *log)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] != '/')
        base = "/tmp";
    if (snprintf(log->made_dir, sizeof log->made_dir, "%s/synctop-run-XXXXXX", base) >= (int)sizeof log->made_dir ||
        mkdtemp(log->made_dir) == NULL) {
        int error = errno;
        char shown[CLI_MESSAGE_BYTES / 2];
        fprintf(stderr, "synctop run: cannot make a private directory for the log in %s: %s (give one "
                "with --log FILE)\n", cli_shown(base, shown, sizeof shown), strerror(error));
        log->made_dir[0] = '\0';
        return -1;
    }
    int fd = open(log->made_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || !is_private_dir(fd)) {
        char shown[CLI_MESSAGE_BYTES / 2];
        fprintf(stderr, "synctop run: the new directory %s is not private (give a log with --log FILE)\n",
                cli_shown(log->made_dir, shown, sizeof shown));
        if (fd >= 0)
            close(fd);
        rmdir(log->made_dir);
        log->made_dir[0] = '\0';
        return -1;
    }
    return fd;
}

/* Create synctop-run-SESSION.log in dir (or .1.log, .2.log... when taken). */
static int create_in(int dir_fd, const char *dir, const char *session, run_log *log)
{
    for (int attempt = 0; attempt < MAX_NAME_ATTEMPTS; attempt++) {
        char name[ST_SESSION_NAME_MAX + 32];
        if (attempt == 0)
            snprintf(name, sizeof name, "synctop-run-%s.log", session);
        else
            snprintf(name, sizeof name, "synctop-run-%s.%d.log", session, attempt);
        if (snprintf(log->path, sizeof log->path, "%s/%s", dir, name) >= (int)sizeof log->path) {
            errno = ENAMETOOLONG;
            break;
        }
        int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
            log->made_file = true;
            return fd;
        }
        if (errno != EEXIST)
            break;
    }
    int error = errno;
    char shown[CLI_MESSAGE_BYTES / 2];
    fprintf(stderr, "synctop run: cannot create a log for session '%s' in %s: %s (give one with --log FILE)\n",
            session, cli_shown(dir, shown, sizeof shown), strerror(error));
    return -1;
}

int run_log_open_default(const char *session, run_log *log)
{
    reset(log);
    char dir[PATH_MAX];
    int dir_fd = open_runtime_dir(dir, sizeof dir);
    if (dir_fd < 0) {
        dir_fd = make_private_dir(log);
        if (dir_fd < 0)
            return 1;
        snprintf(dir, sizeof dir, "%s", log->made_dir);
    }
    log->fd = create_in(dir_fd, dir, session, log);
    close(dir_fd);
    if (log->fd < 0) {
        if (log->made_dir[0] != '\0')
            rmdir(log->made_dir);
        reset(log);
        return 1;
    }
    return 0;
}

void run_log_close(run_log *log, bool unused)
{
    if (log->fd >= 0)
        close(log->fd);
    if (unused && log->made_file)
        unlink(log->path);
    if (unused && log->made_dir[0] != '\0')
        rmdir(log->made_dir);
    reset(log);
}
