/* process_control.c - a parent acting on the slots of the children it forked
 * (see process_control.h), and recording how a child ended when it reaped
 * it (st_process_record_exit, process.h).
 *
 * A slot is found by a scan of the process slots: a supervisor or a pool
 * owner does this a few times per child lifetime (after a fork, at a state
 * change, after reaping), never on a primitive's fast path. An end is
 * recorded under the registry lock, so the slot cannot be freed and given
 * to another process between finding it and writing it.
 */
#include "process_control.h"

#include <sys/wait.h>

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

st_result st_process_start_time(pid_t pid, uint64_t *start_ticks)
{
    st_clear_detail();
    if (pid <= 0 || !start_ticks)
        return st_fail(ST_EINVAL, "st_process_start_time: pid %d, start_ticks %p", (int)pid, (void *)start_ticks);
    if (!st_proc_start_ticks(pid, start_ticks))
        return st_fail(ST_ENOENT, "process %d does not exist", (int)pid);
    return ST_OK;
}

/* Under the registry lock: the slot of (pid, start_ticks), or with
 * start_ticks 0 the one of pid whose process is gone with no end recorded. */
static st_process_slot *ended_slot_locked(st_table *table, pid_t pid, uint64_t start_ticks)
{
    for (uint32_t i = 0; i < table->process_capacity; i++) {
        st_process_slot *slot = &table->processes[i];
        if (slot->status != ST_SLOT_LIVE || slot->pid != pid)
            continue;
        if (start_ticks != 0) {
            if (slot->start_ticks == start_ticks)
                return slot;
            continue;
        }
        /* A process registered under the pid since the reap is alive. */
        if (slot->exit_recorded == 0 && !st_proc_is_alive(pid, slot->start_ticks))
            return slot;
    }
    return NULL;
}

st_result st_process_record_exit(st_table *table, pid_t pid, uint64_t start_ticks, int status)
{
    st_clear_detail();
    if (!table)
        return st_fail(ST_EINVAL, "st_process_record_exit: table is NULL");
    if (table->readonly)
        return st_fail(ST_EPERM, "st_process_record_exit: the table was attached read-only");
    if (pid <= 0 || !(WIFEXITED(status) || WIFSIGNALED(status)))
        return st_fail(ST_EINVAL, "st_process_record_exit: pid %d, status 0x%x is not the end of a process",
                       (int)pid, (unsigned)status);
    st_result r = st_registry_lock(table);
    if (r != ST_OK)
        return r;
    st_process_slot *slot = ended_slot_locked(table, pid, start_ticks);
    if (slot) {
        ST_STORE(slot->exit_status, (int32_t)status);
        ST_STORE(slot->exited_ns, st_monotonic_ns());
        __atomic_store_n(&slot->exit_recorded, 1u, __ATOMIC_RELEASE);
    }
    st_registry_unlock(table);
    if (!slot)
        return st_fail(ST_ENOENT, "process %d (start time %llu) has no slot in session '%s'", (int)pid,
                       (unsigned long long)start_ticks, table->session);
    return ST_OK;
}
