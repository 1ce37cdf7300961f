/* process_control.h - one process acting on another's slot in the status
 * table: a pool releasing the slot of a worker it reaped, a supervisor
 * marking its worker's state. Only a parent does this, for children it
 * forked, so it knows the pid is its own child's (reaped or not).
 */
#ifndef SYNCTOP_PROCESS_CONTROL_H
#define SYNCTOP_PROCESS_CONTROL_H

#include "internal.h"

/* The live slot registered by pid, or NULL (not registered yet, or
 * released). Read without the registry lock: the caller re-checks
 * slot->pid before each use, as the slot may be reused once released. */
st_process_slot *st_process_slot_of(st_table *table, pid_t pid);

/* Set the state of pid's slot. ST_ENOENT when pid has no slot. */
st_result st_process_set_state_of(st_table *table, pid_t pid, st_process_state state);

/* Free pid's slot (it was reaped: the process is gone for good). Does
 * nothing when pid has none. */
void st_process_release_of(st_table *table, pid_t pid);

#endif
