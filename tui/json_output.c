/* json_output.c - the model as JSON, for --once --json and --batch --json.
 *
 * The shape (documented in synctop(1), relied on by scripts and tests):
 *
 *   { "session", "time_ns",
 *     "system":    { "cpus", "cpu_percent", "mem_total_bytes",
 *                    "mem_available_bytes", "load": [3], "uptime_s" },
 *     "processes": [ { "pid", "name", "role", "state", "alive",
 *                      "cpu_percent"|null, "rss_bytes"|null, "starving",
 *                      "deadlocked", "restarts",
 *                      "heartbeat_age_ns"|null,
 *                      "exit_status"|null, "exit_signal"|null,
 *                      "blocked_on": null | { "object", "operation", "for_ns" } } ],
 *     "objects":   [ { "type", "name", "creator_pid", "created_ns",
 *                      <field name>: <value>, ...,
 *                      <counter name>_per_s: <rate>, ... } ],
 *     "deadlocks": [ { "cycle": [ { "pid", "name", "waits_for", "held_by" } ],
 *                      "for_ns" } ],
 *     "events":    [ { "sequence", "time_ns", "pid", "object", "type",
 *                      "operation", "result", "wait_ns", "value" } ],
 *     "corrupt_slots" }
 *
 * Objects are written from their st_field lists only: the key is the field
 * name and the JSON type follows the field's kind. No primitive is named in
 * this file, so a new primitive appears here with no edit.
 *
 * Doubles go through json_object_new_double_s() with "%.10g": json-c's own
 * "%.17g" would print 0.1 as 0.10000000000000001. NaN and infinities are
 * not JSON and become null.
 */
#include "config.h"

#include "output.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <synctop/process.h>
#include <synctop/text.h>

static json_object *json_number(double value)
{
    if (!isfinite(value))
        return NULL;   /* json-c writes a NULL member as null */
    char text[40];
    snprintf(text, sizeof text, "%.10g", value);
    return json_object_new_double_s(value, text);
}

/* Every string goes out as valid UTF-8 (st_text_sanitize); json-c escapes
 * control characters as RFC 8259 asks ("\u001b"). */
static json_object *json_text(const char *text)
{
    if (text == NULL)
        return NULL;
    char valid[4 * ST_OBJECT_TEXT_BYTES];
    st_text_sanitize(text, (size_t)-1, valid, sizeof valid, 0);
    return json_object_new_string(valid);
}

static json_object *system_to_json(const st_system_view *system)
{
    json_object *obj = json_object_new_object();
    json_object_object_add(obj, "cpus", json_object_new_int64(system->cpus));
    json_object_object_add(obj, "cpu_percent", json_number(system->cpu_percent));
    json_object_object_add(obj, "mem_total_bytes", json_object_new_uint64(system->mem_total_bytes));
    json_object_object_add(obj, "mem_available_bytes", json_object_new_uint64(system->mem_available_bytes));
    json_object *load = json_object_new_array();
    for (size_t i = 0; i < 3; i++)
        json_object_array_add(load, json_number(system->load[i]));
    json_object_object_add(obj, "load", load);
    json_object_object_add(obj, "uptime_s", json_number(system->uptime_s));
    return obj;
}

static json_object *blocked_on_to_json(const st_process_view *process)
{
    if (!process->blocked)
        return NULL;
    json_object *obj = json_object_new_object();
    json_object_object_add(obj, "object", json_text(process->blocked_object_name));
    json_object_object_add(obj, "operation", json_text(st_operation_name(process->blocked_op)));
    json_object_object_add(obj, "for_ns", json_object_new_uint64(process->blocked_for_ns));
    return obj;
}

static json_object *process_to_json(const st_process_view *process)
{
    json_object *obj = json_object_new_object();
    json_object_object_add(obj, "pid", json_object_new_int64(process->pid));
    json_object_object_add(obj, "name", json_text(process->name));
    json_object_object_add(obj, "role", json_text(process->role));
    json_object_object_add(obj, "state", json_text(st_process_state_name(process->state)));
    json_object_object_add(obj, "alive", json_object_new_boolean(process->alive));
    json_object_object_add(obj, "cpu_percent",
                           process->sampled ? json_number(process->cpu_percent) : NULL);
    json_object_object_add(obj, "rss_bytes",
                           process->sampled ? json_object_new_uint64(process->rss_bytes) : NULL);
    json_object_object_add(obj, "starving", json_object_new_boolean(process->starving));
    json_object_object_add(obj, "deadlocked", json_object_new_boolean(process->deadlocked));
    json_object_object_add(obj, "restarts", json_object_new_int64(process->restarts));
    json_object_object_add(obj, "heartbeat_age_ns",
                           process->heartbeat_age_ns ? json_object_new_uint64(process->heartbeat_age_ns) : NULL);
    json_object_object_add(obj, "blocked_on", blocked_on_to_json(process));
    /* How it ended, once its parent reaped it under watch: one of the two. */
    json_object_object_add(obj, "exit_status",
                           process->exit_known && process->exit_status >= 0
                               ? json_object_new_int64(process->exit_status) : NULL);
    json_object_object_add(obj, "exit_signal",
                           process->exit_known && process->exit_signal > 0
                               ? json_object_new_int64(process->exit_signal) : NULL);
    return obj;
}

