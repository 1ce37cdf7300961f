/* views.c - the view table: sections, their columns, and the figure each
 * kind graphs (see views.h).
 *
 * Column widths are chosen so that every table fits 80 columns with its
 * priority-0 and priority-1 columns; wider terminals show the priority-2
 * and -3 ones too. Each section's first column is its name column, titled
 * with the section's name ("LOCKS"), so a screen of several tables needs no
 * separate title lines. Initial orders put the busiest rows first.
 *
 * Derived figures (all from the fields alone, never from table layout):
 *   contention %   contentions / acquisitions since creation, x 100
 *   hold average   hold_ns_avg, else hold_ns_total / acquisitions
 *   fills          depth / capacity, permits in use / initial, entries / capacity
 *   lock wait      per refresh: wait time added / contended acquisitions added
 */
#include "config.h"

#include "views.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "end_text.h"
#include "format.h"
#include "i18n.h"

/* ---- small helpers --------------------------------------------------------- */

/* A numeric field's value (0 for "nobody" pids); false when the object has
 * no such numeric field. */
static bool field_number(const st_object_view *object, const char *name, double *out)
{
    const st_field *field = st_object_field(object, name);
    *out = 0;
    if (field == NULL || field->kind == ST_VALUE_TEXT)
        return false;
    cell_value value;
    column_field_value(field, false, &value);
    *out = value.number;
    return field->kind != ST_VALUE_DOUBLE || value.known;
}

static bool field_rate(const st_object_view *object, const char *name, double *out)
{
    cell_value value;
    column_field_value(st_object_field(object, name), true, &value);
    *out = value.number;
    return value.known;
}

static void set_number(cell_value *out, double number)
{
    out->known = true;
    out->number = number;
}

static void set_text(cell_value *out, const char *text)
{
    out->known = text != NULL && text[0] != '\0';
    snprintf(out->text, sizeof out->text, "%s", out->known ? text : "");
}

/* ---- derive functions: processes ------------------------------------------- */

static void process_pid(const column_spec *column, const list_row *row, const dataset *data, cell_value *out)
{
    set_number(out, row->process->pid);
}

static void process_name(const column_spec *column, const list_row *row, const dataset *data, cell_value *out)
{
    set_text(out, row->process->name[0] ? row->process->name : "?");
}

static void process_role(const column_spec *column, const list_row *row, const dataset *data, cell_value *out)
{
    set_text(out, row->process->role);
}

/* The state, with what the model found: "deadlock" wins over "blocked";
 * '*' marks a process that exited (its pid is gone or was reused); one
 * whose parent recorded its end says how: "exited 3", "killed SIGKILL". */
static void process_state(const column_spec *column, const list_row *row, const dataset *data, cell_value *out)
{
    const st_process_view *process = row->process;
    char text[CELL_TEXT_BYTES];
    if (process->exit_known && !process->alive) {
        set_text(out, end_process_text(process, text, sizeof text));
        return;
    }
    const char *state = process->deadlocked ? "deadlock"
                        : process->starving ? "starving"
                                            : st_process_state_name(process->state);
    snprintf(text, sizeof text, "%s%s", state, process->alive ? "" : "*");
    set_text(out, text);
}

static void process_cpu(const column_spec *column, const list_row *row, const dataset *data, cell_value *out)
{
    if (row->process->sampled && isfinite(row->process->cpu_percent))
        set_number(out, row->process->cpu_percent);
}

static void process_memory(const column_spec *column, const list_row *row, const dataset *data, cell_value *out)
{
    if (row->process->sampled)
        set_number(out, (double)row->process->rss_bytes);
}

static void process_blocked_on(const column_spec *column, const list_row *row, const dataset *data,
                               cell_value *out)
{
    const st_process_view *process = row->process;
    if (!process->blocked)
        return;
    char text[CELL_TEXT_BYTES];
    snprintf(text, sizeof text, "%.15s %.63s", st_operation_name(process->blocked_op),
             process->blocked_object_name);
    set_text(out, text);
}

static void process_blocked_for(const column_spec *column, const list_row *row, const dataset *data,
                                cell_value *out)
{
    if (row->process->blocked)
        set_number(out, (double)row->process->blocked_for_ns);
}

static void process_restarts(const column_spec *column, const list_row *row, const dataset *data,
                             cell_value *out)
{
    set_number(out, row->process->restarts);
}

static severity process_row_severity(const list_row *row)
{
    if (row->process->deadlocked || row->process->starving)
        return SEVERITY_BAD;
    return SEVERITY_NORMAL;
}

/* ---- derive functions: objects --------------------------------------------- */

static void object_name(const column_spec *column, const list_row *row, const dataset *data, cell_value *out)
{
    set_text(out, row->object->name);
}

