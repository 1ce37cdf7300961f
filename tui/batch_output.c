/* batch_output.c - plain-text output (--batch, --once) and the refresh loop
 * that every non-interactive output shares.
 *
 * One refresh reads like top -b:
 *
 *   session default  2024-05-01 12:00:00  cpus 2  cpu 3.1%  mem 1.2GiB/3.8GiB  load ...
 *
 *       PID NAME     ROLE    STATE    CPU%    RSS BLOCKED-ON
 *      4242 teller-1 worker  blocked   0.3 4.1MiB acquire account for 1.20ms
 *
 *   lock (1)
 *   NAME    CREATOR HOLDER WAITERS ACQUISITIONS ACQUISITIONS/S ...
 *   account    4241   4243       1         1000          12/s  ...
 *
 * Object tables are built from the fields of the objects alone: one table
 * per type, one column per field (the name upper-cased; "_ns" dropped for
 * durations, whose cells carry their unit), and for every counter a
 * "<NAME>/S" rate column beside it. Numbers are right-aligned, text left.
 * Nothing here names a primitive.
 *
 * Tables are printed in two passes over a cell callback: the first measures
 * column widths, the second writes. No cell is stored, so a table of
 * thousands of objects costs no allocation.
 *
 * The loop (run_refreshes) blocks SIGINT and SIGTERM and waits for them with
 * sigtimedwait() as its sleep: a signal can never slip in between "check
 * the flag" and "sleep", and no handler runs in the middle of a printf.
 * SIGPIPE is ignored so a closed reader shows up as EPIPE on fflush().
 */
#include "config.h"

#include "output.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <synctop/process.h>
#include <synctop/result.h>

#include "end_text.h"
#include "format.h"

/* ---- a text table with columns described as data ------------------------ */

#define CELL_BYTES 96
#define HEADER_BYTES 48
/* NAME, CREATOR, then every field and a rate beside each counter. */
#define MAX_COLUMNS (2 + 2 * ST_MAX_FIELDS)

typedef struct text_column {
    char header[HEADER_BYTES];
    bool right_aligned;
    size_t width;
} text_column;

typedef struct text_table {
    size_t column_count;
    text_column columns[MAX_COLUMNS];
    size_t row_count;
    /* Writes the text of one cell into cell (CELL_BYTES). */
    void (*cell)(const void *context, size_t row, size_t column, char *cell);
    const void *context;
} text_table;

static void add_column(text_table *table, const char *header, bool right_aligned)
{
    if (table->column_count >= MAX_COLUMNS)
        return;
    text_column *column = &table->columns[table->column_count++];
    snprintf(column->header, sizeof column->header, "%s", header);
    column->right_aligned = right_aligned;
}

static void print_row(const text_table *table, FILE *out, const char *const *cells)
{
    for (size_t c = 0; c < table->column_count; c++) {
        const text_column *column = &table->columns[c];
        bool last = c + 1 == table->column_count;
        if (c > 0)
            fputc(' ', out);
        if (column->right_aligned)
            fprintf(out, "%*s", (int)column->width, cells[c]);
        else if (last)
            fputs(cells[c], out);   /* no trailing blanks */
        else
            fprintf(out, "%-*s", (int)column->width, cells[c]);
    }
    fputc('\n', out);
}

static void print_table(text_table *table, FILE *out)
{
    char storage[MAX_COLUMNS][CELL_BYTES];
    const char *cells[MAX_COLUMNS];
    for (size_t c = 0; c < table->column_count; c++) {
        table->columns[c].width = strlen(table->columns[c].header);
        cells[c] = storage[c];
    }
    for (size_t r = 0; r < table->row_count; r++) {
        for (size_t c = 0; c < table->column_count; c++) {
            table->cell(table->context, r, c, storage[c]);
            size_t width = strlen(storage[c]);
            if (width > table->columns[c].width)
                table->columns[c].width = width;
        }
    }
    const char *headers[MAX_COLUMNS];
    for (size_t c = 0; c < table->column_count; c++)
        headers[c] = table->columns[c].header;
    print_row(table, out, headers);
    for (size_t r = 0; r < table->row_count; r++) {
        for (size_t c = 0; c < table->column_count; c++)
            table->cell(table->context, r, c, storage[c]);
        print_row(table, out, cells);
    }
}

