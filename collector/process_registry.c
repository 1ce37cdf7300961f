/* process_registry.c - the calling process's slot in the status table.
 *
 * A process gets a slot on its first call into a table (or when it calls
 * st_process_register). Its pid is cached and kept current across fork()
 * by a pthread_atfork child handler, so the primitives' fast paths never
 * make a system call to learn who they are. A slot whose process died
 * (pid gone, or pid now used by a process with another start time) is
 * reclaimed when its pid registers again, when the table runs out of
 * process slots, or on st_table_reclaim_dead(). A process whose parent
 * recorded its end (st_process_record_exit, process_control.c) is kept at
 * least ST_EXITED_KEEP_NS after that, so a viewer shows how it ended, then
 * freed by the next registration, or sooner if the table runs out of slots.
 */
#include "internal.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

pid_t st_self_pid;
unsigned st_fork_generation = 1;
static pthread_once_t identity_once = PTHREAD_ONCE_INIT;

static void after_fork_in_child(void)
{
    st_self_pid = getpid();
    st_fork_generation++;
}

static void identity_setup(void)
{
    st_self_pid = getpid();
    pthread_atfork(NULL, NULL, after_fork_in_child);
}

__attribute__((constructor)) void st_process_identity_init(void)
{
    pthread_once(&identity_once, identity_setup);
}

static const char *const state_names[ST_PROCESS_STATE_COUNT] = {
    "starting", "running", "blocked", "unhealthy", "crashed", "stopped", "exited",
};

static const char *const operation_names[ST_OP_COUNT] = {
    "none", "acquire", "release", "wait", "put", "get", "send", "recv", "join", "set", "clear", "notify",
};

const char *st_process_state_name(st_process_state state)
{
    return (unsigned)state < ST_PROCESS_STATE_COUNT ? state_names[state] : "unknown";
}

const char *st_operation_name(st_operation op)
{
    return (unsigned)op < ST_OP_COUNT ? operation_names[op] : "unknown";
}

static void free_slot(st_process_slot *slot)
{
    __atomic_store_n(&slot->status, ST_SLOT_FREE, __ATOMIC_RELEASE);
}

/* Under the registry lock: free the slots of dead processes. */
static uint32_t reclaim_dead_locked(st_table *table)
{
    uint32_t reclaimed = 0;
    for (uint32_t i = 0; i < table->process_capacity; i++) {
        st_process_slot *slot = &table->processes[i];
        if (slot->status != ST_SLOT_LIVE)
            continue;
        if (slot->pid == st_self_pid)
            continue;
        if (!st_proc_is_alive(slot->pid, slot->start_ticks)) {
            free_slot(slot);
            reclaimed++;
        }
    }
    return reclaimed;
}

/* Whether slot holds a process reaped more than ST_EXITED_KEEP_NS ago:
 * the viewer has had its time to show how it ended. */
static bool exit_shown_long_enough(const st_process_slot *slot, uint64_t now_ns)
{
    if (__atomic_load_n(&slot->exit_recorded, __ATOMIC_ACQUIRE) != 1)
        return false;
    uint64_t exited = ST_LOAD(slot->exited_ns);
    return now_ns > exited && now_ns - exited >= ST_EXITED_KEEP_NS;
}

/* Under the registry lock: the caller's slot, a stale slot of its pid, or a
 * free one (reclaiming dead processes when none is free). Slots of processes
 * reaped long enough ago are freed on the way. */