/* A field's value as JSON, by kind alone. */
static json_object *field_value_to_json(const st_field *field)
{
    switch (field->kind) {
    case ST_VALUE_U64:
        return json_object_new_uint64(field->value.u64);
    case ST_VALUE_I64:
        return json_object_new_int64(field->value.i64);
    case ST_VALUE_DOUBLE:
        return json_number(field->value.f64);
    case ST_VALUE_TEXT:
        return json_text(field->value.text);
    case ST_VALUE_PID:
        return field->value.i64 != 0 ? json_object_new_int64(field->value.i64) : NULL;
    }
    return NULL;   /* a kind this viewer does not know: null, not a guess */
}

static json_object *object_to_json(const st_object_view *object)
{
    json_object *obj = json_object_new_object();
    json_object_object_add(obj, "type", json_text(object->type_name));
    json_object_object_add(obj, "name", json_text(object->name));
    json_object_object_add(obj, "creator_pid", json_object_new_int64(object->creator_pid));
    json_object_object_add(obj, "created_ns", json_object_new_uint64(object->created_ns));

    uint32_t count = object->field_count <= ST_MAX_FIELDS ? object->field_count : ST_MAX_FIELDS;
    for (uint32_t i = 0; i < count; i++) {
        const st_field *field = &object->fields[i];
        if (field->name == NULL)
            continue;
        json_object_object_add(obj, field->name, field_value_to_json(field));
    }
    /* Rates after the values, so a reader sees the figures first. */
    for (uint32_t i = 0; i < count; i++) {
        const st_field *field = &object->fields[i];
        if (field->name == NULL || !field->has_rate)
            continue;
        char key[96];
        snprintf(key, sizeof key, "%s_per_s", field->name);
        json_object_object_add(obj, key, json_number(field->rate_per_s));
    }
    return obj;
}

static json_object *event_to_json(const st_event_view *event)
{
    json_object *obj = json_object_new_object();
    json_object_object_add(obj, "sequence", json_object_new_uint64(event->sequence));
    json_object_object_add(obj, "time_ns", json_object_new_uint64(event->time_ns));
    json_object_object_add(obj, "pid", json_object_new_int64(event->pid));
    json_object_object_add(obj, "object", json_text(event->object_name));
    json_object_object_add(obj, "type", json_text(event->type_name));
    json_object_object_add(obj, "operation", json_text(st_operation_name(event->operation)));
    json_object_object_add(obj, "result", json_text(st_result_name(event->result)));
    json_object_object_add(obj, "wait_ns", json_object_new_uint64(event->wait_ns));
    json_object_object_add(obj, "value", json_object_new_int64(event->value));
    return obj;
}

static json_object *deadlock_to_json(const st_deadlock_view *deadlock)
{
    json_object *obj = json_object_new_object();
    json_object *cycle = json_object_new_array();
    for (uint32_t i = 0; i < deadlock->length; i++) {
        json_object *step = json_object_new_object();
        json_object_object_add(step, "pid", json_object_new_int64(deadlock->pids[i]));
        json_object_object_add(step, "name", json_text(deadlock->process_names[i]));
        json_object_object_add(step, "waits_for", json_text(deadlock->locks[i]));
        json_object_object_add(step, "held_by", json_object_new_int64(deadlock->pids[(i + 1) % deadlock->length]));
        json_object_array_add(cycle, step);
    }
    json_object_object_add(obj, "cycle", cycle);
    json_object_object_add(obj, "for_ns", json_object_new_uint64(deadlock->for_ns));
    return obj;
}

/* The whole model as one JSON object; the caller puts it. */
static json_object *model_to_json(const st_model *model)
{
    json_object *root = json_object_new_object();
    json_object_object_add(root, "session", json_text(st_model_session(model)));
    json_object_object_add(root, "time_ns", json_object_new_uint64(st_model_time_ns(model)));
    json_object_object_add(root, "system", system_to_json(st_model_system(model)));

    json_object *processes = json_object_new_array();
    size_t process_count = st_model_process_count(model);
    for (size_t i = 0; i < process_count; i++)
        json_object_array_add(processes, process_to_json(st_model_process(model, i)));
    json_object_object_add(root, "processes", processes);

    json_object *objects = json_object_new_array();
    size_t object_count = st_model_object_count(model);
    for (size_t i = 0; i < object_count; i++)
        json_object_array_add(objects, object_to_json(st_model_object(model, i)));
    json_object_object_add(root, "objects", objects);

    json_object *deadlocks = json_object_new_array();
    for (size_t i = 0; i < st_model_deadlock_count(model); i++)
        json_object_array_add(deadlocks, deadlock_to_json(st_model_deadlock(model, i)));
    json_object_object_add(root, "deadlocks", deadlocks);

    json_object *events = json_object_new_array();
    size_t event_count = st_model_event_count(model);
    for (size_t i = 0; i < event_count; i++)
        json_object_array_add(events, event_to_json(st_model_event(model, i)));
    json_object_object_add(root, "events", events);

    json_object_object_add(root, "corrupt_slots", json_object_new_int64(st_model_corrupt_slots(model)));
    return root;
}

static void print_json(const st_model *model, FILE *out, int layout_flag)
{
    json_object *root = model_to_json(model);
    const char *text = json_object_to_json_string_ext(
        root, layout_flag | JSON_C_TO_STRING_NOSLASHESCAPE);
    fputs(text, out);
    fputc('\n', out);
    json_object_put(root);
}

void json_print_compact(const st_model *model, FILE *out)
{
    print_json(model, out, JSON_C_TO_STRING_PLAIN);
}

void json_print_pretty(const st_model *model, FILE *out)
{
    print_json(model, out, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
}
