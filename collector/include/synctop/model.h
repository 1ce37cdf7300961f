/* model.h - the viewer's model of a session: what the dashboard, --json and
 * --batch draw, and nothing else.
 *
 * st_model_refresh() takes a validated read-only snapshot of the table,
 * samples /proc (through libproc2) for every registered live process and for
 * the system, and derives rates (per second) between this refresh and the
 * previous one. Every object is described by a list of named fields, so an
 * output needs no knowledge of a primitive's layout: JSON keys are the field
 * names, and a new primitive brings its fields with it.
 */
#ifndef SYNCTOP_MODEL_H
#define SYNCTOP_MODEL_H

/* The library is built with hidden visibility: what this header declares
 * is its public API. */
#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "process.h"
#include "result.h"
#include "table.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum st_value_kind {
    ST_VALUE_U64 = 0,
    ST_VALUE_I64,
    ST_VALUE_DOUBLE,
    ST_VALUE_TEXT,
    ST_VALUE_PID,     /* i64; 0 means "nobody" and prints as null in JSON */
} st_value_kind;

enum st_field_flags {
    ST_FIELD_COUNTER = 1u << 0,   /* grows monotonically: the model derives a rate */
    ST_FIELD_DURATION = 1u << 1,  /* nanoseconds */
    ST_FIELD_BYTES = 1u << 2,
    /* Counts processes blocked on the object (in blocked_in). The model
     * reconciles it with the processes whose slots say so: a waiter killed
     * while it waited never takes itself off the count. */
    ST_FIELD_WAITERS = 1u << 3,
};

typedef struct st_field {
    const char *name;         /* the JSON key, e.g. "acquisitions" (static) */
    st_value_kind kind;
    unsigned flags;
    st_operation blocked_in;  /* ST_FIELD_WAITERS: the operation they wait in (ST_OP_NONE: any) */
    union {
        uint64_t u64;
        int64_t i64;
        double f64;
        const char *text;     /* owned by the model, valid until the next refresh */
    } value;
    bool has_rate;            /* counters, once two refreshes are known */
    double rate_per_s;
} st_field;

#define ST_OBJECT_NAME_BYTES 64
#define ST_MAX_FIELDS 24
#define ST_OBJECT_TEXT_BYTES 128     /* room for all text fields of one object */

typedef struct st_object_view {
    uint32_t index;              /* slot index in the table */
    uint32_t type;               /* st_object_type */
    const char *type_name;       /* "lock", ... */
    char name[ST_OBJECT_NAME_BYTES];
    pid_t creator_pid;
    uint64_t created_ns;         /* CLOCK_REALTIME */
    uint32_t field_count;
    st_field fields[ST_MAX_FIELDS];
    /* Where text fields' values live (st_field.value.text points in here),
     * so a view owns its text and needs no allocation. */
    char text[ST_OBJECT_TEXT_BYTES];
} st_object_view;

typedef struct st_process_view {
    uint32_t index;              /* slot index in the table */
    pid_t pid;
    uint64_t start_ticks;        /* start time since boot, clock ticks */
    char name[ST_PROCESS_NAME_MAX + 1];
    char role[ST_PROCESS_ROLE_MAX + 1];
    st_process_state state;
    bool alive;                  /* pid exists with the same start time */
    uint32_t restarts;
    uint64_t heartbeat_age_ns;   /* 0 when it never sent one */
    bool blocked;
    uint32_t blocked_object;     /* slot index, valid when blocked */
    char blocked_object_name[ST_OBJECT_NAME_BYTES];
    st_operation blocked_op;
    uint64_t blocked_for_ns;
    bool starving;               /* blocked longer than the model's starvation threshold */
    bool deadlocked;             /* part of a wait-for cycle */
    bool sampled;                /* /proc figures below are known */
    double cpu_percent;          /* of one CPU; may exceed 100 with threads */
    uint64_t rss_bytes;          /* resident memory, as ps shows it */
    /* How it ended, when its parent reaped it under watch (libsynctop's
     * st_process_record_exit, or the preload of `synctop run`): exactly one
     * of exit_status (0-255, it exited) and exit_signal (> 0, a signal
     * killed it) is set, the other is -1. Both -1 when not known. */
    bool exit_known;
    int exit_status;
    int exit_signal;
    bool core_dumped;            /* killed with a core dump */
    uint64_t exited_for_ns;      /* since it was reaped */
} st_process_view;

