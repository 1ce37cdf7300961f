/* gc_command.h - synctop --gc: remove leaked shared memory.
 *
 * Returns the program's exit status (0 ok, also when nothing was leaked;
 * 1 runtime error; 2 invalid session name) and prints its own messages:
 * one line per removed item and a summary on stdout, errors on stderr. */
#ifndef SYNCTOP_TUI_GC_COMMAND_H
#define SYNCTOP_TUI_GC_COMMAND_H

/* --gc [-s SESSION]: session NULL means every session of this user. */
int gc_command(const char *session);

#endif
