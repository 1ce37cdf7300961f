/* model.c - the viewer's model: snapshot + /proc sample + rates.
 *
 * Each refresh takes a new snapshot into a spare buffer, samples the system
 * and every registered process through the libproc2 sampler, derives rates
 * for counter fields against the previous snapshot (objects matched by slot
 * index and creation time, both lists being sorted by index), and then swaps
 * the buffers. A failed refresh leaves the previous figures in place.
 *
 * Waiter counts (fields flagged ST_FIELD_WAITERS) are kept by the waiters
 * themselves, so one killed while it waited stays counted for ever. The
 * model reconciles them with the process slots, which say who is blocked on
 * what: with no live process blocked there the count is 0, and processes
 * found dead while blocked there are taken off it.
 */
#include "snapshot.h"
#include "model_internal.h"
#include "deadlock.h"
#include "proc_sampler.h"

#include <stdlib.h>
#include <string.h>

struct st_model {
    st_proc_sampler *sampler;
    st_snapshot current;
    st_snapshot next;
    st_system_view system;
    uint64_t time_ns;
    uint64_t refreshes;
    bool have_snapshot;
    bool session_ended;
    pid_t *pids;
    st_proc_sample *samples;
    size_t sample_alloc;
    uint64_t starvation_threshold_ns;
    /* Wait-for analysis of the current snapshot. */
    st_waitfor_edge *edges;
    uint32_t *edge_scratch;
    size_t edge_alloc;
    st_deadlock_view deadlocks[ST_MODEL_DEADLOCKS_MAX];
    size_t deadlock_count;
    /* The blocked processes of the current snapshot, by (object, op). */
    struct blocked_process *blocked;
    size_t blocked_alloc;
};

typedef struct blocked_process {
    uint32_t object;
    st_operation op;
    bool alive;
} blocked_process;

st_result st_model_new(st_model **out)
{
    if (!out)
        return st_fail(ST_EINVAL, "st_model_new: out is NULL");
    st_model *model = calloc(1, sizeof *model);
    if (!model)
        return st_fail(ST_ENOMEM, "st_model_new: out of memory");
    model->starvation_threshold_ns = ST_DEFAULT_STARVATION_NS;
    st_result r = st_proc_sampler_new(&model->sampler);
    if (r != ST_OK) {
        free(model);
        return r;
    }
    *out = model;
    return ST_OK;
}

void st_model_free(st_model *model)
{
    if (!model)
        return;
    st_proc_sampler_free(model->sampler);
    st_snapshot_free(&model->current);
    st_snapshot_free(&model->next);
    free(model->pids);
    free(model->samples);
    free(model->edges);
    free(model->edge_scratch);
    free(model->blocked);
    free(model);
}

/* A registered process found dead in a state that says it runs (its slot is
 * kept until the table needs it: a class sees who finished): "exited", with
 * its exit status or signal when its parent recorded them (the view's
 * exit_* fields, from the slot).
 * "crashed" and "stopped" were written by whoever saw the end and stay. */
static bool exited_unnoticed(st_process_state state)
{
    return state == ST_PROCESS_STARTING || state == ST_PROCESS_RUNNING || state == ST_PROCESS_BLOCKED ||
           state == ST_PROCESS_UNHEALTHY;
}

static st_result sample_processes(st_model *model, st_snapshot *snap)
{
    size_t n = snap->process_count;
    if (n == 0)
        return ST_OK;
    if (n > model->sample_alloc) {
        pid_t *pids = realloc(model->pids, n * sizeof *pids);
        if (pids)
            model->pids = pids;
        st_proc_sample *samples = realloc(model->samples, n * sizeof *samples);
        if (samples)
            model->samples = samples;
        if (!pids || !samples)
            return st_fail(ST_ENOMEM, "model: out of memory");
        model->sample_alloc = n;
    }
    for (size_t i = 0; i < n; i++)
        model->pids[i] = snap->processes[i].pid;
    st_result r = st_proc_sampler_processes(model->sampler, model->pids, n, model->samples);
    if (r != ST_OK)
        return r;
    for (size_t i = 0; i < n; i++) {
        st_process_view *view = &snap->processes[i];
        const st_proc_sample *sample = &model->samples[i];
        bool same_process = sample->found && (view->start_ticks == 0 || sample->start_ticks == view->start_ticks);
        /* Reaped (its end recorded): gone, whatever now has its pid. */
        view->alive = same_process && !view->exit_known && sample->state != 'Z' && sample->state != 'X';
        if (!view->alive && exited_unnoticed(view->state))
            view->state = ST_PROCESS_EXITED;
        view->sampled = same_process;
        view->cpu_percent = same_process && sample->cpu_known ? sample->cpu_percent : 0.0;
        view->rss_bytes = same_process ? sample->rss_bytes : 0;
    }
    return ST_OK;
}

