/* run_log.h - the file that receives the command's output under
 * `synctop run --dashboard` (the terminal belongs to the dashboard).
 *
 * Both are opened before the command starts, never through a symbolic
 * link, and readable by the user alone (mode 0600):
 *   --log FILE   appended to (O_APPEND|O_NOFOLLOW; never truncated, so a
 *                link planted there cannot make synctop destroy a file);
 *   default      a new file (O_CREAT|O_EXCL) in a private directory:
 *                $XDG_RUNTIME_DIR when it is a directory of ours that no one
 *                else may write, else a new mkdtemp directory
 *                ($TMPDIR or /tmp)/synctop-run-XXXXXX, mode 0700.
 */
#ifndef SYNCTOP_TUI_RUN_LOG_H
#define SYNCTOP_TUI_RUN_LOG_H

#include <limits.h>
#include <stdbool.h>

typedef struct run_log {
    int fd;                     /* -1 when none is open */
    char path[PATH_MAX];
    char made_dir[PATH_MAX];    /* the mkdtemp directory we made, or "" */
    bool made_file;             /* we created path */
} run_log;

/* Open --log path for appending. Returns 0, or 2 after printing why not
 * (a symbolic link, a directory, no permission...): a bad --log is a usage
 * error, found before anything starts. */
int run_log_open_given(const char *path, run_log *log);

/* Create the default log of session. Returns 0, or 1 after printing why
 * not. */
int run_log_open_default(const char *session, run_log *log);

/* Close the log; when it went unused, also remove what we made of it. */
void run_log_close(run_log *log, bool unused);

#endif