/* column->field names a pid field: "4243 teller-2", sorted by pid. */
static void pid_and_name(const column_spec *column, const list_row *row, const dataset *data, cell_value *out)
{
    const st_field *field = st_object_field(row->object, column->field);
    if (field == NULL || field->value.i64 == 0)
        return;
    pid_t pid = (pid_t)field->value.i64;
    const st_process_view *process = dataset_process(data, pid);
    char text[CELL_TEXT_BYTES];
    if (process != NULL && process->name[0] != '\0')
        snprintf(text, sizeof text, "%ld %s", (long)pid, process->name);
    else
        snprintf(text, sizeof text, "%ld", (long)pid);
    set_text(out, text);
    out->number = pid;
}

static void contention_percent(const column_spec *column, const list_row *row, const dataset *data,
                               cell_value *out)
{
    double acquisitions, contentions;
    if (field_number(row->object, "acquisitions", &acquisitions) &&
        field_number(row->object, "contentions", &contentions) && acquisitions > 0)
        set_number(out, contentions * 100.0 / acquisitions);
}

static void hold_average(const column_spec *column, const list_row *row, const dataset *data, cell_value *out)
{
    double average, total, acquisitions;
    if (field_number(row->object, "hold_ns_avg", &average))
        set_number(out, average);
    else if (field_number(row->object, "hold_ns_total", &total) &&
             field_number(row->object, "acquisitions", &acquisitions) && acquisitions > 0)
        set_number(out, total / acquisitions);
}

/* Average wait of the acquisitions that had to wait, over the last refresh
 * interval: the lock's key figure. 0 when nobody waited. */
static void lock_wait_recent(const column_spec *column, const list_row *row, const dataset *data,
                             cell_value *out)
{
    double wait_per_s, contentions_per_s;
    if (!field_rate(row->object, "wait_ns_total", &wait_per_s) ||
        !field_rate(row->object, "contentions", &contentions_per_s))
        return;
    set_number(out, contentions_per_s > 0 ? wait_per_s / contentions_per_s : 0.0);
}

/* A bar of numerator / denominator, labelled "n/d". */
static void fill_bar(cell_value *out, double numerator, double denominator)
{
    out->known = true;
    out->number = numerator;
    out->fill = denominator > 0 ? numerator / denominator : 0.0;
    snprintf(out->text, sizeof out->text, "%.0f/%.0f", numerator, denominator);
}

static void queue_fill(const column_spec *column, const list_row *row, const dataset *data, cell_value *out)
{
    double depth, capacity;
    if (field_number(row->object, "depth", &depth) && field_number(row->object, "capacity", &capacity))
        fill_bar(out, depth, capacity);
}

static void semaphore_fill(const column_spec *column, const list_row *row, const dataset *data,
                           cell_value *out)
{
    double in_use, initial;
    if (field_number(row->object, "in_use", &in_use) && field_number(row->object, "initial", &initial))
        fill_bar(out, in_use, initial);
}

static void dict_fill(const column_spec *column, const list_row *row, const dataset *data, cell_value *out)
{
    double entries, capacity;
    if (field_number(row->object, "entries", &entries) && field_number(row->object, "capacity", &capacity))
        fill_bar(out, entries, capacity);
}

static void semaphore_kind(const column_spec *column, const list_row *row, const dataset *data,
                           cell_value *out)
{
    const char *type = row->object->type_name ? row->object->type_name : "";
    set_text(out, strcmp(type, "bounded_semaphore") == 0 ? "bounded" : "plain");
}

static void object_type(const column_spec *column, const list_row *row, const dataset *data, cell_value *out)
{
    set_text(out, row->object->type_name);
}

static void event_state(const column_spec *column, const list_row *row, const dataset *data, cell_value *out)
{
    double set;
    if (!field_number(row->object, "is_set", &set))
        return;
    set_text(out, set != 0 ? "set" : "clear");
    out->number = set;
}

/* Sum of the fields named in column->field, "a+b+c" (values, or rates). */
static void field_sum(const column_spec *column, const list_row *row, const dataset *data, cell_value *out)
{
    char names[96];
    snprintf(names, sizeof names, "%s", column->field);
    double total = 0;
    bool any = false;
    char *save = NULL;
    for (char *name = strtok_r(names, "+", &save); name != NULL; name = strtok_r(NULL, "+", &save)) {
        double value;
        bool known = column->rate ? field_rate(row->object, name, &value) : field_number(row->object, name, &value);
        if (known) {
            total += value;
            any = true;
        }
    }
    if (any)
        set_number(out, total);
}

/* What became of a shared-memory region; sorts leaked first (descending). */
static void shm_state(const column_spec *column, const list_row *row, const dataset *data, cell_value *out)
{
    double leaked = 0, unlinked = 0, collected = 0;
    field_number(row->object, "leaked", &leaked);
    field_number(row->object, "unlinked", &unlinked);
    field_number(row->object, "collected", &collected);
    if (leaked != 0) {
        set_text(out, "LEAKED");
        out->number = 3;
    } else if (collected != 0) {
        set_text(out, "collected");
        out->number = 2;
    } else if (unlinked != 0) {
        set_text(out, "unlinked");
        out->number = 0;
    } else {
        set_text(out, "live");
        out->number = 1;
    }
}

