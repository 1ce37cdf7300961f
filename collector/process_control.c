/* process_control.c - a parent acting on the slots of the children it forked
 * (see process_control.h).
 *
 * A slot is found by a scan of the process slots: a supervisor or a pool
 * owner does this a few times per child lifetime (after a fork, at a state
 * change, after reaping), never on a primitive's fast path.
 */
#include "process_control.h"

st_process_slot *st_process_slot_of(st_table *table, pid_t pid)
{
    if (!table || table->readonly || pid <= 0)
        return NULL;
    for (uint32_t i = 0; i < table->process_capacity; i++) {
        st_process_slot *slot = &table->processes[i];
        if (__atomic_load_n(&slot->status, __ATOMIC_ACQUIRE) == ST_SLOT_LIVE && ST_LOAD(slot->pid) == pid)
            return slot;
    }
    return NULL;
}

st_result st_process_set_state_of(st_table *table, pid_t pid, st_process_state state)
{
    if ((unsigned)state >= ST_PROCESS_STATE_COUNT)
        return st_fail(ST_EINVAL, "unknown process state %d", (int)state);
    st_process_slot *slot = st_process_slot_of(table, pid);
    if (!slot)
        return st_fail(ST_ENOENT, "process %d has no slot in the table", (int)pid);
    ST_STORE(slot->state, (uint32_t)state);
    return ST_OK;
}

void st_process_release_of(st_table *table, pid_t pid)
{
    if (!table || table->readonly || pid <= 0 || pid == st_self_pid)
        return;
    if (st_registry_lock(table) != ST_OK)
        return;
    for (uint32_t i = 0; i < table->process_capacity; i++) {
        st_process_slot *slot = &table->processes[i];
        if (slot->status == ST_SLOT_LIVE && slot->pid == pid)
            __atomic_store_n(&slot->status, ST_SLOT_FREE, __ATOMIC_RELEASE);
    }
    st_registry_unlock(table);
}