/* ---- the header line ---------------------------------------------------- */

static void print_header(const st_model *model, FILE *out)
{
    const st_system_view *system = st_model_system(model);
    uint64_t time_ns = st_model_time_ns(model);
    time_t seconds = (time_t)(time_ns / 1000000000u);
    struct tm local;
    char when[32] = "?";
    if (localtime_r(&seconds, &local) != NULL)
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &local);

    uint64_t used = system->mem_total_bytes > system->mem_available_bytes
                        ? system->mem_total_bytes - system->mem_available_bytes
                        : 0;
    char used_text[FORMAT_BUFFER_BYTES], total_text[FORMAT_BUFFER_BYTES], up_text[FORMAT_BUFFER_BYTES];
    char session[4 * ST_SESSION_NAME_MAX];
    fprintf(out, "session %s  %s  cpus %u  cpu %.1f%%  mem %s/%s  load %.2f %.2f %.2f  up %s\n",
            format_text(st_model_session(model), session, sizeof session), when, (unsigned)system->cpus,
            isfinite(system->cpu_percent) ? system->cpu_percent : 0.0,
            format_bytes(used, used_text), format_bytes(system->mem_total_bytes, total_text),
            system->load[0], system->load[1], system->load[2],
            format_uptime(system->uptime_s, up_text));
}

/* ---- processes ---------------------------------------------------------- */

enum process_column { P_PID, P_NAME, P_ROLE, P_STATE, P_CPU, P_RSS, P_BLOCKED_ON, P_COLUMNS };

static void process_cell(const void *context, size_t row, size_t column, char *cell)
{
    const st_process_view *process = st_model_process(context, row);
    char unit[FORMAT_BUFFER_BYTES];
    switch ((enum process_column)column) {
    case P_PID:
        snprintf(cell, CELL_BYTES, "%ld", (long)process->pid);
        break;
    case P_NAME:
        format_text(process->name[0] ? process->name : "-", cell, CELL_BYTES);
        break;
    case P_ROLE:
        format_text(process->role[0] ? process->role : "-", cell, CELL_BYTES);
        break;
    case P_STATE:
        /* '*': the pid is gone or now belongs to another process; once
         * reaped under watch, how it ended ("exited 3", "killed SIGKILL"). */
        if (process->exit_known && !process->alive)
            end_process_text(process, cell, CELL_BYTES);
        else
            snprintf(cell, CELL_BYTES, "%s%s", st_process_state_name(process->state),
                     process->alive ? "" : "*");
        break;
    case P_CPU:
        if (process->sampled && isfinite(process->cpu_percent))
            snprintf(cell, CELL_BYTES, "%.1f", process->cpu_percent);
        else
            snprintf(cell, CELL_BYTES, "-");
        break;
    case P_RSS:
        snprintf(cell, CELL_BYTES, "%s", process->sampled ? format_bytes(process->rss_bytes, unit) : "-");
        break;
    case P_BLOCKED_ON:
        if (process->blocked) {
            char name[CELL_BYTES / 2];
            int length = snprintf(cell, CELL_BYTES, "%s %s for %s", st_operation_name(process->blocked_op),
                                  format_text(process->blocked_object_name, name, sizeof name),
                                  format_duration_ns(process->blocked_for_ns, unit));
            (void)length;   /* the short parts above always fit */
        }
        else
            snprintf(cell, CELL_BYTES, "-");
        break;
    case P_COLUMNS:
        cell[0] = '\0';
        break;
    }
}

static void print_processes(const st_model *model, FILE *out)
{
    size_t count = st_model_process_count(model);
    if (count == 0) {
        fputs("no processes registered\n", out);
        return;
    }
    text_table table = { .row_count = count, .cell = process_cell, .context = model };
    add_column(&table, "PID", true);
    add_column(&table, "NAME", false);
    add_column(&table, "ROLE", false);
    add_column(&table, "STATE", false);
    add_column(&table, "CPU%", true);
    add_column(&table, "RSS", true);
    add_column(&table, "BLOCKED-ON", false);
    print_table(&table, out);

    for (size_t i = 0; i < count; i++) {
        if (!st_model_process(model, i)->alive) {
            fputs("* the process has exited (its pid is gone or was reused)\n", out);
            break;
        }
    }
}

/* ---- objects, one table per type ---------------------------------------- */