static severity shm_row_severity(const list_row *row)
{
    const st_field *leaked = st_object_field(row->object, "leaked");
    return leaked != NULL && leaked->kind == ST_VALUE_U64 && leaked->value.u64 != 0 ? SEVERITY_BAD
                                                                                      : SEVERITY_NORMAL;
}

/* ---- column helpers -------------------------------------------------------- */

#define NAME_COLUMN(title_, width_)                                                              \
    { .title = title_, .derive = object_name, .format = COLUMN_TEXT, .width = width_, .grow = true, \
      .help = N_("the object's name, unique in the session") }
#define COUNT(title_, field_, width_, priority_, help_)                                          \
    { .title = title_, .field = field_, .format = COLUMN_COUNT, .width = width_, .priority = priority_, \
      .help = help_ }
#define RATE(title_, field_, width_, priority_, help_)                                           \
    { .title = title_, .field = field_, .rate = true, .format = COLUMN_RATE, .width = width_,     \
      .priority = priority_, .help = help_ }
#define DURATION(title_, field_, width_, priority_, help_)                                       \
    { .title = title_, .field = field_, .format = COLUMN_DURATION, .width = width_,               \
      .priority = priority_, .help = help_ }
#define PID_NAME(title_, field_, width_, priority_, help_)                                       \
    { .title = title_, .field = field_, .derive = pid_and_name, .format = COLUMN_TEXT, .width = width_, \
      .priority = priority_, .help = help_ }
#define COLUMNS(array) array, sizeof array / sizeof array[0]

/* ---- processes ------------------------------------------------------------- */

static const column_spec process_columns[] = {
    { .title = N_("PID"), .derive = process_pid, .format = COLUMN_COUNT, .width = 7,
      .help = N_("process id") },
    { .title = N_("NAME"), .derive = process_name, .format = COLUMN_TEXT, .width = 12, .grow = true,
      .help = N_("the name the process registered with") },
    { .title = N_("ROLE"), .derive = process_role, .format = COLUMN_TEXT, .width = 9, .priority = 2,
      .help = N_("its part in the workload (worker, producer, supervised ...)") },
    { .title = N_("STATE"), .derive = process_state, .format = COLUMN_TEXT, .width = 14,
      .help = N_("running, blocked, starving (blocked too long), deadlock (in a wait-for cycle), "
              "unhealthy, crashed, stopped; '*' when the process has exited; \"exited N\" (its exit "
              "status) or \"killed SIGNAME\" once its parent reaped it") },
    { .title = N_("CPU%"), .derive = process_cpu, .format = COLUMN_PERCENT, .width = 5, .warn_at = 50,
      .bad_at = 90, .help = N_("share of one CPU used since the last refresh") },
    { .title = N_("MEM"), .derive = process_memory, .format = COLUMN_BYTES, .width = 7, .priority = 1,
      .help = N_("resident memory, as ps shows it") },
    { .title = N_("BLOCKED ON"), .derive = process_blocked_on, .format = COLUMN_TEXT, .width = 18,
      .help = N_("the operation and object it is waiting in right now") },
    { .title = N_("FOR"), .derive = process_blocked_for, .format = COLUMN_DURATION, .width = 7,
      .warn_at = 1e9, .bad_at = 5e9, .help = N_("how long it has been waiting there") },
    { .title = N_("RST"), .derive = process_restarts, .format = COLUMN_COUNT, .width = 3, .priority = 3,
      .warn_at = 1, .help = N_("times a supervisor restarted it") },
};

static const section_spec processes_section = {
    .title = N_("Processes"),
    .types = NULL,
    .columns = COLUMNS(process_columns),
    .sort_column = 4,   /* CPU% */
    .sort_descending = true,
    .row_severity = process_row_severity,
};

/* ---- locks ----------------------------------------------------------------- */

static const char *const lock_types[] = { "lock", "rlock", NULL };

