/* end_text.c - how a process or the watched command ended, in words (see
 * end_text.h). Signal names are spelled out here rather than asked of libc
 * (sigabbrev_np is glibc's own), so the text is the same everywhere.
 */
#include "config.h"

#include "end_text.h"

#include <stdio.h>
#include <sys/wait.h>

static const char *const signal_names[] = {
    [1] = "SIGHUP",   [2] = "SIGINT",     [3] = "SIGQUIT",  [4] = "SIGILL",   [5] = "SIGTRAP",
    [6] = "SIGABRT",  [7] = "SIGBUS",     [8] = "SIGFPE",   [9] = "SIGKILL",  [10] = "SIGUSR1",
    [11] = "SIGSEGV", [12] = "SIGUSR2",   [13] = "SIGPIPE", [14] = "SIGALRM", [15] = "SIGTERM",
    [16] = "SIGSTKFLT", [17] = "SIGCHLD", [18] = "SIGCONT", [19] = "SIGSTOP", [20] = "SIGTSTP",
    [21] = "SIGTTIN", [22] = "SIGTTOU",   [23] = "SIGURG",  [24] = "SIGXCPU", [25] = "SIGXFSZ",
    [26] = "SIGVTALRM", [27] = "SIGPROF", [28] = "SIGWINCH", [29] = "SIGIO", [30] = "SIGPWR",
    [31] = "SIGSYS",
};

const char *end_signal_name(int signal, char *buffer, size_t size)
{
    if (signal > 0 && (size_t)signal < sizeof signal_names / sizeof signal_names[0] && signal_names[signal])
        snprintf(buffer, size, "%s", signal_names[signal]);
    else
        snprintf(buffer, size, "signal %d", signal);
    return buffer;
}

char *end_process_text(const st_process_view *process, char *buffer, size_t size)
{
    char name[24];
    if (!process->exit_known)
        snprintf(buffer, size, "%s", "");
    else if (process->exit_signal > 0)
        snprintf(buffer, size, "killed %s%s", end_signal_name(process->exit_signal, name, sizeof name),
                 process->core_dumped ? " (core)" : "");
    else
        snprintf(buffer, size, "exited %d", process->exit_status);
    return buffer;
}

char *end_duration_text(uint64_t ns, char *buffer, size_t size)
{
    uint64_t tenths = (ns + 50000000u) / 100000000u;
    if (tenths < 600) {
        snprintf(buffer, size, "%llu.%llu s", (unsigned long long)(tenths / 10), (unsigned long long)(tenths % 10));
        return buffer;
    }
    uint64_t seconds = (ns + 500000000u) / 1000000000u;
    if (seconds < 3600)
        snprintf(buffer, size, "%llu min %02llu s", (unsigned long long)(seconds / 60),
                 (unsigned long long)(seconds % 60));
    else
        snprintf(buffer, size, "%llu h %02llu min", (unsigned long long)(seconds / 3600),
                 (unsigned long long)(seconds % 3600 / 60));
    return buffer;
}

char *end_command_text(int wait_status, uint64_t ran_ns, char *buffer, size_t size)
{
    char how[48], duration[32], name[24];
    if (WIFEXITED(wait_status))
        snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(wait_status));
    else if (WIFSIGNALED(wait_status))
        snprintf(how, sizeof how, "killed by %s%s", end_signal_name(WTERMSIG(wait_status), name, sizeof name),
                 WCOREDUMP(wait_status) ? " (core dumped)" : "");
    else
        snprintf(how, sizeof how, "wait status 0x%x", (unsigned)wait_status);
    snprintf(buffer, size, "COMMAND ENDED: %s after %s", how, end_duration_text(ran_ns, duration, sizeof duration));
    return buffer;
}