/* Per-CPU figures kept for at most this many CPUs (the rest share the total). */
#define ST_MAX_CPUS 256

typedef struct st_system_view {
    uint32_t cpus;
    double cpu_percent;          /* busy share of all CPUs since the last refresh */
    /* Busy share of each online CPU since the last refresh, in /proc/stat
     * order (cpu0, cpu1, ...); per_cpu_count entries are valid (0 when
     * /proc/stat could not be read per CPU). */
    uint32_t per_cpu_count;
    double cpu_percent_per_cpu[ST_MAX_CPUS];
    uint64_t mem_total_bytes;
    uint64_t mem_available_bytes;
    double load[3];
    double uptime_s;
} st_system_view;

/* One operation from the event log ring (traced objects only). */
typedef struct st_event_view {
    uint64_t sequence;           /* event number in the session, ascending */
    uint64_t time_ns;            /* CLOCK_REALTIME */
    pid_t pid;
    uint32_t object;             /* slot index */
    char object_name[ST_OBJECT_NAME_BYTES];
    const char *type_name;       /* "lock", ..., or "" if the object is gone */
    st_operation operation;
    st_result result;
    uint64_t wait_ns;
    int64_t value;               /* what the operation left (hold time, value, depth ...) */
} st_event_view;

/* A wait-for cycle: pids[i] is blocked on locks[i], which pids[(i + 1) %
 * length] holds. Built by the model from every process's "blocked on" and
 * every object's holder/owner field. */
#define ST_DEADLOCK_MAX_CYCLE 16
typedef struct st_deadlock_view {
    uint32_t length;
    pid_t pids[ST_DEADLOCK_MAX_CYCLE];
    char process_names[ST_DEADLOCK_MAX_CYCLE][ST_PROCESS_NAME_MAX + 1];
    char locks[ST_DEADLOCK_MAX_CYCLE][ST_OBJECT_NAME_BYTES];
    uint64_t for_ns;             /* the shortest wait in the cycle: how long it has existed at least */
} st_deadlock_view;

/* How many cycles a model reports, and the default starvation threshold. */
#define ST_MODEL_DEADLOCKS_MAX 8
#define ST_DEFAULT_STARVATION_NS 5000000000ull

/* How many of the latest events a model keeps. */
#define ST_MODEL_EVENTS_MAX 512

typedef struct st_model st_model;

st_result st_model_new(st_model **out);
void st_model_free(st_model *model);

/* Take a snapshot of table (read-only handle) and sample /proc. With a NULL
 * table only the system figures are refreshed (no session yet). On a
 * validation failure the system figures are still refreshed, the previous
 * processes, objects and events stay, and the error is returned. */
st_result st_model_refresh(st_model *model, const st_table *table);

uint64_t st_model_time_ns(const st_model *model);          /* CLOCK_REALTIME */
const char *st_model_session(const st_model *model);        /* "" without a table */
/* The session's segment was removed: the figures are the last ones seen. */
bool st_model_session_ended(const st_model *model);
/* How many refreshes have succeeded (rates exist from the second on). */
uint64_t st_model_refresh_count(const st_model *model);
const st_system_view *st_model_system(const st_model *model);
size_t st_model_process_count(const st_model *model);
const st_process_view *st_model_process(const st_model *model, size_t i);
size_t st_model_object_count(const st_model *model);
const st_object_view *st_model_object(const st_model *model, size_t i);
/* The latest events of traced objects, oldest first (at most
 * ST_MODEL_EVENTS_MAX). */
size_t st_model_event_count(const st_model *model);
const st_event_view *st_model_event(const st_model *model, size_t i);

/* Wait-for cycles found in the last refresh (deadlocks). */
size_t st_model_deadlock_count(const st_model *model);
const st_deadlock_view *st_model_deadlock(const st_model *model, size_t i);

/* Processes blocked longer than this are flagged as starving (default 5 s). */
void st_model_set_starvation_threshold(st_model *model, uint64_t threshold_ns);
uint64_t st_model_starvation_threshold(const st_model *model);

/* Slots skipped because they failed validation in the last refresh. */
uint32_t st_model_corrupt_slots(const st_model *model);

/* The field called name, or NULL. */
const st_field *st_object_field(const st_object_view *object, const char *name);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