static const column_spec lock_columns[] = {
    NAME_COLUMN(N_("LOCKS"), 14),
    { .title = N_("TYPE"), .derive = object_type, .format = COLUMN_TEXT, .width = 5, .priority = 3,
      .help = N_("lock, or rlock (re-entrant: its owner may acquire it again)") },
    PID_NAME(N_("HOLDER"), "holder", 14, 0, N_("the process holding it now")),
    COUNT(N_("WAITERS"), "waiters", 7, 0, N_("processes waiting to acquire it now")),
    RATE(N_("ACQ/S"), "acquisitions", 6, 0, N_("acquisitions per second")),
    { .title = N_("CONT%"), .derive = contention_percent, .format = COLUMN_PERCENT, .width = 5,
      .warn_at = 10, .bad_at = 50,
      .help = N_("contention: the share of acquisitions that had to wait, since creation") },
    DURATION(N_("WAIT50"), "wait_ns_p50", 7, 2, N_("median wait of the acquisitions that waited")),
    DURATION(N_("WAIT99"), "wait_ns_p99", 7, 1, N_("99th percentile of those waits")),
    DURATION(N_("WAITMAX"), "wait_ns_max", 7, 1, N_("the longest wait")),
    { .title = N_("HOLDAVG"), .derive = hold_average, .format = COLUMN_DURATION, .width = 7, .priority = 2,
      .help = N_("average time it is held per acquisition") },
    DURATION(N_("HOLDMAX"), "hold_ns_max", 7, 2, N_("the longest hold")),
    { .title = N_("DIED"), .field = "owner_died", .format = COLUMN_COUNT, .width = 4, .priority = 1,
      .warn_at = 1, .help = N_("times a holder died holding it (the next acquirer recovered it)") },
    COUNT(N_("DEPTH"), "depth", 5, 3, N_("rlock: how many times its owner holds it")),
};

static const section_spec locks_section = {
    .title = N_("Locks"),
    .types = lock_types,
    .columns = COLUMNS(lock_columns),
    .sort_column = 4,   /* ACQ/S */
    .sort_descending = true,
};

/* ---- semaphores ------------------------------------------------------------ */

static const char *const semaphore_types[] = { "semaphore", "bounded_semaphore", NULL };

static const column_spec semaphore_columns[] = {
    NAME_COLUMN(N_("SEMAPHORES"), 14),
    { .title = N_("KIND"), .derive = semaphore_kind, .format = COLUMN_TEXT, .width = 7, .priority = 2,
      .help = N_("plain, or bounded (releasing more than it started with is an error)") },
    { .title = N_("IN USE"), .derive = semaphore_fill, .format = COLUMN_BAR, .width = 12, .warn_at = 1.0,
      .help = N_("permits taken out of the initial count") },
    COUNT(N_("PEAK"), "peak_in_use", 4, 2, N_("most permits ever in use at once")),
    COUNT(N_("WAITERS"), "waiters", 7, 0, N_("processes waiting for a permit now")),
    RATE(N_("ACQ/S"), "acquisitions", 6, 0, N_("acquisitions per second")),
    { .title = N_("CONT%"), .derive = contention_percent, .format = COLUMN_PERCENT, .width = 5,
      .priority = 1, .warn_at = 10, .bad_at = 50, .help = N_("share of acquisitions that had to wait") },
    DURATION(N_("WAIT99"), "wait_ns_p99", 7, 1, N_("99th percentile wait")),
    DURATION(N_("WAITMAX"), "wait_ns_max", 7, 2, N_("the longest wait")),
    COUNT(N_("TMO"), "timeouts", 4, 2, N_("acquisitions that gave up at their timeout")),
    { .title = N_("OVER"), .field = "over_releases", .format = COLUMN_COUNT, .width = 4, .priority = 1,
      .bad_at = 1, .help = N_("bounded: releases refused because they would exceed the initial value") },
};

static const section_spec semaphores_section = {
    .title = N_("Semaphores"),
    .types = semaphore_types,
    .columns = COLUMNS(semaphore_columns),
    .sort_column = 5,   /* ACQ/S */
    .sort_descending = true,
};

/* ---- events and conditions ------------------------------------------------- */

static const char *const event_types[] = { "event", NULL };

static const column_spec event_columns[] = {
    NAME_COLUMN(N_("EVENTS"), 16),
    { .title = N_("STATE"), .derive = event_state, .format = COLUMN_TEXT, .sort_by_number = true, .width = 5,
      .help = N_("set (waiters pass) or clear (waiters block)") },
    COUNT(N_("WAITERS"), "waiters", 7, 0, N_("processes waiting for it to be set")),
    RATE(N_("SETS/S"), "sets", 6, 0, N_("sets per second")),
    RATE(N_("CLEARS/S"), "clears", 8, 0, N_("clears per second")),
    RATE(N_("WAITS/S"), "waits", 7, 0, N_("waits per second")),
    { .title = N_("TIMEOUTS"), .field = "wait_timeouts", .format = COLUMN_COUNT, .width = 8, .priority = 1,
      .warn_at = 1, .help = N_("waits that gave up at their timeout") },
};

static const section_spec events_section = {
    .title = N_("Events"),
    .types = event_types,
    .columns = COLUMNS(event_columns),
    .sort_column = 2,   /* WAITERS */
    .sort_descending = true,
};

static const char *const condition_types[] = { "condition", NULL };