static double field_number(const st_field *field)
{
    switch (field->kind) {
    case ST_VALUE_U64:
        return (double)field->value.u64;
    case ST_VALUE_I64:
    case ST_VALUE_PID:
        return (double)field->value.i64;
    case ST_VALUE_DOUBLE:
        return field->value.f64;
    default:
        return 0;
    }
}

/* Rates of counter fields between prev and cur (same object, same type). */
static void derive_rates(st_object_view *cur, const st_object_view *prev, double seconds)
{
    uint32_t n = cur->field_count < prev->field_count ? cur->field_count : prev->field_count;
    for (uint32_t f = 0; f < n; f++) {
        st_field *field = &cur->fields[f];
        if (!(field->flags & ST_FIELD_COUNTER) || field->name != prev->fields[f].name)
            continue;
        double delta = field_number(field) - field_number(&prev->fields[f]);
        field->has_rate = true;
        field->rate_per_s = delta > 0 ? delta / seconds : 0.0;
    }
}

static void rates_against(st_snapshot *cur, const st_snapshot *prev)
{
    if (prev->taken_ns == 0 || cur->taken_ns <= prev->taken_ns)
        return;
    double seconds = (double)(cur->taken_ns - prev->taken_ns) / 1e9;
    size_t j = 0;
    for (size_t i = 0; i < cur->object_count; i++) {
        st_object_view *object = &cur->objects[i];
        while (j < prev->object_count && prev->objects[j].index < object->index)
            j++;
        if (j >= prev->object_count)
            break;
        const st_object_view *before = &prev->objects[j];
        if (before->index == object->index && before->created_ns == object->created_ns &&
            before->type == object->type)
            derive_rates(object, before, seconds);
    }
}

/* The pid holding an object (its "holder" or "owner" field), or 0. */
static pid_t holder_of(const st_object_view *object)
{
    const st_field *field = st_object_field(object, "holder");
    if (!field)
        field = st_object_field(object, "owner");
    return field && field->kind == ST_VALUE_PID ? (pid_t)field->value.i64 : 0;
}

static const st_process_view *process_by_pid(const st_snapshot *snap, pid_t pid)
{
    for (size_t i = 0; i < snap->process_count; i++)
        if (snap->processes[i].pid == pid && snap->processes[i].alive)
            return &snap->processes[i];
    return NULL;
}