/* What one object-table column shows. */
typedef struct object_column {
    enum { O_NAME, O_CREATOR, O_FIELD, O_RATE } what;
    const char *field_name;   /* for O_FIELD and O_RATE */
} object_column;

typedef struct object_table_context {
    const st_model *model;
    const size_t *rows;          /* model object indices of this type */
    object_column columns[MAX_COLUMNS];
} object_table_context;

/* "wait_ns_max" -> "WAIT_MAX" for a duration (the cell shows the unit). */
static void field_header(const st_field *field, char *header, size_t size)
{
    const char *name = field->name;
    size_t length = 0;
    for (size_t i = 0; name[i] != '\0' && length + 1 < size; i++) {
        if ((field->flags & ST_FIELD_DURATION) && strncmp(&name[i], "_ns", 3) == 0 &&
            (name[i + 3] == '_' || name[i + 3] == '\0')) {
            i += 2;
            continue;
        }
        header[length++] = (char)toupper((unsigned char)name[i]);
    }
    header[length] = '\0';
}

static bool field_is_numeric(const st_field *field)
{
    return field->kind != ST_VALUE_TEXT;
}

static void field_value_text(const st_field *field, char *cell)
{
    char unit[FORMAT_BUFFER_BYTES];
    switch (field->kind) {
    case ST_VALUE_U64:
        if (field->flags & ST_FIELD_DURATION)
            snprintf(cell, CELL_BYTES, "%s", format_duration_ns(field->value.u64, unit));
        else if (field->flags & ST_FIELD_BYTES)
            snprintf(cell, CELL_BYTES, "%s", format_bytes(field->value.u64, unit));
        else
            snprintf(cell, CELL_BYTES, "%llu", (unsigned long long)field->value.u64);
        return;
    case ST_VALUE_I64:
        if ((field->flags & ST_FIELD_DURATION) && field->value.i64 >= 0)
            snprintf(cell, CELL_BYTES, "%s", format_duration_ns((uint64_t)field->value.i64, unit));
        else if ((field->flags & ST_FIELD_BYTES) && field->value.i64 >= 0)
            snprintf(cell, CELL_BYTES, "%s", format_bytes((uint64_t)field->value.i64, unit));
        else
            snprintf(cell, CELL_BYTES, "%lld", (long long)field->value.i64);
        return;
    case ST_VALUE_DOUBLE:
        if (isfinite(field->value.f64))
            snprintf(cell, CELL_BYTES, "%.2f", field->value.f64);
        else
            snprintf(cell, CELL_BYTES, "-");
        return;
    case ST_VALUE_TEXT:
        format_text(field->value.text && field->value.text[0] ? field->value.text : "-", cell, CELL_BYTES);
        return;
    case ST_VALUE_PID:
        if (field->value.i64 != 0)
            snprintf(cell, CELL_BYTES, "%lld", (long long)field->value.i64);
        else
            snprintf(cell, CELL_BYTES, "-");
        return;
    }
    snprintf(cell, CELL_BYTES, "?");
}

/* A counter's rate, in the counter's own unit per second. */
static void field_rate_text(const st_field *field, char *cell)
{
    char unit[FORMAT_BUFFER_BYTES];
    if (!field->has_rate || !isfinite(field->rate_per_s)) {
        snprintf(cell, CELL_BYTES, "-");
    } else if ((field->flags & (ST_FIELD_DURATION | ST_FIELD_BYTES)) && field->rate_per_s >= 0) {
        /* A rate from a corrupt counter may exceed what a uint64_t holds. */
        uint64_t per_second = field->rate_per_s < 18446744073709549568.0 ? (uint64_t)(field->rate_per_s + 0.5)
                                                                          : UINT64_MAX;
        snprintf(cell, CELL_BYTES, "%s/s",
                 (field->flags & ST_FIELD_DURATION) ? format_duration_ns(per_second, unit)
                                                    : format_bytes(per_second, unit));
    } else {
        snprintf(cell, CELL_BYTES, "%s", format_rate(field->rate_per_s, unit));
    }
}