static const column_spec condition_columns[] = {
    NAME_COLUMN(N_("CONDITIONS"), 16),
    { .title = N_("LOCK"), .field = "lock", .format = COLUMN_TEXT, .width = 14, .priority = 1,
      .help = N_("the lock the condition is used with") },
    COUNT(N_("WAITERS"), "waiters", 7, 0, N_("processes waiting to be notified")),
    RATE(N_("NOTIFY/S"), "notifies", 8, 0, N_("notify calls per second")),
    RATE(N_("WAKEUP/S"), "wakeups", 8, 0, N_("waiters woken per second")),
    COUNT(N_("SPURIOUS"), "spurious_wakeups", 8, 2, N_("wakeups without a notify")),
    { .title = N_("TIMEOUTS"), .field = "timeouts", .format = COLUMN_COUNT, .width = 8, .priority = 1,
      .warn_at = 1, .help = N_("waits that gave up at their timeout") },
};

static const section_spec conditions_section = {
    .title = N_("Conditions"),
    .types = condition_types,
    .columns = COLUMNS(condition_columns),
    .sort_column = 2,
    .sort_descending = true,
};

/* ---- queues and pipes ------------------------------------------------------ */

static const char *const queue_types[] = { "queue", NULL };

static const column_spec queue_columns[] = {
    NAME_COLUMN(N_("QUEUES"), 14),
    { .title = N_("DEPTH"), .derive = queue_fill, .format = COLUMN_BAR, .width = 14, .warn_at = 0.75,
      .bad_at = 0.95, .help = N_("messages waiting, out of the capacity") },
    COUNT(N_("HIGH"), "high_water", 4, 2, N_("the deepest it has been")),
    RATE(N_("PUT/S"), "puts", 6, 0, N_("messages put per second")),
    RATE(N_("GET/S"), "gets", 6, 0, N_("messages taken per second")),
    { .title = N_("BYTES"), .field = "bytes", .format = COLUMN_BYTES, .width = 7, .priority = 2,
      .help = N_("bytes waiting in the queue") },
    { .title = N_("PRODBLK"), .field = "producers_blocked", .format = COLUMN_COUNT, .width = 7,
      .warn_at = 1, .help = N_("producers waiting for room (the queue is full)") },
    COUNT(N_("CONSBLK"), "consumers_blocked", 7, 0, N_("consumers waiting for a message (the queue is empty)")),
    COUNT(N_("TASKS"), "unfinished_tasks", 5, 2, N_("messages put but not yet marked done (join waits for 0)")),
    { .title = N_("TMO"), .field = "put_timeouts+get_timeouts", .derive = field_sum, .format = COLUMN_COUNT,
      .width = 4, .priority = 2, .help = N_("puts and gets that gave up at their timeout") },
    { .title = N_("CLOSED"), .field = "closed", .format = COLUMN_FLAG, .width = 6, .priority = 3,
      .help = N_("closed: no more puts") },
};

static const section_spec queues_section = {
    .title = N_("Queues"),
    .types = queue_types,
    .columns = COLUMNS(queue_columns),
    .sort_column = 1,   /* DEPTH */
    .sort_descending = true,
};

static const char *const pipe_types[] = { "pipe", NULL };

static const column_spec pipe_columns[] = {
    NAME_COLUMN(N_("PIPES"), 14),
    RATE(N_("A>B/S"), "messages_a_to_b", 6, 0, N_("messages sent from end A to end B per second")),
    RATE(N_("B>A/S"), "messages_b_to_a", 6, 0, N_("messages sent from end B to end A per second")),
    COUNT(N_("UNR.AB"), "unread_messages_a_to_b", 6, 0, N_("messages sent by A not yet received by B")),
    COUNT(N_("UNR.BA"), "unread_messages_b_to_a", 6, 0, N_("messages sent by B not yet received by A")),
    { .title = N_("BYTES/S"), .field = "bytes_a_to_b+bytes_b_to_a", .rate = true, .derive = field_sum,
      .format = COLUMN_BYTES, .width = 8, .priority = 1, .help = N_("bytes per second, both ways") },
    { .title = N_("BLOCKED"), .field = "a_send_blocked+a_recv_blocked+b_send_blocked+b_recv_blocked",
      .derive = field_sum, .format = COLUMN_COUNT, .width = 7, .warn_at = 1,
      .help = N_("senders waiting for room plus receivers waiting for a message") },
    { .title = N_("TMO"), .field = "send_timeouts+recv_timeouts", .derive = field_sum, .format = COLUMN_COUNT,
      .width = 4, .priority = 2, .help = N_("sends and receives that gave up at their timeout") },
};

static const section_spec pipes_section = {
    .title = N_("Pipes"),
    .types = pipe_types,
    .columns = COLUMNS(pipe_columns),
    .sort_column = 1,
    .sort_descending = true,
};

/* ---- memory: shared memory, values, arrays, dicts ------------------------- */

static const char *const shm_types[] = { "shm", NULL };