static st_process_slot *find_slot_locked(st_table *table, uint64_t start_ticks)
{
    st_process_slot *free_one = NULL;
    uint64_t now_ns = st_monotonic_ns();
    for (uint32_t i = 0; i < table->process_capacity; i++) {
        st_process_slot *slot = &table->processes[i];
        if (slot->status == ST_SLOT_LIVE && slot->pid == st_self_pid) {
            if (slot->start_ticks == start_ticks)
                return slot;              /* ours already (another handle) */
            free_slot(slot);              /* a dead process that had our pid */
        }
        if (slot->status == ST_SLOT_LIVE && exit_shown_long_enough(slot, now_ns))
            free_slot(slot);
        if (!free_one && slot->status == ST_SLOT_FREE)
            free_one = slot;
    }
    if (free_one)
        return free_one;
    if (reclaim_dead_locked(table) == 0)
        return NULL;
    for (uint32_t i = 0; i < table->process_capacity; i++)
        if (table->processes[i].status == ST_SLOT_FREE)
            return &table->processes[i];
    return NULL;
}

/* A name (src_len bytes at most) into a slot field: valid UTF-8, cut at a
 * character boundary. */
static void copy_text(char *dst, size_t size, const char *src, size_t src_len)
{
    char text[ST_PROCESS_NAME_MAX + 1];
    st_text_sanitize(src, src_len, text, size < sizeof text ? size : sizeof text, 0);
    size_t len = strlen(text);
    memcpy(dst, text, len);
    memset(dst + len, 0, size - len);
}

static st_result register_locked(st_table *table, const char *name, const char *role, st_process_slot **out)
{
    uint64_t start_ticks = 0;
    st_proc_start_ticks(st_self_pid, &start_ticks);
    st_process_slot *slot = find_slot_locked(table, start_ticks);
    if (!slot)
        return st_fail(ST_EFULL, "process table full: all %u process slots of session '%s' hold live "
                       "processes. Recreate the session with more (SYNCTOP_PROCESSES=N, or "
                       "st_table_options.process_capacity)", table->process_capacity, table->session);
    bool fresh = slot->status != ST_SLOT_LIVE;
    if (fresh) {
        __atomic_store_n(&slot->status, ST_SLOT_INITIALIZING, __ATOMIC_RELAXED);
        slot->pid = st_self_pid;
        slot->start_ticks = start_ticks;
        slot->registered_ns = st_realtime_ns();
        slot->state = ST_PROCESS_RUNNING;
        slot->restarts = 0;
        slot->heartbeat_ns = 0;
        slot->blocked_object = 0;
        slot->blocked_op = ST_OP_NONE;
        slot->blocked_since_ns = 0;
        slot->exit_recorded = 0;
        slot->exit_status = 0;
        slot->exited_ns = 0;
        char command[ST_PROCESS_NAME_MAX + 1];
        st_proc_self_command(command, sizeof command);
        /* The kernel cuts a command name to 15 bytes, maybe mid-character. */
        size_t command_len = strlen(command);
        copy_text(slot->name, sizeof slot->name, command, command_len >= 15 ? command_len : SIZE_MAX);
        copy_text(slot->role, sizeof slot->role, "", SIZE_MAX);
    }
    if (name)
        copy_text(slot->name, sizeof slot->name, name, SIZE_MAX);
    if (role)
        copy_text(slot->role, sizeof slot->role, role, SIZE_MAX);
    if (fresh)
        __atomic_store_n(&slot->status, ST_SLOT_LIVE, __ATOMIC_RELEASE);
    *out = slot;
    return ST_OK;
}

st_process_slot *st_self_slot_slow(st_table *table)
{
    if (table->readonly)
        return NULL;
    st_process_identity_init();
    st_process_slot *slot = NULL;
    if (st_registry_lock(table) != ST_OK)
        return NULL;
    register_locked(table, NULL, NULL, &slot);
    st_registry_unlock(table);
    table->self = slot;
    table->self_fork_generation = st_fork_generation;
    return slot;
}

static st_result check_writable(st_table *table, const char *call)
{
    if (!table)
        return st_fail(ST_EINVAL, "%s: table is NULL", call);
    if (table->readonly)
        return st_fail(ST_EPERM, "%s: the table was attached read-only", call);
    return ST_OK;
}