static void object_cell(const void *context_pointer, size_t row, size_t column, char *cell)
{
    const object_table_context *context = context_pointer;
    const st_object_view *object = st_model_object(context->model, context->rows[row]);
    const object_column *what = &context->columns[column];
    const st_field *field;
    switch (what->what) {
    case O_NAME:
        format_text(object->name, cell, CELL_BYTES);
        return;
    case O_CREATOR:
        snprintf(cell, CELL_BYTES, "%ld", (long)object->creator_pid);
        return;
    case O_FIELD:
        field = st_object_field(object, what->field_name);
        if (field != NULL)
            field_value_text(field, cell);
        else
            snprintf(cell, CELL_BYTES, "-");
        return;
    case O_RATE:
        field = st_object_field(object, what->field_name);
        if (field != NULL)
            field_rate_text(field, cell);
        else
            snprintf(cell, CELL_BYTES, "-");
        return;
    }
}

/* The table of every object whose type is that of rows[0]. Columns come
 * from the first object's fields; the others are looked up by name, so an
 * object missing a field shows "-" rather than a shifted row. */
static void print_object_type(const st_model *model, const size_t *rows, size_t row_count, FILE *out)
{
    const st_object_view *first = st_model_object(model, rows[0]);
    fprintf(out, "%s (%zu)\n", first->type_name ? first->type_name : "?", row_count);

    object_table_context context = { .model = model, .rows = rows };
    text_table table = { .row_count = row_count, .cell = object_cell, .context = &context };
    context.columns[table.column_count] = (object_column){ O_NAME, NULL };
    add_column(&table, "NAME", false);
    context.columns[table.column_count] = (object_column){ O_CREATOR, NULL };
    add_column(&table, "CREATOR", true);

    uint32_t field_count = first->field_count <= ST_MAX_FIELDS ? first->field_count : ST_MAX_FIELDS;
    for (uint32_t i = 0; i < field_count && table.column_count + 2 <= MAX_COLUMNS; i++) {
        const st_field *field = &first->fields[i];
        if (field->name == NULL)
            continue;
        char header[HEADER_BYTES - 2];   /* room for the rate column's "/S" */
        field_header(field, header, sizeof header);
        context.columns[table.column_count] = (object_column){ O_FIELD, field->name };
        add_column(&table, header, field_is_numeric(field));
        if (field->flags & ST_FIELD_COUNTER) {
            char rate_header[HEADER_BYTES];
            snprintf(rate_header, sizeof rate_header, "%s/S", header);
            context.columns[table.column_count] = (object_column){ O_RATE, field->name };
            add_column(&table, rate_header, true);
        }
    }
    print_table(&table, out);
}

static bool same_type(const st_object_view *a, const st_object_view *b)
{
    return a->type == b->type;
}

static void print_objects(const st_model *model, FILE *out)
{
    size_t count = st_model_object_count(model);
    if (count == 0) {
        fputs("no objects\n", out);
        return;
    }
    size_t *rows = malloc(count * sizeof *rows);
    bool *printed = calloc(count, sizeof *printed);
    if (rows == NULL || printed == NULL) {
        fputs("(out of memory: objects not shown)\n", out);
        free(rows);
        free(printed);
        return;
    }
    /* Types in the order they first appear; objects in model order. */
    bool first_table = true;
    for (size_t i = 0; i < count; i++) {
        if (printed[i])
            continue;
        const st_object_view *kind = st_model_object(model, i);
        size_t row_count = 0;
        for (size_t j = i; j < count; j++) {
            if (!printed[j] && same_type(kind, st_model_object(model, j))) {
                rows[row_count++] = j;
                printed[j] = true;
            }
        }
        if (!first_table)
            fputc('\n', out);
        first_table = false;
        print_object_type(model, rows, row_count, out);
    }
    free(rows);
    free(printed);
}

void batch_print_text(const st_model *model, FILE *out)
{
    print_header(model, out);
    uint32_t corrupt = st_model_corrupt_slots(model);
    if (corrupt > 0)
        fprintf(out, "warning: %u slot%s failed validation and %s not shown\n", (unsigned)corrupt,
                corrupt == 1 ? "" : "s", corrupt == 1 ? "is" : "are");
    fputc('\n', out);
    print_processes(model, out);
    fputc('\n', out);
    print_objects(model, out);
}

/* ---- the refresh loop --------------------------------------------------- */

/* Which shared-memory file the table was attached from, to notice when it
 * is removed (or removed and made anew: the mapping would still read the
 * old one). */