static const column_spec shm_columns[] = {
    NAME_COLUMN(N_("SHARED MEMORY"), 16),
    { .title = N_("SIZE"), .field = "size_bytes", .format = COLUMN_BYTES, .width = 7,
      .help = N_("the region's size") },
    PID_NAME(N_("CREATOR"), "creator", 14, 1, N_("the process that created it")),
    COUNT(N_("ATTACHED"), "attached", 8, 0, N_("live processes attached to it now")),
    { .title = N_("STATE"), .derive = shm_state, .format = COLUMN_TEXT, .sort_by_number = true, .width = 9,
      .bad_at = 3,
      .help = N_("live, unlinked (removed, gone when the last process detaches), collected (by --gc), "
              "or LEAKED: never unlinked and its creator is dead") },
    RATE(N_("ATT/S"), "attaches", 5, 2, N_("attaches per second")),
};

static const section_spec shm_section = {
    .title = N_("Shared memory"),
    .types = shm_types,
    .columns = COLUMNS(shm_columns),
    .sort_column = 4,   /* STATE: leaks first */
    .sort_descending = true,
    .row_severity = shm_row_severity,
};

static const char *const value_types[] = { "value", NULL };

static const column_spec value_columns[] = {
    NAME_COLUMN(N_("VALUES"), 16),
    { .title = N_("TYPE"), .field = "value_type", .format = COLUMN_TEXT, .width = 6, .priority = 2,
      .help = N_("int32, int64, uint64 or double") },
    { .title = N_("VALUE"), .field = "value", .format = COLUMN_AUTO, .width = 12,
      .help = N_("the current value") },
    RATE(N_("READS/S"), "reads", 7, 0, N_("reads per second")),
    RATE(N_("WRITES/S"), "writes", 8, 0, N_("writes per second")),
    PID_NAME(N_("HOLDER"), "holder", 14, 1, N_("the process holding its built-in lock")),
    { .title = N_("CONT%"), .derive = contention_percent, .format = COLUMN_PERCENT, .width = 5,
      .priority = 2, .warn_at = 10, .bad_at = 50, .help = N_("share of lock acquisitions that had to wait") },
};

static const section_spec values_section = {
    .title = N_("Values"),
    .types = value_types,
    .columns = COLUMNS(value_columns),
    .sort_column = 4,   /* WRITES/S */
    .sort_descending = true,
};

static const char *const array_types[] = { "array", NULL };

static const column_spec array_columns[] = {
    NAME_COLUMN(N_("ARRAYS"), 16),
    { .title = N_("TYPE"), .field = "element_type", .format = COLUMN_TEXT, .width = 6, .priority = 2,
      .help = N_("the element type") },
    COUNT(N_("LENGTH"), "length", 6, 0, N_("number of elements")),
    { .title = N_("SUM"), .field = "sum", .format = COLUMN_AUTO, .width = 10, .help = N_("sum of the elements") },
    { .title = N_("MIN"), .field = "min", .format = COLUMN_AUTO, .width = 8, .priority = 1,
      .help = N_("smallest element") },
    { .title = N_("MAX"), .field = "max", .format = COLUMN_AUTO, .width = 8, .priority = 1,
      .help = N_("largest element") },
    RATE(N_("READS/S"), "reads", 7, 1, N_("reads per second")),
    RATE(N_("WRITES/S"), "writes", 8, 0, N_("writes per second")),
};

static const section_spec arrays_section = {
    .title = N_("Arrays"),
    .types = array_types,
    .columns = COLUMNS(array_columns),
    .sort_column = 7,
    .sort_descending = true,
};

static const char *const dict_types[] = { "dict", NULL };

static const column_spec dict_columns[] = {
    NAME_COLUMN(N_("DICTS"), 16),
    { .title = N_("ENTRIES"), .derive = dict_fill, .format = COLUMN_BAR, .width = 14, .warn_at = 0.9,
      .help = N_("keys stored, out of the capacity") },
    RATE(N_("GETS/S"), "gets", 6, 0, N_("lookups per second")),
    RATE(N_("SETS/S"), "sets", 6, 0, N_("stores per second")),
    RATE(N_("DELS/S"), "deletes", 6, 1, N_("deletions per second")),
    COUNT(N_("MISSES"), "misses", 6, 1, N_("lookups of absent keys")),
};

static const section_spec dicts_section = {
    .title = N_("Dicts"),
    .types = dict_types,
    .columns = COLUMNS(dict_columns),
    .sort_column = 2,
    .sort_descending = true,
};

/* ---- pools and supervisors ------------------------------------------------- */

static const char *const pool_types[] = { "pool", NULL };