/* Flag starving processes and find wait-for cycles in snap. */
static st_result analyse_waits(st_model *model, st_snapshot *snap)
{
    model->deadlock_count = 0;
    size_t n = 0;
    if (snap->process_count > model->edge_alloc) {
        st_waitfor_edge *edges = realloc(model->edges, snap->process_count * sizeof *edges);
        if (edges)
            model->edges = edges;
        uint32_t *scratch = realloc(model->edge_scratch, 2 * snap->process_count * sizeof *scratch);
        if (scratch)
            model->edge_scratch = scratch;
        if (!edges || !scratch)
            return st_fail(ST_ENOMEM, "model: out of memory");
        model->edge_alloc = snap->process_count;
    }
    for (size_t i = 0; i < snap->process_count; i++) {
        st_process_view *process = &snap->processes[i];
        process->starving = process->alive && process->blocked &&
                            process->blocked_for_ns >= model->starvation_threshold_ns;
        process->deadlocked = false;
        if (!process->alive || !process->blocked)
            continue;
        const st_object_view *object = st_snapshot_find_object(snap, process->blocked_object);
        pid_t holder = object ? holder_of(object) : 0;
        /* Only a process trying to acquire something held waits for its
         * holder: a pool worker waiting for work ("get") does not wait for
         * the pool's owner, and a lock held by its own waiter never blocks
         * (ST_EDEADLK). */
        if (process->blocked_op != ST_OP_ACQUIRE || holder <= 0 || holder == process->pid)
            continue;
        model->edges[n++] = (st_waitfor_edge){ process->pid, holder, process->blocked_object };
    }
    st_waitfor_cycle cycles[ST_MODEL_DEADLOCKS_MAX];
    size_t found = st_waitfor_find_cycles(model->edges, n, model->edge_scratch, cycles, ST_MODEL_DEADLOCKS_MAX);
    if (found > ST_MODEL_DEADLOCKS_MAX)
        found = ST_MODEL_DEADLOCKS_MAX;
    for (size_t c = 0; c < found; c++) {
        st_deadlock_view *view = &model->deadlocks[model->deadlock_count++];
        memset(view, 0, sizeof *view);
        view->for_ns = UINT64_MAX;
        uint32_t length = cycles[c].length < ST_DEADLOCK_MAX_CYCLE ? cycles[c].length : ST_DEADLOCK_MAX_CYCLE;
        view->length = length;
        for (uint32_t m = 0; m < length; m++) {
            const st_waitfor_edge *edge = &model->edges[cycles[c].members[m]];
            view->pids[m] = edge->waiter;
            const st_object_view *object = st_snapshot_find_object(snap, edge->object);
            if (object)
                memcpy(view->locks[m], object->name, sizeof view->locks[m]);
            st_process_view *process = (st_process_view *)process_by_pid(snap, edge->waiter);
            if (process) {
                memcpy(view->process_names[m], process->name, sizeof view->process_names[m]);
                process->deadlocked = true;
                if (process->blocked_for_ns < view->for_ns)
                    view->for_ns = process->blocked_for_ns;
            }
        }
        if (view->for_ns == UINT64_MAX)
            view->for_ns = 0;
    }
    return ST_OK;
}

static int compare_blocked(const void *a, const void *b)
{
    const blocked_process *left = a, *right = b;
    if (left->object != right->object)
        return left->object < right->object ? -1 : 1;
    return (left->op > right->op) - (left->op < right->op);
}

/* How many of the sorted blocked processes wait on object in op (any op for
 * ST_OP_NONE), alive and dead. */
static void count_blocked(const blocked_process *blocked, size_t n, uint32_t object, st_operation op,
                          uint64_t *alive, uint64_t *dead)
{
    size_t low = 0, high = n;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (blocked[mid].object < object)
            low = mid + 1;
        else
            high = mid;
    }
    *alive = *dead = 0;
    for (size_t i = low; i < n && blocked[i].object == object; i++) {
        if (op != ST_OP_NONE && blocked[i].op != op)
            continue;
        if (blocked[i].alive)
            (*alive)++;
        else
            (*dead)++;
    }
}

static void reconcile_object_waiters(st_object_view *object, const blocked_process *blocked, size_t n)
{
    for (uint32_t f = 0; f < object->field_count && f < ST_MAX_FIELDS; f++) {
        st_field *field = &object->fields[f];
        if (!(field->flags & ST_FIELD_WAITERS) || field->kind != ST_VALUE_U64)
            continue;
        uint64_t alive, dead;
        count_blocked(blocked, n, object->index, field->blocked_in, &alive, &dead);
        if (alive == 0)
            field->value.u64 = 0;
        else if (field->blocked_in != ST_OP_NONE)   /* a dead one of another op is not in this count */
            field->value.u64 = field->value.u64 > dead ? field->value.u64 - dead : 0;
    }
}

/* Bound every waiter count by the processes blocked there (see the top). */
static st_result reconcile_waiters(st_model *model, st_snapshot *snap)
{
    if (snap->process_count > model->blocked_alloc) {
        blocked_process *blocked = realloc(model->blocked, snap->process_count * sizeof *blocked);
        if (!blocked)
            return st_fail(ST_ENOMEM, "model: out of memory");
        model->blocked = blocked;
        model->blocked_alloc = snap->process_count;
    }
    size_t n = 0;
    for (size_t i = 0; i < snap->process_count; i++) {
        const st_process_view *process = &snap->processes[i];
        if (process->blocked)
            model->blocked[n++] = (blocked_process){ process->blocked_object, process->blocked_op, process->alive };
    }
    if (n > 1)   /* qsort's base must not be NULL, even for no element (nothing blocked yet) */
        qsort(model->blocked, n, sizeof *model->blocked, compare_blocked);
    for (size_t i = 0; i < snap->object_count; i++)
        reconcile_object_waiters(&snap->objects[i], model->blocked, n);
    return ST_OK;
}