typedef struct session_identity {
    char path[128];
    bool known;
    dev_t device;
    ino_t inode;
} session_identity;

static void remember_session(const st_table *table, session_identity *identity)
{
    char shm_name[96];
    struct stat info;
    identity->known = false;
    if (st_session_shm_name(st_table_session(table), shm_name, sizeof shm_name) != ST_OK)
        return;
    snprintf(identity->path, sizeof identity->path, "/dev/shm%s", shm_name);
    if (stat(identity->path, &info) != 0)
        return;
    identity->device = info.st_dev;
    identity->inode = info.st_ino;
    identity->known = true;
}

static bool session_removed(const session_identity *identity)
{
    if (!identity->known)
        return false;
    struct stat info;
    if (stat(identity->path, &info) != 0)
        return errno == ENOENT;
    return info.st_dev != identity->device || info.st_ino != identity->inode;
}

/* Sleep for seconds unless SIGINT or SIGTERM (blocked) arrives first.
 * Returns true when one did. */
static bool wait_or_stop(const sigset_t *stop_signals, double seconds)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    time_t whole = (time_t)seconds;   /* seconds > 0: the cast truncates down */
    deadline.tv_sec += whole;
    deadline.tv_nsec += (long)((seconds - (double)whole) * 1e9);
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    for (;;) {
        struct timespec now, left;
        clock_gettime(CLOCK_MONOTONIC, &now);
        left.tv_sec = deadline.tv_sec - now.tv_sec;
        left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
        if (left.tv_nsec < 0) {
            left.tv_sec--;
            left.tv_nsec += 1000000000L;
        }
        if (left.tv_sec < 0)
            return false;
        if (sigtimedwait(stop_signals, NULL, &left) > 0)
            return true;
        if (errno == EAGAIN)
            return false;
        /* EINTR: another signal (a resize, SIGCONT); sleep on. */
    }
}

typedef enum refresh_outcome { REFRESHED, SESSION_ENDED, REFRESH_FAILED } refresh_outcome;

static refresh_outcome refresh(st_table *table, st_model *model, const session_identity *identity)
{
    st_result result = st_model_refresh(model, table);
    /* Removal first: a removed table is still mapped and may refresh fine. */
    if (session_removed(identity)) {
        fprintf(stderr, "synctop: session ended: '%s' was removed\n", st_table_session(table));
        return SESSION_ENDED;
    }
    if (result != ST_OK) {
        const char *detail = st_error_detail();
        fprintf(stderr, "synctop: cannot read session '%s': %s%s%s\n", st_table_session(table),
                st_strerror(result), detail[0] ? ": " : "", detail);
        return REFRESH_FAILED;
    }
    return REFRESHED;
}

/* 0 when stdout took the refresh or its reader left (EPIPE); 1 otherwise. */
static int flush_status(bool *reader_left)
{
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    if (errno == EPIPE) {
        *reader_left = true;
        return 0;
    }
    fprintf(stderr, "synctop: cannot write the output: %s\n", strerror(errno ? errno : EIO));
    return 1;
}

int run_refreshes(st_table *table, st_model *model, const refresh_plan *plan)
{
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    session_identity identity;
    remember_session(table, &identity);

    int status = 0;
    bool stop = false;
    if (plan->warmup_s > 0) {
        refresh_outcome outcome = refresh(table, model, &identity);
        if (outcome != REFRESHED) {
            status = outcome == REFRESH_FAILED ? 1 : 0;
            stop = true;
        } else {
            stop = wait_or_stop(&stop_signals, plan->warmup_s);
        }
    }
    for (long printed = 0; !stop && (plan->count == 0 || printed < plan->count); printed++) {
        if (printed > 0 && wait_or_stop(&stop_signals, plan->delay_s))
            break;
        refresh_outcome outcome = refresh(table, model, &identity);
        if (outcome != REFRESHED) {
            status = outcome == REFRESH_FAILED ? 1 : 0;
            break;
        }
        if (printed > 0 && plan->blank_line_between)
            fputc('\n', stdout);
        plan->print(model, stdout);
        bool reader_left = false;
        status = flush_status(&reader_left);
        if (status != 0 || reader_left)
            break;
    }
    /* SIGINT and SIGTERM stay blocked: the caller exits next, and a second
     * Ctrl-C pending now must not turn a clean stop into a kill. */
    return status;
}