static const column_spec pool_columns[] = {
    NAME_COLUMN(N_("POOLS"), 14),
    PID_NAME(N_("OWNER"), "owner", 12, 2, N_("the process that submits the tasks")),
    COUNT(N_("WORKERS"), "workers", 7, 0, N_("worker processes")),
    COUNT(N_("BUSY"), "workers_busy", 4, 0, N_("workers running a task now")),
    COUNT(N_("QUEUED"), "tasks_queued", 6, 0, N_("tasks waiting for a worker")),
    RATE(N_("DONE/S"), "tasks_done", 6, 0, N_("tasks finished per second")),
    { .title = N_("FAILED"), .field = "tasks_failed", .format = COLUMN_COUNT, .width = 6, .warn_at = 1,
      .help = N_("tasks that failed (their error callback ran)") },
    DURATION(N_("TASKMAX"), "task_ns_max", 7, 1, N_("the longest task")),
    COUNT(N_("REPL"), "workers_replaced", 4, 2, N_("workers replaced after dying")),
};

static const section_spec pools_section = {
    .title = N_("Pools"),
    .types = pool_types,
    .columns = COLUMNS(pool_columns),
    .sort_column = 5,
    .sort_descending = true,
};

static const char *const supervisor_types[] = { "supervisor", NULL };

static const column_spec supervisor_columns[] = {
    { .title = N_("SUPERVISORS"), .derive = object_name, .format = COLUMN_TEXT, .width = 14,
      .help = N_("the object's name, unique in the session") },
    PID_NAME(N_("OWNER"), "owner", 12, 2, N_("the supervising process")),
    COUNT(N_("WORKERS"), "workers", 7, 0, N_("workers it watches")),
    COUNT(N_("RUNNING"), "running", 7, 0, N_("workers running")),
    { .title = N_("UNHEALTHY"), .field = "unhealthy", .format = COLUMN_COUNT, .width = 9, .warn_at = 1,
      .help = N_("workers whose heartbeat is late") },
    { .title = N_("CRASHED"), .field = "crashed", .format = COLUMN_COUNT, .width = 7, .warn_at = 1,
      .help = N_("workers dead and not (yet) restarted") },
    COUNT(N_("RESTARTS"), "restarts_total", 8, 0, N_("restarts so far")),
    { .title = N_("GAVEUP"), .field = "gave_up", .format = COLUMN_COUNT, .width = 6, .bad_at = 1,
      .help = N_("workers it stopped restarting (their restart limit was reached)") },
    { .title = N_("LAST FAILURE"), .field = "last_failure", .format = COLUMN_TEXT, .width = 14, .grow = true,
      .priority = 1, .help = N_("the latest worker failure") },
};

static const section_spec supervisors_section = {
    .title = N_("Supervisors"),
    .types = supervisor_types,
    .columns = COLUMNS(supervisor_columns),
    .sort_column = 6,
    .sort_descending = true,
};

/* ---- objects of any other kind ---------------------------------------------- */

/* "field=value, ..." of an object's first fields: a kind without a table of
 * its own still shows what it says about itself. */
static void field_summary(const column_spec *column, const list_row *row, const dataset *data, cell_value *out)
{
    const st_object_view *object = row->object;
    size_t used = 0;
    for (uint32_t i = 0; i < object->field_count && i < ST_MAX_FIELDS && used + 1 < sizeof out->text; i++) {
        const st_field *field = &object->fields[i];
        column_spec as_field = { .format = column_format_for_field(field) };
        cell_value value;
        char text[CELL_TEXT_BYTES];
        column_field_value(field, false, &value);
        column_format_cell(&as_field, &value, 0, text, sizeof text);
        used += (size_t)snprintf(out->text + used, sizeof out->text - used, "%s%s=%s", i ? ", " : "", field->name,
                                 text);
    }
    out->known = used > 0;
}

static bool other_kind(const list_row *row);

static const column_spec other_columns[] = {
    NAME_COLUMN(N_("OTHER OBJECTS"), 16),
    { .title = N_("TYPE"), .derive = object_type, .format = COLUMN_TEXT, .width = 12,
      .help = N_("its kind, as the library names it") },
    { .title = N_("FIGURES"), .derive = field_summary, .format = COLUMN_TEXT, .width = 40, .grow = true,
      .help = N_("its first figures by name (Enter shows them all)") },
};

static const section_spec other_section = {
    .title = N_("Other objects"),
    .accepts = other_kind,
    .columns = COLUMNS(other_columns),
    .sort_column = 1,
};

/* ---- the views --------------------------------------------------------------- */

static const section_spec *const every_section[] = {
    &processes_section, &locks_section, &semaphores_section, &events_section, &conditions_section,
    &queues_section, &pipes_section, &shm_section, &values_section, &arrays_section, &dicts_section,
    &pools_section, &supervisors_section, &other_section,
};
static const section_spec *const processes_view[] = { &processes_section };
static const section_spec *const locks_view[] = { &locks_section };
static const section_spec *const semaphores_view[] = { &semaphores_section };
static const section_spec *const events_view[] = { &events_section, &conditions_section };
static const section_spec *const queues_view[] = { &queues_section, &pipes_section };
static const section_spec *const memory_view[] = { &shm_section, &values_section, &arrays_section,
                                                   &dicts_section };