/* Sample the system figures, which every refresh updates. */
static st_result begin_refresh(st_model *model)
{
    if (!model)
        return st_fail(ST_EINVAL, "st_model_refresh: model is NULL");
    st_result r = st_proc_sampler_system(model->sampler, &model->system);
    if (r == ST_OK)
        model->time_ns = st_realtime_ns();
    return r;
}

/* Sample, analyse and adopt the snapshot just taken into model->next. */
static st_result finish_refresh(st_model *model)
{
    st_result r = sample_processes(model, &model->next);
    if (r != ST_OK)
        return r;
    r = reconcile_waiters(model, &model->next);
    if (r != ST_OK)
        return r;
    r = analyse_waits(model, &model->next);
    if (r != ST_OK)
        return r;
    if (model->have_snapshot && strcmp(model->current.session, model->next.session) == 0)
        rates_against(&model->next, &model->current);
    st_snapshot spare = model->current;
    model->current = model->next;
    model->next = spare;
    model->have_snapshot = true;
    model->session_ended = false;
    model->refreshes++;
    return ST_OK;
}

st_result st_model_refresh(st_model *model, const st_table *table)
{
    st_result r = begin_refresh(model);
    if (r != ST_OK || !table)
        return r;
    if (st_table_is_removed(table)) {
        model->session_ended = true;
        return ST_OK;
    }
    r = st_snapshot_take(table, &model->next);
    return r == ST_OK ? finish_refresh(model) : r;
}

st_result st_model_refresh_from_buffer(st_model *model, const void *data, size_t size)
{
    st_result r = begin_refresh(model);
    if (r != ST_OK)
        return r;
    r = st_snapshot_take_from_buffer(data, size, &model->next);
    return r == ST_OK ? finish_refresh(model) : r;
}

uint64_t st_model_time_ns(const st_model *model)
{
    return model ? model->time_ns : 0;
}

const char *st_model_session(const st_model *model)
{
    return model && model->have_snapshot ? model->current.session : "";
}

bool st_model_session_ended(const st_model *model)
{
    return model && model->session_ended;
}

uint64_t st_model_refresh_count(const st_model *model)
{
    return model ? model->refreshes : 0;
}

const st_system_view *st_model_system(const st_model *model)
{
    return model ? &model->system : NULL;
}

size_t st_model_process_count(const st_model *model)
{
    return model ? model->current.process_count : 0;
}

const st_process_view *st_model_process(const st_model *model, size_t i)
{
    return model && i < model->current.process_count ? &model->current.processes[i] : NULL;
}

size_t st_model_object_count(const st_model *model)
{
    return model ? model->current.object_count : 0;
}

const st_object_view *st_model_object(const st_model *model, size_t i)
{
    return model && i < model->current.object_count ? &model->current.objects[i] : NULL;
}

size_t st_model_deadlock_count(const st_model *model)
{
    return model ? model->deadlock_count : 0;
}

const st_deadlock_view *st_model_deadlock(const st_model *model, size_t i)
{
    return model && i < model->deadlock_count ? &model->deadlocks[i] : NULL;
}

void st_model_set_starvation_threshold(st_model *model, uint64_t threshold_ns)
{
    if (model)
        model->starvation_threshold_ns = threshold_ns;
}

uint64_t st_model_starvation_threshold(const st_model *model)
{
    return model ? model->starvation_threshold_ns : 0;
}

size_t st_model_event_count(const st_model *model)
{
    return model ? model->current.event_count : 0;
}

const st_event_view *st_model_event(const st_model *model, size_t i)
{
    return model && i < model->current.event_count ? &model->current.events[i] : NULL;
}

uint32_t st_model_corrupt_slots(const st_model *model)
{
    return model ? model->current.corrupt_slots : 0;
}

const st_field *st_object_field(const st_object_view *object, const char *name)
{
    if (!object || !name)
        return NULL;
    for (uint32_t i = 0; i < object->field_count && i < ST_MAX_FIELDS; i++)
        if (strcmp(object->fields[i].name, name) == 0)
            return &object->fields[i];
    return NULL;
}