st_result st_process_register(st_table *table, const char *name, const char *role)
{
    st_clear_detail();
    st_result r = check_writable(table, "st_process_register");
    if (r != ST_OK)
        return r;
    if (name && strlen(name) > ST_PROCESS_NAME_MAX)
        return st_fail(ST_ENAMETOOLONG, "process name '%s' is longer than %d bytes", name, ST_PROCESS_NAME_MAX);
    if (role && strlen(role) > ST_PROCESS_ROLE_MAX)
        return st_fail(ST_ENAMETOOLONG, "process role '%s' is longer than %d bytes", role, ST_PROCESS_ROLE_MAX);
    st_process_identity_init();
    r = st_registry_lock(table);
    if (r != ST_OK)
        return r;
    st_process_slot *slot = NULL;
    r = register_locked(table, name, role, &slot);
    st_registry_unlock(table);
    table->self = slot;
    table->self_fork_generation = st_fork_generation;
    return r;
}

st_result st_process_set_state(st_table *table, st_process_state state)
{
    st_clear_detail();
    st_result r = check_writable(table, "st_process_set_state");
    if (r != ST_OK)
        return r;
    if ((unsigned)state >= ST_PROCESS_STATE_COUNT)
        return st_fail(ST_EINVAL, "st_process_set_state: unknown state %d", (int)state);
    st_process_slot *slot = st_self_slot(table);
    if (!slot)
        return st_fail(ST_EFULL, "process table of session '%s' is full (%u slots)", table->session,
                       table->process_capacity);
    ST_STORE(slot->state, (uint32_t)state);
    return ST_OK;
}

st_result st_process_heartbeat(st_table *table)
{
    st_clear_detail();
    st_result r = check_writable(table, "st_process_heartbeat");
    if (r != ST_OK)
        return r;
    st_process_slot *slot = st_self_slot(table);
    if (!slot)
        return st_fail(ST_EFULL, "process table of session '%s' is full (%u slots)", table->session,
                       table->process_capacity);
    ST_STORE(slot->heartbeat_ns, st_monotonic_ns());
    return ST_OK;
}

st_result st_process_unregister(st_table *table)
{
    st_clear_detail();
    st_result r = check_writable(table, "st_process_unregister");
    if (r != ST_OK)
        return r;
    if (!table->self || table->self_fork_generation != st_fork_generation)
        return ST_OK;
    r = st_registry_lock(table);
    if (r != ST_OK)
        return r;
    if (table->self->pid == st_self_pid)
        free_slot(table->self);
    st_registry_unlock(table);
    table->self = NULL;
    return ST_OK;
}

void st_process_mark_blocked(st_table *table, uint32_t object_index, st_operation op)
{
    st_process_slot *slot = st_self_slot(table);
    if (!slot)
        return;
    ST_STORE(slot->blocked_since_ns, st_monotonic_ns());
    ST_STORE(slot->blocked_op, (uint32_t)op);
    ST_STORE(slot->blocked_object, object_index + 1);
    ST_STORE(slot->state, (uint32_t)ST_PROCESS_BLOCKED);
}

void st_process_mark_unblocked(st_table *table)
{
    st_process_slot *slot = st_self_slot(table);
    if (!slot)
        return;
    ST_STORE(slot->blocked_object, 0u);
    ST_STORE(slot->blocked_op, (uint32_t)ST_OP_NONE);
    ST_STORE(slot->state, (uint32_t)ST_PROCESS_RUNNING);
}

st_result st_table_reclaim_dead(st_table *table, uint32_t *reclaimed)
{
    st_clear_detail();
    st_result r = check_writable(table, "st_table_reclaim_dead");
    if (r != ST_OK)
        return r;
    st_process_identity_init();
    r = st_registry_lock(table);
    if (r != ST_OK)
        return r;
    uint32_t count = reclaim_dead_locked(table);
    st_registry_unlock(table);
    if (reclaimed)
        *reclaimed = count;
    return ST_OK;
}