static const section_spec *const pools_view[] = { &pools_section, &supervisors_section };

#define SECTIONS(array) array, sizeof array / sizeof array[0]

static const view_spec views[] = {
    { N_("Overview"), N_("All"), N_("the busiest items of every kind on one screen (and objects of kinds without "
      "a view of their own)"), SECTIONS(every_section) },
    { N_("Processes"), N_("Proc"), N_("every registered process: CPU, memory, what it waits for"), SECTIONS(processes_view) },
    { N_("Locks"), N_("Lock"), N_("locks and re-entrant locks: holders, waiters, contention, wait and hold times"),
      SECTIONS(locks_view) },
    { N_("Semaphores"), N_("Sem"), N_("semaphores and bounded semaphores: permits in use, waiters, over-releases"),
      SECTIONS(semaphores_view) },
    { N_("Events"), N_("Evt"), N_("events and conditions: who waits to be woken, how often they are set or notified"),
      SECTIONS(events_view) },
    { N_("Queues"), N_("Queue"), N_("queues and pipes: how full, how fast, who is blocked"), SECTIONS(queues_view) },
    { N_("Memory"), N_("Mem"), N_("shared-memory regions (leaks flagged), shared values, arrays and dicts"),
      SECTIONS(memory_view) },
    { N_("Pools"), N_("Pool"), N_("process pools and supervisors: workers, tasks, restarts"), SECTIONS(pools_view) },
};

size_t views_count(void)
{
    return sizeof views / sizeof views[0];
}

const view_spec *views_get(size_t index)
{
    return index < views_count() ? &views[index] : NULL;
}

const section_spec *views_section_of(const list_row *row)
{
    for (size_t i = 0; i < sizeof every_section / sizeof every_section[0]; i++)
        if (every_section[i] != &other_section && list_row_is_of(every_section[i], row))
            return every_section[i];
    return row->object != NULL ? &other_section : NULL;
}

/* An object no other section lists (a kind newer than this view table). */
static bool other_kind(const list_row *row)
{
    return views_section_of(row) == &other_section;
}

/* ---- key figures --------------------------------------------------------------- */

typedef struct key_figure {
    const char *type;        /* object type name; NULL: processes */
    column_spec column;
} key_figure;

static const key_figure key_figures[] = {
    { NULL, { .title = N_("CPU %"), .derive = process_cpu, .format = COLUMN_PERCENT } },
    { "lock", { .title = N_("wait per contended acquisition"), .derive = lock_wait_recent,
                .format = COLUMN_DURATION } },
    { "rlock", { .title = N_("wait per contended acquisition"), .derive = lock_wait_recent,
                 .format = COLUMN_DURATION } },
    { "semaphore", { .title = N_("value (permits free)"), .field = "value", .format = COLUMN_COUNT } },
    { "bounded_semaphore", { .title = N_("value (permits free)"), .field = "value", .format = COLUMN_COUNT } },
    { "event", { .title = N_("waiters"), .field = "waiters", .format = COLUMN_COUNT } },
    { "condition", { .title = N_("waiters"), .field = "waiters", .format = COLUMN_COUNT } },
    { "queue", { .title = N_("depth"), .field = "depth", .format = COLUMN_COUNT } },
    { "pipe", { .title = N_("unread messages (both ways)"),
                .field = "unread_messages_a_to_b+unread_messages_b_to_a", .derive = field_sum,
                .format = COLUMN_COUNT } },
    { "value", { .title = N_("value"), .field = "value", .format = COLUMN_AUTO } },
    { "array", { .title = N_("sum of the elements"), .field = "sum", .format = COLUMN_AUTO } },
    { "shm", { .title = N_("attached processes"), .field = "attached", .format = COLUMN_COUNT } },
    { "dict", { .title = N_("entries"), .field = "entries", .format = COLUMN_COUNT } },
    { "pool", { .title = N_("busy workers"), .field = "workers_busy", .format = COLUMN_COUNT } },
    { "supervisor", { .title = N_("running workers"), .field = "running", .format = COLUMN_COUNT } },
    { "managed", { .title = N_("calls waiting for a reply"), .field = "waiting", .format = COLUMN_COUNT } },
};

/* A type without a key figure graphs nothing (the cell is never known). */
static const column_spec no_key_figure = { .title = N_("activity"), .format = COLUMN_COUNT };

const column_spec *views_key_figure(const list_row *row)
{
    for (size_t i = 0; i < sizeof key_figures / sizeof key_figures[0]; i++) {
        const key_figure *figure = &key_figures[i];
        if (figure->type == NULL ? row->process != NULL
                                 : row->object != NULL && row->object->type_name != NULL &&
                                       strcmp(row->object->type_name, figure->type) == 0)
            return &figure->column;
    }
    return &no_key_figure;
}
