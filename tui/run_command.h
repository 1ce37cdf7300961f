/* run_command.h - `synctop run`: watch an unmodified program.
 *
 *   synctop run [-s SESSION] [--dashboard] [-d SECONDS] [--log FILE] [--keep]
 *               [--] COMMAND [ARGS...]
 *
 * Sets up the session, runs COMMAND with the interposition library
 * preloaded (LD_PRELOAD, an absolute path), so that it and every process it
 * forks or execs publish their process-shared semaphores, mutexes and
 * condition variables (Python multiprocessing's Lock, Queue, Event... among
 * them) in the session. With --dashboard the dashboard opens on it in this
 * terminal. See synctop(1) and collector/preload/preload.h.
 */
#ifndef SYNCTOP_TUI_RUN_COMMAND_H
#define SYNCTOP_TUI_RUN_COMMAND_H


/* argv[0] is "run". Returns the program's exit status: COMMAND's own (128 +
 * signal when a signal ended it; 127 when it cannot be found, 126 when it
 * cannot be run), 2 for a usage error, 1 when synctop cannot set it up. */
int run_command_main(int argc, char **argv);

#endif
